#include "agent/fsm/fsm.h"

#include <map>
#include <tuple>

#include "gtest/gtest.h"

namespace ccwpass::agent {
namespace {

using S = FsmState;
using E = FsmEvent;
using A = FsmAction;

// Every cell, written out independently of the table in fsm.cc.
TEST(Fsm, EveryCell) {
  const std::map<std::pair<S, E>, FsmCell> want = {
      {{S::kNotOper, E::kOpen}, {S::kIdle, A::kNone}},
      {{S::kNotOper, E::kClose}, {S::kNotOper, A::kNone}},
      {{S::kNotOper, E::kNotOper}, {S::kNotOper, A::kNone}},
      {{S::kNotOper, E::kIoRequest}, {S::kNotOper, A::kRejectNotOper}},
      {{S::kNotOper, E::kStarted}, {S::kNotOper, A::kInvalid}},
      {{S::kNotOper, E::kStartFailed}, {S::kNotOper, A::kInvalid}},
      {{S::kNotOper, E::kFinal}, {S::kNotOper, A::kUnsolicited}},
      {{S::kNotOper, E::kIntermediate}, {S::kNotOper, A::kUnsolicited}},
      {{S::kNotOper, E::kAsyncRequest}, {S::kNotOper, A::kRejectNotOper}},
      {{S::kStandby, E::kOpen}, {S::kIdle, A::kNone}},
      {{S::kStandby, E::kClose}, {S::kStandby, A::kNone}},
      {{S::kStandby, E::kNotOper}, {S::kNotOper, A::kNone}},
      {{S::kStandby, E::kIoRequest}, {S::kStandby, A::kRejectNotOpen}},
      {{S::kStandby, E::kStarted}, {S::kStandby, A::kInvalid}},
      {{S::kStandby, E::kStartFailed}, {S::kStandby, A::kInvalid}},
      {{S::kStandby, E::kFinal}, {S::kStandby, A::kUnsolicited}},
      {{S::kStandby, E::kIntermediate}, {S::kStandby, A::kUnsolicited}},
      {{S::kStandby, E::kAsyncRequest}, {S::kStandby, A::kRejectNotOpen}},
      {{S::kIdle, E::kOpen}, {S::kIdle, A::kNone}},
      {{S::kIdle, E::kClose}, {S::kStandby, A::kNone}},
      {{S::kIdle, E::kNotOper}, {S::kNotOper, A::kNone}},
      {{S::kIdle, E::kIoRequest}, {S::kCpProcessing, A::kStart}},
      {{S::kIdle, E::kStarted}, {S::kIdle, A::kInvalid}},
      {{S::kIdle, E::kStartFailed}, {S::kIdle, A::kInvalid}},
      {{S::kIdle, E::kFinal}, {S::kIdle, A::kUnsolicited}},
      {{S::kIdle, E::kIntermediate}, {S::kIdle, A::kUnsolicited}},
      {{S::kIdle, E::kAsyncRequest}, {S::kIdle, A::kAsync}},
      {{S::kCpProcessing, E::kOpen}, {S::kCpProcessing, A::kInvalid}},
      {{S::kCpProcessing, E::kClose}, {S::kStandby, A::kFailWaiter}},
      {{S::kCpProcessing, E::kNotOper}, {S::kNotOper, A::kFailWaiter}},
      {{S::kCpProcessing, E::kIoRequest}, {S::kCpProcessing, A::kRejectBusy}},
      {{S::kCpProcessing, E::kStarted}, {S::kCpPending, A::kNone}},
      {{S::kCpProcessing, E::kStartFailed}, {S::kIdle, A::kNone}},
      {{S::kCpProcessing, E::kFinal}, {S::kCpProcessing, A::kUnsolicited}},
      {{S::kCpProcessing, E::kIntermediate}, {S::kCpProcessing, A::kUnsolicited}},
      {{S::kCpProcessing, E::kAsyncRequest}, {S::kCpProcessing, A::kRejectBusy}},
      {{S::kCpPending, E::kOpen}, {S::kCpPending, A::kInvalid}},
      {{S::kCpPending, E::kClose}, {S::kStandby, A::kFailWaiter}},
      {{S::kCpPending, E::kNotOper}, {S::kNotOper, A::kFailWaiter}},
      {{S::kCpPending, E::kIoRequest}, {S::kCpPending, A::kRejectBusy}},
      {{S::kCpPending, E::kStarted}, {S::kCpPending, A::kInvalid}},
      {{S::kCpPending, E::kStartFailed}, {S::kCpPending, A::kInvalid}},
      {{S::kCpPending, E::kFinal}, {S::kIdle, A::kComplete}},
      {{S::kCpPending, E::kIntermediate}, {S::kCpPending, A::kIntermediate}},
      {{S::kCpPending, E::kAsyncRequest}, {S::kCpPending, A::kAsync}},
  };
  ASSERT_EQ(want.size(), static_cast<size_t>(kFsmStates * kFsmEvents));
  for (int s = 0; s < kFsmStates; ++s) {
    for (int e = 0; e < kFsmEvents; ++e) {
      const FsmCell got = FsmLookup(static_cast<S>(s), static_cast<E>(e));
      const FsmCell& w = want.at({static_cast<S>(s), static_cast<E>(e)});
      EXPECT_EQ(got.next, w.next) << FsmStateName(static_cast<S>(s)) << " x " << FsmEventName(static_cast<E>(e));
      EXPECT_EQ(got.action, w.action) << FsmStateName(static_cast<S>(s)) << " x " << FsmEventName(static_cast<E>(e));
    }
  }
}

TEST(Fsm, AProgramsLife) {
  Fsm f("0.0.0100");
  EXPECT_EQ(f.state(), S::kStandby);
  EXPECT_EQ(f.Dispatch(E::kIoRequest), A::kRejectNotOpen);
  EXPECT_EQ(f.Dispatch(E::kOpen), A::kNone);
  EXPECT_EQ(f.Dispatch(E::kIoRequest), A::kStart);
  EXPECT_EQ(f.Dispatch(E::kIoRequest), A::kRejectBusy);
  EXPECT_EQ(f.Dispatch(E::kStarted), A::kNone);
  EXPECT_EQ(f.Dispatch(E::kIntermediate), A::kIntermediate);
  EXPECT_EQ(f.Dispatch(E::kAsyncRequest), A::kAsync);
  EXPECT_EQ(f.Dispatch(E::kFinal), A::kComplete);
  EXPECT_EQ(f.state(), S::kIdle);
  EXPECT_EQ(f.Dispatch(E::kFinal), A::kUnsolicited);
  EXPECT_EQ(f.Dispatch(E::kNotOper), A::kNone);
  EXPECT_EQ(f.Dispatch(E::kIoRequest), A::kRejectNotOper);
}

}  // namespace
}  // namespace ccwpass::agent
