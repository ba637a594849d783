// /metrics at scale without a simulated host: `RunFixed`'s "metrics" modes
// build snapshots of 10,000 attached subchannels as the scale section has them
// (1,100 in agent mode with I/O behind them, the rest in hand-off mode with
// zero counters) and run the collector and the text rendering, or whole
// scrapes over HTTP, `calls` times, untimed, for valgrind --tool=callgrind and
// heaptrack.
#include <cstdio>
#include <fstream>

#include "absl/strings/str_format.h"
#include "agent/metrics/metrics.h"
#include "bench/bed.h"
#include "bench/bench.h"

namespace ccwpass::bench {

agent::StatsSource SyntheticStats(int n, int agent_mode) {
  std::vector<agent::SubchannelStatsSnapshot> subs(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    agent::SubchannelStatsSnapshot& s = subs[static_cast<size_t>(i)];
    s.schid = Schid(i);
    s.attached = true;
    s.handoff = i >= agent_mode;
    s.devno = absl::StrFormat("0.0.%04x", 0x1000 + i);
    s.mdev_uuid = absl::StrFormat("00000000-0000-4000-8000-%012x", i + 1);
    s.chpids = "10";
    if (!s.handoff) {
      // Like a console after its SENSE ID and some I/O.
      s.cu_type = std::make_pair(uint16_t{0x3215}, uint8_t{0x01});
      s.dev_type = std::make_pair(uint16_t{0x3215}, uint8_t{0x00});
      s.started = s.completed = 1000 + static_cast<uint64_t>(i);
      s.bytes_read = 7 * s.completed;
      s.latency.buckets[1] = 900;
      s.latency.buckets[2] = 90 + static_cast<uint64_t>(i);
      s.latency.buckets[5] = 10;
      s.latency.count = 1000 + static_cast<uint64_t>(i);
      s.latency.sum_seconds = 0.0123456789 * (i + 1);
      if (i % 10 == 0) s.failed[static_cast<int>(agent::FailReason::kBusy)] = 3;
    }
  }
  agent::AgentStatsSnapshot a;
  a.attached_agent = agent_mode;
  a.attached_handoff = n - agent_mode;
  a.attach_ok = static_cast<uint64_t>(n);
  a.started_at = absl::FromUnixSeconds(1700000000);
  return agent::StatsSource{[subs] { return subs; }, [a] { return a; }};
}

void RunFixedMetrics(const Options& o, const std::string& what, int calls) {
  if (what == "allstats") {
    // The real snapshot: 1,000 subchannels of a simulated host attached in
    // hand-off mode, then Agent::AllStats `calls` times.
    auto bed = AgentBed::Create(ConsoleHost(1000), o.tmp_dir, "allstats", false);
    if (!bed.ok()) {
      std::fprintf(stderr, "allstats: %s\n", bed.status().ToString().c_str());
      return;
    }
    for (int i = 0; i < 1000; ++i) (void)(*bed)->agent->Attach(Schid(i), true, "", "bench");
    size_t n = 0;
    for (int i = 0; i < calls; ++i) n += (*bed)->agent->AllStats().size();
    std::printf("allstats: %d calls, %zu snapshots\n", calls, n);
    return;
  }
  agent::StatsSource source = SyntheticStats(o.scrape_attached, 1100);
  size_t bytes = 0;
  if (what == "metrics") {
    // Snapshot, collect and render in-process.
    std::string text;
    for (int i = 0; i < calls; ++i) {
      text.clear();
      text.shrink_to_fit();
      agent::RenderText(source, &text);
      bytes += text.size();
    }
    if (!o.metrics_out.empty()) std::ofstream(o.metrics_out, std::ios::binary) << text;
  } else {
    // Whole scrapes over HTTP: "scrape" plain, "scrape-gzip" with
    // Accept-Encoding: gzip as a Prometheus server sends it.
    auto server = agent::MetricsServer::Start("127.0.0.1:0", std::move(source));
    if (!server.ok()) {
      std::fprintf(stderr, "metrics: %s\n", server.status().ToString().c_str());
      return;
    }
    for (int i = 0; i < calls; ++i) {
      size_t b = 0, samples = 0;
      const absl::Status st = HttpGet((*server)->port(), "/metrics", what == "scrape-gzip", &b, &samples);
      if (!st.ok()) {
        std::fprintf(stderr, "scrape: %s\n", st.ToString().c_str());
        return;
      }
      bytes += b;
    }
  }
  std::printf("%s: %d calls, %zu bytes\n", what.c_str(), calls, bytes);
}

}  // namespace ccwpass::bench
