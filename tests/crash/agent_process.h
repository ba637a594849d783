// Test harness: ccw-agent as a separate process on a simulated host, with a
// gRPC channel to its Unix socket. Used by the kill loop (SIGKILL at random
// points) and the load test (RSS of the agent process alone).
#ifndef CCWPASS_TESTS_CRASH_AGENT_PROCESS_H_
#define CCWPASS_TESTS_CRASH_AGENT_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"

namespace ccwpass::testing {

// The path of a data dependency of the test (Bazel runfiles).
std::string Runfile(const std::string& rel);

class AgentProcess {
 public:
  // `dir`: host.yaml is read from it, the state goes to <dir>/state, the sim
  // kernel's state to <dir>/kernel.json, the log to <dir>/agent.log. The
  // socket lives in a short /tmp directory (sun_path holds 107 bytes).
  explicit AgentProcess(std::string dir);
  ~AgentProcess();  // SIGKILLs a running agent

  // Forks and execs ccw-agent --sim <dir>/host.yaml --sim-state <dir>/kernel.json
  // plus `extra` flags. Returns once the socket accepts a connection (true) or
  // the process died or `wait_s` seconds passed (false).
  bool Start(const std::vector<std::string>& extra = {}, double wait_s = 30);
  // Sends `sig` and reaps the process. Returns the wait status (the one it
  // ended with, if it had ended already).
  int Kill(int sig);
  // Reaps the process if it has died; true when it is gone, with its wait
  // status in `status`.
  bool Reap(int* status = nullptr);
  // VmRSS of the agent in KiB (0 when unknown).
  long RssKib() const;

  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::string Log() const;

 private:
  std::string dir_, run_;
  pid_t pid_ = -1;
  int status_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace ccwpass::testing

#endif  // CCWPASS_TESTS_CRASH_AGENT_PROCESS_H_
