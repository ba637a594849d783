#include "agent/core/agent.h"

#include <unistd.h>
#include <uuid/uuid.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "agent/absl_view.h"
#include "agent/busid.h"
#include "spdlog/spdlog.h"
#include "translate/builder.h"
#include "translate/errors.h"

namespace ccwpass::agent {

namespace dstat = translate::dev_stat;

// One interruption awaited by a request.
struct Agent::Waiter {
  bool done = false;
  bool failed = false;
  std::string why;
  translate::Irb irb;
  int intermediates = 0;
};

// A channel program submitted to a subchannel: queued, then in flight.
struct Agent::Pending {
  ProgramRequest* req = nullptr;  // the submitter's (or own_req)
  absl::Time deadline;
  std::function<bool()> cancelled;
  ProgramDone done;
  bool fetch_sense = true;  // run SENSE after a unit check without concurrent sense
  // In flight (set by StartPending).
  std::optional<translate::Program> prog;
  ProgramResult result;
  absl::Time t0;
  Waiter w;                          // the final interruption (guarded by Dev::mu)
  std::optional<FailReason> abort;   // set by the watchdog ending it (guarded by Dev::mu)
  // A SENSE run for a unit check of `parent`: the parent's outcome is
  // delivered when it ends. It owns its request; the data lands at sense_addr.
  std::shared_ptr<Pending> parent;
  std::unique_ptr<ProgramRequest> own_req;
  uint64_t sense_addr = 0;
};

// An attached subchannel.
struct Agent::Dev {
  explicit Dev(std::string s) : schid(s), fsm(std::move(s)) {}
  std::string schid;
  bool handoff = false;
  std::string uuid;
  int group = -1;
  std::string owner;
  absl::Time attached_at;
  std::optional<std::pair<uint16_t, uint8_t>> cu_type, dev_type;
  std::shared_ptr<SubchannelStats> stats = std::make_shared<SubchannelStats>();

  absl::Mutex io_mu;  // held while the device is opened, closed or reset
  std::unique_ptr<CcwDevice> dev ABSL_GUARDED_BY(io_mu);
  CcwCapabilities caps;  // set when opened

  absl::Mutex mu;
  Fsm fsm ABSL_GUARDED_BY(mu);
  // Requests not started yet, in order; the program in flight (null: none).
  std::deque<std::shared_ptr<Pending>> queue ABSL_GUARDED_BY(mu);
  std::shared_ptr<Pending> current ABSL_GUARDED_BY(mu);
  bool pumping ABSL_GUARDED_BY(mu) = false;  // a thread is starting queued requests
  int busy ABSL_GUARDED_BY(mu) = 0;          // threads doing host work on its programs
  bool closing ABSL_GUARDED_BY(mu) = false;  // no more starts or aborts: the device is being closed
  // A HALT/CLEAR issued while no program runs waits for its own interruption.
  Waiter* async_waiter ABSL_GUARDED_BY(mu) = nullptr;
  bool released ABSL_GUARDED_BY(mu) = false;  // the kernel asked for it back (REQ)
  // For the worker handlers: the device's fds and region access without io_mu.
  CcwDevice* raw ABSL_GUARDED_BY(mu) = nullptr;

  // True when the caller must start what is queued (Agent::Pump): nothing in
  // flight, something queued, and no other thread starting; it is now the
  // caller's turn (pumping set).
  bool ClaimPump() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (pumping || current || queue.empty()) return false;
    pumping = true;
    return true;
  }
};

namespace {

// How often the watchdog asks a cancel check of a program in flight.
constexpr absl::Duration kCancelPoll = absl::Milliseconds(50);

// When the watchdog must look at a program in flight next: its deadline, or
// sooner when it has a cancel check to poll.
absl::Time NextLook(absl::Time deadline, bool polled, absl::Time now) {
  return polled ? std::min(deadline, now + kCancelPoll) : deadline;
}

std::string NewUuid() {
  uuid_t u;
  uuid_generate_random(u);
  char text[37];
  uuid_unparse_lower(u, text);
  return text;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

absl::Status StartError(std::string_view schid, int rc) {
  const std::string e = ErrnoText(rc);
  std::string why;
  absl::StatusCode code = absl::StatusCode::kFailedPrecondition;
  switch (-rc) {
    case EBUSY:
      code = absl::StatusCode::kUnavailable;
      why = "the subchannel is busy or status pending; retry";
      break;
    case EAGAIN:
      code = absl::StatusCode::kUnavailable;
      why = "the kernel was processing another request, retries exhausted; retry";
      break;
    case EACCES:
      why = "the paths in the ORB's LPM are not operational (other paths remain: use another LPM)";
      break;
    case ENODEV:
      why = "no path is left: the device is not operational";
      break;
    case EIO:
      why = "the device is not open or not operational";
      break;
    case EOPNOTSUPP:
      code = absl::StatusCode::kInvalidArgument;
      why = "transport mode, or halt/clear through the I/O region, is not supported";
      break;
    case EINVAL:
    case EFAULT:
    case ENOMEM:
      code = absl::StatusCode::kInvalidArgument;
      why = "the kernel refused the channel program";
      break;
    default:
      code = absl::StatusCode::kInternal;
      why = "unexpected return from the I/O region";
  }
  return translate::WithErrno(absl::Status(code, absl::StrCat(AbslView(schid), ": start: ", e, ": ", why)), -rc);
}

Agent::Agent(SysfsOps& sysfs, VfioOps& vfio, StateStore& state, AgentOptions options)
    : sysfs_(sysfs), vfio_(vfio), state_(state), options_(options), css_(sysfs) {}

Agent::~Agent() { Stop(); }

absl::Status Agent::Start(DeviceEventSource* events) {
  absl::StatusOr<std::unique_ptr<IoWorker>> w = IoWorker::Start();
  if (!w.ok()) return w.status();
  worker_ = std::move(*w);
  watchdog_ = std::thread([this] { WatchdogLoop(); });
  absl::StatusOr<std::vector<std::string>> probe = css_.ListSchids();
  if (!probe.ok()) return probe.status();
  events_ = events;
  if (events_) {
    if (absl::Status st = worker_->Add(events_->fd(), [this] { OnDeviceEvents(); }); !st.ok()) return st;
  }
  if (absl::Status st = Reconcile(); !st.ok()) spdlog::warn("reconcile at start: {}", st.ToString());
  reconciler_ = std::thread([this] { ReconcileLoop(); });
  return absl::OkStatus();
}

void Agent::Stop() {
  if (reconciler_.joinable()) {
    {
      absl::MutexLock l(&rec_mu_);
      rec_stop_ = true;
    }
    reconciler_.join();
  }
  if (events_ && worker_) worker_->Remove(events_->fd());
  events_ = nullptr;
  std::vector<std::shared_ptr<Dev>> devs;
  std::vector<std::thread> rel;
  {
    absl::MutexLock l(&mu_);
    for (auto& [s, d] : attached_) devs.push_back(d);
    rel.swap(releasers_);
  }
  for (std::thread& t : rel) t.join();
  for (auto& d : devs) CloseDevice(*d);
  if (watchdog_.joinable()) {
    {
      absl::MutexLock l(&wd_mu_);
      wd_stop_ = true;
    }
    watchdog_.join();
  }
  std::list<Aborter> aborters;
  {
    absl::MutexLock l(&wd_mu_);
    aborters.swap(aborters_);
  }
  for (Aborter& a : aborters) a.thread.join();
  worker_.reset();
}

// ---------------------------------------------------------------------------
// Lookup and views.

absl::StatusOr<std::string> Agent::CanonicalSchid(std::string_view schid) {
  absl::StatusOr<std::pair<uint8_t, uint16_t>> id = ParseBusId(schid);
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("schid \"", AbslView(schid), "\": ", id.status().message(), " (a schid looks like 0.0.0100)"));
  }
  return FormatSchid(id->first, id->second);
}

std::shared_ptr<absl::Mutex> Agent::LifecycleLock(const std::string& schid) {
  absl::MutexLock l(&mu_);
  auto& m = life_[schid];
  if (!m) m = std::make_shared<absl::Mutex>();
  return m;
}

std::shared_ptr<Agent::Dev> Agent::Find(const std::string& schid) {
  absl::MutexLock l(&mu_);
  auto it = attached_.find(schid);
  return it == attached_.end() ? nullptr : it->second;
}

