// Load (issue 7): 64 concurrent clients doing write-then-read-back programs on
// 256 simulated 3390s (in memory) for a bounded time, over gRPC to ccw-agent
// as a process (so that its RSS is its own). Asserted: every program the
// clients got an answer for was counted by the agent exactly once (started =
// completed = the clients' successes, nothing failed or in flight), every
// read-back matches what was written, the agent's memory is flat (RSS at the
// end at most 10% + 16 MiB above the sample taken after the warm-up round,
// in which every client has written each of its volumes once and every gRPC
// thread exists), and every event the stream did not deliver was reported by
// an OVERFLOW event (the seq gaps add up to the reported drops) on a stream
// that is not read while attaches and detaches of 8 more DASDs publish
// events throughout the load. Printed:
// programs, bytes, errors, p50/p99 latency, RSS at start/middle/end.
//
// CCWPASS_LOAD_SECONDS (default 10) bounds the measured phase.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "gtest/gtest.h"
#include "proto/ccw/v1/ccw.grpc.pb.h"
#include "tests/crash/agent_process.h"
#include "tests/crash/dasd_programs.h"

namespace ccwpass::testing {
namespace {

constexpr int kDasds = 256;
constexpr int kClients = 64;
constexpr int kPerClient = kDasds / kClients;
constexpr int kChurn = 8;  // more DASDs, attached and detached over and over during the load

std::string SchidOf(int i) {
  char b[16];
  snprintf(b, sizeof b, "0.0.%04x", 0x1000 + i);
  return b;
}

struct ClientTotals {
  uint64_t programs = 0, bytes = 0, errors = 0, mismatches = 0;
  std::vector<double> latency_us;
};

// One write + read-back on `schid`; adds to `t`.
void WriteReadBack(ccw::v1::Io::Stub& io, const std::string& schid, std::mt19937& rng, ClientTotals& t) {
  const size_t len = 512 + rng() % 3585;  // 512 .. 4096 bytes
  std::string data(len, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  auto call = [&](const ccw::v1::StartProgramRequest& req, ccw::v1::StartProgramResponse* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    const auto t0 = std::chrono::steady_clock::now();
    grpc::Status st = io.StartProgram(&ctx, req, resp);
    t.latency_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    if (!st.ok()) {
      ++t.errors;
      ADD_FAILURE() << schid << ": " << st.error_message();
      return false;
    }
    ++t.programs;
    t.bytes += resp->bytes_read() + resp->bytes_written();
    if (resp->irb().scsw().device_status_text() != "CE DE") {
      ++t.errors;
      ADD_FAILURE() << schid << ": " << resp->summary();
      return false;
    }
    return true;
  };
  ccw::v1::StartProgramResponse w, r;
  if (!call(WriteRecordProgram(schid, 0, 1, data), &w)) return;
  if (!call(ReadRecordProgram(schid, 0, 1, static_cast<uint32_t>(len)), &r)) return;
  if (r.transfers_size() != 3 || r.transfers(2).data() != data) {
    ++t.mismatches;
    ADD_FAILURE() << schid << ": the read-back differs from what was written";
  }
}

ccw::v1::AgentStats AgentStats(AgentProcess& a) {
  auto st = ccw::v1::Stats::NewStub(a.channel());
  grpc::ClientContext ctx;
  ccw::v1::GetStatsRequest req;
  ccw::v1::GetStatsResponse resp;
  EXPECT_TRUE(st->GetStats(&ctx, req, &resp).ok());
  return resp.agent();
}

TEST(LoadTest, SixtyFourClientsOnTwoHundredFiftySixDasds) {
  const char* env = std::getenv("CCWPASS_LOAD_SECONDS");
  const double seconds = env && *env ? std::atof(env) : 10;
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/load";
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  {
    std::ofstream h(dir + "/host.yaml");
    h << "channel_paths:\n  - chpid: 0x40\n  - chpid: 0x41\nsubchannels:\n";
    for (int i = 0; i < kDasds + kChurn; ++i) {
      char devno[16];
      snprintf(devno, sizeof devno, "0.0.%04x", 0x2000 + i);
      h << "  - schid: " << SchidOf(i) << "\n    devno: " << devno
        << "\n    chpids: [0x40, 0x41]\n    device: {kind: dasd3390, cylinders: 1}\n";
    }
  }
  AgentProcess agent(dir);
  ASSERT_TRUE(agent.Start({"--arena-bytes", "131072"})) << agent.Log();

  // An event stream that is not read while 256 attaches publish their events:
  // it has to drop some, and must say how many.
  auto ev = ccw::v1::Events::NewStub(agent.channel());
  grpc::ClientContext ev_ctx;
  ccw::v1::WatchRequest wreq;
  auto reader = ev->Watch(&ev_ctx, wreq);
  {
    auto sc = ccw::v1::Subchannels::NewStub(agent.channel());
    for (int i = 0; i < kDasds; ++i) {
      grpc::ClientContext ctx;
      ccw::v1::AttachRequest req;
      req.set_schid(SchidOf(i));
      ccw::v1::AttachResponse resp;
      grpc::Status st = sc->Attach(&ctx, req, &resp);
      ASSERT_TRUE(st.ok()) << SchidOf(i) << ": " << st.error_message();
    }
  }
  std::atomic<uint64_t> ev_received{0}, ev_reported_drops{0}, ev_gaps{0}, ev_overflows{0};
  auto read_events = [&] {
    ccw::v1::Event e;
    uint64_t last = 0;
    while (reader->Read(&e)) {
      if (e.kind() == ccw::v1::Event::OVERFLOW) {
        ev_reported_drops += e.dropped();
        ++ev_overflows;
        continue;
      }
      ++ev_received;
      if (last != 0 && e.seq() > last + 1) ev_gaps += e.seq() - last - 1;
      last = std::max<uint64_t>(last, e.seq());
    }
  };

  const ccw::v1::AgentStats before = AgentStats(agent);
  std::vector<ClientTotals> totals(kClients);
  std::atomic<bool> stop{false};
  std::atomic<int> warmed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto io = ccw::v1::Io::NewStub(agent.channel());
      std::mt19937 rng(c + 1);
      for (int k = 0; k < kPerClient; ++k) WriteReadBack(*io, SchidOf(c * kPerClient + k), rng, totals[c]);
      ++warmed;
      for (int k = 0; !stop; k = (k + 1) % kPerClient) WriteReadBack(*io, SchidOf(c * kPerClient + k), rng, totals[c]);
    });
  }
  // Events while the load runs, on a stream nobody reads until the end.
  std::atomic<uint64_t> churn_cycles{0};
  std::thread churn([&] {
    auto sc = ccw::v1::Subchannels::NewStub(agent.channel());
    for (int k = 0; !stop; k = (k + 1) % kChurn) {
      grpc::ClientContext a, d;
      ccw::v1::AttachRequest ar;
      ar.set_schid(SchidOf(kDasds + k));
      ar.set_mode(ccw::v1::ATTACH_MODE_HANDOFF);  // no SENSE ID: the program counts are the clients' alone
      ccw::v1::AttachResponse aresp;
      ccw::v1::DetachRequest dr;
      dr.set_schid(SchidOf(kDasds + k));
      ccw::v1::DetachResponse dresp;
      EXPECT_TRUE(sc->Attach(&a, ar, &aresp).ok());
      EXPECT_TRUE(sc->Detach(&d, dr, &dresp).ok());
      ++churn_cycles;
    }
  });
  while (warmed < kClients) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const long rss_start = agent.RssKib();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(seconds * 500)));
  const long rss_middle = agent.RssKib();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(seconds * 500)));
  const long rss_end = agent.RssKib();
  stop = true;
  for (auto& t : clients) t.join();
  churn.join();
  const ccw::v1::AgentStats after = AgentStats(agent);

  ClientTotals all;
  for (ClientTotals& t : totals) {
    all.programs += t.programs;
    all.bytes += t.bytes;
    all.errors += t.errors;
    all.mismatches += t.mismatches;
    all.latency_us.insert(all.latency_us.end(), t.latency_us.begin(), t.latency_us.end());
  }
  std::sort(all.latency_us.begin(), all.latency_us.end());
  auto q = [&](double p) { return all.latency_us.empty() ? 0 : all.latency_us[static_cast<size_t>(p * (all.latency_us.size() - 1))]; };

  // Exactly once: the agent counted each program the clients were answered for, once.
  EXPECT_EQ(after.programs_started() - before.programs_started(), all.programs + all.errors);
  EXPECT_EQ(after.programs_completed() - before.programs_completed(), all.programs);
  EXPECT_EQ(after.programs_failed() - before.programs_failed(), 0u);
  EXPECT_EQ(all.errors, 0u);
  EXPECT_EQ(all.mismatches, 0u);
  // Flat memory.
  EXPECT_LE(rss_end, rss_start + rss_start / 10 + 16 * 1024) << "RSS grew from " << rss_start << " to " << rss_end << " KiB";

  // Drain what the stream holds, then end it.
  std::thread ev_thread(read_events);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ev_ctx.TryCancel();
  ev_thread.join();
  // Every event not delivered was reported.
  EXPECT_EQ(ev_gaps.load(), ev_reported_drops.load());
  EXPECT_EQ(after.event_drops(), ev_reported_drops.load());

  std::printf("load: %d clients, %d DASDs, %.0f s: %lu programs (%lu write/read-back pairs), %.1f MiB moved, "
              "%lu errors, %lu mismatches; latency p50 %.0f us p99 %.0f us; %.0f programs/s; agent RSS %ld / %ld / "
              "%ld KiB (start/middle/end); events: %lu delivered, %lu dropped in %lu OVERFLOW reports (%lu attach/detach "
              "cycles meanwhile)\n",
              kClients, kDasds, seconds, static_cast<unsigned long>(all.programs),
              static_cast<unsigned long>(all.programs / 2), all.bytes / 1048576.0,
              static_cast<unsigned long>(all.errors), static_cast<unsigned long>(all.mismatches), q(0.5), q(0.99),
              all.programs / seconds, rss_start, rss_middle, rss_end, static_cast<unsigned long>(ev_received.load()),
              static_cast<unsigned long>(ev_reported_drops.load()), static_cast<unsigned long>(ev_overflows.load()),
              static_cast<unsigned long>(churn_cycles.load()));
}

}  // namespace
}  // namespace ccwpass::testing
