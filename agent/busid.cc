#include "agent/busid.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ccwpass {
namespace {

constexpr std::string_view kExpected = "expected 0.<ssid>.<4 hex digits>, like 0.0.0100";

// The text as it appears in messages: quoted, cut short, C-escaped.
std::string Quoted(std::string_view text) {
  const std::string_view shown = text.substr(0, 32);
  return absl::StrCat("\"", absl::CHexEscape(absl::string_view(shown.data(), shown.size())),
                      text.size() > shown.size() ? "..." : "", "\"");
}

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); });
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
  int set = 0;
  if (ssid.size() != 1 || !IsHex(ssid) || !absl::SimpleHexAtoi(absl::string_view(ssid.data(), 1), &set)) {
    return Bad(text, "the subchannel-set ID must be one hex digit");
  }
  if (set > kMaxSsid) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: subchannel-set ID %x is out of range 0..%d", Quoted(text), set, kMaxSsid));
  }
  uint32_t value = 0;
  if (number.size() != 4 || !IsHex(number) ||
      !absl::SimpleHexAtoi(absl::string_view(number.data(), number.size()), &value)) {
    return Bad(text, "the device or subchannel number must be 4 hex digits");
  }
  return std::make_pair(static_cast<uint8_t>(set), static_cast<uint16_t>(value));
}

}  // namespace ccwpass
