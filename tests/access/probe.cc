// authz_probe: makes each call of proto/ccw/v1 named on its command line
// against an agent and prints one line per call, "CALL CODE message", so a
// test can run it as another uid (or with another client certificate) and
// see exactly what that caller may do.
//
//   authz_probe TARGET [--tls CERT KEY CA] CALL...
//   CALL: list | get:SCHID | attach:SCHID[:OWNER] | detach:SCHID | reset:SCHID |
//         start:SCHID (SENSE ID) | halt:SCHID | clear:SCHID | store:SCHID | watch | stats
// Watch reads with a 300 ms deadline: an allowed watch without events ends
// DEADLINE_EXCEEDED, printed as "watch OK".
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "proto/ccw/v1/ccw.grpc.pb.h"

namespace {

const char* CodeName(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "OTHER";
  }
}

std::string ReadFile(const std::string& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename F>
grpc::Status Call(F f) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return f(&ctx);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: authz_probe TARGET [--tls CERT KEY CA] CALL...\n");
    return 2;
  }
  const std::string target = argv[1];
  int i = 2;
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (std::string(argv[i]) == "--tls" && argc > i + 3) {
    grpc::SslCredentialsOptions o;
    o.pem_cert_chain = ReadFile(argv[i + 1]);
    o.pem_private_key = ReadFile(argv[i + 2]);
    o.pem_root_certs = ReadFile(argv[i + 3]);
    creds = grpc::SslCredentials(o);
    i += 4;
  }
  auto ch = grpc::CreateChannel(target, creds);
  auto sc = ccw::v1::Subchannels::NewStub(ch);
  auto io = ccw::v1::Io::NewStub(ch);
  auto ev = ccw::v1::Events::NewStub(ch);
  auto st = ccw::v1::Stats::NewStub(ch);
  for (; i < argc; ++i) {
    const std::string call = argv[i];
    const size_t colon = call.find(':');
    const std::string verb = call.substr(0, colon);
    std::string schid = colon == std::string::npos ? "" : call.substr(colon + 1);
    std::string owner;
    if (const size_t c2 = schid.find(':'); c2 != std::string::npos) {
      owner = schid.substr(c2 + 1);
      schid = schid.substr(0, c2);
    }
    grpc::Status s;
    if (verb == "list") {
      ccw::v1::ListSubchannelsResponse r;
      s = Call([&](grpc::ClientContext* c) { return sc->ListSubchannels(c, {}, &r); });
    } else if (verb == "get") {
      ccw::v1::GetSubchannelRequest q;
      q.set_schid(schid);
      ccw::v1::Subchannel r;
      s = Call([&](grpc::ClientContext* c) { return sc->GetSubchannel(c, q, &r); });
    } else if (verb == "attach") {
      ccw::v1::AttachRequest q;
      q.set_schid(schid);
      q.set_owner(owner);
      ccw::v1::AttachResponse r;
      s = Call([&](grpc::ClientContext* c) { return sc->Attach(c, q, &r); });
      if (s.ok()) s = grpc::Status(grpc::StatusCode::OK, "owner " + r.subchannel().owner());
    } else if (verb == "detach") {
      ccw::v1::DetachRequest q;
      q.set_schid(schid);
      ccw::v1::DetachResponse r;
      s = Call([&](grpc::ClientContext* c) { return sc->Detach(c, q, &r); });
    } else if (verb == "reset") {
      ccw::v1::ResetRequest q;
      q.set_schid(schid);
      ccw::v1::Subchannel r;
      s = Call([&](grpc::ClientContext* c) { return sc->Reset(c, q, &r); });
    } else if (verb == "start") {
      ccw::v1::StartProgramRequest q;
      q.set_schid(schid);
      auto* ccw = q.mutable_structural()->add_ccws();
      ccw->set_cmd(0xe4);
      ccw->set_flags(0x20);
      ccw->set_count(256);
      ccw::v1::StartProgramResponse r;
      s = Call([&](grpc::ClientContext* c) { return io->StartProgram(c, q, &r); });
    } else if (verb == "halt") {
      ccw::v1::HaltRequest q;
      q.set_schid(schid);
      ccw::v1::HaltResponse r;
      s = Call([&](grpc::ClientContext* c) { return io->Halt(c, q, &r); });
    } else if (verb == "clear") {
      ccw::v1::ClearRequest q;
      q.set_schid(schid);
      ccw::v1::ClearResponse r;
      s = Call([&](grpc::ClientContext* c) { return io->Clear(c, q, &r); });
    } else if (verb == "store") {
      ccw::v1::StoreSubchannelRequest q;
      q.set_schid(schid);
      ccw::v1::StoreSubchannelResponse r;
      s = Call([&](grpc::ClientContext* c) { return io->StoreSubchannel(c, q, &r); });
    } else if (verb == "stats") {
      ccw::v1::GetStatsResponse r;
      s = Call([&](grpc::ClientContext* c) { return st->GetStats(c, {}, &r); });
    } else if (verb == "watch") {
      grpc::ClientContext c;
      c.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
      auto reader = ev->Watch(&c, {});
      ccw::v1::Event e;
      const bool got = reader->Read(&e);
      s = got ? grpc::Status::OK : reader->Finish();
      if (got) c.TryCancel();
      if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) s = grpc::Status::OK;
    } else {
      std::fprintf(stderr, "authz_probe: unknown call %s\n", call.c_str());
      return 2;
    }
    std::printf("%s %s%s%s\n", verb.c_str(), CodeName(s.error_code()), s.error_message().empty() ? "" : " ",
                s.error_message().c_str());
  }
  std::fflush(stdout);
  return 0;
}
