#include "ctl/load.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace ccwpass::ctl {

LatencySummary Latencies::Summary() {
  LatencySummary s;
  if (ns_.empty()) return s;
  std::sort(ns_.begin(), ns_.end());
  auto at = [&](double q) {
    size_t rank = static_cast<size_t>(q * static_cast<double>(ns_.size()) + 0.999999);
    rank = std::clamp<size_t>(rank, 1, ns_.size());
    return static_cast<double>(ns_[rank - 1]) / 1000.0;
  };
  s.p50_us = at(0.50);
  s.p90_us = at(0.90);
  s.p99_us = at(0.99);
  s.p999_us = at(0.999);
  s.max_us = static_cast<double>(ns_.back()) / 1000.0;
  double sum = 0;
  for (int64_t v : ns_) sum += static_cast<double>(v);
  s.mean_us = sum / static_cast<double>(ns_.size()) / 1000.0;
  return s;
}

namespace {

// What each caller or slot counts; merged at the end.
struct Tally {
  Latencies lat;
  uint64_t ops = 0, failed = 0;
  std::string first_error;
  void Count(int64_t ns, const grpc::Status& st) {
    ++ops;
    lat.Add(ns);
    if (!st.ok()) {
      ++failed;
      if (first_error.empty()) first_error = st.error_message();
    }
  }
};

LoadResult Merge(std::vector<Tally>& tallies, absl::Duration elapsed) {
  LoadResult r;
  Latencies all;
  for (Tally& t : tallies) {
    r.ops += t.ops;
    r.failed += t.failed;
    if (r.first_error.empty()) r.first_error = t.first_error;
    all.Merge(t.lat);
  }
  r.elapsed = elapsed;
  r.ops_per_sec = static_cast<double>(r.ops) / absl::ToDoubleSeconds(elapsed);
  r.latency = all.Summary();
  return r;
}

// 0 warming up, 1 measuring, 2 stopping.
struct Phase {
  std::atomic<int> phase{0};
  absl::Time t0, t1;
  absl::Duration Run(const LoadTiming& t) {
    absl::SleepFor(t.warmup);
    t0 = absl::Now();
    phase = 1;
    absl::SleepFor(t.duration);
    phase = 2;
    t1 = absl::Now();
    return t1 - t0;
  }
};

}  // namespace

LoadResult RunClosedLoop(int clients, const LoadTiming& t, const std::function<grpc::Status(int client)>& call) {
  Phase phase;
  std::vector<Tally> tallies(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      while (phase.phase != 2) {
        const absl::Time a = absl::Now();
        grpc::Status st = call(i);
        const absl::Time b = absl::Now();
        if (phase.phase == 1 && b <= phase.t0 + t.duration) {
          tallies[i].Count(absl::ToInt64Nanoseconds(b - a), st);
        }
      }
    });
  }
  const absl::Duration elapsed = phase.Run(t);
  for (std::thread& th : threads) th.join();
  return Merge(tallies, elapsed);
}

LoadResult RunCallbackLoop(int inflight, const LoadTiming& t, const IssueFn& issue) {
  Phase phase;
  std::vector<Tally> tallies(inflight);
  absl::Mutex mu;
  int running = inflight;
  std::function<void(int)> next = [&](int slot) {
    const absl::Time a = absl::Now();
    issue(slot, [&, slot, a](const grpc::Status& st) {
      const absl::Time b = absl::Now();
      if (phase.phase == 1 && b <= phase.t0 + t.duration) {
        tallies[slot].Count(absl::ToInt64Nanoseconds(b - a), st);
      }
      if (phase.phase == 2) {
        absl::MutexLock l(&mu);
        --running;
        return;
      }
      next(slot);
    });
  };
  for (int i = 0; i < inflight; ++i) next(i);
  const absl::Duration elapsed = phase.Run(t);
  absl::MutexLock l(&mu);
  auto idle = [&running] { return running == 0; };
  mu.Await(absl::Condition(&idle));
  return Merge(tallies, elapsed);
}

// ---------------------------------------------------------------------------
// ccw-agent programs.

absl::StatusOr<BenchProgram> ParseBenchProgram(std::string_view name) {
  if (name == "sense-id") return BenchProgram::kSenseId;
  if (name == "noop") return BenchProgram::kNoop;
  if (name == "read-4k") return BenchProgram::kRead4k;
  return absl::InvalidArgumentError(
      absl::StrCat("--program: \"", std::string(name), "\" is not one of sense-id, noop, read-4k"));
}

