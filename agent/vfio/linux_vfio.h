// The real VFIO seam: VfioOps as open(2), ioctl(2), pread(2), pwrite(2) and
// close(2) on the VFIO character devices under a /dev root. The only code in
// ccwpass that issues VFIO ioctls.
//
// Every operation is one system call (two for GetRegionInfo) and returns its
// result or -errno, exactly as the kernel gave it (vfio_ops.h); nothing is
// retried, nothing is cached, descriptors belong to the caller. The full path
// runs against the real vfio_ccw driver in the s390x guest
// (reference/qemu-s390x.md); without /dev/vfio the tests here prove the errno
// plumbing (-ENOENT, -EBADF, -ENOTTY) and the argument buffers.
//
// Sources: Documentation/driver-api/vfio.rst ("VFIO Usage Example"),
// Documentation/s390/vfio-ccw.rst, include/uapi/linux/vfio.h (each ioctl's
// argument and return), drivers/vfio/vfio_main.c (group and container ioctls),
// drivers/vfio/vfio_iommu_type1.c, drivers/s390/cio/vfio_ccw_ops.c.
#ifndef CCWPASS_AGENT_VFIO_LINUX_VFIO_H_
#define CCWPASS_AGENT_VFIO_LINUX_VFIO_H_

#include <linux/vfio.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "agent/vfio/vfio_ops.h"

namespace ccwpass::agent {

class LinuxVfio final : public VfioOps {
 public:
  // `dev_root`: the directory that stands for /dev ("/dev" on a host; the
  // agent's --dev_root flag). Trailing '/' are dropped. Not checked here: a
  // root without vfio/ makes the opens return -ENOENT.
  explicit LinuxVfio(std::string dev_root);

  // open("<root>/vfio/vfio", O_RDWR|O_CLOEXEC): a container descriptor, or
  // -ENOENT (the vfio module is not loaded), -EACCES, -EMFILE, ...
  int OpenContainer() override;
  // ioctl VFIO_GET_API_VERSION: VFIO_API_VERSION (0), or -EBADF, -ENOTTY (not
  // a container).
  int GetApiVersion(int container) override;
  // ioctl VFIO_CHECK_EXTENSION(extension): 1 supported, 0 not, or -errno.
  int CheckExtension(int container, uint32_t extension) override;
  // ioctl VFIO_SET_IOMMU(type): 0, or -EINVAL (no group attached yet, or
  // IOMMU already set), -ENODEV (no IOMMU driver of that type), -EBADF, -ENOTTY.
  int SetIommu(int container, uint32_t type) override;
  // ioctl VFIO_IOMMU_MAP_DMA with struct vfio_iommu_type1_dma_map{argsz,
  // flags, vaddr, iova, size} (bytes; page-aligned). 0, or -EINVAL (unaligned,
  // zero size, no IOMMU set), -EEXIST (overlaps a mapping), -ENOMEM, -EFAULT
  // (vaddr not mapped in this process), -ENOSPC (DMA mapping limit).
  int MapDma(int container, uint64_t vaddr, uint64_t iova, uint64_t size, uint32_t flags) override;
  // ioctl VFIO_IOMMU_UNMAP_DMA with struct vfio_iommu_type1_dma_unmap{argsz,
  // flags 0, iova, size}: the size field the kernel writes back (bytes
  // unmapped, 0 when nothing was mapped there), or -EINVAL (unaligned, cuts a
  // mapping), -EBADF, -ENOTTY.
  int64_t UnmapDma(int container, uint64_t iova, uint64_t size) override;

  // open("<root>/vfio/<group>", O_RDWR|O_CLOEXEC): a group descriptor, or
  // -ENOENT (no such group), -EBUSY (already open), -EPERM, -EACCES.
  int OpenGroup(int group) override;
  // ioctl VFIO_GROUP_GET_STATUS: *flags = VFIO_GROUP_FLAGS_{VIABLE,
  // CONTAINER_SET}; 0 or -errno. *flags is untouched on error.
  int GetGroupStatus(int group_fd, uint32_t* flags) override;
  // ioctl VFIO_GROUP_SET_CONTAINER(&container): 0, or -EINVAL (already set;
  // not a container), -EPERM (not viable), -EBADF, -ENOTTY.
  int SetContainer(int group_fd, int container) override;
  // ioctl VFIO_GROUP_UNSET_CONTAINER: 0, or -EINVAL (not set), -EBUSY (a device
  // is open), -EBADF, -ENOTTY.
  int UnsetContainer(int group_fd) override;
  // ioctl VFIO_GROUP_GET_DEVICE_FD("<name>"), name = the mdev UUID: a device
  // descriptor, or -EINVAL (no IOMMU set; a name with a NUL byte is refused
  // with -EINVAL before the call), -ENODEV (no such device in the group),
  // -EBADF, -ENOTTY, or the driver's open error. The first open enables the
  // subchannel (the vfio-ccw OPEN event).
  int GetDeviceFd(int group_fd, std::string_view name) override;

