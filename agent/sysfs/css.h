// Discovery of I/O subchannels from the css bus in sysfs, and the driverctl /
// mdevctl steps of attach and detach, over the sysfs seam (SysfsOps).
//
// Attribute formats: Linux drivers/s390/cio/{css,device,chp}.c,
// drivers/vfio/mdev/mdev_sysfs.c; ../shared/reference/sysfs-and-peers.md. Every
// parser tolerates a trailing newline and surrounding blanks, and refuses
// anything else with an error that names the attribute and quotes the text.
#ifndef CCWPASS_AGENT_SYSFS_CSS_H_
#define CCWPASS_AGENT_SYSFS_CSS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/sysfs/sysfs_ops.h"

namespace ccwpass::agent {

inline constexpr std::string_view kIoSubchannelDriver = "io_subchannel";
inline constexpr std::string_view kVfioCcwDriver = "vfio_ccw";
inline constexpr std::string_view kMdevType = "vfio_ccw-io";

// ---- Attribute parsers (pure). Errors: kInvalidArgument quoting the text.
// `type`: "%01x" → 0..3 (I/O, CHSC, message, EADM); other values are kept.
absl::StatusOr<uint8_t> ParseSubchannelType(std::string_view text);
// `chpids`: eight two-digit hex CHPIDs ("15 16 00 00 00 00 00 00 ").
absl::StatusOr<std::array<uint8_t, 8>> ParseChpids(std::string_view text);
// `pimpampom`: three two-digit hex masks ("c0 c0 ff") → {pim, pam, pom}.
absl::StatusOr<std::array<uint8_t, 3>> ParsePimPamPom(std::string_view text);
// `dev_busid`: "0.<ssid>.<devno>" → devno, or "none" → nullopt.
absl::StatusOr<std::optional<uint16_t>> ParseDevBusid(std::string_view text);
// `driver_override`: "(null)" or empty → nullopt; otherwise the driver name.
std::optional<std::string> ParseDriverOverride(std::string_view text);
// `cutype` / `devtype`: "3990/e9" → {0x3990, 0xe9}; "n/a" → nullopt.
absl::StatusOr<std::optional<std::pair<uint16_t, uint8_t>>> ParseCcwType(std::string_view text);
// A 0/1 attribute (`online`, `available_instances`, `configure`).
absl::StatusOr<int> ParseDecimal(std::string_view text);
// The last component of a link target ("../../../bus/css/drivers/vfio_ccw" → "vfio_ccw").
std::string_view LinkBasename(std::string_view target);

// True for control units whose devices use QDIO (OSA 1731/01, zFCP 1731/03,
// HiperSockets 1731/05 and the other 1731 models): vfio_ccw refuses them.
bool IsQdioControlUnit(uint16_t cu_type);

// What sysfs says about one subchannel.
struct SubchannelInfo {
  std::string schid;  // "0.0.0100"
  uint8_t ssid = 0;
  uint16_t schno = 0;
  uint8_t type = 0;
  std::optional<uint16_t> devno;
  std::array<uint8_t, 8> chpids{};
  uint8_t pim = 0, pam = 0, pom = 0;
  std::string driver;                      // current driver, "" when none
  std::optional<std::string> driver_override;
  // The ccw device, only while on io_subchannel.
  bool has_ccwdev = false;
  std::optional<std::pair<uint16_t, uint8_t>> cu_type;   // {type, model}
  std::optional<std::pair<uint16_t, uint8_t>> dev_type;  // nullopt: "n/a" or unknown
  bool online = false;
  std::string availability;
  // The vfio_ccw mdev, when one exists.
  std::string mdev_uuid;
  int iommu_group = -1;

  std::string DevnoText() const;  // "0.0.e000" or ""
  // The CHPIDs of the paths whose bit is set in `path_mask` (bit 0x80 = path
  // 0, as in PIM/PAM/POM), in path order. ChpidsOf(pim): the installed paths.
  std::vector<uint8_t> ChpidsOf(uint8_t path_mask) const;
  std::string CuTypeText() const;  // "3990/e9" or ""
  std::string DevTypeText() const; // "3390/0c", "n/a" (ccw device says so) or ""
  bool qdio() const { return cu_type && IsQdioControlUnit(cu_type->first); }
  // Empty when vfio_ccw can take it; otherwise why not.
  std::string UnavailableReason() const;
};

// Reads and changes the css bus through a SysfsOps.
class Css {
 public:
  explicit Css(SysfsOps& sysfs) : sysfs_(sysfs) {}

  // The schids on the css bus, sorted. Errors: kUnavailable (errno payload)
  // when bus/css/devices cannot be listed (no css bus: not an s390 host, or a
  // wrong --sysfs-root).
  absl::StatusOr<std::vector<std::string>> ListSchids();
  // One subchannel. Errors: kNotFound when it does not exist; kInternal when
  // an attribute is malformed (names the path and quotes the text).
  absl::StatusOr<SubchannelInfo> Read(std::string_view schid);
  // Every subchannel; one that disappears during the scan is skipped.
  absl::StatusOr<std::vector<SubchannelInfo>> ReadAll();

  // ---- driverctl's and mdevctl's steps. Each error names the subchannel, the
  // step and the errno, with the code by what the caller may do: ENOENT →
  // kNotFound, ENODEV → kFailedPrecondition, EBUSY/EAGAIN → kUnavailable,
  // EEXIST → kAlreadyExists, EUSERS/ENOSPC → kFailedPrecondition, others → kInternal.
  absl::Status SetDriverOverride(std::string_view schid, std::string_view driver);  // "" clears
  absl::Status Unbind(std::string_view schid, std::string_view driver);
  absl::Status Bind(std::string_view schid, std::string_view driver);
  absl::Status DriversProbe(std::string_view schid);
  absl::Status CreateMdev(std::string_view schid, std::string_view uuid);
  absl::Status RemoveMdev(std::string_view schid, std::string_view uuid);
  // The IOMMU group of an mdev (its iommu_group link). kNotFound when absent.
  absl::StatusOr<int> IommuGroup(std::string_view schid, std::string_view uuid);
  // The current driver ("" when none).
  absl::StatusOr<std::string> Driver(std::string_view schid);
  // The paths of `info` (a mask in PIM bit order, 0x80 = path 0) whose
  // channel path is varied online at the OS level: `devices/css0/chp0.<xx>/status`
  // reads "online" (Linux `chchp -v`, drivers/s390/cio/chp.c). Paths not in
  // the PIM are 0; a path whose chp directory is missing counts as online.
  // Errors: kInternal naming the attribute when it reads anything else.
  absl::StatusOr<uint8_t> VariedOnPaths(const SubchannelInfo& info);

  SysfsOps& sysfs() { return sysfs_; }

 private:
  absl::Status WriteStep(std::string_view schid, std::string_view step, const std::string& path,
                         std::string_view value);
  SysfsOps& sysfs_;
};

// A Status for errno `err` from `step` on subchannel `schid`, with the code
// chosen by what the caller may do (see Css) and the errno as a payload.
absl::Status SysfsError(std::string_view schid, std::string_view step, const std::string& where, int err);

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_SYSFS_CSS_H_
