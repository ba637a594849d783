#include "agent/sysfs/file_sysfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace ccwpass::agent {
namespace {

// Closes a descriptor on scope exit without touching errno.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) {
      const int saved = errno;
      ::close(fd_);
      errno = saved;
    }
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

int OpenRetry(const char* path, int flags) {
  int fd;
  do {
    fd = ::open(path, flags | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

}  // namespace

bool IsSafeRelativePath(std::string_view path) {
  if (!path.empty() && path.front() == '/') return false;
  if (path.find('\0') != std::string_view::npos) return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

FileSysfs::FileSysfs(std::string root) : root_(std::move(root)) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

bool FileSysfs::FullPath(std::string_view path, std::string* full) const {
  if (!IsSafeRelativePath(path)) return false;
  full->clear();
  full->reserve(root_.size() + 1 + path.size());
  full->append(root_);
  full->push_back('/');
  full->append(path);
  return true;
}

std::string FileSysfs::Describe(std::string_view path) const {
  std::string s = root_;
  s.push_back('/');
  s.append(path);
  return s;
}

int FileSysfs::Read(std::string_view path, std::string* value) {
  std::string full;
  if (!FullPath(path, &full)) return EINVAL;
  const int fd = OpenRetry(full.c_str(), O_RDONLY);
  if (fd < 0) return errno;
  FdCloser closer(fd);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > kMaxReadBytes) return EFBIG;
    out.append(buf, static_cast<size_t>(n));
  }
  *value = std::move(out);
  return 0;
}

int FileSysfs::Write(std::string_view path, std::string_view value) {
  std::string full;
  if (!FullPath(path, &full)) return EINVAL;
  if (value.empty()) value = "\n";
  const int fd = OpenRetry(full.c_str(), O_WRONLY | O_TRUNC);
  if (fd < 0) return errno;
  FdCloser closer(fd);
  const ssize_t n = ::write(fd, value.data(), value.size());
  if (n < 0) return errno;
  if (static_cast<size_t>(n) != value.size()) return EIO;
  return 0;
}

int FileSysfs::List(std::string_view dir, std::vector<std::string>* names) {
  names->clear();
  std::string full;
  if (!FullPath(dir, &full)) return EINVAL;
  DIR* d = ::opendir(full.c_str());
  if (d == nullptr) return errno;
  std::vector<std::string> v;
  int err = 0;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (e == nullptr) {
      err = errno;
      break;
    }
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    v.emplace_back(e->d_name);
  }
  ::closedir(d);
  if (err != 0) return err;
  std::sort(v.begin(), v.end());
  *names = std::move(v);
  return 0;
}

int FileSysfs::ReadLink(std::string_view path, std::string* target) {
  std::string full;
  if (!FullPath(path, &full)) return EINVAL;
  std::string buf(256, '\0');
  for (;;) {
    const ssize_t n = ::readlink(full.c_str(), buf.data(), buf.size());
    if (n < 0) return errno;
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      *target = std::move(buf);
      return 0;
    }
    // Possibly truncated: try again with more room (PATH_MAX is 4096).
    if (buf.size() >= 65536) return ENAMETOOLONG;
    buf.resize(buf.size() * 4);
  }
}

bool FileSysfs::Exists(std::string_view path) {
  std::string full;
  if (!FullPath(path, &full)) return false;
  struct stat st;
  return ::lstat(full.c_str(), &st) == 0;
}

}  // namespace ccwpass::agent
