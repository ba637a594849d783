#include "agent/fsm/fsm.h"

#include "spdlog/spdlog.h"

namespace ccwpass::agent {
namespace {

using S = FsmState;
using A = FsmAction;

// Rows: states; columns: events in FsmEvent order
// (Open, Close, NotOper, IoRequest, Started, StartFailed, Final, Intermediate, AsyncRequest).
constexpr FsmCell kTable[kFsmStates][kFsmEvents] = {
    /* NOT_OPER */ {
        {S::kIdle, A::kNone},            // Open: a reset or reopen enabled it again
        {S::kNotOper, A::kNone},         // Close
        {S::kNotOper, A::kNone},         // NotOper
        {S::kNotOper, A::kRejectNotOper},  // IoRequest
        {S::kNotOper, A::kInvalid},      // Started
        {S::kNotOper, A::kInvalid},      // StartFailed
        {S::kNotOper, A::kUnsolicited},  // Final
        {S::kNotOper, A::kUnsolicited},  // Intermediate
        {S::kNotOper, A::kRejectNotOper},  // AsyncRequest
    },
    /* STANDBY */ {
        {S::kIdle, A::kNone},
        {S::kStandby, A::kNone},
        {S::kNotOper, A::kNone},
        {S::kStandby, A::kRejectNotOpen},
        {S::kStandby, A::kInvalid},
        {S::kStandby, A::kInvalid},
        {S::kStandby, A::kUnsolicited},
        {S::kStandby, A::kUnsolicited},
        {S::kStandby, A::kRejectNotOpen},
    },
    /* IDLE */ {
        {S::kIdle, A::kNone},
        {S::kStandby, A::kNone},
        {S::kNotOper, A::kNone},
        {S::kCpProcessing, A::kStart},
        {S::kIdle, A::kInvalid},
        {S::kIdle, A::kInvalid},
        {S::kIdle, A::kUnsolicited},
        {S::kIdle, A::kUnsolicited},
        {S::kIdle, A::kAsync},  // halt/clear of an idle subchannel is legal
    },
    /* CP_PROCESSING */ {
        {S::kCpProcessing, A::kInvalid},
        {S::kStandby, A::kFailWaiter},
        {S::kNotOper, A::kFailWaiter},
        {S::kCpProcessing, A::kRejectBusy},
        {S::kCpPending, A::kNone},
        {S::kIdle, A::kNone},
        {S::kCpProcessing, A::kUnsolicited},  // not ours: the start is not accepted yet
        {S::kCpProcessing, A::kUnsolicited},
        {S::kCpProcessing, A::kRejectBusy},   // the kernel would say -EAGAIN
    },
    /* CP_PENDING */ {
        {S::kCpPending, A::kInvalid},
        {S::kStandby, A::kFailWaiter},
        {S::kNotOper, A::kFailWaiter},
        {S::kCpPending, A::kRejectBusy},
        {S::kCpPending, A::kInvalid},
        {S::kCpPending, A::kInvalid},
        {S::kIdle, A::kComplete},
        {S::kCpPending, A::kIntermediate},
        {S::kCpPending, A::kAsync},
    },
};

constexpr const char* kStateNames[] = {"NOT_OPER", "STANDBY", "IDLE", "CP_PROCESSING", "CP_PENDING"};
constexpr const char* kEventNames[] = {"OPEN",  "CLOSE", "NOT_OPER",     "IO_REQUEST",   "STARTED",
                                       "START_FAILED", "FINAL", "INTERMEDIATE", "ASYNC_REQUEST"};
constexpr const char* kActionNames[] = {"none",   "start",        "reject-not-open", "reject-not-oper",
                                        "reject-busy", "complete", "intermediate",   "unsolicited",
                                        "async",  "fail-waiter",  "invalid"};

}  // namespace

const char* FsmStateName(FsmState s) { return kStateNames[static_cast<int>(s)]; }
const char* FsmEventName(FsmEvent e) { return kEventNames[static_cast<int>(e)]; }
const char* FsmActionName(FsmAction a) { return kActionNames[static_cast<int>(a)]; }

FsmCell FsmLookup(FsmState state, FsmEvent event) {
  return kTable[static_cast<int>(state)][static_cast<int>(event)];
}

FsmAction Fsm::Dispatch(FsmEvent event) {
  const FsmCell c = FsmLookup(state_, event);
  if (c.action == FsmAction::kInvalid) {
    spdlog::error("{}: fsm: event {} in state {} cannot happen", schid_, FsmEventName(event), FsmStateName(state_));
  } else {
    spdlog::debug("{}: fsm: {} + {} -> {} ({})", schid_, FsmStateName(state_), FsmEventName(event),
                  FsmStateName(c.next), FsmActionName(c.action));
  }
  state_ = c.next;
  return c.action;
}

}  // namespace ccwpass::agent
