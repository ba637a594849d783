#include "bench/bed.h"

#include <filesystem>

#include "absl/strings/str_format.h"

namespace ccwpass::bench {

sim::HostConfig ConsoleHost(int n) {
  sim::HostConfig h;
  h.channel_paths = {sim::ChannelPathConfig{.chpid = 0x10}};
  h.subchannels.reserve(n);
  for (int i = 0; i < n; ++i) {
    sim::SubchannelConfig s;
    s.schno = static_cast<uint16_t>(i);
    s.devno = static_cast<uint16_t>(i);
    s.chpids = {0x10};
    s.pim = s.pam = 0x80;
    s.device.kind = sim::DeviceKind::kConsole;
    h.subchannels.push_back(std::move(s));
  }
  return h;
}

std::string Schid(int schno) { return absl::StrFormat("0.0.%04x", schno); }

absl::StatusOr<std::unique_ptr<AgentBed>> AgentBed::Create(const sim::HostConfig& host, const std::string& dir,
                                                          const std::string& name, bool state_on_disk) {
  auto k = sim::SimKernel::Create(host);
  if (!k.ok()) return k.status();
  return Create(std::move(*k), dir, name, state_on_disk);
}

absl::StatusOr<std::unique_ptr<AgentBed>> AgentBed::Create(std::unique_ptr<sim::SimKernel> kernel,
                                                          const std::string& dir, const std::string& name,
                                                          bool state_on_disk) {
  auto bed = std::make_unique<AgentBed>();
  bed->kernel = std::move(kernel);
  bed->monitor = bed->kernel->NewEventSource({"css", "ccw", "mdev"});
  std::string state_dir;
  if (state_on_disk) {
    state_dir = dir + "/" + name + "-state";
    std::error_code ec;
    std::filesystem::remove_all(state_dir, ec);
  }
  auto store = agent::StateStore::Open(state_dir);
  if (!store.ok()) return store.status();
  bed->store = std::move(*store);
  bed->agent = std::make_unique<agent::Agent>(*bed->kernel, *bed->kernel, *bed->store);
  if (absl::Status st = bed->agent->Start(bed->monitor.get()); !st.ok()) return st;
  bed->subchannels = std::make_unique<agent::SubchannelsService>(*bed->agent);
  bed->io = std::make_unique<agent::IoService>(*bed->agent);
  bed->events = std::make_unique<agent::EventsService>(*bed->agent);
  bed->address = "unix:" + dir + "/" + name + ".sock";
  grpc::ServerBuilder b;
  b.AddListeningPort(bed->address, grpc::InsecureServerCredentials());
  b.RegisterService(bed->subchannels.get());
  b.RegisterService(bed->io.get());
  b.RegisterService(bed->events.get());
  bed->server = b.BuildAndStart();
  if (!bed->server) return absl::UnavailableError("cannot listen on " + bed->address);
  return bed;
}

AgentBed::~AgentBed() {
  if (server) server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (agent) agent->Stop();
}

std::shared_ptr<grpc::Channel> AgentBed::Channel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

}  // namespace ccwpass::bench
