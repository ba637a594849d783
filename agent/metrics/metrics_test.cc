#include "agent/metrics/metrics.h"

#include <curl/curl.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "testing/status_matchers.h"

namespace ccwpass::agent {
namespace {

using ::ccwpass::testing::IsOk;
using ::ccwpass::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::Not;

SubchannelStatsSnapshot Dasd() {
  SubchannelStatsSnapshot s;
  s.schid = "0.0.0003";
  s.attached = true;
  s.devno = "0.0.e000";
  s.mdev_uuid = "8f0a6e5c-3b2d-4c1e-9f7a-0123456789ab";
  s.chpids = "40,41";
  s.cu_type = std::make_pair(uint16_t{0x3990}, uint8_t{0xe9});
  s.dev_type = std::make_pair(uint16_t{0x3390}, uint8_t{0x0c});
  s.started = 12;
  s.completed = 9;
  s.failed[static_cast<int>(FailReason::kUnitCheck)] = 2;
  s.failed[static_cast<int>(FailReason::kPoliced)] = 1;
  s.failed[static_cast<int>(FailReason::kDeadline)] = 1;
  s.bytes_read = 8192;
  s.bytes_written = 4096;
  s.in_flight = 0;
  s.halts = 1;
  s.crws = {{{4, 6}, 2}};
  s.latency.buckets[3] = 10;  // (50 µs, 100 µs]
  s.latency.buckets[19] = 1;  // > 10 s
  s.latency.count = 11;
  s.latency.sum_seconds = 12.5;
  return s;
}

AgentStatsSnapshot Wide() {
  AgentStatsSnapshot a;
  a.attached_agent = 1;
  a.attach_ok = 3;
  a.attach_error = 1;
  a.detach_ok = 2;
  a.event_drops = 5;
  a.events_published = 40;
  a.started_at = absl::FromUnixSeconds(1700000000);
  return a;
}

StatsSource Fixed() {
  return StatsSource{[] { return std::vector<SubchannelStatsSnapshot>{Dasd()}; }, [] { return Wide(); }};
}

std::string Text(const StatsSource& source) {
  std::string text;
  RenderText(source, &text);
  return text;
}

TEST(RenderText, PerSubchannelSeries) {
  const std::string text = Text(Fixed());
  EXPECT_THAT(text, HasSubstr("# TYPE ccw_programs_started_total counter\nccw_programs_started_total{schid=\"0.0.0003\"} 12\n"));
  EXPECT_THAT(text, HasSubstr("ccw_programs_completed_total{schid=\"0.0.0003\"} 9\n"));
  EXPECT_THAT(text, HasSubstr("ccw_programs_failed_total{schid=\"0.0.0003\",reason=\"policed\"} 1\n"
                              "ccw_programs_failed_total{schid=\"0.0.0003\",reason=\"unit_check\"} 2\n"
                              "ccw_programs_failed_total{schid=\"0.0.0003\",reason=\"deadline\"} 1\n"));
  // Reasons that never happened are not exported.
  EXPECT_THAT(text, Not(HasSubstr("reason=\"busy\"")));
  EXPECT_THAT(text, HasSubstr("ccw_read_bytes_total{schid=\"0.0.0003\"} 8192\n"));
  EXPECT_THAT(text, HasSubstr("ccw_written_bytes_total{schid=\"0.0.0003\"} 4096\n"));
  EXPECT_THAT(text, HasSubstr("ccw_crws_total{schid=\"0.0.0003\",rsc=\"4\",erc=\"6\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("ccw_halts_total{schid=\"0.0.0003\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ccw_subchannel_info{schid=\"0.0.0003\",devno=\"0.0.e000\",cu_type=\"3990/e9\","
                              "dev_type=\"3390/0c\",chpids=\"40,41\","
                              "mdev_uuid=\"8f0a6e5c-3b2d-4c1e-9f7a-0123456789ab\",mode=\"agent\"} 1\n"));
}

TEST(RenderText, LatencyHistogramIsCumulativeWithInf) {
  const std::string text = Text(Fixed());
  EXPECT_THAT(text, HasSubstr("# TYPE ccw_program_duration_seconds histogram\n"
                              "ccw_program_duration_seconds_count{schid=\"0.0.0003\"} 11\n"
                              "ccw_program_duration_seconds_sum{schid=\"0.0.0003\"} 12.5\n"
                              "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"1e-05\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"5e-05\"} 0\n"
                              "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.0001\"} 10\n"));
  EXPECT_THAT(text, HasSubstr("ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"10\"} 10\n"
                              "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"+Inf\"} 11\n"));
}

TEST(RenderText, AgentWideSeries) {
  const std::string text = Text(Fixed());
  EXPECT_THAT(text, HasSubstr("ccw_attached_subchannels{mode=\"agent\"} 1\nccw_attached_subchannels{mode=\"handoff\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ccw_attaches_total{result=\"ok\"} 3\nccw_attaches_total{result=\"error\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ccw_detaches_total{result=\"ok\"} 2\nccw_detaches_total{result=\"error\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ccw_event_drops_total 5\n"));
  EXPECT_THAT(text, HasSubstr("ccw_events_published_total 40\n"));
  EXPECT_THAT(text, HasSubstr("ccw_agent_start_time_seconds 1700000000\n"));
  EXPECT_THAT(text, HasSubstr("ccw_build_info{version=\"0.1.0\",compiler=\"gcc "));
}

TEST(RenderText, DetachedSubchannelKeepsItsCountersWithModeDetached) {
  SubchannelStatsSnapshot s = Dasd();
  s.attached = false;
  StatsSource src{[s] { return std::vector<SubchannelStatsSnapshot>{s}; }, [] { return AgentStatsSnapshot{}; }};
  const std::string text = Text(src);
  EXPECT_THAT(text, HasSubstr(",mode=\"detached\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ccw_programs_started_total{schid=\"0.0.0003\"} 12\n"));
}

// The per-subchannel families as prometheus-cpp builds and writes them
// (ClientMetric objects through its TextSerializer): the way the agent
// rendered them before AppendSubchannelText, kept here as the reference that
// the direct text must match byte for byte.
std::string ReferenceText(const std::vector<SubchannelStatsSnapshot>& subs) {
  using prometheus::ClientMetric;
  using prometheus::MetricFamily;
  using prometheus::MetricType;
  std::vector<MetricFamily> fams;
  auto family = [&fams](const char* name, MetricType type, const char* help) {
    fams.push_back(MetricFamily{name, help, type, {}});
  };
  auto sample = [](MetricFamily& f, std::vector<ClientMetric::Label> labels) -> ClientMetric& {
    f.metric.push_back(ClientMetric{});
    f.metric.back().label = std::move(labels);
    return f.metric.back();
  };
  auto type_text = [](const std::optional<std::pair<uint16_t, uint8_t>>& t) {
    return t ? absl::StrFormat("%04x/%02x", t->first, t->second) : std::string();
  };
  family("ccw_subchannel_info", MetricType::Gauge, "A subchannel the agent has attached: its identity as labels (value 1)");
  for (const SubchannelStatsSnapshot& s : subs) {
    sample(fams.back(), {{"schid", s.schid},
                         {"devno", s.devno},
                         {"cu_type", type_text(s.cu_type)},
                         {"dev_type", type_text(s.dev_type)},
                         {"chpids", s.chpids},
                         {"mdev_uuid", s.mdev_uuid},
                         {"mode", !s.attached ? "detached" : s.handoff ? "handoff" : "agent"}})
        .gauge.value = 1;
  }
  // One counter (or gauge) sample per subchannel.
  auto each = [&](const char* name, MetricType type, const char* help, auto value) {
    family(name, type, help);
    for (const SubchannelStatsSnapshot& s : subs) {
      ClientMetric& m = sample(fams.back(), {{"schid", s.schid}});
      (type == MetricType::Gauge ? m.gauge.value : m.counter.value) = static_cast<double>(value(s));
    }
  };
  using S = SubchannelStatsSnapshot;
  each("ccw_programs_started_total", MetricType::Counter,
       "Channel programs accepted by the vfio-ccw I/O region (start subchannel cc 0)", [](const S& s) { return s.started; });
  each("ccw_programs_completed_total", MetricType::Counter,
       "Channel programs ended by channel end and device end without an error status",
       [](const S& s) { return s.completed; });
  family("ccw_programs_failed_total", MetricType::Counter, "Channel programs that failed, before or after the start, by reason");
  for (const S& s : subs) {
    for (int r = 0; r < kFailReasons; ++r) {
      if (s.failed[r] == 0) continue;
      sample(fams.back(), {{"schid", s.schid}, {"reason", FailReasonName(static_cast<FailReason>(r))}}).counter.value =
          static_cast<double>(s.failed[r]);
    }
  }
  each("ccw_read_bytes_total", MetricType::Counter, "Bytes the device sent (read CCWs), as moved back to the client",
       [](const S& s) { return s.bytes_read; });
  each("ccw_written_bytes_total", MetricType::Counter, "Bytes sent to the device (write CCWs)",
       [](const S& s) { return s.bytes_written; });
  family("ccw_program_duration_seconds", MetricType::Histogram,
         "Time from the start of a channel program to its final interruption");
  for (const S& s : subs) {
    ClientMetric::Histogram& h = sample(fams.back(), {{"schid", s.schid}}).histogram;
    h.sample_count = s.latency.count;
    h.sample_sum = s.latency.sum_seconds;
    for (size_t i = 0; i <= kLatencyBuckets.size(); ++i) {
      h.bucket.push_back({(i ? h.bucket.back().cumulative_count : 0) + s.latency.buckets[i],
                          i < kLatencyBuckets.size() ? kLatencyBuckets[i] : std::numeric_limits<double>::infinity()});
    }
  }
  each("ccw_programs_in_flight", MetricType::Gauge, "Channel programs started and not yet ended",
       [](const S& s) { return s.in_flight; });
  family("ccw_crws_total", MetricType::Counter, "Channel report words received, by reporting-source and error-recovery code");
  for (const S& s : subs) {
    for (const auto& [key, n] : s.crws) {
      sample(fams.back(), {{"schid", s.schid}, {"rsc", std::to_string(key.first)}, {"erc", std::to_string(key.second)}})
          .counter.value = static_cast<double>(n);
    }
  }
  each("ccw_halts_total", MetricType::Counter, "HALT SUBCHANNEL functions issued (by clients and on deadlines)",
       [](const S& s) { return s.halts; });
  each("ccw_clears_total", MetricType::Counter, "CLEAR SUBCHANNEL functions issued (by clients and on deadlines)",
       [](const S& s) { return s.clears; });
  each("ccw_resets_total", MetricType::Counter, "VFIO device resets requested by clients",
       [](const S& s) { return s.resets; });
  each("ccw_unsolicited_interrupts_total", MetricType::Counter, "Interruptions no request was waiting for",
       [](const S& s) { return s.unsolicited; });
  each("ccw_device_requests_total", MetricType::Counter,
       "Device requests from the kernel (the REQ IRQ: the device must be released)",
       [](const S& s) { return s.device_requests; });
  return prometheus::TextSerializer().Serialize(fams);
}

std::string Direct(const std::vector<SubchannelStatsSnapshot>& subs) {
  std::string text;
  AppendSubchannelText(subs, &text);
  return text;
}

TEST(AppendSubchannelText, OneDasdExactly) {
  EXPECT_EQ(Direct({Dasd()}),
            "# HELP ccw_subchannel_info A subchannel the agent has attached: its identity as labels (value 1)\n"
            "# TYPE ccw_subchannel_info gauge\n"
            "ccw_subchannel_info{schid=\"0.0.0003\",devno=\"0.0.e000\",cu_type=\"3990/e9\",dev_type=\"3390/0c\","
            "chpids=\"40,41\",mdev_uuid=\"8f0a6e5c-3b2d-4c1e-9f7a-0123456789ab\",mode=\"agent\"} 1\n"
            "# HELP ccw_programs_started_total Channel programs accepted by the vfio-ccw I/O region (start subchannel cc 0)\n"
            "# TYPE ccw_programs_started_total counter\n"
            "ccw_programs_started_total{schid=\"0.0.0003\"} 12\n"
            "# HELP ccw_programs_completed_total Channel programs ended by channel end and device end without an error status\n"
            "# TYPE ccw_programs_completed_total counter\n"
            "ccw_programs_completed_total{schid=\"0.0.0003\"} 9\n"
            "# HELP ccw_programs_failed_total Channel programs that failed, before or after the start, by reason\n"
            "# TYPE ccw_programs_failed_total counter\n"
            "ccw_programs_failed_total{schid=\"0.0.0003\",reason=\"policed\"} 1\n"
            "ccw_programs_failed_total{schid=\"0.0.0003\",reason=\"unit_check\"} 2\n"
            "ccw_programs_failed_total{schid=\"0.0.0003\",reason=\"deadline\"} 1\n"
            "# HELP ccw_read_bytes_total Bytes the device sent (read CCWs), as moved back to the client\n"
            "# TYPE ccw_read_bytes_total counter\n"
            "ccw_read_bytes_total{schid=\"0.0.0003\"} 8192\n"
            "# HELP ccw_written_bytes_total Bytes sent to the device (write CCWs)\n"
            "# TYPE ccw_written_bytes_total counter\n"
            "ccw_written_bytes_total{schid=\"0.0.0003\"} 4096\n"
            "# HELP ccw_program_duration_seconds Time from the start of a channel program to its final interruption\n"
            "# TYPE ccw_program_duration_seconds histogram\n"
            "ccw_program_duration_seconds_count{schid=\"0.0.0003\"} 11\n"
            "ccw_program_duration_seconds_sum{schid=\"0.0.0003\"} 12.5\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"1e-05\"} 0\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"2.5e-05\"} 0\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"5e-05\"} 0\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.0001\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.00025\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.0005\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.001\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.0025\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.005\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.01\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.025\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.05\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.1\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.25\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.5\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"1\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"2.5\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"5\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"10\"} 10\n"
            "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"+Inf\"} 11\n"
            "# HELP ccw_programs_in_flight Channel programs started and not yet ended\n"
            "# TYPE ccw_programs_in_flight gauge\n"
            "ccw_programs_in_flight{schid=\"0.0.0003\"} 0\n"
            "# HELP ccw_crws_total Channel report words received, by reporting-source and error-recovery code\n"
            "# TYPE ccw_crws_total counter\n"
            "ccw_crws_total{schid=\"0.0.0003\",rsc=\"4\",erc=\"6\"} 2\n"
            "# HELP ccw_halts_total HALT SUBCHANNEL functions issued (by clients and on deadlines)\n"
            "# TYPE ccw_halts_total counter\n"
            "ccw_halts_total{schid=\"0.0.0003\"} 1\n"
            "# HELP ccw_clears_total CLEAR SUBCHANNEL functions issued (by clients and on deadlines)\n"
            "# TYPE ccw_clears_total counter\n"
            "ccw_clears_total{schid=\"0.0.0003\"} 0\n"
            "# HELP ccw_resets_total VFIO device resets requested by clients\n"
            "# TYPE ccw_resets_total counter\n"
            "ccw_resets_total{schid=\"0.0.0003\"} 0\n"
            "# HELP ccw_unsolicited_interrupts_total Interruptions no request was waiting for\n"
            "# TYPE ccw_unsolicited_interrupts_total counter\n"
            "ccw_unsolicited_interrupts_total{schid=\"0.0.0003\"} 0\n"
            "# HELP ccw_device_requests_total Device requests from the kernel (the REQ IRQ: the device must be released)\n"
            "# TYPE ccw_device_requests_total counter\n"
            "ccw_device_requests_total{schid=\"0.0.0003\"} 0\n");
}

TEST(AppendSubchannelText, NoSubchannelsLeavesTheHeadersOnly) {
  const std::string text = Direct({});
  EXPECT_EQ(text, ReferenceText({}));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 28);  // 14 families × (HELP + TYPE)
}

TEST(AppendSubchannelText, EscapesLabelValuesAndWritesEdgeValuesAsPrometheusCppDoes) {
  SubchannelStatsSnapshot odd;
  odd.schid = "0.0.\"01\\\n";
  odd.attached = true;
  odd.handoff = true;
  odd.devno = "back\\slash";
  odd.chpids = "";
  odd.started = (uint64_t{1} << 53) + 1;  // rounds as a double
  odd.completed = 999999999999999;        // the largest written by the integer shortcut
  odd.bytes_read = 1000000000000000;      // the smallest written by to_chars (%.16g: still all digits)
  odd.bytes_written = std::numeric_limits<uint64_t>::max();
  odd.in_flight = -3;
  odd.halts = 12345678901234567;
  odd.crws = {{{0, 0}, 1}, {{15, 63}, 7}};
  for (int r = 0; r < kFailReasons; ++r) odd.failed[r] = static_cast<uint64_t>(r + 1);
  odd.latency.buckets.fill(std::numeric_limits<uint64_t>::max() / 32);
  odd.latency.count = std::numeric_limits<uint64_t>::max();
  std::vector<SubchannelStatsSnapshot> subs;
  for (double sum : {0.0, -0.0, 0.1, 1e-7, 123456.789012345, 1e15, 1e16, 1e300, 5e-324, -2.5,
                     std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    odd.latency.sum_seconds = sum;
    subs.push_back(odd);
  }
  const std::string text = Direct(subs);
  EXPECT_EQ(text, ReferenceText(subs));
  const std::string sch = "{schid=\"0.0.\\\"01\\\\\\n\"";  // {schid="0.0.\"01\\\n"
  for (const std::string& line : {
           "ccw_subchannel_info" + sch + ",devno=\"back\\\\slash\",cu_type=\"\",dev_type=\"\",chpids=\"\","
               "mdev_uuid=\"\",mode=\"handoff\"} 1\n",
           "ccw_programs_started_total" + sch + "} 9007199254740992\n",
           "ccw_read_bytes_total" + sch + "} 1000000000000000\n",
           "ccw_written_bytes_total" + sch + "} 1.844674407370955e+19\n",
           "ccw_programs_in_flight" + sch + "} -3\n",
           "_sum" + sch + "} -0\n",
           "_sum" + sch + "} Nan\n",
           "_sum" + sch + "} -Inf\n",
           "ccw_crws_total" + sch + ",rsc=\"15\",erc=\"63\"} 7\n",
       }) {
    EXPECT_THAT(text, HasSubstr(line));
  }
}

TEST(AppendSubchannelText, MatchesPrometheusCppOnRandomSnapshots) {
  std::mt19937_64 rng(20261121);
  // Counters of every magnitude; sums from random bit patterns (NaN, infinities and subnormals included).
  auto counter = [&rng] { return rng() >> (rng() % 64); };
  std::vector<SubchannelStatsSnapshot> subs;
  for (int i = 0; i < 500; ++i) {
    SubchannelStatsSnapshot s = Dasd();
    s.schid = absl::StrFormat("0.%d.%04x", i % 4, i);
    s.attached = i % 3 != 0;
    s.handoff = i % 5 == 0;
    if (i % 7 == 0) s.cu_type.reset();
    s.started = counter();
    s.completed = counter();
    for (uint64_t& f : s.failed) f = rng() % 3 == 0 ? counter() : 0;
    s.bytes_read = counter();
    s.bytes_written = counter();
    s.in_flight = static_cast<int64_t>(counter()) - static_cast<int64_t>(counter());
    s.halts = counter();
    s.device_requests = counter();
    s.crws.clear();
    for (uint64_t n = rng() % 4; n > 0; --n) s.crws[{rng() % 16, rng() % 64}] = counter();
    for (uint64_t& b : s.latency.buckets) b = counter() >> 5;
    s.latency.count = counter();
    const uint64_t bits = rng();
    std::memcpy(&s.latency.sum_seconds, &bits, sizeof bits);
    subs.push_back(s);
  }
  EXPECT_EQ(Direct(subs), ReferenceText(subs));
}

TEST(RenderText, SubchannelFamiliesThenTheAgentsExactly) {
  const std::string text = Text(Fixed());
  EXPECT_EQ(text, Direct({Dasd()}) + prometheus::TextSerializer().Serialize(AgentFamilies(Wide())));
  const std::string compiler = absl::StrCat("gcc ", __VERSION__);
  EXPECT_THAT(text, ::testing::EndsWith(
                        "# HELP ccw_agent_start_time_seconds When the agent started, seconds since the Unix epoch\n"
                        "# TYPE ccw_agent_start_time_seconds gauge\n"
                        "ccw_agent_start_time_seconds 1700000000\n"
                        "# HELP ccw_build_info The agent's version and compiler (value 1)\n"
                        "# TYPE ccw_build_info gauge\n"
                        "ccw_build_info{version=\"0.1.0\",compiler=\"" + compiler + "\"} 1\n"));
}

TEST(AcceptsGzip, ReadsTheCodingsAndTheirQValues) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("GZip"));
  EXPECT_TRUE(AcceptsGzip("deflate, gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate;q=1, gzip;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_TRUE(AcceptsGzip(" gzip ; q=0.001 "));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("deflate, br"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip; q=0.0, br"));
  EXPECT_FALSE(AcceptsGzip("x-gzip"));
}

// The bytes `gz` inflates to (zlib with gzip framing), or "" on an error.
std::string Gunzip(const std::string& gz) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return "";
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  const bool whole = rc == Z_STREAM_END && zs.avail_in == 0;
  inflateEnd(&zs);
  return whole ? out : "";
}

