#include "agent/core/events.h"

#include "absl/strings/str_cat.h"

namespace ccwpass::agent {

const char* AgentStateName(AgentState s) {
  static constexpr const char* kNames[] = {"unspecified", "detached",     "attaching", "detaching",
                                           "attached",    "handed-off",   "foreign",   "not-operational"};
  return kNames[static_cast<int>(s)];
}

const char* EventKindName(AgentEvent::Kind k) {
  static constexpr const char* kNames[] = {"unspecified", "hotplug",     "attached",       "detached", "state",
                                           "crw",         "unsolicited", "device-request", "overflow"};
  return kNames[static_cast<int>(k)];
}

bool EventWatcher::Wants(const AgentEvent& e) const {
  if (!kinds_.empty() && !kinds_.count(e.kind)) return false;
  if (!schids_.empty() && !schids_.count(e.schid)) return false;
  return true;
}

bool EventWatcher::Push(const AgentEvent& e) {
  std::function<void()> notify;
  {
    absl::MutexLock l(&mu_);
    if (q_.size() >= capacity_) {
      ++pending_drops_;
      ++dropped_total_;
      return false;
    }
    const bool was_empty = q_.empty();
    q_.push_back(e);
    if (was_empty) notify = notify_;
  }
  if (notify) notify();
  return true;
}

bool EventWatcher::PopLocked(AgentEvent* out) {
  if (pending_drops_ > 0) {
    *out = AgentEvent{};
    out->kind = AgentEvent::Kind::kOverflow;
    out->time = absl::Now();
    out->dropped = pending_drops_;
    out->message = absl::StrCat("this watcher fell behind: ", pending_drops_, " events were dropped");
    pending_drops_ = 0;
    return true;
  }
  if (q_.empty()) return false;
  *out = std::move(q_.front());
  q_.pop_front();
  return true;
}

bool EventWatcher::Next(AgentEvent* out, absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !q_.empty() || pending_drops_ > 0; };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  return PopLocked(out);
}

bool EventWatcher::TryNext(AgentEvent* out) {
  absl::MutexLock l(&mu_);
  return PopLocked(out);
}

void EventWatcher::SetNotify(std::function<void()> fn) {
  absl::MutexLock l(&mu_);
  notify_ = std::move(fn);
}

uint64_t EventWatcher::dropped_total() const {
  absl::MutexLock l(&mu_);
  return dropped_total_;
}

std::shared_ptr<EventWatcher> EventBus::Watch(std::set<AgentEvent::Kind> kinds, std::set<std::string> schids,
                                              size_t capacity) {
  auto w = std::make_shared<EventWatcher>();
  w->kinds_ = std::move(kinds);
  w->schids_ = std::move(schids);
  w->capacity_ = capacity;
  absl::MutexLock l(&mu_);
  watchers_.push_back(w);
  return w;
}

void EventBus::Publish(AgentEvent e) {
  absl::MutexLock order(&publish_mu_);  // watchers see events in seq order
  std::vector<std::shared_ptr<EventWatcher>> targets;
  {
    absl::MutexLock l(&mu_);
    e.seq = ++seq_;
    e.time = absl::Now();
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      if (auto w = it->lock()) {
        if (w->Wants(e)) targets.push_back(std::move(w));
        ++it;
      } else {
        it = watchers_.erase(it);
      }
    }
  }
  uint64_t lost = 0;
  for (auto& w : targets) lost += w->Push(e) ? 0 : 1;
  if (lost) drops_.fetch_add(lost, std::memory_order_relaxed);
}

uint64_t EventBus::last_seq() const {
  absl::MutexLock l(&mu_);
  return seq_;
}

uint64_t EventBus::dropped_total() const { return drops_.load(std::memory_order_relaxed); }

}  // namespace ccwpass::agent
