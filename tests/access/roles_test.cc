// Access control end to end over the agent's Unix socket: the agent on a
// simulated host serves every service of proto/ccw/v1 through the
// UnixListener (SO_PEERCRED); clients are the authz_probe binary run as other
// uids (the test runs as root: fork, setgroups, setgid, setuid, exec). Every
// role sees exactly what it may, with the exact code and message.
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/access/access.h"
#include "agent/access/unix_listener.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/in_process_agent.h"

namespace ccwpass::agent {
namespace {

using ::testing::ElementsAre;

std::string Runfile(const std::string& rel) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/" + std::getenv("TEST_WORKSPACE") + "/" + rel;
}

constexpr char kConfig[] = R"(
access:
  - role: admin
    users: ["0"]
  - role: operator
    users: ["4001", "4002"]
  - role: read-only
    users: [nobody]
    groups: ["5000"]
)";

class RolesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to run clients as other uids";
    auto k = sim::SimKernel::Create(testing::DasdAndQdioHost(0xC2));
    ASSERT_TRUE(k.ok()) << k.status();
    kernel_ = std::move(*k);
    auto s = StateStore::Open("");
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    agent_ = std::make_unique<Agent>(*kernel_, *kernel_, *store_);
    ASSERT_TRUE(agent_->Start(nullptr).ok());
    auto cfg = access::ParseAccessConfig(kConfig, "test");
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    access_ = std::make_unique<access::Access>(std::move(*cfg), &peers_);
    subchannels_ = std::make_unique<SubchannelsService>(*agent_, access_.get());
    io_ = std::make_unique<IoService>(*agent_, access_.get());
    events_ = std::make_unique<EventsService>(*agent_, 16, access_.get());
    stats_ = std::make_unique<StatsService>(*agent_, access_.get());
    grpc::ServerBuilder b;
    b.RegisterService(subchannels_.get());
    b.RegisterService(io_.get());
    b.RegisterService(events_.get());
    b.RegisterService(stats_.get());
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    // A directory every uid can enter, the socket open to all (the policy
    // decides, not the file mode), and the probe where every uid can run it.
    char tmpl[] = "/tmp/ccwpass-authz-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
    probe_ = dir_ + "/authz_probe";
    std::filesystem::copy_file(Runfile("tests/access/authz_probe"), probe_);
    ASSERT_EQ(chmod(probe_.c_str(), 0755), 0);
    auto l = access::UnixListener::Listen(dir_ + "/agent.sock", 0666);
    ASSERT_TRUE(l.ok()) << l.status();
    listener_ = std::move(*l);
    listener_->Start(server_.get(), &peers_);
  }
  void TearDown() override {
    if (listener_) listener_->Stop();
    if (server_) server_->Shutdown();
    agent_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Runs the probe as uid/gid (no supplementary groups) and returns its lines.
  std::vector<std::string> As(uid_t uid, gid_t gid, const std::vector<std::string>& calls) {
    int p[2];
    if (pipe(p) != 0) return {"pipe failed"};
    const pid_t pid = fork();
    if (pid == 0) {
      dup2(p[1], 1);
      close(p[0]);
      close(p[1]);
      if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(126);
      std::vector<char*> argv;
      const std::string target = "unix://" + dir_ + "/agent.sock";
      argv.push_back(const_cast<char*>(probe_.c_str()));
      argv.push_back(const_cast<char*>(target.c_str()));
      for (const std::string& c : calls) argv.push_back(const_cast<char*>(c.c_str()));
      argv.push_back(nullptr);
      execv(probe_.c_str(), argv.data());
      _exit(127);
    }
    close(p[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    std::vector<std::string> lines;
    size_t at = 0;
    for (size_t nl; (nl = out.find('\n', at)) != std::string::npos; at = nl + 1) lines.push_back(out.substr(at, nl - at));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) lines.push_back("exit " + std::to_string(st));
    return lines;
  }

  std::unique_ptr<sim::SimKernel> kernel_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<Agent> agent_;
  access::PeerRegistry peers_;
  std::unique_ptr<access::Access> access_;
  std::unique_ptr<SubchannelsService> subchannels_;
  std::unique_ptr<IoService> io_;
  std::unique_ptr<EventsService> events_;
  std::unique_ptr<StatsService> stats_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<access::UnixListener> listener_;
  std::string dir_, probe_;
};

const std::vector<std::string> kDeviceCalls = {"attach:0.0.0100", "detach:0.0.0100", "reset:0.0.0100",
                                               "start:0.0.0100",  "halt:0.0.0100",   "clear:0.0.0100",
                                               "store:0.0.0100"};

TEST_F(RolesTest, EveryRoleSeesExactlyWhatItMay) {
  // root (admin) attaches the DASD for uid 4001.
  EXPECT_THAT(As(0, 0, {"attach:0.0.0100:uid:4001"}), ElementsAre("attach OK owner uid:4001"));

  // nobody: read-only by user name.
  std::vector<std::string> calls = {"list", "get:0.0.0100", "watch", "stats"};
  calls.insert(calls.end(), kDeviceCalls.begin(), kDeviceCalls.end());
  EXPECT_THAT(As(65534, 65534, calls),
              ElementsAre("list OK", "get OK", "watch OK", "stats OK",
                          "attach PERMISSION_DENIED uid 65534 (nobody) has role read-only; Attach needs admin",
                          "detach PERMISSION_DENIED uid 65534 (nobody) has role read-only; Detach needs admin",
                          "reset PERMISSION_DENIED uid 65534 (nobody) has role read-only; Reset needs admin",
                          "start PERMISSION_DENIED uid 65534 (nobody) has role read-only; StartProgram needs operator",
                          "halt PERMISSION_DENIED uid 65534 (nobody) has role read-only; Halt needs operator",
                          "clear PERMISSION_DENIED uid 65534 (nobody) has role read-only; Clear needs operator",
                          "store PERMISSION_DENIED uid 65534 (nobody) has role read-only; StoreSubchannel needs "
                          "operator"));

  // uid 4004 in group 5000: read-only by group.
  EXPECT_THAT(As(4004, 5000, {"list", "attach:0.0.0100"}),
              ElementsAre("list OK", "attach PERMISSION_DENIED uid 4004 has role read-only; Attach needs admin"));

  // uid 4001: operator and the owner.
  EXPECT_THAT(As(4001, 4001, {"list", "watch", "stats", "start:0.0.0100", "store:0.0.0100", "halt:0.0.0100",
                              "clear:0.0.0100", "attach:0.0.0101", "detach:0.0.0100", "reset:0.0.0100"}),
              ElementsAre("list OK", "watch OK", "stats OK", "start OK", "store OK", "halt OK", "clear OK",
                          "attach PERMISSION_DENIED uid 4001 has role operator; Attach needs admin",
                          "detach PERMISSION_DENIED uid 4001 has role operator; Detach needs admin",
                          "reset PERMISSION_DENIED uid 4001 has role operator; Reset needs admin"));

  // uid 4002: operator, not the owner.
  EXPECT_THAT(
      As(4002, 4002, {"get:0.0.0100", "start:0.0.0100", "halt:0.0.0100", "clear:0.0.0100", "store:0.0.0100"}),
      ElementsAre("get OK",
                  "start PERMISSION_DENIED uid 4002 has role operator; StartProgram on 0.0.0100 needs its owner "
                  "(uid:4001) or admin",
                  "halt PERMISSION_DENIED uid 4002 has role operator; Halt on 0.0.0100 needs its owner (uid:4001) "
                  "or admin",
                  "clear PERMISSION_DENIED uid 4002 has role operator; Clear on 0.0.0100 needs its owner (uid:4001) "
                  "or admin",
                  "store PERMISSION_DENIED uid 4002 has role operator; StoreSubchannel on 0.0.0100 needs its owner "
                  "(uid:4001) or admin"));

  // uid 4003: no role at all.
  EXPECT_THAT(As(4003, 4003, {"list", "get:0.0.0100", "watch", "stats", "start:0.0.0100", "attach:0.0.0100"}),
              ElementsAre("list PERMISSION_DENIED uid 4003 has no role; ListSubchannels needs read-only",
                          "get PERMISSION_DENIED uid 4003 has no role; GetSubchannel needs read-only",
                          "watch PERMISSION_DENIED uid 4003 has no role; Watch needs read-only",
                          "stats PERMISSION_DENIED uid 4003 has no role; GetStats needs read-only",
                          "start PERMISSION_DENIED uid 4003 has no role; StartProgram needs operator",
                          "attach PERMISSION_DENIED uid 4003 has no role; Attach needs admin"));

  // root: admin drives a device it does not own, and detaches it.
  EXPECT_THAT(As(0, 0, {"start:0.0.0100", "reset:0.0.0100", "detach:0.0.0100"}),
              ElementsAre("start OK", "reset OK", "detach OK"));
  // The operator's device is gone: it has no owner now.
  EXPECT_THAT(As(4001, 4001, {"start:0.0.0100"}),
              ElementsAre("start PERMISSION_DENIED uid 4001 has role operator; StartProgram on 0.0.0100 needs admin "
                          "(it has no owner)"));
}

TEST_F(RolesTest, AttachRecordsTheCallerAsOwner) {
  EXPECT_THAT(As(0, 0, {"attach:0.0.0100"}), ElementsAre("attach OK owner uid:0"));
  EXPECT_THAT(As(4001, 4001, {"start:0.0.0100"}),
              ElementsAre("start PERMISSION_DENIED uid 4001 has role operator; StartProgram on 0.0.0100 needs its "
                          "owner (uid:0) or admin"));
}

}  // namespace
}  // namespace ccwpass::agent
