#include "agent/deviceplugin/dir_watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ccwpass::agent::deviceplugin {

absl::StatusOr<std::unique_ptr<DirWatch>> DirWatch::Create(const std::string& dir) {
  std::unique_ptr<DirWatch> w(new DirWatch());
  w->dir_ = dir;
  auto fail = [&](const char* what) {
    const int err = errno;
    const std::string msg = absl::StrCat("watch ", dir, ": ", what, ": ", std::strerror(err));
    switch (err) {
      case ENOENT: case ENOTDIR: return absl::NotFoundError(msg);
      case EACCES: case EPERM: return absl::PermissionDeniedError(msg);
      case EMFILE: case ENFILE: case ENOSPC: case ENOMEM: return absl::ResourceExhaustedError(msg);
      default: return absl::InternalError(msg);
    }
  };
  w->inotify_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (w->inotify_ < 0) return fail("inotify_init1");
  w->wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w->wake_ < 0) return fail("eventfd");
  if (inotify_add_watch(w->inotify_, dir.c_str(),
                        IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF |
                            IN_ONLYDIR) < 0) {
    return fail("inotify_add_watch");
  }
  return w;
}

DirWatch::~DirWatch() {
  if (inotify_ >= 0) close(inotify_);
  if (wake_ >= 0) close(wake_);
}

void DirWatch::Wake() {
  const uint64_t one = 1;
  (void)!write(wake_, &one, sizeof one);
}

std::vector<DirEvent> DirWatch::Wait(absl::Duration timeout) {
  std::vector<DirEvent> out;
  pollfd fds[2] = {{inotify_, POLLIN, 0}, {wake_, POLLIN, 0}};
  const int ms = static_cast<int>(absl::ToInt64Milliseconds(std::max(timeout, absl::ZeroDuration())));
  if (poll(fds, 2, ms) <= 0) return out;
  if (fds[1].revents & POLLIN) {
    uint64_t v;
    (void)!read(wake_, &v, sizeof v);
  }
  alignas(inotify_event) char buf[8192];
  for (;;) {
    const ssize_t n = read(inotify_, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      const std::string name = e->len ? std::string(e->name) : std::string();
      if (e->mask & (IN_CREATE | IN_MOVED_TO)) {
        out.push_back({DirEvent::Kind::kCreated, name});
      } else if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
        out.push_back({DirEvent::Kind::kDeleted, name});
      } else if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        out.push_back({DirEvent::Kind::kDirGone, ""});
      }
    }
  }
  return out;
}

}  // namespace ccwpass::agent::deviceplugin
