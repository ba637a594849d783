#include "sim/channel_subsystem.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "translate/rules.h"

namespace ccwpass::sim {

using translate::Ccw0;
using translate::Ccw1;
using translate::Irb;
using translate::Orb;
using translate::Schib;
using translate::Scsw;
namespace fctl = translate::scsw_fctl;
namespace actl = translate::scsw_actl;
namespace stctl = translate::scsw_stctl;
namespace dstat = translate::dev_stat;
namespace cstat = translate::sch_stat;
namespace flag = translate::ccw_flag;

namespace {
enum class Kind : uint8_t { kStart, kHalt, kClear };
}  // namespace

struct ChannelSubsystem::Subchannel {
  mutable absl::Mutex mu;
  translate::Pmcw pmcw ABSL_GUARDED_BY(mu);  // pam here is the installed-available base
  bool operational ABSL_GUARDED_BY(mu) = true;
  uint32_t latency_us ABSL_GUARDED_BY(mu) = 0;
  uint32_t halt_latency_us ABSL_GUARDED_BY(mu) = 0;
  std::unique_ptr<Device> device;  // used by the CSS thread only, under mu

  // The function in progress and its status.
  uint8_t fctl ABSL_GUARDED_BY(mu) = 0;
  uint8_t actl ABSL_GUARDED_BY(mu) = 0;
  bool status_pending ABSL_GUARDED_BY(mu) = false;
  Irb irb ABSL_GUARDED_BY(mu);  // valid while status_pending
  Orb orb ABSL_GUARDED_BY(mu);
  translate::GuestMemory* storage ABSL_GUARDED_BY(mu) = nullptr;
  uint64_t gen ABSL_GUARDED_BY(mu) = 0;  // bumped by SSCH, HSCH, CSCH: stale work is dropped
  Kind pending_kind ABSL_GUARDED_BY(mu) = Kind::kStart;
  uint8_t next_path ABSL_GUARDED_BY(mu) = 0;  // round-robin position for path selection

  std::optional<std::vector<uint8_t>> inject ABSL_GUARDED_BY(mu);  // unit check for the next start
  std::vector<uint8_t> injected_sense ABSL_GUARDED_BY(mu);         // SENSE answers this once
};

ChannelSubsystem::ChannelSubsystem() {
  for (auto& p : path_online_) p.store(true, std::memory_order_relaxed);
  thread_ = std::thread([this] { Run(); });
}

ChannelSubsystem::~ChannelSubsystem() {
  {
    absl::MutexLock l(&q_mu_);
    stop_ = true;
  }
  thread_.join();
}

uint32_t ChannelSubsystem::Add(SubchannelSetup setup) {
  auto s = std::make_unique<Subchannel>();
  {
    absl::MutexLock l(&s->mu);
    translate::Pmcw& p = s->pmcw;
    p.dnv = setup.dnv;
    p.dev = setup.devno;
    p.st = setup.type;
    p.pim = setup.pim;
    p.pam = setup.pam;
    p.pom = setup.pom;
    p.lpm = setup.pim;
    p.chpid = setup.chpids;
    p.qf = setup.qdio;
    p.csense = setup.concurrent_sense;
    p.mp = true;
    s->latency_us = setup.latency_us;
    s->operational = setup.device != nullptr;
  }
  s->device = std::move(setup.device);
  absl::MutexLock l(&subs_mu_);
  subs_.push_back(std::move(s));
  return static_cast<uint32_t>(subs_.size() - 1);
}

size_t ChannelSubsystem::size() const {
  absl::MutexLock l(&subs_mu_);
  return subs_.size();
}

void ChannelSubsystem::SetInterruptHandler(InterruptHandler h) {
  absl::MutexLock l(&handler_mu_);
  handler_ = std::move(h);
}

ChannelSubsystem::Subchannel* ChannelSubsystem::Get(uint32_t index) const {
  absl::MutexLock l(&subs_mu_);
  return index < subs_.size() ? subs_[index].get() : nullptr;
}

uint8_t ChannelSubsystem::OnlineMask(const Subchannel& s) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  uint8_t online = 0;
  for (int i = 0; i < 8; ++i) {
    if (path_online_[s.pmcw.chpid[i]].load(std::memory_order_relaxed)) online |= 0x80 >> i;
  }
  return online;
}

