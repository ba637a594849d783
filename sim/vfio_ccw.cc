#include "sim/vfio_ccw.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "spdlog/spdlog.h"
#include "agent/vfio/region_info.h"
#include "translate/errors.h"

namespace ccwpass::sim {

using translate::Irb;
using translate::Orb;
using translate::Scsw;
namespace fctl = translate::scsw_fctl;
namespace actl = translate::scsw_actl;

namespace {

constexpr const char* kStateNames[] = {"NOT_OPER", "STANDBY", "IDLE", "CP_PROCESSING", "CP_PENDING"};
constexpr const char* kEventNames[] = {"NOT_OPER", "IO_REQ", "INTERRUPT", "ASYNC_REQ", "OPEN", "CLOSE"};

// Where the kernel keeps its copies of channel programs (below 2 GiB, like
// GFP_DMA memory on s390).
constexpr uint64_t kKernelArenaIova = 0x10000000;

// The kernel's arena as the channel subsystem sees storage.
class ArenaStorage final : public translate::GuestMemory {
 public:
  explicit ArenaStorage(translate::DmaArena* a) : a_(a) {}
  uint64_t Size() const override { return a_->IovaBase() + a_->Size(); }
  absl::Status Read(uint64_t addr, std::span<uint8_t> out) const override {
    auto s = static_cast<const translate::DmaArena*>(a_)->At(addr, out.size());
    if (!s.ok()) return OutOfRange("read", addr, out.size());
    std::memcpy(out.data(), s->data(), out.size());
    return absl::OkStatus();
  }
  absl::Status Write(uint64_t addr, std::span<const uint8_t> in) override {
    auto s = a_->At(addr, in.size());
    if (!s.ok()) return OutOfRange("write", addr, in.size());
    std::memcpy(s->data(), in.data(), in.size());
    return absl::OkStatus();
  }

 private:
  translate::DmaArena* a_;
};

// Region subtypes in VFIO index order after the I/O region.
constexpr uint32_t kSubAsync = VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD;
constexpr uint32_t kSubSchib = VFIO_REGION_SUBTYPE_CCW_SCHIB;
constexpr uint32_t kSubCrw = VFIO_REGION_SUBTYPE_CCW_CRW;

}  // namespace

const char* CcwStateName(CcwState s) { return kStateNames[static_cast<int>(s)]; }
const char* CcwEventName(CcwEvent e) { return kEventNames[static_cast<int>(e)]; }

// The kernel's vfio_ccw_jumptable (drivers/s390/cio/vfio_ccw_fsm.c): state × event.
const VfioCcwDevice::Action VfioCcwDevice::kJumpTable[kCcwStates][kCcwEvents] = {
    // NOT_OPER, IO_REQ, INTERRUPT, ASYNC_REQ, OPEN, CLOSE
    /* NOT_OPER */ {&VfioCcwDevice::FsmNop, &VfioCcwDevice::FsmIoError, &VfioCcwDevice::FsmDisabledIrq,
                    &VfioCcwDevice::FsmAsyncError, &VfioCcwDevice::FsmNop, &VfioCcwDevice::FsmNop},
    /* STANDBY */ {&VfioCcwDevice::FsmNotOper, &VfioCcwDevice::FsmIoError, &VfioCcwDevice::FsmDisabledIrq,
                   &VfioCcwDevice::FsmAsyncError, &VfioCcwDevice::FsmOpen, &VfioCcwDevice::FsmNotOper},
    /* IDLE */ {&VfioCcwDevice::FsmNotOper, &VfioCcwDevice::FsmIoRequest, &VfioCcwDevice::FsmIrq,
                &VfioCcwDevice::FsmAsyncRequest, &VfioCcwDevice::FsmNotOper, &VfioCcwDevice::FsmClose},
    /* CP_PROCESSING */ {&VfioCcwDevice::FsmNotOper, &VfioCcwDevice::FsmIoRetry, &VfioCcwDevice::FsmIrq,
                         &VfioCcwDevice::FsmAsyncRetry, &VfioCcwDevice::FsmNotOper, &VfioCcwDevice::FsmClose},
    /* CP_PENDING */ {&VfioCcwDevice::FsmNotOper, &VfioCcwDevice::FsmIoBusy, &VfioCcwDevice::FsmIrq,
                      &VfioCcwDevice::FsmAsyncRequest, &VfioCcwDevice::FsmNotOper, &VfioCcwDevice::FsmClose},
};

VfioCcwDevice::VfioCcwDevice(ChannelSubsystem* css, uint32_t sch_index, std::string schid,
                             VfioCcwFeatures features, uint64_t kernel_arena_bytes)
    : css_(css), sch_(sch_index), schid_(std::move(schid)), features_(features),
      arena_bytes_(kernel_arena_bytes) {}

VfioCcwDevice::~VfioCcwDevice() {
  if (is_open()) Close();
}

CcwState VfioCcwDevice::state() const {
  absl::MutexLock l(&mu_);
  return state_;
}

std::pair<uint32_t, uint32_t> VfioCcwDevice::ArenaPages() const {
  absl::MutexLock l(&mu_);
  if (!arena_) return {0, 0};
  return {arena_->FreePageCount(), arena_->TotalPages()};
}

bool VfioCcwDevice::is_open() const {
  absl::MutexLock l(&mu_);
  return open_;
}

void VfioCcwDevice::Dispatch(CcwEvent e) {
  const CcwState before = state_;
  (this->*kJumpTable[static_cast<int>(state_)][static_cast<int>(e)])(e);
  if (e != CcwEvent::kInterrupt && e != CcwEvent::kIoReq) {
    spdlog::debug("sim vfio_ccw {}: state {} event {} -> {}", schid_, CcwStateName(before), CcwEventName(e),
                  CcwStateName(state_));
  }
}

// ---- FSM actions -----------------------------------------------------------

void VfioCcwDevice::FsmNop(CcwEvent) {}

void VfioCcwDevice::FsmIoError(CcwEvent) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  io_region_.ret_code = static_cast<uint32_t>(-EIO);
}

