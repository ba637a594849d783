// The real device-event seam: a libudev netlink monitor. The only code in
// ccwpass that includes <libudev.h>.
//
// The monitor listens to the kernel's uevents directly (source "kernel",
// netlink group 1), which needs no udevd: containers and minimal hosts have
// none. Source "udev" listens to udevd's re-broadcast instead (after its
// rules ran). Events are filtered by subsystem in the socket (libudev's BPF
// filter) and again here, and mapped into DeviceEvent with the devpath made
// relative to the sysfs root.
//
// Sources: Linux lib/kobject_uevent.c (ACTION, DEVPATH, SUBSYSTEM, SEQNUM;
// DRIVER on bind), drivers/base/dd.c; libudev(3), udev_monitor_new_from_netlink(3),
// udev_monitor_receive_device(3); systemd src/libsystemd/sd-device/device-monitor.c
// (the errno of a failed receive: EAGAIN when empty, ENOBUFS after an overflow).
#ifndef CCWPASS_AGENT_UDEV_UDEV_MONITOR_H_
#define CCWPASS_AGENT_UDEV_UDEV_MONITOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/udev/device_events.h"

struct udev;
struct udev_monitor;

namespace ccwpass::agent {

// Maps one uevent's properties into a DeviceEvent:
//   action     ACTION ("add", "remove", "change", "move", "bind", "unbind")
//   subsystem  SUBSYSTEM ("css", "ccw", "mdev", "vfio")
//   devpath    DEVPATH as the kernel sends it, with its leading '/'
//              ("/devices/css0/0.0.0100"); the event gets it without the '/'
//              and sysname = its last component ("0.0.0100")
//   driver     DRIVER (set on bind events), "" when absent
//   seqnum     SEQNUM, decimal
// Returns nullopt for an event the agent cannot use: an action outside
// DeviceAction ("online", "offline"), a devpath that is empty, does not start
// with '/' or ends with '/', a seqnum that is not a decimal number.
std::optional<DeviceEvent> DeviceEventFromProperties(std::string_view action, std::string_view subsystem,
                                                     std::string_view devpath, std::string_view driver,
                                                     std::string_view seqnum);

class UdevMonitor final : public DeviceEventSource {
 public:
  // Receive buffer asked for (SO_RCVBUFFORCE with CAP_NET_ADMIN, else capped
  // by net.core.rmem_max): a burst of uevents at boot or on a hotplug storm
  // must not overflow it. systemd-udevd asks for 128 MiB.
  static constexpr int kReceiveBufferBytes = 16 << 20;

  // Opens a non-blocking monitor of `subsystems` (empty: all) on netlink
  // source `source`: "kernel" (uevents, no udevd needed) or "udev".
  // Errors: kInvalidArgument for another source or an empty subsystem name;
  // the errno status (absl::ErrnoToStatus) of udev_new, the netlink socket
  // (e.g. kPermissionDenied, kUnavailable), the filter or the bind, with the
  // failing step in the message. A receive buffer that cannot be enlarged is
  // only logged.
  static absl::StatusOr<std::unique_ptr<UdevMonitor>> Create(std::vector<std::string> subsystems,
                                                             std::string source = "kernel");
  ~UdevMonitor() override;
  UdevMonitor(const UdevMonitor&) = delete;
  UdevMonitor& operator=(const UdevMonitor&) = delete;

  // udev_monitor_get_fd: the netlink socket, readable while events are queued.
  int fd() const override;

  // Drains up to `max` queued events with udev_monitor_receive_device,
  // oldest first, appending those DeviceEventFromProperties accepts (and
  // whose subsystem is one asked for). Returns 0 when the socket is empty
  // (also with nothing received), ENOBUFS when the kernel dropped events
  // because the socket overflowed (what was received before is appended; the
  // caller must rescan sysfs), or the socket's errno. Never blocks.
  int Receive(std::vector<DeviceEvent>* out, size_t max) override;

  const std::vector<std::string>& subsystems() const { return subsystems_; }

 private:
  UdevMonitor(struct udev* udev, struct udev_monitor* mon, std::vector<std::string> subsystems)
      : udev_(udev), mon_(mon), subsystems_(std::move(subsystems)) {}

  struct udev* udev_;
  struct udev_monitor* mon_;
  const std::vector<std::string> subsystems_;
};

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_UDEV_UDEV_MONITOR_H_
