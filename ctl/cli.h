// ccwctl's command line: the root command and its subcommands, run in-process.
// main.cc only forwards argv here, so tests can run whole command lines.
#ifndef CCWPASS_CTL_CLI_H_
#define CCWPASS_CTL_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace ccwpass::ctl {

// Runs `args` (args[0] is the program name) and returns the exit code
// (ctl/exit_codes.h): the subcommand's, 0 for --help, 2 for a usage error
// (CLI11's message and "Run with --help for more information." on `err`).
// Subcommands today: `program check FILE`, `program show FILE`.
int RunCcwctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_CLI_H_
