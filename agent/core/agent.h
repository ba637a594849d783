// The agent: discovery, attach and detach (transactional), the I/O path, and
// reconcile against the persisted desired state, over the three seams. Nothing
// here knows whether the seams are the real kernel or the simulated one.
//
// The flow of one request (DESIGN.md): Run() polices and translates the
// client's program into the device's DMA arena (translate/), the FSM accepts
// it, the I/O region write starts it, the worker thread reads the IRB when the
// I/O eventfd fires and hands it to the waiting request, which maps it back
// into the client's memory. Sources: Documentation/s390/vfio-ccw.rst,
// ../shared/reference/vfio-ccw.md, sysfs-and-peers.md.
#ifndef CCWPASS_AGENT_CORE_AGENT_H_
#define CCWPASS_AGENT_CORE_AGENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/core/events.h"
#include "agent/core/io_stats.h"
#include "agent/fsm/fsm.h"
#include "agent/state/state_store.h"
#include "agent/sysfs/css.h"
#include "agent/udev/device_events.h"
#include "agent/vfio/ccw_device.h"
#include "agent/vfio/vfio_ops.h"
#include "agent/worker/worker.h"
#include "translate/arch.h"
#include "translate/guest_memory.h"
#include "translate/translator.h"

namespace ccwpass::agent {

struct AgentOptions {
  CcwDeviceOptions device;
  // How long to wait for the interruption that ends a HALT (then CLEAR) when
  // a request's deadline passes or it is cancelled.
  absl::Duration halt_wait = absl::Seconds(1);
  // Hotplug events are followed by one reconcile after this quiet time.
  absl::Duration reconcile_debounce = absl::Milliseconds(200);
};

// A subchannel as the agent reports it.
struct SubchannelView {
  SubchannelInfo info;
  AgentState state = AgentState::kDetached;
  bool handoff = false;
  std::string unavailable_reason;
  std::optional<FsmState> fsm;
  CcwCapabilities caps;
  std::optional<absl::Time> attached_at;
  std::string owner;
  // The device's DMA arena (agent mode, while open), in 4 KiB pages: all of
  // them are free whenever no channel program is in flight.
  uint32_t arena_free_pages = 0, arena_pages = 0;
  // CU and device type learned by SENSE ID while attached ({type, model}).
  std::optional<std::pair<uint16_t, uint8_t>> cu_type, dev_type;
};

// A channel program from a client, in the client's own address space.
struct ProgramRequest {
  translate::Orb orb;
  std::unique_ptr<translate::GuestMemory> memory;
  // The agent's policy (agent/access/program_policy.h), asked after the
  // kernel's rules on the translated program and before the start; a refusal
  // is returned as it is (prefixed with the schid) and counts as failed
  // "policed". Null: no policy.
  std::function<absl::Status(const translate::Program&)> police;
};

struct ProgramResult {
  translate::Irb irb;                // as the I/O region held it (CPA in the arena)
  translate::Completion completion;  // mapped back into the client's memory
  std::vector<std::string> warnings;
  int retries = 0;                   // -EAGAIN retries of the start
  absl::Duration duration;           // start to final interruption
  std::vector<uint8_t> sense;        // SENSE data fetched after a unit check without concurrent sense
};

// Receives a program's outcome (Agent::Submit): exactly once, with what
// Agent::Run would have returned.
using ProgramDone = std::function<void(absl::StatusOr<ProgramResult>)>;

class Agent {
 public:
  // The seams and the state store must outlive the agent.
  Agent(SysfsOps& sysfs, VfioOps& vfio, StateStore& state, AgentOptions options = {});
  ~Agent();

  // Starts the worker, follows `events` (may be null), and reconciles the host
  // against the desired state (re-opening devices attached in agent mode,
  // finishing unfinished attaches and detaches). Errors: the css bus cannot
  // be read (kUnavailable); the worker cannot start.
  absl::Status Start(DeviceEventSource* events);
  // Stops following events and closes every open device (attachments stay).
  void Stop();

