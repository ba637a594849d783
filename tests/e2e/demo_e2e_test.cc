// End to end: the ccw-agent and ccwctl binaries as processes, the demo's
// scenario driven through the CLI, its JSON output checked. Volumes are made
// at test time by Hercules' dasdinit.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

std::string Runfile(const std::string& rel) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/" + std::getenv("TEST_WORKSPACE") + "/" + rel;
}

struct Result {
  int rc = -1;
  std::string out;
};

Result Shell(const std::string& cmd) {
  Result r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class DemoE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::string(std::getenv("TEST_TMPDIR")) + "/demo";
    ASSERT_EQ(Shell("rm -rf " + dir_ + " && mkdir -p " + dir_).rc, 0);
    ASSERT_EQ(Shell("cd " + dir_ + " && dasdinit -linux lnx001.3390 3390 LNX001 10").rc, 0);
    std::ofstream(dir_ + "/host.yaml") << R"(channel_paths:
  - chpid: 0x40
  - chpid: 0x41
subchannels:
  - schid: 0.0.0100
    devno: 0.0.0191
    chpids: [0x40, 0x41]
    device: {kind: dasd3390, image: lnx001.3390, cu_model: 0xc2}
  - schid: 0.0.0103
    devno: 0.0.f500
    chpids: [0x40, 0x41]
    qdio: true
)";
    // A short socket path: sun_path holds 107 bytes and TEST_TMPDIR is long.
    // (mkdtemp: tests in PID namespaces all have the same pid.)
    char tmpl[] = "/tmp/ccwpass-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    run_ = tmpl;
    StartAgent();
  }
  void StartAgent() {
    agent_ = fork();
    if (agent_ == 0) {
      const std::string bin = Runfile("agent/main/ccw-agent");
      const std::string log = dir_ + "/agent.log";
      freopen(log.c_str(), "a", stdout);
      freopen(log.c_str(), "a", stderr);
      execl(bin.c_str(), bin.c_str(), "--sim", (dir_ + "/host.yaml").c_str(), "--run-dir", run_.c_str(),
            "--state-dir", (dir_ + "/state").c_str(), "--metrics-address", "127.0.0.1:0", static_cast<char*>(nullptr));
      _exit(127);
    }
    struct stat st;
    for (int i = 0; i < 100 && stat((run_ + "/agent.sock").c_str(), &st) != 0; ++i) usleep(50000);
    ASSERT_EQ(stat((run_ + "/agent.sock").c_str(), &st), 0) << Shell("cat " + dir_ + "/agent.log").out;
  }
  void StopAgent() {
    if (agent_ > 0) {
      kill(agent_, SIGTERM);
      int status;
      waitpid(agent_, &status, 0);
      agent_ = -1;
    }
  }
  void TearDown() override {
    StopAgent();
    Shell("rm -rf " + run_);
  }
  Result Ctl(const std::string& args) {
    return Shell("CCWPASS_AGENT=unix://" + run_ + "/agent.sock " + Runfile("ctl/ccwctl") + " " + args);
  }
  nlohmann::json Json(const std::string& args) {
    Result r = Ctl(args + " -o json");
    EXPECT_EQ(r.rc, 0) << args << ": " << r.out;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }
  std::string dir_, run_;
  pid_t agent_ = -1;
};

TEST_F(DemoE2eTest, TheDemoScenario) {
  nlohmann::json list = Json("list");
  ASSERT_EQ(list["subchannels"].size(), 2u);
  EXPECT_EQ(list["subchannels"][0]["schid"], "0.0.0100");
  EXPECT_EQ(list["subchannels"][0]["cu_type"], "3990/c2");
  EXPECT_EQ(list["subchannels"][0]["state"], "DETACHED");
  EXPECT_EQ(list["subchannels"][1]["unavailable_reason"], "QDIO device: vfio_ccw does not support QDIO subchannels");

  nlohmann::json a = Json("attach 0.0.0100");
  EXPECT_EQ(a["subchannel"]["state"], "ATTACHED");
  EXPECT_EQ(a["subchannel"]["driver"], "vfio_ccw");
  const std::string uuid = a["subchannel"]["mdev_uuid"];
  EXPECT_EQ(uuid.size(), 36u);

  nlohmann::json id = Json("io sense-id 0.0.0100");
  ASSERT_EQ(id["transfers"].size(), 1u);
  EXPECT_EQ(id["transfers"][0]["bytes"], 12);

  nlohmann::json run = Json("io run 0.0.0100 " + Runfile("docs/examples/vol1-label.json"));
  EXPECT_EQ(run["irb"]["scsw"]["device_status_text"], "CE DE");
  EXPECT_EQ(run["bytes_read"], "80");  // uint64 fields are strings in the proto JSON mapping
  ASSERT_EQ(run["transfers"].size(), 3u);
  EXPECT_EQ(run["transfers"][2]["bytes"], 80);
  // "VOL1LNX001" in EBCDIC, base64 in JSON: 5dbT8dPV5/Dw8Q== are its first 10 bytes.
  EXPECT_EQ(run["transfers"][2]["data"].get<std::string>().substr(0, 12), "5dbT8dPV5/Dw");

  Result q = Ctl("attach 0.0.0103");
  EXPECT_EQ(q.rc, 1);
  EXPECT_NE(q.out.find("QDIO device: vfio_ccw does not support QDIO subchannels"), std::string::npos) << q.out;
  Result nf = Ctl("get 0.0.0199");
  EXPECT_EQ(nf.rc, 4) << nf.out;

  // A restart keeps the attachment and I/O works.
  StopAgent();
  StartAgent();
  nlohmann::json g = Json("get 0.0.0100");
  EXPECT_EQ(g["state"], "ATTACHED");
  EXPECT_EQ(g["mdev_uuid"], uuid);
  EXPECT_EQ(Json("io sense-id 0.0.0100")["transfers"][0]["bytes"], 12);

  nlohmann::json d = Json("detach 0.0.0100");
  EXPECT_EQ(d["subchannel"]["state"], "DETACHED");
  EXPECT_EQ(d["subchannel"]["driver"], "io_subchannel");
}

}  // namespace
