// The channel-program policy through the Io service: a refused program names
// the rule, the command and the CCW index, has the right code, and counts as
// failed "policed" in the statistics.
#include "agent/access/program_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/in_process_agent.h"

namespace ccwpass::agent {
namespace {

using ::testing::EndsWith;
using ::testing::StartsWith;

constexpr char kConfig[] = R"(
programs:
  - class: dasd
    cu_types: ["3990"]
    dev_types: ["3390"]
    max_ccw_bytes: 4096
    rate: {per_second: 0.001, burst: 3}
)";

class ProgramPolicyServiceTest : public testing::InProcessAgentTest {
 protected:
  ProgramPolicyServiceTest() {
    auto c = access::ParseProgramClasses(kConfig, "test");
    EXPECT_TRUE(c.ok()) << c.status();
    program_policy_ = std::make_unique<access::ProgramPolicy>(c.ok() ? *c : std::vector<access::ProgramClass>{});
  }
  uint64_t Policed() {
    grpc::ClientContext ctx;
    ccw::v1::GetStatsRequest req;
    req.set_schid("0.0.0100");
    ccw::v1::GetStatsResponse resp;
    EXPECT_TRUE(st_->GetStats(&ctx, req, &resp).ok());
    if (resp.subchannels_size() != 1) return 999;
    auto it = resp.subchannels(0).failed_by_reason().find("policed");
    return it == resp.subchannels(0).failed_by_reason().end() ? 0 : it->second;
  }
};

TEST_F(ProgramPolicyServiceTest, RefusedProgramsNameRuleCommandAndCcw) {
  ASSERT_TRUE(Attach("0.0.0100").ok());
  ccw::v1::StartProgramResponse resp;
  EXPECT_TRUE(Start(SenseId("0.0.0100"), &resp).ok());  // token 1 of 3

  ccw::v1::StartProgramRequest reserve = SenseId("0.0.0100");
  reserve.mutable_structural()->mutable_ccws(0)->set_flags(0x60);  // CC | SLI
  auto* c = reserve.mutable_structural()->add_ccws();
  c->set_cmd(0xb4);
  c->set_flags(0x20);
  c->set_count(32);
  grpc::Status s = Start(reserve, &resp);  // token 2
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "0.0.0100: ccw 1 at 0x1008: policy deny-command: command 0xb4 (RESERVE) is denied on class dasd [EPERM]");
  EXPECT_EQ(Policed(), 1u);

  ccw::v1::StartProgramRequest big = SenseId("0.0.0100");
  big.mutable_structural()->mutable_ccws(0)->set_count(8192);
  s = Start(big, &resp);  // token 3
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "0.0.0100: ccw 0 at 0x1000: policy max-ccw-bytes: command 0xe4 moves 8192 bytes; class dasd allows 4096 "
            "per CCW [EPERM]");
  EXPECT_EQ(Policed(), 2u);

  s = Start(SenseId("0.0.0100"), &resp);  // no token left
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), StartsWith("0.0.0100: policy rate: "));
  // The wait is 1000 s less the milliseconds this test has taken so far (the
  // service runs on the real clock; program_policy_test pins the exact text).
  EXPECT_THAT(s.error_message(), ::testing::MatchesRegex(
                                     ".* may start 0.001 programs a second \\(burst 3\\) on class dasd; "
                                     "try again in 16m(40s|39\\.[0-9]+s)"));
  EXPECT_EQ(Policed(), 3u);
}

}  // namespace
}  // namespace ccwpass::agent
