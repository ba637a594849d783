// `ccwctl completion bash|zsh`: the script names every command and option of
// the tree, is valid bash, and completes what it should when bash runs it.
#include "ctl/completion.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "ctl/cli.h"
#include "ctl/exit_codes.h"

namespace ccwpass::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Completion(const std::string& shell, int* code) {
  std::ostringstream out, err;
  *code = RunCcwctl({"ccwctl", "completion", shell}, out, err);
  return out.str();
}

// The tree RunCcwctl builds, rebuilt here by running `--help` of every command.
std::vector<std::string> HelpOf(const std::vector<std::string>& path) {
  std::vector<std::string> args = {"ccwctl"};
  args.insert(args.end(), path.begin(), path.end());
  args.push_back("--help");
  std::ostringstream out, err;
  EXPECT_EQ(RunCcwctl(args, out, err), kExitOk);
  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

TEST(CompletionTest, BashNamesEveryCommandAndOption) {
  int code = -1;
  const std::string bash = Completion("bash", &code);
  EXPECT_EQ(code, kExitOk);
  EXPECT_THAT(bash, HasSubstr(
                        "    \"\") echo \"program list get attach detach reset io halt clear schib events stats bench completion\" ;;\n"));
  EXPECT_THAT(bash, HasSubstr("    \"io\") echo \"sense-id rdc run\" ;;\n"));
  EXPECT_THAT(bash, HasSubstr("    \"program\") echo \"check show\" ;;\n"));
  EXPECT_THAT(bash, HasSubstr("    \"list\") echo \"-h --help --attached --io --cu --driver --state -o --output\" ;;\n"));
  EXPECT_THAT(bash, HasSubstr("    \"get|-o\") echo \"table json yaml qemu libvirt\" ;;\n"));
  EXPECT_THAT(bash, HasSubstr("    \"events|--kind\") echo \"hotplug attached detached state-changed crw unsolicited "
                              "device-request overflow\" ;;\n"));
  EXPECT_THAT(bash, HasSubstr("    \"io run|1\") echo \"@file\" ;;\n"));
  EXPECT_THAT(bash, HasSubstr("complete -F _ccwctl ccwctl\n"));
  // Every option any --help shows appears in the script.
  const std::vector<std::vector<std::string>> commands = {
      {}, {"program"}, {"program", "check"}, {"list"}, {"get"}, {"attach"}, {"detach"}, {"reset"}, {"io"},
      {"io", "sense-id"}, {"io", "rdc"}, {"io", "run"}, {"halt"}, {"clear"}, {"schib"}, {"events"}, {"stats"}, {"bench"}, {"completion"}};
  for (const auto& c : commands) {
    for (const std::string& line : HelpOf(c)) {
      const size_t dash = line.find("--");
      if (line.rfind("  -", 0) != 0 || dash == std::string::npos) continue;
      const std::string opt = line.substr(dash, line.find_first_of(" ,", dash) - dash);
      EXPECT_THAT(bash, HasSubstr(" " + opt)) << "option " << opt << " of `" << ::testing::PrintToString(c) << "`";
    }
  }
  const std::string zsh = Completion("zsh", &code);
  EXPECT_EQ(code, kExitOk);
  EXPECT_THAT(zsh, HasSubstr("autoload -U +X bashcompinit && bashcompinit\n"));
  EXPECT_THAT(zsh, HasSubstr(bash));
  EXPECT_EQ(Completion("fish", &code), "");
  EXPECT_EQ(code, kExitBadInput);
}

// Runs the script in bash with COMP_WORDS set to `words` (the last is the word
// being completed) and returns COMPREPLY joined by spaces.
std::string Complete(const std::string& script, const std::string& words) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/ccwctl.bash";
  std::ofstream(path) << script
                      << "\n_ccwctl_schids() { echo 0.0.0100 0.0.0101 0.0.0200; }\n"
                         "COMP_WORDS=("
                      << words << ")\nCOMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n_ccwctl\necho \"${COMPREPLY[*]}\"\n";
  std::string cmd = "bash " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "popen failed";
  std::string out;
  std::array<char, 256> buf{};
  while (fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  pclose(p);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

TEST(CompletionTest, BashCompletesWords) {
  if (std::system("command -v bash >/dev/null 2>&1") != 0) GTEST_SKIP() << "no bash";
  int code = -1;
  const std::string bash = Completion("bash", &code);
  EXPECT_EQ(Complete(bash, "ccwctl ''"), "program list get attach detach reset io halt clear schib events stats bench completion");
  EXPECT_EQ(Complete(bash, "ccwctl io r"), "rdc run");
  EXPECT_EQ(Complete(bash, "ccwctl --agent unix:///x.sock io r"), "rdc run");
  EXPECT_EQ(Complete(bash, "ccwctl get 0.0.01"), "0.0.0100 0.0.0101");
  EXPECT_EQ(Complete(bash, "ccwctl get 0.0.0100 -o l"), "libvirt");
  EXPECT_EQ(Complete(bash, "ccwctl list --state h"), "handed-off");
  EXPECT_EQ(Complete(bash, "ccwctl events --kind de"), "detached device-request");
  EXPECT_EQ(Complete(bash, "ccwctl events --w"), "--watch");
  EXPECT_EQ(Complete(bash, "ccwctl attach 0.0.0101 --h"), "--help --handoff");
  EXPECT_EQ(Complete(bash, "ccwctl completion z"), "zsh");
  EXPECT_EQ(Complete(bash, "ccwctl --ti"), "--timeout");
  EXPECT_EQ(Complete(bash, "ccwctl list --a"), "--attached --agent");
  EXPECT_EQ(Complete(bash, "ccwctl io run 0.0.0100 /nonexistent-dir/"), "");
}

}  // namespace
}  // namespace ccwpass::ctl
