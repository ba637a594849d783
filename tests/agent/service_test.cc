// The real gRPC services over an in-process channel, on the simulated kernel:
// list, attach, I/O (structural, raw and program-file forms), halt/clear,
// deadlines, the StreamPrograms stream (tags, completion order, per-subchannel
// order, window, per-request and stream errors), events (CRW, device request,
// overflow), detach, and the error paths with their exact gRPC codes and
// messages.
#include "agent/service/service.h"

#include <cstdlib>
#include <thread>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "sim/kernel.h"
#include "tests/agent/in_process_agent.h"

namespace ccwpass::agent {
namespace {

using ::testing::HasSubstr;

using ServiceTest = testing::InProcessAgentTest;

TEST_F(ServiceTest, ListGetAttachIoDetach) {
  grpc::ClientContext lctx;
  ccw::v1::ListSubchannelsResponse list;
  ASSERT_TRUE(sc_->ListSubchannels(&lctx, ccw::v1::ListSubchannelsRequest(), &list).ok());
  ASSERT_EQ(list.subchannels_size(), 2);
  const ccw::v1::Subchannel& d = list.subchannels(0);
  EXPECT_EQ(d.schid(), "0.0.0100");
  EXPECT_EQ(d.devno(), "0.0.0191");
  EXPECT_EQ(d.cu_type(), "3990/c2");
  EXPECT_EQ(d.dev_type(), "3390/02");
  EXPECT_EQ(d.state(), ccw::v1::DETACHED);
  EXPECT_THAT(std::vector<uint32_t>(d.chpids().begin(), d.chpids().end()),
              ::testing::ElementsAre(0x40, 0x41, 0, 0, 0, 0, 0, 0));
  EXPECT_EQ(list.subchannels(1).unavailable_reason(), "QDIO device: vfio_ccw does not support QDIO subchannels");
  EXPECT_TRUE(list.subchannels(1).qdio());

  ccw::v1::AttachResponse a;
  ASSERT_TRUE(Attach("0.0.0100", &a).ok());
  EXPECT_EQ(a.subchannel().state(), ccw::v1::ATTACHED);
  EXPECT_EQ(a.subchannel().mode(), ccw::v1::ATTACH_MODE_AGENT);
  EXPECT_EQ(a.subchannel().fsm_state(), ccw::v1::IDLE);
  EXPECT_EQ(a.subchannel().cu_type(), "3990/c2");  // from SENSE ID now that sysfs has no ccw device
  EXPECT_TRUE(a.subchannel().capabilities().req_irq());
  EXPECT_FALSE(a.already_attached());

  // SENSE ID in the structural form: the reference's bytes for a 3390 on a 3990 (C2).
  ccw::v1::StartProgramResponse r;
  ASSERT_TRUE(Start(SenseId("0.0.0100"), &r).ok());
  EXPECT_EQ(r.irb().scsw().device_status_text(), "CE DE");
  EXPECT_EQ(r.irb().scsw().status_text(), "primary|secondary|status-pending");
  EXPECT_EQ(r.irb().scsw().cpa(), 0x1008u);  // in the client's address space
  EXPECT_EQ(r.last_ccw_index(), 0);
  ASSERT_EQ(r.transfers_size(), 1);
  EXPECT_EQ(r.transfers(0).bytes(), 12u);
  EXPECT_EQ(r.transfers(0).data(), std::string("\xff\x39\x90\xc2\x33\x90\x02\x00\x40\xfa\x01\x00", 12));
  EXPECT_EQ(r.bytes_read(), 12u);
  EXPECT_EQ(r.summary(), "ok: CE DE; 12 bytes read, 0 bytes written");

  // The program-file form.
  ccw::v1::StartProgramRequest pj;
  pj.set_schid("0.0.0100");
  pj.set_program_json(R"({"ccws": [{"cmd": "0x64", "count": 64}]})");
  ASSERT_TRUE(Start(pj, &r).ok());
  EXPECT_EQ(r.transfers(0).data().substr(0, 3), std::string("\x39\x90\xc2", 3));

  grpc::ClientContext sctx;
  ccw::v1::StoreSubchannelRequest sreq;
  sreq.set_schid("0.0.0100");
  ccw::v1::StoreSubchannelResponse schib;
  ASSERT_TRUE(io_stub_->StoreSubchannel(&sctx, sreq, &schib).ok());
  EXPECT_EQ(schib.pmcw().dev(), 0x0191u);
  EXPECT_TRUE(schib.pmcw().ena());
  EXPECT_EQ(schib.raw().size(), 52u);

  grpc::ClientContext dctx;
  ccw::v1::DetachRequest dreq;
  dreq.set_schid("0.0.0100");
  ccw::v1::DetachResponse dr;
  ASSERT_TRUE(sc_->Detach(&dctx, dreq, &dr).ok());
  EXPECT_EQ(dr.subchannel().state(), ccw::v1::DETACHED);
  EXPECT_EQ(dr.subchannel().driver(), "io_subchannel");
}

TEST_F(ServiceTest, ErrorsHaveTheirCodesAndSayWhatToDo) {
  grpc::Status s = Attach("0.0.01");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("a schid looks like 0.0.0100"));
  s = Attach("0.0.0177");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "no subchannel 0.0.0177");
  s = Attach("0.0.0101");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("QDIO"));
  ccw::v1::StartProgramResponse r;
  s = Start(SenseId("0.0.0100"), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "0.0.0100 is not attached; attach it first (ccwctl attach 0.0.0100)");
  ASSERT_TRUE(Attach("0.0.0100").ok());
  ccw::v1::AttachResponse again;
  ASSERT_TRUE(Attach("0.0.0100", &again).ok());
  EXPECT_TRUE(again.already_attached());
  // Policed by the agent: MIDA is refused with the rule and CCW.
  ccw::v1::StartProgramRequest bad = SenseId("0.0.0100");
  bad.mutable_structural()->mutable_ccws(0)->set_flags(0x01);
  s = Start(bad, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("MIDA"));
  ccw::v1::StartProgramRequest none;
  none.set_schid("0.0.0100");
  s = Start(none, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "no program: set structural, raw or program_json");
  ccw::v1::StartProgramRequest raw;
  raw.set_schid("0.0.0100");
  raw.mutable_raw()->set_memory_size(0x100000000ull);
  s = Start(raw, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "raw.memory_size: 4294967296 must be 1 .. 2 GiB");
}

