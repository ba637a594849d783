// `ccwctl completion bash|zsh`: a shell completion script generated from the
// command tree itself (every subcommand, option, fixed choice and positional
// argument that CLI11 knows), so it never falls behind the commands.
// SCHID arguments complete from `ccwctl list -o json` when the agent answers.
#ifndef CCWPASS_CTL_COMPLETION_H_
#define CCWPASS_CTL_COMPLETION_H_

#include <ostream>
#include <string>

#include "CLI/CLI.hpp"

namespace ccwpass::ctl {

// The bash script for `root`'s tree. It defines _ccwctl and registers it with
// `complete -F _ccwctl ccwctl`.
std::string BashCompletion(CLI::App& root);
// The zsh script: the bash one under zsh's bashcompinit (source it from ~/.zshrc).
std::string ZshCompletion(CLI::App& root);

// Adds `completion SHELL`; it prints the script for `root` to `out`.
void AddCompletionCommand(CLI::App& root, std::ostream& out, int* exit_code);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_COMPLETION_H_
