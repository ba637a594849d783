#include "agent/busid.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ccwpass {
namespace {

constexpr std::string_view kExpected = "expected 0.<ssid>.<4 hex digits>, like 0.0.0100";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The text as it appears in messages: quoted, cut short, unprintables escaped.
std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < 32; ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x20 && u < 0x7f && u != '"' && u != '\\') {
      out.push_back(text[i]);
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    }
  }
  if (text.size() > 32) out += "...";
  out += "\"";
  return out;
}

// Abseil here is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0),
// which does not take a std::string_view: messages go through absl::StrFormat's %s.
absl::Status Bad(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrFormat("%s: %s (%s)", Quoted(text), std::string(why), std::string(kExpected)));
}

}  // namespace

std::string FormatSchid(uint8_t ssid, uint16_t schno) { return absl::StrFormat("0.%x.%04x", ssid, schno); }

std::string FormatDevBusid(uint8_t ssid, uint16_t devno) { return absl::StrFormat("0.%x.%04x", ssid, devno); }

absl::StatusOr<std::pair<uint8_t, uint16_t>> ParseBusId(std::string_view text) {
  const size_t first = text.find('.');
  const size_t second = first == std::string_view::npos ? first : text.find('.', first + 1);
  if (second == std::string_view::npos || text.find('.', second + 1) != std::string_view::npos) {
    return Bad(text, "not three fields separated by dots");
  }
  const std::string_view css = text.substr(0, first);
  const std::string_view ssid = text.substr(first + 1, second - first - 1);
  const std::string_view number = text.substr(second + 1);
  if (css != "0") return Bad(text, "the first field (channel-subsystem ID) must be 0");
  if (ssid.size() != 1 || HexDigit(ssid[0]) < 0) {
    return Bad(text, "the subchannel-set ID must be one hex digit");
  }
  const int set = HexDigit(ssid[0]);
  if (set > kMaxSsid) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: subchannel-set ID %x is out of range 0..%d", Quoted(text), set, kMaxSsid));
  }
  if (number.size() != 4) return Bad(text, "the device or subchannel number must be 4 hex digits");
  uint16_t value = 0;
  for (char c : number) {
    const int d = HexDigit(c);
    if (d < 0) return Bad(text, "the device or subchannel number must be 4 hex digits");
    value = static_cast<uint16_t>((value << 4) | d);
  }
  return std::make_pair(static_cast<uint8_t>(set), value);
}

}  // namespace ccwpass