TEST_F(ServiceTest, RawProgramAndDeadline) {
  ASSERT_TRUE(Attach("0.0.0100").ok());
  ccw::v1::StartProgramRequest raw;
  raw.set_schid("0.0.0100");
  raw.mutable_raw()->set_memory_size(0x10000);
  auto* o = raw.mutable_raw()->mutable_orb();
  o->set_fmt(true);
  o->set_lpm(0xff);
  o->set_cpa(0x1000);
  auto* seg = raw.mutable_raw()->add_segments();
  seg->set_addr(0x1000);
  seg->set_data(std::string("\xe4\x20\x00\x20\x00\x00\x20\x00", 8));  // SENSE ID, SLI, 32 bytes at 0x2000
  ccw::v1::StartProgramResponse r;
  ASSERT_TRUE(Start(raw, &r).ok());
  EXPECT_EQ(r.irb().scsw().cpa(), 0x1008u);
  EXPECT_EQ(r.irb().scsw().count(), 20u);
  // A slow device and a short deadline: halted, and the device is idle again.
  ASSERT_TRUE(kernel_->SetLatency("0.0.0100", 2000000).ok());
  grpc::Status s = Start(raw, &r, absl::Milliseconds(300));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(kernel_->SetLatency("0.0.0100", 0).ok());
  absl::SleepFor(absl::Milliseconds(400));  // the agent finishes the halt after the client gave up
  grpc::ClientContext gctx;
  ccw::v1::GetSubchannelRequest g;
  g.set_schid("0.0.0100");
  ccw::v1::Subchannel sub;
  ASSERT_TRUE(sc_->GetSubchannel(&gctx, g, &sub).ok());
  EXPECT_EQ(sub.fsm_state(), ccw::v1::IDLE);
  ASSERT_TRUE(Start(raw, &r).ok());
}

