// ccw-agent: flags and wiring only. One agent per host: on a real s390 host it
// uses sysfs, libudev and VFIO under the roots given by flags; with --sim it
// runs the same code against the simulated kernel described by a host file.
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agent/access/access.h"
#include "agent/access/program_policy.h"
#include "agent/access/tls.h"
#include "agent/access/unix_listener.h"
#include "agent/core/agent.h"
#include "agent/deviceplugin/device_class.h"
#include "agent/deviceplugin/plugin.h"
#include "agent/main/listen.h"
#include "agent/metrics/metrics.h"
#include "agent/service/service.h"
#include "agent/state/state_store.h"
#include "agent/sysfs/file_sysfs.h"
#include "agent/udev/udev_monitor.h"
#include "agent/vfio/linux_vfio.h"
#include "agent/version.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "sim/host_config.h"
#include "sim/kernel.h"
#include "spdlog/spdlog.h"
#include "systemd/sd-daemon.h"

namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "ccw-agent: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // SIGINT and SIGTERM are taken by sigwait() at the end; block them before
  // any thread starts so that none of them dies of one.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // Debian's Abseil is built without NDEBUG: its Mutex deadlock detection
  // would cost time on every lock of the I/O path.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  CLI::App app{"ccw-agent: the s390 channel-I/O passthrough agent (vfio-ccw)"};
  std::string sim_host, sysfs_root = "/sys", dev_root = "/dev", run_dir = "/run/ccwpass", socket_path,
              state_dir = "/var/lib/ccwpass", tcp, log_level = "info", metrics_address = "127.0.0.1:9810";
  uint64_t arena_bytes = 1 << 20;
  std::string sim_state;
  uint64_t sim_crash_at = 0;
  app.add_option("--sim", sim_host, "serve a simulated host described by this YAML file (docs/host-description.md)")
      ->check(CLI::ExistingFile);
  app.add_option("--sim-state", sim_state,
                 "with --sim: keep the simulated kernel's bus state (drivers, overrides, mdevs, paths) in this file "
                 "across agent restarts, as a real kernel would (docs/simulator.md)");
  app.add_option("--sim-crash-at", sim_crash_at,
                 "with --sim, for crash tests: SIGKILL the agent at the N-th crash point of the simulated kernel "
                 "(before/after each sysfs write, after each I/O region write; 0: never)")
      ->capture_default_str();
  app.add_option("--sysfs-root", sysfs_root, "sysfs root (real kernel)")->capture_default_str();
  app.add_option("--dev-root", dev_root, "/dev root for /dev/vfio (real kernel)")->capture_default_str();
  app.add_option("--run-dir", run_dir, "runtime directory; the socket is <run-dir>/agent.sock")->capture_default_str();
  app.add_option("--socket", socket_path, "Unix socket path (default <run-dir>/agent.sock)");
  app.add_option("--state-dir", state_dir, "where the desired state is kept (empty: in memory only)")
      ->capture_default_str();
  std::string access_config;
  app.add_option("--access-config", access_config,
                 "YAML file of roles (access) and channel-program policy (programs); docs/security.md. Without "
                 "one: uid 0 and the socket's group are admin, nobody else has a role")
      ->check(CLI::ExistingFile);
  app.add_option("--listen-tcp", tcp, "also listen on TCP host:port (beyond loopback only with mutual TLS)");
  ccwpass::agent::access::TlsFiles tls;
  app.add_option("--tls-cert", tls.cert, "PEM server certificate for --listen-tcp (mutual TLS)");
  app.add_option("--tls-key", tls.key, "PEM private key of --tls-cert");
  app.add_option("--tls-client-ca", tls.client_ca, "PEM CA that client certificates must chain to");
  app.add_option("--arena-bytes", arena_bytes, "DMA arena per attached device, bytes")->capture_default_str();
  app.add_option("--metrics-address", metrics_address,
                 "serve Prometheus metrics on HOST:PORT at /metrics (port 0: any free port; empty: off)")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  app.set_version_flag("--version", std::string("ccw-agent ") + ccwpass::agent::kAgentVersion);
  // The Kubernetes device plugin (docs/device-plugin.md): off without classes.
  std::string device_plugin_dir = "/var/lib/kubelet/device-plugins", device_classes, resource_domain = "ccwpass.io",
              cdi_dir;
  app.add_option("--device-plugin-dir", device_plugin_dir, "the kubelet's device plugin directory (kubelet.sock)")
      ->capture_default_str();
  app.add_option("--device-classes", device_classes,
                 "YAML file of device classes to offer to the kubelet (empty: no device plugin)");
  app.add_option("--resource-domain", resource_domain, "resources are named <domain>/<class>")->capture_default_str();
  app.add_option("--cdi-dir", cdi_dir, "write CDI specs here and name CDI devices in Allocate (empty: no CDI)");
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  if (socket_path.empty()) socket_path = run_dir + "/agent.sock";
  std::shared_ptr<grpc::ServerCredentials> tcp_credentials = grpc::InsecureServerCredentials();
  if (tls.any()) {
    if (tcp.empty()) return Fail("--tls-cert, --tls-key and --tls-client-ca are for --listen-tcp, which is not given");
    auto c = ccwpass::agent::access::MutualTlsServerCredentials(tls);
    if (!c.ok()) return Fail(std::string(c.status().message()));
    tcp_credentials = *c;
  } else if (!tcp.empty()) {
    if (absl::Status st = ccwpass::agent::CheckListenTcp(tcp); !st.ok()) return Fail(std::string(st.message()));
  }

  // The access configuration is checked before anything starts.
  std::optional<ccwpass::agent::access::AccessConfig> access_rules;
  std::vector<ccwpass::agent::access::ProgramClass> program_classes;  // none: the default class everywhere
  if (!access_config.empty()) {
    std::ifstream in(access_config);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return Fail(access_config + ": cannot be read");
    auto c = ccwpass::agent::access::ParseAccessConfig(text.str(), access_config);
    if (!c.ok()) return Fail(std::string(c.status().message()));
    access_rules = std::move(*c);
    auto p = ccwpass::agent::access::ParseProgramClasses(text.str(), access_config);
    if (!p.ok()) return Fail(std::string(p.status().message()));
    program_classes = std::move(*p);
  }

  // Device classes are checked before anything starts.
  std::optional<std::vector<ccwpass::agent::deviceplugin::DeviceClass>> classes;
  if (!device_classes.empty()) {
    auto c = ccwpass::agent::deviceplugin::LoadDeviceClasses(device_classes);
    if (!c.ok()) return Fail(std::string(c.status().message()));
    classes = std::move(*c);
  }

  // The seams.
  std::unique_ptr<ccwpass::sim::SimKernel> sim;
  std::unique_ptr<ccwpass::agent::FileSysfs> real_sysfs;
  std::unique_ptr<ccwpass::agent::LinuxVfio> real_vfio;
  std::unique_ptr<ccwpass::agent::DeviceEventSource> events;
  ccwpass::agent::SysfsOps* sysfs;
  ccwpass::agent::VfioOps* vfio;
  if (!sim_host.empty()) {
    absl::StatusOr<ccwpass::sim::HostConfig> host = ccwpass::sim::LoadHostConfig(sim_host);
    if (!host.ok()) return Fail(std::string(host.status().message()));
    absl::StatusOr<std::unique_ptr<ccwpass::sim::SimKernel>> k = ccwpass::sim::SimKernel::Create(
        *host, ccwpass::sim::SimKernelOptions{.state_file = sim_state, .crash_at_point = sim_crash_at});
    if (!k.ok()) return Fail(std::string(k.status().message()));
    sim = std::move(*k);
    sysfs = sim.get();
    vfio = sim.get();
    events = sim->NewEventSource({"css", "ccw", "mdev"});
    spdlog::info("simulated host {}: {} subchannels", sim_host, host->subchannels.size());
  } else {
    real_sysfs = std::make_unique<ccwpass::agent::FileSysfs>(sysfs_root);
    real_vfio = std::make_unique<ccwpass::agent::LinuxVfio>(dev_root);
    sysfs = real_sysfs.get();
    vfio = real_vfio.get();
    auto mon = ccwpass::agent::UdevMonitor::Create({"css", "ccw", "mdev"});
    if (mon.ok()) {
      events = std::move(*mon);
    } else {
      spdlog::warn("no device events (hotplug is not followed): {}", mon.status().ToString());
    }
  }

  absl::StatusOr<std::unique_ptr<ccwpass::agent::StateStore>> store = ccwpass::agent::StateStore::Open(state_dir);
  if (!store.ok()) return Fail(std::string(store.status().message()));
  ccwpass::agent::AgentOptions options;
  options.device.arena_bytes = arena_bytes;
  ccwpass::agent::Agent agent(*sysfs, *vfio, **store, options);
  if (absl::Status st = agent.Start(events.get()); !st.ok()) return Fail(std::string(st.message()));

  std::unique_ptr<ccwpass::agent::MetricsServer> metrics;
  if (!metrics_address.empty()) {
    auto m = ccwpass::agent::MetricsServer::Start(metrics_address, ccwpass::agent::StatsSourceOf(agent));
    if (!m.ok()) return Fail(std::string(m.status().message()));
    metrics = std::move(*m);
    spdlog::info("metrics on http://{}:{}/metrics", metrics_address.substr(0, metrics_address.rfind(':')),
                 metrics->port());
  }

  // The server.
  // The server. The Unix socket is accepted here (unix_listener.h) so that
  // every connection's credentials come from the kernel (SO_PEERCRED).
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(socket_path).parent_path(), ec);
  auto listener = ccwpass::agent::access::UnixListener::Listen(socket_path, 0660);
  if (!listener.ok()) return Fail(std::string(listener.status().message()));
  if (!access_rules) access_rules = ccwpass::agent::access::DefaultAccessConfig((*listener)->socket_gid());
  ccwpass::agent::access::PeerRegistry peers;
  const ccwpass::agent::access::Access access(std::move(*access_rules), &peers);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ccwpass::agent::SubchannelsService subchannels(agent, &access);
  ccwpass::agent::access::ProgramPolicy program_policy(std::move(program_classes));
  ccwpass::agent::IoService io(agent, &access, &program_policy);
  ccwpass::agent::EventsService evs(agent, 1024, &access);
  ccwpass::agent::StatsService stats(agent, &access);
  grpc::ServerBuilder b;
  if (!tcp.empty()) b.AddListeningPort(tcp, tcp_credentials);
  b.RegisterService(&subchannels);
  b.RegisterService(&io);
  b.RegisterService(&evs);
  b.RegisterService(&stats);
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  if (!server) return Fail("cannot start the gRPC server" + (tcp.empty() ? std::string() : " on " + tcp));
  (*listener)->Start(server.get(), &peers);
  spdlog::info("ccw-agent listening on unix:{}{}", socket_path,
               tcp.empty() ? "" : " and " + tcp + (tls.any() ? " (mutual TLS)" : " (no TLS, loopback)"));

  // The device plugin: a bad class file or domain is an error at start; a
  // kubelet that is not there (yet) or refuses is logged and retried.
  std::unique_ptr<ccwpass::agent::deviceplugin::DevicePluginManager> plugin;
  if (classes) {
    if (classes->empty()) {
      spdlog::info("{}: no device classes: the device plugin is off", device_classes);
    } else {
      ccwpass::agent::deviceplugin::DevicePluginOptions dp;
      dp.plugin_dir = device_plugin_dir;
      dp.resource_domain = resource_domain;
      dp.dev_root = dev_root;
      dp.cdi_dir = cdi_dir;
      auto m = ccwpass::agent::deviceplugin::DevicePluginManager::Create(agent, *sysfs, std::move(*classes), dp);
      if (!m.ok()) return Fail(std::string(m.status().message()));
      plugin = std::move(*m);
      if (absl::Status st = plugin->Start(); !st.ok()) return Fail(std::string(st.message()));
    }
  }
  // systemd Type=notify: ready once the socket listens (a no-op outside systemd).
  sd_notify(0, "READY=1");

  // Until SIGINT or SIGTERM (blocked in every thread since the start).
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("signal {}: shutting down", sig);
  sd_notify(0, "STOPPING=1");
  if (plugin) plugin->Stop();
  (*listener)->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  metrics.reset();
  agent.Stop();
  return 0;
}
