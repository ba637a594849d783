// `ccwctl stats` against the fake agent: the totals table, json, the schid
// filter and its errors, and --watch rates from two samples.
#include "ctl/stats_cmd.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "ctl/exit_codes.h"
#include "ctl/testing/fake_agent.h"
#include "ctl/testing/run_cli.h"
#include "nlohmann/json.hpp"

namespace ccwpass::ctl {
namespace {

using ::testing::ElementsAre;
using testing::Outcome;
using google::protobuf::util::TimeUtil;

using StatsCmdTest = testing::CliTest;

ccw::v1::GetStatsResponse Sample(int64_t at_seconds, uint64_t completed, uint64_t read) {
  ccw::v1::GetStatsResponse r;
  *r.mutable_time() = TimeUtil::SecondsToTimestamp(at_seconds);
  ccw::v1::AgentStats* a = r.mutable_agent();
  a->set_version("0.1.0");
  *a->mutable_started_at() = TimeUtil::SecondsToTimestamp(1700000000);
  a->set_attached_agent(1);
  a->set_attach_ok(1);
  a->set_attach_error(1);
  a->set_events_published(12);
  ccw::v1::SubchannelStats* s = r.add_subchannels();
  s->set_schid("0.0.0100");
  s->set_devno("0.0.e000");
  s->set_mode(ccw::v1::ATTACH_MODE_AGENT);
  s->set_programs_started(completed + 3);
  s->set_programs_completed(completed);
  s->set_programs_failed(3);
  (*s->mutable_failed_by_reason())["unit_check"] = 1;
  (*s->mutable_failed_by_reason())["deadline"] = 2;
  s->set_bytes_read(read);
  s->set_bytes_written(4096);
  s->mutable_latency()->set_count(completed + 3);
  *s->mutable_latency()->mutable_p50() = TimeUtil::MicrosecondsToDuration(75);
  *s->mutable_latency()->mutable_p99() = TimeUtil::MicrosecondsToDuration(240);
  s->set_halts(2);
  s->set_clears(1);
  auto* c = s->add_crws();
  c->set_rsc(4);
  c->set_erc(6);
  c->set_count(1);
  ccw::v1::SubchannelStats* d = r.add_subchannels();
  d->set_schid("0.0.0101");
  d->set_devno("0.0.e001");
  return r;
}

TEST(HumanBytes, IecUnits) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(8192), "8.0 KiB");
  EXPECT_EQ(HumanBytes(1572864), "1.5 MiB");
  EXPECT_EQ(HumanBytes(3.0 * 1024 * 1024 * 1024), "3.0 GiB");
}

TEST_F(StatsCmdTest, TotalsTable) {
  agent_.SetStats({Sample(1700000100, 97, 8192)});
  const Outcome r = Run({"stats"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "agent 0.1.0 up since 2023-11-14T22:13:20Z: 1 attached (1 agent, 0 hand-off); attach 1 ok / 1 failed; "
            "detach 0 ok / 0 failed; events 12 published, 0 dropped\n"
            "SCHID     DEVNO     MODE      STARTED  COMPLETED  FAILED  IN-FLIGHT  READ     WRITTEN  P50   P99    "
            "HALTS  CLEARS  CRWS\n"
            "0.0.0100  0.0.e000  agent     100      97         3       0          8.0 KiB  4.0 KiB  75us  240us  "
            "2      1       1\n"
            "  0.0.0100 failed: deadline 2, unit_check 1\n"
            "0.0.0101  0.0.e001  detached  0        0          0       0          0 B      0 B      -     -      "
            "0      0       0\n");
  EXPECT_THAT(agent_.Calls(), ElementsAre("GetStats"));
}

TEST_F(StatsCmdTest, OneSubchannelAsJson) {
  agent_.SetStats({Sample(1700000100, 97, 8192)});
  const Outcome r = Run({"stats", "0.0.0100", "-o", "json"});
  EXPECT_EQ(r.code, kExitOk);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["subchannels"].size(), 1u);
  EXPECT_EQ(j["subchannels"][0]["schid"], "0.0.0100");
  EXPECT_EQ(j["subchannels"][0]["programs_completed"], "97");  // 64-bit integers are strings in proto3 JSON
  EXPECT_EQ(j["subchannels"][0]["failed_by_reason"]["deadline"], "2");
  EXPECT_EQ(j["subchannels"][0]["latency"]["p99"], "0.000240s");
  EXPECT_THAT(agent_.Calls(), ElementsAre("GetStats 0.0.0100"));
}

TEST_F(StatsCmdTest, Errors) {
  agent_.SetStats({Sample(1700000100, 97, 8192)});
  Outcome r = Run({"stats", "0.0.0999"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, ::testing::HasSubstr("no statistics for 0.0.0999: the agent has not attached it since it started"));
  r = Run({"stats", "0.0.x"});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_THAT(r.err, ::testing::HasSubstr("schid must look like 0.0.0100"));
  r = Run({"stats", "--watch", "--interval", "0s"});
  EXPECT_EQ(r.code, kExitBadInput);
}

TEST_F(StatsCmdTest, WatchPrintsRatesFromTheAgentsTimestamps) {
  // Two seconds apart by the agent's clock: 200 more programs, 1 MiB more read.
  agent_.SetStats({Sample(1700000100, 97, 8192), Sample(1700000102, 297, 8192 + 1048576)});
  const Outcome r = Run({"stats", "--watch", "--interval", "10ms", "--count", "1"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "2023-11-14T22:15:02Z  over 2s\n"
            "SCHID     DEVNO     MODE      IO/S   READ/S       WRITTEN/S  FAILED/S  IN-FLIGHT  P50   P99\n"
            "0.0.0100  0.0.e000  agent     100.0  512.0 KiB/s  0 B/s      0.0       0          75us  240us\n"
            "0.0.0101  0.0.e001  detached  0.0    0 B/s        0 B/s      0.0       0          -     -\n\n");
  EXPECT_THAT(agent_.Calls(), ElementsAre("GetStats", "GetStats"));
}

TEST_F(StatsCmdTest, WatchAsJsonLinesIsOneSamplePerLine) {
  agent_.SetStats({Sample(1700000100, 97, 8192), Sample(1700000102, 297, 8192)});
  const Outcome r = Run({"stats", "-w", "--interval", "10ms", "--count", "2", "-o", "json"});
  EXPECT_EQ(r.code, kExitOk);
  std::vector<std::string> lines;
  for (size_t a = 0, b; (b = r.out.find('\n', a)) != std::string::npos; a = b + 1) lines.push_back(r.out.substr(a, b - a));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["time"], "2023-11-14T22:15:00Z");
  EXPECT_EQ(nlohmann::json::parse(lines[2])["subchannels"][0]["programs_completed"], "297");
}

}  // namespace
}  // namespace ccwpass::ctl