TEST(Gzip, RoundTripsAtEveryLevel) {
  const std::string text = Text(Fixed());
  for (int level = 1; level <= 9; ++level) {
    absl::StatusOr<std::string> gz = Gzip(text, level);
    ASSERT_THAT(gz.status(), IsOk());
    // Magic, deflate, no flags, no time, XFL (4 fastest, 2 smallest, else 0), OS Unix.
    EXPECT_EQ(gz->substr(0, 10), std::string("\x1f\x8b\x08\0\0\0\0\0", 8) +
                                     (level == 1 ? '\x04' : level == 9 ? '\x02' : '\0') + '\x03');
    EXPECT_LT(gz->size(), text.size() / 4);
    EXPECT_EQ(Gunzip(*gz), text) << "level " << level;
  }
  for (const std::string& small : {std::string(), std::string("x")}) {
    absl::StatusOr<std::string> gz = Gzip(small, 1, 4);
    ASSERT_THAT(gz.status(), IsOk());
    EXPECT_EQ(Gunzip(*gz), small);
  }
}

TEST(Gzip, PiecesOnThreadsMakeOneMember) {
  // 3,000 subchannels: ~6 MB, enough for 4 pieces of at least 256 KiB.
  std::vector<SubchannelStatsSnapshot> subs(3000, Dasd());
  for (size_t i = 0; i < subs.size(); ++i) {
    subs[i].schid = absl::StrFormat("0.0.%04x", i);
    subs[i].started = i * 7919;
  }
  const std::string text = Direct(subs);
  absl::StatusOr<std::string> one = Gzip(text, 1, 1);
  ASSERT_THAT(one.status(), IsOk());
  for (int threads = 1; threads <= 4; ++threads) {
    absl::StatusOr<std::string> gz = Gzip(text, 1, threads);
    ASSERT_THAT(gz.status(), IsOk());
    EXPECT_EQ(Gunzip(*gz), text) << threads << " threads";
    // The same trailer (CRC-32, length) however it was cut.
    EXPECT_EQ(gz->substr(gz->size() - 8), one->substr(one->size() - 8));
    if (threads > 1) {
      EXPECT_NE(*gz, *one);  // it was cut
    }
  }
}

