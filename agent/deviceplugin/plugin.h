// The Kubernetes device plugin of ccw-agent (kubelet API v1beta1,
// reference/kubelet-device-plugin.md, docs/device-plugin.md).
//
// One plugin per device class: its own socket <plugin-dir>/ccwpass-<class>.sock
// serving v1beta1.DevicePlugin, registered with the kubelet at
// <plugin-dir>/kubelet.sock as resource <domain>/<class>.
//
// - Devices: the subchannels a class selects (device_class.h), ID = the
//   deterministic mdev UUID of their device number (DeviceUuid).
// - ListAndWatch: the full list in each message, a new one on every health or
//   inventory change; callback API, one write in flight per stream; while a
//   write is in flight only the newest list is kept (older ones are superseded
//   by it: nothing a kubelet needs is lost).
// - Health (health.h): re-checked on every agent event (CRW, state, attach,
//   detach, device request, hotplug) and every `recheck_interval`, since a path
//   varied off or a handed-off device raise no event the agent sees.
// - Allocate: attaches what is not attached yet in hand-off mode, owner
//   "kubelet:<resource>", mdev UUID = device ID; returns /dev/vfio/vfio and
//   /dev/vfio/<group> device specs (host side under `dev_root`), environment
//   variables CCWPASS_<CLASS>_{SUBCHANNELS,DEVNOS,MDEV_UUIDS,VFIO_GROUPS}, and
//   with `cdi_dir` the CDI device names, the CDI spec written to
//   <cdi_dir>/<domain>-<class>.json. On failure it detaches what this request
//   attached, sends a ListAndWatch update and fails the request.
// - PreStartContainer (required): makes sure each device is still handed off
//   to the kubelet, re-attaching it if it was detached meanwhile (a container
//   restart calls it again without Allocate).
// - Kubelet restarts: the plugin directory is watched (inotify); when
//   kubelet.sock is created every plugin serves a fresh socket and registers
//   again. A failed registration is logged and retried every
//   `register_retry` and at the next kubelet.sock creation; the agent keeps
//   serving its other clients.
#ifndef CCWPASS_AGENT_DEVICEPLUGIN_PLUGIN_H_
#define CCWPASS_AGENT_DEVICEPLUGIN_PLUGIN_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/core/agent.h"
#include "agent/deviceplugin/device_class.h"
#include "agent/deviceplugin/health.h"
#include "agent/sysfs/css.h"
#include "agent/sysfs/sysfs_ops.h"

namespace ccwpass::agent::deviceplugin {

struct DevicePluginOptions {
  // The kubelet's device plugin directory, holding kubelet.sock and our sockets.
  std::string plugin_dir;
  // Resources are named <resource_domain>/<class name>.
  std::string resource_domain = "ccwpass.io";
  // The host's /dev root: DeviceSpec host paths are <dev_root>/vfio/...
  std::string dev_root = "/dev";
  // Where CDI specs go; empty: no CDI device names in Allocate.
  std::string cdi_dir;
  // Health re-check of known devices (sysfs reads per device) and full
  // rescans of the css bus (new devices without a hotplug event).
  absl::Duration recheck_interval = absl::Seconds(2);
  absl::Duration rescan_interval = absl::Seconds(30);
  // Registration: the call's deadline, and the retry period after a failure.
  absl::Duration register_timeout = absl::Seconds(5);
  absl::Duration register_retry = absl::Seconds(5);
  HealthPolicy health;
};

// One device as last published.
struct PublishedDevice {
  std::string id;     // mdev UUID
  std::string schid;  // "0.0.0100"
  std::string busid;  // "0.0.0191"
  Health health;
};

class ClassPlugin;
class DirWatch;

class DevicePluginManager {
 public:
  // The agent and the sysfs seam must outlive the manager. Errors:
  // kInvalidArgument for an empty class list, a bad resource domain, a
  // resource name over 63+253 characters, or a socket path longer than a Unix
  // socket can be (107 bytes), naming it.
  static absl::StatusOr<std::unique_ptr<DevicePluginManager>> Create(Agent& agent, SysfsOps& sysfs,
                                                                     std::vector<DeviceClass> classes,
                                                                     DevicePluginOptions options);
  ~DevicePluginManager();

  // Creates the plugin directory if missing, watches it, scans the
  // subchannels, serves each class's socket (a stale socket file is removed
  // first), registers each with the kubelet when kubelet.sock exists, and
  // starts the health and directory threads. Errors: the directory cannot be
  // created or watched, a socket cannot be served (kUnavailable naming the
  // path); a failed registration is not an error (logged, retried).
  absl::Status Start();
  // Stops the threads and the sockets (removing the socket files). Idempotent.
  void Stop();

  // The resource names, in class order ("ccwpass.io/dasd-3390").
  std::vector<std::string> resources() const;
  // The devices of `resource` as last published, by bus ID; empty when unknown.
  std::vector<PublishedDevice> Devices(const std::string& resource);
  // Successful registrations of `resource` since Start.
  int registrations(const std::string& resource);

 private:
  friend class ClassPlugin;
  DevicePluginManager(Agent& agent, SysfsOps& sysfs, DevicePluginOptions options);

  // One refresh: all subchannels (`full`) or the known ones; publishes changes.
  void Refresh(bool full);
  void MonitorLoop();
  void WatchLoop();
  // Serves (again) and registers plugins that need it.
  void ServeAndRegister(bool reserve_all);

  Agent& agent_;
  Css css_;
  const DevicePluginOptions options_;
  std::vector<std::unique_ptr<ClassPlugin>> plugins_;

  absl::Mutex refresh_mu_;
  // CU/device types seen while a device had its ccw device, by bus ID.
  std::map<std::string, std::pair<std::optional<std::pair<uint16_t, uint8_t>>,
                                  std::optional<std::pair<uint16_t, uint8_t>>>>
      types_ ABSL_GUARDED_BY(refresh_mu_);

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool pending_ ABSL_GUARDED_BY(mu_) = false;  // events arrived
  std::shared_ptr<EventWatcher> watcher_;
  std::unique_ptr<DirWatch> dir_watch_ ABSL_GUARDED_BY(mu_);
  std::thread monitor_, watch_;
};

}  // namespace ccwpass::agent::deviceplugin

#endif  // CCWPASS_AGENT_DEVICEPLUGIN_PLUGIN_H_