uint8_t ChannelSubsystem::UsablePaths(const Subchannel& s, uint8_t lpm) const
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return lpm & s.pmcw.pim & s.pmcw.pam & s.pmcw.pom & OnlineMask(s);
}

int ChannelSubsystem::Msch(uint32_t index, bool enable, uint32_t intparm) {
  Subchannel* s = Get(index);
  if (!s) return 3;
  absl::MutexLock l(&s->mu);
  if (s->status_pending) return 1;
  if (s->fctl != 0) return 2;
  s->pmcw.ena = enable;
  s->pmcw.intparm = intparm;
  return 0;
}

int ChannelSubsystem::Ssch(uint32_t index, const Orb& orb, translate::GuestMemory* storage) {
  Subchannel* s = Get(index);
  if (!s) return 3;
  absl::MutexLock l(&s->mu);
  if (s->status_pending) return 1;
  if (s->fctl != 0) return 2;
  const uint8_t paths = UsablePaths(*s, orb.lpm);
  if (!s->pmcw.ena || !s->operational || !s->device || paths == 0) return 3;
  // Path selection: the next usable path after the last one used.
  for (int i = 0; i < 8; ++i) {
    const uint8_t bit = 0x80 >> ((s->next_path + i) % 8);
    if (paths & bit) {
      s->pmcw.lpum = bit;
      s->next_path = static_cast<uint8_t>((s->next_path + i + 1) % 8);
      break;
    }
  }
  s->orb = orb;
  s->storage = storage;
  s->fctl = fctl::kStart;
  s->actl = actl::kStartPending;
  s->pending_kind = Kind::kStart;
  const uint64_t gen = ++s->gen;
  const auto due = std::chrono::steady_clock::now() + std::chrono::microseconds(s->latency_us);
  Enqueue({due, index, gen});
  return 0;
}

int ChannelSubsystem::Hsch(uint32_t index) {
  Subchannel* s = Get(index);
  if (!s) return 3;
  absl::MutexLock l(&s->mu);
  if (!s->operational) return 3;
  if (s->status_pending) return 1;
  if (s->fctl & (fctl::kHalt | fctl::kClear)) return 2;
  s->fctl |= fctl::kHalt;
  s->actl |= actl::kHaltPending;
  s->pending_kind = Kind::kHalt;
  const uint64_t gen = ++s->gen;  // a queued start function is cancelled
  Enqueue({std::chrono::steady_clock::now() + std::chrono::microseconds(s->halt_latency_us), index, gen});
  return 0;
}

int ChannelSubsystem::Csch(uint32_t index) {
  Subchannel* s = Get(index);
  if (!s) return 3;
  absl::MutexLock l(&s->mu);
  if (!s->operational) return 3;
  s->status_pending = false;  // clear discards pending status
  s->fctl = fctl::kClear;
  s->actl = actl::kClearPending;
  s->pending_kind = Kind::kClear;
  const uint64_t gen = ++s->gen;
  Enqueue({std::chrono::steady_clock::now(), index, gen});
  return 0;
}

int ChannelSubsystem::Stsch(uint32_t index, Schib* out) {
  Subchannel* s = Get(index);
  if (!s) return 3;
  absl::MutexLock l(&s->mu);
  *out = Schib{};
  out->pmcw = s->pmcw;
  out->pmcw.pam = s->pmcw.pam & OnlineMask(*s);  // a path configured offline is not available
  if (s->status_pending) {
    out->scsw = s->irb.scsw;
  } else {
    out->scsw.fctl = s->fctl;
    out->scsw.actl = s->actl;
    out->scsw.fmt = s->orb.fmt;
    out->scsw.cpa = s->orb.cpa;
  }
  return 0;
}

int ChannelSubsystem::Tsch(uint32_t index, Irb* out) {
  Subchannel* s = Get(index);
  if (!s) return 3;
  absl::MutexLock l(&s->mu);
  if (!s->status_pending) return 1;
  *out = s->irb;
  s->status_pending = false;
  if (!(s->irb.scsw.stctl & stctl::kIntermediate) || (s->irb.scsw.stctl & stctl::kPrimary)) {
    s->fctl = 0;  // the function is complete
    s->actl = 0;
  }
  return 0;
}

void ChannelSubsystem::SetPathOnline(uint8_t chpid, bool online) {
  path_online_[chpid].store(online, std::memory_order_relaxed);
}

bool ChannelSubsystem::PathOnline(uint8_t chpid) const {
  return path_online_[chpid].load(std::memory_order_relaxed);
}

