// The services' door: who a gRPC caller is and whether it may make a call.
// Identity: a connection of the agent's UnixListener (its SO_PEERCRED, found
// by the peer name in the PeerRegistry); else a verified TLS client
// certificate (AuthContext x509_common_name / x509_subject_alternative_name);
// else an insecure TCP client (loopback --listen-tcp without TLS). The
// decision itself is policy.h's Decide().
#ifndef CCWPASS_AGENT_ACCESS_ACCESS_H_
#define CCWPASS_AGENT_ACCESS_ACCESS_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "agent/access/policy.h"
#include "agent/access/unix_listener.h"
#include "grpcpp/grpcpp.h"

namespace ccwpass::agent::access {

class Access {
 public:
  // `registry` may be null (no Unix listener); it must outlive this.
  Access(AccessConfig config, const PeerRegistry* registry) : config_(std::move(config)), registry_(registry) {}

  // The identity of the caller of `ctx` (see above).
  Identity Who(const grpc::ServerContextBase& ctx) const;

  // The caller's identity when it may make call `a`; for DrivesDevice()
  // calls of a non-admin, `owner_of()` gives the device's recorded owner (its
  // errors, e.g. kNotFound, are returned as they are). Errors:
  // kPermissionDenied as Decide() words it.
  absl::StatusOr<Identity> Authorize(const grpc::ServerContextBase& ctx, Action a, const std::string& schid,
                                     const std::function<absl::StatusOr<std::string>()>& owner_of) const;

  const AccessConfig& config() const { return config_; }

 private:
  const AccessConfig config_;
  const PeerRegistry* registry_;
};

}  // namespace ccwpass::agent::access

#endif  // CCWPASS_AGENT_ACCESS_ACCESS_H_