uint64_t Agent::LifecycleSeq() {
  absl::MutexLock l(&mu_);
  return lifecycle_seq_;
}

SubchannelView Agent::CurrentView(SubchannelInfo info, uint64_t read_at) {
  for (int tries = 0;; ++tries) {
    bool stale = false;
    SubchannelView v = ViewOf(info, read_at, &stale);
    if (!stale || tries == 3) return v;
    read_at = LifecycleSeq();
    absl::StatusOr<SubchannelInfo> again = css_.Read(info.schid);
    if (!again.ok()) return v;
    info = std::move(*again);
  }
}

SubchannelView Agent::ViewOf(const SubchannelInfo& info, uint64_t read_at, bool* stale) {
  SubchannelView v;
  v.info = info;
  v.unavailable_reason = info.UnavailableReason();
  std::shared_ptr<Dev> d;
  {
    absl::MutexLock l(&mu_);
    if (stale) *stale = ChangedSince(info.schid, read_at);
    auto t = transient_.find(info.schid);
    auto it = attached_.find(info.schid);
    if (it != attached_.end()) d = it->second;
    if (t != transient_.end()) {
      v.state = t->second;
    } else if (d) {
      v.state = d->handoff ? AgentState::kHandedOff : AgentState::kAttached;
    } else if (info.driver == kVfioCcwDriver || !info.mdev_uuid.empty()) {
      v.state = AgentState::kForeign;
    } else {
      v.state = AgentState::kDetached;
    }
  }
  if (d) {
    v.handoff = d->handoff;
    v.attached_at = d->attached_at;
    v.owner = d->owner;
    v.cu_type = d->cu_type;
    v.dev_type = d->dev_type;
    absl::MutexLock l(&d->mu);
    if (!d->handoff) {
      v.fsm = d->fsm.state();
      v.caps = d->caps;
      if (d->released || d->fsm.state() == FsmState::kNotOper || d->raw == nullptr) {
        v.state = AgentState::kNotOperational;
      }
      if (d->raw != nullptr) {
        v.arena_free_pages = d->raw->arena().FreePageCount();
        v.arena_pages = d->raw->arena().TotalPages();
      }
    }
  }
  return v;
}

void Agent::SetState(const std::string& schid, AgentState state, std::string message) {
  AgentState prev;
  {
    absl::MutexLock l(&mu_);
    auto& s = last_state_[schid];
    prev = s;
    if (s == state) return;
    s = state;
  }
  AgentEvent e;
  e.kind = AgentEvent::Kind::kStateChanged;
  e.schid = schid;
  e.state = state;
  e.previous = prev;
  e.message = std::move(message);
  bus_.Publish(std::move(e));
}

absl::StatusOr<std::vector<SubchannelView>> Agent::List() {
  const uint64_t read_at = LifecycleSeq();
  absl::StatusOr<std::vector<SubchannelInfo>> infos = css_.ReadAll();
  if (!infos.ok()) return infos.status();
  std::vector<SubchannelView> out;
  out.reserve(infos->size());
  for (SubchannelInfo& i : *infos) out.push_back(CurrentView(std::move(i), read_at));
  return out;
}

absl::StatusOr<SubchannelView> Agent::Get(std::string_view schid) {
  absl::StatusOr<std::string> s = CanonicalSchid(schid);
  if (!s.ok()) return s.status();
  const uint64_t read_at = LifecycleSeq();
  absl::StatusOr<SubchannelInfo> info = css_.Read(*s);
  if (!info.ok()) return info.status();
  return CurrentView(std::move(*info), read_at);
}

// ---------------------------------------------------------------------------
// Attach and detach.

absl::StatusOr<std::pair<SubchannelView, bool>> Agent::Attach(std::string_view schid, bool handoff,
                                                               std::string uuid, std::string owner) {
  absl::StatusOr<std::string> s = CanonicalSchid(schid);
  if (!s.ok()) return s.status();
  if (!uuid.empty()) {
    uuid = Lower(uuid);
    if (!IsMdevUuid(uuid)) {
      return absl::InvalidArgumentError(absl::StrCat("mdev_uuid \"", uuid, "\" is not a UUID"));
    }
  }
  std::shared_ptr<absl::Mutex> life = LifecycleLock(*s);
  absl::MutexLock l(life.get());
  const absl::Time t0 = absl::Now();
  auto r = AttachLocked(*s, handoff, std::move(uuid), std::move(owner), false);
  CountLifecycle(true, r.status(), t0);
  return r;
}

absl::StatusOr<std::pair<SubchannelView, bool>> Agent::AttachLocked(const std::string& schid, bool handoff,
                                                                    std::string uuid, std::string owner,
                                                                    bool from_reconcile) {
  absl::StatusOr<SubchannelInfo> info = css_.Read(schid);
  if (!info.ok()) return info.status();
  if (std::shared_ptr<Dev> d = Find(schid)) {
    if (d->handoff != handoff) {
      return absl::FailedPreconditionError(
          absl::StrCat(schid, " is attached in ", d->handoff ? "hand-off" : "agent",
                       " mode; detach it first (ccwctl detach ", schid, ")"));
    }
    if (!uuid.empty() && uuid != d->uuid) {
      return absl::FailedPreconditionError(
          absl::StrCat(schid, " is attached with mdev ", d->uuid, ", not ", uuid));
    }
    return std::make_pair(ViewOf(*info), true);
  }
  if (std::string why = info->UnavailableReason(); !why.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(schid, " cannot be passed through: ", why));
  }
  // This subchannel's entry only: copying the whole state per attach made
  // attaching n subchannels cost O(n^2).
  const std::optional<DesiredAttachment> desired = state_.Get(schid);
  if (!from_reconcile && (info->driver == kVfioCcwDriver || !info->mdev_uuid.empty()) && !desired) {
    return absl::FailedPreconditionError(
        absl::StrCat(schid, " is bound to vfio_ccw by someone else (mdev ", info->mdev_uuid.empty() ? "none" : info->mdev_uuid,
                     "); detach it with --force first"));
  }
  if (!info->mdev_uuid.empty() && !uuid.empty() && info->mdev_uuid != uuid) {
    return absl::AlreadyExistsError(absl::StrCat(schid, " already has mdev ", info->mdev_uuid));
  }
  if (uuid.empty()) uuid = !info->mdev_uuid.empty() ? info->mdev_uuid : desired ? desired->mdev_uuid : NewUuid();
  {
    absl::MutexLock l(&mu_);
    transient_[schid] = AgentState::kAttaching;
    Changed(schid);
  }
  absl::Cleanup clear_transient = [&] {
    absl::MutexLock l(&mu_);
    transient_.erase(schid);
    Changed(schid);
  };

  // Intent first: a crash from here on leaves an entry that reconcile finishes.
  DesiredAttachment want{schid, handoff, uuid, owner, absl::ToUnixSeconds(absl::Now()), false};
  if (desired && from_reconcile) want.attached_at = desired->attached_at;
  if (absl::Status st = state_.Put(want); !st.ok()) return st;

  std::vector<std::pair<std::string, std::function<void()>>> undo;
  auto fail = [&](const std::string& step, const absl::Status& st) -> absl::Status {
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) it->second();
    if (!from_reconcile) (void)state_.Remove(schid);
    std::string rolled;  // in the order undone
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) absl::StrAppend(&rolled, rolled.empty() ? "" : ", ", it->first);
    return absl::Status(st.code(), absl::StrCat("attach ", schid, " failed at step \"", step, "\": ", st.message(),
                                                undo.empty() ? "" : absl::StrCat("; rolled back: ", rolled)));
  };

  if (info->driver != kVfioCcwDriver) {
    const std::string prev_override = info->driver_override.value_or("");
    const std::string prev_driver = info->driver;
    if (absl::Status st = css_.SetDriverOverride(schid, kVfioCcwDriver); !st.ok()) return fail("set driver_override", st);
    undo.push_back({"restore driver_override", [this, schid, prev_override] { (void)css_.SetDriverOverride(schid, prev_override); }});
    if (!prev_driver.empty()) {
      if (absl::Status st = css_.Unbind(schid, prev_driver); !st.ok()) return fail("unbind " + prev_driver, st);
      // Undone by restoring the override first, then probing: the old driver takes it back.
      undo.push_back({"rebind " + prev_driver, [this, schid, prev_override] {
                        (void)css_.SetDriverOverride(schid, prev_override);
                        (void)css_.DriversProbe(schid);
                      }});
    }
    if (absl::Status st = css_.Bind(schid, kVfioCcwDriver); !st.ok()) return fail("bind to vfio_ccw", st);
    undo.push_back({"unbind vfio_ccw", [this, schid] { (void)css_.Unbind(schid, kVfioCcwDriver); }});
    absl::StatusOr<std::string> now = css_.Driver(schid);
    if (!now.ok() || *now != kVfioCcwDriver) {
      return fail("verify driver",
                  absl::InternalError(absl::StrCat("driver is \"", now.ok() ? *now : "?", "\" after bind")));
    }
  }
  if (info->mdev_uuid.empty()) {
    if (absl::Status st = css_.CreateMdev(schid, uuid); !st.ok()) return fail("create mdev " + uuid, st);
    undo.push_back({"remove mdev", [this, schid, uuid] { (void)css_.RemoveMdev(schid, uuid); }});
  }
  absl::StatusOr<int> group = css_.IommuGroup(schid, uuid);
  if (!group.ok()) return fail("read iommu_group", group.status());

  auto d = std::make_shared<Dev>(schid);
  d->handoff = handoff;
  d->uuid = uuid;
  d->group = *group;
  d->owner = owner;
  d->attached_at = absl::FromUnixSeconds(want.attached_at);
  d->cu_type = info->cu_type;
  d->dev_type = info->dev_type;
  // Counted into an earlier attachment's counters (kept after its detach),
  // or new ones; they are published with the attachment, so a failed attach
  // leaves no statistics behind.
  d->stats = CountersOf(schid);
  if (!handoff) {
    if (absl::Status st = OpenDevice(d); !st.ok()) return fail("open VFIO device", st);
    LearnIdentity(d);
  }
  {
    std::shared_ptr<const SubchannelStatsSnapshot> ident = StatsIdentity(*info, *d);  // after SENSE ID
    absl::MutexLock l(&mu_);
    attached_[schid] = d;
    Changed(schid);
    stats_[schid] = StatsEntry{d->stats, std::move(ident)};
  }
  std::move(clear_transient).Invoke();
  const AgentState st = handoff ? AgentState::kHandedOff : AgentState::kAttached;
  AgentEvent e;
  e.kind = AgentEvent::Kind::kAttached;
  e.schid = schid;
  e.state = st;
  e.message = absl::StrCat(schid, " attached in ", handoff ? "hand-off" : "agent", " mode, mdev ", uuid, ", group ",
                           *group);
  bus_.Publish(e);
  SetState(schid, st, e.message);
  absl::StatusOr<SubchannelInfo> after = css_.Read(schid);
  return std::make_pair(ViewOf(after.ok() ? *after : *info), false);
}