void VfioCcwDevice::FsmIoBusy(CcwEvent) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  io_region_.ret_code = static_cast<uint32_t>(-EBUSY);
}

void VfioCcwDevice::FsmIoRetry(CcwEvent) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  io_region_.ret_code = static_cast<uint32_t>(-EAGAIN);
}

void VfioCcwDevice::FsmAsyncError(CcwEvent) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  cmd_region_.ret_code = static_cast<uint32_t>(-EIO);
}

void VfioCcwDevice::FsmAsyncRetry(CcwEvent) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  cmd_region_.ret_code = static_cast<uint32_t>(-EAGAIN);
}

// An interruption while disabled: a quiesce's own; nothing reaches the user.
void VfioCcwDevice::FsmDisabledIrq(CcwEvent) {}

void VfioCcwDevice::FsmNotOper(CcwEvent) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  state_ = CcwState::kNotOper;
  if (cp_) {
    cp_->Release();
    cp_.reset();
  }
}

void VfioCcwDevice::FsmIoRequest(CcwEvent) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  state_ = CcwState::kCpProcessing;
  const Scsw scsw = Scsw::Decode(std::span<const uint8_t, translate::kScswSize>(io_region_.scsw_area));
  int ret = 0;
  if (scsw.fctl & fctl::kStart) {
    const Orb orb = Orb::Decode(std::span<const uint8_t, translate::kOrbSize>(io_region_.orb_area));
    if (orb.tm) {
      ret = -EOPNOTSUPP;
    } else {
      absl::StatusOr<translate::Program> cp = translate::Translate(orb, *iommu_, *arena_);
      if (!cp.ok()) {
        ret = -translate::ErrnoOf(cp.status()).value_or(EINVAL);
      } else {
        cp_ = std::move(*cp);
        Orb host = cp_->orb();
        if (host.lpm == 0) host.lpm = lpm_;
        switch (css_->Ssch(sch_, host, kernel_storage_.get())) {
          case 0:
            state_ = CcwState::kCpPending;
            io_region_.ret_code = 0;
            return;
          case 1:
          case 2:
            ret = -EBUSY;
            break;
          default: {
            if (host.lpm != 0) {
              lpm_ &= static_cast<uint8_t>(~host.lpm);
            } else {
              lpm_ = 0;
            }
            translate::Schib schib;
            ret = (css_->Stsch(sch_, &schib) != 0 || lpm_ == 0) ? -ENODEV : -EACCES;
            break;
          }
        }
        cp_->Release();
        cp_.reset();
      }
    }
  } else if (scsw.fctl & (fctl::kHalt | fctl::kClear)) {
    ret = -EOPNOTSUPP;
  } else {
    // No function requested: nothing happens, ret_code stays as written.
    state_ = CcwState::kIdle;
    return;
  }
  io_region_.ret_code = static_cast<uint32_t>(ret);
  state_ = CcwState::kIdle;
}

