// Load generation against a gRPC service, for `ccwctl bench` and the
// benchmark suite (bench/): closed loops of synchronous callers, a callback
// client with a fixed number of calls in flight, and one bidirectional stream
// with a window of requests outstanding; each measures completed calls per
// second and the latency of each call (send to answer) over a measured
// interval after a warm-up.
#ifndef CCWPASS_CTL_LOAD_H_
#define CCWPASS_CTL_LOAD_H_

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/ccw/v1/ccw.grpc.pb.h"

namespace ccwpass::ctl {

// Latency percentiles of a set of calls, microseconds.
struct LatencySummary {
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
};

// Call durations, nanoseconds; not thread-safe (one per thread, then Merge).
class Latencies {
 public:
  void Add(int64_t ns) { ns_.push_back(ns); }
  void Merge(const Latencies& other) { ns_.insert(ns_.end(), other.ns_.begin(), other.ns_.end()); }
  size_t count() const { return ns_.size(); }
  // Nearest-rank percentiles (sorts the samples). All zero without samples.
  LatencySummary Summary();

 private:
  std::vector<int64_t> ns_;
};

struct LoadResult {
  uint64_t ops = 0;      // calls completed in the measured interval, failed ones included
  uint64_t failed = 0;   // of those, calls that returned an error (RPC status or per-request error)
  std::string first_error;
  absl::Duration elapsed;
  double ops_per_sec = 0;  // ops / elapsed
  LatencySummary latency;  // of every completed call in the interval
};

struct LoadTiming {
  absl::Duration warmup = absl::Milliseconds(500);
  absl::Duration duration = absl::Seconds(5);
};

// `clients` threads each call `call(client_index)` back to back. `call`
// returns the call's status (non-OK counts as failed; the first message is
// kept).
LoadResult RunClosedLoop(int clients, const LoadTiming& t, const std::function<grpc::Status(int client)>& call);

// Keeps `inflight` asynchronous calls going: `issue(slot, done)` starts one
// call for slot `slot` (0..inflight-1) and must call `done(status)` exactly
// once when it ends (from any thread); the slot then starts its next call.
using IssueFn = std::function<void(int slot, std::function<void(const grpc::Status&)> done)>;
LoadResult RunCallbackLoop(int inflight, const LoadTiming& t, const IssueFn& issue);

// One bidirectional stream with at most `window` requests outstanding.
// `open(ctx, reactor)` starts the call (stub->async()->Method(ctx, reactor)).
// `make(tag, &req)` fills request number `tag` (tags count from 1).
// `read(resp)` says what a response is: the tag it answers, with whether it
// failed and why (nullopt: not an answer, e.g. a hello, whose window —
// when non-zero — lowers ours).
struct StreamAnswer {
  uint64_t tag = 0;
  bool failed = false;
  std::string error;
  uint32_t window = 0;  // a hello's advertised window (not an answer)
};
template <class Req, class Resp>
struct StreamFns {
  std::function<void(grpc::ClientContext*, grpc::ClientBidiReactor<Req, Resp>*)> open;
  std::function<void(uint64_t tag, Req*)> make;
  std::function<std::optional<StreamAnswer>(const Resp&)> read;  // nullopt for a hello
  bool wait_for_hello = false;  // send nothing before the first response
};
template <class Req, class Resp>
absl::StatusOr<LoadResult> RunWindowedStream(int window, const LoadTiming& t, const StreamFns<Req, Resp>& fns);

// ---- ccw-agent's I/O programs.

enum class BenchProgram { kSenseId, kNoop, kRead4k };
// "sense-id", "noop" or "read-4k". kInvalidArgument otherwise.
absl::StatusOr<BenchProgram> ParseBenchProgram(std::string_view name);
std::string_view BenchProgramName(BenchProgram p);
// The structural program:
//   sense-id  SENSE ID (0xE4, SLI, 256 bytes): 12 bytes read from a 3390, 7 from a 3215
//   noop      NOOP (0x03, SLI)
//   read-4k   DEFINE EXTENT (cylinder 0 head 8) + LOCATE RECORD (read data,
//             record 5) + READ DATA of 4096 bytes: Linux's read of one block
//             on a volume formatted with 4 KiB records (dasdinit -linux, CDL)
ccw::v1::StartProgramRequest BenchRequest(BenchProgram p, const std::string& schid);

struct IoLoadOptions {
  std::vector<std::string> schids;  // requests go round-robin over these
  BenchProgram program = BenchProgram::kSenseId;
  int clients = 1;                  // unary: synchronous callers (caller i uses schids[i % n])
  int window = 64;                  // stream: requests outstanding (at most the agent's window)
  absl::Duration timeout = absl::Seconds(10);  // each call's deadline
  LoadTiming timing;
};
// A result counts as failed when the RPC fails or the program does not end
// with CE DE and no subchannel status (its summary starts "ended with").
absl::StatusOr<LoadResult> RunUnaryIo(ccw::v1::Io::Stub& stub, const IoLoadOptions& o);
absl::StatusOr<LoadResult> RunStreamIo(ccw::v1::Io::Stub& stub, const IoLoadOptions& o);

}  // namespace ccwpass::ctl

