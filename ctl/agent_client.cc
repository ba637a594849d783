#include "ctl/agent_client.h"

#include <sys/un.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "ctl/exit_codes.h"
#include "fmt/format.h"

namespace ccwpass::ctl {
namespace {

// sizeof(sockaddr_un::sun_path) - 1: longer paths cannot be connected to.
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;

constexpr char kAddressForm[] = "--agent must be unix:///path/to.sock or host:port";

std::string Unreachable(const std::string& agent) {
  return fmt::format(
      "cannot reach ccw-agent at {}: is it running? (systemctl status ccw-agent, or start it with "
      "ccw-agent --sim=HOSTFILE; --agent or ${} choose another address)",
      agent, kAgentEnvVar);
}

}  // namespace

std::optional<std::string> ProcessGetEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::string ChooseAgentAddress(const std::string& flag, const GetEnvFn& getenv) {
  if (!flag.empty()) return flag;
  if (getenv) {
    if (auto env = getenv(kAgentEnvVar); env.has_value() && !env->empty()) return *env;
  }
  return kDefaultAgentAddress;
}

absl::StatusOr<std::string> AgentTarget(std::string_view address) {
  const std::string a(address);
  if (a.empty()) return absl::InvalidArgumentError(fmt::format("empty agent address: {}", kAddressForm));
  if (absl::StartsWith(a, "unix:")) {
    const std::string_view path = absl::StartsWith(a, "unix://") ? std::string_view(a).substr(7)
                                                                  : std::string_view(a).substr(5);
    if (path.empty() || path.front() != '/') {
      return absl::InvalidArgumentError(
          fmt::format("agent address \"{}\" has no absolute socket path: {}", a, kAddressForm));
    }
    if (path.size() > kMaxSocketPath) {
      return absl::InvalidArgumentError(fmt::format("agent socket path is {} bytes; Unix sockets allow {}: {}",
                                                    path.size(), kMaxSocketPath, path));
    }
    return a;
  }
  if (a.front() == '/') return AgentTarget("unix://" + a);
  if (absl::StrContains(a, "://")) return a;  // another gRPC scheme (dns:///, ipv4:, ...)
  // host:port, [v6]:port
  const size_t colon = a.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(a.substr(colon + 1), &port) ||
      port == 0 || port > 65535) {
    return absl::InvalidArgumentError(fmt::format("agent address \"{}\": {}", a, kAddressForm));
  }
  return a;
}

std::shared_ptr<grpc::Channel> InsecureChannel(const std::string& target) {
  return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
}

bool AgentAnswered(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return true;
  static constexpr const char* kTransport[] = {
      "failed to connect to all addresses", "DNS resolution failed", "Socket closed", "Connection reset",
      "Broken pipe", "Connection refused", "empty address list", "Endpoint read failed", "connections to all backends failing",
  };
  for (const char* t : kTransport) {
    if (absl::StrContains(status.error_message(), t)) return false;
  }
  return true;
}

RpcFailure DescribeRpcFailure(const grpc::Status& status, const RpcCall& call, bool answered) {
  const std::string& msg = status.error_message();
  const std::string what = call.schid.empty() ? msg : (absl::StartsWith(msg, call.schid) ? msg : call.schid + ": " + msg);
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      if (!answered) return {kExitUnreachable, Unreachable(call.agent) + "\ngRPC: " + msg};
      return {kExitRetry, fmt::format("{}\nthe subchannel is busy; try again later", what)};
    case grpc::StatusCode::NOT_FOUND:
      if (call.schid.empty()) return {kExitNotFound, msg};
      return {kExitNotFound, fmt::format("no subchannel {} (ccwctl list shows them)", call.schid)};
    case grpc::StatusCode::FAILED_PRECONDITION:
      if (call.io) {
        return {kExitRejected,
                fmt::format("{}\nthis needs the subchannel attached in agent mode: ccwctl attach {} "
                            "(a handed-off one: ccwctl detach {} first)",
                            what, call.schid, call.schid)};
      }
      return {kExitRejected, what};
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return {kExitRetry, fmt::format("{}\nthe deadline passed (--timeout sets it)", what)};
    case grpc::StatusCode::UNIMPLEMENTED:
      return {kExitRejected, fmt::format("{}\nthe agent or the host kernel does not offer this", what)};
    case grpc::StatusCode::CANCELLED:
      return {kExitRejected, fmt::format("cancelled: {}", what)};
    case grpc::StatusCode::PERMISSION_DENIED:
      return {kExitRejected, fmt::format("{}\nthe agent's --access-config gives roles (docs/security.md)", msg)};
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return {kExitRetry, fmt::format("{}\na limit of the channel-program policy; try again later", what)};
    default:
      return {kExitRejected, what};
  }
}

}  // namespace ccwpass::ctl
