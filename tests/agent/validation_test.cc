// Every gRPC field that names something from outside is validated, and the
// error names the field (issue 7, "Hostile input"): exact messages.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/in_process_agent.h"
#include "testing/status_matchers.h"

namespace ccwpass::agent {
namespace {

using ::ccwpass::testing::StatusIs;
using ::testing::HasSubstr;

ccw::v1::StartProgramRequest Structural(std::initializer_list<std::pair<uint32_t, uint32_t>> cmd_count) {
  ccw::v1::StartProgramRequest r;
  r.set_schid("0.0.0100");
  for (auto [cmd, count] : cmd_count) {
    auto* c = r.mutable_structural()->add_ccws();
    c->set_cmd(cmd);
    c->set_count(count);
  }
  return r;
}

absl::Status Convert(const ccw::v1::StartProgramRequest& r) { return ProgramFromProto(r, nullptr).status(); }

TEST(ProgramFromProtoTest, StructuralFieldsAreChecked) {
  ccw::v1::StartProgramRequest empty;
  empty.mutable_structural();
  EXPECT_THAT(Convert(empty),
              StatusIs(absl::StatusCode::kInvalidArgument, "structural.ccws: the program has no CCWs"));
  EXPECT_THAT(Convert(Structural({{0x100, 1}})),
              StatusIs(absl::StatusCode::kInvalidArgument, "structural.ccws[0].cmd: 256 is over 0xff"));
  auto r = Structural({{0x03, 0}, {0x03, 70000}});
  EXPECT_THAT(Convert(r), StatusIs(absl::StatusCode::kInvalidArgument, "structural.ccws[1].count: 70000 is over 65535"));
  r = Structural({{0x03, 0}});
  r.mutable_structural()->mutable_ccws(0)->set_flags(0x1ff);
  EXPECT_THAT(Convert(r), StatusIs(absl::StatusCode::kInvalidArgument, "structural.ccws[0].flags: 511 is over 0xff"));
  r = Structural({{0x03, 0}});
  r.mutable_structural()->mutable_ccws(0)->clear_count();
  r.mutable_structural()->mutable_ccws(0)->set_data(std::string(65536, 'x'));
  EXPECT_THAT(Convert(r),
              StatusIs(absl::StatusCode::kInvalidArgument, "structural.ccws[0].data: 65536 bytes is over 65535"));
  r = Structural({{0x03, 0}});
  r.mutable_structural()->set_lpm(0x100);
  EXPECT_THAT(Convert(r), StatusIs(absl::StatusCode::kInvalidArgument, "structural.lpm: 256 is over 0xff"));
  for (int tic : {-1, 2, 1 << 30}) {
    r = Structural({{0x03, 0}});
    r.mutable_structural()->add_ccws()->set_tic(tic);
    EXPECT_THAT(Convert(r), StatusIs(absl::StatusCode::kInvalidArgument,
                                     absl::StrCat("structural.ccws[1].tic: ", tic,
                                                  " is not the index of a CCW (0 .. 1)")));
  }
  r = Structural({{0x03, 0}});
  auto* t = r.mutable_structural()->add_ccws();
  t->set_tic(0);
  t->set_cmd(0x02);
  EXPECT_THAT(Convert(r), StatusIs(absl::StatusCode::kInvalidArgument,
                                   "structural.ccws[1]: a TIC has no cmd, flags, count or data"));
}

TEST(ProgramFromProtoTest, RawFieldsAreChecked) {
  ccw::v1::StartProgramRequest r;
  r.set_schid("0.0.0100");
  auto* raw = r.mutable_raw();
  EXPECT_THAT(Convert(r), StatusIs(absl::StatusCode::kInvalidArgument, "raw.memory_size: 0 must be 1 .. 2 GiB"));
  raw->set_memory_size(4096);
  auto* seg = raw->add_segments();
  seg->set_addr(4000);
  seg->set_data(std::string(200, 'x'));
  EXPECT_THAT(Convert(r), StatusIs(absl::StatusCode::kInvalidArgument,
                                   "raw.segments[0]: 200 bytes at 0xfa0 run past memory_size"));
  seg->set_addr(0xffffffffffffff00ull);  // wraps around 2^64
  EXPECT_THAT(Convert(r), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("raw.segments[0]: 200 bytes at 0xffffffffffffff00 run past memory_size")));
  seg->set_addr(0);
  raw->mutable_orb()->set_key(16);
  EXPECT_THAT(Convert(r), StatusIs(absl::StatusCode::kInvalidArgument, "raw.orb.key: 16 is over 15"));
  raw->mutable_orb()->set_key(0);
  raw->mutable_orb()->set_lpm(0x1ff);
  EXPECT_THAT(Convert(r), StatusIs(absl::StatusCode::kInvalidArgument, "raw.orb.lpm: 511 is over 0xff"));
  raw->mutable_orb()->set_lpm(0xff);
  EXPECT_TRUE(Convert(r).ok());
}

TEST(ProgramFromProtoTest, ProgramJsonErrorsNameTheField) {
  ccw::v1::StartProgramRequest r;
  r.set_program_json("{");
  EXPECT_THAT(Convert(r), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("program_json: ")));
}

