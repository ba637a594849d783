#include "sim/testing/sim_client.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/vfio/region_info.h"

namespace ccwpass::sim::testing {

namespace {
absl::Status Step(const char* what, int rc) {
  if (rc >= 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(-rc), " (", -rc, ")"));
}
absl::Status SysfsStep(SimKernel& k, const std::string& path, const std::string& value) {
  const int err = k.Write(path, value);
  if (err == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("write '", value, "' to ", path, ": ", std::strerror(err)));
}
}  // namespace

absl::StatusOr<std::unique_ptr<SimClient>> SimClient::Attach(SimKernel& k, const std::string& schid,
                                                             const std::string& uuid, uint64_t arena_bytes) {
  std::unique_ptr<SimClient> c(new SimClient());
  c->k_ = &k;
  const std::string dev = "bus/css/devices/" + schid;
  std::string drv;
  if (k.ReadLink(dev + "/driver", &drv) == 0 && drv.ends_with("/vfio_ccw")) {
    // already bound
  } else {
    if (auto s = SysfsStep(k, dev + "/driver_override", "vfio_ccw"); !s.ok()) return s;
    if (!drv.empty()) {
      const std::string cur = drv.substr(drv.rfind('/') + 1);
      if (auto s = SysfsStep(k, "bus/css/drivers/" + cur + "/unbind", schid); !s.ok()) return s;
    }
    if (auto s = SysfsStep(k, "bus/css/drivers/vfio_ccw/bind", schid); !s.ok()) return s;
  }
  if (!k.Exists(dev + "/" + uuid)) {
    if (auto s = SysfsStep(k, dev + "/mdev_supported_types/vfio_ccw-io/create", uuid); !s.ok()) return s;
  }
  std::string grp;
  if (k.ReadLink(dev + "/" + uuid + "/iommu_group", &grp) != 0) return absl::InternalError("no iommu_group");
  c->group_ = std::atoi(grp.substr(grp.rfind('/') + 1).c_str());

  c->container_ = k.OpenContainer();
  if (auto s = Step("open container", c->container_); !s.ok()) return s;
  c->group_fd_ = k.OpenGroup(c->group_);
  if (auto s = Step("open group", c->group_fd_); !s.ok()) return s;
  if (auto s = Step("set container", k.SetContainer(c->group_fd_, c->container_)); !s.ok()) return s;
  if (auto s = Step("set iommu", k.SetIommu(c->container_, VFIO_TYPE1v2_IOMMU)); !s.ok()) return s;
  c->device_ = k.GetDeviceFd(c->group_fd_, uuid);
  if (auto s = Step("get device fd", c->device_); !s.ok()) return s;

  vfio_device_info info;
  if (auto s = Step("device info", k.GetDeviceInfo(c->device_, &info)); !s.ok()) return s;
  for (uint32_t i = 0; i < info.num_regions; ++i) {
    std::vector<uint8_t> buf;
    if (auto s = Step("region info", k.GetRegionInfo(c->device_, i, &buf)); !s.ok()) return s;
    absl::StatusOr<agent::RegionInfo> ri = agent::ParseRegionInfo(buf);
    if (!ri.ok()) return ri.status();
    const uint32_t sub = ri->type ? ri->type->subtype : 0;
    if (sub < 4) c->offsets_[sub] = ri->offset;
  }
  for (uint32_t i = 0; i < 3 && i < info.num_irqs; ++i) {
    c->irq_[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (auto s = Step("set irq", k.SetIrqEventfd(c->device_, i, c->irq_[i])); !s.ok()) return s;
  }

  c->mem_bytes_ = arena_bytes;
  c->mem_ = static_cast<uint8_t*>(std::aligned_alloc(4096, arena_bytes));
  std::memset(c->mem_, 0, arena_bytes);
  if (auto s = Step("map dma", k.MapDma(c->container_, reinterpret_cast<uint64_t>(c->mem_), kArenaIova, arena_bytes,
                                        VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE));
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<translate::DmaArena>> a =
      translate::DmaArena::Create(std::span<uint8_t>(c->mem_, arena_bytes), kArenaIova);
  if (!a.ok()) return a.status();
  c->arena_ = std::move(*a);
  return c;
}

SimClient::~SimClient() {
  if (device_ >= 0) k_->Close(device_);
  if (container_ >= 0 && mem_) k_->UnmapDma(container_, kArenaIova, mem_bytes_);
  if (group_fd_ >= 0) k_->Close(group_fd_);
  if (container_ >= 0) k_->Close(container_);
  for (int fd : irq_) {
    if (fd >= 0) ::close(fd);
  }
  arena_.reset();
  std::free(mem_);
}

uint64_t SimClient::RegionOffset(uint32_t subtype) const { return offsets_[subtype]; }

ssize_t SimClient::Start(const translate::Orb& orb) {
  translate::CcwIoRegion r{};
  orb.EncodeTo(std::span<uint8_t, translate::kOrbSize>(r.orb_area));
  translate::Scsw scsw;
  scsw.fctl = translate::scsw_fctl::kStart;
  scsw.EncodeTo(std::span<uint8_t, translate::kScswSize>(r.scsw_area));
  return WriteIoRegion(r);
}

ssize_t SimClient::WriteIoRegion(const translate::CcwIoRegion& r) {
  return k_->Pwrite(device_, &r, sizeof r, offsets_[0]);
}

bool SimClient::WaitIrq(int index, absl::Duration timeout) {
  pollfd p{irq_[index], POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) != 1) return false;
  uint64_t v;
  return ::read(irq_[index], &v, sizeof v) == sizeof v;
}

absl::StatusOr<translate::Irb> SimClient::ReadIrb() {
  translate::CcwIoRegion r;
  ssize_t n = -EAGAIN;
  for (int i = 0; i < 1000 && n == -EAGAIN; ++i) n = k_->Pread(device_, &r, sizeof r, offsets_[0]);
  if (n != sizeof r) return absl::InternalError(absl::StrCat("read io region: ", n));
  return translate::Irb::Decode(std::span<const uint8_t, translate::kIrbSize>(r.irb_area));
}

absl::StatusOr<translate::Irb> SimClient::WaitIrb(absl::Duration timeout) {
  if (!WaitIrq(0, timeout)) return absl::DeadlineExceededError("no I/O interrupt");
  return ReadIrb();
}

ssize_t SimClient::AsyncCommand(uint32_t command) {
  translate::CcwCmdRegion r{command, 0};
  return k_->Pwrite(device_, &r, sizeof r, offsets_[VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD]);
}

absl::StatusOr<translate::Schib> SimClient::ReadSchib() {
  translate::CcwSchibRegion r;
  const ssize_t n = k_->Pread(device_, &r, sizeof r, offsets_[VFIO_REGION_SUBTYPE_CCW_SCHIB]);
  if (n != sizeof r) return absl::InternalError(absl::StrCat("read schib region: ", n));
  return translate::Schib::Decode(std::span<const uint8_t, translate::kSchibSize>(r.schib_area));
}

absl::StatusOr<uint32_t> SimClient::ReadCrw() {
  translate::CcwCrwRegion r;
  const ssize_t n = k_->Pread(device_, &r, sizeof r, offsets_[VFIO_REGION_SUBTYPE_CCW_CRW]);
  if (n != sizeof r) return absl::InternalError(absl::StrCat("read crw region: ", n));
  return r.crw;
}

absl::StatusOr<RunResult> SimClient::Run(const translate::BuiltProgram& p, absl::Duration timeout) {
  absl::StatusOr<translate::Program> prog = translate::Translate(p.orb, *p.memory, *arena_);
  if (!prog.ok()) return prog.status();
  const ssize_t n = Start(prog->orb());
  if (n < 0) {
    return absl::FailedPreconditionError(absl::StrCat("start refused: ", std::strerror(static_cast<int>(-n)),
                                                      " (", -n, ")"));
  }
  RunResult r;
  for (;;) {
    absl::StatusOr<translate::Irb> irb = WaitIrb(timeout);
    if (!irb.ok()) return irb.status();
    if (!irb->scsw.IsFinal()) continue;  // intermediate (PCI)
    r.irb = *irb;
    break;
  }
  absl::StatusOr<translate::Completion> c = prog->Complete(r.irb.scsw, *p.memory);
  if (!c.ok()) return c.status();
  r.completion = std::move(*c);
  return r;
}

}  // namespace ccwpass::sim::testing