int VfioCcwDevice::DoHalt() {
  switch (css_->Hsch(sch_)) {
    case 0:
      return 0;
    case 1:
    case 2:
      return -EBUSY;
    default:
      return -ENODEV;
  }
}

int VfioCcwDevice::DoClear() { return css_->Csch(sch_) == 0 ? 0 : -ENODEV; }

void VfioCcwDevice::FsmAsyncRequest(CcwEvent) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  switch (cmd_region_.command) {
    case translate::kAsyncCmdHsch:
      cmd_region_.ret_code = static_cast<uint32_t>(DoHalt());
      break;
    case translate::kAsyncCmdCsch:
      cmd_region_.ret_code = static_cast<uint32_t>(DoClear());
      break;
    default:
      cmd_region_.ret_code = static_cast<uint32_t>(-EINVAL);
  }
}

// The interruption is taken; io_todo (in OnInterrupt) delivers it.
void VfioCcwDevice::FsmIrq(CcwEvent) {}

void VfioCcwDevice::FsmOpen(CcwEvent) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (css_->Msch(sch_, true, sch_) != 0) {
    state_ = CcwState::kNotOper;
    return;
  }
  translate::Schib schib;
  if (css_->Stsch(sch_, &schib) == 0) lpm_ = schib.pmcw.pim & schib.pmcw.pam & schib.pmcw.pom;
  state_ = CcwState::kIdle;
}

void VfioCcwDevice::FsmClose(CcwEvent) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  css_->Quiesce(sch_);
  state_ = CcwState::kStandby;
  if (cp_) {
    cp_->Release();
    cp_.reset();
  }
}

// ---- Lifecycle -------------------------------------------------------------

int VfioCcwDevice::Open(Iommu* iommu) {
  absl::MutexLock io(&io_mu_);
  absl::MutexLock l(&mu_);
  if (open_) return -EBUSY;
  if (state_ == CcwState::kNotOper) return -EINVAL;
  auto arena = translate::DmaArena::CreateOwned(arena_bytes_, kKernelArenaIova);
  if (!arena.ok()) return -ENOMEM;
  arena_ = std::move(*arena);
  kernel_storage_ = std::make_unique<ArenaStorage>(arena_.get());
  iommu_ = iommu;
  io_region_ = {};
  cmd_region_ = {};
  crw_region_ = {};
  Dispatch(CcwEvent::kOpen);
  if (state_ == CcwState::kNotOper) {
    iommu_ = nullptr;
    return -EINVAL;
  }
  open_ = true;
  return 0;
}

void VfioCcwDevice::Close() {
  absl::MutexLock io(&io_mu_);
  absl::MutexLock l(&mu_);
  if (!open_) return;
  Dispatch(CcwEvent::kClose);
  for (int& t : trigger_) t = -1;
  open_ = false;
  iommu_ = nullptr;
  crws_.clear();
}

void VfioCcwDevice::NotOperational() {
  absl::MutexLock l(&mu_);
  // The kernel's fsm_notoper() frees the channel program: no interruption
  // will come for it. The unregistration it schedules (SimKernel) removes the
  // mdev, which asks the user for the device with the REQ IRQ: so a user
  // waiting for an interruption learns of it, and releases the device.
  Dispatch(CcwEvent::kNotOper);
}

void VfioCcwDevice::Operational() {
  absl::MutexLock l(&mu_);
  if (state_ != CcwState::kNotOper) return;
  state_ = CcwState::kStandby;
  if (open_) Dispatch(CcwEvent::kOpen);  // the user still holds it: enable again
}

