#include "tests/crash/agent_process.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace ccwpass::testing {

std::string Runfile(const std::string& rel) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/" + std::getenv("TEST_WORKSPACE") + "/" + rel;
}

AgentProcess::AgentProcess(std::string dir) : dir_(std::move(dir)) {
  char tmpl[] = "/tmp/ccwpass-proc-XXXXXX";
  if (mkdtemp(tmpl)) run_ = tmpl;
}

AgentProcess::~AgentProcess() {
  if (pid_ > 0) Kill(SIGKILL);
  if (!run_.empty()) {
    ::unlink((run_ + "/agent.sock").c_str());
    ::rmdir(run_.c_str());
  }
}

bool AgentProcess::Start(const std::vector<std::string>& extra, double wait_s) {
  const std::string sock = run_ + "/agent.sock";
  ::unlink(sock.c_str());  // a killed agent leaves its socket behind
  std::vector<std::string> args = {Runfile("agent/main/ccw-agent"), "--sim", dir_ + "/host.yaml",
                                   "--sim-state", dir_ + "/kernel.json", "--run-dir", run_,
                                   "--state-dir", dir_ + "/state", "--metrics-address", "",
                                   "--log-level", "warn"};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = fork();
  if (pid_ == 0) {
    const std::string log = dir_ + "/agent.log";
    if (!freopen(log.c_str(), "a", stdout) || !freopen(log.c_str(), "a", stderr)) _exit(126);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(static_cast<int>(wait_s * 1000));
  struct stat st;
  while (stat(sock.c_str(), &st) != 0) {
    if (Reap() || std::chrono::system_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  grpc::ChannelArguments ca;
  ca.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a new connection per agent process
  channel_ = grpc::CreateCustomChannel("unix://" + sock, grpc::InsecureChannelCredentials(), ca);
  return channel_->WaitForConnected(deadline);
}

bool AgentProcess::Reap(int* status) {
  if (pid_ > 0) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) != pid_) return false;
    pid_ = -1;
    status_ = st;
  }
  if (status) *status = status_;
  return true;
}

int AgentProcess::Kill(int sig) {
  if (pid_ <= 0) return status_;
  ::kill(pid_, sig);
  waitpid(pid_, &status_, 0);
  pid_ = -1;
  return status_;
}

long AgentProcess::RssKib() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

std::string AgentProcess::Log() const {
  std::ifstream in(dir_ + "/agent.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
}

}  // namespace ccwpass::testing
