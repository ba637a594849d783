// Cost of one Linux-style 4 KiB block read on the simulated 3390: a DEFINE
// EXTENT + LOCATE RECORD + READ DATA (MT) chain, executed the way the channel
// subsystem drives a Device (BeginChain, three Execute calls, EndChain), on an
// in-memory image whose track holds 12 x 4096-byte records.
//   bazel run -c opt //sim/dasd:eckd_bench
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "sim/dasd/ckd_image.h"
#include "sim/dasd/eckd3390.h"
#include "sim/device.h"

namespace ccwpass::sim::dasd {
namespace {

constexpr uint16_t kCyl = 0;

std::array<uint8_t, 16> DefineExtent(uint16_t head) {
  return {0x40, 0xC0, 0, 0, 0, 0, 0, 0, 0, kCyl, 0, static_cast<uint8_t>(head),
          0,    kCyl, 0, static_cast<uint8_t>(head)};
}

std::array<uint8_t, 16> LocateRecord(uint16_t head, uint8_t record) {
  return {0x06, 0x80, 0, 1, 0, kCyl, 0, static_cast<uint8_t>(head),
          0,    kCyl, 0, static_cast<uint8_t>(head), record, 0x4D, 0x10, 0x00};
}

// Formats `tracks` tracks of cylinder 0 with 12 x 4096-byte records (LR format
// write + WRITE CKD), as dasdfmt would; aborts on failure.
void Format(Eckd3390& dev, uint16_t tracks) {
  std::vector<uint8_t> rec(8 + 4096, 0x5A);
  for (uint16_t head = 0; head < tracks; ++head) {
    std::array<uint8_t, 16> de = {0x00, 0xC0, 0, 0, 0, 0, 0, 0, 0, kCyl, 0, static_cast<uint8_t>(head),
                                  0,    kCyl, 0, static_cast<uint8_t>(head)};
    std::array<uint8_t, 16> lr = {0x03, 0x00, 0, 12, 0, kCyl, 0, static_cast<uint8_t>(head),
                                  0,    kCyl, 0, static_cast<uint8_t>(head), 0, 0, 0, 0};
    dev.BeginChain();
    bool ok = dev.Execute({cmd::kDefineExtent, 16, true, true}, absl::MakeSpan(de)).status == 0x0C &&
              dev.Execute({cmd::kLocateRecord, 16, true, false}, absl::MakeSpan(lr)).status == 0x0C;
    for (uint8_t r = 1; ok && r <= 12; ++r) {
      rec[0] = 0; rec[1] = kCyl; rec[2] = 0; rec[3] = static_cast<uint8_t>(head);
      rec[4] = r; rec[5] = 0; rec[6] = 0x10; rec[7] = 0x00;
      ok = dev.Execute({cmd::kWriteCkd, static_cast<uint32_t>(rec.size()), r < 12, false},
                       absl::MakeSpan(rec))
               .status == 0x0C;
    }
    dev.EndChain();
    if (!ok) std::abort();
  }
}

std::unique_ptr<Eckd3390> MakeDevice() {
  auto image = CkdImage::CreateInMemory(3339);
  if (!image.ok()) std::abort();
  auto dev = Eckd3390::Create(*std::move(image));
  if (!dev.ok()) std::abort();
  Format(**dev, 15);
  return *std::move(dev);
}

// One chain per iteration; `heads` > 1 moves to another track every chain
// (a track load from the image each time), 1 stays on the cached track.
void BM_Read4KiBChain(benchmark::State& state) {
  const uint16_t heads = static_cast<uint16_t>(state.range(0));
  std::unique_ptr<Eckd3390> dev = MakeDevice();
  std::vector<uint8_t> block(4096);
  uint32_t i = 0;
  for (auto _ : state) {
    const uint16_t head = static_cast<uint16_t>(i % heads);
    const uint8_t record = static_cast<uint8_t>(1 + i % 12);
    ++i;
    std::array<uint8_t, 16> de = DefineExtent(head);
    std::array<uint8_t, 16> lr = LocateRecord(head, record);
    dev->BeginChain();
    CommandResult a = dev->Execute({cmd::kDefineExtent, 16, true, true}, absl::MakeSpan(de));
    CommandResult b = dev->Execute({cmd::kLocateRecord, 16, true, false}, absl::MakeSpan(lr));
    CommandResult c = dev->Execute({cmd::kReadDataMt, 4096, false, false}, absl::MakeSpan(block));
    dev->EndChain();
    if ((a.status | b.status | c.status) != 0x0C || c.length != 4096) {
      state.SkipWithError("chain failed");
      break;
    }
    benchmark::DoNotOptimize(block.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 4096);
  state.SetLabel(heads == 1 ? "same track" : "track switch every chain");
}
BENCHMARK(BM_Read4KiBChain)->Arg(1)->Arg(15);

}  // namespace
}  // namespace ccwpass::sim::dasd

BENCHMARK_MAIN();