  // ---- Subchannels. Errors for a schid: kInvalidArgument (malformed),
  // kNotFound (no such subchannel).
  absl::StatusOr<std::vector<SubchannelView>> List();
  absl::StatusOr<SubchannelView> Get(std::string_view schid);
  // Attach: driver_override, unbind, bind to vfio_ccw, create the mdev, and
  // in agent mode open the device, map the arena and connect the IRQs. The
  // second value is true when it was attached already in that mode (nothing
  // done). A failing step rolls back the steps before it; the error names the
  // step. Errors also: kFailedPrecondition (cannot be passed through, and
  // why; attached in the other mode; FOREIGN without `force`), kAlreadyExists
  // (the UUID is taken).
  absl::StatusOr<std::pair<SubchannelView, bool>> Attach(std::string_view schid, bool handoff,
                                                         std::string uuid, std::string owner);
  // Detach: close, remove the mdev, unbind from vfio_ccw, clear the override,
  // probe (back to io_subchannel). The second value is true when there was
  // nothing to do. FOREIGN subchannels need `force`.
  absl::StatusOr<std::pair<SubchannelView, bool>> Detach(std::string_view schid, bool force);
  // What the I/O path needs of an attached subchannel, from the agent's own
  // records (no sysfs read, no lock but the agent's map): its canonical schid,
  // owner, mode, and the CU and device type recorded at attach (sysfs, then
  // SENSE ID), {type, model} each. Errors: kInvalidArgument (malformed schid),
  // kNotFound (no such subchannel), kFailedPrecondition (not attached by this
  // agent: the message says how to attach it).
  struct AttachedIdentity {
    std::string schid;
    std::string owner;
    bool handoff = false;
    std::optional<std::pair<uint16_t, uint8_t>> cu_type, dev_type;
  };
  absl::StatusOr<AttachedIdentity> Attached(std::string_view schid);
  // VFIO_DEVICE_RESET of an agent-mode device.
  absl::StatusOr<SubchannelView> Reset(std::string_view schid);

  // ---- I/O on an agent-mode device. Requests to one subchannel run one at a
  // time, in the order they were submitted (a FIFO per subchannel; a SENSE
  // fetched after a unit check goes first). When `deadline` passes or
  // `cancelled()` turns true the program is halted, then cleared if need be
  // (kDeadlineExceeded / kCancelled, the message says which); a request still
  // queued then fails without being started. Errors: kFailedPrecondition (not
  // attached, hand-off, not operational, paths gone: -EACCES/-ENODEV/-EIO; the
  // device closed, reset or requested back by the kernel while the program
  // ran), kUnavailable (-EBUSY, -EAGAIN after retries), kInvalidArgument
  // (policed: rule, CCW index and errno; or refused by the kernel:
  // -EINVAL/-EFAULT/-ENOMEM). Nothing is held while the device works: the
  // start happens on the submitting thread (or, for a queued request, where
  // the previous one completed) and the completion on the I/O worker thread
  // (vfio-ccw: the I/O region write is SSCH, the eventfd the interruption;
  // Documentation/s390/vfio-ccw.rst).
  //
  // Submit returns at once; `done` gets the outcome. It is called on the
  // calling thread when the request fails before it is queued (malformed or
  // unknown schid, not attached in agent mode), otherwise on the thread that
  // started or completed it: the I/O worker, the deadline watchdog, or a
  // thread detaching or resetting the device. `request` must stay valid and
  // untouched until `done` is called; `done` must be short and must not block
  // or call back into the agent (it runs where interruptions are taken).
  void Submit(std::string_view schid, ProgramRequest& request, absl::Time deadline,
              std::function<bool()> cancelled, ProgramDone done);
  // Submit, then waits for the outcome (on the calling thread, which must not
  // be the I/O worker's).
  absl::StatusOr<ProgramResult> Run(std::string_view schid, ProgramRequest& request, absl::Time deadline,
                                    std::function<bool()> cancelled = nullptr);
  // HALT / CLEAR SUBCHANNEL; returns the interruption that ended it.
  // kUnimplemented without the async region.
  absl::StatusOr<translate::Irb> Halt(std::string_view schid, absl::Time deadline);
  absl::StatusOr<translate::Irb> Clear(std::string_view schid, absl::Time deadline);
  // STORE SUBCHANNEL. kUnimplemented without the SCHIB region.
  absl::StatusOr<translate::Schib> Store(std::string_view schid);
  // Counts a program refused before Run() (the policy's in-flight and rate
  // limits) as failed "policed" on an agent-mode `schid`; nothing otherwise.
  void CountPoliced(std::string_view schid);