void ChannelSubsystem::SetDeviceOperational(uint32_t index, bool operational) {
  if (Subchannel* s = Get(index)) {
    absl::MutexLock l(&s->mu);
    const bool was = s->operational;
    s->operational = operational && s->device != nullptr;
    if (was && !s->operational) {
      // What the device had to do never gets done: queued work is dropped,
      // without an interruption, and the subchannel is left without a function.
      ++s->gen;
      s->fctl = 0;
      s->actl = 0;
      s->status_pending = false;
    }
  }
}

void ChannelSubsystem::InjectUnitCheck(uint32_t index, std::vector<uint8_t> sense) {
  if (Subchannel* s = Get(index)) {
    absl::MutexLock l(&s->mu);
    s->inject = std::move(sense);
  }
}

void ChannelSubsystem::SetLatency(uint32_t index, uint32_t latency_us) {
  if (Subchannel* s = Get(index)) {
    absl::MutexLock l(&s->mu);
    s->latency_us = latency_us;
  }
}

void ChannelSubsystem::SetHaltLatency(uint32_t index, uint32_t latency_us) {
  if (Subchannel* s = Get(index)) {
    absl::MutexLock l(&s->mu);
    s->halt_latency_us = latency_us;
  }
}

uint32_t ChannelSubsystem::Latency(uint32_t index) const {
  Subchannel* s = Get(index);
  if (!s) return 0;
  absl::MutexLock l(&s->mu);
  return s->latency_us;
}

Device* ChannelSubsystem::device(uint32_t index) {
  Subchannel* s = Get(index);
  return s ? s->device.get() : nullptr;
}

void ChannelSubsystem::Quiesce(uint32_t index) {
  if (Subchannel* s = Get(index)) {
    absl::MutexLock l(&s->mu);
    ++s->gen;  // queued work is dropped
    s->fctl = 0;
    s->actl = 0;
    s->status_pending = false;
    s->pmcw.ena = false;
  }
}

CssStats ChannelSubsystem::stats() const {
  return CssStats{n_start_.load(), n_ccw_.load(), n_halt_.load(), n_clear_.load(), n_irq_.load()};
}

void ChannelSubsystem::Enqueue(WorkItem w) {
  absl::MutexLock l(&q_mu_);
  if (w.due <= std::chrono::steady_clock::now()) {
    ready_.push_back(w);
    n_ready_.fetch_add(1, std::memory_order_release);
  } else {
    timed_.push(w);
    ++timed_pushes_;
  }
}

void ChannelSubsystem::Run() {
  constexpr auto kSpin = std::chrono::microseconds(50);
  std::vector<WorkItem> batch;
  bool spin = false;
  auto idle_since = std::chrono::steady_clock::now();  // when the last batch ended
  for (;;) {
    bool spin_next;
    {
      absl::MutexLock l(&q_mu_);
      for (;;) {
        if (stop_) return;
        const auto now = std::chrono::steady_clock::now();
        while (!timed_.empty() && timed_.top().due <= now) {
          ready_.push_back(timed_.top());
          timed_.pop();
        }
        if (!ready_.empty()) break;
        if (spin) {
          // A channel subsystem with work in flight polls a little before it
          // sleeps: sleeping and waking cost more than a program does.
          spin = false;
          const auto until = std::min(now + kSpin, timed_.empty() ? now + kSpin : timed_.top().due);
          q_mu_.Unlock();
          while (n_ready_.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < until) {
          }
          q_mu_.Lock();
          continue;
        }
        const uint64_t pushes = timed_pushes_;
        auto wake = [this, pushes]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(q_mu_) {
          return stop_ || !ready_.empty() || timed_pushes_ != pushes;
        };
        if (timed_.empty()) {
          q_mu_.Await(absl::Condition(&wake));
        } else {
          const auto wait = timed_.top().due - now;
          q_mu_.AwaitWithTimeout(absl::Condition(&wake), absl::FromChrono(wait));
        }
      }
      // Poll after this batch only when work came back soon after the last
      // one: a busy channel subsystem (many programs in flight) gains, while
      // one that waits for each client's round trip would only take the core
      // that client needs to send the next program.
      spin_next = std::chrono::steady_clock::now() - idle_since < kSpin;
      batch.swap(ready_);
      n_ready_.store(0, std::memory_order_relaxed);
    }
    for (const WorkItem& w : batch) {
      Process(w);
    }
    batch.clear();
    idle_since = std::chrono::steady_clock::now();
    spin = spin_next;
  }
}