class ValidationTest : public testing::InProcessAgentTest {};

TEST_F(ValidationTest, RequestFieldsAreChecked) {
  // schid, on every RPC that takes one.
  for (const char* bad : {"", "0.0.01", "1.2.3.4", "0.0.0100x", "0.4.0100", "../../0.0.0100"}) {
    SCOPED_TRACE(bad);
    grpc::Status s = Attach(bad);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr(absl::StrCat("schid \"", bad, "\": ")));
    grpc::ClientContext c1, c2, c3;
    ccw::v1::GetSubchannelRequest g;
    g.set_schid(bad);
    ccw::v1::Subchannel sub;
    EXPECT_THAT(sc_->GetSubchannel(&c1, g, &sub).error_message(), HasSubstr(absl::StrCat("schid \"", bad, "\": ")));
    ccw::v1::HaltRequest h;
    h.set_schid(bad);
    ccw::v1::HaltResponse hr;
    EXPECT_THAT(io_stub_->Halt(&c2, h, &hr).error_message(), HasSubstr(absl::StrCat("schid \"", bad, "\": ")));
    ccw::v1::GetStatsRequest sr;
    sr.set_schid(bad);
    ccw::v1::GetStatsResponse srr;
    grpc::Status ss = st_->GetStats(&c3, sr, &srr);
    if (*bad) {
      EXPECT_THAT(ss.error_message(), HasSubstr(absl::StrCat("schid \"", bad, "\": ")));
    }
  }
  // mdev UUID.
  for (const char* bad : {"x", "4ad4f3c4-4b3f-4bd8-a0b3-5a6c8ec4e3a", "4ad4f3c4-4b3f-4bd8-a0b3-5a6c8ec4e3a1/../x",
                          "4ad4f3c44b3f4bd8a0b35a6c8ec4e3a1xxxx"}) {
    grpc::ClientContext ctx;
    ccw::v1::AttachRequest req;
    req.set_schid("0.0.0100");
    req.set_mdev_uuid(bad);
    ccw::v1::AttachResponse resp;
    grpc::Status s = sc_->Attach(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(s.error_message(), HasSubstr("mdev_uuid \"")) << bad;
    EXPECT_THAT(s.error_message(), HasSubstr("\" is not a UUID")) << bad;
  }
  // Enum values.
  {
    grpc::ClientContext ctx;
    ccw::v1::AttachRequest req;
    req.set_schid("0.0.0100");
    req.set_mode(static_cast<ccw::v1::AttachMode>(7));
    ccw::v1::AttachResponse resp;
    grpc::Status s = sc_->Attach(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "mode: unknown attach mode 7");
  }
  {
    grpc::ClientContext ctx;
    ccw::v1::ListSubchannelsRequest req;
    req.set_state(static_cast<ccw::v1::SubchannelState>(99));
    ccw::v1::ListSubchannelsResponse resp;
    grpc::Status s = sc_->ListSubchannels(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "state: unknown subchannel state 99");
  }
}

}  // namespace
}  // namespace ccwpass::agent
