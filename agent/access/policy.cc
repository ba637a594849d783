#include "agent/access/policy.h"

#include <algorithm>
#include <array>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/absl_view.h"
#include "yaml-cpp/yaml.h"

namespace ccwpass::agent::access {
namespace {

struct ActionInfo {
  const char* name;
  Role needs;
  bool drives_device;
};

constexpr std::array<ActionInfo, kActions> kActionTable = {{
    {"ListSubchannels", Role::kReadOnly, false},
    {"GetSubchannel", Role::kReadOnly, false},
    {"Watch", Role::kReadOnly, false},
    {"GetStats", Role::kReadOnly, false},
    {"Attach", Role::kAdmin, false},
    {"Detach", Role::kAdmin, true},
    {"Reset", Role::kAdmin, true},
    {"StartProgram", Role::kOperator, true},
    {"Halt", Role::kOperator, true},
    {"Clear", Role::kOperator, true},
    {"StoreSubchannel", Role::kOperator, true},
}};

const ActionInfo& Info(Action a) { return kActionTable[static_cast<int>(a)]; }

std::string HasRole(const Identity& who, Role role) {
  return role == Role::kNone ? absl::StrCat(who.Describe(), " has no role")
                             : absl::StrCat(who.Describe(), " has role ", RoleName(role));
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return !s.empty() && std::find(v.begin(), v.end(), s) != v.end();
}

bool Matches(const AccessRule& r, const Identity& who) {
  switch (who.kind) {
    case Identity::Kind::kUnix:
      if (std::find(r.uids.begin(), r.uids.end(), who.uid) != r.uids.end()) return true;
      if (Contains(r.users, who.user)) return true;
      for (uint32_t g : who.groups) {
        if (std::find(r.gids.begin(), r.gids.end(), g) != r.gids.end()) return true;
      }
      if (std::find(r.gids.begin(), r.gids.end(), who.gid) != r.gids.end()) return true;
      for (const std::string& g : who.group_names) {
        if (Contains(r.groups, g)) return true;
      }
      return false;
    case Identity::Kind::kCertificate:
      if (Contains(r.certificates, who.cert_cn)) return true;
      for (const std::string& san : who.cert_sans) {
        if (Contains(r.certificates, san)) return true;
      }
      return false;
    case Identity::Kind::kInsecureTcp:
      return r.insecure_tcp;
    case Identity::Kind::kUnknown:
      return false;
  }
  return false;
}

// Names or numbers: numbers go to `ids`, names to `names`.
absl::Status NamesOrIds(const YAML::Node& n, const std::string& key, std::vector<uint32_t>* ids,
                        std::vector<std::string>* names) {
  if (!n.IsSequence()) return absl::InvalidArgumentError(absl::StrCat(key, ": must be a list"));
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar() || n[i].Scalar().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(key, "[", i, "]: must be a name or a number"));
    }
    const std::string s = n[i].Scalar();
    uint32_t id = 0;
    if (ids != nullptr && absl::SimpleAtoi(s, &id)) {
      ids->push_back(id);
    } else {
      names->push_back(s);
    }
  }
  return absl::OkStatus();
}

}  // namespace

const char* RoleName(Role r) {
  switch (r) {
    case Role::kNone: return "none";
    case Role::kReadOnly: return "read-only";
    case Role::kOperator: return "operator";
    case Role::kAdmin: return "admin";
  }
  return "none";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "read-only") return Role::kReadOnly;
  if (name == "operator") return Role::kOperator;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

const char* ActionName(Action a) { return Info(a).name; }
Role RequiredRole(Action a) { return Info(a).needs; }
bool DrivesDevice(Action a) { return Info(a).drives_device; }

std::string Identity::Owner() const {
  switch (kind) {
    case Kind::kUnix: return absl::StrCat("uid:", uid);
    case Kind::kCertificate: return absl::StrCat("cert:", !cert_cn.empty() ? cert_cn : cert_sans.empty() ? "" : cert_sans[0]);
    case Kind::kInsecureTcp: return absl::StrCat("tcp:", peer);
    case Kind::kUnknown: return "unknown";
  }
  return "unknown";
}