// ---- Device fd operations --------------------------------------------------

int VfioCcwDevice::RegionCount() const {
  return 1 + features_.async_region + features_.schib_region + features_.crw_region;
}

int VfioCcwDevice::RegionSubtype(uint32_t index) const {
  if (index == 0) return 0;
  uint32_t i = 1;
  if (features_.async_region && index == i++) return kSubAsync;
  if (features_.schib_region && index == i++) return kSubSchib;
  if (features_.crw_region && index == i++) return kSubCrw;
  return -1;
}

int VfioCcwDevice::GetDeviceInfo(vfio_device_info* info) const {
  *info = {};
  info->argsz = sizeof *info;
  info->flags = VFIO_DEVICE_FLAGS_CCW | VFIO_DEVICE_FLAGS_RESET;
  info->num_regions = static_cast<uint32_t>(RegionCount());
  // IRQ indexes are fixed (0 I/O, 1 CRW, 2 REQ): a kernel with REQ has three.
  info->num_irqs = features_.req_irq ? 3 : (features_.crw_region ? 2 : 1);
  return 0;
}

int VfioCcwDevice::GetRegionInfo(uint32_t index, std::vector<uint8_t>* out) const {
  const int sub = RegionSubtype(index);
  if (sub < 0) return -EINVAL;
  agent::RegionInfo ri;
  ri.index = index;
  ri.offset = uint64_t{index} << 10;
  switch (sub) {
    case 0:
      ri.size = sizeof(translate::CcwIoRegion);
      ri.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
      break;
    case kSubAsync:
      ri.size = sizeof(translate::CcwCmdRegion);
      ri.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
      break;
    case kSubSchib:
      ri.size = sizeof(translate::CcwSchibRegion);
      ri.flags = VFIO_REGION_INFO_FLAG_READ;
      break;
    case kSubCrw:
      ri.size = sizeof(translate::CcwCrwRegion);
      ri.flags = VFIO_REGION_INFO_FLAG_READ;
      break;
  }
  if (sub != 0) ri.type = agent::RegionType{VFIO_REGION_TYPE_CCW, static_cast<uint32_t>(sub)};
  *out = agent::EncodeRegionInfo(ri);
  return 0;
}

int VfioCcwDevice::GetIrqInfo(uint32_t index, vfio_irq_info* info) const {
  vfio_device_info di;
  GetDeviceInfo(&di);
  if (index >= di.num_irqs) return -EINVAL;
  const bool present = index == VFIO_CCW_IO_IRQ_INDEX ||
                       (index == VFIO_CCW_CRW_IRQ_INDEX && features_.crw_region) ||
                       (index == VFIO_CCW_REQ_IRQ_INDEX && features_.req_irq);
  *info = {};
  info->argsz = sizeof *info;
  info->index = index;
  info->flags = VFIO_IRQ_INFO_EVENTFD;
  info->count = present ? 1 : 0;
  return 0;
}

int VfioCcwDevice::SetIrqEventfd(uint32_t index, int eventfd) {
  vfio_irq_info info;
  if (GetIrqInfo(index, &info) != 0 || info.count == 0) return -EINVAL;
  if (eventfd < -1) return -EINVAL;
  if (eventfd >= 0) {
    // eventfd_ctx_fdget: the descriptor must be a live eventfd.
    char link[64], target[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", eventfd);
    const ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) return -EBADF;
    target[n] = 0;
    if (std::strcmp(target, "anon_inode:[eventfd]") != 0) return -EINVAL;
  }
  absl::MutexLock l(&mu_);
  trigger_[index] = eventfd;
  return 0;
}

int VfioCcwDevice::Reset() {
  absl::MutexLock io(&io_mu_);
  absl::MutexLock l(&mu_);
  Dispatch(CcwEvent::kClose);
  Dispatch(CcwEvent::kOpen);
  return state_ == CcwState::kNotOper ? -EINVAL : 0;
}

