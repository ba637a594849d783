// The SIGKILL loop (issue 7, "Crashes and faults"): ccw-agent as a process on
// a simulated host whose kernel state outlives it (--sim-state), killed with
// SIGKILL at random points of attach, detach and I/O loops, restarted each
// time. After every kill: the state file parses; after every restart: no mdev
// exists that the desired state does not name, every I/O subchannel has a
// driver and no stray driver_override, every desired attachment is in place
// (kernel and agent agree), and I/O works.
//
// Kill points: half the iterations pass --sim-crash-at=K (the simulated kernel
// SIGKILLs the process at its K-th crash point: before or after a sysfs write,
// after an I/O start -- the exact points of every attach and detach step,
// including those reconcile replays at start), the other half SIGKILL from
// here after a random delay while a client drives attaches, detaches and
// write/read-back programs.
//
// CCWPASS_KILL_ITERATIONS (default 200) and CCWPASS_KILL_SEED (default 1).
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "agent/state/state_store.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/ccw/v1/ccw.grpc.pb.h"
#include "tests/crash/agent_process.h"
#include "tests/crash/dasd_programs.h"

namespace ccwpass::testing {
namespace {

constexpr int kDasds = 6;

std::string SchidOf(int i) {
  char b[16];
  snprintf(b, sizeof b, "0.0.%04x", 0x200 + i);
  return b;
}

std::string ReadFile(const std::string& path, bool* exists = nullptr) {
  std::ifstream in(path);
  if (exists) *exists = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

long EnvOr(const char* name, long dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtol(v, nullptr, 10) : dflt;
}

struct Counters {
  std::atomic<int> attach_ok{0}, detach_ok{0}, io_ok{0}, errors{0};
};

// Attaches, detaches and write/read-back programs on random subchannels until
// the agent stops answering or `max_ops` calls were made.
void Drive(const std::shared_ptr<grpc::Channel>& ch, uint32_t seed, int max_ops, Counters& n) {
  auto sc = ccw::v1::Subchannels::NewStub(ch);
  auto io = ccw::v1::Io::NewStub(ch);
  std::mt19937 rng(seed);
  for (int op = 0; op < max_ops; ++op) {
    const std::string schid = SchidOf(static_cast<int>(rng() % kDasds));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status st;
    const uint32_t what = rng() % 10;
    if (what < 4) {
      ccw::v1::AttachRequest req;
      req.set_schid(schid);
      req.set_mode(rng() % 3 ? ccw::v1::ATTACH_MODE_AGENT : ccw::v1::ATTACH_MODE_HANDOFF);
      ccw::v1::AttachResponse resp;
      st = sc->Attach(&ctx, req, &resp);
      if (st.ok()) ++n.attach_ok;
    } else if (what < 7) {
      ccw::v1::DetachRequest req;
      req.set_schid(schid);
      ccw::v1::DetachResponse resp;
      st = sc->Detach(&ctx, req, &resp);
      if (st.ok()) ++n.detach_ok;
    } else {
      const std::string data(512, static_cast<char>(rng()));
      ccw::v1::StartProgramResponse w;
      st = io->StartProgram(&ctx, WriteRecordProgram(schid, 0, 1, data), &w);
      if (st.ok()) {
        grpc::ClientContext rctx;
        rctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        ccw::v1::StartProgramResponse r;
        st = io->StartProgram(&rctx, ReadRecordProgram(schid, 0, 1, 512), &r);
        // A read-back that completes must return what was written.
        if (st.ok()) {
          EXPECT_EQ(r.transfers_size(), 3) << r.summary();
          if (r.transfers_size() == 3) {
            EXPECT_EQ(r.transfers(2).data(), data) << schid;
          }
          ++n.io_ok;
        }
      }
    }
    if (!st.ok()) {
      ++n.errors;
      if (st.error_code() == grpc::StatusCode::UNAVAILABLE) return;  // the agent is gone
    }
  }
}

// The crash hook's lines in the agent log ("sim kernel: crash point N ...").
size_t CountHooks(const std::string& log) {
  size_t n = 0;
  for (size_t at = log.find("sim kernel: crash point"); at != std::string::npos;
       at = log.find("sim kernel: crash point", at + 1)) {
    ++n;
  }
  return n;
}

class KillLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::string(std::getenv("TEST_TMPDIR")) + "/killloop";
    std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_).c_str());
    std::ofstream h(dir_ + "/host.yaml");
    h << "channel_paths:\n  - chpid: 0x40\n  - chpid: 0x41\nsubchannels:\n";
    for (int i = 0; i < kDasds; ++i) {
      h << "  - schid: " << SchidOf(i) << "\n    devno: 0.0.0" << 300 + i
        << "\n    chpids: [0x40, 0x41]\n    device: {kind: dasd3390, cylinders: 1}\n";
    }
    // A QDIO subchannel: never passed through, must stay on its driver.
    h << "  - schid: 0.0.0300\n    devno: 0.0.f500\n    chpids: [0x41]\n    qdio: true\n";
  }

  // The invariants after a clean restart (see the file comment).
  void Verify(AgentProcess& a, int iteration) {
    SCOPED_TRACE("iteration " + std::to_string(iteration));
    bool exists = false;
    const std::string state_text = ReadFile(dir_ + "/state/state.json", &exists);
    std::map<std::string, agent::DesiredAttachment> desired;
    if (exists) {
      auto d = agent::StateStore::Parse(state_text, "state.json");
      ASSERT_TRUE(d.ok()) << d.status();
      desired = *d;
    }
    for (const auto& [schid, d] : desired) EXPECT_FALSE(d.detaching) << schid << ": detach not finished";
    nlohmann::json k = nlohmann::json::parse(ReadFile(dir_ + "/kernel.json"), nullptr, false);
    ASSERT_FALSE(k.is_discarded());
    std::map<std::string, nlohmann::json> kernel;
    for (const auto& s : k["subchannels"]) kernel[s["schid"].get<std::string>()] = s;
    for (const auto& [schid, s] : kernel) {
      EXPECT_NE(s.value("driver", ""), "") << schid << " has no driver";
      auto it = desired.find(schid);
      if (s.contains("mdev")) {
        EXPECT_TRUE(it != desired.end()) << schid << ": mdev " << s["mdev"] << " that the desired state does not name";
        if (it != desired.end()) {
          EXPECT_EQ(s["mdev"], it->second.mdev_uuid) << schid;
        }
      }
      if (it == desired.end()) {
        EXPECT_FALSE(s.contains("driver_override")) << schid << ": stray driver_override " << s.dump();
        if (schid != "0.0.0300") {
          EXPECT_EQ(s.value("driver", ""), "io_subchannel") << schid;
        }
      } else {
        EXPECT_EQ(s.value("driver", ""), "vfio_ccw") << schid;
      }
    }
    auto sc = ccw::v1::Subchannels::NewStub(a.channel());
    grpc::ClientContext ctx;
    ccw::v1::ListSubchannelsRequest req;
    ccw::v1::ListSubchannelsResponse list;
    ASSERT_TRUE(sc->ListSubchannels(&ctx, req, &list).ok());
    std::string agent_mode;
    for (const auto& s : list.subchannels()) {
      auto it = desired.find(s.schid());
      if (it == desired.end()) {
        EXPECT_TRUE(s.state() == ccw::v1::DETACHED || s.schid() == "0.0.0300") << s.schid() << " " << s.state();
        continue;
      }
      EXPECT_EQ(s.mdev_uuid(), it->second.mdev_uuid) << s.schid();
      EXPECT_EQ(s.state(), it->second.handoff ? ccw::v1::HANDED_OFF : ccw::v1::ATTACHED) << s.schid();
      if (!it->second.handoff && agent_mode.empty()) agent_mode = s.schid();
    }
    // I/O works on a re-opened device.
    if (!agent_mode.empty()) {
      auto io = ccw::v1::Io::NewStub(a.channel());
      const std::string data(256, static_cast<char>(iteration));
      grpc::ClientContext w, r;
      ccw::v1::StartProgramResponse wr, rr;
      ASSERT_TRUE(io->StartProgram(&w, WriteRecordProgram(agent_mode, 0, 2, data), &wr).ok());
      ASSERT_TRUE(io->StartProgram(&r, ReadRecordProgram(agent_mode, 0, 2, 256), &rr).ok());
      ASSERT_EQ(rr.transfers_size(), 3);
      EXPECT_EQ(rr.transfers(2).data(), data);
    }
  }

  std::string dir_;
};

