// What ccwctl's online commands share: the global flags (--agent, --timeout),
// the output streams and exit code, the channel to the agent (made on first
// use, through an injectable factory), schid validation, and error reporting.
// The command groups (subchannel_cmd.h, io_cmd.h, events_cmd.h) register
// themselves with an Online and run from CLI11 callbacks.
#ifndef CCWPASS_CTL_ONLINE_H_
#define CCWPASS_CTL_ONLINE_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "ctl/agent_client.h"
#include "ctl/output.h"

namespace ccwpass::ctl {

// What RunCcwctl takes from its surroundings; tests replace both.
struct CcwctlEnv {
  ChannelFactory channel_factory = InsecureChannel;
  GetEnvFn getenv = ProcessGetEnv;
};

// The default --timeout: the gRPC deadline of every unary RPC.
inline constexpr char kDefaultTimeout[] = "30s";

class Online {
 public:
  Online(std::ostream& out, std::ostream& err, int* exit_code, CcwctlEnv env);

  // Adds --agent, --timeout and the TLS flags (--tls-cert, --tls-key,
  // --tls-ca, --tls-server-name) to the root command.
  void AddGlobalFlags(CLI::App& app);

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  // The agent address in use (flag, $CCWPASS_AGENT, or the default).
  std::string AgentAddress() const;

  // The channel, made on first use: for a TCP address with a client
  // certificate (flags or $CCWPASS_TLS_CERT/_KEY/_CA) a mutual-TLS channel,
  // otherwise the factory's. nullptr after reporting a malformed address or
  // an unreadable or incomplete set of TLS files (exit code 2).
  std::shared_ptr<grpc::Channel> Channel();

  // A context whose deadline is now + --timeout.
  std::unique_ptr<grpc::ClientContext> UnaryContext() const;

  // `text` as a schid in canonical form ("0.0.0100"); on a malformed one
  // reports "schid must look like 0.0.0100: ..." and sets exit code 2.
  std::optional<std::string> Schid(const std::string& text);

  // Writes "ccwctl: <message>\n" to err and sets the exit code.
  void Fail(int exit_code, const std::string& message);
  // Reports a failed RPC (DescribeRpcFailure) for `schid` (may be empty).
  void FailRpc(const grpc::Status& status, const std::string& schid, bool io);

  void SetExitCode(int code) { *exit_code_ = code; }

  // Writes `m` as JSON or YAML to out.
  void PrintMessage(const google::protobuf::Message& m, OutputFormat format);

  // One unary RPC with the --timeout deadline: `call(channel, context)` returns
  // its status. On failure reports it for `schid` (FailRpc) and returns false;
  // false too when the address is malformed (reported by Channel()).
  template <typename Call>
  bool Unary(const std::string& schid, bool io, Call&& call) {
    std::shared_ptr<grpc::Channel> channel = Channel();
    if (channel == nullptr) return false;
    std::unique_ptr<grpc::ClientContext> ctx = UnaryContext();
    const grpc::Status status = call(channel, ctx.get());
    if (!status.ok()) FailRpc(status, schid, io);
    return status.ok();
  }

  // Prints a command's result: `table()` for the table view, else `m` in the
  // format the -o word names; sets exit code 0.
  void Emit(const google::protobuf::Message& m, const std::string& output, const std::function<std::string()>& table);

 private:
  std::ostream& out_;
  std::ostream& err_;
  int* exit_code_;
  CcwctlEnv env_;
  std::string agent_flag_;
  // Mutual TLS for TCP agents: flags, else $CCWPASS_TLS_CERT / _KEY / _CA.
  std::string tls_cert_, tls_key_, tls_ca_, tls_server_name_;
  absl::Duration timeout_ = absl::Seconds(30);
  std::string timeout_text_ = kDefaultTimeout;
  std::shared_ptr<grpc::Channel> channel_;
};

// A CLI11 validator for durations in absl::ParseDuration's form ("2s",
// "500ms", "1m30s"); rejects zero and negative durations.
CLI::Validator DurationValidator();
absl::Duration ParseDurationOr(const std::string& text, absl::Duration fallback);

// Adds `-o,--output` with the given formats (the first is the default) and
// returns the option; `*value` receives the word.
CLI::Option* AddOutputFlag(CLI::App& cmd, std::string* value, const std::vector<std::string>& formats);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_ONLINE_H_
