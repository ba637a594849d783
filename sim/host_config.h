// The host description: a YAML file that says what the simulated host has —
// channel paths, subchannels and the devices behind them, and the faults present
// when it starts. `ccw-agent --sim=HOSTFILE` and the tests build the simulated
// kernel and channel subsystem from it. The format, every key, its default and
// its rules: docs/host-description.md.
//
//   channel_paths:
//     - {chpid: 0x15, type: 0x1b}
//   subchannels:
//     - schid: 0.0.0100
//       devno: 0.0.e000
//       chpids: [0x15]
//       device: {kind: dasd3390, image: dasd0.3390}
//
// Parsing is strict: unknown and repeated keys are errors, and every error is
// kInvalidArgument naming the input, the line and column, the YAML path of the
// bad field and what was expected:
//   host.yaml:14:15: subchannels[1].chpids[2]: CHPID 0x17 is not in channel_paths (defined: 15, 16)
//
// Sources of the field meanings: SA22-7832 ch. 15 (PMCW: device number, PIM,
// PAM, POM, CHPIDs, concurrent sense), Linux drivers/s390/cio/{css,chp}.c (the
// sysfs formats), Hercules dasdtab (3390 models).
#ifndef CCWPASS_SIM_HOST_CONFIG_H_
#define CCWPASS_SIM_HOST_CONFIG_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ccwpass::sim {

struct ChannelPathConfig {
  uint8_t chpid = 0;
  uint8_t type = 0x1b;   // channel-path type as sysfs chp0.xx/type shows it (%x)
  bool online = true;    // sysfs status online|offline, configure 1|0
  bool shared = true;    // sysfs shared 1|0
  // sysfs chid: four lower-case hex digits ("0100"), or empty when the host
  // description gives none — the kernel then prints nothing (a read of 0 bytes),
  // as it does when the channel-path description has no valid CHID.
  std::string chid;
};

enum class DeviceKind { kNone, kDasd3390, kConsole };

struct DeviceConfig {
  // kNone: no device answers on this subchannel (e.g. the stand-in for a QDIO
  // device, which the simulator does not model). Whether the subchannel has a
  // device number is SubchannelConfig::has_devno, independent of this.
  DeviceKind kind = DeviceKind::kNone;
  // dasd3390:
  // Path of a Hercules CKD image (made by dasdinit). A relative path in the file
  // is resolved against the host file's directory (base_dir) at parse time, so
  // this holds the path to open. Empty: an in-memory image of `cylinders`.
  std::string image;
  uint32_t cylinders = 0;  // in-memory images only: 1..65520, default 10; 0 with an image file
  // "3390-1", "3390-2", "3390-3", "3390-9", "3390-27" or "3390-54"; empty: the
  // device model picks the smallest that holds the image (Dasd3390ModelFor).
  std::string model;
  // 3990 control-unit model byte: 0xC2, 0xE9 or 0xEC (the ones sim/dasd implements;
  // docs/dasd-3390.md). Default 0xE9, as Linux shows ESS/DS8000 DASD (3990/e9).
  uint8_t cu_model = 0xE9;
  bool read_only = false;
  // console: lines the operator has typed, in order; each READ returns the next.
  // Printable ASCII only (0x20..0x7e), at most 65535 bytes a line.
  std::vector<std::string> input;
};

struct FaultConfig {  // faults present when the host starts
  bool not_operational = false;
  // Unit check with these sense bytes on the first start function (1..32 bytes;
  // YAML: a hex string, spaces allowed). Empty: none. Needs a device.
  std::vector<uint8_t> unit_check_sense;
};

struct SubchannelConfig {
  uint8_t cssid = 0;   // always 0 (Linux names subchannels 0.<ssid>.<schno>)
  uint8_t ssid = 0;    // 0..3
  uint16_t schno = 0;
  uint8_t type = 0;    // subchannel type: 0 I/O, 1 CHSC, 2 message, 3 EADM
  bool has_devno = true;  // false: PMCW V bit off, sysfs dev_busid "none"
  uint16_t devno = 0;     // in subchannel set `ssid`
  std::array<uint8_t, 8> chpids{};  // slot i; 0 where none is installed
  // Path masks, bit 0x80 for slot 0. Defaults: pim one bit per listed CHPID,
  // pam = pim, pom = 0xff.
  uint8_t pim = 0, pam = 0, pom = 0xff;
  bool qdio = false;              // PMCW Q bit
  bool concurrent_sense = false;  // PMCW S bit
  uint32_t latency_us = 0;        // added to every start function, 0..10,000,000
  DeviceConfig device;
  FaultConfig faults;
};

struct HostConfig {
  std::string path;  // file it came from ("" when parsed from a string)
  std::vector<ChannelPathConfig> channel_paths;  // in file order
  std::vector<SubchannelConfig> subchannels;     // `count` expanded, sorted by (ssid, schno)
};

// Limits the parser enforces (docs/host-description.md).
inline constexpr uint32_t kMaxLatencyUs = 10'000'000;    // 10 s
inline constexpr uint32_t kMaxCylinders = 65520;         // a 3390-54
inline constexpr uint32_t kDefaultCylinders = 10;        // in-memory image without `cylinders`
inline constexpr uint32_t kMaxCount = 65536;             // a whole subchannel set
inline constexpr size_t kMaxSenseBytes = 32;
inline constexpr size_t kMaxConsoleLine = 65535;         // the largest CCW count

// The cylinders of a 3390 model name ("3390-3" -> 3339), or nullopt for a name
// that is not one of the six (Hercules dasdtab).
std::optional<uint32_t> Dasd3390ModelCylinders(std::string_view model);
// The smallest 3390 model that holds `cylinders` ("3390-1" for 10, "3390-9" for
// 3340), or nullopt above 65520.
std::optional<std::string> Dasd3390ModelFor(uint32_t cylinders);

// Parses a host description from YAML text (one document).
// `source` names the input in messages (a path, or e.g. "<test>"); `base_dir`
// is what relative image paths are resolved against ("" leaves them as they are).
// Does not open image files. Returns the subchannels with `count` expanded and
// sorted by (ssid, schno); HostConfig::path is "".
// Errors: kInvalidArgument "<source>:<line>:<col>: <yaml path>: <what, expected>"
// for YAML syntax errors and every rule in docs/host-description.md.
absl::StatusOr<HostConfig> ParseHostConfig(std::string_view yaml, std::string_view source,
                                           std::string_view base_dir);

// Reads and parses the file at `path` (base_dir: its directory), then checks that
// every image file exists and is a regular file. HostConfig::path = path.
// Errors: kNotFound / kPermissionDenied / kInvalidArgument when the host file
// cannot be read (missing, unreadable, a directory); ParseHostConfig's errors;
// kInvalidArgument "<path>:<line>:<col>: subchannels[i].device.image: image
// file ... does not exist" for a missing image.
absl::StatusOr<HostConfig> LoadHostConfig(const std::string& path);

}  // namespace ccwpass::sim

#endif  // CCWPASS_SIM_HOST_CONFIG_H_
