// The agent's per-subchannel state machine: what the agent knows of the
// kernel vfio-ccw device it holds open, and what each event does there.
//
// States are the kernel's (drivers/s390/cio/vfio_ccw_private.h): NOT_OPER,
// STANDBY, IDLE, CP_PROCESSING (the agent is translating and starting a
// program), CP_PENDING (started; waiting for the final interruption). The
// table is complete: every state × event cell says the next state and what
// the caller must do; Dispatch() is the only way to change state and it logs
// (subchannel, state, event). The kernel's own jump table
// (drivers/s390/cio/vfio_ccw_fsm.c) is the model.
#ifndef CCWPASS_AGENT_FSM_FSM_H_
#define CCWPASS_AGENT_FSM_FSM_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ccwpass::agent {

enum class FsmState : uint8_t { kNotOper, kStandby, kIdle, kCpProcessing, kCpPending };
inline constexpr int kFsmStates = 5;

enum class FsmEvent : uint8_t {
  kOpen,          // the VFIO device was opened (attach in agent mode, reset)
  kClose,         // the device was closed (detach, REQ)
  kNotOper,       // the device is gone or not operational
  kIoRequest,     // a client asks to start a channel program
  kStarted,       // the I/O region write was accepted (cc 0)
  kStartFailed,   // the kernel refused the start (-EBUSY, -EACCES, ...)
  kFinal,         // a final interruption (no subchannel or device activity)
  kIntermediate,  // a non-final interruption (PCI)
  kAsyncRequest,  // a client asks for HALT or CLEAR
};
inline constexpr int kFsmEvents = 9;

// What the caller does after a dispatch.
enum class FsmAction : uint8_t {
  kNone,          // nothing more
  kStart,         // go on: translate and write the I/O region
  kRejectNotOpen, // refuse: the device is not open (FAILED_PRECONDITION)
  kRejectNotOper, // refuse: the device is not operational (FAILED_PRECONDITION)
  kRejectBusy,    // refuse: a program is in progress (UNAVAILABLE)
  kComplete,      // hand the interruption to the waiting request
  kIntermediate,  // report an intermediate interruption to the waiting request
  kUnsolicited,   // no request waits: publish the interruption as an event
  kAsync,         // go on: issue HALT or CLEAR
  kFailWaiter,    // the waiting request fails (device closed or gone)
  kInvalid,       // cannot happen; a bug if it does (logged)
};

struct FsmCell {
  FsmState next;
  FsmAction action;
};

const char* FsmStateName(FsmState s);
const char* FsmEventName(FsmEvent e);
const char* FsmActionName(FsmAction a);

// The cell for (state, event).
FsmCell FsmLookup(FsmState state, FsmEvent event);

// One subchannel's FSM. Not thread-safe: the owner serializes dispatches.
class Fsm {
 public:
  explicit Fsm(std::string schid, FsmState initial = FsmState::kStandby) : schid_(std::move(schid)), state_(initial) {}
  FsmState state() const { return state_; }
  // Applies `event`: moves to the cell's next state, logs at debug level
  // (kInvalid at error level), and returns the action.
  FsmAction Dispatch(FsmEvent event);

 private:
  std::string schid_;
  FsmState state_;
};

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_FSM_FSM_H_