ssize_t VfioCcwDevice::Read(void* buf, size_t len, uint64_t offset) {
  const uint32_t index = static_cast<uint32_t>(offset >> 10);
  const uint64_t pos = offset & 0x3ff;
  const int sub = RegionSubtype(index);
  if (sub < 0) return -EINVAL;
  auto copy_out = [&](const void* region, size_t size) -> ssize_t {
    if (pos + len > size) return -EINVAL;
    std::memcpy(buf, static_cast<const uint8_t*>(region) + pos, len);
    return static_cast<ssize_t>(len);
  };
  switch (sub) {
    case 0: {
      if (!io_mu_.TryLock()) return -EAGAIN;
      const ssize_t r = copy_out(&io_region_, sizeof io_region_);
      io_mu_.Unlock();
      return r;
    }
    case kSubAsync: {
      if (!io_mu_.TryLock()) return -EAGAIN;
      const ssize_t r = copy_out(&cmd_region_, sizeof cmd_region_);
      io_mu_.Unlock();
      return r;
    }
    case kSubSchib: {
      if (pos + len > sizeof(translate::CcwSchibRegion)) return -EINVAL;
      absl::MutexLock io(&io_mu_);
      translate::Schib schib;
      if (css_->Stsch(sch_, &schib) != 0 || !schib.pmcw.dnv) return -ENODEV;
      translate::CcwSchibRegion region;
      schib.EncodeTo(std::span<uint8_t, translate::kSchibSize>(region.schib_area));
      return copy_out(&region, sizeof region);
    }
    case kSubCrw: {
      if (pos + len > sizeof(translate::CcwCrwRegion)) return -EINVAL;
      uint32_t crw = 0;
      bool more = false;
      {
        absl::MutexLock l(&mu_);
        if (!crws_.empty()) {
          crw = crws_.front();
          crws_.pop_front();
        }
        more = !crws_.empty();
      }
      ssize_t r;
      {
        absl::MutexLock io(&io_mu_);
        crw_region_.crw = crw;
        r = copy_out(&crw_region_, sizeof crw_region_);
        crw_region_.crw = 0;
      }
      if (more) {
        absl::MutexLock l(&mu_);
        Signal(VFIO_CCW_CRW_IRQ_INDEX);
      }
      return r;
    }
  }
  return -EINVAL;
}

ssize_t VfioCcwDevice::Write(const void* buf, size_t len, uint64_t offset) {
  const uint32_t index = static_cast<uint32_t>(offset >> 10);
  const uint64_t pos = offset & 0x3ff;
  const int sub = RegionSubtype(index);
  if (sub < 0 || sub == static_cast<int>(kSubSchib) || sub == static_cast<int>(kSubCrw)) return -EINVAL;
  const size_t size = sub == 0 ? sizeof(translate::CcwIoRegion) : sizeof(translate::CcwCmdRegion);
  if (pos + len > size) return -EINVAL;
  if (!io_mu_.TryLock()) return -EAGAIN;
  uint32_t ret_code;
  {
    absl::MutexLock l(&mu_);
    if (sub == 0) {
      std::memcpy(reinterpret_cast<uint8_t*>(&io_region_) + pos, buf, len);
      Dispatch(CcwEvent::kIoReq);
      ret_code = io_region_.ret_code;
    } else {
      std::memcpy(reinterpret_cast<uint8_t*>(&cmd_region_) + pos, buf, len);
      Dispatch(CcwEvent::kAsyncReq);
      ret_code = cmd_region_.ret_code;
    }
  }
  io_mu_.Unlock();
  return ret_code != 0 ? static_cast<ssize_t>(static_cast<int32_t>(ret_code)) : static_cast<ssize_t>(len);
}

// ---- Kernel-side events ----------------------------------------------------

void VfioCcwDevice::Signal(int index) {
  const int fd = trigger_[index];
  if (fd < 0) return;
  const uint64_t one = 1;
  ssize_t n = ::write(fd, &one, sizeof one);
  (void)n;
}

