// agent_bench: SENSE ID through the agent's core in-process, in the s390x guest
// of the QEMU end-to-end test: the same Agent, seams (FileSysfs, LinuxVfio) and
// I/O path as ccw-agent, without gRPC. It attaches `--schid` in agent mode
// (the subchannel must be detached: no ccw-agent may hold it), runs one SENSE
// ID to warm up and `--count` timed ones (Agent::Run, from the request to its
// completion mapped back), and detaches.
//
// Output (stdout): "sense-id cu=3832/02 bytes=256" and the latency line
// (latency.h). Errors: exit 1 with the agent's Status on stderr.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "agent/core/agent.h"
#include "agent/state/state_store.h"
#include "agent/sysfs/file_sysfs.h"
#include "agent/vfio/linux_vfio.h"
#include "spdlog/spdlog.h"
#include "tests/qemu/latency.h"
#include "translate/builder.h"

namespace {

int Fail(const std::string& what, const absl::Status& st) {
  std::fprintf(stderr, "agent_bench: %s: %s\n", what.c_str(), st.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ccwpass;
  // As ccw-agent: Debian's Abseil is built without NDEBUG.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"agent_bench: SENSE ID through the agent's core in-process (QEMU end-to-end test)"};
  std::string sysfs_root = "/sys", dev_root = "/dev", schid;
  int count = 100;
  app.add_option("--sysfs-root", sysfs_root)->capture_default_str();
  app.add_option("--dev-root", dev_root)->capture_default_str();
  app.add_option("--schid", schid, "a detached I/O subchannel, e.g. 0.0.0001")->required();
  app.add_option("--count", count, "SENSE IDs to time")->check(CLI::PositiveNumber)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  agent::FileSysfs sysfs(sysfs_root);
  agent::LinuxVfio vfio(dev_root);
  absl::StatusOr<std::unique_ptr<agent::StateStore>> store = agent::StateStore::Open("");
  if (!store.ok()) return Fail("state", store.status());
  agent::Agent a(sysfs, vfio, **store);
  if (absl::Status st = a.Start(nullptr); !st.ok()) return Fail("start", st);
  if (auto at = a.Attach(schid, false, "", "agent_bench"); !at.ok()) return Fail("attach " + schid, at.status());

  const translate::CcwSpec sense_id{.cmd = 0xe4, .flags = 0x20, .count = 256};  // SLI
  std::vector<double> us;
  int bytes = 0;
  uint16_t cu = 0;
  uint8_t model = 0;
  for (int i = 0; i <= count; ++i) {
    absl::StatusOr<translate::BuiltProgram> p = translate::BuildProgram(std::span(&sense_id, 1));
    if (!p.ok()) return Fail("build", p.status());
    agent::ProgramRequest req{p->orb, std::move(p->memory)};
    const double t0 = qemu_e2e::NowUs();
    absl::StatusOr<agent::ProgramResult> r = a.Run(schid, req, absl::Now() + absl::Seconds(10));
    const double t1 = qemu_e2e::NowUs();
    if (!r.ok()) return Fail("SENSE ID", r.status());
    if (i > 0) us.push_back(t1 - t0);  // the first one warms up
    bytes = static_cast<int>(r->completion.bytes_in);
    uint8_t id[4];
    (void)req.memory->Read(p->data_addrs[0], id);
    cu = static_cast<uint16_t>(id[1] << 8 | id[2]);
    model = id[3];
  }
  if (auto d = a.Detach(schid, false); !d.ok()) return Fail("detach " + schid, d.status());
  a.Stop();
  std::printf("sense-id cu=%04x/%02x bytes=%d\n", cu, model, bytes);
  qemu_e2e::PrintLatency("agent-in-process", us);
  return 0;
}