void ChannelSubsystem::Deliver(uint32_t index) {
  n_irq_.fetch_add(1, std::memory_order_relaxed);
  absl::ReaderMutexLock l(&handler_mu_);
  if (handler_) handler_(index);
}

void ChannelSubsystem::Process(const WorkItem& w) {
  Subchannel* s = Get(w.index);
  if (!s) return;
  {
    absl::MutexLock l(&s->mu);
    if (w.gen != s->gen) return;  // superseded by a later HSCH/CSCH/SSCH
    Scsw& sc = s->irb.scsw;
    switch (s->pending_kind) {
      case Kind::kStart:
        if (!ExecuteProgram(*s, w.index)) return;
        n_start_.fetch_add(1, std::memory_order_relaxed);
        break;
      case Kind::kHalt: {
        // The start function (if any) had not reached the device: it ends
        // without device status, the CPA at the program's first CCW.
        const bool had_start = s->fctl & fctl::kStart;
        s->irb = Irb{};
        sc.fctl = s->fctl;
        sc.stctl = stctl::kStatusPending;
        if (had_start) {
          sc.fmt = s->orb.fmt;
          sc.cpa = s->orb.cpa;
        }
        s->actl = 0;
        s->status_pending = true;
        n_halt_.fetch_add(1, std::memory_order_relaxed);
        break;
      }
      case Kind::kClear:
        s->irb = Irb{};
        sc.fctl = fctl::kClear;
        sc.stctl = stctl::kStatusPending;
        s->actl = 0;
        s->status_pending = true;
        n_clear_.fetch_add(1, std::memory_order_relaxed);
        break;
    }
  }
  Deliver(w.index);
}

// ---------------------------------------------------------------------------
// Program execution.

namespace {

// One CCW of a data chain, with the storage pieces its data occupies.
struct Segment {
  uint64_t ccw_addr = 0;
  Ccw1 ccw;
  std::vector<std::pair<uint64_t, uint32_t>> pieces;  // (address, length)
};

struct Check {
  bool program_check = false;
  uint64_t cpa = 0;  // address after the CCW at fault
};

// Fetches and decodes the CCW at `addr`. Program check for an unreadable or
// invalid CCW (SA22-7832 ch. 15 "Program Check"). For a CCW fetched for data
// chaining (`data_chained`) the command code is ignored unless it specifies
// TIC (SA22-7832 ch. 15 "Data Chaining").
bool FetchCcw(const translate::GuestMemory& mem, uint64_t addr, bool fmt1, bool data_chained, Ccw1* out) {
  if ((addr & 7) != 0 || addr > 0x7FFFFFFF) return false;
  std::array<uint8_t, 8> b;
  if (!mem.Read(addr, b).ok()) return false;
  if (fmt1) {
    *out = Ccw1::Decode(b);
    if ((out->cmd & 0x0F) == 0x08 && out->cmd != 0x08) return false;  // TIC: bits 0-3 must be zero
    if ((out->cmd & 0x0F) != 0x08 && out->cda > 0x7FFFFFFF) return false;
  } else {
    Ccw0 c0 = Ccw0::Decode(b);
    if (c0.reserved != 0) return false;
    *out = c0.ToFormat1();
    if ((out->cmd & 0x0F) != 0x08 && out->count == 0) return false;  // format 0: count zero is invalid
  }
  if (!data_chained && (out->cmd & 0x0F) == 0x00) return false;  // invalid command code
  return true;
}

// The storage pieces of `count` bytes described by the CCW (direct or IDAL).
bool DataPieces(const translate::GuestMemory& mem, const Orb& orb, const Ccw1& c, uint32_t count,
                std::vector<std::pair<uint64_t, uint32_t>>* out) {
  out->clear();
  if (count == 0) return true;
  if (c.flags & flag::kMida) return false;  // MIDAWs are not modelled (and need ORB D)
  if (!(c.flags & flag::kIda)) {
    if (!mem.Contains(c.cda, count)) return false;
    out->push_back({c.cda, count});
    return true;
  }
  const translate::IdawFormat f = orb.c64 ? translate::IdawFormat::kFormat2 : translate::IdawFormat::kFormat1;
  const size_t isz = translate::IdawSize(f);
  const uint32_t block = translate::IdawBlockSize(f, orb.i2k);
  if (c.cda & (isz - 1)) return false;  // IDAL must be word/doubleword aligned
  uint64_t idaw_addr = c.cda;
  uint32_t left = count;
  bool first = true;
  while (left > 0) {
    std::array<uint8_t, 8> b{};
    if (!mem.Read(idaw_addr, std::span<uint8_t>(b.data(), isz)).ok()) return false;
    const uint64_t a = translate::DecodeIdaw(f, std::span<const uint8_t>(b.data(), isz));
    if (f == translate::IdawFormat::kFormat1 && a > 0x7FFFFFFF) return false;
    if (!first && (a % block) != 0) return false;  // later IDAWs start on a block boundary
    const uint32_t n = std::min<uint32_t>(left, block - static_cast<uint32_t>(a % block));
    if (!mem.Contains(a, n)) return false;
    out->push_back({a, n});
    left -= n;
    idaw_addr += isz;
    first = false;
  }
  return true;
}

}  // namespace

