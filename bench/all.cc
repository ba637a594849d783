// bazel run -c opt //bench:all [-- --duration 3s --sections ceilings,translate,io,scale
//                                  --scale-sizes 1024,8192,65536]
// Runs every benchmark of docs/performance.md and prints one table with the
// machine (cores, CPU, memory), the date and the load average before and after.
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "CLI/CLI.hpp"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "bench/bench.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  using namespace ccwpass::bench;
  // Debian's Abseil is built without NDEBUG; the agent turns the detector off too.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  spdlog::set_level(spdlog::level::warn);

  CLI::App app{"ccwpass benchmarks: ceilings, translate, the I/O path end to end, scale"};
  std::string duration = "3s", warmup = "500ms", sections = "ceilings,translate,io,scale";
  std::vector<int> sizes = {1024, 8192, 65536};
  Options o;
  app.add_option("--duration", duration, "measured time of each throughput run")->capture_default_str();
  app.add_option("--warmup", warmup, "time run before measuring")->capture_default_str();
  app.add_option("--sections", sections, "which sections: ceilings, translate, io, scale")->capture_default_str();
  app.add_option("--scale-sizes", sizes, "subchannels per simulated host")->delimiter(',')->capture_default_str();
  app.add_option("--attaches", o.attaches, "subchannels attached per scale host")->capture_default_str();
  app.add_option("--watchers", o.watchers, "event watchers per scale host")->capture_default_str();
  app.add_option("--scrape-attached", o.scrape_attached, "subchannels attached when /metrics is scraped")
      ->capture_default_str();
  std::string fixed;
  int calls = 1000;
  app.add_option("--fixed", fixed, "instead: run --calls calls of echo|unary|stream|agent|sim|metrics|scrape|scrape-gzip|allstats untimed (for callgrind)");
  app.add_option("--calls", calls, "calls for --fixed")->capture_default_str();
  app.add_option("--metrics-out", o.metrics_out, "with --fixed metrics: write the last text to this file");
  app.add_flag("--child", o.child, "(internal) one scale size, rows as TSV on stdout");
  CLI11_PARSE(app, argc, argv);
  if (!absl::ParseDuration(duration, &o.timing.duration) || !absl::ParseDuration(warmup, &o.timing.warmup)) {
    std::fprintf(stderr, "bench: --duration and --warmup take durations like 3s or 500ms\n");
    return 2;
  }
  o.scale_sizes = sizes;
  const std::set<std::string> only = absl::StrSplit(sections, ',');
  char tmpl[] = "/tmp/ccwbench.XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  o.tmp_dir = tmpl;

  if (!fixed.empty()) {
    RunFixed(o, fixed, calls);
    std::error_code ec;
    std::filesystem::remove_all(o.tmp_dir, ec);
    return 0;
  }
  Report report;
  if (o.child) {
    report.SetTsv(true);
    RunScale(o, report);
    std::error_code ec;
    std::filesystem::remove_all(o.tmp_dir, ec);
    return 0;
  }
  {
    std::error_code ec;
    o.self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  }
  const std::string machine = Report::MachineLine(), load_before = Report::LoadLine();
  std::printf("ccwpass benchmarks: %s\n%s before\n\n", machine.c_str(), load_before.c_str());
  Ceilings ceilings;
  bool have_ceilings = false;
  size_t req_bytes = 0, resp_bytes = 0;
  auto run_ceilings = [&] {
    if (have_ceilings || !only.count("ceilings")) return;
    RunCeilings(o, req_bytes, resp_bytes, report, &ceilings);
    have_ceilings = true;
  };
  if (only.count("translate")) RunTranslate(o, report);
  if (only.count("io")) {
    RunIoPath(o, report, [&](size_t q, size_t r) { req_bytes = q, resp_bytes = r; run_ceilings(); },
              [&]() -> const Ceilings& { return ceilings; });
  } else {
    req_bytes = 32, resp_bytes = 400;
    run_ceilings();
  }
  if (only.count("scale")) RunScale(o, report);

  std::printf("\n## Results\n\n%s\n%s after\n\n%s", machine.c_str(), Report::LoadLine().c_str(), report.Table().c_str());
  std::error_code ec;
  std::filesystem::remove_all(o.tmp_dir, ec);
  return 0;
}
