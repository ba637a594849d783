// Agent::Submit on the simulated host: the per-subchannel FIFO, the SENSE
// fetched first after a unit check, and what happens to the program in flight
// and the queued ones when the device is detached or reset. The waits are for
// outcomes (bounded), never for durations.
#include <mutex>
#include <thread>

#include "absl/synchronization/blocking_counter.h"
#include "gtest/gtest.h"
#include "sim/kernel.h"
#include "tests/agent/in_process_agent.h"
#include "translate/builder.h"

namespace ccwpass::agent {
namespace {

constexpr char kDasd[] = "0.0.0100";

// One submitted SENSE ID (256 bytes) and its outcome.
struct Job {
  ProgramRequest request;
  std::optional<absl::StatusOr<ProgramResult>> outcome;
};

class SubmitTest : public testing::InProcessAgentTest {
 protected:
  void SetUp() override {
    InProcessAgentTest::SetUp();
    ASSERT_TRUE(Attach(kDasd).ok());
  }

  // Submits `n` SENSE IDs to kDasd in order; `order` receives each job's
  // index as its outcome arrives; `landed` counts down.
  std::vector<std::unique_ptr<Job>> SubmitSenseIds(int n, absl::BlockingCounter* landed, std::vector<int>* order) {
    std::vector<std::unique_ptr<Job>> jobs;
    for (int i = 0; i < n; ++i) {
      absl::StatusOr<translate::BuiltProgram> p = translate::BuildProgram(std::vector<translate::CcwSpec>{
          translate::CcwSpec{.cmd = translate::ccw_cmd::kSenseId, .flags = translate::ccw_flag::kSli, .count = 256}});
      EXPECT_TRUE(p.ok());
      auto j = std::make_unique<Job>();
      j->request = ProgramRequest{p->orb, std::move(p->memory)};
      jobs.push_back(std::move(j));
    }
    for (int i = 0; i < n; ++i) {
      Job* j = jobs[i].get();
      agent_->Submit(kDasd, j->request, absl::Now() + absl::Seconds(30), nullptr,
                     [this, j, i, landed, order](absl::StatusOr<ProgramResult> r) {
                       {
                         std::lock_guard<std::mutex> l(mu_);
                         j->outcome = std::move(r);
                         order->push_back(i);
                       }
                       landed->DecrementCount();
                     });
    }
    return jobs;
  }
  std::optional<FsmState> Fsm() {
    auto v = agent_->Get(kDasd);
    return v.ok() ? v->fsm : std::nullopt;
  }
  // Polls `pred` every 5 ms for up to 10 s.
  template <typename Pred>
  static bool Eventually(Pred pred) {
    for (int i = 0; i < 2000 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return pred();
  }
  static std::string Outcome(const Job& j) {
    if (!j.outcome) return "none";
    if (!j.outcome->ok()) return j.outcome->status().ToString();
    return translate::DeviceStatusText((*j.outcome)->irb.scsw.dstat);
  }

  std::mutex mu_;
};

TEST_F(SubmitTest, OneSubchannelsProgramsRunInTheOrderSubmitted) {
  ASSERT_TRUE(kernel_->SetLatency(kDasd, 20000).ok());  // 20 ms each: they queue
  absl::BlockingCounter landed(4);
  std::vector<int> order;
  auto jobs = SubmitSenseIds(4, &landed, &order);
  landed.Wait();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  for (const auto& j : jobs) EXPECT_EQ(Outcome(*j), "CE DE");
  auto s = agent_->Stats(kDasd);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->started, 5u);  // and the SENSE ID of the attach
  EXPECT_EQ(s->completed, 5u);
  EXPECT_EQ(s->in_flight, 0u);
}

TEST_F(SubmitTest, DetachFailsTheProgramInFlightAndTheQueuedOnes) {
  ASSERT_TRUE(kernel_->SetLatency(kDasd, 2000000).ok());  // 2 s: still running at the detach
  absl::BlockingCounter landed(3);
  std::vector<int> order;
  auto jobs = SubmitSenseIds(3, &landed, &order);
  ASSERT_TRUE(Eventually([&] { return Fsm() == FsmState::kCpPending; }));
  auto d = agent_->Detach(kDasd, false);
  ASSERT_TRUE(d.ok()) << d.status();
  landed.Wait();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(Outcome(*jobs[0]),
            "FAILED_PRECONDITION: 0.0.0100: the channel program did not complete: the device was closed");
  EXPECT_EQ(Outcome(*jobs[1]), "FAILED_PRECONDITION: 0.0.0100: the device is not open");
  EXPECT_EQ(Outcome(*jobs[2]), "FAILED_PRECONDITION: 0.0.0100: the device is not open");
  auto s = agent_->Stats(kDasd);  // kept after the detach
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->in_flight, 0u);
  EXPECT_EQ(s->failed[static_cast<int>(FailReason::kReleased)], 1u);
  EXPECT_EQ(s->failed[static_cast<int>(FailReason::kNotOperational)], 2u);
}

TEST_F(SubmitTest, ResetFailsTheProgramInFlightAndTheQueueRunsOn) {
  ASSERT_TRUE(kernel_->SetLatency(kDasd, 2000000).ok());
  absl::BlockingCounter landed(2);
  std::vector<int> order;
  auto jobs = SubmitSenseIds(2, &landed, &order);
  ASSERT_TRUE(Eventually([&] { return Fsm() == FsmState::kCpPending; }));
  ASSERT_TRUE(kernel_->SetLatency(kDasd, 0).ok());
  auto r = agent_->Reset(kDasd);
  ASSERT_TRUE(r.ok()) << r.status();
  landed.Wait();
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
  EXPECT_EQ(Outcome(*jobs[0]),
            "FAILED_PRECONDITION: 0.0.0100: the channel program did not complete: the device was reset");
  EXPECT_EQ(Outcome(*jobs[1]), "CE DE");
  EXPECT_EQ(Fsm(), FsmState::kIdle);
  auto v = agent_->Get(kDasd);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->arena_free_pages, v->arena_pages);
}

TEST_F(SubmitTest, TheSenseOfAUnitCheckRunsBeforeTheQueue) {
  std::vector<uint8_t> sense(32);
  for (size_t i = 0; i < sense.size(); ++i) sense[i] = static_cast<uint8_t>(0x80 + i);
  ASSERT_TRUE(kernel_->InjectUnitCheck(kDasd, sense).ok());
  absl::BlockingCounter landed(2);
  std::vector<int> order;
  auto jobs = SubmitSenseIds(2, &landed, &order);
  landed.Wait();
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
  EXPECT_EQ(Outcome(*jobs[0]), "CE DE UC");
  ASSERT_TRUE(jobs[0]->outcome->ok());
  EXPECT_EQ((*jobs[0]->outcome)->sense, sense);
  EXPECT_EQ(Outcome(*jobs[1]), "CE DE");
  auto s = agent_->Stats(kDasd);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->started, 4u);  // attach's SENSE ID, the two, the SENSE
  EXPECT_EQ(s->failed[static_cast<int>(FailReason::kUnitCheck)], 1u);
}

}  // namespace
}  // namespace ccwpass::agent
