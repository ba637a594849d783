#include "agent/vfio/linux_vfio.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace ccwpass::agent {
namespace {

// ioctl(2) as the seam reports it: the non-negative result or -errno.
template <typename Arg>
int Ioctl(int fd, unsigned long request, Arg arg) {
  const int rc = ::ioctl(fd, request, arg);
  return rc < 0 ? -errno : rc;
}

int IoctlNoArg(int fd, unsigned long request) {
  const int rc = ::ioctl(fd, request);
  return rc < 0 ? -errno : rc;
}

}  // namespace

namespace vfio_internal {

int QueryRegionInfo(uint32_t index, std::vector<uint8_t>* info, absl::FunctionRef<int(uint8_t* buf)> call) {
  std::vector<uint8_t> buf(sizeof(vfio_region_info));
  // Pass 1 with the bare struct; pass 2 (and, should the chain grow between
  // the calls, pass 3) with the size the kernel asked for.
  for (int pass = 0; pass < 3; ++pass) {
    vfio_region_info hdr{};
    hdr.argsz = static_cast<uint32_t>(buf.size());
    hdr.index = index;
    std::fill(buf.begin(), buf.end(), 0);
    std::memcpy(buf.data(), &hdr, sizeof hdr);
    const int rc = call(buf.data());
    if (rc < 0) return rc;
    std::memcpy(&hdr, buf.data(), sizeof hdr);
    if (hdr.argsz <= buf.size()) {
      *info = std::move(buf);
      return 0;
    }
    if (hdr.argsz > LinuxVfio::kMaxRegionInfoBytes) return -EOVERFLOW;
    buf.assign(hdr.argsz, 0);
  }
  return -EOVERFLOW;
}

std::vector<uint8_t> IrqSetEventfdArg(uint32_t index, int32_t eventfd) {
  std::vector<uint8_t> buf(sizeof(vfio_irq_set) + sizeof(int32_t));
  vfio_irq_set set{};
  set.argsz = static_cast<uint32_t>(buf.size());
  set.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
  set.index = index;
  set.start = 0;
  set.count = 1;
  std::memcpy(buf.data(), &set, sizeof set);
  std::memcpy(buf.data() + sizeof set, &eventfd, sizeof eventfd);
  return buf;
}

}  // namespace vfio_internal

LinuxVfio::LinuxVfio(std::string dev_root) : root_(std::move(dev_root)) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

int LinuxVfio::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int LinuxVfio::OpenContainer() { return Open(root_ + "/vfio/vfio"); }

int LinuxVfio::GetApiVersion(int container) { return IoctlNoArg(container, VFIO_GET_API_VERSION); }

int LinuxVfio::CheckExtension(int container, uint32_t extension) {
  return Ioctl(container, VFIO_CHECK_EXTENSION, static_cast<unsigned long>(extension));
}

int LinuxVfio::SetIommu(int container, uint32_t type) {
  return Ioctl(container, VFIO_SET_IOMMU, static_cast<unsigned long>(type));
}

int LinuxVfio::MapDma(int container, uint64_t vaddr, uint64_t iova, uint64_t size, uint32_t flags) {
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof map;
  map.flags = flags;
  map.vaddr = vaddr;
  map.iova = iova;
  map.size = size;
  return Ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}

int64_t LinuxVfio::UnmapDma(int container, uint64_t iova, uint64_t size) {
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = sizeof unmap;
  unmap.flags = 0;
  unmap.iova = iova;
  unmap.size = size;
  const int rc = Ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
  if (rc < 0) return rc;
  return static_cast<int64_t>(unmap.size);
}

int LinuxVfio::OpenGroup(int group) { return Open(root_ + "/vfio/" + std::to_string(group)); }

int LinuxVfio::GetGroupStatus(int group_fd, uint32_t* flags) {
  vfio_group_status status{};
  status.argsz = sizeof status;
  const int rc = Ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status);
  if (rc < 0) return rc;
  *flags = status.flags;
  return 0;
}

int LinuxVfio::SetContainer(int group_fd, int container) {
  int32_t c = container;
  return Ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &c);
}

int LinuxVfio::UnsetContainer(int group_fd) { return IoctlNoArg(group_fd, VFIO_GROUP_UNSET_CONTAINER); }

int LinuxVfio::GetDeviceFd(int group_fd, std::string_view name) {
  if (name.find('\0') != std::string_view::npos) return -EINVAL;
  const std::string n(name);
  return Ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, n.c_str());
}

int LinuxVfio::GetDeviceInfo(int device_fd, vfio_device_info* info) {
  vfio_device_info i{};
  i.argsz = sizeof i;
  const int rc = Ioctl(device_fd, VFIO_DEVICE_GET_INFO, &i);
  if (rc < 0) return rc;
  *info = i;
  return 0;
}

int LinuxVfio::GetRegionInfo(int device_fd, uint32_t index, std::vector<uint8_t>* info) {
  return vfio_internal::QueryRegionInfo(
      index, info, [device_fd](uint8_t* buf) { return Ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, buf); });
}

int LinuxVfio::GetIrqInfo(int device_fd, uint32_t index, vfio_irq_info* info) {
  vfio_irq_info i{};
  i.argsz = sizeof i;
  i.index = index;
  const int rc = Ioctl(device_fd, VFIO_DEVICE_GET_IRQ_INFO, &i);
  if (rc < 0) return rc;
  *info = i;
  return 0;
}

int LinuxVfio::SetIrqEventfd(int device_fd, uint32_t index, int eventfd) {
  std::vector<uint8_t> arg = vfio_internal::IrqSetEventfdArg(index, eventfd);
  return Ioctl(device_fd, VFIO_DEVICE_SET_IRQS, arg.data());
}

int LinuxVfio::Reset(int device_fd) { return IoctlNoArg(device_fd, VFIO_DEVICE_RESET); }

ssize_t LinuxVfio::Pread(int device_fd, void* buf, size_t len, uint64_t offset) {
  const ssize_t n = ::pread(device_fd, buf, len, static_cast<off_t>(offset));
  return n < 0 ? -errno : n;
}

ssize_t LinuxVfio::Pwrite(int device_fd, const void* buf, size_t len, uint64_t offset) {
  const ssize_t n = ::pwrite(device_fd, buf, len, static_cast<off_t>(offset));
  return n < 0 ? -errno : n;
}

int LinuxVfio::Close(int fd) {
  if (::close(fd) == 0 || errno == EINTR) return 0;
  return -errno;
}

}  // namespace ccwpass::agent