std::string Identity::Describe() const {
  switch (kind) {
    case Kind::kUnix: return user.empty() ? absl::StrCat("uid ", uid) : absl::StrCat("uid ", uid, " (", user, ")");
    case Kind::kCertificate:
      return absl::StrCat("certificate ", !cert_cn.empty() ? cert_cn : cert_sans.empty() ? "(no name)" : cert_sans[0]);
    case Kind::kInsecureTcp: return absl::StrCat("insecure TCP client ", peer);
    case Kind::kUnknown: return "an unidentified client";
  }
  return "an unidentified client";
}

AccessConfig DefaultAccessConfig(uint32_t socket_gid) {
  AccessRule admin;
  admin.role = Role::kAdmin;
  admin.uids = {0};
  admin.gids = {socket_gid};
  return AccessConfig{{admin}};
}

absl::StatusOr<AccessConfig> ParseAccessConfig(std::string_view yaml, std::string_view source) {
  const std::string src(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(src, ": not YAML: ", e.what()));
  }
  AccessConfig out;
  if (!root.IsDefined() || root.IsNull()) return out;
  if (!root.IsMap()) return absl::InvalidArgumentError(absl::StrCat(src, ": must be a map with an `access` key"));
  const YAML::Node list = root["access"];
  if (!list.IsDefined() || list.IsNull()) return out;
  if (!list.IsSequence()) return absl::InvalidArgumentError(absl::StrCat(src, ": access: must be a list of rules"));
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node r = list[i];
    const std::string at = absl::StrCat(src, ": access[", i, "]");
    if (!r.IsMap()) return absl::InvalidArgumentError(absl::StrCat(at, ": must be a map"));
    AccessRule rule;
    for (const auto& kv : r) {
      const std::string key = kv.first.Scalar();
      absl::Status st;
      if (key == "role") {
        const std::string name = kv.second.IsScalar() ? kv.second.Scalar() : "";
        std::optional<Role> role = ParseRole(name);
        if (!role) {
          return absl::InvalidArgumentError(
              absl::StrCat(at, ": role \"", name, "\": must be read-only, operator or admin"));
        }
        rule.role = *role;
      } else if (key == "users") {
        st = NamesOrIds(kv.second, key, &rule.uids, &rule.users);
      } else if (key == "groups") {
        st = NamesOrIds(kv.second, key, &rule.gids, &rule.groups);
      } else if (key == "certificates") {
        st = NamesOrIds(kv.second, key, nullptr, &rule.certificates);
      } else if (key == "insecure_tcp") {
        try {
          rule.insecure_tcp = kv.second.as<bool>();
        } catch (const YAML::Exception&) {
          st = absl::InvalidArgumentError("insecure_tcp: must be true or false");
        }
      } else {
        st = absl::InvalidArgumentError(absl::StrCat(
            "unknown key \"", key, "\" (known: role, users, groups, certificates, insecure_tcp)"));
      }
      if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat(at, ": ", st.message()));
    }
    if (rule.role == Role::kNone) return absl::InvalidArgumentError(absl::StrCat(at, ": no role"));
    if (rule.uids.empty() && rule.users.empty() && rule.gids.empty() && rule.groups.empty() &&
        rule.certificates.empty() && !rule.insecure_tcp) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ": matches nobody: give users, groups, certificates or insecure_tcp"));
    }
    out.rules.push_back(std::move(rule));
  }
  return out;
}

Role RoleOf(const AccessConfig& config, const Identity& who) {
  Role best = Role::kNone;
  for (const AccessRule& r : config.rules) {
    if (r.role > best && Matches(r, who)) best = r.role;
  }
  return best;
}

absl::Status Decide(const Identity& who, Role role, Action a, std::string_view schid, std::string_view device_owner) {
  const Role needs = RequiredRole(a);
  if (role < needs) {
    return absl::PermissionDeniedError(absl::StrCat(HasRole(who, role), "; ", ActionName(a), " needs ", RoleName(needs)));
  }
  if (role == Role::kAdmin || !DrivesDevice(a)) return absl::OkStatus();
  if (!device_owner.empty() && device_owner == who.Owner()) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      HasRole(who, role), "; ", ActionName(a), " on ", AbslView(schid), " needs ",
      device_owner.empty() ? std::string("admin (it has no owner)")
                           : absl::StrCat("its owner (", AbslView(device_owner), ") or admin")));
}

}  // namespace ccwpass::agent::access
