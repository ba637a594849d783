// How many simple channel programs per second the simulated path completes
// in-process, and how that scales with the number of devices.
//
// Each device (a 3215 console) is attached through the seams (SimClient) and
// keeps one program in flight: a single NOOP CCW placed in the client's DMA
// arena. One thread drives them all through one epoll set over the I/O
// eventfds, as the agent's worker does: eventfd → read the IRB from the I/O
// region → start the next program. Per completed program the path is: I/O
// region write → the simulated kernel's translation → SSCH → the channel
// subsystem thread → the device → TSCH → back-translation → eventfd. Zero
// injected latency. Items/s is programs completed per second.
//
//   bazel run -c opt //sim:sim_bench
#include <sys/epoll.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "sim/kernel.h"
#include "sim/testing/sim_client.h"
#include "spdlog/spdlog.h"

namespace ccwpass::sim {
namespace {

struct Bed {
  std::unique_ptr<SimKernel> kernel;
  std::vector<std::unique_ptr<testing::SimClient>> clients;
  translate::Orb orb;
  int ep = -1;
  ~Bed() {
    clients.clear();
    if (ep >= 0) ::close(ep);
  }
};

std::unique_ptr<Bed> MakeBed(int devices) {
  auto bed = std::make_unique<Bed>();
  HostConfig h;
  h.channel_paths = {ChannelPathConfig{.chpid = 0x10}};
  for (int i = 0; i < devices; ++i) {
    SubchannelConfig s;
    s.schno = static_cast<uint16_t>(i);
    s.devno = static_cast<uint16_t>(0x1000 + i);
    s.chpids = {0x10};
    s.pim = s.pam = 0x80;
    s.device.kind = DeviceKind::kConsole;
    h.subchannels.push_back(s);
  }
  SimKernelOptions o;
  o.kernel_arena_bytes = 64 * 1024;
  auto k = SimKernel::Create(h, o);
  if (!k.ok()) {
    std::fprintf(stderr, "%s\n", k.status().ToString().c_str());
    std::abort();
  }
  bed->kernel = std::move(*k);
  bed->ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < devices; ++i) {
    const std::string uuid = absl::StrFormat("00000000-0000-4000-8000-%012x", i);
    auto c = testing::SimClient::Attach(*bed->kernel, absl::StrFormat("0.0.%04x", i), uuid, 64 * 1024);
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
      std::abort();
    }
    // NOOP at arena offset 0x1000.
    translate::Ccw1{.cmd = 0x03, .flags = translate::ccw_flag::kSli, .count = 0}.EncodeTo(
        std::span<uint8_t, 8>((*c)->arena_memory() + 0x1000, 8));
    epoll_event ev{.events = EPOLLIN, .data = {.u32 = static_cast<uint32_t>(i)}};
    epoll_ctl(bed->ep, EPOLL_CTL_ADD, (*c)->irq_fd(0), &ev);
    bed->clients.push_back(std::move(*c));
  }
  bed->orb.fmt = true;
  bed->orb.lpm = 0xff;
  bed->orb.cpa = static_cast<uint32_t>(testing::kArenaIova + 0x1000);
  return bed;
}

void BM_SimulatedPath(benchmark::State& state) {
  const int devices = static_cast<int>(state.range(0));
  std::unique_ptr<Bed> bed = MakeBed(devices);
  for (auto& c : bed->clients) {
    if (c->Start(bed->orb) != sizeof(translate::CcwIoRegion)) state.SkipWithError("start refused");
  }
  std::vector<epoll_event> evs(devices);
  std::vector<uint32_t> ready;
  uint64_t bad = 0;
  for (auto _ : state) {
    while (ready.empty()) {
      const int n = epoll_wait(bed->ep, evs.data(), devices, 5000);
      if (n <= 0) {
        state.SkipWithError("no interrupt within 5 s");
        return;
      }
      for (int i = 0; i < n; ++i) ready.push_back(evs[i].data.u32);
    }
    testing::SimClient& c = *bed->clients[ready.back()];
    ready.pop_back();
    uint64_t v;
    if (::read(c.irq_fd(0), &v, sizeof v) != sizeof v) continue;
    absl::StatusOr<translate::Irb> irb = c.ReadIrb();
    if (!irb.ok() || irb->scsw.dstat != (translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd)) ++bad;
    c.Start(bed->orb);
  }
  // Drain what is still in flight before the kernel goes.
  for (auto& c : bed->clients) c->WaitIrq(0, absl::Seconds(1));
  state.SetItemsProcessed(state.iterations());
  state.counters["devices"] = devices;
  state.counters["bad"] = static_cast<double>(bad);
}
BENCHMARK(BM_SimulatedPath)->Arg(1)->Arg(64)->Arg(1024)->UseRealTime()->MinTime(2.0);

}  // namespace
}  // namespace ccwpass::sim

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  // Debian's Abseil is built without NDEBUG: its Mutex deadlock detection costs
  // time on every lock. The agent turns it off the same way.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
