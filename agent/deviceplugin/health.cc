#include "agent/deviceplugin/health.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace ccwpass::agent::deviceplugin {

uint8_t OperationalPaths(const SubchannelInfo& info, uint8_t varied_on) {
  return info.pim & info.pam & info.pom & varied_on;
}

std::set<uint8_t> UsableChpids(const SubchannelInfo& info, uint8_t varied_on) {
  const std::vector<uint8_t> chpids = info.ChpidsOf(OperationalPaths(info, varied_on));
  return std::set<uint8_t>(chpids.begin(), chpids.end());
}

Health AssessHealth(const SubchannelView& v, uint8_t varied_on, const std::string& owner,
                    const FailureRecord& failures, const HealthPolicy& policy, absl::Time now, bool* transient) {
  *transient = false;
  const std::string& schid = v.info.schid;
  auto sick = [](std::string why) { return Health{false, std::move(why)}; };
  if (!v.unavailable_reason.empty()) return sick(absl::StrCat(schid, " cannot be passed through: ", v.unavailable_reason));
  switch (v.state) {
    case AgentState::kAttaching:
    case AgentState::kDetaching:
      *transient = true;
      return Health{};
    case AgentState::kNotOperational:
      return sick(absl::StrCat(schid, " is not operational"));
    case AgentState::kForeign:
      return sick(absl::StrCat(schid, " is bound to vfio_ccw by someone else (mdev ",
                               v.info.mdev_uuid.empty() ? "none" : v.info.mdev_uuid, ")"));
    case AgentState::kAttached:
      return sick(absl::StrCat(schid, " is attached in agent mode (owner \"", v.owner, "\")"));
    case AgentState::kHandedOff:
      if (v.owner != owner) return sick(absl::StrCat(schid, " is handed off to \"", v.owner, "\""));
      break;
    default:
      break;
  }
  if (v.info.has_ccwdev && v.info.availability == "no device") {
    return sick(absl::StrCat(schid, " is not operational (availability \"no device\")"));
  }
  if (OperationalPaths(v.info, varied_on) == 0) {
    std::vector<std::string> off;
    for (uint8_t c : v.info.ChpidsOf(static_cast<uint8_t>(v.info.pim & ~varied_on))) off.push_back(absl::StrFormat("%02x", c));
    return sick(absl::StrFormat("%s has no operational channel path (PIM %02x PAM %02x POM %02x, varied offline: %s)",
                                schid, v.info.pim, v.info.pam, v.info.pom, off.empty() ? "none" : absl::StrJoin(off, " ")));
  }
  if (failures.in_a_row >= policy.failure_threshold && now < failures.last + policy.failure_cooldown) {
    return sick(absl::StrCat(schid, ": ", failures.in_a_row, " attaches in a row failed, the last: ", failures.last_error));
  }
  return Health{};
}

absl::StatusOr<std::vector<std::string>> PreferredAllocation(
    const std::vector<std::pair<std::string, std::set<uint8_t>>>& available,
    const std::vector<std::string>& must_include, int size) {
  if (size < 0 || static_cast<size_t>(size) > available.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("allocation_size ", size, " but ", available.size(), " devices are available"));
  }
  if (must_include.size() > static_cast<size_t>(size)) {
    return absl::InvalidArgumentError(
        absl::StrCat(must_include.size(), " must_include devices exceed allocation_size ", size));
  }
  std::vector<std::string> chosen;
  std::vector<bool> taken(available.size(), false);
  std::map<uint8_t, int> used;  // CHPID → devices chosen that use it
  auto take = [&](size_t i) {
    taken[i] = true;
    chosen.push_back(available[i].first);
    for (uint8_t c : available[i].second) ++used[c];
  };
  for (const std::string& id : must_include) {
    auto it = std::find_if(available.begin(), available.end(), [&](const auto& a) { return a.first == id; });
    if (it == available.end()) {
      return absl::InvalidArgumentError(absl::StrCat("must_include device ", id, " is not among the available devices"));
    }
    const size_t i = static_cast<size_t>(it - available.begin());
    if (!taken[i]) take(i);
  }
  while (chosen.size() < static_cast<size_t>(size)) {
    size_t best = available.size();
    int best_overlap = 0;
    for (size_t i = 0; i < available.size(); ++i) {
      if (taken[i]) continue;
      int overlap = 0;
      for (uint8_t c : available[i].second) overlap += used.count(c) ? used[c] : 0;
      if (best == available.size() || overlap < best_overlap ||
          (overlap == best_overlap && available[i].second.size() > available[best].second.size())) {
        best = i;
        best_overlap = overlap;
      }
    }
    take(best);
  }
  return chosen;
}

}  // namespace ccwpass::agent::deviceplugin
