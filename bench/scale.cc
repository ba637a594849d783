// Scale on simulated hosts of 1 k, 8 k and 64 k subchannels: building the
// host, discovery (Agent::List in-process and ListSubchannels over the
// socket), resident memory per subchannel, attaching 1,000 subchannels (state
// on disk, as in production), and a burst of CRW events (one per attached
// device) fanned out to 100 watchers over gRPC.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

#include "absl/strings/str_format.h"
#include "bench/bed.h"
#include "agent/metrics/metrics.h"
#include "bench/bench.h"

namespace ccwpass::bench {

namespace {

// Peak resident set size since the last ResetPeak (VmHWM), bytes.
uint64_t PeakBytes() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}
void ResetPeak() { std::ofstream("/proc/self/clear_refs") << "5"; }

// Counts the events of one Watch stream until `expected` (OVERFLOW counts its losses).
class Watcher final : public grpc::ClientReadReactor<ccw::v1::Event> {
 public:
  Watcher(ccw::v1::Events::Stub& stub, uint64_t expected) : expected_(expected) {
    req_.add_kinds(ccw::v1::Event::CRW);
    stub.async()->Watch(&ctx_, &req_, this);
    StartRead(&e_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    absl::MutexLock l(&mu_);
    if (e_.kind() == ccw::v1::Event::OVERFLOW) {
      dropped_ += e_.dropped();
    } else {
      ++seen_;
    }
    if (seen_ + dropped_ >= expected_ && !reached_) {
      reached_ = true;
      at_ = absl::Now();
    }
    StartRead(&e_);
  }
  void OnDone(const grpc::Status&) override {
    absl::MutexLock l(&mu_);
    done_ = true;
  }
  // When all expected events arrived; false if not by `deadline`.
  bool WaitReached(absl::Time deadline, absl::Time* at, uint64_t* dropped) {
    absl::MutexLock l(&mu_);
    auto reached = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return reached_ || done_; };
    mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
    *at = at_;
    *dropped = dropped_;
    return reached_;
  }
  void Cancel() {
    ctx_.TryCancel();
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

 private:
  const uint64_t expected_;
  grpc::ClientContext ctx_;
  ccw::v1::WatchRequest req_;
  ccw::v1::Event e_;
  absl::Mutex mu_;
  uint64_t seen_ ABSL_GUARDED_BY(mu_) = 0, dropped_ ABSL_GUARDED_BY(mu_) = 0;
  bool reached_ ABSL_GUARDED_BY(mu_) = false, done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time at_ ABSL_GUARDED_BY(mu_);
};

std::string PerSub(uint64_t bytes, int n) { return absl::StrFormat("%.0f B/subchannel", static_cast<double>(bytes) / n); }
double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

}  // namespace

absl::Status HttpGet(int port, const std::string& path, bool gzip, size_t* bytes, size_t* samples) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("connect 127.0.0.1:", port, ": ", std::strerror(errno)));
  }
  const std::string req = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n",
                                       gzip ? "Accept-Encoding: gzip\r\n" : "", "\r\n");
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return absl::UnavailableError("write");
  }
  std::string answer;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) answer.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t body = answer.find("\r\n\r\n");
  if (answer.rfind("HTTP/1.", 0) != 0 || answer.find(" 200 ") > 12 || body == std::string::npos) {
    return absl::InternalError(absl::StrCat("unexpected answer: ", answer.substr(0, 80)));
  }
  *bytes = answer.size() - body - 4;
  *samples = 0;
  if (answer.substr(0, body).find("Content-Encoding: gzip") != std::string::npos) return absl::OkStatus();
  for (size_t at = body + 4; at < answer.size();) {
    const size_t nl = answer.find('\n', at);
    if (answer[at] != '#' && answer[at] != '\n') ++*samples;
    at = nl == std::string::npos ? answer.size() : nl + 1;
  }
  return absl::OkStatus();
}