bool ChannelSubsystem::ExecuteProgram(Subchannel& s, uint32_t index) {
  translate::GuestMemory& mem = *s.storage;
  const Orb orb = s.orb;
  const uint64_t gen = s.gen;
  Device* dev = s.device.get();
  s.actl = actl::kSubchannelActive | actl::kDeviceActive;
  dev->BeginChain();

  uint8_t ds = 0, cs = 0;
  uint64_t cpa = orb.cpa;
  uint16_t residual = 0;
  bool first_cmd = true;
  bool pci_seen = false;
  std::optional<std::vector<uint8_t>> ecw_sense;
  std::vector<Segment> chain;
  std::vector<uint8_t> buf;

  uint64_t addr = orb.cpa;
  bool prev_tic = false;
  for (;;) {
    // Gather one command: a CCW and the CCWs data-chained to it.
    chain.clear();
    bool pc = false;
    for (;;) {
      Ccw1 c;
      if (!FetchCcw(mem, addr, orb.fmt, !chain.empty(), &c)) {
        pc = true;
        cpa = addr + 8;
        break;
      }
      if ((c.cmd & 0x0F) == 0x08) {  // TIC
        if (prev_tic || (c.cda & 7) != 0) {
          pc = true;
          cpa = addr + 8;
          break;
        }
        prev_tic = true;
        addr = c.cda;
        continue;
      }
      prev_tic = false;
      if ((c.flags & flag::kSuspend) && !orb.spnd) {
        pc = true;
        cpa = addr + 8;
        break;
      }
      Segment seg{addr, c, {}};
      if (!DataPieces(mem, orb, c, c.count, &seg.pieces)) {
        pc = true;
        cpa = addr + 8;
        break;
      }
      chain.push_back(std::move(seg));
      if (c.flags & flag::kPci) pci_seen = true;
      if (!(c.flags & flag::kCd)) break;
      addr += 8;
    }
    if (pc) {
      cs |= cstat::kProgramCheck;
      break;
    }

    if (pci_seen) {
      // Intermediate interruption: the program goes on.
      pci_seen = false;
      Irb irb;
      irb.scsw.fmt = orb.fmt;
      irb.scsw.fctl = fctl::kStart;
      irb.scsw.actl = actl::kSubchannelActive | actl::kDeviceActive;
      irb.scsw.stctl = stctl::kIntermediate | stctl::kStatusPending;
      irb.scsw.cstat = cstat::kPci;
      irb.scsw.cpa = static_cast<uint32_t>(chain.back().ccw_addr + 8);
      irb.esw.lpum = s.pmcw.lpum;
      s.irb = irb;
      s.status_pending = true;
      s.mu.Unlock();
      Deliver(index);
      s.mu.Lock();
      if (s.gen != gen) {
        dev->EndChain();
        return false;
      }
    }

    const Ccw1& head = chain.front().ccw;
    const Ccw1& last = chain.back().ccw;
    uint32_t total = 0;
    for (const Segment& g : chain) total += g.ccw.count;
    buf.assign(total, 0);
    const bool data_in = translate::IsDataIn(head);
    if (!data_in) {
      size_t off = 0;
      for (const Segment& g : chain) {
        for (auto [a, n] : g.pieces) {
          (void)mem.Read(a, std::span<uint8_t>(buf.data() + off, n));
          off += n;
        }
      }
    }

    Command cmd{head.cmd, total, (last.flags & flag::kCc) != 0, first_cmd};
    CommandResult r;
    n_ccw_.fetch_add(1, std::memory_order_relaxed);
    if (first_cmd && s.inject) {
      s.injected_sense = std::move(*s.inject);
      s.inject.reset();
      r.status = dstat::kChannelEnd | dstat::kDeviceEnd | dstat::kUnitCheck;
      r.length = 0;
    } else if (head.cmd == translate::ccw_cmd::kSense && !s.injected_sense.empty()) {
      r.length = static_cast<uint32_t>(s.injected_sense.size());
      const size_t n = std::min<size_t>(total, r.length);
      if (n > 0) std::memcpy(buf.data(), s.injected_sense.data(), n);  // buf.data() may be null when total is 0
      s.injected_sense.clear();
    } else {
      r = dev->Execute(cmd, absl::MakeSpan(buf));
    }
    first_cmd = false;
    const uint32_t moved = std::min(r.length, total);

    // Store read data (not into the area of a CCW with SKIP: each CCW of a
    // data chain has its own flag) and find where the transfer ended.
    size_t off = 0;
    const bool backward = translate::IsReadBackward(head);
    size_t end_seg = chain.size() - 1;
    uint32_t left = moved;
    for (size_t i = 0; i < chain.size(); ++i) {
      const uint32_t here = std::min<uint32_t>(left, chain[i].ccw.count);
      if (data_in && !(chain[i].ccw.flags & flag::kSkip)) {
        uint32_t rem = here;
        for (auto [a, n] : chain[i].pieces) {
          if (rem == 0) break;
          const uint32_t k = std::min(rem, n);
          const size_t src = backward ? total - moved + off : off;
          (void)mem.Write(a, std::span<const uint8_t>(buf.data() + src, k));
          off += k;
          rem -= k;
        }
      } else {
        off += here;
      }
      left -= here;
      if (here < chain[i].ccw.count || i + 1 == chain.size()) {
        end_seg = i;
        residual = static_cast<uint16_t>(chain[i].ccw.count - here);
        break;
      }
    }
    cpa = chain[end_seg].ccw_addr + 8;
    ds = r.status;

    const bool il = r.length != total && !(ds & (dstat::kUnitCheck | dstat::kUnitException));
    const bool sli = chain[end_seg].ccw.flags & flag::kSli;
    if (il && !sli) cs |= cstat::kIncorrectLength;
    if ((ds & dstat::kUnitCheck) && s.pmcw.csense) {
      ecw_sense = s.injected_sense.empty() ? dev->Sense() : s.injected_sense;
    }
    const bool normal = (ds & ~dstat::kStatusModifier) == (dstat::kChannelEnd | dstat::kDeviceEnd);
    if (!normal || (cs & cstat::kIncorrectLength) || !(last.flags & flag::kCc)) break;
    // Command chaining: the next CCW, or the one after it on status modifier.
    addr = chain.back().ccw_addr + ((ds & dstat::kStatusModifier) ? 16 : 8);
  }
  dev->EndChain();

  Irb irb;
  Scsw& sc = irb.scsw;
  sc.fmt = orb.fmt;
  sc.fctl = fctl::kStart;
  sc.stctl = stctl::kPrimary | stctl::kSecondary | stctl::kStatusPending;
  if ((ds & (dstat::kUnitCheck | dstat::kUnitException)) || (cs & ~cstat::kPci)) sc.stctl |= stctl::kAlert;
  sc.cpa = static_cast<uint32_t>(cpa);
  sc.dstat = ds;
  sc.cstat = cs;
  sc.count = residual;
  irb.esw.lpum = s.pmcw.lpum;
  if (ecw_sense) {
    sc.ectl = true;
    irb.esw.erw_s = true;
    const size_t n = std::min(ecw_sense->size(), irb.ecw.size());
    irb.esw.erw_scnt = static_cast<uint8_t>(n);
    std::memcpy(irb.ecw.data(), ecw_sense->data(), n);
  }
  // An intermediate status not yet collected merges into the final one.
  if (s.status_pending && (s.irb.scsw.stctl & stctl::kIntermediate)) sc.cstat |= cstat::kPci;
  s.irb = irb;
  s.actl = 0;
  s.status_pending = true;
  return true;
}

}  // namespace ccwpass::sim
