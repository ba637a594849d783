#include "agent/core/io_stats.h"

#include <cerrno>

namespace ccwpass::agent {

const char* FailReasonName(FailReason r) {
  switch (r) {
    case FailReason::kPoliced: return "policed";
    case FailReason::kBusy: return "busy";
    case FailReason::kNoPath: return "no_path";
    case FailReason::kNotOperational: return "not_operational";
    case FailReason::kKernelRefused: return "kernel_refused";
    case FailReason::kUnitCheck: return "unit_check";
    case FailReason::kProgramCheck: return "program_check";
    case FailReason::kProtectionCheck: return "protection_check";
    case FailReason::kChannelCheck: return "channel_check";
    case FailReason::kDeadline: return "deadline";
    case FailReason::kCancelled: return "cancelled";
    case FailReason::kReleased: return "released";
    case FailReason::kOther: return "other";
  }
  return "other";
}

FailReason FailReasonForStartErrno(int neg_errno) {
  switch (-neg_errno) {
    case EBUSY:
    case EAGAIN:
      return FailReason::kBusy;
    case EACCES:
      return FailReason::kNoPath;
    case ENODEV:
    case EIO:
      return FailReason::kNotOperational;
    case EINVAL:
    case EFAULT:
    case ENOMEM:
    case EOPNOTSUPP:
      return FailReason::kKernelRefused;
    default:
      return FailReason::kOther;
  }
}

std::optional<FailReason> FailReasonForScsw(const translate::Scsw& scsw) {
  namespace ss = translate::sch_stat;
  if (scsw.cstat & ss::kProgramCheck) return FailReason::kProgramCheck;
  if (scsw.cstat & ss::kProtectionCheck) return FailReason::kProtectionCheck;
  if (scsw.cstat & (ss::kChannelDataCheck | ss::kChannelControlCheck | ss::kInterfaceControlCheck | ss::kChainingCheck)) {
    return FailReason::kChannelCheck;
  }
  if (scsw.dstat & translate::dev_stat::kUnitCheck) return FailReason::kUnitCheck;
  return std::nullopt;
}

void LatencyHistogram::Observe(absl::Duration d) {
  const double s = absl::ToDoubleSeconds(d);
  size_t i = 0;
  while (i < kLatencyBuckets.size() && s > kLatencyBuckets[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(0, absl::ToInt64Nanoseconds(d))),
                    std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::Read() const {
  Snapshot s;
  uint64_t n = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    n += s.buckets[i];
  }
  // The count is the sum of the buckets read, so that a snapshot is
  // consistent with itself even while Observe() runs.
  s.count = n;
  s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) * 1e-9;
  return s;
}

double LatencyHistogram::Snapshot::Quantile(double q) const {
  if (count == 0) return 0;
  const double rank = q * static_cast<double>(count);
  uint64_t below = 0;
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    const uint64_t in = buckets[i];
    if (in > 0 && static_cast<double>(below + in) >= rank) {
      const double lo = i == 0 ? 0.0 : kLatencyBuckets[i - 1];
      const double hi = kLatencyBuckets[i];
      return lo + (hi - lo) * (rank - static_cast<double>(below)) / static_cast<double>(in);
    }
    below += in;
  }
  return kLatencyBuckets.back();
}

void SubchannelStats::CountCrw(const translate::Crw& crw) {
  absl::MutexLock l(&crw_mu_);
  ++crws_[{crw.rsc, crw.erc}];
}

std::map<std::pair<uint8_t, uint8_t>, uint64_t> SubchannelStats::Crws() const {
  absl::MutexLock l(&crw_mu_);
  return crws_;
}

uint64_t SubchannelStatsSnapshot::failed_total() const {
  uint64_t n = 0;
  for (uint64_t f : failed) n += f;
  return n;
}

void CopyCounters(const SubchannelStats& s, SubchannelStatsSnapshot* out) {
  auto ld = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  out->started = ld(s.started);
  out->completed = ld(s.completed);
  for (int i = 0; i < kFailReasons; ++i) out->failed[i] = ld(s.failed[i]);
  out->bytes_read = ld(s.bytes_read);
  out->bytes_written = ld(s.bytes_written);
  out->in_flight = ld(s.in_flight);
  out->halts = ld(s.halts);
  out->clears = ld(s.clears);
  out->resets = ld(s.resets);
  out->unsolicited = ld(s.unsolicited);
  out->device_requests = ld(s.device_requests);
  out->crws = s.Crws();
  out->latency = s.latency.Read();
}

}  // namespace ccwpass::agent
