// How ccwctl reaches ccw-agent: the address (flag, environment, default), the
// gRPC channel (injectable, so tests run every command in-process against
// ctl/testing/fake_agent.h), and the one place that turns a failed RPC into a
// message that says what to do next and an exit code (ctl/exit_codes.h).
#ifndef CCWPASS_CTL_AGENT_CLIENT_H_
#define CCWPASS_CTL_AGENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ccwpass::ctl {

// The agent's address when neither --agent nor $CCWPASS_AGENT is given: the
// Unix socket the systemd unit makes the agent listen on. The only place the
// default path is written.
inline constexpr char kDefaultAgentAddress[] = "unix:///run/ccwpass/agent.sock";
// The environment variable that overrides the default (the flag overrides both).
inline constexpr char kAgentEnvVar[] = "CCWPASS_AGENT";

// What ccwctl reads from its environment; tests replace it.
using GetEnvFn = std::function<std::optional<std::string>(const std::string& name)>;
// std::getenv; unset and empty variables are both nullopt.
std::optional<std::string> ProcessGetEnv(const std::string& name);

// The address to use: `flag` when not empty, else $CCWPASS_AGENT when set and
// not empty, else kDefaultAgentAddress.
std::string ChooseAgentAddress(const std::string& flag, const GetEnvFn& getenv);

// The gRPC target for an address:
//   "unix:///run/x.sock", "unix:/run/x.sock"  -> unchanged
//   "/run/x.sock" (absolute path)             -> "unix:///run/x.sock"
//   "host:port", "[::1]:port", "dns:///h:p"   -> unchanged (TCP)
// Errors: kInvalidArgument for an empty address, "unix://" without a path, a
// relative path, or a host without a port ("--agent must be unix:///path/to.sock or host:port"),
// and for a socket path longer than a sockaddr_un holds (107 bytes).
absl::StatusOr<std::string> AgentTarget(std::string_view address);

// Makes the channel for a gRPC target. The default makes an insecure channel
// (the agent's socket is protected by its file mode; TCP is for tests and labs).
using ChannelFactory = std::function<std::shared_ptr<grpc::Channel>(const std::string& target)>;
std::shared_ptr<grpc::Channel> InsecureChannel(const std::string& target);

// What ccwctl was doing when an RPC failed, for the message.
struct RpcCall {
  std::string agent;   // the address as the user gave it (or the default)
  std::string schid;   // the subchannel, or empty
  bool io = false;     // a command that needs an agent-mode attach (io, halt, clear, schib)
};

struct RpcFailure {
  int exit_code;
  std::string message;  // one or more lines without the "ccwctl: " prefix, no trailing newline
};

// The message and exit code for a failed RPC:
//   UNAVAILABLE before any answer -> kExitUnreachable, "cannot reach ccw-agent at ADDR: is it running? ..."
//                                    and gRPC's reason on a second line
//   UNAVAILABLE from the agent    -> kExitRetry, the agent's message, "try again later"
//   NOT_FOUND                     -> kExitNotFound, "no subchannel S (ccwctl list shows them)"
//   FAILED_PRECONDITION           -> kExitRejected; for I/O commands with "attach it first: ccwctl attach S"
//   DEADLINE_EXCEEDED             -> kExitRetry, with "--timeout" named
//   PERMISSION_DENIED             -> kExitRejected, the agent's message (who, which role is needed)
//   RESOURCE_EXHAUSTED            -> kExitRetry, the agent's message (a policy limit)
//   INVALID_ARGUMENT, others      -> kExitRejected, the agent's message
// `answered` tells whether the agent answered at all: false when the channel
// never got a connection (see AgentAnswered).
RpcFailure DescribeRpcFailure(const grpc::Status& status, const RpcCall& call, bool answered);

// Whether an RPC that ended with `status` was answered by a server, as opposed
// to gRPC failing to reach one. Both come as UNAVAILABLE; gRPC's own have
// transport messages ("failed to connect to all addresses; last error: ...:
// No such file or directory", "DNS resolution failed", "Socket closed",
// "Connection reset", ...), the agent's name a subchannel ("0.0.0100: busy").
// (Neither the peer nor the channel state tells them apart: a failed connect
// still has a peer, and an in-process channel has no connectivity state.)
bool AgentAnswered(const grpc::Status& status);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_AGENT_CLIENT_H_
