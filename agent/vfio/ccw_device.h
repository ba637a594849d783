// An open vfio-ccw device, through the VFIO seam (VfioOps): container with the
// type-1 IOMMU, group, device; its regions found by capability (never by fixed
// index); IRQ eventfds; the DMA arena mapped; and the region accesses the I/O
// path needs.
//
// Sources: Documentation/s390/vfio-ccw.rst, Documentation/driver-api/vfio.rst,
// include/uapi/linux/vfio.h, include/uapi/linux/vfio_ccw.h,
// ../shared/reference/vfio-ccw.md.
#ifndef CCWPASS_AGENT_VFIO_CCW_DEVICE_H_
#define CCWPASS_AGENT_VFIO_CCW_DEVICE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/vfio/vfio_ops.h"
#include "translate/arch.h"
#include "translate/arena.h"

namespace ccwpass::agent {

// What the device's kernel offers (older kernels lack the optional parts).
struct CcwCapabilities {
  bool async_region = false;
  bool schib_region = false;
  bool crw_region = false;
  bool crw_irq = false;
  bool req_irq = false;
};

struct CcwDeviceOptions {
  uint64_t arena_bytes = 1 << 20;   // DMA memory for translated programs
  uint64_t arena_iova = 0x100000;   // where it is mapped (below 2 GiB)
  int eagain_retries = 64;          // bounded retries of region accesses that return -EAGAIN
};

class CcwDevice {
 public:
  // Opens mdev `uuid` in IOMMU group `group` for subchannel `schid` (named in
  // errors). Steps, each undone if a later one fails: open container, check
  // API version and TYPE1v2 (else TYPE1), open group, check it is viable, set
  // the container, set the IOMMU, get the device fd, read the device info
  // (must be a CCW device), find the regions by VFIO_REGION_INFO_CAP_TYPE,
  // create eventfds and connect IRQs 0 (I/O), 1 (CRW) and 2 (REQ) where the
  // kernel has them, allocate and map the arena.
  // Errors: kFailedPrecondition naming the step and the errno (e.g. "open
  // group 3: -EBUSY (another user holds the group)"); kUnavailable for
  // -EBUSY on the device.
  static absl::StatusOr<std::unique_ptr<CcwDevice>> Open(VfioOps& ops, std::string schid, int group,
                                                         std::string uuid, const CcwDeviceOptions& options = {});
  ~CcwDevice();  // unmaps the arena, disconnects IRQs, closes device, group, container
  CcwDevice(const CcwDevice&) = delete;
  CcwDevice& operator=(const CcwDevice&) = delete;

  const std::string& schid() const { return schid_; }
  const CcwCapabilities& capabilities() const { return caps_; }
  translate::DmaArena& arena() { return *arena_; }
  // The IRQ eventfds (-1 when the kernel has no such IRQ). Owned by the device.
  int io_fd() const { return irq_fd_[0]; }
  int crw_fd() const { return irq_fd_[1]; }
  int req_fd() const { return irq_fd_[2]; }

  // Writes ORB + SCSW (start function) into the I/O region. Returns 0, or the
  // negative ret_code (-EBUSY, -EACCES, -ENODEV, -EIO, -EINVAL, -EFAULT,
  // -ENOMEM, -EOPNOTSUPP), or -EAGAIN after `eagain_retries` tries. `retries`
  // (optional) receives the -EAGAIN retries taken.
  int Start(const translate::Orb& orb, int* retries = nullptr);
  // Reads the IRB from the I/O region. Errors: kUnavailable after the -EAGAIN
  // retries; kInternal for a short read.
  absl::StatusOr<translate::Irb> ReadIrb();
  // HSCH / CSCH through the async region: 0 or -errno (-EBUSY, -ENODEV, -EIO,
  // -EAGAIN); -EOPNOTSUPP when the kernel has no async region.
  int Halt();
  int Clear();
  // STSCH through the SCHIB region. kUnimplemented without the region;
  // kFailedPrecondition with the errno (-ENODEV) otherwise.
  absl::StatusOr<translate::Schib> Store();
  // Pops one CRW (0 when none). kUnimplemented without the CRW region.
  absl::StatusOr<uint32_t> PopCrw();
  // VFIO_DEVICE_RESET: 0 or -errno.
  int Reset();

 private:
  CcwDevice(VfioOps& ops, std::string schid) : ops_(ops), schid_(std::move(schid)) {}
  int AsyncCommand(uint32_t command);
  void CloseAll();

  VfioOps& ops_;
  std::string schid_;
  CcwDeviceOptions options_;
  int container_ = -1, group_fd_ = -1, device_ = -1;
  int irq_fd_[3] = {-1, -1, -1};
  uint64_t io_offset_ = 0;
  std::optional<uint64_t> async_offset_, schib_offset_, crw_offset_;
  CcwCapabilities caps_;
  void* mem_ = nullptr;
  bool mapped_ = false;
  std::unique_ptr<translate::DmaArena> arena_;
};

// "-EBUSY" etc. for a negative errno (the kernel's names; translate::ErrnoName).
std::string ErrnoText(int neg_errno);

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_VFIO_CCW_DEVICE_H_
