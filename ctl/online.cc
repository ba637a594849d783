#include "ctl/online.h"

#include <utility>

#include "agent/access/tls.h"
#include "agent/busid.h"
#include "ctl/exit_codes.h"
#include "fmt/format.h"

namespace ccwpass::ctl {
namespace {

std::string_view Sv(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace

Online::Online(std::ostream& out, std::ostream& err, int* exit_code, CcwctlEnv env)
    : out_(out), err_(err), exit_code_(exit_code), env_(std::move(env)) {
  if (!env_.channel_factory) env_.channel_factory = InsecureChannel;
}

void Online::AddGlobalFlags(CLI::App& app) {
  app.add_option("--agent", agent_flag_,
                 fmt::format("ccw-agent's address: unix:///path/to.sock or host:port (default: ${} or {})",
                             kAgentEnvVar, kDefaultAgentAddress))
      ->type_name("ADDR");
  app.add_option_function<std::string>(
         "--timeout",
         [this](const std::string& t) {
           timeout_text_ = t;
           timeout_ = ParseDurationOr(t, timeout_);
         },
         fmt::format("Deadline of each request to the agent, e.g. 500ms, 10s, 2m (default {}); an I/O "
                     "program still running then is halted by the agent",
                     kDefaultTimeout))
      ->type_name("DURATION")
      ->check(DurationValidator());
  app.add_option("--tls-cert", tls_cert_, "Client certificate (PEM) for a TCP agent with mutual TLS (or $CCWPASS_TLS_CERT)")
      ->type_name("FILE");
  app.add_option("--tls-key", tls_key_, "Its private key (PEM) (or $CCWPASS_TLS_KEY)")->type_name("FILE");
  app.add_option("--tls-ca", tls_ca_, "CA (PEM) that signed the agent's certificate (or $CCWPASS_TLS_CA)")
      ->type_name("FILE");
  app.add_option("--tls-server-name", tls_server_name_,
                 "Name to verify in the agent's certificate when it differs from the address's host")
      ->type_name("NAME");
}

std::string Online::AgentAddress() const { return ChooseAgentAddress(agent_flag_, env_.getenv); }

std::shared_ptr<grpc::Channel> Online::Channel() {
  if (channel_ != nullptr) return channel_;
  auto target = AgentTarget(AgentAddress());
  if (!target.ok()) {
    Fail(kExitBadInput, std::string(Sv(target.status().message())));
    return nullptr;
  }
  auto pick = [this](const std::string& flag, const char* var) {
    return !flag.empty() ? flag : env_.getenv(var).value_or("");
  };
  const std::string cert = pick(tls_cert_, "CCWPASS_TLS_CERT"), key = pick(tls_key_, "CCWPASS_TLS_KEY"),
                    ca = pick(tls_ca_, "CCWPASS_TLS_CA");
  if (target->rfind("unix:", 0) == 0 || (cert.empty() && key.empty() && ca.empty())) {
    channel_ = env_.channel_factory(*target);
    return channel_;
  }
  if (cert.empty() || key.empty() || ca.empty()) {
    Fail(kExitBadInput, "mutual TLS needs --tls-cert, --tls-key and --tls-ca (or $CCWPASS_TLS_CERT, _KEY, _CA)");
    return nullptr;
  }
  auto creds = agent::access::MutualTlsChannelCredentials({cert, key, ca});
  if (!creds.ok()) {
    Fail(kExitBadInput, std::string(Sv(creds.status().message())));
    return nullptr;
  }
  grpc::ChannelArguments args;
  if (!tls_server_name_.empty()) args.SetSslTargetNameOverride(tls_server_name_);
  channel_ = grpc::CreateCustomChannel(*target, *creds, args);
  return channel_;
}

std::unique_ptr<grpc::ClientContext> Online::UnaryContext() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  return ctx;
}

std::optional<std::string> Online::Schid(const std::string& text) {
  auto id = ParseBusId(text);
  if (!id.ok()) {
    Fail(kExitBadInput, fmt::format("schid must look like 0.0.0100: {}", Sv(id.status().message())));
    return std::nullopt;
  }
  return FormatSchid(id->first, id->second);
}

void Online::Fail(int exit_code, const std::string& message) {
  err_ << "ccwctl: " << message << '\n';
  *exit_code_ = exit_code;
}

void Online::FailRpc(const grpc::Status& status, const std::string& schid, bool io) {
  const RpcFailure f = DescribeRpcFailure(status, RpcCall{AgentAddress(), schid, io}, AgentAnswered(status));
  Fail(f.exit_code, f.message);
}

void Online::PrintMessage(const google::protobuf::Message& m, OutputFormat format) {
  out_ << FormatMessage(m, format);
}

void Online::Emit(const google::protobuf::Message& m, const std::string& output,
                  const std::function<std::string()>& table) {
  const OutputFormat format = ParseOutputFormat(output);
  if (format == OutputFormat::kTable) {
    out_ << table();
  } else {
    PrintMessage(m, format);
  }
  *exit_code_ = kExitOk;
}

absl::Duration ParseDurationOr(const std::string& text, absl::Duration fallback) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration()) return fallback;
  return d;
}

CLI::Validator DurationValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        absl::Duration d;
        if (!absl::ParseDuration(text, &d)) return "not a duration (e.g. 500ms, 10s, 2m): " + text;
        if (d <= absl::ZeroDuration()) return "the duration must be positive: " + text;
        return "";
      },
      "");
}

CLI::Option* AddOutputFlag(CLI::App& cmd, std::string* value, const std::vector<std::string>& formats) {
  *value = formats.front();
  std::string words;
  for (const std::string& f : formats) words += (words.empty() ? "" : "|") + f;
  return cmd.add_option("-o,--output", *value, fmt::format("Output format: {} (default {})", words, formats.front()))
      ->type_name("FORMAT")
      ->check(CLI::IsMember(formats));
}

}  // namespace ccwpass::ctl