std::string_view BenchProgramName(BenchProgram p) {
  switch (p) {
    case BenchProgram::kSenseId: return "sense-id";
    case BenchProgram::kNoop: return "noop";
    case BenchProgram::kRead4k: return "read-4k";
  }
  return "?";
}

ccw::v1::StartProgramRequest BenchRequest(BenchProgram p, const std::string& schid) {
  ccw::v1::StartProgramRequest req;
  req.set_schid(schid);
  auto* sp = req.mutable_structural();
  auto add = [&](uint32_t cmd, uint32_t flags, std::optional<uint32_t> count, std::string data) {
    auto* c = sp->add_ccws();
    c->set_cmd(cmd);
    c->set_flags(flags);
    if (count) c->set_count(*count);
    c->set_data(std::move(data));
  };
  switch (p) {
    case BenchProgram::kSenseId:
      add(0xe4, 0x20, 256, "");
      break;
    case BenchProgram::kNoop:
      add(0x03, 0x20, std::nullopt, "");
      break;
    case BenchProgram::kRead4k:
      // DEFINE EXTENT: mask 0x40, global 0xc0, extent cylinder 0 head 8 .. cylinder 0 head 8.
      add(0x63, 0x40, std::nullopt, std::string("\x40\xc0\0\0\0\0\0\0\0\0\0\x08\0\0\0\x08", 16));
      // LOCATE RECORD: read data (0x06), aux 0x80, 1 record, seek 0/8, search 0/8/5, sector 77, 4096 bytes.
      add(0x47, 0x40, std::nullopt, std::string("\x06\x80\0\x01\0\0\0\x08\0\0\0\x08\x05\x4d\x10\0", 16));
      add(0x86, 0x00, 4096, "");
      break;
  }
  return req;
}

namespace {

grpc::Status ProgramStatus(const ccw::v1::StartProgramResponse& r) {
  if (r.summary().rfind("ok: ", 0) == 0) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::UNKNOWN, r.summary());
}

absl::Status CheckOptions(const IoLoadOptions& o) {
  if (o.schids.empty()) return absl::InvalidArgumentError("no subchannels to drive");
  if (o.clients < 1) return absl::InvalidArgumentError("--clients must be at least 1");
  if (o.window < 1) return absl::InvalidArgumentError("--window must be at least 1");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LoadResult> RunUnaryIo(ccw::v1::Io::Stub& stub, const IoLoadOptions& o) {
  if (absl::Status st = CheckOptions(o); !st.ok()) return st;
  std::vector<ccw::v1::StartProgramRequest> reqs;
  for (const std::string& s : o.schids) reqs.push_back(BenchRequest(o.program, s));
  return RunClosedLoop(o.clients, o.timing, [&](int client) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + o.timeout));
    ccw::v1::StartProgramResponse resp;
    grpc::Status st = stub.StartProgram(&ctx, reqs[client % reqs.size()], &resp);
    return st.ok() ? ProgramStatus(resp) : st;
  });
}

absl::StatusOr<LoadResult> RunStreamIo(ccw::v1::Io::Stub& stub, const IoLoadOptions& o) {
  if (absl::Status st = CheckOptions(o); !st.ok()) return st;
  using Req = ccw::v1::StreamProgramRequest;
  using Resp = ccw::v1::StreamProgramResponse;
  std::vector<ccw::v1::StartProgramRequest> reqs;
  for (const std::string& s : o.schids) reqs.push_back(BenchRequest(o.program, s));
  const int64_t timeout_ns = absl::ToInt64Nanoseconds(o.timeout);
  StreamFns<Req, Resp> fns;
  fns.wait_for_hello = true;
  fns.open = [&](grpc::ClientContext* ctx, grpc::ClientBidiReactor<Req, Resp>* r) {
    stub.async()->StreamPrograms(ctx, r);
  };
  fns.make = [&](uint64_t tag, Req* req) {
    req->set_tag(tag);
    *req->mutable_program() = reqs[tag % reqs.size()];
    req->mutable_timeout()->set_seconds(timeout_ns / 1000000000);
    req->mutable_timeout()->set_nanos(static_cast<int32_t>(timeout_ns % 1000000000));
  };
  fns.read = [](const Resp& r) -> std::optional<StreamAnswer> {
    StreamAnswer a;
    a.tag = r.tag();
    a.window = r.window();
    if (r.has_error()) {
      a.failed = true;
      a.error = r.error().message();
    } else if (r.has_result()) {
      grpc::Status st = ProgramStatus(r.result());
      a.failed = !st.ok();
      a.error = st.error_message();
    }
    return a;
  };
  return RunWindowedStream<Req, Resp>(o.window, o.timing, fns);
}

}  // namespace ccwpass::ctl
