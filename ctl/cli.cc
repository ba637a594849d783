#include "ctl/cli.h"

#include "CLI/CLI.hpp"
#include "ctl/bench_cmd.h"
#include "ctl/completion.h"
#include "ctl/events_cmd.h"
#include "ctl/exit_codes.h"
#include "ctl/io_cmd.h"
#include "ctl/program_cmd.h"
#include "ctl/stats_cmd.h"
#include "ctl/subchannel_cmd.h"

namespace ccwpass::ctl {

int RunCcwctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const CcwctlEnv& env) {
  CLI::App app("ccwctl: the command-line client of ccwpass, the control plane for s390 vfio-ccw "
               "channel-I/O passthrough",
               "ccwctl");
  app.require_subcommand(1);
  // Global flags may come after the subcommand too: `ccwctl list --agent ...`.
  app.fallthrough();
  app.footer(
      "Exit codes: 0 ok, 1 refused or failed, 2 bad input or usage, 3 agent unreachable,\n"
      "4 no such subchannel, 5 device error (unit check, ...), 6 busy or deadline passed.\n"
      "See docs/ccwctl.md.");
  int exit_code = kExitOk;
  Online online(out, err, &exit_code, env);
  online.AddGlobalFlags(app);
  AddProgramCommand(app, out, err, &exit_code);
  AddSubchannelCommands(app, online);
  AddIoCommands(app, online);
  AddEventsCommand(app, online);
  AddStatsCommand(app, online);
  AddBenchCommand(app, online);
  AddCompletionCommand(app, out, &exit_code);

  // CLI11 wants argc/argv; it reads args[0] as the program name.
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    // CLI11 reports usage errors and --help as exceptions; they end here.
    const int code = app.exit(e, out, err);
    return code == static_cast<int>(CLI::ExitCodes::Success) ? kExitOk : kExitBadInput;
  }
  return exit_code;
}

int RunCcwctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return RunCcwctl(args, out, err, CcwctlEnv{});
}

}  // namespace ccwpass::ctl