absl::Status Agent::OpenDevice(const std::shared_ptr<Dev>& dp) {
  Dev& d = *dp;
  absl::MutexLock io(&d.io_mu);
  absl::StatusOr<std::unique_ptr<CcwDevice>> dev = CcwDevice::Open(vfio_, d.schid, d.group, d.uuid, options_.device);
  if (!dev.ok()) return dev.status();
  d.dev = std::move(*dev);
  d.caps = d.dev->capabilities();
  {
    absl::MutexLock l(&d.mu);
    d.raw = d.dev.get();
    d.released = false;
    d.closing = false;
    d.fsm.Dispatch(FsmEvent::kOpen);
  }
  const std::weak_ptr<Dev> weak = dp;
  auto bind = [this, weak](void (Agent::*fn)(const std::shared_ptr<Dev>&)) {
    return [this, weak, fn] {
      if (std::shared_ptr<Dev> p = weak.lock()) (this->*fn)(p);
    };
  };
  absl::Status st = worker_->Add(d.dev->io_fd(), bind(&Agent::OnIo));
  if (st.ok() && d.dev->crw_fd() >= 0) st = worker_->Add(d.dev->crw_fd(), bind(&Agent::OnCrw));
  if (st.ok() && d.dev->req_fd() >= 0) st = worker_->Add(d.dev->req_fd(), bind(&Agent::OnReq));
  if (!st.ok()) {
    worker_->Remove(d.dev->io_fd());
    if (d.dev->crw_fd() >= 0) worker_->Remove(d.dev->crw_fd());
    if (d.dev->req_fd() >= 0) worker_->Remove(d.dev->req_fd());
    {
      absl::MutexLock l(&d.mu);
      d.raw = nullptr;
      d.fsm.Dispatch(FsmEvent::kClose);
    }
    d.dev.reset();
    return st;
  }
  return absl::OkStatus();
}

void Agent::CloseDevice(Dev& d) {
  absl::MutexLock io(&d.io_mu);
  if (!d.dev) return;
  auto idle = [&d]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(d.mu) { return d.busy == 0; };
  {
    // No start or abort begins from now on; wait for those under way.
    absl::MutexLock l(&d.mu);
    d.closing = true;
    d.mu.Await(absl::Condition(&idle));
  }
  worker_->Remove(d.dev->io_fd());
  if (d.dev->crw_fd() >= 0) worker_->Remove(d.dev->crw_fd());
  if (d.dev->req_fd() >= 0) worker_->Remove(d.dev->req_fd());
  std::shared_ptr<Pending> current;
  std::deque<std::shared_ptr<Pending>> queued;
  {
    absl::MutexLock l(&d.mu);
    d.mu.Await(absl::Condition(&idle));  // a completion taken before the Remove
    d.raw = nullptr;
    if (d.fsm.Dispatch(FsmEvent::kClose) == FsmAction::kFailWaiter && d.current) {
      d.current->w.failed = true;
      d.current->w.why = "the device was closed";
    }
    current = std::move(d.current);
    queued.swap(d.queue);
  }
  // Their arena pages go back before the device (and its arena) does.
  if (current) {
    Unwatch(current.get());
    d.stats->in_flight.fetch_sub(1, std::memory_order_relaxed);
    d.stats->CountFailure(FailReason::kReleased);
    current->prog.reset();
    Deliver(std::move(current), absl::FailedPreconditionError(absl::StrCat(
                                    d.schid, ": the channel program did not complete: the device was closed")));
  }
  for (std::shared_ptr<Pending>& p : queued) {
    d.stats->CountFailure(FailReason::kNotOperational);
    Deliver(std::move(p), absl::FailedPreconditionError(absl::StrCat(d.schid, ": the device is not open")));
  }
  d.dev.reset();
}

void Agent::LearnIdentity(const std::shared_ptr<Dev>& dp) {
  Dev& d = *dp;
  // SENSE ID: CU and device type, which sysfs no longer shows on vfio_ccw.
  absl::StatusOr<translate::BuiltProgram> p = translate::BuildProgram(std::vector<translate::CcwSpec>{
      translate::CcwSpec{.cmd = translate::ccw_cmd::kSenseId, .flags = translate::ccw_flag::kSli, .count = 256}});
  if (!p.ok()) return;
  ProgramRequest req{p->orb, std::move(p->memory)};
  absl::StatusOr<ProgramResult> r = RunOn(dp, req, absl::Now() + absl::Seconds(5), nullptr, false);
  if (!r.ok() || r->irb.scsw.dstat != (dstat::kChannelEnd | dstat::kDeviceEnd)) return;
  std::array<uint8_t, 7> id{};
  if (!req.memory->Read(p->data_addrs[0], id).ok() || id[0] != 0xff) return;
  d.cu_type = std::make_pair(static_cast<uint16_t>(id[1] << 8 | id[2]), id[3]);
  if (id[4] || id[5]) d.dev_type = std::make_pair(static_cast<uint16_t>(id[4] << 8 | id[5]), id[6]);
}

absl::StatusOr<std::pair<SubchannelView, bool>> Agent::Detach(std::string_view schid, bool force) {
  absl::StatusOr<std::string> s = CanonicalSchid(schid);
  if (!s.ok()) return s.status();
  std::shared_ptr<absl::Mutex> life = LifecycleLock(*s);
  absl::MutexLock l(life.get());
  const absl::Time t0 = absl::Now();
  auto r = DetachLocked(*s, force);
  CountLifecycle(false, r.status(), t0);
  return r;
}

