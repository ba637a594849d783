#include "ctl/decode.h"

#include <array>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "translate/arch.h"

namespace ccwpass::ctl {
namespace {

using ccw::v1::Event;
using ccw::v1::SubchannelState;

uint16_t Be16(std::span<const uint8_t> d, size_t at) { return static_cast<uint16_t>(d[at] << 8 | d[at + 1]); }

// Code page 037 for the characters that print in a dump (letters, digits,
// blank and the common punctuation); 0 for the rest.
constexpr std::array<char, 256> MakeEbcdicTable() {
  std::array<char, 256> t{};
  t[0x40] = ' ';
  const char* lower[] = {"abcdefghi", "jklmnopqr", "stuvwxyz"};
  const char* upper[] = {"ABCDEFGHI", "JKLMNOPQR", "STUVWXYZ"};
  const int starts[] = {0x81, 0x91, 0xA2};
  const int ustarts[] = {0xC1, 0xD1, 0xE2};
  for (int r = 0; r < 3; ++r) {
    for (int i = 0; lower[r][i] != '\0'; ++i) t[starts[r] + i] = lower[r][i];
    for (int i = 0; upper[r][i] != '\0'; ++i) t[ustarts[r] + i] = upper[r][i];
  }
  for (int i = 0; i < 10; ++i) t[0xF0 + i] = static_cast<char>('0' + i);
  const std::pair<int, char> punct[] = {
      {0x4B, '.'}, {0x4C, '<'}, {0x4D, '('}, {0x4E, '+'}, {0x50, '&'}, {0x5A, '!'}, {0x5B, '$'},
      {0x5C, '*'}, {0x5D, ')'}, {0x5E, ';'}, {0x60, '-'}, {0x61, '/'}, {0x6B, ','}, {0x6C, '%'},
      {0x6D, '_'}, {0x6E, '>'}, {0x6F, '?'}, {0x7A, ':'}, {0x7B, '#'}, {0x7C, '@'}, {0x7D, '\''},
      {0x7E, '='}, {0x7F, '"'}};
  for (const auto& [code, c] : punct) t[code] = c;
  return t;
}
constexpr std::array<char, 256> kEbcdic = MakeEbcdicTable();

struct StateName {
  SubchannelState state;
  std::string_view word;
};
constexpr StateName kStates[] = {
    {ccw::v1::DETACHED, "detached"},   {ccw::v1::ATTACHING, "attaching"},
    {ccw::v1::DETACHING, "detaching"}, {ccw::v1::ATTACHED, "attached"},
    {ccw::v1::HANDED_OFF, "handed-off"}, {ccw::v1::FOREIGN, "foreign"},
    {ccw::v1::NOT_OPERATIONAL, "not-operational"},
};

struct KindName {
  Event::Kind kind;
  std::string_view word;
};
constexpr KindName kKinds[] = {
    {Event::HOTPLUG, "hotplug"},         {Event::ATTACHED, "attached"},
    {Event::DETACHED, "detached"},       {Event::STATE_CHANGED, "state-changed"},
    {Event::CRW, "crw"},                 {Event::UNSOLICITED, "unsolicited"},
    {Event::DEVICE_REQUEST, "device-request"}, {Event::OVERFLOW, "overflow"},
};

// Device status bits that report an error: unit check, unit exception.
constexpr uint32_t kDeviceErrorBits = 0x02 | 0x01;
// Subchannel status bits that report an error: all but PCI (0x80).
constexpr uint32_t kSubchannelErrorBits = 0x7F;

std::string OrDash(std::string s) { return s.empty() ? "-" : s; }

}  // namespace

absl::StatusOr<SenseIdData> DecodeSenseId(std::span<const uint8_t> data) {
  if (data.size() < 4) {
    return absl::InvalidArgumentError(fmt::format("SENSE ID stored {} bytes; at least 4 are needed", data.size()));
  }
  if (data[0] != 0xFF) {
    return absl::InvalidArgumentError(
        fmt::format("byte 0 is 0x{:02x}, not 0xff: not extended SENSE ID data", data[0]));
  }
  SenseIdData s;
  s.cu_type = Be16(data, 1);
  s.cu_model = data[3];
  if (data.size() >= 7) {
    s.dev_type = Be16(data, 4);
    s.dev_model = data[6];
  }
  for (size_t at = 8; at + 4 <= data.size() && s.ciws.size() < 8; at += 4) {
    if ((data[at] & 0xC0) != 0x40) break;  // bits 0-1 = 01: a CIW follows
    s.ciws.push_back(Ciw{static_cast<uint8_t>(data[at] & 0x0F), data[at + 1], Be16(data, at + 2)});
  }
  return s;
}

std::string CiwTypeName(uint8_t type) {
  switch (type) {
    case 0: return "read configuration data (RCD)";
    case 1: return "set interface identifier (SII)";
    case 2: return "read node identifier (RNI)";
    default: return fmt::format("type {}", type);
  }
}

absl::StatusOr<RdcData> DecodeRdc(std::span<const uint8_t> data) {
  if (data.size() < 20) {
    return absl::InvalidArgumentError(
        fmt::format("READ DEVICE CHARACTERISTICS stored {} bytes; at least 20 are needed", data.size()));
  }
  RdcData r;
  r.cu_type = Be16(data, 0);
  r.cu_model = data[2];
  r.dev_type = Be16(data, 3);
  r.dev_model = data[5];
  r.cylinders = Be16(data, 12);
  if (r.cylinders == 0xFFFE) {
    if (data.size() < 64) {
      return absl::InvalidArgumentError(fmt::format(
          "bytes 12-13 say the cylinder count is in bytes 60-63, but only {} bytes were stored", data.size()));
    }
    r.cylinders = static_cast<uint32_t>(data[60]) << 24 | static_cast<uint32_t>(data[61]) << 16 |
                  static_cast<uint32_t>(data[62]) << 8 | data[63];
  }
  r.heads = Be16(data, 14);
  r.track_length = static_cast<uint32_t>(data[17]) << 16 | static_cast<uint32_t>(data[18]) << 8 | data[19];
  return r;
}

std::string HexWords(std::span<const uint8_t> data) {
  std::string s;
  for (size_t i = 0; i < data.size(); ++i) {
    if (i > 0 && i % 4 == 0) s += ' ';
    s += fmt::format("{:02x}", data[i]);
  }
  return s;
}

std::string HexDump(std::span<const uint8_t> data, bool ebcdic) {
  std::string out;
  for (size_t line = 0; line < data.size(); line += 16) {
    const auto row = data.subspan(line, std::min<size_t>(16, data.size() - line));
    std::string text;
    for (uint8_t b : row) text += kEbcdic[b] != 0 ? kEbcdic[b] : '.';
    if (!ebcdic) {
      out += fmt::format("{:08x}  {}\n", line, HexWords(row));
      continue;
    }
    // 16 bytes in 4 groups: 32 hex digits + 3 blanks = 35 columns.
    out += fmt::format("{:08x}  {:<35}  |{}|\n", line, HexWords(row), text);
  }
  return out;
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string_view StateWord(SubchannelState s) {
  for (const StateName& n : kStates) {
    if (n.state == s) return n.word;
  }
  return "-";
}

std::optional<SubchannelState> ParseStateWord(std::string_view w) {
  for (const StateName& n : kStates) {
    if (n.word == w) return n.state;
  }
  return std::nullopt;
}

std::vector<std::string> StateWords() {
  std::vector<std::string> v;
  for (const StateName& n : kStates) v.emplace_back(n.word);
  return v;
}

std::string_view ModeWord(ccw::v1::AttachMode m) {
  switch (m) {
    case ccw::v1::ATTACH_MODE_AGENT: return "agent";
    case ccw::v1::ATTACH_MODE_HANDOFF: return "handoff";
    default: return "-";
  }
}

std::string_view FsmWord(ccw::v1::FsmState s) {
  switch (s) {
    case ccw::v1::NOT_OPER: return "NOT_OPER";
    case ccw::v1::STANDBY: return "STANDBY";
    case ccw::v1::IDLE: return "IDLE";
    case ccw::v1::CP_PROCESSING: return "CP_PROCESSING";
    case ccw::v1::CP_PENDING: return "CP_PENDING";
    default: return "-";
  }
}

std::string_view EventKindWord(Event::Kind k) {
  for (const KindName& n : kKinds) {
    if (n.kind == k) return n.word;
  }
  return "-";
}

std::optional<Event::Kind> ParseEventKindWord(std::string_view w) {
  for (const KindName& n : kKinds) {
    if (n.word == w) return n.kind;
  }
  return std::nullopt;
}

std::vector<std::string> EventKindWords() {
  std::vector<std::string> v;
  for (const KindName& n : kKinds) v.emplace_back(n.word);
  return v;
}

std::string ChpidsText(const google::protobuf::RepeatedField<uint32_t>& chpids) {
  std::string s;
  for (int i = 0; i < 8; ++i) {
    if (i == 4) s += ' ';
    s += fmt::format("{:02x}", i < chpids.size() ? chpids.Get(i) & 0xFF : 0);
  }
  return s;
}

std::vector<std::pair<std::string, std::string>> ScswFields(const ccw::v1::Scsw& s) {
  const auto u8 = [](uint32_t v) { return static_cast<uint8_t>(v); };
  std::string function = s.function_text();
  if (function.empty()) function = translate::FunctionControlText(u8(s.fctl()));
  std::string status = s.status_text();
  if (status.empty()) status = translate::StatusControlText(u8(s.stctl()));
  std::string dstat = s.device_status_text();
  if (dstat.empty()) dstat = translate::DeviceStatusText(u8(s.dstat()));
  std::string cstat = s.subchannel_status_text();
  if (cstat.empty()) cstat = translate::SubchannelStatusText(u8(s.cstat()));
  return {
      {"function", OrDash(function)},
      {"status", OrDash(status)},
      {"device status", fmt::format("{} (0x{:02x})", OrDash(dstat), s.dstat())},
      {"subchannel status", fmt::format("{} (0x{:02x})", OrDash(cstat), s.cstat())},
      {"condition code", fmt::format("{}", s.cc())},
      {"CCW address", fmt::format("0x{:08x}", s.cpa())},
      {"residual count", fmt::format("{}", s.count())},
  };
}

bool ScswReportsError(const ccw::v1::Scsw& s) {
  return (s.dstat() & kDeviceErrorBits) != 0 || (s.cstat() & kSubchannelErrorBits) != 0;
}

}  // namespace ccwpass::ctl
