#include "agent/metrics/metrics.h"

#include <cstdio>
#include <exception>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/core/agent.h"
#include "agent/version.h"
#include "prometheus/exposer.h"
#include "prometheus/text_serializer.h"

namespace ccwpass::agent {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric& Add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric& m = f.metric.emplace_back();
  m.label = std::move(labels);
  switch (f.type) {
    case MetricType::Counter: m.counter.value = value; break;
    case MetricType::Gauge: m.gauge.value = value; break;
    default: m.untyped.value = value; break;
  }
  return m;
}

void AddHistogram(MetricFamily& f, std::vector<ClientMetric::Label> labels, const LatencyHistogram::Snapshot& h) {
  ClientMetric& m = f.metric.emplace_back();
  m.label = std::move(labels);
  m.histogram.sample_count = h.count;
  m.histogram.sample_sum = h.sum_seconds;
  m.histogram.bucket.reserve(kLatencyBuckets.size() + 1);
  uint64_t cum = 0;
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    cum += h.buckets[i];
    m.histogram.bucket.push_back({cum, kLatencyBuckets[i]});
  }
  cum += h.buckets.back();
  m.histogram.bucket.push_back({cum, std::numeric_limits<double>::infinity()});
}

std::string TypeText(const std::optional<std::pair<uint16_t, uint8_t>>& t) {
  return t ? absl::StrFormat("%04x/%02x", t->first, t->second) : "";
}

}  // namespace

StatsSource StatsSourceOf(Agent& agent) {
  return StatsSource{[&agent] { return agent.AllStats(); }, [&agent] { return agent.AgentWideStats(); }};
}