absl::StatusOr<std::pair<SubchannelView, bool>> Agent::DetachLocked(const std::string& schid, bool force) {
  absl::StatusOr<SubchannelInfo> info = css_.Read(schid);
  if (!info.ok()) return info.status();
  std::shared_ptr<Dev> d = Find(schid);
  const std::optional<DesiredAttachment> desired = state_.Get(schid);
  const bool ours = d || desired;
  const bool bound = info->driver == kVfioCcwDriver || !info->mdev_uuid.empty();
  if (!ours && !bound) return std::make_pair(ViewOf(*info), true);
  if (!ours && !force) {
    return absl::FailedPreconditionError(absl::StrCat(
        schid, " was not attached by this agent (bound to vfio_ccw by someone else); use --force to detach it"));
  }
  {
    absl::MutexLock l(&mu_);
    transient_[schid] = AgentState::kDetaching;
    Changed(schid);
  }
  absl::Cleanup clear_transient = [&] {
    absl::MutexLock l(&mu_);
    transient_.erase(schid);
    Changed(schid);
  };
  if (desired) {
    DesiredAttachment a = *desired;
    a.detaching = true;
    if (absl::Status st = state_.Put(a); !st.ok()) return st;
  }
  auto step = [&](const std::string& name, const absl::Status& st) {
    return absl::Status(st.code(), absl::StrCat("detach ", schid, " failed at step \"", name, "\": ", st.message(),
                                                "; run ccwctl detach ", schid, " again to finish"));
  };
  if (d) CloseDevice(*d);
  const std::string uuid = !info->mdev_uuid.empty() ? info->mdev_uuid : d ? d->uuid : "";
  if (!info->mdev_uuid.empty()) {
    if (absl::Status st = css_.RemoveMdev(schid, info->mdev_uuid); !st.ok() && !absl::IsNotFound(st)) {
      return step("remove mdev " + info->mdev_uuid, st);
    }
  }
  if (info->driver == kVfioCcwDriver) {
    if (absl::Status st = css_.Unbind(schid, kVfioCcwDriver); !st.ok()) return step("unbind from vfio_ccw", st);
  }
  if (info->driver_override) {
    if (absl::Status st = css_.SetDriverOverride(schid, ""); !st.ok()) return step("clear driver_override", st);
  }
  absl::StatusOr<std::string> drv = css_.Driver(schid);
  if (drv.ok() && drv->empty()) {
    if (absl::Status st = css_.DriversProbe(schid); !st.ok()) return step("drivers_probe", st);
  }
  if (absl::Status st = state_.Remove(schid); !st.ok()) return st;
  {
    absl::MutexLock l(&mu_);
    attached_.erase(schid);
    Changed(schid);
  }
  std::move(clear_transient).Invoke();
  AgentEvent e;
  e.kind = AgentEvent::Kind::kDetached;
  e.schid = schid;
  e.state = AgentState::kDetached;
  e.message = absl::StrCat(schid, " detached", uuid.empty() ? "" : absl::StrCat(" (mdev ", uuid, " removed)"),
                           "; back on io_subchannel");
  bus_.Publish(e);
  SetState(schid, AgentState::kDetached, e.message);
  absl::StatusOr<SubchannelInfo> after = css_.Read(schid);
  return std::make_pair(ViewOf(after.ok() ? *after : *info), false);
}

absl::StatusOr<std::shared_ptr<Agent::Dev>> Agent::AttachedDev(std::string_view schid) {
  absl::StatusOr<std::string> s = CanonicalSchid(schid);
  if (!s.ok()) return s.status();
  std::shared_ptr<Dev> d = Find(*s);
  if (d) return d;
  if (!sysfs_.Exists(absl::StrCat("bus/css/devices/", *s))) return absl::NotFoundError(absl::StrCat("no subchannel ", *s));
  return absl::FailedPreconditionError(absl::StrCat(*s, " is not attached; attach it first (ccwctl attach ", *s, ")"));
}

absl::StatusOr<Agent::AttachedIdentity> Agent::Attached(std::string_view schid) {
  absl::StatusOr<std::shared_ptr<Dev>> d = AttachedDev(schid);
  if (!d.ok()) return d.status();
  // These fields are set before the Dev is published in attached_ and never change.
  return AttachedIdentity{(*d)->schid, (*d)->owner, (*d)->handoff, (*d)->cu_type, (*d)->dev_type};
}

absl::StatusOr<std::shared_ptr<Agent::Dev>> Agent::AgentModeDev(std::string_view schid) {
  absl::StatusOr<std::shared_ptr<Dev>> d = AttachedDev(schid);
  if (!d.ok()) return d.status();
  if ((*d)->handoff) {
    return absl::FailedPreconditionError(absl::StrCat(
        (*d)->schid, " is attached in hand-off mode: its VFIO device belongs to a VM or container, not to the agent"));
  }
  return d;
}

absl::StatusOr<SubchannelView> Agent::Reset(std::string_view schid) {
  absl::StatusOr<std::shared_ptr<Dev>> dp = AgentModeDev(schid);
  if (!dp.ok()) return dp.status();
  Dev& d = **dp;
  std::shared_ptr<Pending> ended;
  int rc;
  {
    absl::MutexLock io(&d.io_mu);
    if (!d.dev) return absl::FailedPreconditionError(absl::StrCat(d.schid, ": the device is not open"));
    {
      // Alone with the device: no start or abort runs during the reset.
      absl::MutexLock l(&d.mu);
      auto idle = [&d]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(d.mu) { return d.busy == 0 && !d.pumping; };
      d.mu.Await(absl::Condition(&idle));
      d.pumping = true;
    }
    rc = d.dev->Reset();
    absl::MutexLock l(&d.mu);
    d.pumping = false;
    if (rc == 0) {
      d.stats->resets.fetch_add(1, std::memory_order_relaxed);
      d.fsm.Dispatch(FsmEvent::kClose);
      d.fsm.Dispatch(FsmEvent::kOpen);
      // The program in flight gets no interruption any more (a watchdog
      // that began ending it meanwhile sees it failed and delivers it).
      if (d.current) {
        d.current->w.failed = true;
        d.current->w.why = "the device was reset";
        if (!d.current->abort) {
          ended = std::move(d.current);
          ++d.busy;
        }
      }
    }
  }
  if (ended) {
    FailInFlight(*dp, std::move(ended), FailReason::kReleased,
                 absl::FailedPreconditionError(
                     absl::StrCat(d.schid, ": the channel program did not complete: the device was reset")));
  } else {
    bool pump;
    {
      absl::MutexLock l(&d.mu);
      pump = d.ClaimPump();
    }
    if (pump) Pump(*dp);
  }
  if (rc < 0) {
    return translate::WithErrno(absl::FailedPreconditionError(absl::StrCat(d.schid, ": reset: ", ErrnoText(rc))),
                                -rc);
  }
  return Get(d.schid);
}

// ---------------------------------------------------------------------------
// I/O.

void Agent::Submit(std::string_view schid, ProgramRequest& request, absl::Time deadline,
                   std::function<bool()> cancelled, ProgramDone done) {
  absl::StatusOr<std::shared_ptr<Dev>> d = AgentModeDev(schid);
  if (!d.ok()) {
    done(d.status());
    return;
  }
  SubmitTo(*d, NewPending(request, deadline, std::move(cancelled), std::move(done), true), false);
}

absl::StatusOr<ProgramResult> Agent::Run(std::string_view schid, ProgramRequest& request, absl::Time deadline,
                                         std::function<bool()> cancelled) {
  absl::StatusOr<std::shared_ptr<Dev>> d = AgentModeDev(schid);
  if (!d.ok()) return d.status();
  return RunOn(*d, request, deadline, std::move(cancelled), true);
}

absl::StatusOr<ProgramResult> Agent::RunOn(const std::shared_ptr<Dev>& d, ProgramRequest& request,
                                           absl::Time deadline, std::function<bool()> cancelled,
                                           bool fetch_sense) {
  absl::Notification landed;
  absl::StatusOr<ProgramResult> out = absl::InternalError("no outcome");
  ProgramDone done = [&out, &landed](absl::StatusOr<ProgramResult> r) {
    out = std::move(r);
    landed.Notify();
  };
  SubmitTo(d, NewPending(request, deadline, std::move(cancelled), std::move(done), fetch_sense), false);
  // The watchdog ends the program at its deadline, so this wait ends too.
  landed.WaitForNotification();
  return out;
}

