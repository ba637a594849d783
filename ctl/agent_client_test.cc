// The agent address (flag > $CCWPASS_AGENT > default), gRPC targets, the
// failed-RPC messages and exit codes, and a real unreachable socket.
#include "ctl/agent_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "ctl/cli.h"
#include "ctl/exit_codes.h"
#include "ctl/testing/fake_agent.h"
#include "ctl/testing/run_cli.h"

namespace ccwpass::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::optional<std::string> NoEnv(const std::string&) { return std::nullopt; }

TEST(AgentAddressTest, FlagThenEnvironmentThenDefault) {
  EXPECT_EQ(ChooseAgentAddress("", NoEnv), "unix:///run/ccwpass/agent.sock");
  EXPECT_EQ(std::string(kDefaultAgentAddress), "unix:///run/ccwpass/agent.sock");
  const GetEnvFn env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "CCWPASS_AGENT") return "unix:///tmp/a.sock";
    return std::nullopt;
  };
  EXPECT_EQ(ChooseAgentAddress("", env), "unix:///tmp/a.sock");
  EXPECT_EQ(ChooseAgentAddress("localhost:7000", env), "localhost:7000");
  const GetEnvFn empty = [](const std::string&) -> std::optional<std::string> { return ""; };
  EXPECT_EQ(ChooseAgentAddress("", empty), kDefaultAgentAddress);
}

TEST(AgentAddressTest, Targets) {
  EXPECT_EQ(*AgentTarget("unix:///run/x.sock"), "unix:///run/x.sock");
  EXPECT_EQ(*AgentTarget("unix:/run/x.sock"), "unix:/run/x.sock");
  EXPECT_EQ(*AgentTarget("/run/x.sock"), "unix:///run/x.sock");
  EXPECT_EQ(*AgentTarget("localhost:7000"), "localhost:7000");
  EXPECT_EQ(*AgentTarget("[::1]:7000"), "[::1]:7000");
  EXPECT_EQ(*AgentTarget("dns:///agent.example:7000"), "dns:///agent.example:7000");
  for (const char* bad : {"", "unix://", "unix:relative.sock", "localhost", "localhost:http", "host:0", "host:70000",
                          "run/x.sock"}) {
    auto t = AgentTarget(bad);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("--agent must be unix:///path/to.sock or host:port"))
        << bad;
  }
}

TEST(AgentAddressTest, SocketPathMustFitASockaddr) {
  EXPECT_TRUE(AgentTarget("unix:///" + std::string(106, 'a')).ok());
  auto t = AgentTarget("/" + std::string(107, 'a'));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()), StartsWith("agent socket path is 108 bytes; Unix sockets allow 107: /aaa"));
}

TEST(RpcFailureTest, MessagesAndExitCodes) {
  const RpcCall io{"unix:///s", "0.0.0100", true};
  const RpcCall list{"unix:///s", "", false};
  auto f = DescribeRpcFailure(grpc::Status(grpc::StatusCode::UNAVAILABLE, "failed to connect to all addresses"), list,
                              false);
  EXPECT_EQ(f.exit_code, kExitUnreachable);
  EXPECT_EQ(f.message,
            "cannot reach ccw-agent at unix:///s: is it running? (systemctl status ccw-agent, or start it with "
            "ccw-agent --sim=HOSTFILE; --agent or $CCWPASS_AGENT choose another address)\n"
            "gRPC: failed to connect to all addresses");
  f = DescribeRpcFailure(grpc::Status(grpc::StatusCode::UNAVAILABLE, "busy: a program is running"), io, true);
  EXPECT_EQ(f.exit_code, kExitRetry);
  EXPECT_EQ(f.message, "0.0.0100: busy: a program is running\nthe subchannel is busy; try again later");
  f = DescribeRpcFailure(grpc::Status(grpc::StatusCode::NOT_FOUND, "x"), io, true);
  EXPECT_EQ(f.exit_code, kExitNotFound);
  EXPECT_EQ(f.message, "no subchannel 0.0.0100 (ccwctl list shows them)");
  f = DescribeRpcFailure(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "0.0.0100: QDIO"),
                         RpcCall{"a", "0.0.0100", false}, true);
  EXPECT_EQ(f.exit_code, kExitRejected);
  EXPECT_EQ(f.message, "0.0.0100: QDIO");
  f = DescribeRpcFailure(
      grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "certificate viewer has role read-only; Attach needs admin"),
      io, true);
  EXPECT_EQ(f.exit_code, kExitRejected);
  EXPECT_EQ(f.message,
            "certificate viewer has role read-only; Attach needs admin\n"
            "the agent's --access-config gives roles (docs/security.md)");
  f = DescribeRpcFailure(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "0.0.0100: rate limit"), io, true);
  EXPECT_EQ(f.exit_code, kExitRetry);
  EXPECT_EQ(f.message, "0.0.0100: rate limit\na limit of the channel-program policy; try again later");
  f = DescribeRpcFailure(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "0.0.0100: no async region"), io, true);
  EXPECT_EQ(f.exit_code, kExitRejected);
  EXPECT_EQ(f.message, "0.0.0100: no async region\nthe agent or the host kernel does not offer this");
  f = DescribeRpcFailure(grpc::Status(grpc::StatusCode::INTERNAL, "sysfs said 7"), list, true);
  EXPECT_EQ(f.exit_code, kExitRejected);
  EXPECT_EQ(f.message, "sysfs said 7");
}

