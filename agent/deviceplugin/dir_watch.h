// Watches one directory for files appearing and disappearing, with inotify(7)
// directly. (Debian's libinotifytools was considered: it keeps one process-wide
// inotify instance in global state, is not thread-safe, waits in whole seconds
// and has no descriptor to poll together with a stop signal, so it cannot serve
// two watchers or stop promptly.) Used to notice the kubelet re-creating
// kubelet.sock in the device plugin directory after a restart.
#ifndef CCWPASS_AGENT_DEVICEPLUGIN_DIR_WATCH_H_
#define CCWPASS_AGENT_DEVICEPLUGIN_DIR_WATCH_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ccwpass::agent::deviceplugin {

struct DirEvent {
  enum class Kind { kCreated, kDeleted, kDirGone };
  Kind kind;
  std::string name;  // file name in the directory; empty for kDirGone
};

class DirWatch {
 public:
  // Watches `dir` (which must exist) for files created or moved in
  // (kCreated) and deleted or moved out (kDeleted). Errors: kNotFound /
  // kPermissionDenied / kResourceExhausted (inotify limits) naming the
  // directory and the errno.
  static absl::StatusOr<std::unique_ptr<DirWatch>> Create(const std::string& dir);
  ~DirWatch();

  // Waits up to `timeout` for events and returns them (empty on timeout or
  // after Wake()). kDirGone: the directory itself was deleted or moved; the
  // watch is over (create a new one when it is back).
  std::vector<DirEvent> Wait(absl::Duration timeout);
  // Makes a Wait in another thread return now. Thread-safe.
  void Wake();

  const std::string& dir() const { return dir_; }

 private:
  DirWatch() = default;
  std::string dir_;
  int inotify_ = -1, wake_ = -1;
};

}  // namespace ccwpass::agent::deviceplugin

#endif  // CCWPASS_AGENT_DEVICEPLUGIN_DIR_WATCH_H_