TEST_F(ServiceTest, HaltAndClear) {
  ASSERT_TRUE(Attach("0.0.0100").ok());
  grpc::ClientContext hctx;
  ccw::v1::HaltRequest h;
  h.set_schid("0.0.0100");
  ccw::v1::HaltResponse hr;
  ASSERT_TRUE(io_stub_->Halt(&hctx, h, &hr).ok());
  EXPECT_EQ(hr.irb().scsw().function_text(), "halt");
  grpc::ClientContext cctx;
  ccw::v1::ClearRequest c;
  c.set_schid("0.0.0100");
  ccw::v1::ClearResponse cr;
  ASSERT_TRUE(io_stub_->Clear(&cctx, c, &cr).ok());
  EXPECT_EQ(cr.irb().scsw().function_text(), "clear");
}

TEST_F(ServiceTest, EventsStreamCrwAndDeviceRequest) {
  ASSERT_TRUE(Attach("0.0.0100").ok());
  grpc::ClientContext ctx;
  ccw::v1::WatchRequest w;
  w.add_kinds(ccw::v1::Event::CRW);
  w.add_kinds(ccw::v1::Event::DEVICE_REQUEST);
  auto reader = ev_->Watch(&ctx, w);
  absl::SleepFor(absl::Milliseconds(100));  // the watch is registered
  ASSERT_TRUE(kernel_->ConfigurePath(0x41, false).ok());
  ccw::v1::Event e;
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.kind(), ccw::v1::Event::CRW);
  EXPECT_EQ(e.schid(), "0.0.0100");
  EXPECT_EQ(e.crw().text(), "channel path 41: permanent error, not initialized (path lost)");
  std::thread unplug([&] { EXPECT_TRUE(kernel_->RemoveSubchannel("0.0.0100", absl::Seconds(5)).ok()); });
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.kind(), ccw::v1::Event::DEVICE_REQUEST);
  unplug.join();
  ctx.TryCancel();
  while (reader->Read(&e)) {
  }
}

TEST_F(ServiceTest, ASlowWatcherIsToldWhatItLost) {
  grpc::ClientContext ctx;
  ccw::v1::WatchRequest w;
  w.add_kinds(ccw::v1::Event::HOTPLUG);
  auto reader = ev_->Watch(&ctx, w);
  absl::SleepFor(absl::Milliseconds(100));
  // Queue of 4 (see SetUp): a burst of hotplug events while nobody reads.
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(kernel_->Write("bus/css/drivers/io_subchannel/unbind", "0.0.0100"), 0);
    ASSERT_EQ(kernel_->Write("bus/css/drivers_probe", "0.0.0100"), 0);
  }
  absl::SleepFor(absl::Milliseconds(300));
  uint64_t dropped = 0, delivered = 0;
  ccw::v1::Event e;
  while (delivered + dropped < 30 && reader->Read(&e)) {
    if (e.kind() == ccw::v1::Event::OVERFLOW) {
      dropped += e.dropped();
    } else {
      ++delivered;
    }
  }
  // 5 x (ccw unbind, ccw remove, css unbind, css bind, ccw add, ccw bind): every one delivered or counted.
  EXPECT_EQ(delivered + dropped, 30u);
  EXPECT_GT(dropped, 0u);
  ctx.TryCancel();
  while (reader->Read(&e)) {
  }
}

TEST_F(ServiceTest, BadWatchFiltersAreRefused) {
  grpc::ClientContext ctx;
  ccw::v1::WatchRequest w;
  w.add_schids("0.0.1");
  auto reader = ev_->Watch(&ctx, w);
  ccw::v1::Event e;
  EXPECT_FALSE(reader->Read(&e));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "schids: \"0.0.1\" is not a schid like 0.0.0100");
}


