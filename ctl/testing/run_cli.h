// Runs ccwctl command lines in-process against a FakeAgent: RunCcwctl with a
// channel factory that hands out the fake's in-process channel (and records
// the gRPC targets asked for) and an empty environment unless set.
#ifndef CCWPASS_CTL_TESTING_RUN_CLI_H_
#define CCWPASS_CTL_TESTING_RUN_CLI_H_

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "ctl/cli.h"
#include "ctl/testing/fake_agent.h"

namespace ccwpass::ctl::testing {

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

class CliRunner {
 public:
  explicit CliRunner(FakeAgent& agent) : agent_(agent) {}

  // Runs `ccwctl <args...>`.
  Outcome Run(std::vector<std::string> args) {
    args.insert(args.begin(), "ccwctl");
    CcwctlEnv env;
    env.channel_factory = [this](const std::string& target) {
      targets_.push_back(target);
      return agent_.Channel();
    };
    env.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    std::ostringstream out, err;
    Outcome r;
    r.code = RunCcwctl(args, out, err, env);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  void SetEnv(const std::string& name, const std::string& value) { env_[name] = value; }
  // The gRPC targets the commands asked a channel for, in order.
  const std::vector<std::string>& targets() const { return targets_; }

 private:
  FakeAgent& agent_;
  std::map<std::string, std::string> env_;
  std::vector<std::string> targets_;
};

// A gtest fixture with a fresh FakeAgent per test and Run() for command lines.
class CliTest : public ::testing::Test {
 protected:
  Outcome Run(std::vector<std::string> args) { return cli_.Run(std::move(args)); }
  FakeAgent agent_;
  CliRunner cli_{agent_};
};

}  // namespace ccwpass::ctl::testing

#endif  // CCWPASS_CTL_TESTING_RUN_CLI_H_
