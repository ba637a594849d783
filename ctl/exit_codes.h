// ccwctl's exit codes, shared by every subcommand.
#ifndef CCWPASS_CTL_EXIT_CODES_H_
#define CCWPASS_CTL_EXIT_CODES_H_

namespace ccwpass::ctl {

inline constexpr int kExitOk = 0;        // done; for `program check`: the program is accepted
inline constexpr int kExitRejected = 1;  // the channel program (or request) was refused
inline constexpr int kExitBadInput = 2;  // usage error, unreadable or invalid input file

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_EXIT_CODES_H_