  // ---- Statistics (io_stats.h has the accounting). Reading them touches no
  // sysfs: the identity fields are the ones recorded at attach.
  // One subchannel's counters. Errors: kInvalidArgument (malformed schid),
  // kNotFound (the agent has not attached it since it started).
  absl::StatusOr<SubchannelStatsSnapshot> Stats(std::string_view schid);
  // Every subchannel the agent has attached since it started and that has not
  // left the host (or that it is to attach again when it returns), sorted by
  // schid. The agent's lock is held only to take a reference to each
  // subchannel's counters and identity (10,000: ~1 ms); the counters are read
  // after it is released.
  std::vector<SubchannelStatsSnapshot> AllStats();
  AgentStatsSnapshot AgentWideStats();

  EventBus& events() { return bus_; }
  // Reconciles now (also runs at Start and after hotplug).
  absl::Status Reconcile();

 private:
  struct Dev;
  struct Waiter;
  struct Pending;
  struct StatsEntry {
    std::shared_ptr<SubchannelStats> stats;
    // Identity fields only; replaced whole, never changed in place, so that a
    // snapshot copies it after mu_ is released.
    std::shared_ptr<const SubchannelStatsSnapshot> ident;
  };
  // What a snapshot of one subchannel needs from under mu_: pointers and flags.
  struct StatsRef {
    std::shared_ptr<SubchannelStats> stats;
    std::shared_ptr<const SubchannelStatsSnapshot> ident;
    bool attached = false, handoff = false;
  };