// StreamPrograms on a host with a second DASD (0.0.0102) and a window of 4.
class StreamTest : public testing::InProcessAgentTest {
 protected:
  sim::HostConfig MakeHost() override {
    sim::HostConfig h = testing::DasdAndQdioHost(0xC2);
    sim::SubchannelConfig d2 = h.subchannels[0];
    d2.schno = 0x102;
    d2.devno = 0x0192;
    h.subchannels.push_back(d2);
    return h;
  }
  IoServiceOptions IoOptions() override { return {.stream_window = 4}; }

  static ccw::v1::StreamProgramRequest Tagged(uint64_t tag, const std::string& schid) {
    ccw::v1::StreamProgramRequest r;
    r.set_tag(tag);
    *r.mutable_program() = SenseId(schid);
    return r;
  }
  using Stream = grpc::ClientReaderWriter<ccw::v1::StreamProgramRequest, ccw::v1::StreamProgramResponse>;
  // Opens a stream and reads its first message: the window.
  std::unique_ptr<Stream> Open(grpc::ClientContext* ctx) {
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    auto s = io_stub_->StreamPrograms(ctx);
    ccw::v1::StreamProgramResponse hello;
    EXPECT_TRUE(s->Read(&hello));
    EXPECT_EQ(hello.window(), 4u);
    EXPECT_EQ(hello.tag(), 0u);
    EXPECT_EQ(hello.outcome_case(), ccw::v1::StreamProgramResponse::OUTCOME_NOT_SET);
    return s;
  }
  static constexpr char kSenseId3390[] = "\xff\x39\x90\xc2\x33\x90\x02\x00\x40\xfa\x01\x00";
};

TEST_F(StreamTest, ResultsCarryTheirTagsInOrderForOneSubchannel) {
  ASSERT_TRUE(Attach("0.0.0100").ok());
  grpc::ClientContext ctx;
  auto s = Open(&ctx);
  for (uint64_t tag : {7, 8, 9, 10}) ASSERT_TRUE(s->Write(Tagged(tag, "0.0.0100")));
  std::vector<uint64_t> tags;
  ccw::v1::StreamProgramResponse r;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(s->Read(&r));
    tags.push_back(r.tag());
    ASSERT_EQ(r.outcome_case(), ccw::v1::StreamProgramResponse::kResult) << r.error().message();
    EXPECT_EQ(r.result().summary(), "ok: CE DE; 12 bytes read, 0 bytes written");
    ASSERT_EQ(r.result().transfers_size(), 1);
    EXPECT_EQ(r.result().transfers(0).data(), std::string(kSenseId3390, 12));
    EXPECT_EQ(r.result().irb().scsw().cpa(), 0x1008u);
  }
  EXPECT_THAT(tags, ::testing::ElementsAre(7, 8, 9, 10));
  ASSERT_TRUE(s->WritesDone());
  EXPECT_FALSE(s->Read(&r));
  grpc::Status st = s->Finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
}

TEST_F(StreamTest, SubchannelsRunConcurrentlyAndResultsComeInCompletionOrder) {
  ASSERT_TRUE(Attach("0.0.0100").ok());
  ASSERT_TRUE(Attach("0.0.0102").ok());
  ASSERT_TRUE(kernel_->SetLatency("0.0.0100", 500000).ok());  // 0.5 s
  grpc::ClientContext ctx;
  auto s = Open(&ctx);
  ASSERT_TRUE(s->Write(Tagged(1, "0.0.0100")));
  ASSERT_TRUE(s->Write(Tagged(2, "0.0.0102")));
  ccw::v1::StreamProgramResponse r;
  ASSERT_TRUE(s->Read(&r));
  EXPECT_EQ(r.tag(), 2u);  // the fast subchannel's, while the slow one still runs
  ASSERT_TRUE(s->Read(&r));
  EXPECT_EQ(r.tag(), 1u);
  EXPECT_EQ(r.result().summary(), "ok: CE DE; 12 bytes read, 0 bytes written");
  ASSERT_TRUE(s->WritesDone());
  EXPECT_TRUE(s->Finish().ok());
}