std::shared_ptr<Agent::Pending> Agent::NewPending(ProgramRequest& request, absl::Time deadline,
                                                  std::function<bool()> cancelled, ProgramDone done,
                                                  bool fetch_sense) {
  auto p = std::make_shared<Pending>();
  p->req = &request;
  p->deadline = deadline;
  p->cancelled = std::move(cancelled);
  p->done = std::move(done);
  p->fetch_sense = fetch_sense;
  return p;
}

void Agent::SubmitTo(const std::shared_ptr<Dev>& d, std::shared_ptr<Pending> p, bool front) {
  bool pump;
  {
    absl::MutexLock l(&d->mu);
    if (front) {
      d->queue.push_front(std::move(p));
    } else {
      d->queue.push_back(std::move(p));
    }
    pump = d->ClaimPump();
  }
  if (pump) Pump(d);
}

void Agent::CountPoliced(std::string_view schid) {
  absl::StatusOr<std::shared_ptr<Dev>> d = AgentModeDev(schid);
  if (d.ok()) (*d)->stats->CountFailure(FailReason::kPoliced);
}

// Starts queued requests until one is in flight or none is left. The caller
// set d.pumping; it is cleared here.
void Agent::Pump(const std::shared_ptr<Dev>& dp) {
  Dev& d = *dp;
  for (;;) {
    std::shared_ptr<Pending> p;
    {
      absl::MutexLock l(&d.mu);
      if (d.current || d.queue.empty()) {
        d.pumping = false;
        return;
      }
      p = std::move(d.queue.front());
      d.queue.pop_front();
      ++d.busy;
    }
    absl::Status st = StartPending(dp, p);
    {
      absl::MutexLock l(&d.mu);
      --d.busy;
    }
    if (!st.ok()) Deliver(std::move(p), std::move(st));
  }
}

// Translates, polices and starts `p` (d.busy held). On success p is d.current.
absl::Status Agent::StartPending(const std::shared_ptr<Dev>& dp, const std::shared_ptr<Pending>& p) {
  Dev& d = *dp;
  SubchannelStats& stats = *d.stats;
  if (absl::Now() >= p->deadline) {
    stats.CountFailure(FailReason::kDeadline);
    return absl::DeadlineExceededError(
        absl::StrCat(d.schid, ": the deadline passed while earlier requests held the subchannel"));
  }
  if (p->cancelled && p->cancelled()) {
    stats.CountFailure(FailReason::kCancelled);
    return absl::CancelledError(absl::StrCat(d.schid, ": cancelled before the channel program was started"));
  }
  CcwDevice* dev;
  {
    absl::MutexLock l(&d.mu);
    dev = d.closing ? nullptr : d.raw;
    if (!dev) {
      stats.CountFailure(FailReason::kNotOperational);
      return absl::FailedPreconditionError(absl::StrCat(d.schid, ": the device is not open"));
    }
    switch (d.fsm.Dispatch(FsmEvent::kIoRequest)) {
      case FsmAction::kStart:
        break;
      case FsmAction::kRejectBusy:
        stats.CountFailure(FailReason::kBusy);
        return absl::UnavailableError(absl::StrCat(d.schid, ": a channel program is in progress"));
      case FsmAction::kRejectNotOper:
        stats.CountFailure(FailReason::kNotOperational);
        return absl::FailedPreconditionError(absl::StrCat(d.schid, ": the device is not operational"));
      default:
        stats.CountFailure(FailReason::kNotOperational);
        return absl::FailedPreconditionError(absl::StrCat(d.schid, ": the device is not open"));
    }
  }
  ProgramRequest& req = *p->req;
  absl::StatusOr<translate::Program> prog = translate::Translate(req.orb, *req.memory, dev->arena());
  if (!prog.ok()) {
    stats.CountFailure(FailReason::kPoliced);
    absl::MutexLock l(&d.mu);
    d.fsm.Dispatch(FsmEvent::kStartFailed);
    return absl::Status(prog.status().code(), absl::StrCat(d.schid, ": ", prog.status().message()));
  }
  if (req.police) {
    if (absl::Status st = req.police(*prog); !st.ok()) {
      prog->Release();
      stats.CountFailure(FailReason::kPoliced);
      absl::MutexLock l(&d.mu);
      d.fsm.Dispatch(FsmEvent::kStartFailed);
      return absl::Status(st.code(), absl::StrCat(d.schid, ": ", st.message()));
    }
  }
  p->result.warnings = prog->warnings();
  const translate::Orb orb = prog->orb();
  p->prog = std::move(*prog);
  p->t0 = absl::Now();
  Watch(dp, p);  // before the start: the completion may come at once
  int rc;
  {
    // The subchannel lock is held across the I/O region write, as the kernel
    // holds its own across SSCH: the interruption cannot be taken before the
    // FSM knows the program was started.
    absl::MutexLock l(&d.mu);
    rc = dev->Start(orb, &p->result.retries);
    if (rc == 0) {
      d.fsm.Dispatch(FsmEvent::kStarted);
      d.current = p;
      stats.started.fetch_add(1, std::memory_order_relaxed);
      stats.in_flight.fetch_add(1, std::memory_order_relaxed);
      return absl::OkStatus();
    }
    d.fsm.Dispatch(FsmEvent::kStartFailed);
  }
  Unwatch(p.get());
  stats.CountFailure(FailReasonForStartErrno(rc));
  p->prog.reset();
  return StartError(d.schid, rc);
}

// The final interruption of `p` was taken (d.busy held, p no longer
// d.current): back-translates, counts, fetches sense if need be, starts the
// next request, delivers.
void Agent::FinishPending(const std::shared_ptr<Dev>& dp, std::shared_ptr<Pending> p) {
  Dev& d = *dp;
  SubchannelStats& stats = *d.stats;
  Unwatch(p.get());
  stats.in_flight.fetch_sub(1, std::memory_order_relaxed);
  ProgramResult& result = p->result;
  result.duration = absl::Now() - p->t0;
  result.irb = p->w.irb;
  stats.latency.Observe(result.duration);
  absl::StatusOr<translate::Completion> c = p->prog->Complete(p->w.irb.scsw, *p->req->memory);
  p->prog.reset();
  absl::Status error;
  bool sense = false;
  if (!c.ok()) {
    stats.CountFailure(FailReason::kOther);
    error = absl::InternalError(absl::StrCat(d.schid, ": completing the program: ", c.status().message()));
  } else {
    result.completion = std::move(*c);
    stats.bytes_read.fetch_add(result.completion.bytes_in, std::memory_order_relaxed);
    stats.bytes_written.fetch_add(result.completion.bytes_out, std::memory_order_relaxed);
    if (std::optional<FailReason> why = FailReasonForScsw(p->w.irb.scsw)) {
      stats.CountFailure(*why);
    } else {
      stats.completed.fetch_add(1, std::memory_order_relaxed);
    }
    sense = p->fetch_sense && (p->w.irb.scsw.dstat & dstat::kUnitCheck) && !p->w.irb.esw.erw_s;
  }
  std::shared_ptr<Pending> sp;
  if (sense) {
    // Basic sense: the device holds it until a SENSE command takes it; it
    // runs next, before anything queued, and the parent is delivered after.
    absl::StatusOr<translate::BuiltProgram> b = translate::BuildProgram(std::vector<translate::CcwSpec>{
        translate::CcwSpec{.cmd = translate::ccw_cmd::kSense, .flags = translate::ccw_flag::kSli, .count = 32}});
    if (b.ok()) {
      sp = std::make_shared<Pending>();
      sp->own_req = std::make_unique<ProgramRequest>(ProgramRequest{b->orb, std::move(b->memory)});
      sp->req = sp->own_req.get();
      sp->sense_addr = b->data_addrs[0];
      sp->deadline = std::max(p->deadline, absl::Now() + absl::Seconds(1));
      sp->cancelled = p->cancelled;
      sp->fetch_sense = false;
      sp->parent = p;
    }
  }
  bool pump;
  {
    absl::MutexLock l(&d.mu);
    --d.busy;
    if (sp) d.queue.push_front(sp);
    pump = d.ClaimPump();
  }
  // The device first: the next program runs while this result goes out. The
  // order of results stays the order of programs: this runs on the I/O
  // worker, which also takes the next program's completion.
  if (pump) Pump(dp);
  if (sp) return;  // delivered with the sense
  if (error.ok()) {
    Deliver(std::move(p), std::move(result));
  } else {
    Deliver(std::move(p), std::move(error));
  }
}

