// Faults on the simulated host, through the real services over an in-process
// channel (issue 7, "Crashes and faults"): a client that cancels or times out
// mid-I/O, a device that disappears or turns not operational mid-I/O (and
// comes back), and a channel path that goes away and comes back. No timed
// assertions: the tests wait for states (bounded polls), not for durations.
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/kernel.h"
#include "tests/agent/in_process_agent.h"
#include "testing/status_matchers.h"

namespace ccwpass::agent {
namespace {

using ::testing::HasSubstr;

constexpr char kDasd[] = "0.0.0100";

class FaultsTest : public testing::InProcessAgentTest {
 protected:
  FaultsTest() : InProcessAgentTest(64) {}

  void SetUp() override {
    InProcessAgentTest::SetUp();
    watcher_ = agent_->events().Watch({}, {});
    ASSERT_TRUE(Attach(kDasd).ok());
  }

  // Polls `pred` every 5 ms, at most 2000 times (10 s); true when it held.
  template <typename Pred>
  static bool Eventually(Pred pred) {
    for (int i = 0; i < 2000; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
  }
  std::optional<FsmState> Fsm() {
    auto v = agent_->Get(kDasd);
    return v.ok() ? v->fsm : std::nullopt;
  }
  // The next event of `kind`, skipping others (up to 5 s).
  std::optional<AgentEvent> NextOf(AgentEvent::Kind kind) {
    AgentEvent e;
    while (watcher_->Next(&e, absl::Seconds(5))) {
      if (e.kind == kind) return e;
    }
    return std::nullopt;
  }
  // Every page of the agent's and the kernel's arena is free.
  void ExpectArenasEmpty() {
    auto v = agent_->Get(kDasd);
    ASSERT_TRUE(v.ok());
    EXPECT_GT(v->arena_pages, 0u);
    EXPECT_EQ(v->arena_free_pages, v->arena_pages) << "the agent's arena kept pages";
    auto kdev = kernel_->VfioDeviceOf(kDasd);
    ASSERT_NE(kdev, nullptr);
    auto [free, total] = kdev->ArenaPages();
    EXPECT_GT(total, 0u);
    EXPECT_EQ(free, total) << "the kernel's arena kept pages";
  }
  void ExpectIoWorks() {
    ccw::v1::StartProgramResponse r;
    grpc::Status st = Start(SenseId(kDasd), &r);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(r.irb().scsw().device_status_text(), "CE DE");
  }
  // Starts SENSE ID on a 2-second device in a thread, with `ctx`; returns
  // once the program is in CP_PENDING.
  std::thread StartSlow(grpc::ClientContext* ctx, grpc::Status* out) {
    EXPECT_TRUE(kernel_->SetLatency(kDasd, 2000000).ok());
    std::thread t([this, ctx, out] {
      ccw::v1::StartProgramResponse resp;
      *out = io_stub_->StartProgram(ctx, SenseId(kDasd), &resp);
    });
    EXPECT_TRUE(Eventually([&] { return Fsm() == FsmState::kCpPending; }));
    return t;
  }

  // The program running when the kernel asked for the device back failed
  // with the release error; DEVICE_REQUEST, then STATE_CHANGED to
  // NOT_OPERATIONAL (returned in `sc`) were published.
  void ExpectReleasedMidIo(const grpc::Status& st, std::optional<AgentEvent>* sc) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
    EXPECT_THAT(st.error_message(), HasSubstr("0.0.0100: the channel program did not complete: the kernel asked for "
                                              "the device back (device request); it was released"));
    auto req = NextOf(AgentEvent::Kind::kDeviceRequest);
    ASSERT_TRUE(req.has_value());
    EXPECT_EQ(req->schid, kDasd);
    *sc = NextOf(AgentEvent::Kind::kStateChanged);
    ASSERT_TRUE(sc->has_value());
    EXPECT_EQ((*sc)->state, AgentState::kNotOperational);
  }

