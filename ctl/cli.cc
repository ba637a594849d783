#include "ctl/cli.h"

#include "CLI/CLI.hpp"
#include "ctl/exit_codes.h"
#include "ctl/program_cmd.h"

namespace ccwpass::ctl {

int RunCcwctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app("ccwctl: the command-line client of ccwpass, the control plane for s390 vfio-ccw "
               "channel-I/O passthrough",
               "ccwctl");
  app.require_subcommand(1);
  int exit_code = kExitOk;
  AddProgramCommand(app, out, err, &exit_code);

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

}  // namespace ccwpass::ctl
