// The ceilings: a bare gRPC echo over a Unix socket with the agent's message
// sizes and concurrency, and the eventfd → epoll → eventfd round trip.
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>

#include "absl/strings/str_format.h"
#include "bench/bench.h"
#include "grpcpp/grpcpp.h"
#include "tools/echo/echo.grpc.pb.h"

namespace ccwpass::bench {

namespace {

using tools::echo::Echo;
using tools::echo::EchoReply;
using tools::echo::EchoRequest;

// Unary: synchronous, as the agent's StartProgram. Stream: callback API with
// one write in flight and a queue, as the agent's StreamPrograms.
class EchoService final : public Echo::WithCallbackMethod_EchoStream<Echo::Service> {
 public:
  explicit EchoService(size_t reply_bytes) : reply_(reply_bytes, 'r') {}
  grpc::Status Echo(grpc::ServerContext*, const EchoRequest* req, EchoReply* reply) override {
    reply->set_payload(reply_);
    reply->set_tag(req->tag());
    return grpc::Status::OK;
  }
  grpc::ServerBidiReactor<EchoRequest, EchoReply>* EchoStream(grpc::CallbackServerContext*) override {
    return new StreamReactor(reply_);
  }

 private:
  class StreamReactor final : public grpc::ServerBidiReactor<EchoRequest, EchoReply> {
   public:
    explicit StreamReactor(const std::string& reply) : reply_(reply) { StartRead(&in_); }
    void OnReadDone(bool ok) override {
      absl::MutexLock l(&mu_);
      if (!ok) {
        read_done_ = true;
        MaybeFinishLocked();
        return;
      }
      out_.emplace_back();
      out_.back().set_payload(reply_);
      out_.back().set_tag(in_.tag());
      if (!writing_) {
        writing_ = true;
        StartWrite(&out_.front());
      }
      StartRead(&in_);
    }
    void OnWriteDone(bool ok) override {
      absl::MutexLock l(&mu_);
      out_.pop_front();
      writing_ = false;
      if (ok && !out_.empty()) {
        writing_ = true;
        StartWrite(&out_.front());
      }
      if (!ok) out_.clear();
      MaybeFinishLocked();
    }
    void OnDone() override { delete this; }

