#include "agent/udev/device_events.h"

namespace ccwpass::agent {
namespace {
constexpr std::string_view kActionNames[] = {"add", "remove", "change", "move", "bind", "unbind"};
}  // namespace

std::string_view DeviceActionName(DeviceAction a) { return kActionNames[static_cast<int>(a)]; }

bool ParseDeviceAction(std::string_view s, DeviceAction* out) {
  for (int i = 0; i < 6; ++i) {
    if (kActionNames[i] == s) {
      *out = static_cast<DeviceAction>(i);
      return true;
    }
  }
  return false;
}

}  // namespace ccwpass::agent
