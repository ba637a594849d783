// Benchmarks of translate + back-translate: Translate() of a client program into
// the DMA arena, then Program::Complete() with the final SCSW of a program that
// ran to its end (CPA one past the last CCW of the last chain, residual 0).
// The device is not played: the arena buffers hold whatever they held, and
// Complete copies the read data back all the same, so the cost measured is the
// agent's, both ways.
//
// Each program is built once (BuildProgram) outside the timing loop.
// Counters: items_processed = CCWs translated, bytes_processed = data bytes the
// CCWs may move (ProgramStats::bytes). Results and targets: docs/performance.md.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/synchronization/mutex.h"

#include "translate/arch.h"
#include "translate/arena.h"
#include "translate/builder.h"
#include "translate/guest_memory.h"
#include "translate/translator.h"

namespace ccwpass::translate {
namespace {

constexpr uint64_t kArenaBytes = 16ull << 20;  // 16 MiB
constexpr uint64_t kArenaIova = 0x1000000;

DmaArena& Arena() {
  static DmaArena* arena = [] {
    auto a = DmaArena::CreateOwned(kArenaBytes, kArenaIova);
    if (!a.ok()) {
      std::fprintf(stderr, "arena: %s\n", a.status().ToString().c_str());
      std::abort();
    }
    return a->release();
  }();
  return *arena;
}

BuiltProgram MustBuild(const std::vector<CcwSpec>& ccws) {
  auto b = BuildProgram(ccws);
  if (!b.ok()) {
    std::fprintf(stderr, "build: %s\n", b.status().ToString().c_str());
    std::abort();
  }
  return std::move(*b);
}

// The final SCSW of a program that ran to the end of chain `ch`: start function,
// primary + secondary + status pending, CE DE, CPA one past its last CCW, residual 0.
Scsw FinalScsw(const Program& p) {
  const ChainInfo& last = p.chains().back();
  Scsw s;
  s.fmt = true;
  s.fctl = scsw_fctl::kStart;
  s.stctl = scsw_stctl::kPrimary | scsw_stctl::kSecondary | scsw_stctl::kStatusPending;
  s.cpa = last.host_iova + static_cast<uint32_t>(last.len) * kCcwSize;
  s.dstat = dev_stat::kChannelEnd | dev_stat::kDeviceEnd;
  s.count = 0;
  return s;
}

// Translate + Complete of one program per iteration.
void RunTranslateComplete(benchmark::State& state, const Orb& orb, GuestMemory& memory) {
  DmaArena& arena = Arena();
  int64_t ccws = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    auto p = Translate(orb, memory, arena);
    if (!p.ok()) {
      state.SkipWithError(p.status().ToString().c_str());
      return;
    }
    ccws += p->stats().ccws;
    bytes += static_cast<int64_t>(p->stats().bytes);
    auto done = p->Complete(FinalScsw(*p), memory);
    if (!done.ok()) {
      state.SkipWithError(done.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(done->bytes_in);
  }
  if (arena.FreePageCount() != arena.TotalPages()) {
    state.SkipWithError("arena pages leaked");
    return;
  }
  state.SetItemsProcessed(ccws);
  state.SetBytesProcessed(bytes);
}

// (1) Linux's read of one 4 KiB DASD block: DEFINE EXTENT, LOCATE RECORD, READ DATA
// (reference/dasd-3390.md §4; the bytes of translator_test.cc LinuxDasdBlockRead).
BuiltProgram DasdRead4KProgram() {
  const std::vector<uint8_t> de = {0x40, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08};
  const std::vector<uint8_t> lr = {0x06, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08,
                                   0x00, 0x00, 0x00, 0x08, 0x05, 0x4D, 0x10, 0x00};
  return MustBuild({{.cmd = 0x63, .flags = ccw_flag::kCc, .data = de},
                    {.cmd = 0x47, .flags = ccw_flag::kCc, .data = lr},
                    {.cmd = 0x86, .count = 4096}});
}
void BM_DasdRead4K(benchmark::State& state) {
  BuiltProgram b = DasdRead4KProgram();
  RunTranslateComplete(state, b.orb, *b.memory);
}
BENCHMARK(BM_DasdRead4K);

// SENSE ID: one CCW, 256 bytes in, SLI (the agent's most common request).
BuiltProgram SenseIdProgram() {
  return MustBuild({{.cmd = ccw_cmd::kSenseId, .flags = ccw_flag::kSli, .count = 256}});
}
void BM_SenseId(benchmark::State& state) {
  BuiltProgram b = SenseIdProgram();
  RunTranslateComplete(state, b.orb, *b.memory);
}
BENCHMARK(BM_SenseId);

// (2) A long chain: 255 CCWs (the kernel accepts up to 256). Arg 0: 255 chained READ
// DATA of 64 bytes. Arg 1: a mix, repeating DEFINE EXTENT (16 bytes out), LOCATE
// RECORD (16 bytes out), READ DATA (64 bytes in), NOOP (no data).
BuiltProgram Chain255Program(bool mix) {
  std::vector<CcwSpec> ccws;
  for (int i = 0; i < 255; ++i) {
    const uint8_t cc = i + 1 < 255 ? ccw_flag::kCc : uint8_t{0};
    if (!mix) {
      ccws.push_back({.cmd = 0x86, .flags = cc, .count = 64});
      continue;
    }
    switch (i % 4) {
      case 0: ccws.push_back({.cmd = 0x63, .flags = cc, .data = std::vector<uint8_t>(16, 0x40)}); break;
      case 1: ccws.push_back({.cmd = 0x47, .flags = cc, .data = std::vector<uint8_t>(16, 0x06)}); break;
      case 2: ccws.push_back({.cmd = 0x86, .flags = cc, .count = 64}); break;
      default: ccws.push_back({.cmd = ccw_cmd::kNoop, .flags = cc}); break;
    }
  }
  return MustBuild(ccws);
}
void BM_Chain255(benchmark::State& state) {
  const bool mix = state.range(0) != 0;
  BuiltProgram b = Chain255Program(mix);
  state.SetLabel(mix ? "DE/LR/READ/NOOP mix" : "255 x READ DATA 64");
  RunTranslateComplete(state, b.orb, *b.memory);
}
BENCHMARK(BM_Chain255)->Arg(0)->Arg(1);

// (3) The TIC loop of the QEMU BIOS ECKD IPL (dasd-ipl.c): SEEK, SEARCH ID EQUAL,
// TIC back to the search, READ of IPL2 (144 bytes). Arg: CCW format 0 or 1.
void BM_TicLoopIpl(benchmark::State& state) {
  const bool fmt1 = state.range(0) != 0;
  FlatGuestMemory m(0x10000);
  auto put = [&](uint64_t at, uint8_t cmd, uint8_t flags, uint16_t count, uint32_t cda) {
    if (!WriteCcw(m, at, Ccw1{cmd, flags, count, cda}, fmt1).ok()) std::abort();
  };
  const std::vector<uint8_t> seek_search = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
  if (!m.Write(0x3000, seek_search).ok()) std::abort();
  put(0x2100, 0x07, ccw_flag::kCc, 6, 0x3000);   // SEEK 0/0
  put(0x2108, 0x31, ccw_flag::kCc, 5, 0x3006);   // SEARCH ID EQUAL
  put(0x2110, ccw_cmd::kTic, 0, 0, 0x2108);      // TIC back to the search
  put(0x2118, 0x06, 0, 144, 0x4000);             // READ DATA (IPL2)
  Orb o;
  o.fmt = fmt1;
  o.pfch = true;
  o.c64 = true;
  o.lpm = 0xFF;
  o.cpa = 0x2100;
  state.SetLabel(fmt1 ? "format 1" : "format 0");
  RunTranslateComplete(state, o, m);
}
BENCHMARK(BM_TicLoopIpl)->Arg(0)->Arg(1);

// (4) One WRITE DATA of 65535 bytes, split over 16 arena pages. Arg 1: the client
// gives an IDAL (IDA flag; the builder writes a format-2 IDAL); Arg 0: a
// contiguous buffer.
void BM_Write64K(benchmark::State& state) {
  const bool ida = state.range(0) != 0;
  std::vector<uint8_t> data(65535);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i ^ (i >> 8));
  BuiltProgram b = MustBuild({{.cmd = 0x05, .flags = ida ? ccw_flag::kIda : uint8_t{0}, .data = data}});
  state.SetLabel(ida ? "client IDAL" : "contiguous");
  RunTranslateComplete(state, b.orb, *b.memory);
}
BENCHMARK(BM_Write64K)->Arg(0)->Arg(1);

// --fixed=dasd|sense_id|chain255|mix255 --calls=N: N translate + complete of that program, no
// timing and no Google Benchmark, for `valgrind --tool=callgrind` (instruction
// counts; docs/performance.md): the cost of one call is the difference of two
// runs with different N, divided by the difference of N. Returns the exit code.
int RunFixed(const char* which, long calls) {
  BuiltProgram b;
  if (std::strcmp(which, "dasd") == 0) {
    b = DasdRead4KProgram();
  } else if (std::strcmp(which, "sense_id") == 0) {
    b = SenseIdProgram();
  } else if (std::strcmp(which, "chain255") == 0 || std::strcmp(which, "mix255") == 0) {
    b = Chain255Program(which[0] == 'm');
  } else {
    std::fprintf(stderr, "--fixed: dasd, sense_id, chain255 or mix255, not %s\n", which);
    return 2;
  }
  DmaArena& arena = Arena();
  uint64_t bytes = 0;
  for (long i = 0; i < calls; ++i) {
    auto p = Translate(b.orb, *b.memory, arena);
    if (!p.ok()) {
      std::fprintf(stderr, "translate: %s\n", p.status().ToString().c_str());
      return 1;
    }
    auto done = p->Complete(FinalScsw(*p), *b.memory);
    if (!done.ok()) {
      std::fprintf(stderr, "complete: %s\n", done.status().ToString().c_str());
      return 1;
    }
    bytes += done->bytes_in;
  }
  std::printf("%s: %ld calls, %llu bytes in\n", which, calls, static_cast<unsigned long long>(bytes));
  return 0;
}

}  // namespace
}  // namespace ccwpass::translate