namespace ccwpass::ctl {

// ---- Implementation of RunWindowedStream.

namespace load_internal {

template <class Req, class Resp>
class WindowedStream final : public grpc::ClientBidiReactor<Req, Resp> {
 public:
  WindowedStream(int window, const StreamFns<Req, Resp>& fns) : window_(window), fns_(fns) {}

  void Start() {
    fns_.open(&ctx_, this);
    this->StartRead(&in_);
    this->StartCall();
    absl::MutexLock l(&mu_);
    if (!fns_.wait_for_hello) FillLocked();
  }
  void Measure() {
    absl::MutexLock l(&mu_);
    measuring_ = true;
    t0_ = absl::Now();
  }
  LoadResult Stop() {
    LoadResult r;
    absl::MutexLock l(&mu_);
    r.elapsed = absl::Now() - t0_;
    measuring_ = false;
    stopping_ = true;
    r.ops = ops_;
    r.failed = failed_;
    r.first_error = first_error_;
    r.latency = lat_.Summary();
    r.ops_per_sec = r.ops / absl::ToDoubleSeconds(r.elapsed);
    MaybeCloseLocked();
    return r;
  }
  grpc::Status Wait() {
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(&done_));
    return status_;
  }
  // Whether the call ended already (and how).
  bool Ended(grpc::Status* st) {
    absl::MutexLock l(&mu_);
    if (!done_) return false;
    *st = status_;
    return true;
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::optional<StreamAnswer> a = fns_.read(in_);
    const absl::Time now = absl::Now();
    absl::MutexLock l(&mu_);
    if (!a) return;  // cannot happen: read() returns a value for hellos too
    if (a->window > 0 && a->tag == 0) {
      window_ = std::min<int>(window_, static_cast<int>(a->window));
    } else {
      auto it = sent_.find(a->tag);
      if (it != sent_.end()) {
        if (measuring_) {
          ++ops_;
          lat_.Add(absl::ToInt64Nanoseconds(now - it->second));
          if (a->failed) {
            ++failed_;
            if (first_error_.empty()) first_error_ = a->error;
          }
        }
        sent_.erase(it);
        --outstanding_;
      }
    }
    FillLocked();
    MaybeCloseLocked();
    this->StartRead(&in_);
  }
  void OnWriteDone(bool ok) override {
    absl::MutexLock l(&mu_);
    out_.pop_front();
    writing_ = false;
    if (!ok) return;
    if (!out_.empty()) {
      writing_ = true;
      this->StartWrite(&out_.front());
    }
    MaybeCloseLocked();
  }
  void OnDone(const grpc::Status& s) override {
    absl::MutexLock l(&mu_);
    status_ = s;
    done_ = true;
  }

 private:
  void FillLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (!stopping_ && outstanding_ < window_) {
      const uint64_t tag = ++next_tag_;
      out_.emplace_back();
      fns_.make(tag, &out_.back());
      sent_[tag] = absl::Now();
      ++outstanding_;
      if (!writing_) {
        writing_ = true;
        this->StartWrite(&out_.front());
      }
    }
  }
  void MaybeCloseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (stopping_ && !closed_ && outstanding_ == 0 && !writing_) {
      closed_ = true;
      this->StartWritesDone();
    }
  }

  int window_;
  const StreamFns<Req, Resp>& fns_;
  grpc::ClientContext ctx_;
  Resp in_;
  absl::Mutex mu_;
  std::deque<Req> out_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::map<uint64_t, absl::Time> sent_ ABSL_GUARDED_BY(mu_);
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_tag_ ABSL_GUARDED_BY(mu_) = 0;
  bool measuring_ ABSL_GUARDED_BY(mu_) = false, stopping_ ABSL_GUARDED_BY(mu_) = false,
       closed_ ABSL_GUARDED_BY(mu_) = false, done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time t0_ ABSL_GUARDED_BY(mu_);
  uint64_t ops_ ABSL_GUARDED_BY(mu_) = 0, failed_ ABSL_GUARDED_BY(mu_) = 0;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
  Latencies lat_ ABSL_GUARDED_BY(mu_);
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace load_internal

template <class Req, class Resp>
absl::StatusOr<LoadResult> RunWindowedStream(int window, const LoadTiming& t, const StreamFns<Req, Resp>& fns) {
  load_internal::WindowedStream<Req, Resp> s(window, fns);
  s.Start();
  absl::SleepFor(t.warmup);
  grpc::Status ended;
  if (s.Ended(&ended)) {
    return absl::Status(ended.ok() ? absl::StatusCode::kUnknown : static_cast<absl::StatusCode>(ended.error_code()),
                        absl::StrCat("the stream ended during the warm-up: ", ended.error_message()));
  }
  s.Measure();
  absl::SleepFor(t.duration);
  LoadResult r = s.Stop();
  grpc::Status st = s.Wait();
  if (!st.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(st.error_code()),
                        absl::StrCat("the stream ended: ", st.error_message()));
  }
  return r;
}

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_LOAD_H_
