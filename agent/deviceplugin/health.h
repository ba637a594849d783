// The device plugin's pure decisions: whether a device is Healthy, and which
// devices to prefer for an allocation. No I/O here; the plugin feeds them
// what the agent and sysfs say.
//
// Health rules (docs/device-plugin.md), first that applies:
//   removed                    the subchannel left the css bus
//   cannot be passed through   the agent's unavailable reason (QDIO, no device, ...)
//   not operational            the agent says NOT_OPER, or the ccw device's availability is "no device"
//   in use by someone else     FOREIGN, attached in agent mode, handed off to another owner
//   no operational path        PIM & PAM & POM & (paths whose CHPID is varied online) is 0
//   failing persistently       `threshold` attaches in a row failed, until `cooldown` after the last one
// Sources: SA22-7832 ch. 15 (PIM/PAM/POM), Linux drivers/s390/cio/chp.c
// (chp status), reference/kubelet-device-plugin.md.
#ifndef CCWPASS_AGENT_DEVICEPLUGIN_HEALTH_H_
#define CCWPASS_AGENT_DEVICEPLUGIN_HEALTH_H_

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/core/agent.h"

namespace ccwpass::agent::deviceplugin {

inline constexpr char kHealthy[] = "Healthy";
inline constexpr char kUnhealthy[] = "Unhealthy";

// Attach failures of one device, counted by the plugin.
struct FailureRecord {
  int in_a_row = 0;
  absl::Time last;
  std::string last_error;
};

struct HealthPolicy {
  int failure_threshold = 3;
  absl::Duration failure_cooldown = absl::Seconds(60);
};

struct Health {
  bool healthy = true;
  std::string reason;  // empty when healthy
  bool operator==(const Health&) const = default;
};

// The paths of `info` that can carry I/O: PIM & PAM & POM & `varied_on` (a
// mask in PIM bit order, 0x80 = path 0).
uint8_t OperationalPaths(const SubchannelInfo& info, uint8_t varied_on);

// The health of a present subchannel `v`, as the plugin of resource owner
// `owner` ("kubelet:ccwpass.io/dasd-3390") sees it at `now`. `varied_on` as in
// OperationalPaths. Transient agent states (attaching, detaching) are not
// judged: the caller keeps the previous health (`transient` is set true).
Health AssessHealth(const SubchannelView& v, uint8_t varied_on, const std::string& owner,
                    const FailureRecord& failures, const HealthPolicy& policy, absl::Time now, bool* transient);

// The CHPIDs a device's I/O can use now (operational paths only).
std::set<uint8_t> UsableChpids(const SubchannelInfo& info, uint8_t varied_on);

// GetPreferredAllocation for one container: `size` devices of `available`
// (device ID → its usable CHPIDs), every ID of `must_include` first, then
// greedily the device that shares the fewest CHPIDs with those chosen so
// far; ties go to the device with more usable CHPIDs, then to the smaller ID
// order in `available` (the kubelet's order). Errors: kInvalidArgument when
// `size` exceeds the available devices, a must_include ID is not available,
// or must_include has more than `size` IDs (naming the ID or the counts).
absl::StatusOr<std::vector<std::string>> PreferredAllocation(
    const std::vector<std::pair<std::string, std::set<uint8_t>>>& available,
    const std::vector<std::string>& must_include, int size);

}  // namespace ccwpass::agent::deviceplugin

#endif  // CCWPASS_AGENT_DEVICEPLUGIN_HEALTH_H_