TEST(Gzip, Errors) {
  EXPECT_THAT(Gzip("x", 0).status(), StatusIs(absl::StatusCode::kInvalidArgument, "gzip level 0 is not in 1..9"));
  EXPECT_THAT(Gzip("x", 10).status(), StatusIs(absl::StatusCode::kInvalidArgument, "gzip level 10 is not in 1..9"));
  EXPECT_THAT(Gzip("x", 1, 0).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "gzip threads 0 is not at least 1"));
}

size_t Append(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

// GET http://127.0.0.1:port/path, with "Accept-Encoding: <accept_encoding>"
// when not empty (curl then leaves the body as it came); the body, or "" with
// *code set. `*headers`: the response's header lines.
std::string Get(int port, const std::string& path, long* code, const std::string& accept_encoding = "",
                std::string* headers = nullptr) {
  CURL* c = curl_easy_init();
  std::string body, head;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
  curl_slist* extra = nullptr;
  if (!accept_encoding.empty()) {
    extra = curl_slist_append(extra, ("Accept-Encoding: " + accept_encoding).c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, extra);
  }
  const CURLcode rc = curl_easy_perform(c);
  *code = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
  curl_slist_free_all(extra);
  curl_easy_cleanup(c);
  if (headers) *headers = head;
  return body;
}

// The endpoint's own series before the ccw_* ones, as prometheus-cpp's
// Exposer wrote them: after `scrapes` scrapes of `bytes` in all, whose
// latencies are not known here (only their absence is).
std::string ExposerText(uint64_t bytes, uint64_t scrapes) {
  return absl::StrCat(
      "# HELP exposer_transferred_bytes_total Transferred bytes to metrics services\n"
      "# TYPE exposer_transferred_bytes_total counter\n"
      "exposer_transferred_bytes_total ", bytes, "\n"
      "# HELP exposer_scrapes_total Number of times metrics were scraped\n"
      "# TYPE exposer_scrapes_total counter\n"
      "exposer_scrapes_total ", scrapes, "\n"
      "# HELP exposer_request_latencies Latencies of serving scrape requests, in microseconds\n"
      "# TYPE exposer_request_latencies summary\n"
      "exposer_request_latencies_count ", scrapes, "\n");
}

TEST(MetricsServer, ServesTheTextFormatOnAnEphemeralPort) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> s = MetricsServer::Start("127.0.0.1:0", Fixed());
  ASSERT_THAT(s.status(), IsOk());
  ASSERT_GT((*s)->port(), 0);
  long code = 0;
  std::string headers;
  const std::string body = Get((*s)->port(), "/metrics", &code, "", &headers);
  EXPECT_EQ(code, 200);
  EXPECT_THAT(headers, HasSubstr("\r\nContent-Type: text/plain; charset=utf-8\r\n"));
  EXPECT_THAT(headers, Not(HasSubstr("Content-Encoding")));
  EXPECT_EQ(body, ExposerText(0, 0) +
                      "exposer_request_latencies_sum 0\n"
                      "exposer_request_latencies{quantile=\"0.5\"} Nan\n"
                      "exposer_request_latencies{quantile=\"0.9\"} Nan\n"
                      "exposer_request_latencies{quantile=\"0.99\"} Nan\n" +
                      Text(Fixed()));
  // The next scrape counts the first.
  const std::string again = Get((*s)->port(), "/metrics", &code);
  EXPECT_THAT(again, StartsWith(ExposerText(body.size(), 1)));
  EXPECT_THAT(again, ::testing::EndsWith(Text(Fixed())));
}

