#include "agent/core/io_stats.h"

#include <cerrno>

#include "gtest/gtest.h"

namespace ccwpass::agent {
namespace {

TEST(FailReason, NamesAreTheLabelValues) {
  EXPECT_STREQ(FailReasonName(FailReason::kPoliced), "policed");
  EXPECT_STREQ(FailReasonName(FailReason::kNoPath), "no_path");
  EXPECT_STREQ(FailReasonName(FailReason::kKernelRefused), "kernel_refused");
  EXPECT_STREQ(FailReasonName(FailReason::kChannelCheck), "channel_check");
  EXPECT_STREQ(FailReasonName(FailReason::kOther), "other");
}

TEST(FailReason, ForStartErrno) {
  EXPECT_EQ(FailReasonForStartErrno(-EBUSY), FailReason::kBusy);
  EXPECT_EQ(FailReasonForStartErrno(-EAGAIN), FailReason::kBusy);
  EXPECT_EQ(FailReasonForStartErrno(-EACCES), FailReason::kNoPath);
  EXPECT_EQ(FailReasonForStartErrno(-ENODEV), FailReason::kNotOperational);
  EXPECT_EQ(FailReasonForStartErrno(-EIO), FailReason::kNotOperational);
  EXPECT_EQ(FailReasonForStartErrno(-EINVAL), FailReason::kKernelRefused);
  EXPECT_EQ(FailReasonForStartErrno(-EFAULT), FailReason::kKernelRefused);
  EXPECT_EQ(FailReasonForStartErrno(-ENOMEM), FailReason::kKernelRefused);
  EXPECT_EQ(FailReasonForStartErrno(-EOPNOTSUPP), FailReason::kKernelRefused);
  EXPECT_EQ(FailReasonForStartErrno(-EPERM), FailReason::kOther);
}

TEST(FailReason, ForScswSubchannelStatusBeforeDeviceStatus) {
  translate::Scsw s;
  s.dstat = translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd;
  EXPECT_EQ(FailReasonForScsw(s), std::nullopt);
  s.dstat |= translate::dev_stat::kUnitException;  // end of file: not a failure
  EXPECT_EQ(FailReasonForScsw(s), std::nullopt);
  s.dstat |= translate::dev_stat::kUnitCheck;
  EXPECT_EQ(FailReasonForScsw(s), FailReason::kUnitCheck);
  s.cstat = translate::sch_stat::kChainingCheck;
  EXPECT_EQ(FailReasonForScsw(s), FailReason::kChannelCheck);
  s.cstat = translate::sch_stat::kInterfaceControlCheck;
  EXPECT_EQ(FailReasonForScsw(s), FailReason::kChannelCheck);
  s.cstat = translate::sch_stat::kProtectionCheck | translate::sch_stat::kChannelDataCheck;
  EXPECT_EQ(FailReasonForScsw(s), FailReason::kProtectionCheck);
  s.cstat = translate::sch_stat::kProgramCheck | translate::sch_stat::kProtectionCheck;
  EXPECT_EQ(FailReasonForScsw(s), FailReason::kProgramCheck);
  s.cstat = translate::sch_stat::kIncorrectLength | translate::sch_stat::kPci;
  s.dstat = translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd;
  EXPECT_EQ(FailReasonForScsw(s), std::nullopt);
}

TEST(LatencyHistogram, BucketsAreUpperBoundsInclusive) {
  LatencyHistogram h;
  h.Observe(absl::Microseconds(10));   // le 10e-6
  h.Observe(absl::Microseconds(11));   // le 25e-6
  h.Observe(absl::Milliseconds(1));    // le 1e-3
  h.Observe(absl::Seconds(10));        // le 10
  h.Observe(absl::Seconds(11));        // +Inf
  const LatencyHistogram::Snapshot s = h.Read();
  EXPECT_EQ(s.count, 5u);
  EXPECT_EQ(s.buckets[0], 1u);
  EXPECT_EQ(s.buckets[1], 1u);
  EXPECT_EQ(s.buckets[6], 1u);
  EXPECT_EQ(s.buckets[18], 1u);
  EXPECT_EQ(s.buckets[19], 1u);
  EXPECT_DOUBLE_EQ(s.sum_seconds, 10e-6 + 11e-6 + 1e-3 + 10 + 11);
}

TEST(LatencyHistogram, QuantileInterpolatesInsideTheBucket) {
  LatencyHistogram h;
  EXPECT_EQ(h.Read().Quantile(0.5), 0);
  // 100 observations in (100 µs, 250 µs]: the median is half-way through it.
  for (int i = 0; i < 100; ++i) h.Observe(absl::Microseconds(200));
  LatencyHistogram::Snapshot s = h.Read();
  EXPECT_DOUBLE_EQ(s.Quantile(0.5), 100e-6 + 150e-6 * 0.5);
  EXPECT_DOUBLE_EQ(s.Quantile(0.99), 100e-6 + 150e-6 * 0.99);
  // Everything above 10 s: the largest finite bound.
  LatencyHistogram big;
  big.Observe(absl::Seconds(60));
  EXPECT_EQ(big.Read().Quantile(0.5), 10.0);
}

TEST(SubchannelStats, CopyCountersAndCrwsByRscErc) {
  SubchannelStats s;
  s.started = 7;
  s.completed = 5;
  s.CountFailure(FailReason::kUnitCheck);
  s.CountFailure(FailReason::kDeadline);
  s.CountFailure(FailReason::kPoliced);
  s.bytes_read = 4096;
  s.CountCrw(translate::Crw{.rsc = 4, .erc = 6, .rsid = 1});
  s.CountCrw(translate::Crw{.rsc = 4, .erc = 6, .rsid = 2});
  s.CountCrw(translate::Crw{.rsc = 4, .erc = 2, .rsid = 1});
  SubchannelStatsSnapshot snap;
  CopyCounters(s, &snap);
  EXPECT_EQ(snap.started, 7u);
  EXPECT_EQ(snap.completed, 5u);
  EXPECT_EQ(snap.failed_total(), 3u);
  EXPECT_EQ(snap.failed[static_cast<int>(FailReason::kUnitCheck)], 1u);
  EXPECT_EQ(snap.bytes_read, 4096u);
  const std::map<std::pair<uint8_t, uint8_t>, uint64_t> want = {{{4, 2}, 1}, {{4, 6}, 2}};
  EXPECT_EQ(snap.crws, want);
}

}  // namespace
}  // namespace ccwpass::agent
