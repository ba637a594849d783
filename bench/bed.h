// A ccw-agent on a simulated host, served over gRPC on a Unix socket, wired
// as agent/main/main.cc wires it (for the benchmarks).
#ifndef CCWPASS_BENCH_BED_H_
#define CCWPASS_BENCH_BED_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/core/agent.h"
#include "agent/service/service.h"
#include "agent/state/state_store.h"
#include "grpcpp/grpcpp.h"
#include "sim/kernel.h"

namespace ccwpass::bench {

// `n` I/O subchannels 0.0.0000 .. with 3215 consoles (devno = schno) on CHPID 0x10.
sim::HostConfig ConsoleHost(int n);
// "0.0.%04x".
std::string Schid(int schno);

struct AgentBed {
  std::unique_ptr<sim::SimKernel> kernel;
  std::unique_ptr<agent::DeviceEventSource> monitor;
  std::unique_ptr<agent::StateStore> store;
  std::unique_ptr<agent::Agent> agent;
  std::unique_ptr<agent::SubchannelsService> subchannels;
  std::unique_ptr<agent::IoService> io;
  std::unique_ptr<agent::EventsService> events;
  std::unique_ptr<grpc::Server> server;
  std::string address;  // unix:<dir>/<name>.sock

  // Builds the kernel, starts the agent (state in <dir>/<name>-state when
  // `state_on_disk`, else in memory) and the server. Errors: the kernel's,
  // the agent's, or kUnavailable when the socket cannot be listened on.
  static absl::StatusOr<std::unique_ptr<AgentBed>> Create(const sim::HostConfig& host, const std::string& dir,
                                                          const std::string& name, bool state_on_disk);
  // The same over a kernel made already.
  static absl::StatusOr<std::unique_ptr<AgentBed>> Create(std::unique_ptr<sim::SimKernel> kernel,
                                                          const std::string& dir, const std::string& name,
                                                          bool state_on_disk);
  ~AgentBed();
  // A new client channel (no message size limit).
  std::shared_ptr<grpc::Channel> Channel() const;
};

}  // namespace ccwpass::bench

#endif  // CCWPASS_BENCH_BED_H_
