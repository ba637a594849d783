// ccwctl's exit codes, shared by every subcommand (docs/ccwctl.md lists them).
#ifndef CCWPASS_CTL_EXIT_CODES_H_
#define CCWPASS_CTL_EXIT_CODES_H_

namespace ccwpass::ctl {

inline constexpr int kExitOk = 0;        // done; for `program check`: the program is accepted
inline constexpr int kExitRejected = 1;  // the channel program (or request) was refused
inline constexpr int kExitBadInput = 2;  // usage error, unreadable or invalid input file, malformed schid
inline constexpr int kExitUnreachable = 3;  // ccw-agent could not be reached (gRPC UNAVAILABLE on connect)
inline constexpr int kExitNotFound = 4;     // the agent has no such subchannel (gRPC NOT_FOUND)
// The program ran, but the device or channel reported an error: unit check,
// unit exception, or any subchannel status (program check, channel-data check, ...).
inline constexpr int kExitDeviceError = 5;
// Busy or out of time: the agent said UNAVAILABLE for the subchannel, or the
// deadline (--timeout) passed. Trying again later may succeed.
inline constexpr int kExitRetry = 6;

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_EXIT_CODES_H_
