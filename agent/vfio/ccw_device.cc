#include "agent/vfio/ccw_device.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/vfio/region_info.h"
#include "translate/errors.h"

namespace ccwpass::agent {

std::string ErrnoText(int neg_errno) { return "-" + translate::ErrnoName(-neg_errno); }

namespace {
absl::Status StepError(const std::string& schid, const std::string& step, int rc, const char* hint = nullptr) {
  return translate::WithErrno(
      absl::FailedPreconditionError(absl::StrCat(schid, ": ", step, ": ", ErrnoText(rc), " (",
                                                 std::strerror(-rc), ")", hint ? hint : "")),
      -rc);
}
}  // namespace

absl::StatusOr<std::unique_ptr<CcwDevice>> CcwDevice::Open(VfioOps& ops, std::string schid, int group,
                                                          std::string uuid, const CcwDeviceOptions& options) {
  std::unique_ptr<CcwDevice> d(new CcwDevice(ops, std::move(schid)));
  d->options_ = options;
  const std::string& s = d->schid_;
  int rc = ops.OpenContainer();
  if (rc < 0) return StepError(s, "open VFIO container", rc, rc == -ENOENT ? "; is the vfio module loaded?" : nullptr);
  d->container_ = rc;
  rc = ops.GetApiVersion(d->container_);
  if (rc != VFIO_API_VERSION) return StepError(s, absl::StrCat("VFIO API version ", rc), rc < 0 ? rc : -EINVAL);
  const uint32_t iommu = ops.CheckExtension(d->container_, VFIO_TYPE1v2_IOMMU) > 0 ? VFIO_TYPE1v2_IOMMU
                         : ops.CheckExtension(d->container_, VFIO_TYPE1_IOMMU) > 0 ? VFIO_TYPE1_IOMMU
                                                                                     : 0;
  if (iommu == 0) return StepError(s, "container has no type-1 IOMMU", -ENODEV);
  rc = ops.OpenGroup(group);
  if (rc < 0) {
    return StepError(s, absl::StrCat("open VFIO group ", group), rc,
                     rc == -EBUSY ? "; another process holds the group" : nullptr);
  }
  d->group_fd_ = rc;
  uint32_t gflags = 0;
  rc = ops.GetGroupStatus(d->group_fd_, &gflags);
  if (rc < 0) return StepError(s, "group status", rc);
  if (!(gflags & VFIO_GROUP_FLAGS_VIABLE)) return StepError(s, absl::StrCat("group ", group, " is not viable"), -EPERM);
  rc = ops.SetContainer(d->group_fd_, d->container_);
  if (rc < 0) return StepError(s, "set group container", rc);
  rc = ops.SetIommu(d->container_, iommu);
  if (rc < 0) return StepError(s, "set IOMMU", rc);
  rc = ops.GetDeviceFd(d->group_fd_, uuid);
  if (rc < 0) {
    absl::Status st = StepError(s, absl::StrCat("open device ", uuid), rc,
                                rc == -EBUSY ? "; another process has it open" : nullptr);
    if (rc == -EBUSY) return absl::UnavailableError(st.message());
    return st;
  }
  d->device_ = rc;

  vfio_device_info info{};
  rc = ops.GetDeviceInfo(d->device_, &info);
  if (rc < 0) return StepError(s, "device info", rc);
  if (!(info.flags & VFIO_DEVICE_FLAGS_CCW)) return StepError(s, "not a vfio-ccw device", -ENODEV);
  bool have_io = false;
  for (uint32_t i = 0; i < info.num_regions; ++i) {
    std::vector<uint8_t> buf;
    rc = ops.GetRegionInfo(d->device_, i, &buf);
    if (rc < 0) return StepError(s, absl::StrCat("region ", i, " info"), rc);
    absl::StatusOr<RegionInfo> ri = ParseRegionInfo(buf);
    if (!ri.ok()) return absl::InternalError(absl::StrCat(s, ": ", ri.status().message()));
    if (!ri->type) {
      if (i == VFIO_CCW_CONFIG_REGION_INDEX && ri->size >= sizeof(translate::CcwIoRegion)) {
        d->io_offset_ = ri->offset;
        have_io = true;
      }
      continue;
    }
    if (ri->type->type != VFIO_REGION_TYPE_CCW) continue;
    switch (ri->type->subtype) {
      case VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD:
        if (ri->size >= sizeof(translate::CcwCmdRegion)) d->async_offset_ = ri->offset;
        break;
      case VFIO_REGION_SUBTYPE_CCW_SCHIB:
        if (ri->size >= sizeof(translate::CcwSchibRegion)) d->schib_offset_ = ri->offset;
        break;
      case VFIO_REGION_SUBTYPE_CCW_CRW:
        if (ri->size >= sizeof(translate::CcwCrwRegion)) d->crw_offset_ = ri->offset;
        break;
    }
  }
  if (!have_io) return StepError(s, "no I/O region", -ENODEV);
  d->caps_.async_region = d->async_offset_.has_value();
  d->caps_.schib_region = d->schib_offset_.has_value();
  d->caps_.crw_region = d->crw_offset_.has_value();

  for (uint32_t i = 0; i < 3 && i < info.num_irqs; ++i) {
    vfio_irq_info irq{};
    rc = ops.GetIrqInfo(d->device_, i, &irq);
    if (rc < 0 || irq.count == 0 || !(irq.flags & VFIO_IRQ_INFO_EVENTFD)) continue;
    const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return StepError(s, "eventfd", -errno);
    d->irq_fd_[i] = fd;
    rc = ops.SetIrqEventfd(d->device_, i, fd);
    if (rc < 0) return StepError(s, absl::StrCat("connect IRQ ", i), rc);
  }
  if (d->irq_fd_[0] < 0) return StepError(s, "no I/O IRQ", -ENODEV);
  d->caps_.crw_irq = d->irq_fd_[1] >= 0;
  d->caps_.req_irq = d->irq_fd_[2] >= 0;

  d->mem_ = mmap(nullptr, options.arena_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (d->mem_ == MAP_FAILED) {
    d->mem_ = nullptr;
    return StepError(s, "allocate DMA arena", -errno);
  }
  rc = ops.MapDma(d->container_, reinterpret_cast<uint64_t>(d->mem_), options.arena_iova, options.arena_bytes,
                  VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
  if (rc < 0) return StepError(s, "map DMA arena", rc);
  d->mapped_ = true;
  absl::StatusOr<std::unique_ptr<translate::DmaArena>> arena = translate::DmaArena::Create(
      std::span<uint8_t>(static_cast<uint8_t*>(d->mem_), options.arena_bytes), options.arena_iova);
  if (!arena.ok()) return arena.status();
  d->arena_ = std::move(*arena);
  return d;
}

CcwDevice::~CcwDevice() { CloseAll(); }

void CcwDevice::CloseAll() {
  arena_.reset();
  if (mapped_) ops_.UnmapDma(container_, options_.arena_iova, options_.arena_bytes);
  mapped_ = false;
  if (device_ >= 0) {
    for (uint32_t i = 0; i < 3; ++i) {
      if (irq_fd_[i] >= 0) ops_.SetIrqEventfd(device_, i, -1);
    }
    ops_.Close(device_);
  }
  if (group_fd_ >= 0) ops_.Close(group_fd_);
  if (container_ >= 0) ops_.Close(container_);
  for (int& fd : irq_fd_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  if (mem_) munmap(mem_, options_.arena_bytes);
  mem_ = nullptr;
  device_ = group_fd_ = container_ = -1;
}

int CcwDevice::Start(const translate::Orb& orb, int* retries) {
  translate::CcwIoRegion r{};
  orb.EncodeTo(std::span<uint8_t, translate::kOrbSize>(r.orb_area));
  translate::Scsw scsw;
  scsw.fctl = translate::scsw_fctl::kStart;
  scsw.EncodeTo(std::span<uint8_t, translate::kScswSize>(r.scsw_area));
  ssize_t n = -EAGAIN;
  int tries = 0;
  for (; tries <= options_.eagain_retries; ++tries) {
    n = ops_.Pwrite(device_, &r, sizeof r, io_offset_);
    if (n != -EAGAIN) break;
  }
  if (retries) *retries = tries > options_.eagain_retries ? options_.eagain_retries : tries;
  if (n == static_cast<ssize_t>(sizeof r)) return 0;
  return n < 0 ? static_cast<int>(n) : -EIO;
}

absl::StatusOr<translate::Irb> CcwDevice::ReadIrb() {
  translate::CcwIoRegion r;
  ssize_t n = -EAGAIN;
  for (int i = 0; i <= options_.eagain_retries && n == -EAGAIN; ++i) n = ops_.Pread(device_, &r, sizeof r, io_offset_);
  if (n == -EAGAIN) return absl::UnavailableError(absl::StrCat(schid_, ": read IRB: -EAGAIN after retries"));
  if (n != static_cast<ssize_t>(sizeof r)) {
    return absl::InternalError(absl::StrCat(schid_, ": read IRB: ", n < 0 ? ErrnoText(static_cast<int>(n)) : "short read"));
  }
  return translate::Irb::Decode(std::span<const uint8_t, translate::kIrbSize>(r.irb_area));
}

int CcwDevice::AsyncCommand(uint32_t command) {
  if (!async_offset_) return -EOPNOTSUPP;
  translate::CcwCmdRegion r{command, 0};
  ssize_t n = -EAGAIN;
  for (int i = 0; i <= options_.eagain_retries && n == -EAGAIN; ++i) {
    n = ops_.Pwrite(device_, &r, sizeof r, *async_offset_);
  }
  if (n == static_cast<ssize_t>(sizeof r)) return 0;
  return n < 0 ? static_cast<int>(n) : -EIO;
}

int CcwDevice::Halt() { return AsyncCommand(translate::kAsyncCmdHsch); }
int CcwDevice::Clear() { return AsyncCommand(translate::kAsyncCmdCsch); }

absl::StatusOr<translate::Schib> CcwDevice::Store() {
  if (!schib_offset_) {
    return absl::UnimplementedError(absl::StrCat(schid_, ": the kernel has no SCHIB region (Linux 5.8 or later)"));
  }
  translate::CcwSchibRegion r;
  const ssize_t n = ops_.Pread(device_, &r, sizeof r, *schib_offset_);
  if (n != static_cast<ssize_t>(sizeof r)) {
    return translate::WithErrno(
        absl::FailedPreconditionError(absl::StrCat(schid_, ": store subchannel: ",
                                                   n < 0 ? ErrnoText(static_cast<int>(n)) : "short read")),
        n < 0 ? static_cast<int>(-n) : EIO);
  }
  return translate::Schib::Decode(std::span<const uint8_t, translate::kSchibSize>(r.schib_area));
}

absl::StatusOr<uint32_t> CcwDevice::PopCrw() {
  if (!crw_offset_) return absl::UnimplementedError(absl::StrCat(schid_, ": the kernel has no CRW region"));
  translate::CcwCrwRegion r;
  const ssize_t n = ops_.Pread(device_, &r, sizeof r, *crw_offset_);
  if (n != static_cast<ssize_t>(sizeof r)) {
    return absl::InternalError(absl::StrCat(schid_, ": read CRW: ", n < 0 ? ErrnoText(static_cast<int>(n)) : "short"));
  }
  return r.crw;
}

int CcwDevice::Reset() { return ops_.Reset(device_); }

}  // namespace ccwpass::agent