// Besides Google Benchmark's flags: --fixed=PROGRAM --calls=N (above), and
// --mutex_deadlock_detection=ignore|on. Debian's libabsl is built without
// NDEBUG, so Abseil's Mutex runs deadlock detection on every Lock unless the
// process turns it off; ccw-agent's main() does (as bench/all, sim_bench and
// the QEMU agent_bench do), so `ignore` is the default here too: the cost
// measured is the agent's. `on` keeps Abseil's default, the way this benchmark
// ran before (the arena's two Lock/Unlock pairs then cost ~60 ns a request;
// docs/performance.md).
int main(int argc, char** argv) {
  int out = 1;
  const char* fixed = nullptr;
  long calls = 1000;
  bool deadlock_detection = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--fixed=", 8) == 0) {
      fixed = argv[i] + 8;
      continue;
    }
    if (std::strncmp(argv[i], "--calls=", 8) == 0) {
      calls = std::strtol(argv[i] + 8, nullptr, 10);
      continue;
    }
    if (std::strcmp(argv[i], "--mutex_deadlock_detection=ignore") == 0 ||
        std::strcmp(argv[i], "--mutex_deadlock_detection=on") == 0) {
      deadlock_detection = std::strcmp(argv[i], "--mutex_deadlock_detection=on") == 0;
      continue;
    }
    argv[out++] = argv[i];
  }
  argc = out;
  if (!deadlock_detection) absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (fixed != nullptr) return ccwpass::translate::RunFixed(fixed, calls);
  benchmark::AddCustomContext("mutex_deadlock_detection", deadlock_detection ? "on" : "ignore");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