TEST_F(KillLoopTest, SigkillAtRandomPointsLeavesNothingHalfMade) {
  const long iterations = EnvOr("CCWPASS_KILL_ITERATIONS", 200);
  const uint32_t seed = static_cast<uint32_t>(EnvOr("CCWPASS_KILL_SEED", 1));
  std::mt19937 rng(seed);
  Counters n;
  int by_hook = 0, by_hook_in_start = 0, by_test = 0, max_desired = 0;
  size_t hooks_seen = 0;
  for (long i = 0; i < iterations && !HasFatalFailure(); ++i) {
    AgentProcess victim(dir_);
    const bool hook = i % 2 == 0;
    std::vector<std::string> extra;
    if (hook) extra = {"--sim-crash-at", std::to_string(1 + rng() % 60)};
    int status = 0;
    if (!victim.Start(extra)) {
      // Only the crash hook may end an agent before it serves (in reconcile).
      ASSERT_TRUE(hook && victim.Reap(&status)) << victim.Log();
      ++by_hook_in_start;
      --by_hook;  // counted below too
    } else {
      std::atomic<bool> done{false};
      const uint32_t drive_seed = static_cast<uint32_t>(rng());
      std::thread client([&] {
        Drive(victim.channel(), drive_seed, 200, n);
        done = true;
      });
      if (hook) {
        // Until the hook fires (the client then sees UNAVAILABLE) or the
        // client has made all its calls; then SIGKILL from here if need be.
        while (!done && !victim.Reap(&status)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        client.join();
        if (victim.pid() > 0) status = victim.Kill(SIGKILL);
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 40000));
        status = victim.Kill(SIGKILL);
        client.join();
      }
    }
    // Who killed it: the hook says so in the log.
    const std::string log = ReadFile(dir_ + "/agent.log");
    const size_t hooks = CountHooks(log);
    if (hooks > hooks_seen) {
      ++by_hook;
    } else {
      ++by_test;
    }
    hooks_seen = hooks;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "iteration " << i << " status " << status
                                                                     << "\n" << victim.Log();
    // The state file is never torn.
    bool exists = false;
    const std::string text = ReadFile(dir_ + "/state/state.json", &exists);
    if (exists) {
      auto d = agent::StateStore::Parse(text, "state.json");
      ASSERT_TRUE(d.ok()) << "iteration " << i << ": " << d.status();
      max_desired = std::max<int>(max_desired, static_cast<int>(d->size()));
    }
    AgentProcess verifier(dir_);
    ASSERT_TRUE(verifier.Start()) << "iteration " << i << ": restart failed\n" << verifier.Log();
    Verify(verifier, static_cast<int>(i));
    verifier.Kill(SIGKILL);
  }
  std::printf("kill loop: %ld iterations (seed %u): %d killed by the crash hook (%d during start/reconcile), "
              "%d by SIGKILL from the test; client: %d attaches, %d detaches, %d write/read-backs ok, %d errors; "
              "at most %d desired attachments at a kill\n",
              iterations, seed, by_hook + by_hook_in_start, by_hook_in_start, by_test, n.attach_ok.load(),
              n.detach_ok.load(), n.io_ok.load(), n.errors.load(), max_desired);
}

}  // namespace
}  // namespace ccwpass::testing