  absl::StatusOr<std::string> CanonicalSchid(std::string_view schid);
  std::shared_ptr<absl::Mutex> LifecycleLock(const std::string& schid);
  std::shared_ptr<Dev> Find(const std::string& schid);
  // The attached subchannel `schid` (either mode); errors as Attached's.
  absl::StatusOr<std::shared_ptr<Dev>> AttachedDev(std::string_view schid);
  // AttachedDev in agent mode; kFailedPrecondition for hand-off.
  absl::StatusOr<std::shared_ptr<Dev>> AgentModeDev(std::string_view schid);
  // The agent's view of `info`. `read_at`: the lifecycle sequence when
  // `info` was read from sysfs; when an attach or detach of that subchannel
  // has started or ended since, sysfs and the agent's records may disagree
  // (a subchannel just detached would look FOREIGN) and `*stale` is set.
  SubchannelView ViewOf(const SubchannelInfo& info, uint64_t read_at = UINT64_MAX, bool* stale = nullptr);
  // ViewOf for List and Get: a stale view is read again (at most 3 times).
  SubchannelView CurrentView(SubchannelInfo info, uint64_t read_at);
  uint64_t LifecycleSeq();
  // Records a lifecycle change of `schid` (transient_ or attached_).
  void Changed(const std::string& schid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { changed_at_[schid] = ++lifecycle_seq_; }
  // True when `schid` changed after lifecycle sequence `read_at`.
  bool ChangedSince(const std::string& schid, uint64_t read_at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto c = changed_at_.find(schid);
    return c != changed_at_.end() && c->second > read_at;
  }
  // The counters kept for `schid`, or new ones (not recorded: the caller
  // records them with the identity once its attach has succeeded).
  std::shared_ptr<SubchannelStats> CountersOf(const std::string& schid);
  // The identity fields of a stats entry for `d` on `info`.
  static std::shared_ptr<const SubchannelStatsSnapshot> StatsIdentity(const SubchannelInfo& info, const Dev& d);
  StatsRef RefLocked(const std::string& schid, const StatsEntry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The identity of `r` and its counters read now (mu_ not needed).
  static SubchannelStatsSnapshot SnapshotOf(const StatsRef& r);
  // Counts an attach or detach outcome and its duration.
  void CountLifecycle(bool attach, const absl::Status& st, absl::Time t0);
  void SetState(const std::string& schid, AgentState state, std::string message);

  absl::StatusOr<std::pair<SubchannelView, bool>> AttachLocked(const std::string& schid, bool handoff,
                                                               std::string uuid, std::string owner,
                                                               bool from_reconcile);
  absl::StatusOr<std::pair<SubchannelView, bool>> DetachLocked(const std::string& schid, bool force);
  // Opens the VFIO device of an attached subchannel and wires it to the worker.
  absl::Status OpenDevice(const std::shared_ptr<Dev>& d);
  void CloseDevice(Dev& d);
  void LearnIdentity(const std::shared_ptr<Dev>& d);

  // I/O helpers: the per-subchannel queue (Dev::queue) and the one program in
  // flight (Dev::current). A thread that does host work on a device's
  // programs (translate and start, complete, abort) counts in Dev::busy, so a
  // close waits for it; one thread at a time (Dev::pumping) starts queued
  // requests, until one is in flight or the queue is empty.
  std::shared_ptr<Pending> NewPending(ProgramRequest& request, absl::Time deadline, std::function<bool()> cancelled,
                                      ProgramDone done, bool fetch_sense);
  void SubmitTo(const std::shared_ptr<Dev>& d, std::shared_ptr<Pending> p, bool front);
  absl::StatusOr<ProgramResult> RunOn(const std::shared_ptr<Dev>& d, ProgramRequest& request, absl::Time deadline,
                                      std::function<bool()> cancelled, bool fetch_sense);
  void Pump(const std::shared_ptr<Dev>& d);
  absl::Status StartPending(const std::shared_ptr<Dev>& d, const std::shared_ptr<Pending>& p);
  void FinishPending(const std::shared_ptr<Dev>& d, std::shared_ptr<Pending> p);
  void FailInFlight(const std::shared_ptr<Dev>& d, std::shared_ptr<Pending> p, FailReason reason, absl::Status st);
  void Deliver(std::shared_ptr<Pending> p, absl::StatusOr<ProgramResult> r);
  // Ends a program whose deadline passed or whose client went away.
  void AbortPending(const std::shared_ptr<Dev>& d, const std::shared_ptr<Pending>& p, FailReason why);
  std::string Abort(Dev& d, Waiter& w);
  // The deadline watchdog: wakes at the earliest deadline of a program in
  // flight, and every 50 ms while one has a cancel check; each abort runs on
  // a thread of its own, so a device slow to answer a halt (up to two
  // halt_waits) holds up no other device's deadline.
  void Watch(const std::shared_ptr<Dev>& d, const std::shared_ptr<Pending>& p);
  void Unwatch(const Pending* p);
  void WatchdogLoop();
  absl::StatusOr<translate::Irb> AsyncOp(std::string_view schid, bool clear, absl::Time deadline);

  // Worker handlers. TakeIrq: the open device, its eventfd `fd` read (reset);
  // null when the device was closed meanwhile.
  CcwDevice* TakeIrq(Dev& d, int (CcwDevice::*fd)() const);
  void OnIo(const std::shared_ptr<Dev>& d);
  void OnCrw(const std::shared_ptr<Dev>& d);
  void OnReq(const std::shared_ptr<Dev>& d);
  void OnDeviceEvents();
  void ReconcileLoop();

  SysfsOps& sysfs_;
  VfioOps& vfio_;
  StateStore& state_;
  const AgentOptions options_;
  Css css_;
  EventBus bus_;
  std::unique_ptr<IoWorker> worker_;
  DeviceEventSource* events_ = nullptr;

  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Dev>> attached_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, AgentState> transient_ ABSL_GUARDED_BY(mu_);  // attaching / detaching
  uint64_t lifecycle_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, uint64_t> changed_at_ ABSL_GUARDED_BY(mu_);  // schid → lifecycle_seq_ of its last change
  std::map<std::string, std::shared_ptr<absl::Mutex>> life_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, AgentState> last_state_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> releasers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, StatsEntry> stats_ ABSL_GUARDED_BY(mu_);
  AgentStats agent_stats_;
  const absl::Time started_at_ = absl::Now();

  struct Watched {
    std::weak_ptr<Dev> dev;
    std::weak_ptr<Pending> p;
    absl::Time deadline;
    bool polled = false;  // has a cancel check
  };
  absl::Mutex wd_mu_;
  std::unordered_map<const Pending*, Watched> watched_ ABSL_GUARDED_BY(wd_mu_);
  absl::Time wd_wake_ ABSL_GUARDED_BY(wd_mu_) = absl::InfiniteFuture();  // when the watchdog wakes next
  bool wd_kick_ ABSL_GUARDED_BY(wd_mu_) = false;
  bool wd_stop_ ABSL_GUARDED_BY(wd_mu_) = false;
  std::thread watchdog_;
  struct Aborter {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> ended;
  };
  std::list<Aborter> aborters_ ABSL_GUARDED_BY(wd_mu_);  // joined when ended, and at Stop

  absl::Mutex rec_mu_;
  bool rec_stop_ ABSL_GUARDED_BY(rec_mu_) = false;
  std::optional<absl::Time> rec_due_ ABSL_GUARDED_BY(rec_mu_);
  std::thread reconciler_;
};

// The absl::Status for a negative errno from the I/O region write, naming the
// subchannel and what the errno means (see reference/vfio-ccw.md).
absl::Status StartError(std::string_view schid, int neg_errno);

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_CORE_AGENT_H_