  // ioctl VFIO_DEVICE_GET_INFO with argsz = sizeof(*info) (no capability
  // chain): 0 or -errno; vfio-ccw sets VFIO_DEVICE_FLAGS_CCW, num_regions,
  // num_irqs.
  int GetDeviceInfo(int device_fd, vfio_device_info* info) override;
  // ioctl VFIO_DEVICE_GET_REGION_INFO for `index` with the capability chain,
  // by the argsz protocol of include/uapi/linux/vfio.h: the first call with
  // argsz = sizeof(struct vfio_region_info); when the kernel answers with a
  // larger argsz (capabilities did not fit, cap_offset 0), again with a buffer
  // that large. *info = the filled buffer (max(argsz, sizeof) bytes), for
  // ParseRegionInfo. 0, or -EINVAL (bad index), -EBADF, -ENOTTY, -EOVERFLOW
  // (the kernel asked for more than kMaxRegionInfoBytes or kept growing).
  int GetRegionInfo(int device_fd, uint32_t index, std::vector<uint8_t>* info) override;
  // ioctl VFIO_DEVICE_GET_IRQ_INFO with argsz and index set: 0 or -errno
  // (-EINVAL bad index). vfio-ccw: count 1, VFIO_IRQ_INFO_EVENTFD.
  int GetIrqInfo(int device_fd, uint32_t index, vfio_irq_info* info) override;
  // ioctl VFIO_DEVICE_SET_IRQS with struct vfio_irq_set{argsz 24,
  // DATA_EVENTFD|ACTION_TRIGGER, index, start 0, count 1} + __s32 eventfd.
  // eventfd -1 disconnects the trigger ("-1 can be used to de-assign",
  // vfio.h). 0, or -EINVAL (bad index or flags), -EBADF (not an eventfd).
  int SetIrqEventfd(int device_fd, uint32_t index, int eventfd) override;
  // ioctl VFIO_DEVICE_RESET: 0 or -errno (vfio-ccw: -EINVAL when the
  // subchannel cannot be quiesced and re-enabled).
  int Reset(int device_fd) override;

  // pread(2)/pwrite(2) at a byte offset of the device descriptor (region
  // offset + offset in the region): bytes moved or -errno. A vfio-ccw I/O
  // region write fails with its ret_code (-EBUSY, -EAGAIN, -EACCES, -ENODEV,
  // ...; reference/vfio-ccw.md). One call; short transfers are returned as is.
  ssize_t Pread(int device_fd, void* buf, size_t len, uint64_t offset) override;
  ssize_t Pwrite(int device_fd, const void* buf, size_t len, uint64_t offset) override;

  // close(2): 0, or -EBADF. EINTR counts as closed (Linux releases the
  // descriptor before it reports EINTR), so 0.
  int Close(int fd) override;

  const std::string& dev_root() const { return root_; }

  // The largest region-info buffer accepted from the kernel (vfio-ccw's
  // capability chain is one 16-byte CAP_TYPE).
  static constexpr size_t kMaxRegionInfoBytes = 64 * 1024;

 private:
  int Open(const std::string& path);
  std::string root_;
};

namespace vfio_internal {

// The GetRegionInfo protocol with the ioctl abstracted: `call` receives a
// buffer whose struct vfio_region_info has argsz (= buffer size) and index
// set, issues VFIO_DEVICE_GET_REGION_INFO on it and returns 0 or -errno.
// Exposed for tests of the two passes; LinuxVfio passes the real ioctl.
int QueryRegionInfo(uint32_t index, std::vector<uint8_t>* info, absl::FunctionRef<int(uint8_t* buf)> call);

// The VFIO_DEVICE_SET_IRQS argument LinuxVfio::SetIrqEventfd passes: struct
// vfio_irq_set followed by one __s32 eventfd, 24 bytes.
std::vector<uint8_t> IrqSetEventfdArg(uint32_t index, int32_t eventfd);

}  // namespace vfio_internal
}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_VFIO_LINUX_VFIO_H_
