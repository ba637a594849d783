// Access control of the agent's gRPC API: who the caller is (Identity), what
// role the configuration gives it (RoleOf), and whether that role may make a
// call (Decide). This is the one place that decides; the services in
// agent/service ask it before they act (docs/security.md).
//
// Roles, lowest to highest; each may do all that the ones below may:
//   read-only  ListSubchannels, GetSubchannel, Events.Watch, GetStats
//   operator   StartProgram, Halt, Clear, StoreSubchannel on devices it owns
//   admin      Attach, Detach, Reset, and I/O on any device
// A device's owner is the Identity::Owner() of the client that attached it
// ("uid:1001", "cert:ci-runner") or the device plugin's "kubelet:<resource>".
//
// The configuration is YAML (the `access` key of --access-config):
//   access:
//     - role: admin
//       users: [root]              # user names or numeric uids
//       groups: [ccwpass-admin]    # group names or numeric gids (primary or supplementary)
//     - role: operator
//       users: [alice, "1001"]
//       certificates: [ci-runner]  # a client certificate's subject CN or a SAN
//     - role: read-only
//       groups: [ccwpass-view]
//       insecure_tcp: true         # clients of --listen-tcp without TLS (loopback)
// Sources: unix(7) SO_PEERCRED; getgrouplist(3); gRPC's AuthContext property
// names (grpc_security_constants.h: x509_common_name, x509_subject_alternative_name).
#ifndef CCWPASS_AGENT_ACCESS_POLICY_H_
#define CCWPASS_AGENT_ACCESS_POLICY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ccwpass::agent::access {

enum class Role : uint8_t { kNone, kReadOnly, kOperator, kAdmin };
// "none", "read-only", "operator", "admin".
const char* RoleName(Role r);
// The inverse of RoleName for the three granted roles; nullopt otherwise.
std::optional<Role> ParseRole(std::string_view name);

// The calls of proto/ccw/v1, by RPC name.
enum class Action : uint8_t {
  kListSubchannels,
  kGetSubchannel,
  kWatchEvents,
  kGetStats,
  kAttach,
  kDetach,
  kReset,
  kStartProgram,
  kHalt,
  kClear,
  kStoreSubchannel,
};
inline constexpr int kActions = static_cast<int>(Action::kStoreSubchannel) + 1;
// The RPC name: "ListSubchannels", ..., "Watch" for Events.Watch.
const char* ActionName(Action a);
// The lowest role that may make the call (on a device the caller owns).
Role RequiredRole(Action a);
// Calls that drive one device (I/O, reset, detach): below admin, only its owner may.
bool DrivesDevice(Action a);

// Who is calling, as the kernel (Unix socket) or the TLS handshake says.
struct Identity {
  enum class Kind : uint8_t { kUnix, kCertificate, kInsecureTcp, kUnknown };
  Kind kind = Kind::kUnknown;
  // kUnix: SO_PEERCRED and what the user database says of the uid.
  uint32_t uid = 0, gid = 0;
  int32_t pid = 0;
  std::string user;                   // empty when the uid has no name
  std::vector<uint32_t> groups;       // gid and the supplementary groups of `user`
  std::vector<std::string> group_names;
  // kCertificate: the verified client certificate's subject CN and SANs.
  std::string cert_cn;
  std::vector<std::string> cert_sans;
  // The gRPC peer ("fd:12", "ipv4:127.0.0.1:40512").
  std::string peer;

  // The owner string recorded on attach: "uid:1001", "cert:<CN or first SAN>",
  // "tcp:<peer>", "unknown".
  std::string Owner() const;
  // For messages: "uid 1001 (alice)", "uid 1234", "certificate ci-runner",
  // "insecure TCP client ipv4:127.0.0.1:40512", "an unidentified client".
  std::string Describe() const;
};

// One rule of the configuration: whoever matches any entry gets `role`.
struct AccessRule {
  Role role = Role::kNone;
  std::vector<uint32_t> uids;
  std::vector<std::string> users;
  std::vector<uint32_t> gids;
  std::vector<std::string> groups;
  std::vector<std::string> certificates;  // CN or SAN
  bool insecure_tcp = false;
};

struct AccessConfig {
  std::vector<AccessRule> rules;
};

// The configuration without a file: uid 0 and members of `socket_gid` (the
// group of the agent's Unix socket) are admin; nobody else has a role.
AccessConfig DefaultAccessConfig(uint32_t socket_gid);

// Parses the `access` key of a YAML document (other top-level keys are left
// to their readers); `source` names it in errors. A missing `access` key is
// an empty configuration (nobody has a role). Errors: kInvalidArgument naming
// the source, the rule index and the key, e.g.
// `access.yaml: access[1]: role "root": must be read-only, operator or admin`;
// unknown keys and rules that match nobody are refused.
absl::StatusOr<AccessConfig> ParseAccessConfig(std::string_view yaml, std::string_view source);

// The highest role of any rule `who` matches (kNone when none does). Unix
// identities match uids/users/gids/groups, certificate identities match
// `certificates` against the CN and every SAN, insecure TCP clients match
// rules with insecure_tcp.
Role RoleOf(const AccessConfig& config, const Identity& who);

// Whether `who` with role `role` may make call `a`. For DrivesDevice() calls
// below admin, `schid` and `device_owner` (its recorded owner, empty when it
// has none) must be given. Errors: kPermissionDenied saying who the caller is,
// its role and what the call needs:
//   "uid 1001 (alice) has role read-only; Attach needs admin"
//   "uid 65534 (nobody) has no role; ListSubchannels needs read-only"
//   "uid 1001 (alice) has role operator; StartProgram on 0.0.0100 needs its owner (uid:1002) or admin"
absl::Status Decide(const Identity& who, Role role, Action a, std::string_view schid = {},
                    std::string_view device_owner = {});

}  // namespace ccwpass::agent::access

#endif  // CCWPASS_AGENT_ACCESS_POLICY_H_
