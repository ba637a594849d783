// ccwctl's command line: the root command and its subcommands, run in-process.
// main.cc only forwards argv here, so tests can run whole command lines — the
// online ones against ctl/testing/fake_agent.h through an injected channel.
#ifndef CCWPASS_CTL_CLI_H_
#define CCWPASS_CTL_CLI_H_

#include <ostream>
#include <string>
#include <vector>

#include "ctl/online.h"

namespace ccwpass::ctl {

// Runs `args` (args[0] is the program name) and returns the exit code
// (ctl/exit_codes.h): the subcommand's, 0 for --help, 2 for a usage error
// (CLI11's message and "Run with --help for more information." on `err`).
// Commands: program check|show (offline); list, get, attach, detach, reset,
// io sense-id|rdc|run, halt, clear, schib, events (online, through the
// channel `env.channel_factory` makes for the --agent address); completion.
int RunCcwctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
              const CcwctlEnv& env);
// The same with the process's environment and real gRPC channels.
int RunCcwctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_CLI_H_
