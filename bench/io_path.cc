// The I/O path, innermost first: translate + back-translate; the simulated
// path in-process (SimClient straight to the simulated vfio-ccw device); the
// agent in-process (Agent::Run, no gRPC); end to end over gRPC on a Unix
// socket (unary StartProgram with 1/8/64 sync clients and a callback client
// with 64 in flight; StreamPrograms with a window of 64); and the agent's own
// overhead per I/O. Zero device latency throughout; the program is SENSE ID
// on simulated 3215 consoles (7 bytes read).
#include <memory>
#include <thread>

#include "absl/strings/str_format.h"
#include "bench/bed.h"
#include "bench/bench.h"
#include "sim/testing/sim_client.h"
#include "translate/arena.h"
#include "translate/builder.h"
#include "translate/translator.h"

namespace ccwpass::bench {

namespace {

using translate::BuiltProgram;
using translate::CcwSpec;

BuiltProgram Must(absl::StatusOr<BuiltProgram> b) {
  if (!b.ok()) {
    std::fprintf(stderr, "build: %s\n", b.status().ToString().c_str());
    std::abort();
  }
  return std::move(*b);
}

BuiltProgram SenseIdProgram() {
  return Must(translate::BuildProgram(
      std::vector<CcwSpec>{{.cmd = translate::ccw_cmd::kSenseId, .flags = translate::ccw_flag::kSli, .count = 256}}));
}

// The final SCSW of a program that ran to its end (translate_bench's).
translate::Scsw FinalScsw(const translate::Program& p) {
  const translate::ChainInfo& last = p.chains().back();
  translate::Scsw s;
  s.fmt = true;
  s.fctl = translate::scsw_fctl::kStart;
  s.stctl = translate::scsw_stctl::kPrimary | translate::scsw_stctl::kSecondary | translate::scsw_stctl::kStatusPending;
  s.cpa = last.host_iova + static_cast<uint32_t>(last.len) * translate::kCcwSize;
  s.dstat = translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd;
  return s;
}

// Translate + Complete of `b` on one thread for the measured time.
Row TranslateRow(const Options& o, const std::string& what, BuiltProgram& b) {
  auto arena = translate::DmaArena::CreateOwned(16 << 20, 0x1000000);
  ctl::LoadResult r = ctl::RunClosedLoop(1, o.timing, [&](int) {
    auto p = translate::Translate(b.orb, *b.memory, **arena);
    if (!p.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, std::string(p.status().message()));
    auto c = p->Complete(FinalScsw(*p), *b.memory);
    return c.ok() ? grpc::Status::OK : grpc::Status(grpc::StatusCode::INTERNAL, std::string(c.status().message()));
  });
  // Per call the clock reads cost as much as the work: report the mean.
  Row row = FromLoad("translate", what, r);
  row.detail = absl::StrFormat("mean %.0f ns (incl. 2 clock reads ~40 ns)%s", r.latency.mean_us * 1000,
                               row.detail.empty() ? "" : "; " + row.detail);
  return row;
}

}  // namespace

void RunTranslate(const Options& o, Report& report) {
  BuiltProgram sense = SenseIdProgram();
  report.Add(TranslateRow(o, "SENSE ID (1 CCW, 256 B in)", sense));
  BuiltProgram read = Must(translate::BuildProgram(std::vector<CcwSpec>{
      {.cmd = 0x63, .flags = translate::ccw_flag::kCc, .data = std::vector<uint8_t>{0x40, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 8}},
      {.cmd = 0x47, .flags = translate::ccw_flag::kCc, .data = std::vector<uint8_t>{6, 0x80, 0, 1, 0, 0, 0, 8, 0, 0, 0, 8, 5, 0x4d, 0x10, 0}},
      {.cmd = 0x86, .count = 4096}}));
  Row r = TranslateRow(o, "DASD read 4 KiB (DE + LR + READ DATA)", read);
  r.detail += "; target ≤ 300 ns";
  report.Add(r);
}

void RunIoPath(const Options& o, Report& report, const std::function<void(size_t, size_t)>& sizes_known,
               const std::function<const Ceilings&()>& ceilings) {
  constexpr int kDevices = 64;
  // --- The simulated path in-process: SimClient on its own kernel.
  ctl::LatencySummary sim1;
  {
    auto k = sim::SimKernel::Create(ConsoleHost(kDevices));
    std::vector<std::unique_ptr<sim::testing::SimClient>> clients;
    for (int i = 0; i < kDevices; ++i) {
      auto c = sim::testing::SimClient::Attach(**k, Schid(i), absl::StrFormat("00000000-0000-4000-8000-%012x", i),
                                              64 * 1024);
      if (!c.ok()) {
        report.Note("sim: " + c.status().ToString());
        return;
      }
      clients.push_back(std::move(*c));
    }
    std::vector<BuiltProgram> progs;
    for (int i = 0; i < kDevices; ++i) progs.push_back(SenseIdProgram());
    auto run = [&](int i) {
      auto r = clients[i]->Run(progs[i]);
      return r.ok() ? grpc::Status::OK : grpc::Status(grpc::StatusCode::INTERNAL, std::string(r.status().message()));
    };
    ctl::LoadResult one = ctl::RunClosedLoop(1, o.timing, run);
    sim1 = one.latency;
    report.Add(FromLoad("sim", "SENSE ID straight to the simulated device, 1 at a time", one));
    report.Add(FromLoad("sim", "SENSE ID straight to the simulated device, 64 threads × 64", ctl::RunClosedLoop(64, o.timing, run)));
  }

  // --- The agent on a simulated host, served on a Unix socket.
  auto bed = AgentBed::Create(ConsoleHost(kDevices), o.tmp_dir, "io", /*state_on_disk=*/false);
  if (!bed.ok()) {
    report.Note("agent: " + bed.status().ToString());
    return;
  }
  std::vector<std::string> schids;
  for (int i = 0; i < kDevices; ++i) {
    schids.push_back(Schid(i));
    auto a = (*bed)->agent->Attach(schids.back(), false, "", "bench");
    if (!a.ok()) {
      report.Note("attach: " + a.status().ToString());
      return;
    }
  }
  // Agent::Run in-process.
  std::vector<agent::ProgramRequest> reqs;
  std::vector<BuiltProgram> progs;
  for (int i = 0; i < kDevices; ++i) {
    progs.push_back(SenseIdProgram());
    reqs.push_back(agent::ProgramRequest{progs.back().orb, std::move(progs.back().memory)});
  }
  auto agent_run = [&](int i) {
    auto r = (*bed)->agent->Run(schids[i], reqs[i], absl::Now() + absl::Seconds(10));
    return r.ok() ? grpc::Status::OK : grpc::Status(grpc::StatusCode::INTERNAL, std::string(r.status().message()));
  };
  ctl::LoadResult agent1 = ctl::RunClosedLoop(1, o.timing, agent_run);
  report.Add(FromLoad("agent", "Agent::Run in-process, 1 caller", agent1));
  report.Add(FromLoad("agent", "Agent::Run in-process, 64 callers × 64 subchannels", ctl::RunClosedLoop(64, o.timing, agent_run)));

  // Message sizes of the I/O RPC, then the ceilings in this same run.
  auto stub = ccw::v1::Io::NewStub((*bed)->Channel());
  const ccw::v1::StartProgramRequest probe = ctl::BenchRequest(ctl::BenchProgram::kSenseId, schids[0]);
  ccw::v1::StartProgramResponse probe_resp;
  {
    grpc::ClientContext ctx;
    grpc::Status st = stub->StartProgram(&ctx, probe, &probe_resp);
    if (!st.ok()) {
      report.Note("StartProgram: " + st.error_message());
      return;
    }
  }
  sizes_known(probe.ByteSizeLong(), probe_resp.ByteSizeLong());
  const Ceilings& c = ceilings();
  // Without the ceilings section there is nothing to compare with.
  const bool have = c.echo_unary[0].ops > 0 && c.eventfd_rt.p50_us > 0;
  auto vs = [have](std::string text) { return have ? text : std::string("no ceilings in this run"); };

  ctl::IoLoadOptions lo;
  lo.schids = schids;
  lo.timing = o.timing;
  const int clients[3] = {1, 8, 64};
  ctl::LoadResult e2e1;
  for (int i = 0; i < 3; ++i) {
    lo.clients = clients[i];
    absl::StatusOr<ctl::LoadResult> r = ctl::RunUnaryIo(*stub, lo);
    if (!r.ok()) {
      report.Note("unary: " + r.status().ToString());
      return;
    }
    if (i == 0) e2e1 = *r;
    const ctl::LoadResult& e = c.echo_unary[i];
    Row row = FromLoad("e2e", absl::StrFormat("StartProgram, %d sync client%s", clients[i], clients[i] > 1 ? "s" : ""), *r);
    const double ratio = r->ops_per_sec / e.ops_per_sec, p99 = r->latency.p99_us / e.latency.p99_us;
    row.detail += (row.detail.empty() ? "" : "; ") +
                  vs(absl::StrFormat("%.2f × echo's rate (≥ 0.70: %s), p99 %.2f × echo's (≤ 1.5: %s)", ratio,
                                     ratio >= 0.7 ? "met" : "MISSED", p99, p99 <= 1.5 ? "met" : "MISSED"));
    report.Add(row);
  }
  {
    struct Slot {
      std::unique_ptr<grpc::ClientContext> ctx;
      ccw::v1::StartProgramRequest req;
      ccw::v1::StartProgramResponse resp;
    };
    std::vector<Slot> slots(64);
    ctl::LoadResult r = ctl::RunCallbackLoop(64, o.timing, [&](int i, std::function<void(const grpc::Status&)> done) {
      Slot& s = slots[i];
      s.ctx = std::make_unique<grpc::ClientContext>();
      s.req = ctl::BenchRequest(ctl::BenchProgram::kSenseId, schids[i % schids.size()]);
      s.resp.Clear();
      stub->async()->StartProgram(s.ctx.get(), &s.req, &s.resp, std::move(done));
    });
    Row row = FromLoad("e2e", "StartProgram, callback client, 64 in flight", r);
    row.detail += (row.detail.empty() ? "" : "; ") +
                  vs(absl::StrFormat("%.2f × echo's rate", r.ops_per_sec / c.echo_callback64.ops_per_sec));
    report.Add(row);
  }
  {
    lo.window = 64;
    absl::StatusOr<ctl::LoadResult> r = ctl::RunStreamIo(*stub, lo);
    if (!r.ok()) {
      report.Note("stream: " + r.status().ToString());
    } else {
      Row row = FromLoad("e2e", "StreamPrograms, window 64 over 64 subchannels", *r);
      row.detail += (row.detail.empty() ? "" : "; ") +
                    vs(absl::StrFormat("%.2f × echo stream's rate", r->ops_per_sec / c.echo_stream64.ops_per_sec)) +
                    absl::StrFormat("; target ≥ 100 k/s: %s", r->ops_per_sec >= 100000 ? "met" : "MISSED");
      report.Add(row);
    }
  }

  // --- The agent's own overhead per I/O (p50, one request at a time).
  const double core = agent1.latency.p50_us - sim1.p50_us;
  const double served = e2e1.latency.p50_us - c.echo_unary[0].latency.p50_us - sim1.p50_us;
  const double rt = c.eventfd_rt.p50_us;
  report.Add(Row{"overhead", "Agent::Run − simulated device alone (p50)", -1, core, -1, -1,
                 vs(absl::StrFormat("%.2f × eventfd round trip (%.1f µs; ≤ 2: %s)", core / rt, rt,
                                    core <= 2 * rt ? "met" : "MISSED"))});
  report.Add(Row{"overhead", "StartProgram e2e − echo − simulated device (p50)", -1, served, -1, -1,
                 vs(absl::StrFormat("%.2f × eventfd round trip (≤ 2: %s)", served / rt,
                                    served <= 2 * rt ? "met" : "MISSED"))});
}

}  // namespace ccwpass::bench

