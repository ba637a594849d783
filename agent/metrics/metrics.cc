#include "agent/metrics/metrics.h"

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <thread>

#include "CivetServer.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/absl_view.h"
#include "agent/core/agent.h"
#include "agent/version.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "prometheus/summary.h"
#include "prometheus/text_serializer.h"

namespace ccwpass::agent {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// ---- The text format, written directly (the per-subchannel families).

void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

// A sample value as prometheus-cpp writes a double: "Nan", "+Inf", "-Inf", or
// printf's %.16g (the stream's precision is max_digits10 - 1); integers below
// 10^15 take a shortcut that prints the same digits.
void AppendDouble(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("Nan");
  } else if (std::isinf(v)) {
    out->append(v < 0 ? "-Inf" : "+Inf");
  } else if (v == 0) {
    out->append(std::signbit(v) ? "-0" : "0");
  } else if (std::fabs(v) < 1e15 && v == std::trunc(v)) {
    if (v < 0) out->push_back('-');
    AppendUint(out, static_cast<uint64_t>(std::fabs(v)));
  } else {
    char buf[32];
    const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general,
                                                 std::numeric_limits<double>::max_digits10 - 1);
    out->append(buf, r.ptr);
  }
}

// A label value with \ " and newline escaped (text format 0.0.4).
void AppendEscaped(std::string* out, std::string_view s) {
  for (const char c : s) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '"': out->append("\\\""); break;
      case '\n': out->append("\\n"); break;
      default: out->push_back(c);
    }
  }
}

// name="value"
void AppendLabel(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->append("=\"");
  AppendEscaped(out, value);
  out->push_back('"');
}

// "%04x/%02x" of a (CU or device) type and model; "" when unknown.
void AppendTypeText(std::string* out, const std::optional<std::pair<uint16_t, uint8_t>>& t) {
  if (!t) return;
  static constexpr char kHex[] = "0123456789abcdef";
  const char text[] = {kHex[t->first >> 12], kHex[(t->first >> 8) & 15], kHex[(t->first >> 4) & 15], kHex[t->first & 15],
                       '/', kHex[t->second >> 4], kHex[t->second & 15]};
  out->append(text, sizeof text);
}

// # HELP and # TYPE of a family. `help` has neither a backslash nor a newline.
void AppendHeader(std::string* out, std::string_view name, std::string_view type, std::string_view help) {
  absl::StrAppend(out, "# HELP ", AbslView(name), " ", AbslView(help), "\n# TYPE ", AbslView(name), " ",
                  AbslView(type), "\n");
}

// The rendered schid label of every subchannel (schid="0.0.0100"), made once
// per scrape for the 14 families that start with it.
class SchidLabels {
 public:
  explicit SchidLabels(const std::vector<SubchannelStatsSnapshot>& subs) {
    ends_.reserve(subs.size());
    for (const SubchannelStatsSnapshot& s : subs) {
      AppendLabel(&text_, "schid", s.schid);
      ends_.push_back(text_.size());
    }
  }
  std::string_view operator[](size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(text_).substr(begin, ends_[i] - begin);
  }

 private:
  std::string text_;
  std::vector<size_t> ends_;
};

// name{labels} value\n, `labels` already rendered.
void AppendSample(std::string* out, std::string_view name, std::string_view labels, double value) {
  out->append(name);
  out->push_back('{');
  out->append(labels);
  out->append("} ");
  AppendDouble(out, value);
  out->push_back('\n');
}

// A counter family with one sample per subchannel.
struct CounterFamily {
  std::string_view name, help;
  uint64_t SubchannelStatsSnapshot::*value;
};

void AppendCounters(std::string* out, const std::vector<SubchannelStatsSnapshot>& subs, const SchidLabels& sch,
                    std::initializer_list<CounterFamily> families) {
  for (const CounterFamily& f : families) {
    AppendHeader(out, f.name, "counter", f.help);
    for (size_t i = 0; i < subs.size(); ++i) AppendSample(out, f.name, sch[i], static_cast<double>(subs[i].*f.value));
  }
}

void AppendLatency(std::string* out, const std::vector<SubchannelStatsSnapshot>& subs, const SchidLabels& sch) {
  static constexpr std::string_view kName = "ccw_program_duration_seconds";
  AppendHeader(out, kName, "histogram", "Time from the start of a channel program to its final interruption");
  // The le label of each bucket, as prometheus-cpp writes the bound.
  std::array<std::string, kLatencyBuckets.size() + 1> le;
  for (size_t b = 0; b < kLatencyBuckets.size(); ++b) {
    le[b] = ",le=\"";
    AppendDouble(&le[b], kLatencyBuckets[b]);
    le[b] += "\"} ";
  }
  le.back() = ",le=\"+Inf\"} ";
  for (size_t i = 0; i < subs.size(); ++i) {
    const LatencyHistogram::Snapshot& h = subs[i].latency;
    out->append(kName).append("_count{").append(sch[i]).append("} ");
    AppendUint(out, h.count);
    out->append("\n").append(kName).append("_sum{").append(sch[i]).append("} ");
    AppendDouble(out, h.sum_seconds);
    out->push_back('\n');
    uint64_t cumulative = 0;
    for (size_t b = 0; b < le.size(); ++b) {
      cumulative += h.buckets[b];
      out->append(kName).append("_bucket{").append(sch[i]).append(le[b]);
      AppendUint(out, cumulative);
      out->push_back('\n');
    }
  }
}

