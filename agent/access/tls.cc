#include "agent/access/tls.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ccwpass::agent::access {

absl::StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string what = absl::StrCat(flag, " ", path, ": ", std::strerror(err));
    if (err == EACCES) return absl::PermissionDeniedError(what);
    return absl::NotFoundError(what);
  }
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": no PEM block (-----BEGIN ...)"));
  }
  return text;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MutualTlsServerCredentials(const TlsFiles& files) {
  std::vector<std::string> missing;
  if (files.cert.empty()) missing.push_back("--tls-cert");
  if (files.key.empty()) missing.push_back("--tls-key");
  if (files.client_ca.empty()) missing.push_back("--tls-client-ca");
  if (!missing.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("mutual TLS needs --tls-cert, --tls-key and --tls-client-ca; missing ", absl::StrJoin(missing, ", ")));
  }
  absl::StatusOr<std::string> cert = ReadPemFile("--tls-cert", files.cert);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemFile("--tls-key", files.key);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> ca = ReadPemFile("--tls-client-ca", files.client_ca);
  if (!ca.ok()) return ca.status();
  grpc::SslServerCredentialsOptions o(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  o.pem_root_certs = *ca;
  o.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(o);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MutualTlsChannelCredentials(const ClientTlsFiles& files) {
  grpc::SslCredentialsOptions o;
  for (auto [flag, path, field] : {std::tuple{"--tls-cert", &files.cert, &o.pem_cert_chain},
                                   std::tuple{"--tls-key", &files.key, &o.pem_private_key},
                                   std::tuple{"--tls-ca", &files.ca, &o.pem_root_certs}}) {
    absl::StatusOr<std::string> pem = ReadPemFile(flag, *path);
    if (!pem.ok()) return pem.status();
    *field = std::move(*pem);
  }
  return grpc::SslCredentials(o);
}

bool IsLoopbackAddress(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address.rfind("localhost:", 0) == 0 || address.rfind("[::1]:", 0) == 0;
}

}  // namespace ccwpass::agent::access
