// What ccwctl decodes for people: device data (SENSE ID, READ DEVICE
// CHARACTERISTICS), hex dumps, and the words for the API's enums and masks.
// Pure functions over bytes and proto messages; no I/O.
#ifndef CCWPASS_CTL_DECODE_H_
#define CCWPASS_CTL_DECODE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/ccw/v1/ccw.pb.h"

namespace ccwpass::ctl {

// --- SENSE ID (command 0xE4) ---------------------------------------------
// SA22-7832 ch. 17 "Sense ID"; Linux drivers/s390/cio/device_id.c and
// asm/ccwdev.h (struct ciw). Byte 0 0xFF, 1-2 CU type, 3 CU model, 4-5 device
// type, 6 device model, 7 reserved, then up to 8 command-information words of
// 4 bytes from byte 8: byte 0 bits 0-1 = 01 marks a CIW, bits 4-7 its type
// (0 RCD, 1 SII, 2 RNI), byte 1 the command code, bytes 2-3 the count.

inline constexpr uint8_t kCmdSenseId = 0xE4;
inline constexpr uint32_t kSenseIdBytes = 256;

struct Ciw {
  uint8_t type = 0;      // 0 RCD, 1 SII, 2 RNI, ...
  uint8_t command = 0;
  uint16_t count = 0;
};

struct SenseIdData {
  uint16_t cu_type = 0;
  uint8_t cu_model = 0;
  uint16_t dev_type = 0;  // 0 when the device stored fewer than 7 bytes
  uint8_t dev_model = 0;
  std::vector<Ciw> ciws;  // in order, up to the first word that is not a CIW
};

// Decodes the bytes a SENSE ID stored. Errors: kInvalidArgument when fewer
// than 4 bytes were stored or byte 0 is not 0xFF ("not extended SENSE ID data").
absl::StatusOr<SenseIdData> DecodeSenseId(std::span<const uint8_t> data);

// "read configuration data (RCD)", "set interface identifier (SII)",
// "read node identifier (RNI)", or "type N".
std::string CiwTypeName(uint8_t type);

// --- READ DEVICE CHARACTERISTICS (command 0x64), 3390 ----------------------
// Linux drivers/s390/block/dasd_eckd.h struct dasd_eckd_characteristics;
// reference/dasd-3390.md §2: 0-1 CU type, 2 CU model, 3-4 device type,
// 5 model, 12-13 cylinders (0xFFFE: the 32-bit count in 60-63), 14-15 heads
// (tracks per cylinder), 17-19 track length in bytes.

inline constexpr uint8_t kCmdReadDeviceCharacteristics = 0x64;
inline constexpr uint32_t kRdcBytes = 64;

struct RdcData {
  uint16_t cu_type = 0;
  uint8_t cu_model = 0;
  uint16_t dev_type = 0;
  uint8_t dev_model = 0;
  uint32_t cylinders = 0;
  uint16_t heads = 0;
  uint32_t track_length = 0;  // bytes
};

// Errors: kInvalidArgument with the count when fewer than 20 bytes were
// stored (or fewer than 64 when bytes 12-13 say 0xFFFE).
absl::StatusOr<RdcData> DecodeRdc(std::span<const uint8_t> data);

// --- bytes ------------------------------------------------------------------

// "ff3990e9 33900c00": lower-case hex in groups of 4 bytes.
std::string HexWords(std::span<const uint8_t> data);

// A dump of 16 bytes per line: offset (8 hex digits), the bytes in groups of
// 4, and with `ebcdic` the bytes read as EBCDIC (code page 037; '.' for what
// does not print):
//   "00000000  e5d6d3f1 e5d6d3f0 f0f1 ...  |VOL1VOL001......|"
std::string HexDump(std::span<const uint8_t> data, bool ebcdic = true);

std::span<const uint8_t> Bytes(const std::string& s);

// --- the API's words ----------------------------------------------------------

// "detached", "attaching", "detaching", "attached", "handed-off", "foreign",
// "not-operational", "-" for UNSPECIFIED.
std::string_view StateWord(ccw::v1::SubchannelState s);
// The inverse for the words above; nullopt otherwise.
std::optional<ccw::v1::SubchannelState> ParseStateWord(std::string_view w);
// The words StateWord returns, in enum order (for --state and completion).
std::vector<std::string> StateWords();

// "agent", "handoff", "-".
std::string_view ModeWord(ccw::v1::AttachMode m);
// "IDLE", "CP_PENDING", ..., "-".
std::string_view FsmWord(ccw::v1::FsmState s);

// "hotplug", "attached", "detached", "state-changed", "crw", "unsolicited",
// "device-request", "overflow"; "-" for UNSPECIFIED.
std::string_view EventKindWord(ccw::v1::Event::Kind k);
std::optional<ccw::v1::Event::Kind> ParseEventKindWord(std::string_view w);
std::vector<std::string> EventKindWords();

// The eight CHPIDs as lscss prints them: two groups of four hex pairs,
// "15160000 00000000". Missing entries print as 00.
std::string ChpidsText(const google::protobuf::RepeatedField<uint32_t>& chpids);

// The SCSW in words, one "name: value" pair per element, e.g.
// {"function", "start"}, {"status", "status pending, primary, secondary"},
// {"device status", "channel end, device end"}, {"subchannel status", "-"},
// {"condition code", "0"}, {"CCW address", "0x00001018"}, {"residual count", "0"}.
// The agent's *_text fields are used when set; otherwise the words come from
// translate/arch.h.
std::vector<std::pair<std::string, std::string>> ScswFields(const ccw::v1::Scsw& s);

// Whether an SCSW reports an error by the device or channel: unit check,
// unit exception, or any subchannel status bit (SA22-7832 ch. 16).
bool ScswReportsError(const ccw::v1::Scsw& s);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_DECODE_H_