void VfioCcwDevice::OnInterrupt() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  Irb irb;
  bool todo = false;
  {
    absl::MutexLock l(&mu_);
    if (css_->Tsch(sch_, &irb) != 0) return;
    const CcwState before = state_;
    Dispatch(CcwEvent::kInterrupt);
    todo = before == CcwState::kIdle || before == CcwState::kCpProcessing || before == CcwState::kCpPending;
  }
  if (!todo) return;
  // vfio_ccw_sch_io_todo: the IRB goes into the region under io_mutex; the
  // eventfd is signalled after it is released.
  io_mu_.Lock();
  mu_.Lock();
  Scsw& scsw = irb.scsw;
  const bool is_final = !(scsw.actl & (actl::kSubchannelActive | actl::kDeviceActive));
  bool cp_is_finished = false;
  if (scsw.fctl != 0 && cp_ && cp_->active()) {
    if (is_final && state_ == CcwState::kCpPending) {
      if (scsw.fctl & fctl::kClear) {
        cp_->Release();
      } else {
        absl::StatusOr<translate::Completion> done = cp_->Complete(scsw, *iommu_);
        if (done.ok()) {
          scsw = done->scsw;
        } else {
          spdlog::warn("sim vfio_ccw {}: completing the channel program: {}", schid_, done.status().ToString());
          cp_->Release();
        }
      }
      cp_.reset();
      cp_is_finished = true;
    } else if (!is_final) {
      absl::StatusOr<uint64_t> cpa = cp_->GuestCpa(scsw.cpa);
      if (cpa.ok()) scsw.cpa = static_cast<uint32_t>(*cpa);
    }
  }
  irb.EncodeTo(std::span<uint8_t, translate::kIrbSize>(io_region_.irb_area));
  if (cp_is_finished) state_ = CcwState::kIdle;
  const int trigger = trigger_[VFIO_CCW_IO_IRQ_INDEX];
  mu_.Unlock();
  io_mu_.Unlock();
  if (trigger >= 0) {
    const uint64_t one = 1;
    ssize_t n = ::write(trigger, &one, sizeof one);
    (void)n;
  }
}

void VfioCcwDevice::QueueCrw(const translate::Crw& crw) {
  absl::MutexLock l(&mu_);
  if (!features_.crw_region) return;
  crws_.push_back(crw.ToWord());
  Signal(VFIO_CCW_CRW_IRQ_INDEX);
}

bool VfioCcwDevice::Request() {
  absl::MutexLock l(&mu_);
  if (!features_.req_irq || trigger_[VFIO_CCW_REQ_IRQ_INDEX] < 0) return false;
  Signal(VFIO_CCW_REQ_IRQ_INDEX);
  return true;
}

void VfioCcwDevice::ChpEvent(ChpEventKind kind, uint8_t mask, uint8_t chpid) {
  if (mask == 0) return;
  bool queue_crw = false;
  translate::Crw crw;
  {
    absl::MutexLock l(&mu_);
    translate::Schib schib;
    if (css_->Stsch(sch_, &schib) != 0) return;
    const bool halt = (schib.pmcw.lpum & mask) && state_ == CcwState::kCpPending;
    switch (kind) {
      case ChpEventKind::kVaryOff:
      case ChpEventKind::kOffline:
        lpm_ &= static_cast<uint8_t>(~mask);
        if (halt) css_->Hsch(sch_);  // cio_cancel_halt_clear: halt comes first
        break;
      case ChpEventKind::kVaryOn:
      case ChpEventKind::kOnline:
        lpm_ |= mask & schib.pmcw.pim & schib.pmcw.pom;
        break;
    }
    if (open_ && (kind == ChpEventKind::kOffline || kind == ChpEventKind::kOnline)) {
      crw.rsc = translate::crw_rsc::kChannelPath;
      crw.erc = kind == ChpEventKind::kOffline ? translate::crw_erc::kPerrn : translate::crw_erc::kInit;
      crw.rsid = chpid;
      queue_crw = true;
    }
  }
  if (queue_crw) QueueCrw(crw);
}

bool VfioCcwDevice::UsesIova(uint64_t iova, uint64_t size) const {
  absl::MutexLock l(&mu_);
  return cp_ && cp_->UsesGuestRange(iova, size);
}

size_t VfioCcwDevice::QueuedCrws() const {
  absl::MutexLock l(&mu_);
  return crws_.size();
}

}  // namespace ccwpass::sim
