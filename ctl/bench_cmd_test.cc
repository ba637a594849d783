// ccwctl bench against the fake agent: flags, the JSON and table views, and
// the refusals. The fake has no StreamPrograms (UNIMPLEMENTED). Nothing here
// asserts on a duration or a rate.
#include "ctl/bench_cmd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ctl/exit_codes.h"
#include "ctl/testing/fake_agent.h"
#include "ctl/testing/run_cli.h"
#include "nlohmann/json.hpp"

namespace ccwpass::ctl {
namespace {

using ::testing::HasSubstr;

TEST(BenchCmdTest, UnaryAgainstTheFakeAgentAsJson) {
  testing::FakeAgent agent;
  testing::CliRunner cli(agent);
  auto r = cli.Run({"bench", "--mode", "unary", "--clients", "2", "--duration", "100ms", "--warmup", "10ms", "-o",
                    "json", "0.0.0100"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["program"], "sense-id");
  EXPECT_EQ(j["subchannels"], nlohmann::json::array({"0.0.0100"}));
  ASSERT_EQ(j["results"].size(), 1u);
  const nlohmann::json& u = j["results"][0];
  EXPECT_EQ(u["mode"], "unary");
  EXPECT_EQ(u["clients"], 2);
  EXPECT_EQ(u["failed"], 0);
  EXPECT_GT(u["ops"].get<uint64_t>(), 0u);
  EXPECT_TRUE(u["latency_us"].contains("p999"));
  EXPECT_FALSE(u.contains("first_error"));
  // Every call was the SENSE ID program on the subchannel given.
  const auto last = agent.LastRequest<ccw::v1::StartProgramRequest>("StartProgram");
  EXPECT_EQ(last.schid(), "0.0.0100");
  ASSERT_EQ(last.structural().ccws_size(), 1);
  EXPECT_EQ(last.structural().ccws(0).cmd(), 0xe4u);
}

TEST(BenchCmdTest, AFailedProgramIsADeviceError) {
  testing::FakeAgent agent;
  testing::CliRunner cli(agent);
  // 0.0.0101 is not attached: every call fails FAILED_PRECONDITION.
  auto r = cli.Run({"bench", "--mode", "unary", "--duration", "50ms", "--warmup", "10ms", "0.0.0101"});
  EXPECT_EQ(r.code, kExitDeviceError);
  EXPECT_THAT(r.err, HasSubstr("unary: "));
  EXPECT_THAT(r.err, HasSubstr("programs failed; the first: "));
  EXPECT_THAT(r.out, HasSubstr("MODE   IN FLIGHT"));
}

TEST(BenchCmdTest, AStreamTheAgentDoesNotServeIsRefused) {
  testing::FakeAgent agent;
  testing::CliRunner cli(agent);
  auto r = cli.Run({"bench", "--mode", "stream", "--duration", "50ms", "--warmup", "10ms", "0.0.0100"});
  EXPECT_EQ(r.code, kExitRejected);
  EXPECT_THAT(r.err, HasSubstr("the stream ended"));
}

TEST(BenchCmdTest, BadInputIsAUsageError) {
  testing::FakeAgent agent;
  testing::CliRunner cli(agent);
  auto r = cli.Run({"bench", "--program", "format", "0.0.0100"});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_EQ(r.err, "ccwctl: --program: \"format\" is not one of sense-id, noop, read-4k\n");
  r = cli.Run({"bench", "0.0.01"});
  EXPECT_EQ(r.code, kExitBadInput);
  r = cli.Run({"bench", "--clients", "0", "0.0.0100"});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_TRUE(agent.Calls().empty());
}

TEST(BenchCmdTest, TheTableView) {
  BenchRow u{"unary", 8, {}};
  u.result.ops = 1000;
  u.result.ops_per_sec = 20000;
  u.result.latency = {.p50_us = 50, .p90_us = 60, .p99_us = 90, .p999_us = 120.5, .max_us = 300, .mean_us = 52};
  BenchRow s{"stream", 64, {}};
  s.result.ops = 5000;
  s.result.failed = 1;
  s.result.ops_per_sec = 100000;
  s.result.latency = {.p50_us = 600, .p90_us = 700, .p99_us = 900, .p999_us = 1000, .max_us = 2000, .mean_us = 610};
  EXPECT_EQ(BenchTable({u, s}),
            "MODE    IN FLIGHT  OPS   FAILED  OPS/S   P50 us  P90 us  P99 us  P99.9 us  MAX us\n"
            "unary   8 clients  1000  0       20000   50.0    60.0    90.0    120.5     300.0\n"
            "stream  64 window  5000  1       100000  600.0   700.0   900.0   1000.0    2000.0\n");
}

}  // namespace
}  // namespace ccwpass::ctl