TEST(MetricsServer, CompressesWhenTheClientAcceptsGzip) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> s = MetricsServer::Start("127.0.0.1:0", Fixed());
  ASSERT_THAT(s.status(), IsOk());
  long code = 0;
  std::string headers;
  // What a Prometheus server sends.
  const std::string gz = Get((*s)->port(), "/metrics", &code, "gzip", &headers);
  EXPECT_EQ(code, 200);
  EXPECT_THAT(headers, HasSubstr("\r\nContent-Encoding: gzip\r\n"));
  EXPECT_THAT(headers, HasSubstr(absl::StrCat("\r\nContent-Length: ", gz.size(), "\r\n")));
  EXPECT_THAT(Gunzip(gz), StartsWith(ExposerText(0, 0)));
  EXPECT_THAT(Gunzip(gz), ::testing::EndsWith(Text(Fixed())));
  // Not for a client that refuses it; the bytes transferred are the compressed ones.
  const std::string plain = Get((*s)->port(), "/metrics", &code, "gzip;q=0, identity", &headers);
  EXPECT_THAT(headers, Not(HasSubstr("Content-Encoding")));
  EXPECT_THAT(plain, StartsWith(ExposerText(gz.size(), 1)));
}

TEST(MetricsServer, Errors) {
  EXPECT_THAT(MetricsServer::Start("127.0.0.1", Fixed()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "metrics address \"127.0.0.1\" has no port (use HOST:PORT, for example 127.0.0.1:9810)"));
  absl::StatusOr<std::unique_ptr<MetricsServer>> first = MetricsServer::Start("127.0.0.1:0", Fixed());
  ASSERT_THAT(first.status(), IsOk());
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  EXPECT_THAT(MetricsServer::Start(taken, Fixed()).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot serve metrics on " + taken + ": ")));
}

}  // namespace
}  // namespace ccwpass::agent