// ---- The agent-wide families, through prometheus-cpp.

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void Add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric& m = f.metric.emplace_back();
  m.label = std::move(labels);
  switch (f.type) {
    case MetricType::Counter: m.counter.value = value; break;
    case MetricType::Gauge: m.gauge.value = value; break;
    default: m.untyped.value = value; break;
  }
}

void AddHistogram(MetricFamily& f, const LatencyHistogram::Snapshot& h) {
  ClientMetric& m = f.metric.emplace_back();
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

}  // namespace

StatsSource StatsSourceOf(Agent& agent) {
  return StatsSource{[&agent] { return agent.AllStats(); }, [&agent] { return agent.AgentWideStats(); }};
}

void AppendSubchannelText(const std::vector<SubchannelStatsSnapshot>& subs, std::string* out) {
  using S = SubchannelStatsSnapshot;
  const SchidLabels sch(subs);

  AppendHeader(out, "ccw_subchannel_info", "gauge", "A subchannel the agent has attached: its identity as labels (value 1)");
  for (size_t i = 0; i < subs.size(); ++i) {
    const S& s = subs[i];
    out->append("ccw_subchannel_info{");
    out->append(sch[i]);
    out->push_back(',');
    AppendLabel(out, "devno", s.devno);
    out->append(",cu_type=\"");
    AppendTypeText(out, s.cu_type);
    out->append("\",dev_type=\"");
    AppendTypeText(out, s.dev_type);
    out->append("\",");
    AppendLabel(out, "chpids", s.chpids);
    out->push_back(',');
    AppendLabel(out, "mdev_uuid", s.mdev_uuid);
    out->append(!s.attached ? ",mode=\"detached\"} 1\n" : s.handoff ? ",mode=\"handoff\"} 1\n" : ",mode=\"agent\"} 1\n");
  }
  AppendCounters(out, subs, sch,
                 {{"ccw_programs_started_total",
                   "Channel programs accepted by the vfio-ccw I/O region (start subchannel cc 0)", &S::started},
                  {"ccw_programs_completed_total",
                   "Channel programs ended by channel end and device end without an error status", &S::completed}});

  static constexpr std::string_view kFailed = "ccw_programs_failed_total";
  AppendHeader(out, kFailed, "counter", "Channel programs that failed, before or after the start, by reason");
  for (size_t i = 0; i < subs.size(); ++i) {
    for (int r = 0; r < kFailReasons; ++r) {
      if (subs[i].failed[r] == 0) continue;  // reasons that never happened are not exported
      absl::StrAppend(out, AbslView(kFailed), "{", AbslView(sch[i]), ",reason=\"",
                      FailReasonName(static_cast<FailReason>(r)), "\"} ");
      AppendDouble(out, static_cast<double>(subs[i].failed[r]));
      out->push_back('\n');
    }
  }

  AppendCounters(out, subs, sch,
                 {{"ccw_read_bytes_total", "Bytes the device sent (read CCWs), as moved back to the client",
                   &S::bytes_read},
                  {"ccw_written_bytes_total", "Bytes sent to the device (write CCWs)", &S::bytes_written}});
  AppendLatency(out, subs, sch);
  AppendHeader(out, "ccw_programs_in_flight", "gauge", "Channel programs started and not yet ended");
  for (size_t i = 0; i < subs.size(); ++i) {
    AppendSample(out, "ccw_programs_in_flight", sch[i], static_cast<double>(subs[i].in_flight));
  }

  static constexpr std::string_view kCrws = "ccw_crws_total";
  AppendHeader(out, kCrws, "counter", "Channel report words received, by reporting-source and error-recovery code");
  for (size_t i = 0; i < subs.size(); ++i) {
    for (const auto& [key, n] : subs[i].crws) {
      absl::StrAppend(out, AbslView(kCrws), "{", AbslView(sch[i]), ",rsc=\"", key.first, "\",erc=\"", key.second,
                      "\"} ");
      AppendDouble(out, static_cast<double>(n));
      out->push_back('\n');
    }
  }

  AppendCounters(
      out, subs, sch,
      {{"ccw_halts_total", "HALT SUBCHANNEL functions issued (by clients and on deadlines)", &S::halts},
       {"ccw_clears_total", "CLEAR SUBCHANNEL functions issued (by clients and on deadlines)", &S::clears},
       {"ccw_resets_total", "VFIO device resets requested by clients", &S::resets},
       {"ccw_unsolicited_interrupts_total", "Interruptions no request was waiting for", &S::unsolicited},
       {"ccw_device_requests_total", "Device requests from the kernel (the REQ IRQ: the device must be released)",
        &S::device_requests}});
}

