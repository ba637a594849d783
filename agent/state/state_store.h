// The agent's desired state: which subchannels are attached, how, and with
// which mdev UUID. Persisted as JSON under a state directory (a flag) with
// atomic replacement (write a temporary file, fsync it, rename it over the
// old one, fsync the directory), so that a crash at any point leaves either
// the old or the new file, never a torn one. The agent reconciles the host
// against it at start and after hotplug.
#ifndef CCWPASS_AGENT_STATE_STATE_STORE_H_
#define CCWPASS_AGENT_STATE_STATE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace ccwpass::agent {

// True for a UUID as the kernel prints mdev names (%pUl): 8-4-4-4-12
// lower-case hex digits.
bool IsMdevUuid(std::string_view uuid);

struct DesiredAttachment {
  std::string schid;      // "0.0.0100"
  bool handoff = false;   // hand-off mode (else agent mode)
  std::string mdev_uuid;  // lower-case UUID
  std::string owner;      // who attached it
  int64_t attached_at = 0;  // Unix seconds
  // A detach was started and has not finished: reconcile finishes it. (An
  // attach writes its entry before its first step, so an unfinished attach is
  // finished by reconcile too.)
  bool detaching = false;
  bool operator==(const DesiredAttachment&) const = default;
};

class StateStore {
 public:
  static constexpr const char* kFileName = "state.json";

  // Opens the store in `dir` (created 0700 if missing) and loads state.json
  // (absent: empty). An empty `dir` keeps the state in memory only.
  // Errors: kDataLoss when the file is not valid state (the message names the
  // file and what is wrong, and says to move it aside); kPermissionDenied /
  // kInternal when the directory cannot be created or read.
  static absl::StatusOr<std::unique_ptr<StateStore>> Open(const std::string& dir);

  std::map<std::string, DesiredAttachment> entries() const;
  // One entry (a lookup, not a copy of the whole state).
  std::optional<DesiredAttachment> Get(const std::string& schid) const;
  // Adds or replaces an entry and persists. Errors: kInternal naming the file
  // and errno; the in-memory state is unchanged then.
  //
  // Group commit: a Put or Remove that arrives while another is writing waits
  // for that write, then all that waited are written together (one file
  // write, one fsync of the file and one of the directory for all of them).
  // Each returns when its change is on disk, or with the error of the write
  // that carried it (its change is then not applied).
  absl::Status Put(const DesiredAttachment& a);
  // Removes an entry (absent: no-op) and persists.
  absl::Status Remove(const std::string& schid);
  const std::string& path() const { return path_; }

  // Parses the file's text (for tests and fuzzing). kDataLoss on bad input.
  static absl::StatusOr<std::map<std::string, DesiredAttachment>> Parse(const std::string& text,
                                                                      const std::string& where);
  static std::string Serialize(const std::map<std::string, DesiredAttachment>& entries);

 private:
  // A change waiting to be written.
  struct Change {
    std::function<void(std::map<std::string, DesiredAttachment>&)> apply;
    bool done = false;
    absl::Status status;
  };
  absl::Status Commit(Change& c);
  absl::Status Persist(const std::map<std::string, DesiredAttachment>& entries);
  std::string dir_, path_;
  mutable absl::Mutex mu_;
  std::map<std::string, DesiredAttachment> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<Change*> queue_ ABSL_GUARDED_BY(mu_);  // waiting for the next write
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_STATE_STATE_STORE_H_