  // The next STATE_CHANGED event, which must go from `previous` to `state`.
  std::optional<AgentEvent> ExpectStateChange(AgentState previous, AgentState state) {
    std::optional<AgentEvent> e = NextOf(AgentEvent::Kind::kStateChanged);
    EXPECT_TRUE(e.has_value()) << "no STATE_CHANGED to " << AgentStateName(state);
    if (e) {
      EXPECT_EQ(e->previous, previous);
      EXPECT_EQ(e->state, state);
    }
    return e;
  }
  // kDasd in `state` on vfio_ccw with mdev `uuid`, as the agent shows it.
  void ExpectAttachedWith(AgentState state, const std::string& uuid) {
    auto v = agent_->Get(kDasd);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->state, state);
    EXPECT_EQ(v->info.driver, "vfio_ccw");
    EXPECT_EQ(v->info.mdev_uuid, uuid);
  }

  std::shared_ptr<EventWatcher> watcher_;
};

TEST_F(FaultsTest, ClientCancelMidIoHaltsAndReturnsTheArena) {
  grpc::ClientContext ctx;
  grpc::Status st;
  std::thread t = StartSlow(&ctx, &st);
  ctx.TryCancel();
  t.join();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED);
  // The server side notices, halts (HSCH), and the device goes back to IDLE.
  ASSERT_TRUE(Eventually([&] {
    auto s = agent_->Stats(kDasd);
    return s.ok() && s->halts == 1 && s->in_flight == 0;
  }));
  auto s = agent_->Stats(kDasd);
  EXPECT_EQ(s->failed[static_cast<int>(FailReason::kCancelled)], 1u);
  EXPECT_EQ(Fsm(), FsmState::kIdle);
  ExpectArenasEmpty();
  ASSERT_TRUE(kernel_->SetLatency(kDasd, 0).ok());
  ExpectIoWorks();
  ExpectArenasEmpty();
}

TEST_F(FaultsTest, ClientDeadlineMidIoHaltsAndReturnsTheArena) {
  ASSERT_TRUE(kernel_->SetLatency(kDasd, 2000000).ok());
  ccw::v1::StartProgramResponse resp;
  grpc::Status st = Start(SenseId(kDasd), &resp, absl::Milliseconds(200));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(Eventually([&] {
    auto s = agent_->Stats(kDasd);
    return s.ok() && s->in_flight == 0 && s->failed_total() == 1;
  }));
  auto s = agent_->Stats(kDasd);
  EXPECT_EQ(s->halts, 1u);
  EXPECT_EQ(s->failed[static_cast<int>(FailReason::kDeadline)], 1u);
  EXPECT_EQ(Fsm(), FsmState::kIdle);
  ExpectArenasEmpty();
  ASSERT_TRUE(kernel_->SetLatency(kDasd, 0).ok());
  ExpectIoWorks();
}

TEST_F(FaultsTest, DeviceRemovedMidIo) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status st;
  std::thread t = StartSlow(&ctx, &st);
  // Hot-unplug: the kernel asks for the device back (REQ) and waits for it.
  ASSERT_TRUE(kernel_->RemoveSubchannel(kDasd, absl::Seconds(20)).ok());
  t.join();
  std::optional<AgentEvent> sc;
  ExpectReleasedMidIo(st, &sc);
  ASSERT_TRUE(sc.has_value());
  EXPECT_EQ(sc->previous, AgentState::kAttached);
  EXPECT_THAT(agent_->Get(kDasd), ccwpass::testing::StatusIs(absl::StatusCode::kNotFound,
                                                             HasSubstr("no subchannel 0.0.0100")));
}

