// `ccwctl bench`: drives an agent's I/O path with one program over and over and
// reports calls per second and latency percentiles (ctl/load.h):
//   ccwctl bench [--mode unary|stream|both] [--clients N] [--window N]
//                [--duration 5s] [--warmup 500ms] [--program sense-id|noop|read-4k]
//                [-o table|json] SCHID...
// unary: N synchronous callers of StartProgram (caller i on SCHID i mod count);
// stream: one StreamPrograms stream with N requests outstanding, round-robin
// over the SCHIDs. Each subchannel must be attached in agent mode. Exit code
// kExitDeviceError when any program failed (the first error is printed).
#ifndef CCWPASS_CTL_BENCH_CMD_H_
#define CCWPASS_CTL_BENCH_CMD_H_

#include <string>

#include "CLI/CLI.hpp"
#include "ctl/load.h"
#include "ctl/online.h"

namespace ccwpass::ctl {

struct BenchRow {
  std::string mode;  // "unary" or "stream"
  int concurrency = 0;  // clients or window
  LoadResult result;
};

// The table view: one row per mode with ops/s and p50/p90/p99/p99.9/max in µs.
std::string BenchTable(const std::vector<BenchRow>& rows);
// The JSON view: {"program", "subchannels", "duration_s", "results": [{"mode",
// "clients"|"window", "ops", "failed", "ops_per_sec", "latency_us": {"p50",
// "p90", "p99", "p999", "max", "mean"}, "first_error"?}]}.
std::string BenchJson(const std::vector<BenchRow>& rows, const IoLoadOptions& o);

void AddBenchCommand(CLI::App& app, Online& online);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_BENCH_CMD_H_