// Ends `p`, which was d.current and was taken out of it by the caller (d.busy
// held), with `st`: the device went away under it.
void Agent::FailInFlight(const std::shared_ptr<Dev>& dp, std::shared_ptr<Pending> p, FailReason reason,
                         absl::Status st) {
  Dev& d = *dp;
  Unwatch(p.get());
  d.stats->in_flight.fetch_sub(1, std::memory_order_relaxed);
  d.stats->CountFailure(reason);
  p->prog.reset();
  // Delivered before the next program starts (this thread holds the right
  // to start them meanwhile): it may run off the worker thread, and the next
  // completion must not overtake this result.
  bool pump;
  {
    absl::MutexLock l(&d.mu);
    --d.busy;
    pump = !d.pumping;
    if (pump) d.pumping = true;
  }
  Deliver(std::move(p), std::move(st));
  if (pump) Pump(dp);
}

void Agent::Deliver(std::shared_ptr<Pending> p, absl::StatusOr<ProgramResult> r) {
  if (p->parent) {
    // The SENSE of a unit check: its data goes with the parent's result.
    std::shared_ptr<Pending> parent = std::move(p->parent);
    if (r.ok() && !r->completion.transfers.empty()) {
      parent->result.sense.resize(r->completion.transfers[0].bytes);
      (void)p->req->memory->Read(p->sense_addr, parent->result.sense);
    }
    Deliver(parent, std::move(parent->result));
    return;
  }
  ProgramDone done = std::move(p->done);
  p.reset();
  done(std::move(r));
}

void Agent::AbortPending(const std::shared_ptr<Dev>& dp, const std::shared_ptr<Pending>& p, FailReason why) {
  Dev& d = *dp;
  {
    absl::MutexLock l(&d.mu);
    if (d.closing || d.current != p || p->w.done || p->w.failed || p->abort) return;
    p->abort = why;
    ++d.busy;
  }
  const std::string aborted = Abort(d, p->w);
  std::string state;
  {
    absl::MutexLock l(&d.mu);
    if (d.current == p) d.current = nullptr;
    state = FsmStateName(d.fsm.state());
  }
  const bool late = why == FailReason::kDeadline;
  absl::Status st(late ? absl::StatusCode::kDeadlineExceeded : absl::StatusCode::kCancelled,
                  absl::StrCat(d.schid, ": ", late ? "deadline exceeded" : "cancelled", " after ",
                               absl::FormatDuration(absl::Now() - p->t0), "; the channel program was ", aborted,
                               "; the device is ", state));
  FailInFlight(dp, p, why, std::move(st));
}

// Halt, then clear, then reset: whichever ends the program in flight (d.busy
// held by the caller; w is that program's).
std::string Agent::Abort(Dev& d, Waiter& w) {
  auto wait = [&](absl::Duration t) {
    absl::MutexLock l(&d.mu);
    auto ready = [&w]() { return w.done || w.failed; };
    return d.mu.AwaitWithTimeout(absl::Condition(&ready), t);
  };
  CcwDevice* dev;
  {
    absl::MutexLock l(&d.mu);
    dev = d.raw;
  }
  if (!dev) return "abandoned (the device was closed)";
  if (dev->Halt() == 0) {
    d.stats->halts.fetch_add(1, std::memory_order_relaxed);
    if (wait(options_.halt_wait)) return "halted (HSCH)";
  }
  if (dev->Clear() == 0) {
    d.stats->clears.fetch_add(1, std::memory_order_relaxed);
    if (wait(options_.halt_wait)) return "cleared (CSCH)";
  }
  // Neither ended it: reset the device (disable, quiesce, enable).
  dev->Reset();
  absl::MutexLock l(&d.mu);
  d.fsm.Dispatch(FsmEvent::kClose);
  d.fsm.Dispatch(FsmEvent::kOpen);
  return "ended by a device reset (halt and clear did not end it)";
}

// ---- The deadline watchdog.

void Agent::Watch(const std::shared_ptr<Dev>& d, const std::shared_ptr<Pending>& p) {
  const bool polled = static_cast<bool>(p->cancelled);
  if (p->deadline == absl::InfiniteFuture() && !polled) return;
  absl::MutexLock l(&wd_mu_);
  watched_[p.get()] = Watched{d, p, p->deadline, polled};
  const absl::Time wake = NextLook(p->deadline, polled, absl::Now());
  if (wake < wd_wake_) wd_kick_ = true;
}

void Agent::Unwatch(const Pending* p) {
  absl::MutexLock l(&wd_mu_);
  watched_.erase(p);
}

void Agent::WatchdogLoop() {
  absl::MutexLock l(&wd_mu_);
  while (!wd_stop_) {
    for (auto it = aborters_.begin(); it != aborters_.end();) {  // the ended ones
      if (!it->ended->load()) {
        ++it;
        continue;
      }
      it->thread.join();
      it = aborters_.erase(it);
    }
    const absl::Time now = absl::Now();
    std::vector<std::tuple<std::shared_ptr<Dev>, std::shared_ptr<Pending>, FailReason>> due;
    absl::Time wake = absl::InfiniteFuture();
    for (auto it = watched_.begin(); it != watched_.end();) {
      std::shared_ptr<Dev> d = it->second.dev.lock();
      std::shared_ptr<Pending> p = it->second.p.lock();
      if (!d || !p) {
        it = watched_.erase(it);
        continue;
      }
      std::optional<FailReason> why;
      if (now >= it->second.deadline) {
        why = FailReason::kDeadline;
      } else if (it->second.polled && p->cancelled()) {
        why = FailReason::kCancelled;
      }
      if (why) {
        due.emplace_back(std::move(d), std::move(p), *why);
        it = watched_.erase(it);
        continue;
      }
      wake = std::min(wake, NextLook(it->second.deadline, it->second.polled, now));
      ++it;
    }
    if (!due.empty()) {
      for (auto& [d, p, why] : due) {
        auto ended = std::make_shared<std::atomic<bool>>(false);
        aborters_.push_back(Aborter{std::thread([this, d = std::move(d), p = std::move(p), why = why, ended] {
                                      AbortPending(d, p, why);
                                      ended->store(true);
                                    }),
                                    ended});
      }
      continue;
    }
    wd_wake_ = wake;
    wd_kick_ = false;
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(wd_mu_) { return wd_kick_ || wd_stop_; };
    wd_mu_.AwaitWithDeadline(absl::Condition(&woken), wake);
  }
}

