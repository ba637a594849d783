#include "agent/metrics/metrics.h"

#include <curl/curl.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace ccwpass::agent {
namespace {

using ::ccwpass::testing::IsOk;
using ::ccwpass::testing::StatusIs;
using ::testing::HasSubstr;
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

TEST(AgentCollector, PerSubchannelSeries) {
  const std::string text = RenderText(AgentCollector(Fixed()).Collect());
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

TEST(AgentCollector, LatencyHistogramIsCumulativeWithInf) {
  const std::string text = RenderText(AgentCollector(Fixed()).Collect());
  EXPECT_THAT(text, HasSubstr("# TYPE ccw_program_duration_seconds histogram\n"
                              "ccw_program_duration_seconds_count{schid=\"0.0.0003\"} 11\n"
                              "ccw_program_duration_seconds_sum{schid=\"0.0.0003\"} 12.5\n"
                              "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"1e-05\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"5e-05\"} 0\n"
                              "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"0.0001\"} 10\n"));
  EXPECT_THAT(text, HasSubstr("ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"10\"} 10\n"
                              "ccw_program_duration_seconds_bucket{schid=\"0.0.0003\",le=\"+Inf\"} 11\n"));
}

TEST(AgentCollector, AgentWideSeries) {
  const std::string text = RenderText(AgentCollector(Fixed()).Collect());
  EXPECT_THAT(text, HasSubstr("ccw_attached_subchannels{mode=\"agent\"} 1\nccw_attached_subchannels{mode=\"handoff\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ccw_attaches_total{result=\"ok\"} 3\nccw_attaches_total{result=\"error\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ccw_detaches_total{result=\"ok\"} 2\nccw_detaches_total{result=\"error\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ccw_event_drops_total 5\n"));
  EXPECT_THAT(text, HasSubstr("ccw_events_published_total 40\n"));
  EXPECT_THAT(text, HasSubstr("ccw_agent_start_time_seconds 1700000000\n"));
  EXPECT_THAT(text, HasSubstr("ccw_build_info{version=\"0.1.0\",compiler=\"gcc "));
}

TEST(AgentCollector, DetachedSubchannelKeepsItsCountersWithModeDetached) {
  SubchannelStatsSnapshot s = Dasd();
  s.attached = false;
  StatsSource src{[s] { return std::vector<SubchannelStatsSnapshot>{s}; }, [] { return AgentStatsSnapshot{}; }};
  const std::string text = RenderText(AgentCollector(src).Collect());
  EXPECT_THAT(text, HasSubstr(",mode=\"detached\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ccw_programs_started_total{schid=\"0.0.0003\"} 12\n"));
}

size_t Append(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

// GET http://127.0.0.1:port/path; the body, or "" with *code set.
std::string Get(int port, const std::string& path, long* code) {
  CURL* c = curl_easy_init();
  std::string body;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
  const CURLcode rc = curl_easy_perform(c);
  *code = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
  curl_easy_cleanup(c);
  return body;
}

TEST(MetricsServer, ServesTheTextFormatOnAnEphemeralPort) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> s = MetricsServer::Start("127.0.0.1:0", Fixed());
  ASSERT_THAT(s.status(), IsOk());
  ASSERT_GT((*s)->port(), 0);
  long code = 0;
  const std::string body = Get((*s)->port(), "/metrics", &code);
  EXPECT_EQ(code, 200);
  EXPECT_THAT(body, HasSubstr("ccw_programs_started_total{schid=\"0.0.0003\"} 12\n"));
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
