// I/O statistics the agent keeps per attached subchannel and for itself.
//
// Once a subchannel is on vfio_ccw the host has no I/O statistics for it: the
// channel-measurement data (cmf) lives on the ccw device, which is gone while
// the subchannel is passed through (reference/sysfs-and-peers.md). The agent
// counts what it runs instead. These counters are plain atomics written on the
// I/O path and read by the Prometheus collector (agent/metrics) and the Stats
// RPC (agent/service); neither of those is known here.
//
// The accounting of a channel program (one call of the I/O path):
//   started   = accepted by the vfio-ccw I/O region (SSCH cc 0);
//   completed = ended by a final interruption with channel end + device end
//               and no unit check and no subchannel error status;
//   failed    = everything else, by reason, whether or not it was started.
// So started == completed + failed{reasons after the start} + in flight.
#ifndef CCWPASS_AGENT_CORE_IO_STATS_H_
#define CCWPASS_AGENT_CORE_IO_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "translate/arch.h"

namespace ccwpass::agent {

// Upper bounds of the latency histogram buckets, in seconds: 10 µs to 10 s,
// 1-2.5-5 per decade (Prometheus' default spacing, extended down to 10 µs
// because a simulated or cached I/O takes tens of microseconds).
inline constexpr std::array<double, 19> kLatencyBuckets = {
    10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3,
    25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1.0,   2.5,  5.0,  10.0};

// Why a channel program failed. The names (FailReasonName) are the values of
// the `reason` label of ccw_programs_failed_total.
enum class FailReason : uint8_t {
  kPoliced,          // refused by the agent's translation/policy before the start
  kBusy,             // a program in progress, or the I/O region said -EBUSY/-EAGAIN
  kNoPath,           // -EACCES: the ORB's LPM names no operational path
  kNotOperational,   // -ENODEV/-EIO, or the FSM is NOT_OPER
  kKernelRefused,    // -EINVAL/-EFAULT/-ENOMEM/-EOPNOTSUPP from the I/O region
  kUnitCheck,        // device status unit check
  kProgramCheck,     // subchannel status program check
  kProtectionCheck,  // subchannel status protection check
  kChannelCheck,     // channel data/control check, interface control check, chaining check
  kDeadline,         // the request's deadline passed (halted/cleared)
  kCancelled,        // the client went away (halted/cleared)
  kReleased,         // the device was closed or requested back (REQ) meanwhile
  kOther,
};
inline constexpr int kFailReasons = static_cast<int>(FailReason::kOther) + 1;
// "policed", "busy", "no_path", "not_operational", "kernel_refused",
// "unit_check", "program_check", "protection_check", "channel_check",
// "deadline", "cancelled", "released", "other".
const char* FailReasonName(FailReason r);
// The reason for a negative errno returned by the I/O region write
// (Documentation/s390/vfio-ccw.rst, "vfio-ccw I/O region").
FailReason FailReasonForStartErrno(int neg_errno);
// The failure reason for a final interruption, or nullopt when it counts as
// completed: subchannel status first (program, protection, channel checks),
// then device status (unit check). SA22-7832 ch. 16, "Subchannel-Status Word".
std::optional<FailReason> FailReasonForScsw(const translate::Scsw& scsw);

// A cumulative latency histogram over kLatencyBuckets (lock-free).
class LatencyHistogram {
 public:
  struct Snapshot {
    std::array<uint64_t, kLatencyBuckets.size() + 1> buckets{};  // per bucket (not cumulative); last is +Inf
    uint64_t count = 0;
    double sum_seconds = 0;
    // The q-quantile (0 < q < 1) in seconds, interpolated linearly inside
    // its bucket the way PromQL's histogram_quantile() does; 0 when empty;
    // the largest finite bound when it falls into +Inf.
    double Quantile(double q) const;
  };
  void Observe(absl::Duration d);
  Snapshot Read() const;

 private:
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

// Counters of one subchannel, for as long as the agent has it attached
// (and until it leaves the host, so that a detach does not reset them; one
// that is to be attached again when it returns keeps them meanwhile).
struct SubchannelStats {
  std::atomic<uint64_t> started{0}, completed{0};
  std::array<std::atomic<uint64_t>, kFailReasons> failed{};
  std::atomic<uint64_t> bytes_read{0}, bytes_written{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> halts{0}, clears{0}, resets{0};
  std::atomic<uint64_t> unsolicited{0}, device_requests{0};
  LatencyHistogram latency;

  void CountFailure(FailReason r) { failed[static_cast<int>(r)].fetch_add(1, std::memory_order_relaxed); }
  // CRWs by (RSC, ERC): both are small fields (4 and 6 bits), so the set is bounded.
  void CountCrw(const translate::Crw& crw);
  std::map<std::pair<uint8_t, uint8_t>, uint64_t> Crws() const;

 private:
  mutable absl::Mutex crw_mu_;
  std::map<std::pair<uint8_t, uint8_t>, uint64_t> crws_ ABSL_GUARDED_BY(crw_mu_);
};

// A copy of one subchannel's counters, with what identifies it.
struct SubchannelStatsSnapshot {
  std::string schid;
  bool attached = false;
  bool handoff = false;
  std::string devno;                 // ccw bus id "0.0.e000", empty when unknown
  std::string mdev_uuid;
  std::string chpids;                // the CHPIDs of the installed paths (PIM), "40,41"
  std::optional<std::pair<uint16_t, uint8_t>> cu_type, dev_type;
  uint64_t started = 0, completed = 0;
  std::array<uint64_t, kFailReasons> failed{};
  uint64_t bytes_read = 0, bytes_written = 0;
  int64_t in_flight = 0;
  uint64_t halts = 0, clears = 0, resets = 0, unsolicited = 0, device_requests = 0;
  std::map<std::pair<uint8_t, uint8_t>, uint64_t> crws;
  LatencyHistogram::Snapshot latency;
  uint64_t failed_total() const;
};

// Agent-wide counters.
struct AgentStats {
  std::atomic<uint64_t> attach_ok{0}, attach_error{0}, detach_ok{0}, detach_error{0};
  LatencyHistogram attach_seconds, detach_seconds;
};

struct AgentStatsSnapshot {
  int attached_agent = 0, attached_handoff = 0;
  uint64_t attach_ok = 0, attach_error = 0, detach_ok = 0, detach_error = 0;
  LatencyHistogram::Snapshot attach_seconds, detach_seconds;
  uint64_t event_drops = 0;      // events lost by slow watchers, all time
  uint64_t events_published = 0;
  absl::Time started_at;
  // Sums over every subchannel with statistics.
  uint64_t programs_started = 0, programs_completed = 0, programs_failed = 0;
  uint64_t bytes_read = 0, bytes_written = 0;
};

// Fills a snapshot's counters from live stats (identity fields untouched).
void CopyCounters(const SubchannelStats& s, SubchannelStatsSnapshot* out);

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_CORE_IO_STATS_H_