std::vector<MetricFamily> AgentFamilies(const AgentStatsSnapshot& a) {
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
  AddHistogram(attach_s, a.attach_seconds);
  MetricFamily detach_s = Family("ccw_detach_duration_seconds", "Time a detach took, successful or not",
                                 MetricType::Histogram);
  AddHistogram(detach_s, a.detach_seconds);
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
  out.reserve(9);
  for (MetricFamily* f : {&attached, &attaches, &detaches, &attach_s, &detach_s, &published, &drops, &start, &build}) {
    out.push_back(std::move(*f));
  }
  return out;
}

void RenderText(const StatsSource& source, std::string* out) {
  AppendSubchannelText(source.subchannels(), out);
  *out += prometheus::TextSerializer().Serialize(AgentFamilies(source.agent()));
}

int GzipThreads() { return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u)); }

bool AcceptsGzip(std::string_view accept_encoding) {
  for (absl::string_view coding : absl::StrSplit(AbslView(accept_encoding), ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(coding, ';');
    const absl::string_view name = absl::StripAsciiWhitespace(parts[0]);
    if (!absl::EqualsIgnoreCase(name, "gzip") && name != "*") continue;
    bool zero = false;
    for (size_t i = 1; i < parts.size(); ++i) {
      const absl::string_view p = absl::StripAsciiWhitespace(parts[i]);
      double q = 1;
      if (absl::StartsWithIgnoreCase(p, "q=") && absl::SimpleAtod(p.substr(2), &q) && q == 0) zero = true;
    }
    if (!zero) return true;
  }
  return false;
}

namespace {

// One piece of a gzip member's deflate stream: `text` compressed by a fresh
// raw deflate stream that ends byte-aligned (Z_SYNC_FLUSH), or with the final
// block when `last`, so that pieces concatenate into one stream; and the
// CRC-32 of `text`. Errors: kInternal with zlib's message.
struct DeflatedPiece {
  absl::Status status;
  std::string bytes;
  uLong crc = 0;
};

DeflatedPiece DeflatePiece(std::string_view text, int level, bool last) {
  DeflatedPiece p;
  p.crc = crc32_z(crc32_z(0, nullptr, 0), reinterpret_cast<const Bytef*>(text.data()), text.size());
  z_stream zs{};
  // windowBits -15: raw deflate; the gzip header and trailer are written around the pieces.
  if (const int rc = deflateInit2(&zs, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY); rc != Z_OK) {
    p.status = absl::InternalError(absl::StrCat("deflateInit2: ", zs.msg ? zs.msg : zError(rc)));
    return p;
  }
  // deflateBound leaves room for the final block but not for a sync flush's 5 bytes.
  p.bytes.resize(deflateBound(&zs, static_cast<uLong>(text.size())) + 16);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(p.bytes.data());
  zs.avail_out = static_cast<uInt>(p.bytes.size());
  const int rc = deflate(&zs, last ? Z_FINISH : Z_SYNC_FLUSH);
  const bool done = last ? rc == Z_STREAM_END : rc == Z_OK && zs.avail_in == 0 && zs.avail_out > 0;
  p.bytes.resize(zs.total_out);
  if (!done) p.status = absl::InternalError(absl::StrCat("deflate: ", zs.msg ? zs.msg : zError(rc)));
  deflateEnd(&zs);
  return p;
}

void AppendLittleEndian32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

absl::StatusOr<std::string> Gzip(std::string_view text, int level, int threads) {
  if (level < 1 || level > 9) return absl::InvalidArgumentError(absl::StrCat("gzip level ", level, " is not in 1..9"));
  if (threads < 1) return absl::InvalidArgumentError(absl::StrCat("gzip threads ", threads, " is not at least 1"));
  // Pieces of at least 256 KiB (the 32 KiB window restarts at each) and below
  // 1 GiB (zlib's counts are 32 bits).
  constexpr size_t kMinPiece = 256 * 1024, kMaxPiece = size_t{1} << 30;
  size_t pieces = std::max<size_t>(1, std::min<size_t>(threads, text.size() / kMinPiece));
  pieces = std::max(pieces, (text.size() + kMaxPiece - 1) / kMaxPiece);
  const size_t each = (text.size() + pieces - 1) / std::max<size_t>(pieces, 1);
  std::vector<DeflatedPiece> out(pieces);
  auto run = [&](size_t i) {
    const size_t from = std::min(text.size(), i * each);
    out[i] = DeflatePiece(text.substr(from, std::min(each, text.size() - from)), level, i + 1 == pieces);
  };
  std::vector<std::thread> workers;
  for (size_t i = 1; i < pieces; ++i) workers.emplace_back(run, i);
  run(0);
  for (std::thread& t : workers) t.join();

  // RFC 1952: magic, CM 8 (deflate), no flags, no time, XFL, OS 3 (Unix);
  // the pieces; CRC-32 and ISIZE (the length mod 2^32), little-endian.
  std::string gz("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
  if (level == 1) gz[8] = 4;  // XFL: fastest algorithm
  if (level == 9) gz[8] = 2;  // XFL: maximum compression
  size_t total = gz.size() + 8;
  for (const DeflatedPiece& p : out) total += p.bytes.size();
  gz.reserve(total);
  uLong crc = crc32_z(0, nullptr, 0);
  for (size_t i = 0; i < pieces; ++i) {
    if (!out[i].status.ok()) return out[i].status;
    gz += out[i].bytes;
    const size_t from = std::min(text.size(), i * each);
    crc = crc32_combine(crc, out[i].crc, static_cast<z_off_t>(std::min(each, text.size() - from)));
  }
  AppendLittleEndian32(&gz, static_cast<uint32_t>(crc));
  AppendLittleEndian32(&gz, static_cast<uint32_t>(text.size() & 0xffffffffu));
  return gz;
}

// GET /metrics. Counts what prometheus-cpp's Exposer counted, with the same
// names, help and quantiles.
class MetricsServer::Handler : public CivetHandler {
 public:
  explicit Handler(StatsSource source)
      : source_(std::move(source)),
        registry_(std::make_shared<prometheus::Registry>()),
        bytes_(prometheus::BuildCounter()
                   .Name("exposer_transferred_bytes_total")
                   .Help("Transferred bytes to metrics services")
                   .Register(*registry_)
                   .Add({})),
        scrapes_(prometheus::BuildCounter()
                     .Name("exposer_scrapes_total")
                     .Help("Number of times metrics were scraped")
                     .Register(*registry_)
                     .Add({})),
        latencies_(prometheus::BuildSummary()
                       .Name("exposer_request_latencies")
                       .Help("Latencies of serving scrape requests, in microseconds")
                       .Register(*registry_)
                       .Add({}, prometheus::Summary::Quantiles{{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}})) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    const auto t0 = std::chrono::steady_clock::now();
    std::string body = prometheus::TextSerializer().Serialize(registry_->Collect());
    body.reserve(last_size_.load(std::memory_order_relaxed));
    RenderText(source_, &body);
    last_size_.store(body.size() + body.size() / 8, std::memory_order_relaxed);

    const char* accept = mg_get_header(conn, "Accept-Encoding");
    bool gzip = false;
    if (accept != nullptr && AcceptsGzip(accept)) {
      absl::StatusOr<std::string> z = Gzip(body, kGzipLevel, GzipThreads());
      if (z.ok()) {  // else (zlib out of memory) the plain text, which the client accepts too
        body = std::move(*z);
        gzip = true;
      }
    }
    mg_printf(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n%sContent-Length: %zu\r\n\r\n",
              gzip ? "Content-Encoding: gzip\r\n" : "", body.size());
    mg_write(conn, body.data(), body.size());

    latencies_.Observe(static_cast<double>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count()));
    bytes_.Increment(static_cast<double>(body.size()));
    scrapes_.Increment();
    return true;
  }

 private:
  const StatsSource source_;
  const std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter& bytes_;
  prometheus::Counter& scrapes_;
  prometheus::Summary& latencies_;
  std::atomic<size_t> last_size_{0};  // the previous body's size, and an eighth to grow
};

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address, StatsSource source) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", address, "\" has no port (use HOST:PORT, for example 127.0.0.1:9810)"));
  }
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->handler_ = std::make_unique<Handler>(std::move(source));
  try {
    // civetweb takes "HOST:PORT" for IPv4 and "[ADDR]:PORT" for IPv6.
    s->server_ = std::make_unique<CivetServer>(std::vector<std::string>{"listening_ports", address, "num_threads", "2"});
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  s->server_->addHandler("/metrics", s->handler_.get());
  std::vector<int> ports = s->server_->getListeningPorts();
  if (ports.empty()) return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": no port"));
  s->port_ = ports[0];
  return s;
}

MetricsServer::~MetricsServer() {
  // Stop serving (joins civetweb's threads) before the handler goes.
  if (server_) server_->close();
}

}  // namespace ccwpass::agent