// The kernel's answer to a device that turns not operational is to free the
// program and unregister the subchannel (vfio_ccw's fsm_notoper()), starting
// with the device request: the waiting client is not left until its
// deadline. When the device is back, the subchannel is registered anew (on
// io_subchannel, no mdev), and the agent's hotplug-driven reconcile attaches
// it again by itself: the desired state still names it.
TEST_F(FaultsTest, DeviceNotOperationalMidIoThenBackIsAttachedAgain) {
  auto before = agent_->Get(kDasd);
  ASSERT_TRUE(before.ok());
  const std::string uuid = before->info.mdev_uuid;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status st;
  std::thread t = StartSlow(&ctx, &st);
  // Returns once the agent has let the device go and the subchannel is gone.
  ASSERT_TRUE(kernel_->SetDeviceOperational(kDasd, false, absl::Seconds(20)).ok());
  t.join();
  std::optional<AgentEvent> sc;
  ExpectReleasedMidIo(st, &sc);
  ASSERT_TRUE(sc.has_value());
  EXPECT_EQ(sc->previous, AgentState::kAttached);
  EXPECT_THAT(agent_->Get(kDasd), ccwpass::testing::StatusIs(absl::StatusCode::kNotFound,
                                                             HasSubstr("no subchannel 0.0.0100")));
  // Reconcile lets the attachment go; the desired one stays, and so do the counters.
  auto away = ExpectStateChange(AgentState::kNotOperational, AgentState::kDetached);
  ASSERT_TRUE(away.has_value());
  EXPECT_EQ(away->message, "0.0.0100 went away (device or mdev removed)");
  EXPECT_EQ(store_->entries().count(kDasd), 1u);
  auto s = agent_->Stats(kDasd);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->attached);
  EXPECT_EQ(s->in_flight, 0u);
  EXPECT_EQ(s->failed[static_cast<int>(FailReason::kReleased)], 1u);
  EXPECT_EQ(s->failed_total(), 1u);
  EXPECT_EQ(s->device_requests, 1u);
  // Further I/O is refused at once, with the reason.
  ccw::v1::StartProgramResponse r;
  grpc::Status again = Start(SenseId(kDasd), &r);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND) << again.error_message();
  EXPECT_THAT(again.error_message(), HasSubstr("no subchannel 0.0.0100"));

  // The device is back: a new registration, attached again in agent mode.
  ASSERT_TRUE(kernel_->SetDeviceOperational(kDasd, true).ok());
  ASSERT_TRUE(kernel_->SetLatency(kDasd, 0).ok());
  auto attached = NextOf(AgentEvent::Kind::kAttached);
  ASSERT_TRUE(attached.has_value());
  EXPECT_EQ(attached->schid, kDasd);
  EXPECT_EQ(attached->state, AgentState::kAttached);
  ASSERT_TRUE(ExpectStateChange(AgentState::kDetached, AgentState::kAttached).has_value());
  ExpectAttachedWith(AgentState::kAttached, uuid);
  EXPECT_EQ(Fsm(), FsmState::kIdle);
  auto s0 = agent_->Stats(kDasd);
  ASSERT_TRUE(s0.ok());
  ExpectIoWorks();
  ExpectArenasEmpty();
  auto s1 = agent_->Stats(kDasd);
  ASSERT_TRUE(s1.ok());
  EXPECT_TRUE(s1->attached);
  EXPECT_FALSE(s1->handoff);
  EXPECT_EQ(s1->in_flight, 0u);
  EXPECT_EQ(s1->started, s0->started + 1);
  EXPECT_EQ(s1->completed, s0->completed + 1);
  EXPECT_EQ(s1->completed, s->completed + 2);  // the attach's SENSE ID and ours
  EXPECT_EQ(s1->failed[static_cast<int>(FailReason::kReleased)], 1u);
  EXPECT_EQ(s1->failed_total(), 1u);
  EXPECT_EQ(s1->mdev_uuid, uuid);
}