TEST(RpcFailureTest, TellsGrpcTransportFailuresFromTheAgentsOwn) {
  using grpc::StatusCode;
  EXPECT_FALSE(AgentAnswered(grpc::Status(
      StatusCode::UNAVAILABLE,
      "failed to connect to all addresses; last error: UNKNOWN: unix:/x.sock: No such file or directory")));
  EXPECT_FALSE(AgentAnswered(grpc::Status(StatusCode::UNAVAILABLE, "Socket closed")));
  EXPECT_TRUE(AgentAnswered(grpc::Status(StatusCode::UNAVAILABLE, "0.0.0100: busy")));
  EXPECT_TRUE(AgentAnswered(grpc::Status(StatusCode::INTERNAL, "Socket closed")));
}

// The real channel factory against a socket nobody listens on.
TEST(UnreachableTest, NoSocketIsExitThreeWithWhatToDo) {
  const std::string addr = "unix:///nonexistent-ccwpass-test/agent.sock";
  std::ostringstream out, err;
  CcwctlEnv env;
  env.getenv = NoEnv;
  const int code = RunCcwctl({"ccwctl", "--agent", addr, "list"}, out, err, env);
  EXPECT_EQ(code, kExitUnreachable);
  EXPECT_EQ(out.str(), "");
  EXPECT_THAT(err.str(), StartsWith("ccwctl: cannot reach ccw-agent at " + addr +
                                    ": is it running? (systemctl status ccw-agent, or start it with ccw-agent "
                                    "--sim=HOSTFILE; --agent or $CCWPASS_AGENT choose another address)\ngRPC: "));
  EXPECT_THAT(err.str(), HasSubstr("No such file or directory"));
}

TEST(UnreachableTest, EnvironmentAddressIsUsedAndNamed) {
  const std::string addr = "unix:///nonexistent-ccwpass-test/env.sock";
  std::ostringstream out, err;
  CcwctlEnv env;
  env.getenv = [&](const std::string& n) -> std::optional<std::string> {
    if (n == kAgentEnvVar) return addr;
    return std::nullopt;
  };
  EXPECT_EQ(RunCcwctl({"ccwctl", "get", "0.0.0100"}, out, err, env), kExitUnreachable);
  EXPECT_THAT(err.str(), StartsWith("ccwctl: cannot reach ccw-agent at " + addr + ": is it running?"));
}

TEST(AgentFlagTest, FlagBeforeOrAfterTheCommandAndBadAddresses) {
  testing::FakeAgent agent;
  testing::CliRunner cli(agent);
  EXPECT_EQ(cli.Run({"--agent", "/run/other.sock", "list"}).code, kExitOk);
  EXPECT_EQ(cli.Run({"list", "--agent", "10.0.0.1:7000"}).code, kExitOk);
  cli.SetEnv("CCWPASS_AGENT", "unix:///env.sock");
  EXPECT_EQ(cli.Run({"list"}).code, kExitOk);
  EXPECT_THAT(cli.targets(), ElementsAre("unix:///run/other.sock", "10.0.0.1:7000", "unix:///env.sock"));
  const testing::Outcome r = cli.Run({"--agent", "nowhere", "list"});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_EQ(r.err, "ccwctl: agent address \"nowhere\": --agent must be unix:///path/to.sock or host:port\n");
}

TEST(AgentFlagTest, BusyIsRetryNotUnreachable) {
  testing::FakeAgent agent;
  testing::CliRunner cli(agent);
  agent.FailNext(grpc::Status(grpc::StatusCode::UNAVAILABLE, "0.0.0100: busy: another request holds it"));
  const testing::Outcome r = cli.Run({"get", "0.0.0100"});
  EXPECT_EQ(r.code, kExitRetry);
  EXPECT_EQ(r.err, "ccwctl: 0.0.0100: busy: another request holds it\nthe subchannel is busy; try again later\n");
}

}  // namespace
}  // namespace ccwpass::ctl
