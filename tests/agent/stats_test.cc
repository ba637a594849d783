// The agent's I/O statistics on the simulated host, read back through the
// Stats RPC (in-process channel) and the Prometheus collector: every outcome
// of a channel program counted once under its reason, bytes, halts and
// clears, CRWs by RSC/ERC, attach/detach outcomes, the errors of the RPC,
// and nothing left behind by an attach that failed.
#include <atomic>
#include <cerrno>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/metrics/metrics.h"
#include "agent/service/service.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "sim/kernel.h"
#include "testing/forwarding_ops.h"
#include "tests/agent/in_process_agent.h"

namespace ccwpass::agent {
namespace {

using ::testing::HasSubstr;

class StatsTest : public testing::InProcessAgentTest {
 protected:
  grpc::Status Stats(const std::string& schid, ccw::v1::GetStatsResponse* resp) {
    grpc::ClientContext ctx;
    ccw::v1::GetStatsRequest req;
    req.set_schid(schid);
    return st_->GetStats(&ctx, req, resp);
  }
  static ccw::v1::StartProgramRequest SenseId() { return InProcessAgentTest::SenseId("0.0.0100"); }
};

TEST_F(StatsTest, EveryOutcomeIsCountedOnceUnderItsReason) {
  ASSERT_TRUE(Attach("0.0.0100").ok());  // runs one SENSE ID itself (LearnIdentity)
  EXPECT_EQ(Attach("0.0.0101").error_code(), grpc::StatusCode::FAILED_PRECONDITION);  // QDIO

  // A SENSE ID: completed.
  ccw::v1::StartProgramResponse r;
  ASSERT_TRUE(Start(SenseId(), &r).ok());
  ASSERT_EQ(r.transfers_size(), 1);
  const uint64_t sense_id_bytes = r.transfers(0).bytes();
  ASSERT_GT(sense_id_bytes, 0u);

  // Raw programs in a 12 KiB client memory.
  auto raw = [](std::string ccws) {
    ccw::v1::StartProgramRequest req;
    req.set_schid("0.0.0100");
    auto* o = req.mutable_raw()->mutable_orb();
    o->set_fmt(true);
    o->set_lpm(0xff);
    o->set_cpa(0x1000);
    req.mutable_raw()->set_memory_size(0x3000);
    auto* seg = req.mutable_raw()->add_segments();
    seg->set_addr(0x1000);
    seg->set_data(std::move(ccws));
    return req;
  };
  // A READ whose data lies outside the client's memory: policed, never started.
  grpc::Status policed = Start(raw(std::string("\x02\x20\x00\x10\x00\x00\x80\x00", 8)), &r);
  EXPECT_EQ(policed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(policed.error_message(), HasSubstr("ccw 0 at 0x1000"));
  // A TIC to a TIC: the channel ends it with a program check.
  ASSERT_TRUE(Start(raw(std::string("\x08\x00\x00\x00\x00\x00\x10\x08\x08\x00\x00\x00\x00\x00\x10\x00", 16)), &r).ok());
  EXPECT_EQ(r.irb().scsw().cstat(), 0x20u);

  // A unit check: failed (unit_check); the agent then runs a SENSE for the
  // basic sense, which completes.
  ASSERT_TRUE(kernel_->InjectUnitCheck("0.0.0100", std::vector<uint8_t>(32, 0x10)).ok());
  ASSERT_TRUE(Start(SenseId(), &r).ok());
  EXPECT_EQ(r.sense().size(), 32u);

  // A deadline: failed (deadline), halted once.
  ASSERT_TRUE(kernel_->SetLatency("0.0.0100", 2000000).ok());
  EXPECT_EQ(Start(SenseId(), &r, absl::Milliseconds(300)).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(kernel_->SetLatency("0.0.0100", 0).ok());
  absl::SleepFor(absl::Milliseconds(400));

  // A HALT and a CLEAR from a client.
  {
    grpc::ClientContext c1, c2;
    ccw::v1::HaltRequest h;
    h.set_schid("0.0.0100");
    ccw::v1::HaltResponse hr;
    ASSERT_TRUE(io_stub_->Halt(&c1, h, &hr).ok());
    ccw::v1::ClearRequest c;
    c.set_schid("0.0.0100");
    ccw::v1::ClearResponse cr;
    ASSERT_TRUE(io_stub_->Clear(&c2, c, &cr).ok());
  }
  // A path configured off: CRW RSC 4 ERC 6.
  ASSERT_TRUE(kernel_->ConfigurePath(0x41, false).ok());
  ccw::v1::GetStatsResponse resp;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Stats("0.0.0100", &resp).ok());
    if (resp.subchannels(0).crws_size() > 0) break;
    absl::SleepFor(absl::Milliseconds(10));
  }

  ASSERT_EQ(resp.subchannels_size(), 1);
  const ccw::v1::SubchannelStats& s = resp.subchannels(0);
  EXPECT_EQ(s.schid(), "0.0.0100");
  EXPECT_EQ(s.devno(), "0.0.0191");
  EXPECT_EQ(s.mode(), ccw::v1::ATTACH_MODE_AGENT);
  EXPECT_EQ(s.cu_type(), "3990/c2");
  EXPECT_EQ(s.dev_type(), "3390/02");
  EXPECT_EQ(s.chpids(), "40,41");
  // Started: the attach's SENSE ID, ours, the TIC loop, the unit-checked
  // one, the agent's SENSE after it, the one that missed its deadline. The
  // policed one never started.
  EXPECT_EQ(s.programs_started(), 6u);
  EXPECT_EQ(s.programs_completed(), 3u);  // two SENSE IDs and the SENSE
  EXPECT_EQ(s.programs_failed(), 4u);
  const std::map<std::string, uint64_t> reasons(s.failed_by_reason().begin(), s.failed_by_reason().end());
  const std::map<std::string, uint64_t> want = {
      {"policed", 1}, {"program_check", 1}, {"unit_check", 1}, {"deadline", 1}};
  EXPECT_EQ(reasons, want);
  EXPECT_EQ(s.in_flight(), 0);
  // Read: two full SENSE IDs and the 32 sense bytes; the unit check came
  // before any data.
  EXPECT_EQ(s.bytes_read(), 2 * sense_id_bytes + 32);
  EXPECT_EQ(s.bytes_written(), 0u);
  EXPECT_EQ(s.latency().count(), 5u);  // every started program that got its final interruption
  EXPECT_EQ(s.halts(), 2u);            // the deadline's and the client's
  EXPECT_EQ(s.clears(), 1u);
  ASSERT_EQ(s.crws_size(), 1);
  EXPECT_EQ(s.crws(0).rsc(), 4u);
  EXPECT_EQ(s.crws(0).erc(), 6u);
  EXPECT_EQ(s.crws(0).count(), 1u);

  const ccw::v1::AgentStats& a = resp.agent();
  EXPECT_EQ(a.version(), "0.1.0");
  EXPECT_EQ(a.attached_agent(), 1u);
  EXPECT_EQ(a.attached_handoff(), 0u);
  EXPECT_EQ(a.attach_ok(), 1u);
  EXPECT_EQ(a.attach_error(), 1u);
  EXPECT_EQ(a.attach_latency().count(), 2u);
  EXPECT_EQ(a.programs_started(), 6u);
  EXPECT_EQ(a.programs_completed(), 3u);
  EXPECT_EQ(a.programs_failed(), 4u);
  EXPECT_EQ(a.bytes_read(), 2 * sense_id_bytes + 32);
}

TEST_F(StatsTest, ErrorsNameTheSubchannel) {
  ccw::v1::GetStatsResponse resp;
  grpc::Status s = Stats("0.0.0101", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "no statistics for 0.0.0101: the agent has not attached it since it started");
  s = Stats("0.0.01000", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("schid \"0.0.01000\""));
  // No schid: every subchannel with numbers (none yet) and the agent's.
  ASSERT_TRUE(Stats("", &resp).ok());
  EXPECT_EQ(resp.subchannels_size(), 0);
  EXPECT_EQ(resp.agent().attach_ok(), 0u);
}

TEST_F(StatsTest, CountersOutliveTheDetachAndShowInTheCollector) {
  ASSERT_TRUE(Attach("0.0.0100").ok());
  ccw::v1::StartProgramResponse r;
  ASSERT_TRUE(Start(SenseId(), &r).ok());
  {
    grpc::ClientContext ctx;
    ccw::v1::DetachRequest d;
    d.set_schid("0.0.0100");
    ccw::v1::DetachResponse dr;
    ASSERT_TRUE(sc_->Detach(&ctx, d, &dr).ok());
  }
  ccw::v1::GetStatsResponse resp;
  ASSERT_TRUE(Stats("", &resp).ok());
  ASSERT_EQ(resp.subchannels_size(), 1);
  EXPECT_EQ(resp.subchannels(0).mode(), ccw::v1::ATTACH_MODE_UNSPECIFIED);
  EXPECT_EQ(resp.subchannels(0).programs_completed(), 2u);
  EXPECT_EQ(resp.agent().detach_ok(), 1u);
  EXPECT_EQ(resp.agent().attached_agent(), 0u);

  std::string text;
  RenderText(StatsSourceOf(*agent_), &text);
  EXPECT_THAT(text, HasSubstr("ccw_programs_completed_total{schid=\"0.0.0100\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("ccw_subchannel_info{schid=\"0.0.0100\",devno=\"0.0.0191\",cu_type=\"3990/c2\","
                              "dev_type=\"3390/02\",chpids=\"40,41\",mdev_uuid=\""));
  EXPECT_THAT(text, HasSubstr(",mode=\"detached\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ccw_detaches_total{result=\"ok\"} 1\n"));
}

// Five DASDs, 0.0.0100 to 0.0.0104.
class ModesTest : public testing::InProcessAgentTest {
 protected:
  sim::HostConfig MakeHost() override {
    sim::HostConfig h = testing::DasdAndQdioHost(0xC2);
    h.subchannels.resize(1);
    for (uint16_t i = 1; i < 5; ++i) {
      sim::SubchannelConfig d = h.subchannels[0];
      d.schno = static_cast<uint16_t>(0x100 + i);
      d.devno = static_cast<uint16_t>(0x0191 + i);
      h.subchannels.push_back(d);
    }
    return h;
  }
};

// AllStats walks the attached subchannels alongside the statistics (both by
// schid): each one's mode, whichever neighbours are attached or not.
TEST_F(ModesTest, EverySubchannelWithStatisticsInItsMode) {
  ASSERT_TRUE(agent_->Attach("0.0.0100", false, "", "test").ok());
  ASSERT_TRUE(agent_->Attach("0.0.0101", true, "", "test").ok());
  ASSERT_TRUE(agent_->Attach("0.0.0103", false, "", "test").ok());
  ASSERT_TRUE(agent_->Attach("0.0.0104", true, "", "test").ok());
  ASSERT_TRUE(agent_->Detach("0.0.0103", false).ok());

  std::vector<std::string> got;
  for (const SubchannelStatsSnapshot& s : agent_->AllStats()) {
    got.push_back(absl::StrCat(s.schid, " ", s.devno, " ", !s.attached ? "detached" : s.handoff ? "handoff" : "agent",
                               " ", s.started));
  }
  // The agent-mode ones ran their SENSE ID at attach.
  EXPECT_THAT(got, ::testing::ElementsAre("0.0.0100 0.0.0191 agent 1", "0.0.0101 0.0.0192 handoff 0",
                                          "0.0.0103 0.0.0194 detached 1", "0.0.0104 0.0.0195 handoff 0"));
  absl::StatusOr<SubchannelStatsSnapshot> one = agent_->Stats("0.0.0104");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_TRUE(one->attached);
  EXPECT_TRUE(one->handoff);
  EXPECT_EQ(one->devno, "0.0.0195");
  EXPECT_EQ(one->chpids, "40,41");
  one = agent_->Stats("0.0.0103");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_FALSE(one->attached);
  EXPECT_EQ(one->cu_type, std::make_optional(std::make_pair(uint16_t{0x3990}, uint8_t{0xc2})));  // from SENSE ID
  EXPECT_EQ(agent_->Stats("0.0.0102").status(),
            absl::NotFoundError("no statistics for 0.0.0102: the agent has not attached it since it started"));
}

// The simulated kernel's VFIO, except that VFIO_GROUP_GET_DEVICE_FD fails
// with -ENODEV (the device going away under the attach) while `fail_open`.
class FailingOpenVfio final : public ::ccwpass::testing::ForwardingVfio {
 public:
  using ForwardingVfio::ForwardingVfio;
  std::atomic<bool> fail_open{true};
  int GetDeviceFd(int group_fd, std::string_view name) override {
    return fail_open ? -ENODEV : ForwardingVfio::GetDeviceFd(group_fd, name);
  }
};

class FailedAttachTest : public StatsTest {
 protected:
  VfioOps& Vfio() override {
    vfio_ = std::make_unique<FailingOpenVfio>(*kernel_);
    return *vfio_;
  }
  // Attach 0.0.0100 in agent mode with mdev `uuid` over the Subchannels RPC.
  grpc::Status AttachWith(const std::string& uuid) {
    grpc::ClientContext ctx;
    ccw::v1::AttachRequest req;
    req.set_schid("0.0.0100");
    req.set_mdev_uuid(uuid);
    ccw::v1::AttachResponse resp;
    return sc_->Attach(&ctx, req, &resp);
  }
  static std::string OpenFailure(const std::string& uuid) {
    return absl::StrCat("attach 0.0.0100 failed at step \"open VFIO device\": 0.0.0100: open device ", uuid,
                        ": -ENODEV (No such device); rolled back: remove mdev, unbind vfio_ccw, "
                        "rebind io_subchannel, restore driver_override");
  }
  std::string Collected() {
    std::string text;
    RenderText(StatsSourceOf(*agent_), &text);
    return text;
  }
  std::unique_ptr<FailingOpenVfio> vfio_;
};

constexpr char kUuid1[] = "4ad4f3c4-4b3f-4bd8-a0b3-5a6c8ec4e3a1";
constexpr char kUuid2[] = "0b8ad7a4-7a5e-4f43-9a55-2d3a34aa7f10";

// A failed attach leaves nothing behind that was not there before: no
// statistics for a subchannel never attached, and the counters and identity
// of an earlier attachment as they were.
TEST_F(FailedAttachTest, LeavesNoStatisticsBehind) {
  grpc::Status a = AttachWith(kUuid1);
  EXPECT_EQ(a.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(a.error_message(), OpenFailure(kUuid1));
  ccw::v1::GetStatsResponse resp;
  grpc::Status s = Stats("0.0.0100", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "no statistics for 0.0.0100: the agent has not attached it since it started");
  ASSERT_TRUE(Stats("", &resp).ok());
  EXPECT_EQ(resp.subchannels_size(), 0);
  EXPECT_EQ(resp.agent().attach_error(), 1u);
  EXPECT_EQ(resp.agent().attached_agent(), 0u);
  EXPECT_THAT(Collected(), ::testing::Not(HasSubstr("schid=\"0.0.0100\"")));
  auto v = agent_->Get("0.0.0100");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->state, AgentState::kDetached);
  EXPECT_EQ(v->info.driver, "io_subchannel");
  EXPECT_EQ(v->info.mdev_uuid, "");
  EXPECT_TRUE(store_->entries().empty());

  // An earlier attachment's statistics, kept after its detach.
  vfio_->fail_open = false;
  ASSERT_TRUE(AttachWith(kUuid1).ok());
  ccw::v1::StartProgramResponse r;
  ASSERT_TRUE(Start(SenseId(), &r).ok());
  ASSERT_TRUE(agent_->Detach("0.0.0100", false).ok());
  absl::StatusOr<SubchannelStatsSnapshot> before = agent_->Stats("0.0.0100");
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->completed, 2u);  // the attach's SENSE ID and ours
  const std::string collected = Collected();

  vfio_->fail_open = true;
  a = AttachWith(kUuid2);
  EXPECT_EQ(a.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(a.error_message(), OpenFailure(kUuid2));
  absl::StatusOr<SubchannelStatsSnapshot> after = agent_->Stats("0.0.0100");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_FALSE(after->attached);
  EXPECT_EQ(after->mdev_uuid, kUuid1);
  EXPECT_EQ(after->started, before->started);
  EXPECT_EQ(after->completed, before->completed);
  EXPECT_EQ(after->failed_total(), 0u);
  // The collector shows the same subchannel series (only the agent-wide attach counters moved).
  auto series = [](const std::string& text) {
    std::string out;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (absl::StrContains(line, "schid=\"0.0.0100\"")) absl::StrAppend(&out, line, "\n");
    }
    return out;
  };
  EXPECT_EQ(series(Collected()), series(collected));
  EXPECT_THAT(series(collected), HasSubstr(absl::StrCat("mdev_uuid=\"", kUuid1, "\",mode=\"detached\"} 1")));
}

}  // namespace
}  // namespace ccwpass::agent
