// Test harness: the agent on a simulated host with every gRPC service of
// proto/ccw/v1 behind an in-process channel (DESIGN.md convention 8).
#ifndef CCWPASS_TESTS_AGENT_IN_PROCESS_AGENT_H_
#define CCWPASS_TESTS_AGENT_IN_PROCESS_AGENT_H_

#include <memory>
#include <string>

#include "agent/service/service.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "sim/kernel.h"

namespace ccwpass::agent::testing {

// Subchannel 0.0.0100: a 3390 (10 cylinders) on CU 3990 model `cu_model`,
// devno 0.0.0191, CHPIDs 40 and 41 (PIM = PAM = c0). Subchannel 0.0.0101:
// a QDIO device (devno 0.0.0600, CHPID 41), which vfio_ccw refuses.
inline sim::HostConfig DasdAndQdioHost(uint8_t cu_model = 0xE9) {
  sim::HostConfig h;
  h.channel_paths = {sim::ChannelPathConfig{.chpid = 0x40}, sim::ChannelPathConfig{.chpid = 0x41}};
  sim::SubchannelConfig dasd;
  dasd.schno = 0x100;
  dasd.devno = 0x0191;
  dasd.chpids = {0x40, 0x41};
  dasd.pim = dasd.pam = 0xc0;
  dasd.device.kind = sim::DeviceKind::kDasd3390;
  dasd.device.cylinders = 10;
  dasd.device.cu_model = cu_model;
  sim::SubchannelConfig qdio;
  qdio.schno = 0x101;
  qdio.devno = 0x0600;
  qdio.chpids = {0x41};
  qdio.pim = qdio.pam = 0x80;
  qdio.qdio = true;
  h.subchannels = {dasd, qdio};
  return h;
}

// A fixture with the agent (halt_wait 300 ms, following the simulated
// kernel's events), the Subchannels, Io, Events (queue `event_queue`) and
// Stats services, and a stub of each.
class InProcessAgentTest : public ::testing::Test {
 protected:
  explicit InProcessAgentTest(size_t event_queue = 4) : event_queue_(event_queue) {}

  // The simulated host, the Io service's options and the agent's VFIO seam
  // (called once, after kernel_ is made); fixtures change them.
  virtual sim::HostConfig MakeHost() { return DasdAndQdioHost(0xC2); }
  virtual IoServiceOptions IoOptions() { return {}; }
  virtual VfioOps& Vfio() { return *kernel_; }

  void SetUp() override {
    auto k = sim::SimKernel::Create(MakeHost());
    ASSERT_TRUE(k.ok()) << k.status();
    kernel_ = std::move(*k);
    auto s = StateStore::Open("");
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    monitor_ = kernel_->NewEventSource({"css", "ccw", "mdev"});
    AgentOptions o;
    o.halt_wait = absl::Milliseconds(300);
    agent_ = std::make_unique<Agent>(*kernel_, Vfio(), *store_, o);
    ASSERT_TRUE(agent_->Start(monitor_.get()).ok());
    subchannels_ = std::make_unique<SubchannelsService>(*agent_);
    io_ = std::make_unique<IoService>(*agent_, nullptr, program_policy_.get(), IoOptions());
    events_ = std::make_unique<EventsService>(*agent_, event_queue_);
    stats_ = std::make_unique<StatsService>(*agent_);
    grpc::ServerBuilder b;
    b.RegisterService(subchannels_.get());
    b.RegisterService(io_.get());
    b.RegisterService(events_.get());
    b.RegisterService(stats_.get());
    server_ = b.BuildAndStart();
    auto ch = server_->InProcessChannel(grpc::ChannelArguments());
    sc_ = ccw::v1::Subchannels::NewStub(ch);
    io_stub_ = ccw::v1::Io::NewStub(ch);
    ev_ = ccw::v1::Events::NewStub(ch);
    st_ = ccw::v1::Stats::NewStub(ch);
  }
  void TearDown() override {
    server_->Shutdown();
    agent_.reset();
  }

  grpc::Status Attach(const std::string& schid, ccw::v1::AttachResponse* r = nullptr) {
    grpc::ClientContext ctx;
    ccw::v1::AttachRequest req;
    req.set_schid(schid);
    ccw::v1::AttachResponse resp;
    grpc::Status s = sc_->Attach(&ctx, req, &resp);
    if (r) *r = resp;
    return s;
  }
  grpc::Status Start(const ccw::v1::StartProgramRequest& req, ccw::v1::StartProgramResponse* resp,
                     absl::Duration deadline = absl::Seconds(5)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return io_stub_->StartProgram(&ctx, req, resp);
  }
  // SENSE ID (E4, SLI, 256 bytes) for `schid`.
  static ccw::v1::StartProgramRequest SenseId(const std::string& schid) {
    ccw::v1::StartProgramRequest req;
    req.set_schid(schid);
    auto* c = req.mutable_structural()->add_ccws();
    c->set_cmd(0xe4);
    c->set_flags(0x20);
    c->set_count(256);
    return req;
  }

  const size_t event_queue_;
  // The channel-program policy of the Io service; a subclass may set it in
  // its constructor (null: none).
  std::unique_ptr<access::ProgramPolicy> program_policy_;
  std::unique_ptr<sim::SimKernel> kernel_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<DeviceEventSource> monitor_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<SubchannelsService> subchannels_;
  std::unique_ptr<IoService> io_;
  std::unique_ptr<EventsService> events_;
  std::unique_ptr<StatsService> stats_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ccw::v1::Subchannels::Stub> sc_;
  std::unique_ptr<ccw::v1::Io::Stub> io_stub_;
  std::unique_ptr<ccw::v1::Events::Stub> ev_;
  std::unique_ptr<ccw::v1::Stats::Stub> st_;
};

}  // namespace ccwpass::agent::testing

#endif  // CCWPASS_TESTS_AGENT_IN_PROCESS_AGENT_H_
