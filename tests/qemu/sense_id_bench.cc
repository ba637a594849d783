// sense_id_bench: SENSE ID through ccw-agent over gRPC, the host side of the
// QEMU end-to-end test's latency measurement: `--count` StartProgram calls
// (structural SENSE ID, SLI, 256 bytes) to an attached subchannel, each timed
// from the call to its reply, after one to warm up the channel.
//
// The agent in the guest listens beyond loopback, so only with mutual TLS:
// --tls-cert/--tls-key/--tls-ca as ccwctl takes them, and --tls-server-name
// for the name in the agent's certificate.
//
// Output (stdout): "sense-id cu=3832/02 bytes=256" and the latency line
// (latency.h). Errors: exit 1 with the gRPC status on stderr.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "agent/access/tls.h"
#include "grpcpp/grpcpp.h"
#include "proto/ccw/v1/ccw.grpc.pb.h"
#include "tests/qemu/latency.h"

int main(int argc, char** argv) {
  CLI::App app{"sense_id_bench: SENSE ID through ccw-agent over gRPC (QEMU end-to-end test)"};
  std::string agent, schid, server_name;
  ccwpass::agent::access::ClientTlsFiles tls;
  int count = 100;
  app.add_option("--agent", agent, "gRPC target, e.g. 127.0.0.1:7443")->required();
  app.add_option("--tls-cert", tls.cert, "client certificate (PEM)")->required();
  app.add_option("--tls-key", tls.key, "its private key (PEM)")->required();
  app.add_option("--tls-ca", tls.ca, "CA (PEM) that signed the agent's certificate")->required();
  app.add_option("--tls-server-name", server_name, "the name in the agent's certificate");
  app.add_option("--schid", schid, "a subchannel attached in agent mode")->required();
  app.add_option("--count", count, "SENSE IDs to time")->check(CLI::PositiveNumber)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto creds = ccwpass::agent::access::MutualTlsChannelCredentials(tls);
  if (!creds.ok()) {
    std::fprintf(stderr, "sense_id_bench: %s\n", std::string(creds.status().message()).c_str());
    return 1;
  }
  grpc::ChannelArguments args;
  if (!server_name.empty()) args.SetSslTargetNameOverride(server_name);
  auto stub = ccw::v1::Io::NewStub(grpc::CreateCustomChannel(agent, *creds, args));
  ccw::v1::StartProgramRequest req;
  req.set_schid(schid);
  ccw::v1::CcwSpec* c = req.mutable_structural()->add_ccws();
  c->set_cmd(0xe4);
  c->set_flags(0x20);
  c->set_count(256);
  std::vector<double> us;
  ccw::v1::StartProgramResponse resp;
  for (int i = 0; i <= count; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const double t0 = ccwpass::qemu_e2e::NowUs();
    grpc::Status st = stub->StartProgram(&ctx, req, &resp);
    const double t1 = ccwpass::qemu_e2e::NowUs();
    if (!st.ok()) {
      std::fprintf(stderr, "sense_id_bench: %s: %s\n", schid.c_str(), st.error_message().c_str());
      return 1;
    }
    if (i > 0) us.push_back(t1 - t0);
  }
  const std::string& id = resp.transfers(0).data();
  std::printf("sense-id cu=%02x%02x/%02x bytes=%zu\n", static_cast<uint8_t>(id[1]), static_cast<uint8_t>(id[2]),
              static_cast<uint8_t>(id[3]), id.size());
  ccwpass::qemu_e2e::PrintLatency("agent-grpc", us);
  return 0;
}
