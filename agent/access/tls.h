// Mutual TLS for the agent's TCP listener: the server certificate and key,
// and the CA that client certificates must chain to. A client without a
// certificate, or with one the CA did not sign, fails the handshake; a
// verified client's subject CN and SANs are its identity (access.h).
// Source: grpcpp/security/server_credentials.h (SslServerCredentials,
// GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY).
#ifndef CCWPASS_AGENT_ACCESS_TLS_H_
#define CCWPASS_AGENT_ACCESS_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace ccwpass::agent::access {

struct TlsFiles {
  std::string cert;       // PEM: the server certificate (chain)
  std::string key;        // PEM: its private key
  std::string client_ca;  // PEM: the CA(s) that sign client certificates
  bool any() const { return !cert.empty() || !key.empty() || !client_ca.empty(); }
};

// The contents of the PEM file `path`, given by command-line flag `flag`
// (for the message). Errors: kNotFound / kPermissionDenied when it cannot be
// read ("--tls-key /etc/x.key: No such file or directory"); kInvalidArgument
// when it holds no PEM block. Shared by the agent and ccwctl.
absl::StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path);

// Server credentials that require and verify a client certificate. Errors:
// kInvalidArgument when only some of the three files are given (naming the
// missing flags) or a file is not PEM ("--tls-key /etc/x.key: no PEM block");
// kNotFound / kPermissionDenied when a file cannot be read (naming it).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MutualTlsServerCredentials(const TlsFiles& files);

// The client's side of mutual TLS, as ccwctl's flags name it.
struct ClientTlsFiles {
  std::string cert;  // PEM: the client certificate (chain)          --tls-cert
  std::string key;   // PEM: its private key                          --tls-key
  std::string ca;    // PEM: the CA(s) that signed the agent's one    --tls-ca
};

// Channel credentials that present the client certificate and verify the
// agent's against `ca`. All three files are required (the caller words a
// missing one). Errors: those of ReadPemFile, naming the flag and the file.
// Shared by ccwctl and the test clients (tests/qemu/sense_id_bench).
// Source: grpcpp/security/credentials.h (SslCredentials).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MutualTlsChannelCredentials(const ClientTlsFiles& files);

// True when `address` ("127.0.0.1:5000", "localhost:5000", "[::1]:5000")
// binds only to the loopback interface.
bool IsLoopbackAddress(const std::string& address);

}  // namespace ccwpass::agent::access

#endif  // CCWPASS_AGENT_ACCESS_TLS_H_
