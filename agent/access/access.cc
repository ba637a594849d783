#include "agent/access/access.h"

#include <memory>

namespace ccwpass::agent::access {

Identity Access::Who(const grpc::ServerContextBase& ctx) const {
  const std::string peer = ctx.peer();
  if (registry_ != nullptr) {
    if (std::optional<Identity> id = registry_->Find(peer)) return *id;
  }
  Identity id;
  id.peer = peer;
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth && auth->IsPeerAuthenticated()) {
    id.kind = Identity::Kind::kCertificate;
    for (const grpc::string_ref& v : auth->FindPropertyValues("x509_common_name")) id.cert_cn.assign(v.data(), v.size());
    for (const grpc::string_ref& v : auth->FindPropertyValues("x509_subject_alternative_name")) {
      id.cert_sans.emplace_back(v.data(), v.size());
    }
    return id;
  }
  if (peer.rfind("ipv4:", 0) == 0 || peer.rfind("ipv6:", 0) == 0) id.kind = Identity::Kind::kInsecureTcp;
  return id;
}

absl::StatusOr<Identity> Access::Authorize(const grpc::ServerContextBase& ctx, Action a, const std::string& schid,
                                           const std::function<absl::StatusOr<std::string>()>& owner_of) const {
  Identity who = Who(ctx);
  const Role role = RoleOf(config_, who);
  std::string owner;
  if (role >= RequiredRole(a) && role != Role::kAdmin && DrivesDevice(a) && owner_of) {
    absl::StatusOr<std::string> o = owner_of();
    if (!o.ok()) return o.status();
    owner = *o;
  }
  if (absl::Status st = Decide(who, role, a, schid, owner); !st.ok()) return st;
  return who;
}

}  // namespace ccwpass::agent::access
