// The device-event seam: the kernel's uevents for the subsystems the agent follows.
//
// Two implementations: a libudev monitor (agent/udev/udev_monitor.h, the only
// code that includes libudev) and the simulated kernel (sim/kernel.h), which
// emits the events the kernel would for each change it makes. Both expose a
// file descriptor that becomes readable when events are pending, so the agent
// waits for them in its epoll set.
//
// Sources: Linux lib/kobject_uevent.c (actions), drivers/base/dd.c (bind and
// unbind events), drivers/s390/cio/css.c and device.c, drivers/vfio/mdev/.
#ifndef CCWPASS_AGENT_UDEV_DEVICE_EVENTS_H_
#define CCWPASS_AGENT_UDEV_DEVICE_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ccwpass::agent {

// KOBJ_ADD, KOBJ_REMOVE, KOBJ_CHANGE, KOBJ_MOVE, KOBJ_BIND, KOBJ_UNBIND.
enum class DeviceAction { kAdd, kRemove, kChange, kMove, kBind, kUnbind };

// "add", "remove", ...: the uevent ACTION string.
std::string_view DeviceActionName(DeviceAction a);
// Parses an ACTION string; false for unknown actions ("online", "offline").
bool ParseDeviceAction(std::string_view s, DeviceAction* out);

struct DeviceEvent {
  DeviceAction action = DeviceAction::kChange;
  std::string subsystem;  // "css", "ccw", "mdev" (or "vfio" for the group node)
  std::string devpath;    // relative to the sysfs root: "devices/css0/0.0.0100"
  std::string sysname;    // last devpath component: "0.0.0100", a devno, an mdev UUID
  std::string driver;     // DRIVER of a bind event; empty otherwise
  uint64_t seqnum = 0;    // SEQNUM: increases by one per event the kernel sends
  bool operator==(const DeviceEvent&) const = default;
};

// A monitor of device events, filtered by subsystem when it was opened.
class DeviceEventSource {
 public:
  virtual ~DeviceEventSource() = default;

  // A file descriptor that is readable (EPOLLIN) while events are pending.
  // Owned by the source; valid until it is destroyed.
  virtual int fd() const = 0;

  // Appends up to `max` pending events to `out`, oldest first, without
  // blocking. Returns 0 (also when none were pending), or ENOBUFS when events
  // were lost because the receive queue overflowed (the caller must rescan),
  // or another errno from the socket.
  virtual int Receive(std::vector<DeviceEvent>* out, size_t max) = 0;
};

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_UDEV_DEVICE_EVENTS_H_
