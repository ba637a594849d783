#include "agent/access/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace ccwpass::agent::access {
namespace {

using ::ccwpass::testing::StatusIs;
using ::testing::Eq;
using ::testing::HasSubstr;

Identity Unix(uint32_t uid, std::string user, uint32_t gid, std::vector<std::string> group_names = {}) {
  Identity id;
  id.kind = Identity::Kind::kUnix;
  id.uid = uid;
  id.user = std::move(user);
  id.gid = gid;
  id.groups = {gid};
  id.group_names = std::move(group_names);
  return id;
}

Identity Cert(std::string cn, std::vector<std::string> sans = {}) {
  Identity id;
  id.kind = Identity::Kind::kCertificate;
  id.cert_cn = std::move(cn);
  id.cert_sans = std::move(sans);
  return id;
}

TEST(PolicyTest, EveryRoleAndAction) {
  // The table: for each action, which roles may make it (on a device the caller owns).
  struct Row {
    Action a;
    bool ro, op, admin;
  };
  const Row rows[] = {
      {Action::kListSubchannels, true, true, true}, {Action::kGetSubchannel, true, true, true},
      {Action::kWatchEvents, true, true, true},     {Action::kGetStats, true, true, true},
      {Action::kAttach, false, false, true},        {Action::kDetach, false, false, true},
      {Action::kReset, false, false, true},         {Action::kStartProgram, false, true, true},
      {Action::kHalt, false, true, true},           {Action::kClear, false, true, true},
      {Action::kStoreSubchannel, false, true, true},
  };
  ASSERT_EQ(std::size(rows), static_cast<size_t>(kActions));
  const Identity alice = Unix(1001, "alice", 1001);
  for (const Row& r : rows) {
    SCOPED_TRACE(ActionName(r.a));
    EXPECT_THAT(Decide(alice, Role::kNone, r.a, "0.0.0100", "uid:1001"),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         Eq(std::string("uid 1001 (alice) has no role; ") + ActionName(r.a) + " needs " +
                            RoleName(RequiredRole(r.a)))));
    EXPECT_EQ(Decide(alice, Role::kReadOnly, r.a, "0.0.0100", "uid:1001").ok(), r.ro);
    EXPECT_EQ(Decide(alice, Role::kOperator, r.a, "0.0.0100", "uid:1001").ok(), r.op);
    EXPECT_EQ(Decide(alice, Role::kAdmin, r.a, "0.0.0100", "uid:1002").ok(), r.admin);
  }
}

TEST(PolicyTest, MessagesSayWhoWhatAndWhy) {
  const Identity alice = Unix(1001, "alice", 1001);
  EXPECT_THAT(Decide(alice, Role::kReadOnly, Action::kAttach),
              StatusIs(absl::StatusCode::kPermissionDenied, Eq("uid 1001 (alice) has role read-only; Attach needs admin")));
  EXPECT_THAT(Decide(Unix(4242, "", 4242), Role::kOperator, Action::kReset, "0.0.0100", "uid:4242"),
              StatusIs(absl::StatusCode::kPermissionDenied, Eq("uid 4242 has role operator; Reset needs admin")));
  EXPECT_THAT(Decide(alice, Role::kOperator, Action::kStartProgram, "0.0.0100", "uid:1002"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       Eq("uid 1001 (alice) has role operator; StartProgram on 0.0.0100 needs its owner (uid:1002) "
                          "or admin")));
  EXPECT_THAT(Decide(alice, Role::kOperator, Action::kHalt, "0.0.0100", "kubelet:ccwpass.io/dasd"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       Eq("uid 1001 (alice) has role operator; Halt on 0.0.0100 needs its owner "
                          "(kubelet:ccwpass.io/dasd) or admin")));
  EXPECT_THAT(Decide(alice, Role::kOperator, Action::kClear, "0.0.0100", ""),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       Eq("uid 1001 (alice) has role operator; Clear on 0.0.0100 needs admin (it has no owner)")));
  EXPECT_THAT(Decide(Cert("ci-runner"), Role::kReadOnly, Action::kStartProgram, "0.0.0100", "cert:ci-runner"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       Eq("certificate ci-runner has role read-only; StartProgram needs operator")));
  EXPECT_TRUE(Decide(Cert("ci-runner"), Role::kOperator, Action::kStartProgram, "0.0.0100", "cert:ci-runner").ok());
}