// In hand-off mode nobody the agent knows has the device open: the kernel
// unregisters the subchannel at once, and reconcile hands it off again, to
// the same owner with the same mdev, when it is back.
TEST_F(FaultsTest, HandedOffDeviceNotOperationalIsHandedOffAgain) {
  ASSERT_TRUE(agent_->Detach(kDasd, false).ok());
  auto a = agent_->Attach(kDasd, true, "", "vm:guest1");
  ASSERT_TRUE(a.ok()) << a.status();
  const std::string uuid = a->first.info.mdev_uuid;
  watcher_ = agent_->events().Watch({}, {});
  ASSERT_TRUE(kernel_->SetDeviceOperational(kDasd, false).ok());
  EXPECT_THAT(agent_->Get(kDasd), ccwpass::testing::StatusIs(absl::StatusCode::kNotFound,
                                                             HasSubstr("no subchannel 0.0.0100")));
  ASSERT_TRUE(ExpectStateChange(AgentState::kHandedOff, AgentState::kDetached).has_value());
  ASSERT_TRUE(kernel_->SetDeviceOperational(kDasd, true).ok());
  ASSERT_TRUE(ExpectStateChange(AgentState::kDetached, AgentState::kHandedOff).has_value());
  ExpectAttachedWith(AgentState::kHandedOff, uuid);
  auto v = agent_->Get(kDasd);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->owner, "vm:guest1");
  EXPECT_FALSE(v->fsm.has_value());  // the agent did not open it
}

TEST_F(FaultsTest, ChannelPathGoesAwayAndComesBack) {
  ASSERT_TRUE(kernel_->ConfigurePath(0x41, false).ok());
  ASSERT_TRUE(kernel_->ConfigurePath(0x41, true).ok());
  auto lost = NextOf(AgentEvent::Kind::kCrw);
  auto back = NextOf(AgentEvent::Kind::kCrw);
  ASSERT_TRUE(lost.has_value() && back.has_value());
  EXPECT_LT(lost->seq, back->seq);
  const translate::Crw l = translate::Crw::FromWord(lost->crw), b = translate::Crw::FromWord(back->crw);
  EXPECT_EQ(l.rsc, translate::crw_rsc::kChannelPath);
  EXPECT_EQ(l.erc, translate::crw_erc::kPerrn);
  EXPECT_EQ(l.rsid, 0x41);
  EXPECT_EQ(b.rsc, translate::crw_rsc::kChannelPath);
  EXPECT_EQ(b.erc, translate::crw_erc::kInit);
  EXPECT_EQ(b.rsid, 0x41);
  EXPECT_EQ(lost->schid, kDasd);
  // I/O resumes, on the path that came back alone (LPM 0x40 = the second path, CHPID 41).
  ccw::v1::StartProgramRequest req = SenseId(kDasd);
  req.mutable_structural()->set_lpm(0x40);
  ccw::v1::StartProgramResponse r;
  grpc::Status st = Start(req, &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.irb().scsw().device_status_text(), "CE DE");
  EXPECT_EQ(r.irb().lpum(), 0x40u);
  auto s = agent_->Stats(kDasd);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->crws.size(), 2u);
}

TEST_F(FaultsTest, IoOnAPathThatIsGoneFailsThenResumes) {
  ASSERT_TRUE(kernel_->ConfigurePath(0x41, false).ok());
  ccw::v1::StartProgramRequest req = SenseId(kDasd);
  req.mutable_structural()->set_lpm(0x40);
  ccw::v1::StartProgramResponse r;
  grpc::Status st = Start(req, &r);
  std::printf("I/O on a lost path: %d %s / %s\n", st.error_code(), st.error_message().c_str(), r.summary().c_str());
  ASSERT_TRUE(kernel_->ConfigurePath(0x41, true).ok());
  ccw::v1::StartProgramResponse r2;
  grpc::Status st2 = Start(req, &r2);
  ASSERT_TRUE(st2.ok()) << st2.error_message();
  EXPECT_EQ(r2.irb().scsw().device_status_text(), "CE DE");
}

}  // namespace
}  // namespace ccwpass::agent
