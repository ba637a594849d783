// The simulated vfio_ccw driver's per-mdev part: the VFIO device a user opens.
//
// It behaves as Linux's drivers/s390/cio/vfio_ccw_{ops,fsm,drv,async,chp}.c do
// (../shared/reference/vfio-ccw.md, Documentation/s390/vfio-ccw.rst):
//   - regions: 0 the I/O region (124 bytes, rw) at offset 0; the async command
//     (8, rw), SCHIB (52, ro) and CRW (8, ro) regions at index << 10, each marked
//     by a VFIO_REGION_INFO_CAP_TYPE capability (type 2, subtypes 1, 2, 3);
//   - IRQs 0 I/O, 1 CRW, 2 REQ, eventfd only;
//   - the FSM (NOT_OPER, STANDBY, IDLE, CP_PROCESSING, CP_PENDING) × (NOT_OPER,
//     IO_REQ, INTERRUPT, ASYNC_REQ, OPEN, CLOSE) as a constexpr jump table;
//   - an I/O region write starts the program (the SCSW area must carry the start
//     function) and returns the byte count or -ret_code: -EOPNOTSUPP, -EIO,
//     -EBUSY, -EAGAIN, -EACCES, -ENODEV, -EINVAL, -EFAULT, -ENOMEM;
//   - the kernel's own translation of the program (translate::Translate over the
//     container's DMA mappings into the kernel's arena), its completion
//     (CPA mapped back, read data copied to the user's memory);
//   - HSCH/CSCH through the async region, STSCH on each SCHIB read (the CPA is
//     not mapped back), a CRW queue popped by reads of the CRW region;
//   - VFIO_DEVICE_RESET = CLOSE + OPEN.
// A device may be built without the optional regions and IRQs, as older
// kernels are (VfioCcwFeatures).
//
// Thread safety: every method may be called from any thread. The channel
// subsystem thread calls OnInterrupt().
#ifndef CCWPASS_SIM_VFIO_CCW_H_
#define CCWPASS_SIM_VFIO_CCW_H_

#include <linux/vfio.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "sim/channel_subsystem.h"
#include "sim/iommu.h"
#include "translate/arch.h"
#include "translate/arena.h"
#include "translate/translator.h"

namespace ccwpass::sim {

// The kernel's FSM states and events (vfio_ccw_private.h).
enum class CcwState : uint8_t { kNotOper, kStandby, kIdle, kCpProcessing, kCpPending };
enum class CcwEvent : uint8_t { kNotOper, kIoReq, kInterrupt, kAsyncReq, kOpen, kClose };
inline constexpr int kCcwStates = 5;
inline constexpr int kCcwEvents = 6;
const char* CcwStateName(CcwState s);
const char* CcwEventName(CcwEvent e);

// What the emulated kernel version offers. Linux 5.3 added the async region,
// 5.8 the SCHIB and CRW regions and the CRW IRQ, 5.13 the REQ IRQ.
struct VfioCcwFeatures {
  bool async_region = true;
  bool schib_region = true;
  bool crw_region = true;   // with the CRW IRQ
  bool req_irq = true;
};

class VfioCcwDevice {
 public:
  // The mdev of subchannel `sch_index` of `css`. `schid` names it in logs.
  // `kernel_arena_bytes`: memory for the kernel's copies of channel programs.
  VfioCcwDevice(ChannelSubsystem* css, uint32_t sch_index, std::string schid, VfioCcwFeatures features,
                uint64_t kernel_arena_bytes);
  ~VfioCcwDevice();

  CcwState state() const;
  bool is_open() const;
  // Free and total 4 KiB pages of the kernel's arena for translated programs
  // (0, 0 while closed). All are free whenever no program is in flight.
  std::pair<uint32_t, uint32_t> ArenaPages() const;

  // OPEN event (the user got the device fd): enables the subchannel; STANDBY →
  // IDLE. Reads and writes go through `iommu` (the container's mappings).
  // Returns 0, or -EINVAL (not in STANDBY: not operational), -ENODEV.
  int Open(Iommu* iommu);
  // CLOSE event (the last fd closed): quiesces and disables the subchannel,
  // frees the program, disconnects the eventfds; → STANDBY.
  void Close();
  // NOT_OPER event: the subchannel is gone or its device is not operational;
  // a program in flight is dropped (the kernel's unregistration of the
  // subchannel then requests the device from its user: SimKernel).
  void NotOperational();
  // The device is operational again: NOT_OPER → STANDBY, and on to IDLE when
  // the user has it open.
  void Operational();