TEST(PolicyTest, OwnerStrings) {
  EXPECT_EQ(Unix(1001, "alice", 1001).Owner(), "uid:1001");
  EXPECT_EQ(Cert("ci-runner").Owner(), "cert:ci-runner");
  EXPECT_EQ(Cert("", {"spiffe://ccwpass/ci"}).Owner(), "cert:spiffe://ccwpass/ci");
  Identity tcp;
  tcp.kind = Identity::Kind::kInsecureTcp;
  tcp.peer = "ipv4:127.0.0.1:40512";
  EXPECT_EQ(tcp.Owner(), "tcp:ipv4:127.0.0.1:40512");
  EXPECT_EQ(tcp.Describe(), "insecure TCP client ipv4:127.0.0.1:40512");
  EXPECT_EQ(Identity{}.Describe(), "an unidentified client");
}

TEST(PolicyTest, DefaultIsRootAndTheSocketGroup) {
  const AccessConfig c = DefaultAccessConfig(125);
  EXPECT_EQ(RoleOf(c, Unix(0, "root", 0)), Role::kAdmin);
  EXPECT_EQ(RoleOf(c, Unix(1001, "alice", 125)), Role::kAdmin);
  Identity bob = Unix(1002, "bob", 1002);
  EXPECT_EQ(RoleOf(c, bob), Role::kNone);
  bob.groups.push_back(125);  // supplementary
  EXPECT_EQ(RoleOf(c, bob), Role::kAdmin);
  EXPECT_EQ(RoleOf(c, Cert("root")), Role::kNone);
  Identity tcp;
  tcp.kind = Identity::Kind::kInsecureTcp;
  EXPECT_EQ(RoleOf(c, tcp), Role::kNone);
}

constexpr char kConfig[] = R"(
access:
  - role: read-only
    groups: [ccwview, "2000"]
    insecure_tcp: true
  - role: operator
    users: [alice, "1003"]
    certificates: [ci-runner]
  - role: admin
    users: ["0"]
    certificates: ["spiffe://ccwpass/admin"]
)";

TEST(PolicyTest, RolesFromConfig) {
  absl::StatusOr<AccessConfig> c = ParseAccessConfig(kConfig, "access.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(RoleOf(*c, Unix(1001, "alice", 1001)), Role::kOperator);
  EXPECT_EQ(RoleOf(*c, Unix(1003, "", 1003)), Role::kOperator);
  EXPECT_EQ(RoleOf(*c, Unix(1005, "carol", 1005, {"carol", "ccwview"})), Role::kReadOnly);
  EXPECT_EQ(RoleOf(*c, Unix(1006, "dave", 2000)), Role::kReadOnly);
  EXPECT_EQ(RoleOf(*c, Unix(1001, "alice", 2000)), Role::kOperator);  // the highest wins
  EXPECT_EQ(RoleOf(*c, Unix(0, "root", 0)), Role::kAdmin);
  EXPECT_EQ(RoleOf(*c, Unix(65534, "nobody", 65534)), Role::kNone);
  EXPECT_EQ(RoleOf(*c, Cert("ci-runner")), Role::kOperator);
  EXPECT_EQ(RoleOf(*c, Cert("x", {"dns:x", "spiffe://ccwpass/admin"})), Role::kAdmin);
  EXPECT_EQ(RoleOf(*c, Cert("alice")), Role::kNone);  // certificates match certificates only
  Identity tcp;
  tcp.kind = Identity::Kind::kInsecureTcp;
  EXPECT_EQ(RoleOf(*c, tcp), Role::kReadOnly);
}

TEST(PolicyTest, ConfigErrors) {
  EXPECT_THAT(ParseAccessConfig("access:\n  - role: root\n    users: [a]\n", "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("a.yaml: access[0]: role \"root\": must be read-only, operator or admin")));
  EXPECT_THAT(ParseAccessConfig("access:\n  - role: admin\n", "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("a.yaml: access[0]: matches nobody: give users, groups, certificates or insecure_tcp")));
  EXPECT_THAT(ParseAccessConfig("access:\n  - role: admin\n    user: [a]\n", "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a.yaml: access[0]: unknown key \"user\"")));
  EXPECT_THAT(ParseAccessConfig("access:\n  - users: [a]\n", "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, Eq("a.yaml: access[0]: no role")));
  EXPECT_THAT(ParseAccessConfig("access: {}\n", "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, Eq("a.yaml: access: must be a list of rules")));
  absl::StatusOr<AccessConfig> empty = ParseAccessConfig("programs: []\n", "a.yaml");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->rules.empty());
}

}  // namespace
}  // namespace ccwpass::agent::access
