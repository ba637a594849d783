#include "agent/access/unix_listener.h"

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/server_posix.h"
#include "spdlog/spdlog.h"

namespace ccwpass::agent::access {
namespace {

std::string Errno(int e) { return absl::StrCat(std::strerror(e), " (errno ", e, ")"); }

}  // namespace

absl::StatusOr<Identity> UnixPeerIdentity(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return absl::InternalError(absl::StrCat("SO_PEERCRED: ", Errno(errno)));
  }
  Identity id;
  id.kind = Identity::Kind::kUnix;
  id.uid = cred.uid;
  id.gid = cred.gid;
  id.pid = cred.pid;
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* pwp = nullptr;
  if (getpwuid_r(cred.uid, &pw, buf.data(), buf.size(), &pwp) == 0 && pwp != nullptr) id.user = pwp->pw_name;
  id.groups = {cred.gid};
  if (!id.user.empty()) {
    int n = 64;
    std::vector<gid_t> gs(n);
    if (getgrouplist(id.user.c_str(), cred.gid, gs.data(), &n) < 0) {
      gs.resize(n);
      if (getgrouplist(id.user.c_str(), cred.gid, gs.data(), &n) < 0) n = 0;
    }
    for (int i = 0; i < n; ++i) {
      if (gs[i] != cred.gid) id.groups.push_back(gs[i]);
    }
  }
  for (uint32_t g : id.groups) {
    struct group gr {};
    struct group* grp = nullptr;
    if (getgrgid_r(g, &gr, buf.data(), buf.size(), &grp) == 0 && grp != nullptr) id.group_names.push_back(grp->gr_name);
  }
  return id;
}

void PeerRegistry::Put(const std::string& peer, Identity id) {
  absl::MutexLock l(&mu_);
  peers_[peer] = std::move(id);
}

std::optional<Identity> PeerRegistry::Find(const std::string& peer) const {
  absl::MutexLock l(&mu_);
  auto it = peers_.find(peer);
  if (it == peers_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::unique_ptr<UnixListener>> UnixListener::Listen(const std::string& path, mode_t mode) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path \"", path, "\" must be 1 to ", sizeof addr.sun_path - 1, " bytes"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(path, ": socket: ", Errno(errno)));
  ::unlink(path.c_str());
  auto fail = [&](const char* what) {
    const int e = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat(path, ": ", what, ": ", Errno(e)));
  };
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail("bind");
  if (::chmod(path.c_str(), mode) != 0) return fail("chmod");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail("stat");
  if (listen(fd, 128) != 0) return fail("listen");
  const int wake = eventfd(0, EFD_CLOEXEC);
  if (wake < 0) return fail("eventfd");
  return std::unique_ptr<UnixListener>(new UnixListener(fd, path, st.st_gid, wake));
}

UnixListener::UnixListener(int fd, std::string path, uint32_t gid, int wake_fd)
    : fd_(fd), path_(std::move(path)), socket_gid_(gid), wake_fd_(wake_fd) {}

UnixListener::~UnixListener() { Stop(); }

void UnixListener::Start(grpc::Server* server, PeerRegistry* registry) {
  thread_ = std::thread([this, server, registry] { AcceptLoop(server, registry); });
}

void UnixListener::AcceptLoop(grpc::Server* server, PeerRegistry* registry) {
  for (;;) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("{}: poll: {}", path_, Errno(errno));
      return;
    }
    if (p[1].revents != 0) return;
    if (p[0].revents == 0) continue;
    const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        spdlog::warn("{}: accept: {}", path_, Errno(errno));
      }
      continue;
    }
    absl::StatusOr<Identity> id = UnixPeerIdentity(c);
    if (!id.ok()) {
      spdlog::warn("{}: a connection without credentials is closed: {}", path_, id.status().ToString());
      ::close(c);
      continue;
    }
    id->peer = absl::StrCat("fd:", c);
    spdlog::debug("{}: connection {} from {} (pid {})", path_, id->peer, id->Describe(), id->pid);
    registry->Put(id->peer, *id);
    grpc::AddInsecureChannelFromFd(server, c);
  }
}

void UnixListener::Stop() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  ::close(wake_fd_);
  wake_fd_ = -1;
  ::close(fd_);
  ::unlink(path_.c_str());
}

}  // namespace ccwpass::agent::access
