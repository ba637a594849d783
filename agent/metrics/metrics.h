// Prometheus metrics of the agent: the text of every ccw_* family, rendered at
// scrape time from one snapshot of the agent's I/O statistics
// (agent/core/io_stats.h), and the HTTP endpoint that serves it.
//
// Names follow reference/sysfs-and-peers.md "Prometheus" and node_exporter's
// per-disk counters: prefix ccw_, base units (seconds, bytes), counters end in
// _total, metadata in ccw_subchannel_info (value 1). Labels are bounded: schid
// (at most 65,536 per subchannel set), reason (13 values), rsc/erc (4 and 6
// bits), mode, result. docs/metrics.md lists every series.
//
// The per-subchannel families (~33 samples per subchannel, 330,000 at 10,000
// attached) are written as text directly; the agent-wide families and the
// endpoint's own counters go through prometheus-cpp (MetricFamily and its
// TextSerializer). Both produce the Prometheus text exposition format 0.0.4,
// byte for byte what prometheus-cpp 1.0's TextSerializer writes for the same
// numbers (docs/performance.md says why: the serializer took ~2 G
// instructions a scrape at 10,000 subchannels).
#ifndef CCWPASS_AGENT_METRICS_METRICS_H_
#define CCWPASS_AGENT_METRICS_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/core/io_stats.h"
#include "prometheus/metric_family.h"

class CivetServer;

namespace ccwpass::agent {

class Agent;

// Where the numbers come from (Agent::AllStats / AgentWideStats in the agent;
// synthetic snapshots in tests and benchmarks).
struct StatsSource {
  std::function<std::vector<SubchannelStatsSnapshot>()> subchannels;
  std::function<AgentStatsSnapshot()> agent;
};
StatsSource StatsSourceOf(Agent& agent);

// Appends the per-subchannel families of `subs`, in this order, to `*out`:
// ccw_subchannel_info, ccw_programs_started_total, _completed_total,
// _failed_total (reasons with a non-zero count only), ccw_read_bytes_total,
// ccw_written_bytes_total, ccw_program_duration_seconds (histogram: _count,
// _sum, 19 buckets and +Inf, cumulative), ccw_programs_in_flight,
// ccw_crws_total (one series per (RSC, ERC) seen), ccw_halts_total,
// ccw_clears_total, ccw_resets_total, ccw_unsolicited_interrupts_total,
// ccw_device_requests_total; each with # HELP and # TYPE even when it has no
// sample, each sample labelled schid first, in the order of `subs`. Label
// values are escaped (\\, \", \n); values are written as prometheus-cpp writes
// a double (%.16g; integers below 10^15 as integers). Source: Prometheus
// "Exposition formats", text format 0.0.4. No errors.
void AppendSubchannelText(const std::vector<SubchannelStatsSnapshot>& subs, std::string* out);

// The agent-wide families, as prometheus-cpp metric families in this order:
// ccw_attached_subchannels{mode}, ccw_attaches_total{result},
// ccw_detaches_total{result}, ccw_attach_duration_seconds,
// ccw_detach_duration_seconds (histograms, seconds), ccw_events_published_total,
// ccw_event_drops_total, ccw_agent_start_time_seconds (Unix seconds),
// ccw_build_info{version,compiler}.
std::vector<prometheus::MetricFamily> AgentFamilies(const AgentStatsSnapshot& a);

// Appends every ccw_* family of one snapshot of `source` to `*out`, in the
// Prometheus text exposition format 0.0.4: AppendSubchannelText, then
// AgentFamilies through prometheus-cpp's TextSerializer. Reserve room in
// `*out` first to spare the string's regrowth. No errors.
void RenderText(const StatsSource& source, std::string* out);

// Whether an Accept-Encoding header value (RFC 9110 §12.5.3: "gzip",
// "gzip, deflate", "deflate;q=1, gzip;q=0.5", "*") admits gzip: a "gzip" or
// "*" coding (case-insensitive) whose q value is not 0. An empty value does not.
bool AcceptsGzip(std::string_view accept_encoding);

// `text` compressed as one gzip member (RFC 1952 around a deflate stream,
// RFC 1951) at zlib `level` (1 fastest … 9 smallest), on up to `threads`
// threads: the text is cut into that many pieces of at least 256 KiB, each deflated on its own (the last one ends the
// stream, the others end byte-aligned with a sync flush, as pigz does) and
// the CRC-32s combined, so any gzip reader inflates the one member. Errors:
// kInvalidArgument for a level outside 1..9 or fewer than 1 thread;
// kInternal when zlib fails (the message has zlib's).
absl::StatusOr<std::string> Gzip(std::string_view text, int level, int threads = 1);
// The threads MetricsServer compresses a scrape on: the cores, at most 4.
int GzipThreads();

// The HTTP endpoint (civetweb, 2 threads): GET /metrics on `address`
// ("127.0.0.1:9810", "[::1]:0", "0.0.0.0:9810"; port 0 picks a free one).
// The body is the endpoint's own counters (exposer_transferred_bytes_total,
// exposer_scrapes_total, exposer_request_latencies in microseconds: the
// series prometheus-cpp's Exposer had) followed by RenderText(source);
// "Content-Type: text/plain; charset=utf-8", gzip-compressed at level
// kGzipLevel on GzipThreads() threads when the request's Accept-Encoding
// admits gzip (as a Prometheus server's does).
class MetricsServer {
 public:
  // zlib's fastest level: a third of the instructions of the default (6)
  // on the 20 MB of a 10,000-subchannel scrape (569 M against 1,645 M), for
  // a body 8 % larger (1.3 MB against 1.2 MB).
  static constexpr int kGzipLevel = 1;

  // Errors: kInvalidArgument when `address` has no port; kUnavailable when it
  // cannot be bound (the message names the address and the reason).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address, StatsSource source);
  ~MetricsServer();
  // The TCP port it listens on.
  int port() const { return port_; }

 private:
  class Handler;
  MetricsServer() = default;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<CivetServer> server_;
  int port_ = 0;
};

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_METRICS_METRICS_H_
