// libFuzzer target: ParseHostConfig() on arbitrary text. Any text gets a host or
// an INVALID_ARGUMENT with a message, never a crash, a leak, undefined behaviour
// or an exception out of yaml-cpp. A parsed host keeps the rules of
// docs/host-description.md.
// Seeds: corpus/host_config_fuzzer/ (sim/testdata/host.yaml and small variants).
// Build and run (clang; not built by a normal `bazel build //...`):
//   bazel --output_base=$HOME/.cache/ccwpass-fuzz build --config=fuzz //sim/fuzz:host_config_fuzzer
//   <bazel-bin>/sim/fuzz/host_config_fuzzer -max_total_time=60 -rss_limit_mb=2048 WORKCOPY_OF_CORPUS
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "sim/host_config.h"
#include "translate/fuzz/fuzz_check.h"


extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ccwpass::sim;
  auto host = ParseHostConfig(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz", "/base");
  if (!host.ok()) {
    FUZZ_CHECK(host.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!host.status().message().empty());
    return 0;
  }
  absl::flat_hash_set<uint8_t> chpids;
  for (const ChannelPathConfig& p : host->channel_paths) {
    FUZZ_CHECK(chpids.insert(p.chpid).second);
    FUZZ_CHECK(p.chid.empty() || p.chid.size() == 4);
  }
  absl::flat_hash_set<uint32_t> devnos;
  for (size_t i = 0; i < host->subchannels.size(); ++i) {
    const SubchannelConfig& s = host->subchannels[i];
    FUZZ_CHECK(s.ssid <= 3 && s.type <= 3 && s.cssid == 0);
    if (i > 0) {
      const SubchannelConfig& prev = host->subchannels[i - 1];
      FUZZ_CHECK(prev.ssid < s.ssid || (prev.ssid == s.ssid && prev.schno < s.schno));
    }
    if (s.has_devno) FUZZ_CHECK(devnos.insert(static_cast<uint32_t>(s.ssid) << 16 | s.devno).second);
    if (s.type != 0) FUZZ_CHECK(!s.has_devno && s.device.kind == DeviceKind::kNone && !s.qdio);
    if (s.device.kind != DeviceKind::kNone) FUZZ_CHECK(s.has_devno && !s.qdio);
    FUZZ_CHECK((s.pam & ~s.pim) == 0);
    for (int slot = 0; slot < 8; ++slot) {
      if ((s.pim & (0x80 >> slot)) != 0) FUZZ_CHECK(chpids.contains(s.chpids[slot]));
    }
    FUZZ_CHECK(s.latency_us <= kMaxLatencyUs);
    FUZZ_CHECK(s.device.cylinders <= kMaxCylinders);
    FUZZ_CHECK(s.device.image.empty() || s.device.cylinders == 0);
    FUZZ_CHECK(s.faults.unit_check_sense.size() <= kMaxSenseBytes);
    for (const std::string& line : s.device.input) FUZZ_CHECK(line.size() <= kMaxConsoleLine);
  }
  return 0;
}
