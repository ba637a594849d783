// The VFIO seam: the container, group and device operations the agent performs.
//
// Two implementations: ioctls on the VFIO character devices under a /dev root
// given by a flag (agent/vfio/linux_vfio.h, the only code that issues VFIO
// ioctls) and the simulated kernel (sim/kernel.h), whose vfio-ccw devices sit in
// front of the simulated channel subsystem.
//
// Convention (DESIGN.md): like the syscalls they stand for, operations return a
// non-negative result or a negative errno (-ENOENT, -EBUSY, -EINVAL, ...); the
// layer above turns that into an absl::Status naming the subchannel. Descriptors
// are plain ints owned by the caller, released with Close().
//
// Structures are the kernel UAPI's own (<linux/vfio.h>), in host byte order.
// Sources: Documentation/driver-api/vfio.rst, Documentation/s390/vfio-ccw.rst,
// include/uapi/linux/vfio.h, include/uapi/linux/vfio_ccw.h.
#ifndef CCWPASS_AGENT_VFIO_VFIO_OPS_H_
#define CCWPASS_AGENT_VFIO_VFIO_OPS_H_

#include <linux/vfio.h>
#include <sys/types.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace ccwpass::agent {

class VfioOps {
 public:
  virtual ~VfioOps() = default;

  // open("<dev>/vfio/vfio"): a new container. Returns a descriptor or -errno
  // (-ENOENT when VFIO is not loaded).
  virtual int OpenContainer() = 0;
  // VFIO_GET_API_VERSION: VFIO_API_VERSION (0) or -errno.
  virtual int GetApiVersion(int container) = 0;
  // VFIO_CHECK_EXTENSION: > 0 when the container supports `extension`
  // (VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU, ...), 0 when not, or -errno.
  virtual int CheckExtension(int container, uint32_t extension) = 0;
  // VFIO_SET_IOMMU: 0 or -errno (-EINVAL when no group is attached yet).
  virtual int SetIommu(int container, uint32_t type) = 0;
  // VFIO_IOMMU_MAP_DMA of [vaddr, vaddr+size) at [iova, iova+size), with
  // VFIO_DMA_MAP_FLAG_READ|WRITE in `flags`. 0, or -EEXIST (overlaps a mapping),
  // -EINVAL (unaligned, zero size), -ENOMEM.
  virtual int MapDma(int container, uint64_t vaddr, uint64_t iova, uint64_t size, uint32_t flags) = 0;
  // VFIO_IOMMU_UNMAP_DMA: the number of bytes unmapped, or -errno. A vfio-ccw
  // device whose pending channel program uses the range is reset first.
  virtual int64_t UnmapDma(int container, uint64_t iova, uint64_t size) = 0;

  // open("<dev>/vfio/<group>"): a descriptor or -errno (-ENOENT no such group,
  // -EBUSY already open).
  virtual int OpenGroup(int group) = 0;
  // VFIO_GROUP_GET_STATUS: fills VFIO_GROUP_FLAGS_VIABLE|CONTAINER_SET; 0 or -errno.
  virtual int GetGroupStatus(int group_fd, uint32_t* flags) = 0;
  // VFIO_GROUP_SET_CONTAINER: 0 or -errno (-EINVAL when already set, -EPERM not viable).
  virtual int SetContainer(int group_fd, int container) = 0;
  // VFIO_GROUP_UNSET_CONTAINER: 0 or -errno (-EBUSY while a device is open).
  virtual int UnsetContainer(int group_fd) = 0;
  // VFIO_GROUP_GET_DEVICE_FD for the device called `name` (the mdev UUID): a
  // descriptor or -errno (-EINVAL unknown name or no IOMMU set, -EBUSY already
  // open, -ENODEV the device is going away). Opening enables the subchannel.
  virtual int GetDeviceFd(int group_fd, std::string_view name) = 0;

  // VFIO_DEVICE_GET_INFO: 0 or -errno.
  virtual int GetDeviceInfo(int device_fd, vfio_device_info* info) = 0;
  // VFIO_DEVICE_GET_REGION_INFO for `index`, with the capability chain: `info`
  // receives the whole buffer the kernel filled (struct vfio_region_info first,
  // capabilities after it at the offsets in cap_offset / next, as
  // agent/vfio/region_info.h parses them). 0 or -errno (-EINVAL bad index).
  virtual int GetRegionInfo(int device_fd, uint32_t index, std::vector<uint8_t>* info) = 0;
  // VFIO_DEVICE_GET_IRQ_INFO for `index`: 0 or -errno (-EINVAL bad index).
  virtual int GetIrqInfo(int device_fd, uint32_t index, vfio_irq_info* info) = 0;
  // VFIO_DEVICE_SET_IRQS, DATA_EVENTFD|ACTION_TRIGGER, start 0, count 1: routes
  // IRQ `index` to `eventfd`, or disconnects it when eventfd is -1. 0 or -errno.
  virtual int SetIrqEventfd(int device_fd, uint32_t index, int eventfd) = 0;
  // VFIO_DEVICE_RESET: 0 or -errno.
  virtual int Reset(int device_fd) = 0;

  // pread/pwrite on the device at a region offset (index << 10 for vfio-ccw;
  // take it from the region info). Returns bytes moved or -errno; a write of
  // the I/O region returns -ret_code on failure (see reference/vfio-ccw.md).
  virtual ssize_t Pread(int device_fd, void* buf, size_t len, uint64_t offset) = 0;
  virtual ssize_t Pwrite(int device_fd, const void* buf, size_t len, uint64_t offset) = 0;

  // close(2) of any descriptor these operations returned. Closing a device
  // descriptor disables the subchannel (the vfio-ccw CLOSE event). 0 or -errno.
  virtual int Close(int fd) = 0;
};

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_VFIO_VFIO_OPS_H_
