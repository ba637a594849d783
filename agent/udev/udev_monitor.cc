#include "agent/udev/udev_monitor.h"

#include <libudev.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/absl_view.h"
#include "spdlog/spdlog.h"

namespace ccwpass::agent {
namespace {

std::string_view OrEmpty(const char* s) { return s ? std::string_view(s) : std::string_view(); }

absl::Status ErrnoStatus(int err, std::string_view what) {
  if (err == 0) err = ENOMEM;  // libudev's allocation failures leave errno unset
  return absl::ErrnoToStatus(err, AbslView(what));
}

}  // namespace

std::optional<DeviceEvent> DeviceEventFromProperties(std::string_view action, std::string_view subsystem,
                                                     std::string_view devpath, std::string_view driver,
                                                     std::string_view seqnum) {
  DeviceEvent e;
  if (!ParseDeviceAction(action, &e.action)) return std::nullopt;
  if (devpath.size() < 2 || devpath.front() != '/' || devpath.back() == '/') return std::nullopt;
  if (seqnum.empty() || !std::all_of(seqnum.begin(), seqnum.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(AbslView(seqnum), &e.seqnum)) {
    return std::nullopt;
  }
  e.subsystem = std::string(subsystem);
  e.devpath = std::string(devpath.substr(1));
  e.sysname = std::string(devpath.substr(devpath.rfind('/') + 1));
  e.driver = std::string(driver);
  return e;
}

absl::StatusOr<std::unique_ptr<UdevMonitor>> UdevMonitor::Create(std::vector<std::string> subsystems,
                                                                 std::string source) {
  if (source != "kernel" && source != "udev") {
    return absl::InvalidArgumentError(
        absl::StrCat("udev monitor source '", source, "': expected \"kernel\" or \"udev\""));
  }
  for (const std::string& s : subsystems) {
    if (s.empty()) return absl::InvalidArgumentError("udev monitor: empty subsystem name");
  }
  errno = 0;
  struct udev* udev = udev_new();
  if (udev == nullptr) return ErrnoStatus(errno, "udev_new");
  errno = 0;
  struct udev_monitor* mon = udev_monitor_new_from_netlink(udev, source.c_str());
  if (mon == nullptr) {
    const int err = errno;
    udev_unref(udev);
    return ErrnoStatus(err, absl::StrCat("udev_monitor_new_from_netlink(\"", source, "\")"));
  }
  std::unique_ptr<UdevMonitor> m(new UdevMonitor(udev, mon, std::move(subsystems)));
  for (const std::string& s : m->subsystems_) {
    const int rc = udev_monitor_filter_add_match_subsystem_devtype(mon, s.c_str(), nullptr);
    if (rc < 0) return ErrnoStatus(-rc, absl::StrCat("udev monitor filter for subsystem ", s));
  }
  const int rc = udev_monitor_enable_receiving(mon);  // installs the filter, binds
  if (rc < 0) return ErrnoStatus(-rc, "udev_monitor_enable_receiving");
  if (const int b = udev_monitor_set_receive_buffer_size(mon, kReceiveBufferBytes); b < 0) {
    spdlog::debug("udev monitor: cannot set a {} byte receive buffer: errno {}", kReceiveBufferBytes, -b);
  }
  return m;
}

UdevMonitor::~UdevMonitor() {
  if (mon_ != nullptr) udev_monitor_unref(mon_);
  if (udev_ != nullptr) udev_unref(udev_);
}

int UdevMonitor::fd() const { return udev_monitor_get_fd(mon_); }

int UdevMonitor::Receive(std::vector<DeviceEvent>* out, size_t max) {
  while (max > 0) {
    errno = 0;
    struct udev_device* dev = udev_monitor_receive_device(mon_);
    if (dev == nullptr) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == 0 || err == EAGAIN || err == EWOULDBLOCK) return 0;
      return err;  // ENOBUFS: the kernel dropped events
    }
    std::optional<DeviceEvent> e = DeviceEventFromProperties(
        OrEmpty(udev_device_get_action(dev)), OrEmpty(udev_device_get_subsystem(dev)),
        OrEmpty(udev_device_get_devpath(dev)), OrEmpty(udev_device_get_property_value(dev, "DRIVER")),
        OrEmpty(udev_device_get_property_value(dev, "SEQNUM")));
    udev_device_unref(dev);
    if (!e) continue;
    if (!subsystems_.empty() &&
        std::find(subsystems_.begin(), subsystems_.end(), e->subsystem) == subsystems_.end()) {
      continue;
    }
    out->push_back(std::move(*e));
    --max;
  }
  return 0;
}

}  // namespace ccwpass::agent
