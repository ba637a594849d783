// The benchmark suite (`bazel run -c opt //bench:all`, tools/bench.sh): every
// number of docs/performance.md in one run and one table, with the machine.
// Sections: ceilings (bare gRPC echo over a Unix socket; eventfd → epoll →
// eventfd round trip), translate, the simulated path in-process, the agent
// in-process, end to end over gRPC (unary and StreamPrograms), the agent's
// overhead per I/O, and scale (1 k / 8 k / 64 k subchannels). Benchmarks print
// numbers; nothing here passes or fails on a duration.
#ifndef CCWPASS_BENCH_BENCH_H_
#define CCWPASS_BENCH_BENCH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/metrics/metrics.h"
#include "ctl/load.h"

namespace ccwpass::bench {

// One line of the results table. Empty numbers print as "-".
struct Row {
  std::string section;  // "ceiling", "translate", "sim", "agent", "e2e", "overhead", "scale"
  std::string what;     // "echo unary, 8 sync clients"
  double rate = -1;     // operations per second
  double p50_us = -1, p99_us = -1, p999_us = -1;
  std::string detail;   // ratios, bytes, targets: "0.82 × echo (target ≥ 0.70): met"
};

class Report {
 public:
  // Rows and notes go to stdout as "ROW\t<fields>" / "NOTE\t<text>" lines
  // only (a child process of the suite; see Options::child).
  void SetTsv(bool tsv) { tsv_ = tsv; }
  // Adds what a child printed in that form.
  void AddTsvLine(const std::string& line);
  // Prints the row at once (so a long run shows progress) and keeps it.
  void Add(Row r);
  void Note(std::string line);
  // The machine (cores, CPU model, memory), the date, the load average now.
  static std::string MachineLine();
  static std::string LoadLine();
  // Every row as one table, then the notes.
  std::string Table() const;

 private:
  bool tsv_ = false;
  std::vector<Row> rows_;
  std::vector<std::string> notes_;
};

// A row from a load result.
Row FromLoad(std::string section, std::string what, const ctl::LoadResult& r);

// Resident set size of this process, bytes (/proc/self/statm).
uint64_t ResidentBytes();

struct Options {
  ctl::LoadTiming timing;            // each throughput measurement
  std::vector<int> scale_sizes;      // subchannels per simulated host
  int attaches = 1000;
  int watchers = 100;
  int scrape_attached = 10000;       // attached (agent + hand-off mode) when /metrics is scraped
  std::string tmp_dir;               // sockets and state files
  std::string self;                  // this program, to run each scale size in a fresh process
  bool child = false;                // this is such a process
  std::string metrics_out;           // --fixed metrics writes its last text here (promtool check metrics)
};

// The sections; each adds its rows to `report`.
struct Ceilings {
  ctl::LoadResult echo_unary[3];     // 1, 8, 64 sync clients
  ctl::LoadResult echo_callback64;
  ctl::LoadResult echo_stream64;
  ctl::LatencySummary eventfd_rt;    // unpinned
  ctl::LatencySummary eventfd_same_core, eventfd_cross_core;
};
// Message sizes of the echo: those of the agent's I/O RPC (serialized bytes).
void RunCeilings(const Options& o, size_t request_bytes, size_t response_bytes, Report& report, Ceilings* out);
void RunTranslate(const Options& o, Report& report);
// The I/O path: sim direct, agent in-process, e2e unary and stream; compares
// with `c` in the same run.
void RunIoPath(const Options& o, Report& report, const std::function<void(size_t, size_t)>& sizes_known,
               const std::function<const Ceilings&()>& ceilings);
void RunScale(const Options& o, Report& report);
// For instruction counts (valgrind --tool=callgrind): `calls` calls of `what`
// one after another, untimed — "echo" (unary echo), "unary" (StartProgram over
// the socket), "stream" (StreamPrograms, window 64), "agent" (Agent::Run in-process),
// "sim" (straight to the simulated device). Run twice with different counts:
// the difference divided by the difference in calls is the cost of one call.
void RunFixed(const Options& o, const std::string& what, int calls);
// RunFixed's /metrics modes on SyntheticStats(o.scrape_attached, 1100):
// "metrics" (snapshot and render in-process), "scrape" (GET /metrics over
// HTTP), "scrape-gzip" (the same with Accept-Encoding: gzip); and "allstats"
// (Agent::AllStats of 1,000 subchannels attached in hand-off mode).
void RunFixedMetrics(const Options& o, const std::string& what, int calls);
// Statistics of `n` attached subchannels, the first `agent_mode` in agent mode
// with I/O counted (a failure on every tenth), the rest in hand-off mode with
// zero counters: what the scale section's scrape sees.
agent::StatsSource SyntheticStats(int n, int agent_mode);
// GET `path` from 127.0.0.1:`port` (HTTP/1.0, the whole answer), with
// "Accept-Encoding: gzip" when `gzip`. `*bytes`: the body's size as sent;
// `*samples`: its sample lines (0 when the body came compressed). Errors:
// kUnavailable (connect, write), kInternal (status not 200).
absl::Status HttpGet(int port, const std::string& path, bool gzip, size_t* bytes, size_t* samples);
// `calls` unary echo calls one after another (RunFixed's "echo").
void RunEchoFixed(const Options& o, int calls, size_t request_bytes, size_t response_bytes);

}  // namespace ccwpass::bench

#endif  // CCWPASS_BENCH_BENCH_H_