TEST_F(StreamTest, ARequestThatFailsGetsItsErrorAndTheStreamGoesOn) {
  ASSERT_TRUE(Attach("0.0.0100").ok());
  grpc::ClientContext ctx;
  auto s = Open(&ctx);
  ASSERT_TRUE(s->Write(Tagged(1, "0.0.01")));
  ccw::v1::StreamProgramResponse r;
  ASSERT_TRUE(s->Read(&r));
  EXPECT_EQ(r.tag(), 1u);
  ASSERT_EQ(r.outcome_case(), ccw::v1::StreamProgramResponse::kError);
  EXPECT_EQ(r.error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.error().message(), HasSubstr("a schid looks like 0.0.0100"));
  ASSERT_TRUE(s->Write(Tagged(2, "0.0.0177")));
  ASSERT_TRUE(s->Read(&r));
  EXPECT_EQ(r.tag(), 2u);
  EXPECT_EQ(r.error().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(r.error().message(), "no subchannel 0.0.0177");
  ASSERT_TRUE(s->Write(Tagged(3, "0.0.0102")));
  ASSERT_TRUE(s->Read(&r));
  EXPECT_EQ(r.tag(), 3u);
  EXPECT_EQ(r.error().code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(r.error().message(), "0.0.0102 is not attached; attach it first (ccwctl attach 0.0.0102)");
  ccw::v1::StreamProgramRequest mida = Tagged(4, "0.0.0100");
  mida.mutable_program()->mutable_structural()->mutable_ccws(0)->set_flags(0x01);
  ASSERT_TRUE(s->Write(mida));
  ASSERT_TRUE(s->Read(&r));
  EXPECT_EQ(r.tag(), 4u);
  EXPECT_EQ(r.error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.error().message(), HasSubstr("MIDA"));
  ASSERT_TRUE(s->Write(Tagged(5, "0.0.0100")));
  ASSERT_TRUE(s->Read(&r));
  EXPECT_EQ(r.tag(), 5u);
  EXPECT_EQ(r.result().summary(), "ok: CE DE; 12 bytes read, 0 bytes written");
  ASSERT_TRUE(s->WritesDone());
  EXPECT_TRUE(s->Finish().ok());
}

TEST_F(StreamTest, MoreOutstandingThanTheWindowEndsTheStream) {
  ASSERT_TRUE(Attach("0.0.0100").ok());
  ASSERT_TRUE(kernel_->SetLatency("0.0.0100", 300000).ok());  // the first program is still running
  grpc::ClientContext ctx;
  auto s = Open(&ctx);
  for (uint64_t tag = 1; tag <= 5; ++tag) s->Write(Tagged(tag, "0.0.0100"));
  ccw::v1::StreamProgramResponse r;
  while (s->Read(&r)) {
    // The program that was running when the stream failed may still report.
    EXPECT_EQ(r.tag(), 1u);
  }
  grpc::Status st = s->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(st.error_message(), "window: 5 requests outstanding, the window is 4 (wait for results before sending more)");
}

TEST_F(StreamTest, ACancelledStreamHaltsItsPrograms) {
  ASSERT_TRUE(Attach("0.0.0100").ok());
  ASSERT_TRUE(kernel_->SetLatency("0.0.0100", 2000000).ok());  // 2 s
  grpc::ClientContext ctx;
  auto s = Open(&ctx);
  ASSERT_TRUE(s->Write(Tagged(1, "0.0.0100")));
  absl::SleepFor(absl::Milliseconds(100));  // the program is running
  ctx.TryCancel();
  ccw::v1::StreamProgramResponse r;
  while (s->Read(&r)) {
  }
  EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(kernel_->SetLatency("0.0.0100", 0).ok());
  // The agent halted the program: the subchannel is idle again and serves I/O.
  ccw::v1::StartProgramResponse sr;
  ASSERT_TRUE(Start(SenseId("0.0.0100"), &sr).ok());
  EXPECT_EQ(sr.summary(), "ok: CE DE; 12 bytes read, 0 bytes written");
}

}  // namespace
}  // namespace ccwpass::agent