absl::StatusOr<translate::Irb> Agent::AsyncOp(std::string_view schid, bool clear, absl::Time deadline) {
  absl::StatusOr<std::shared_ptr<Dev>> dp = AgentModeDev(schid);
  if (!dp.ok()) return dp.status();
  Dev& d = **dp;
  const char* name = clear ? "clear" : "halt";
  if (!d.caps.async_region) {
    return absl::UnimplementedError(absl::StrCat(d.schid, ": ", name,
                                                 " needs the vfio-ccw async region, which this kernel lacks (Linux 5.3+)"));
  }
  Waiter own;
  bool program_running = false;
  CcwDevice* dev = nullptr;
  {
    absl::MutexLock l(&d.mu);
    switch (d.fsm.Dispatch(FsmEvent::kAsyncRequest)) {
      case FsmAction::kAsync:
        break;
      case FsmAction::kRejectBusy:
        return absl::UnavailableError(absl::StrCat(d.schid, ": a channel program is being started; retry"));
      case FsmAction::kRejectNotOper:
        return absl::FailedPreconditionError(absl::StrCat(d.schid, ": the device is not operational"));
      default:
        return absl::FailedPreconditionError(absl::StrCat(d.schid, ": the device is not open"));
    }
    program_running = d.fsm.state() == FsmState::kCpPending;
    if (!program_running) d.async_waiter = &own;
    dev = d.raw;
  }
  if (!dev) return absl::FailedPreconditionError(absl::StrCat(d.schid, ": the device is not open"));
  const int rc = clear ? dev->Clear() : dev->Halt();
  if (rc != 0) {
    absl::MutexLock l(&d.mu);
    d.async_waiter = nullptr;
    return translate::WithErrno(
        absl::Status(rc == -EBUSY || rc == -EAGAIN ? absl::StatusCode::kUnavailable
                                                   : absl::StatusCode::kFailedPrecondition,
                     absl::StrCat(d.schid, ": ", name, ": ", ErrnoText(rc))),
        -rc);
  }
  (clear ? d.stats->clears : d.stats->halts).fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock l(&d.mu);
  bool ok;
  if (program_running) {
    // The running program's request receives the interruption; wait for the
    // FSM to leave CP_PENDING and report that interruption.
    const std::shared_ptr<Pending> target = d.current;
    auto idle = [&d, &target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(d.mu) {
      return d.fsm.state() != FsmState::kCpPending || d.current != target ||
             (target && (target->w.done || target->w.failed));
    };
    ok = d.mu.AwaitWithDeadline(absl::Condition(&idle), deadline);
    if (ok && target && target->w.done) return target->w.irb;
    if (ok) return absl::FailedPreconditionError(absl::StrCat(d.schid, ": ", name, ": the program ended otherwise"));
  } else {
    auto done = [&own]() { return own.done || own.failed; };
    ok = d.mu.AwaitWithDeadline(absl::Condition(&done), deadline);
    d.async_waiter = nullptr;
    if (ok && own.done) return own.irb;
    if (ok) return absl::FailedPreconditionError(absl::StrCat(d.schid, ": ", name, ": ", own.why));
  }
  return absl::DeadlineExceededError(absl::StrCat(d.schid, ": no interruption ended the ", name, " in time"));
}

absl::StatusOr<translate::Irb> Agent::Halt(std::string_view schid, absl::Time deadline) {
  return AsyncOp(schid, false, deadline);
}

absl::StatusOr<translate::Irb> Agent::Clear(std::string_view schid, absl::Time deadline) {
  return AsyncOp(schid, true, deadline);
}

absl::StatusOr<translate::Schib> Agent::Store(std::string_view schid) {
  absl::StatusOr<std::shared_ptr<Dev>> d = AgentModeDev(schid);
  if (!d.ok()) return d.status();
  CcwDevice* dev;
  {
    absl::MutexLock l(&(*d)->mu);
    dev = (*d)->raw;
  }
  if (!dev) return absl::FailedPreconditionError(absl::StrCat((*d)->schid, ": the device is not open"));
  return dev->Store();
}

// ---------------------------------------------------------------------------
// Worker handlers.

CcwDevice* Agent::TakeIrq(Dev& d, int (CcwDevice::*fd)() const) {
  CcwDevice* dev;
  {
    absl::MutexLock l(&d.mu);
    dev = d.raw;
  }
  if (!dev) return nullptr;
  uint64_t v;
  ssize_t n = ::read((dev->*fd)(), &v, sizeof v);  // reset the eventfd counter
  (void)n;
  return dev;
}

void Agent::OnIo(const std::shared_ptr<Dev>& dp) {
  Dev& d = *dp;
  CcwDevice* dev = TakeIrq(d, &CcwDevice::io_fd);
  if (!dev) return;
  absl::StatusOr<translate::Irb> irb = dev->ReadIrb();
  if (!irb.ok()) {
    spdlog::warn("{}: {}", d.schid, irb.status().ToString());
    return;
  }
  const bool final = irb->scsw.IsFinal();
  std::optional<translate::Irb> unsolicited;
  std::shared_ptr<Pending> ended;
  {
    absl::MutexLock l(&d.mu);
    switch (d.fsm.Dispatch(final ? FsmEvent::kFinal : FsmEvent::kIntermediate)) {
      case FsmAction::kComplete:
        if (d.current) {
          d.current->w.irb = *irb;
          d.current->w.done = true;
          // An aborting watchdog finishes it itself.
          if (!d.current->abort) {
            ended = std::move(d.current);
            ++d.busy;
          }
        }
        break;
      case FsmAction::kIntermediate:
        if (d.current) ++d.current->w.intermediates;
        break;
      case FsmAction::kUnsolicited:
        if (final && d.async_waiter) {
          d.async_waiter->irb = *irb;
          d.async_waiter->done = true;
        } else {
          unsolicited = *irb;
        }
        break;
      default:
        break;
    }
  }
  if (ended) FinishPending(dp, std::move(ended));
  if (unsolicited) {
    d.stats->unsolicited.fetch_add(1, std::memory_order_relaxed);
    AgentEvent e;
    e.kind = AgentEvent::Kind::kUnsolicited;
    e.schid = d.schid;
    e.irb = unsolicited;
    e.message = absl::StrCat(d.schid, ": unsolicited interruption: ",
                             translate::DeviceStatusText(unsolicited->scsw.dstat));
    bus_.Publish(std::move(e));
  }
}

void Agent::OnCrw(const std::shared_ptr<Dev>& dp) {
  Dev& d = *dp;
  CcwDevice* dev = TakeIrq(d, &CcwDevice::crw_fd);
  if (!dev) return;
  // Drain until the region reads zero (bounded: a misbehaving kernel must not hang the worker).
  for (int i = 0; i < 256; ++i) {
    absl::StatusOr<uint32_t> w = dev->PopCrw();
    if (!w.ok() || *w == 0) break;
    const translate::Crw crw = translate::Crw::FromWord(*w);
    d.stats->CountCrw(crw);
    AgentEvent e;
    e.kind = AgentEvent::Kind::kCrw;
    e.schid = d.schid;
    e.crw = *w;
    e.message = absl::StrFormat("%s: CRW rsc %d erc %d rsid %04x", d.schid, crw.rsc, crw.erc, crw.rsid);
    bus_.Publish(std::move(e));
  }
}

void Agent::OnReq(const std::shared_ptr<Dev>& dp) {
  Dev& d = *dp;
  static constexpr char kWhy[] = "the kernel asked for the device back (device request); it was released";
  std::shared_ptr<Pending> failed;
  {
    absl::MutexLock l(&d.mu);
    if (d.released || !d.raw) return;
    uint64_t v;
    ssize_t n = ::read(d.raw->req_fd(), &v, sizeof v);
    (void)n;
    d.released = true;
    d.stats->device_requests.fetch_add(1, std::memory_order_relaxed);
    if (d.fsm.Dispatch(FsmEvent::kNotOper) == FsmAction::kFailWaiter && d.current) {
      d.current->w.failed = true;
      d.current->w.why = kWhy;
      if (!d.current->abort) {
        failed = std::move(d.current);
        ++d.busy;
      }
    }
    if (d.async_waiter) {
      d.async_waiter->failed = true;
      d.async_waiter->why = "the device was requested back";
    }
  }
  if (failed) {
    FailInFlight(dp, std::move(failed), FailReason::kReleased,
                 absl::FailedPreconditionError(
                     absl::StrCat(d.schid, ": the channel program did not complete: ", kWhy)));
  }
  AgentEvent e;
  e.kind = AgentEvent::Kind::kDeviceRequest;
  e.schid = d.schid;
  e.message = absl::StrCat(d.schid, ": the kernel requested the device back (hot-unplug?); releasing it");
  bus_.Publish(e);
  SetState(d.schid, AgentState::kNotOperational, e.message);
  // Close on another thread: the request holding io_mu ends first.
  std::shared_ptr<Dev> keep = Find(d.schid);
  absl::MutexLock l(&mu_);
  releasers_.emplace_back([this, keep, raw = &d] {
    if (keep) {
      CloseDevice(*keep);
    } else {
      CloseDevice(*raw);
    }
  });
}

void Agent::OnDeviceEvents() {
  std::vector<DeviceEvent> evs;
  const int err = events_->Receive(&evs, 256);
  bool relevant = err == ENOBUFS;
  for (const DeviceEvent& ev : evs) {
    AgentEvent e;
    e.kind = AgentEvent::Kind::kHotplug;
    e.action = std::string(DeviceActionName(ev.action));
    e.subsystem = ev.subsystem;
    if (ev.subsystem == "css") {
      e.schid = ev.sysname;
    } else {
      // devices/css0/<schid>/<child>
      const size_t a = ev.devpath.find("css0/");
      if (a != std::string::npos) e.schid = ev.devpath.substr(a + 5, ev.devpath.find('/', a + 5) - a - 5);
    }
    e.message = absl::StrCat(e.action, " ", ev.subsystem, " ", ev.sysname,
                             ev.driver.empty() ? "" : absl::StrCat(" (", ev.driver, ")"));
    bus_.Publish(std::move(e));
    if (ev.action == DeviceAction::kAdd || ev.action == DeviceAction::kRemove) relevant = true;
  }
  if (relevant) {
    absl::MutexLock l(&rec_mu_);
    rec_due_ = absl::Now() + options_.reconcile_debounce;
  }
}

void Agent::ReconcileLoop() {
  for (;;) {
    {
      absl::MutexLock l(&rec_mu_);
      for (;;) {
        if (rec_stop_) return;
        if (rec_due_ && absl::Now() >= *rec_due_) break;
        auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(rec_mu_) { return rec_stop_; };
        rec_mu_.AwaitWithDeadline(absl::Condition(&wake),
                                  rec_due_ ? *rec_due_ : absl::Now() + absl::Milliseconds(500));
      }
      rec_due_.reset();
    }
    if (absl::Status st = Reconcile(); !st.ok()) spdlog::warn("reconcile: {}", st.ToString());
  }
}

absl::Status Agent::Reconcile() {
  const uint64_t read_at = LifecycleSeq();
  absl::StatusOr<std::vector<SubchannelInfo>> infos = css_.ReadAll();
  if (!infos.ok()) return infos.status();
  std::map<std::string, const SubchannelInfo*> present;
  for (const SubchannelInfo& i : *infos) present[i.schid] = &i;

  // Attached subchannels that went away: drop them (their desired entry
  // stays). One whose attach or detach is under way, or ended after the read,
  // is not judged by it (a read before an attach made the mdev would drop
  // the fresh attachment); the next reconcile sees it as it is.
  std::vector<std::shared_ptr<Dev>> gone;
  {
    absl::MutexLock l(&mu_);
    for (auto it = attached_.begin(); it != attached_.end();) {
      if (transient_.count(it->first) || ChangedSince(it->first, read_at)) {
        ++it;
        continue;
      }
      auto p = present.find(it->first);
      if (p == present.end() || p->second->mdev_uuid != it->second->uuid) {
        gone.push_back(it->second);
        Changed(it->first);
        it = attached_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& d : gone) {
    CloseDevice(*d);
    SetState(d->schid, AgentState::kDetached, absl::StrCat(d->schid, " went away (device or mdev removed)"));
  }

  // Counters go with a subchannel that left the host, unless it is to be
  // attached again when it returns: the kernel unregisters a vfio_ccw
  // subchannel whose device turned not operational and registers it anew
  // when the device is back, and what failed meanwhile stays counted.
  const std::map<std::string, DesiredAttachment> desired = state_.entries();
  {
    absl::MutexLock l(&mu_);
    for (auto it = stats_.begin(); it != stats_.end();) {
      it = present.count(it->first) || desired.count(it->first) ? std::next(it) : stats_.erase(it);
    }
  }

  absl::Status first;
  for (const auto& [schid, want] : desired) {
    auto p = present.find(schid);
    if (p == present.end()) continue;  // not on the host now; attached again when it returns
    std::shared_ptr<absl::Mutex> life = LifecycleLock(schid);
    absl::MutexLock l(life.get());
    absl::StatusOr<std::pair<SubchannelView, bool>> r;
    const absl::Time t0 = absl::Now();
    if (want.detaching) {
      r = DetachLocked(schid, true);
    } else if (!Find(schid)) {
      r = AttachLocked(schid, want.handoff, want.mdev_uuid, want.owner, true);
    } else {
      continue;
    }
    CountLifecycle(!want.detaching, r.status(), t0);
    if (!r.ok()) {
      spdlog::warn("reconcile {}: {}", schid, r.status().ToString());
      if (first.ok()) first = r.status();
    } else {
      spdlog::info("reconcile {}: {}", schid, want.detaching ? "detached" : "attached");
    }
  }
  return first;
}

// ---------------------------------------------------------------------------
// Statistics.

std::shared_ptr<SubchannelStats> Agent::CountersOf(const std::string& schid) {
  absl::MutexLock l(&mu_);
  auto it = stats_.find(schid);
  return it != stats_.end() ? it->second.stats : std::make_shared<SubchannelStats>();
}

std::shared_ptr<const SubchannelStatsSnapshot> Agent::StatsIdentity(const SubchannelInfo& info, const Dev& d) {
  auto ident = std::make_shared<SubchannelStatsSnapshot>();
  ident->schid = info.schid;
  ident->devno = info.DevnoText();
  ident->mdev_uuid = d.uuid;
  ident->cu_type = d.cu_type;
  ident->dev_type = d.dev_type;
  ident->chpids = absl::StrJoin(info.ChpidsOf(info.pim), ",", [](std::string* out, uint8_t c) {
    absl::StrAppend(out, absl::Hex(c, absl::kZeroPad2));
  });
  return ident;
}

Agent::StatsRef Agent::RefLocked(const std::string& schid, const StatsEntry& e) {
  auto it = attached_.find(schid);
  const bool attached = it != attached_.end();
  return StatsRef{e.stats, e.ident, attached, attached && it->second->handoff};
}

SubchannelStatsSnapshot Agent::SnapshotOf(const StatsRef& r) {
  SubchannelStatsSnapshot s = *r.ident;
  s.attached = r.attached;
  s.handoff = r.handoff;
  CopyCounters(*r.stats, &s);
  return s;
}

absl::StatusOr<SubchannelStatsSnapshot> Agent::Stats(std::string_view schid) {
  absl::StatusOr<std::string> s = CanonicalSchid(schid);
  if (!s.ok()) return s.status();
  StatsRef r;
  {
    absl::MutexLock l(&mu_);
    auto it = stats_.find(*s);
    if (it == stats_.end()) {
      return absl::NotFoundError(
          absl::StrCat("no statistics for ", *s, ": the agent has not attached it since it started"));
    }
    r = RefLocked(*s, it->second);
  }
  return SnapshotOf(r);
}

std::vector<SubchannelStatsSnapshot> Agent::AllStats() {
  std::vector<StatsRef> refs;
  {
    absl::MutexLock l(&mu_);
    refs.reserve(stats_.size());
    // Both maps are sorted by schid: walk attached_ alongside instead of a lookup each.
    auto a = attached_.begin();
    for (const auto& [schid, e] : stats_) {
      while (a != attached_.end() && a->first < schid) ++a;
      const bool attached = a != attached_.end() && a->first == schid;
      refs.push_back(StatsRef{e.stats, e.ident, attached, attached && a->second->handoff});
    }
  }
  std::vector<SubchannelStatsSnapshot> out;
  out.reserve(refs.size());
  for (const StatsRef& r : refs) out.push_back(SnapshotOf(r));
  return out;
}

AgentStatsSnapshot Agent::AgentWideStats() {
  AgentStatsSnapshot s;
  auto ld = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  {
    absl::MutexLock l(&mu_);
    for (const auto& [schid, d] : attached_) ++(d->handoff ? s.attached_handoff : s.attached_agent);
    for (const auto& [schid, e] : stats_) {
      s.programs_started += ld(e.stats->started);
      s.programs_completed += ld(e.stats->completed);
      for (const auto& f : e.stats->failed) s.programs_failed += ld(f);
      s.bytes_read += ld(e.stats->bytes_read);
      s.bytes_written += ld(e.stats->bytes_written);
    }
  }
  s.attach_ok = ld(agent_stats_.attach_ok);
  s.attach_error = ld(agent_stats_.attach_error);
  s.detach_ok = ld(agent_stats_.detach_ok);
  s.detach_error = ld(agent_stats_.detach_error);
  s.attach_seconds = agent_stats_.attach_seconds.Read();
  s.detach_seconds = agent_stats_.detach_seconds.Read();
  s.event_drops = bus_.dropped_total();
  s.events_published = bus_.last_seq();
  s.started_at = started_at_;
  return s;
}

void Agent::CountLifecycle(bool attach, const absl::Status& st, absl::Time t0) {
  auto& n = attach ? (st.ok() ? agent_stats_.attach_ok : agent_stats_.attach_error)
                   : (st.ok() ? agent_stats_.detach_ok : agent_stats_.detach_error);
  n.fetch_add(1, std::memory_order_relaxed);
  (attach ? agent_stats_.attach_seconds : agent_stats_.detach_seconds).Observe(absl::Now() - t0);
}

}  // namespace ccwpass::agent