   private:
    void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      if (read_done_ && !writing_ && !finished_) {
        finished_ = true;
        Finish(grpc::Status::OK);
      }
    }
    const std::string& reply_;
    EchoRequest in_;
    absl::Mutex mu_;
    std::deque<EchoReply> out_ ABSL_GUARDED_BY(mu_);
    bool writing_ ABSL_GUARDED_BY(mu_) = false, read_done_ ABSL_GUARDED_BY(mu_) = false,
         finished_ ABSL_GUARDED_BY(mu_) = false;
  };
  const std::string reply_;
};

// eventfd → epoll → eventfd between two threads, `cpu_a`/`cpu_b` pinned when
// not negative. Latency of each round trip.
ctl::LatencySummary EventfdRoundTrip(int cpu_a, int cpu_b, int trips) {
  const int ab = eventfd(0, EFD_CLOEXEC), ba = eventfd(0, EFD_CLOEXEC);
  auto pin = [](int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  };
  auto wait = [](int ep) {
    epoll_event ev;
    while (epoll_wait(ep, &ev, 1, -1) != 1) {
    }
  };
  std::thread echo([&] {
    pin(cpu_b);
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{.events = EPOLLIN, .data = {.fd = ab}};
    epoll_ctl(ep, EPOLL_CTL_ADD, ab, &ev);
    uint64_t v = 1;
    for (int i = 0; i < trips; ++i) {
      wait(ep);
      if (::read(ab, &v, sizeof v) != sizeof v) break;
      v = 1;
      if (::write(ba, &v, sizeof v) != sizeof v) break;
    }
    ::close(ep);
  });
  pin(cpu_a);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{.events = EPOLLIN, .data = {.fd = ba}};
  epoll_ctl(ep, EPOLL_CTL_ADD, ba, &ev);
  ctl::Latencies lat;
  uint64_t v = 1;
  for (int i = 0; i < trips; ++i) {
    const absl::Time t0 = absl::Now();
    v = 1;
    if (::write(ab, &v, sizeof v) != sizeof v) break;
    wait(ep);
    if (::read(ba, &v, sizeof v) != sizeof v) break;
    lat.Add(absl::ToInt64Nanoseconds(absl::Now() - t0));
  }
  echo.join();
  ::close(ep);
  ::close(ab);
  ::close(ba);
  // Unpin this thread again.
  if (cpu_a >= 0) {
    cpu_set_t all;
    CPU_ZERO(&all);
    for (unsigned c = 0; c < std::thread::hardware_concurrency(); ++c) CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
  }
  return lat.Summary();
}

Row LatencyRow(const std::string& what, const ctl::LatencySummary& l, std::string detail) {
  return Row{"ceiling", what, 1e6 / l.mean_us, l.p50_us, l.p99_us, l.p999_us, std::move(detail)};
}

// The echo server on <tmp>/echo.sock.
struct EchoBed {
  EchoService service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<Echo::Stub> stub;
  EchoBed(const Options& o, size_t response_bytes) : service(response_bytes) {
    const std::string addr = "unix:" + o.tmp_dir + "/echo.sock";
    grpc::ServerBuilder b;
    b.AddListeningPort(addr, grpc::InsecureServerCredentials());
    b.RegisterService(&service);
    server = b.BuildAndStart();
    if (server) stub = Echo::NewStub(grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  }
  ~EchoBed() {
    if (server) server->Shutdown();
  }
};

}  // namespace

void RunEchoFixed(const Options& o, int calls, size_t request_bytes, size_t response_bytes) {
  EchoBed bed(o, response_bytes);
  if (!bed.server) return;
  EchoRequest req;
  req.set_payload(std::string(request_bytes, 'q'));
  for (int i = 0; i < calls; ++i) {
    grpc::ClientContext ctx;
    EchoReply reply;
    (void)bed.stub->Echo(&ctx, req, &reply);
  }
}

void RunCeilings(const Options& o, size_t request_bytes, size_t response_bytes, Report& report, Ceilings* out) {
  // eventfd round trips first: they need the machine quiet.
  out->eventfd_rt = EventfdRoundTrip(-1, -1, 100000);
  report.Add(LatencyRow("eventfd→epoll→eventfd round trip, 2 threads", out->eventfd_rt, "unpinned (the agent's case)"));
  if (std::thread::hardware_concurrency() >= 2) {
    out->eventfd_same_core = EventfdRoundTrip(0, 0, 100000);
    report.Add(LatencyRow("eventfd round trip, both threads on cpu 0", out->eventfd_same_core, "pinned"));
    out->eventfd_cross_core = EventfdRoundTrip(0, 1, 20000);
    report.Add(LatencyRow("eventfd round trip, cpu 0 ↔ cpu 1", out->eventfd_cross_core, "pinned"));
  }

  EchoBed bed(o, response_bytes);
  if (!bed.server) {
    report.Note("echo: cannot listen on " + o.tmp_dir + "/echo.sock");
    return;
  }
  Echo::Stub* stub = bed.stub.get();
  const std::string payload(request_bytes, 'q');
  const std::string sizes = absl::StrFormat("%d B → %d B", request_bytes, response_bytes);

  const int clients[3] = {1, 8, 64};
  for (int i = 0; i < 3; ++i) {
    out->echo_unary[i] = ctl::RunClosedLoop(clients[i], o.timing, [&](int c) {
      grpc::ClientContext ctx;
      EchoRequest req;
      req.set_payload(payload);
      req.set_tag(static_cast<uint64_t>(c));
      EchoReply reply;
      return stub->Echo(&ctx, req, &reply);
    });
    Row r = FromLoad("ceiling", absl::StrFormat("echo unary, %d sync client%s", clients[i], clients[i] > 1 ? "s" : ""),
                     out->echo_unary[i]);
    if (r.detail.empty()) r.detail = sizes;
    report.Add(r);
  }

  struct Slot {
    std::unique_ptr<grpc::ClientContext> ctx;
    EchoRequest req;
    EchoReply reply;
  };
  std::vector<Slot> slots(64);
  out->echo_callback64 = ctl::RunCallbackLoop(64, o.timing, [&](int i, std::function<void(const grpc::Status&)> done) {
    Slot& s = slots[i];
    s.ctx = std::make_unique<grpc::ClientContext>();
    s.req.set_payload(payload);
    s.req.set_tag(static_cast<uint64_t>(i));
    stub->async()->Echo(s.ctx.get(), &s.req, &s.reply, std::move(done));
  });
  report.Add(FromLoad("ceiling", "echo unary, callback client, 64 in flight", out->echo_callback64));

  ctl::StreamFns<EchoRequest, EchoReply> fns;
  fns.open = [&](grpc::ClientContext* ctx, grpc::ClientBidiReactor<EchoRequest, EchoReply>* r) {
    stub->async()->EchoStream(ctx, r);
  };
  fns.make = [&](uint64_t tag, EchoRequest* req) {
    req->set_payload(payload);
    req->set_tag(tag);
  };
  fns.read = [](const EchoReply& r) -> std::optional<ctl::StreamAnswer> { return ctl::StreamAnswer{.tag = r.tag()}; };
  absl::StatusOr<ctl::LoadResult> st = ctl::RunWindowedStream<EchoRequest, EchoReply>(64, o.timing, fns);
  if (st.ok()) {
    out->echo_stream64 = *st;
    report.Add(FromLoad("ceiling", "echo bidi stream, window 64", *st));
  } else {
    report.Note("echo stream: " + st.status().ToString());
  }
}

}  // namespace ccwpass::bench