namespace ccwpass::bench {

void RunFixed(const Options& o, const std::string& what, int calls) {
  if (what == "metrics" || what == "scrape" || what == "scrape-gzip" || what == "allstats") {
    return RunFixedMetrics(o, what, calls);
  }
  ctl::LoadTiming t;
  auto bed = AgentBed::Create(ConsoleHost(64), o.tmp_dir, "fixed", false);
  if (!bed.ok()) return;
  std::vector<std::string> schids;
  for (int i = 0; i < 64; ++i) {
    schids.push_back(Schid(i));
    if (what != "sim") (void)(*bed)->agent->Attach(schids.back(), false, "", "bench");
  }
  auto stub = ccw::v1::Io::NewStub((*bed)->Channel());
  const ccw::v1::StartProgramRequest req = ctl::BenchRequest(ctl::BenchProgram::kSenseId, schids[0]);
  if (what == "unary") {
    for (int i = 0; i < calls; ++i) {
      grpc::ClientContext ctx;
      ccw::v1::StartProgramResponse resp;
      (void)stub->StartProgram(&ctx, req, &resp);
    }
  } else if (what == "echo") {
    ccw::v1::StartProgramResponse resp;
    grpc::ClientContext ctx;
    (void)stub->StartProgram(&ctx, req, &resp);
    RunEchoFixed(o, calls, req.ByteSizeLong(), resp.ByteSizeLong());
  } else if (what == "agent") {
    BuiltProgram p = SenseIdProgram();
    agent::ProgramRequest r{p.orb, std::move(p.memory)};
    for (int i = 0; i < calls; ++i) (void)(*bed)->agent->Run(schids[0], r, absl::Now() + absl::Seconds(10));
  } else if (what == "sim") {
    auto c = sim::testing::SimClient::Attach(*(*bed)->kernel, schids[0], "00000000-0000-4000-8000-000000000001",
                                             64 * 1024);
    if (!c.ok()) return;
    BuiltProgram p = SenseIdProgram();
    for (int i = 0; i < calls; ++i) (void)(*c)->Run(p);
  } else if (what == "stream") {
    ccw::v1::StreamProgramRequest sr;
    *sr.mutable_program() = req;
    grpc::ClientContext ctx;
    auto s = stub->StreamPrograms(&ctx);
    ccw::v1::StreamProgramResponse resp;
    s->Read(&resp);  // the window
    for (int i = 0; i < calls; ++i) {
      sr.set_tag(static_cast<uint64_t>(i));
      s->Write(sr);
      s->Read(&resp);
    }
    s->WritesDone();
    (void)s->Finish();
  }
}

}  // namespace ccwpass::bench