std::vector<MetricFamily> AgentCollector::Collect() const {
  const std::vector<SubchannelStatsSnapshot> subs = source_.subchannels();
  const AgentStatsSnapshot a = source_.agent();

  MetricFamily info = Family("ccw_subchannel_info",
                             "A subchannel the agent has attached: its identity as labels (value 1)", MetricType::Gauge);
  MetricFamily started = Family("ccw_programs_started_total",
                                "Channel programs accepted by the vfio-ccw I/O region (start subchannel cc 0)",
                                MetricType::Counter);
  MetricFamily completed = Family("ccw_programs_completed_total",
                                  "Channel programs ended by channel end and device end without an error status",
                                  MetricType::Counter);
  MetricFamily failed = Family("ccw_programs_failed_total",
                               "Channel programs that failed, before or after the start, by reason", MetricType::Counter);
  MetricFamily read = Family("ccw_read_bytes_total", "Bytes the device sent (read CCWs), as moved back to the client",
                             MetricType::Counter);
  MetricFamily written = Family("ccw_written_bytes_total", "Bytes sent to the device (write CCWs)", MetricType::Counter);
  MetricFamily latency = Family("ccw_program_duration_seconds",
                                "Time from the start of a channel program to its final interruption",
                                MetricType::Histogram);
  MetricFamily in_flight = Family("ccw_programs_in_flight", "Channel programs started and not yet ended",
                                  MetricType::Gauge);
  MetricFamily crws = Family("ccw_crws_total", "Channel report words received, by reporting-source and error-recovery code",
                             MetricType::Counter);
  MetricFamily halts = Family("ccw_halts_total", "HALT SUBCHANNEL functions issued (by clients and on deadlines)",
                              MetricType::Counter);
  MetricFamily clears = Family("ccw_clears_total", "CLEAR SUBCHANNEL functions issued (by clients and on deadlines)",
                               MetricType::Counter);
  MetricFamily resets = Family("ccw_resets_total", "VFIO device resets requested by clients", MetricType::Counter);
  MetricFamily unsol = Family("ccw_unsolicited_interrupts_total", "Interruptions no request was waiting for",
                              MetricType::Counter);
  MetricFamily reqs = Family("ccw_device_requests_total",
                             "Device requests from the kernel (the REQ IRQ: the device must be released)",
                             MetricType::Counter);

  for (const SubchannelStatsSnapshot& s : subs) {
    const ClientMetric::Label sch{"schid", s.schid};
    Add(info,
        {sch,
         {"devno", s.devno},
         {"cu_type", TypeText(s.cu_type)},
         {"dev_type", TypeText(s.dev_type)},
         {"chpids", s.chpids},
         {"mdev_uuid", s.mdev_uuid},
         {"mode", !s.attached ? "detached" : s.handoff ? "handoff" : "agent"}},
        1);
    Add(started, {sch}, static_cast<double>(s.started));
    Add(completed, {sch}, static_cast<double>(s.completed));
    for (int r = 0; r < kFailReasons; ++r) {
      if (s.failed[r]) Add(failed, {sch, {"reason", FailReasonName(static_cast<FailReason>(r))}}, static_cast<double>(s.failed[r]));
    }
    Add(read, {sch}, static_cast<double>(s.bytes_read));
    Add(written, {sch}, static_cast<double>(s.bytes_written));
    AddHistogram(latency, {sch}, s.latency);
    Add(in_flight, {sch}, static_cast<double>(s.in_flight));
    for (const auto& [key, n] : s.crws) {
      Add(crws, {sch, {"rsc", std::to_string(key.first)}, {"erc", std::to_string(key.second)}}, static_cast<double>(n));
    }
    Add(halts, {sch}, static_cast<double>(s.halts));
    Add(clears, {sch}, static_cast<double>(s.clears));
    Add(resets, {sch}, static_cast<double>(s.resets));
    Add(unsol, {sch}, static_cast<double>(s.unsolicited));
    Add(reqs, {sch}, static_cast<double>(s.device_requests));
  }

  MetricFamily attached = Family("ccw_attached_subchannels", "Subchannels attached by the agent, by mode",
                                 MetricType::Gauge);
  Add(attached, {{"mode", "agent"}}, a.attached_agent);
  Add(attached, {{"mode", "handoff"}}, a.attached_handoff);
  MetricFamily attaches = Family("ccw_attaches_total", "Attach operations (API and reconcile), by result",
                                 MetricType::Counter);
  Add(attaches, {{"result", "ok"}}, static_cast<double>(a.attach_ok));
  Add(attaches, {{"result", "error"}}, static_cast<double>(a.attach_error));
  MetricFamily detaches = Family("ccw_detaches_total", "Detach operations (API and reconcile), by result",
                                 MetricType::Counter);
  Add(detaches, {{"result", "ok"}}, static_cast<double>(a.detach_ok));
  Add(detaches, {{"result", "error"}}, static_cast<double>(a.detach_error));
  MetricFamily attach_s = Family("ccw_attach_duration_seconds", "Time an attach took, successful or not",
                                 MetricType::Histogram);
  AddHistogram(attach_s, {}, a.attach_seconds);
  MetricFamily detach_s = Family("ccw_detach_duration_seconds", "Time a detach took, successful or not",
                                 MetricType::Histogram);
  AddHistogram(detach_s, {}, a.detach_seconds);
  MetricFamily published = Family("ccw_events_published_total", "Events published on the agent's event bus",
                                  MetricType::Counter);
  Add(published, {}, static_cast<double>(a.events_published));
  MetricFamily drops = Family("ccw_event_drops_total",
                              "Event deliveries lost because a watcher's queue was full (the watcher got an OVERFLOW event)",
                              MetricType::Counter);
  Add(drops, {}, static_cast<double>(a.event_drops));
  MetricFamily start = Family("ccw_agent_start_time_seconds", "When the agent started, seconds since the Unix epoch",
                              MetricType::Gauge);
  Add(start, {}, static_cast<double>(absl::ToUnixMicros(a.started_at)) / 1e6);
  MetricFamily build = Family("ccw_build_info", "The agent's version and compiler (value 1)", MetricType::Gauge);
  Add(build, {{"version", kAgentVersion}, {"compiler", absl::StrCat("gcc ", __VERSION__)}}, 1);

  std::vector<MetricFamily> out;
  out.reserve(24);
  for (MetricFamily* f : {&info, &started, &completed, &failed, &read, &written, &latency, &in_flight, &crws, &halts,
                          &clears, &resets, &unsol, &reqs, &attached, &attaches, &detaches, &attach_s, &detach_s,
                          &published, &drops, &start, &build}) {
    out.push_back(std::move(*f));
  }
  return out;
}

std::string RenderText(const std::vector<MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address, StatsSource source) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", address, "\" has no port (use HOST:PORT, for example 127.0.0.1:9810)"));
  }
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  try {
    // civetweb takes "HOST:PORT" for IPv4 and "[ADDR]:PORT" for IPv6.
    s->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  s->collector_ = std::make_shared<AgentCollector>(std::move(source));
  s->exposer_->RegisterCollectable(s->collector_);
  std::vector<int> ports = s->exposer_->GetListeningPorts();
  if (ports.empty()) return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": no port"));
  s->port_ = ports[0];
  return s;
}

MetricsServer::~MetricsServer() {
  if (exposer_ && collector_) exposer_->RemoveCollectable(collector_);
}

}  // namespace ccwpass::agent