void RunScale(const Options& o, Report& report) {
  if (!o.child && !o.self.empty()) {
    // Each size in a fresh process: resident memory then belongs to that host alone.
    for (int n : o.scale_sizes) {
      const std::string cmd =
          absl::StrFormat("'%s' --child --sections scale --scale-sizes %d --attaches %d --watchers %d --scrape-attached %d",
                          o.self, n, o.attaches, o.watchers, o.scrape_attached);
      FILE* p = popen(cmd.c_str(), "r");
      if (!p) {
        report.Note("scale: cannot run " + cmd);
        continue;
      }
      char buf[4096];
      while (fgets(buf, sizeof buf, p)) {
        std::string line(buf);
        if (!line.empty() && line.back() == '\n') line.pop_back();
        report.AddTsvLine(line);
      }
      if (const int rc = pclose(p); rc != 0) report.Note(absl::StrFormat("scale %d: the child exited with %d", n, rc));
    }
    return;
  }
  for (int n : o.scale_sizes) {
    const std::string size = n % 1024 == 0 ? absl::StrFormat("%d k", n / 1024) : absl::StrFormat("%d", n);
    const uint64_t rss0 = ResidentBytes();
    absl::Time t0 = absl::Now();
    auto k = sim::SimKernel::Create(ConsoleHost(n));
    if (!k.ok()) {
      report.Note("scale: " + k.status().ToString());
      return;
    }
    const absl::Duration t_kernel = absl::Now() - t0;
    const uint64_t rss1 = ResidentBytes();
    report.Add(Row{"scale", absl::StrFormat("%s: build the simulated host", size), -1, -1, -1, -1,
                   absl::StrFormat("%.0f ms; sim memory %s", Ms(t_kernel), PerSub(rss1 - rss0, n))});
    t0 = absl::Now();
    auto bed = AgentBed::Create(std::move(*k), o.tmp_dir, "scale", /*state_on_disk=*/true);
    if (!bed.ok()) {
      report.Note("scale: " + bed.status().ToString());
      return;
    }
    const absl::Duration t_start = absl::Now() - t0;
    const uint64_t rss2 = ResidentBytes();
    report.Add(Row{"scale", absl::StrFormat("%s: agent start (reconcile reads every subchannel)", size), -1,
                   -1, -1, -1,
                   absl::StrFormat("%.0f ms; agent at rest %s", Ms(t_start), PerSub(rss2 - rss1, n))});

    // Discovery in-process, twice (the second shows what a warm host costs).
    for (int pass = 0; pass < 2; ++pass) {
      ResetPeak();
      const uint64_t before = ResidentBytes();
      t0 = absl::Now();
      auto list = (*bed)->agent->List();
      const absl::Duration t_list = absl::Now() - t0;
      const uint64_t peak = PeakBytes();
      const size_t got = list.ok() ? list->size() : 0;
      report.Add(Row{"scale", absl::StrFormat("%s: Agent::List in-process%s", size, pass ? " (again)" : ""), -1,
                     -1, -1, -1,
                     absl::StrFormat("%.0f ms for %d (target 64 k ≤ 2 s); peak +%s", Ms(t_list), got,
                                     PerSub(peak > before ? peak - before : 0, n))});
    }
    // Discovery over the socket.
    {
      auto stub = ccw::v1::Subchannels::NewStub((*bed)->Channel());
      ResetPeak();
      const uint64_t before = ResidentBytes();
      grpc::ClientContext ctx;
      ccw::v1::ListSubchannelsResponse resp;
      t0 = absl::Now();
      grpc::Status st = stub->ListSubchannels(&ctx, ccw::v1::ListSubchannelsRequest(), &resp);
      const absl::Duration t_rpc = absl::Now() - t0;
      const uint64_t peak = PeakBytes();
      report.Add(Row{"scale", absl::StrFormat("%s: ListSubchannels over the socket", size), -1, -1, -1,
                     -1,
                     st.ok() ? absl::StrFormat("%.0f ms, %d subchannels, %.1f MB (%.0f B each); peak +%s (client and "
                                               "server in one process); ≤ 2 KiB/subchannel: %s",
                                               Ms(t_rpc), resp.subchannels_size(), resp.ByteSizeLong() / 1e6,
                                               static_cast<double>(resp.ByteSizeLong()) / n,
                                               PerSub(peak > before ? peak - before : 0, n),
                                               (peak > before ? peak - before : 0) <= 2048ull * n ? "met" : "MISSED")
                             : "FAILED: " + st.error_message()});
    }

    // Attach (agent mode: bind, mdev, VFIO open, arena, SENSE ID) with the
    // state on disk, as in production: 100 one after another (each waits for
    // its own fsyncs), then up to `attaches` from 16 threads (group commit).
    int attached = 0;
    auto attach = [&](int from, int to, int threads, const std::string& how) {
      const uint64_t rss_a = ResidentBytes();
      std::atomic<int> next{from}, failed{0};
      std::string first;
      absl::Mutex first_mu;
      t0 = absl::Now();
      std::vector<std::thread> ts;
      for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&] {
          for (int i = next++; i < to; i = next++) {
            auto a = (*bed)->agent->Attach(Schid(i), false, "", "bench");
            if (!a.ok() && failed++ == 0) {
              absl::MutexLock l(&first_mu);
              first = a.status().ToString();
            }
          }
        });
      }
      for (std::thread& t : ts) t.join();
      const absl::Duration took = absl::Now() - t0;
      const int count = to - from;
      attached += count - failed;
      const uint64_t rss_b = ResidentBytes();
      report.Add(Row{"scale", absl::StrFormat("%s: attach %d subchannels, %s", size, count, how),
                     count / absl::ToDoubleSeconds(took), -1, -1, -1,
                     absl::StrFormat("%.2f ms each, %.0f ms in all (1,000 ≤ 2 s: %s); +%.0f KiB resident per attach%s",
                                     Ms(took) / count, Ms(took), Ms(took) / count * 1000 <= 2000 ? "met" : "MISSED",
                                     static_cast<double>(rss_b - rss_a) / 1024 / count,
                                     failed ? absl::StrFormat("; %d FAILED: %s", failed.load(), first) : "")});
    };
    const int sequential = std::min(n, 100);
    attach(0, sequential, 1, "one after another");
    attach(sequential, std::min(n, sequential + o.attaches), 16, "16 at a time");
    const int attaches = attached;

    // A metrics scrape with 10,000 attached: the rest in hand-off mode (no
    // VFIO device, no arena), then GET /metrics over HTTP.
    if (n >= o.scrape_attached + sequential) {
      const int agent_mode = attached;
      std::atomic<int> next{sequential + o.attaches}, failed{0};
      const int to = sequential + o.attaches + (o.scrape_attached - agent_mode);
      t0 = absl::Now();
      std::vector<std::thread> ts;
      for (int t = 0; t < 16; ++t) {
        ts.emplace_back([&] {
          for (int i = next++; i < to; i = next++) {
            if (!(*bed)->agent->Attach(Schid(i), true, "", "bench").ok()) ++failed;
          }
        });
      }
      for (std::thread& t : ts) t.join();
      const absl::Duration took = absl::Now() - t0;
      report.Add(Row{"scale", absl::StrFormat("%s: attach %d more in hand-off mode, 16 at a time", size,
                                              to - (sequential + o.attaches)),
                     (to - (sequential + o.attaches)) / absl::ToDoubleSeconds(took), -1, -1, -1,
                     absl::StrFormat("%.0f ms%s", Ms(took), failed ? absl::StrFormat("; %d FAILED", failed.load()) : "")});
      auto metrics = agent::MetricsServer::Start("127.0.0.1:0", agent::StatsSourceOf(*(*bed)->agent));
      if (!metrics.ok()) {
        report.Note("metrics: " + metrics.status().ToString());
      } else {
        // Plain twice, then as a Prometheus server asks (Accept-Encoding: gzip).
        for (int pass = 0; pass < 3; ++pass) {
          size_t bytes = 0, samples = 0;
          t0 = absl::Now();
          const absl::Status st = HttpGet((*metrics)->port(), "/metrics", pass == 2, &bytes, &samples);
          const absl::Duration took = absl::Now() - t0;
          report.Add(Row{"scale", absl::StrFormat("%s: scrape /metrics with %d attached%s", size,
                                                  agent_mode + (to - (sequential + o.attaches)) - failed,
                                                  pass == 1 ? " (again)" : pass == 2 ? ", gzip" : ""),
                         -1, -1, -1, -1,
                         st.ok() ? absl::StrFormat("%.0f ms, %.1f MB, %d samples (target ≤ 250 ms: %s)", Ms(took),
                                                   bytes / 1e6, samples, Ms(took) <= 250 ? "met" : "MISSED")
                                 : "FAILED: " + st.ToString()});
        }
        // The parts in-process: the snapshot, then the render. Meanwhile another
        // thread calls Agent::Stats (it takes the agent's lock) over and over:
        // its longest call is how long the snapshot held the others up.
        std::atomic<bool> snapped{false};
        absl::Duration longest;
        int probes = 0;
        std::thread prober([&] {
          while (!snapped.load()) {
            const absl::Time p0 = absl::Now();
            (void)(*bed)->agent->Stats(Schid(0));
            longest = std::max(longest, absl::Now() - p0);
            ++probes;
          }
        });
        absl::SleepFor(absl::Milliseconds(5));
        t0 = absl::Now();
        const size_t subs = (*bed)->agent->AllStats().size();
        const absl::Duration t_snap = absl::Now() - t0;
        snapped = true;
        prober.join();
        t0 = absl::Now();
        std::string text;
        agent::RenderText(agent::StatsSourceOf(*(*bed)->agent), &text);
        const absl::Duration t_all = absl::Now() - t0;
        report.Add(Row{"scale", absl::StrFormat("%s: /metrics in-process, %d subchannels", size, subs), -1, -1, -1, -1,
                       absl::StrFormat("Agent::AllStats %.1f ms (Agent::Stats meanwhile: longest %.2f ms of %d); "
                                       "snapshot + render %.0f ms, %.1f MB",
                                       Ms(t_snap), Ms(longest), probes, Ms(t_all), text.size() / 1e6)});
      }
    }

    // An event burst: a CRW from every attached device, to `watchers` gRPC watchers.
    {
      auto stub = ccw::v1::Events::NewStub((*bed)->Channel());
      std::vector<std::unique_ptr<Watcher>> ws;
      for (int i = 0; i < o.watchers; ++i) ws.push_back(std::make_unique<Watcher>(*stub, attaches));
      absl::SleepFor(absl::Milliseconds(300));  // the watches are registered
      t0 = absl::Now();
      (void)(*bed)->kernel->ConfigurePath(0x10, false);
      absl::Time last = t0;
      uint64_t dropped = 0;
      int late = 0;
      for (auto& w : ws) {
        absl::Time at;
        uint64_t d = 0;
        if (!w->WaitReached(t0 + absl::Seconds(60), &at, &d)) ++late;
        last = std::max(last, at);
        dropped += d;
      }
      const absl::Duration t_burst = last - t0;
      const double events = static_cast<double>(attaches) * o.watchers;
      report.Add(Row{"scale", absl::StrFormat("%s: %d CRW events to %d watchers", size, attaches, o.watchers),
                     events / absl::ToDoubleSeconds(t_burst), -1, -1, -1,
                     absl::StrFormat("%.0f ms until the last watcher had all; %d lost (OVERFLOW)%s", Ms(t_burst),
                                     dropped, late ? absl::StrFormat("; %d watchers INCOMPLETE after 60 s", late) : "")});
      for (auto& w : ws) w->Cancel();
      (void)(*bed)->kernel->ConfigurePath(0x10, true);
    }
    t0 = absl::Now();
    bed->reset();
    report.Note(absl::StrFormat("%s: tearing the host down (closing %d devices) took %.0f ms", size, attaches,
                                Ms(absl::Now() - t0)));
  }
}

}  // namespace ccwpass::bench
