// The agent's event bus: what happens to subchannels, published once and
// fanned out to every watcher (the gRPC Events stream, the device plugin,
// metrics). Each watcher has a bounded queue; when it is full the watcher
// loses events and is told how many with an OVERFLOW event before the next
// one it gets: never silent.
#ifndef CCWPASS_AGENT_CORE_EVENTS_H_
#define CCWPASS_AGENT_CORE_EVENTS_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "translate/arch.h"

namespace ccwpass::agent {

// The agent's view of a subchannel (proto ccw.v1.SubchannelState).
enum class AgentState : uint8_t {
  kUnspecified, kDetached, kAttaching, kDetaching, kAttached, kHandedOff, kForeign, kNotOperational
};
const char* AgentStateName(AgentState s);

struct AgentEvent {
  // Values equal proto ccw.v1.Event.Kind.
  enum class Kind : uint8_t {
    kUnspecified, kHotplug, kAttached, kDetached, kStateChanged, kCrw, kUnsolicited, kDeviceRequest, kOverflow
  };
  uint64_t seq = 0;
  absl::Time time;
  Kind kind = Kind::kUnspecified;
  std::string schid;
  std::string message;
  std::string action, subsystem;  // kHotplug
  AgentState state = AgentState::kUnspecified, previous = AgentState::kUnspecified;
  uint32_t crw = 0;                // kCrw: the CRW word
  std::optional<translate::Irb> irb;  // kUnsolicited
  uint64_t dropped = 0;            // kOverflow
};
const char* EventKindName(AgentEvent::Kind k);

class EventBus;

// One watcher's queue.
class EventWatcher {
 public:
  // Takes the next event, waiting up to `timeout`; false on timeout or when
  // the bus is gone. An OVERFLOW event comes first after losses.
  bool Next(AgentEvent* out, absl::Duration timeout);
  // Takes the next event without waiting; false when none.
  bool TryNext(AgentEvent* out);
  // Called (on the publisher's thread, without locks) when an event arrives
  // in an empty queue; for callback-driven consumers (gRPC reactors).
  void SetNotify(std::function<void()> fn);
  uint64_t dropped_total() const;

 private:
  friend class EventBus;
  bool Wants(const AgentEvent& e) const;
  // False when the queue was full and the event was lost.
  bool Push(const AgentEvent& e);
  bool PopLocked(AgentEvent* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::set<AgentEvent::Kind> kinds_;
  std::set<std::string> schids_;
  size_t capacity_ = 1024;
  mutable absl::Mutex mu_;
  std::deque<AgentEvent> q_ ABSL_GUARDED_BY(mu_);
  uint64_t pending_drops_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_total_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void()> notify_ ABSL_GUARDED_BY(mu_);
};

class EventBus {
 public:
  // A watcher of `kinds` (empty: all) for `schids` (empty: all), with a queue
  // of `capacity` events. It stops receiving when the returned pointer dies.
  std::shared_ptr<EventWatcher> Watch(std::set<AgentEvent::Kind> kinds, std::set<std::string> schids,
                                      size_t capacity = 1024);
  // Stamps seq and time and delivers to every interested watcher.
  void Publish(AgentEvent e);
  uint64_t last_seq() const;
  // Deliveries lost because a watcher's queue was full, over all watchers
  // (including ones gone since), since the bus was made.
  uint64_t dropped_total() const;

 private:
  std::atomic<uint64_t> drops_{0};
  absl::Mutex publish_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::weak_ptr<EventWatcher>> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_CORE_EVENTS_H_
