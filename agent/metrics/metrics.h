// Prometheus metrics of the agent (prometheus-cpp): a collector that turns the
// agent's I/O statistics (agent/core/io_stats.h) into metric families at
// scrape time, and the HTTP endpoint that serves them in the text format.
//
// Names follow reference/sysfs-and-peers.md "Prometheus" and node_exporter's
// per-disk counters: prefix ccw_, base units (seconds, bytes), counters end in
// _total, metadata in ccw_subchannel_info (value 1). Labels are bounded: schid
// (at most 65,536 per subchannel set), reason (13 values), rsc/erc (4 and 6
// bits), mode, result. docs/metrics.md lists every series.
#ifndef CCWPASS_AGENT_METRICS_METRICS_H_
#define CCWPASS_AGENT_METRICS_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/core/io_stats.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace prometheus {
class Exposer;
}

namespace ccwpass::agent {

class Agent;

// Where the collector reads its numbers (Agent::AllStats / AgentWideStats in
// the agent; synthetic snapshots in tests).
struct StatsSource {
  std::function<std::vector<SubchannelStatsSnapshot>()> subchannels;
  std::function<AgentStatsSnapshot()> agent;
};
StatsSource StatsSourceOf(Agent& agent);

class AgentCollector : public prometheus::Collectable {
 public:
  explicit AgentCollector(StatsSource source) : source_(std::move(source)) {}
  // Every ccw_* family, built from one snapshot of the statistics.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  StatsSource source_;
};

// The Prometheus text exposition format (version 0.0.4) of a collector's families.
std::string RenderText(const std::vector<prometheus::MetricFamily>& families);

// The HTTP endpoint: GET /metrics on `address` ("127.0.0.1:9810", "[::1]:0",
// "0.0.0.0:9810"; port 0 picks a free one).
class MetricsServer {
 public:
  // Errors: kInvalidArgument when `address` has no port; kUnavailable when it
  // cannot be bound (the message names the address and the reason).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address, StatsSource source);
  ~MetricsServer();
  // The TCP port it listens on.
  int port() const { return port_; }

 private:
  MetricsServer() = default;
  std::shared_ptr<AgentCollector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_METRICS_METRICS_H_