  // ---- The VFIO device fd's operations (see agent/vfio/vfio_ops.h).
  int GetDeviceInfo(vfio_device_info* info) const;
  int GetRegionInfo(uint32_t index, std::vector<uint8_t>* out) const;
  int GetIrqInfo(uint32_t index, vfio_irq_info* info) const;
  int SetIrqEventfd(uint32_t index, int eventfd);
  int Reset();
  ssize_t Read(void* buf, size_t len, uint64_t offset);
  ssize_t Write(const void* buf, size_t len, uint64_t offset);

  // ---- Kernel-side events.
  // The I/O interruption handler (cio's do_IRQ → vfio_ccw_sch_irq → io_todo).
  void OnInterrupt();
  // Queues a CRW for the user and signals the CRW IRQ (vfio_ccw_queue_crw).
  void QueueCrw(const translate::Crw& crw);
  // Signals the REQ IRQ: the host wants the device back. False when no REQ
  // eventfd is connected (the kernel then only logs).
  bool Request();
  // A channel-path event for the path in slot mask `mask` (vfio_ccw_chp_event):
  // vary off / configure offline drop it from the kernel's LPM and halt the I/O
  // that last used it; vary on / online add it back. Configure offline/online
  // also queue CRW(RSC 4, ERC 6 / 2, RSID = chpid) for the user.
  enum class ChpEventKind { kVaryOff, kVaryOn, kOffline, kOnline };
  void ChpEvent(ChpEventKind kind, uint8_t mask, uint8_t chpid);
  // True when a pending channel program uses a byte of [iova, iova + size).
  bool UsesIova(uint64_t iova, uint64_t size) const;

  size_t QueuedCrws() const;

 private:
  using Action = void (VfioCcwDevice::*)(CcwEvent);
  static const Action kJumpTable[kCcwStates][kCcwEvents];
  void Dispatch(CcwEvent e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // FSM actions (the kernel's names).
  void FsmNop(CcwEvent e);
  void FsmIoError(CcwEvent e);
  void FsmIoBusy(CcwEvent e);
  void FsmIoRetry(CcwEvent e);
  void FsmAsyncError(CcwEvent e);
  void FsmAsyncRetry(CcwEvent e);
  void FsmDisabledIrq(CcwEvent e);
  void FsmNotOper(CcwEvent e);
  void FsmIoRequest(CcwEvent e);
  void FsmAsyncRequest(CcwEvent e);
  void FsmIrq(CcwEvent e);
  void FsmOpen(CcwEvent e);
  void FsmClose(CcwEvent e);

  int DoHalt() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int DoClear() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int RegionCount() const;
  // The region with VFIO index `index` (0 = I/O): its subtype (0 for the I/O
  // region), or -1 when there is none.
  int RegionSubtype(uint32_t index) const;
  void Signal(int index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ChannelSubsystem* const css_;
  const uint32_t sch_;
  const std::string schid_;
  const VfioCcwFeatures features_;
  const uint64_t arena_bytes_;

  // Region contents; io_mu_ is the kernel's io_mutex (trylock on user access).
  mutable absl::Mutex io_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  translate::CcwIoRegion io_region_ ABSL_GUARDED_BY(io_mu_){};
  translate::CcwCmdRegion cmd_region_ ABSL_GUARDED_BY(io_mu_){};
  translate::CcwCrwRegion crw_region_ ABSL_GUARDED_BY(io_mu_){};

  // State; mu_ is the subchannel lock.
  mutable absl::Mutex mu_;
  CcwState state_ ABSL_GUARDED_BY(mu_) = CcwState::kStandby;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  Iommu* iommu_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::unique_ptr<translate::DmaArena> arena_ ABSL_GUARDED_BY(mu_);
  std::optional<translate::Program> cp_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<translate::GuestMemory> kernel_storage_ ABSL_GUARDED_BY(mu_);
  uint8_t lpm_ ABSL_GUARDED_BY(mu_) = 0;  // the kernel's sch->lpm
  int trigger_[3] ABSL_GUARDED_BY(mu_) = {-1, -1, -1};
  std::deque<uint32_t> crws_ ABSL_GUARDED_BY(mu_);
  translate::Irb irb_ ABSL_GUARDED_BY(mu_);  // the interrupt being processed
  // Scratch for the event handlers called under Dispatch.
  const void* req_buf_ = nullptr;
};

}  // namespace ccwpass::sim

#endif  // CCWPASS_SIM_VFIO_CCW_H_
