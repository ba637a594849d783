// The agent's Unix socket, accepted by the agent itself so that each
// connection's credentials come from the kernel: SO_PEERCRED (uid, gid, pid)
// at accept, the user's supplementary groups from the user database, then the
// connection is handed to the gRPC server (grpc::AddInsecureChannelFromFd,
// grpcpp/server_posix.h). gRPC names such a connection's peer "fd:<fd>"; the
// PeerRegistry maps that name to the identity for the services (access.h).
//
// A connection's fd stays open as long as gRPC has a call on it (the
// transport owns it until its last call is gone), so "fd:<n>" names one
// connection for the life of every call on it; a later connection that gets
// the same number replaces the entry before it is handed to gRPC.
// Sources: unix(7) SO_PEERCRED, getgrouplist(3), gRPC 1.51
// src/core/ext/transport/chttp2/server/chttp2_server.cc (grpc_server_add_channel_from_fd).
#ifndef CCWPASS_AGENT_ACCESS_UNIX_LISTENER_H_
#define CCWPASS_AGENT_ACCESS_UNIX_LISTENER_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/access/policy.h"
#include "grpcpp/grpcpp.h"

namespace ccwpass::agent::access {

// The identity of the peer of a connected Unix socket: SO_PEERCRED, the user
// name of the uid, its groups (getgrouplist of the name; just the gid when
// the uid has no name) and their names. `peer` is left empty. Errors:
// kInternal with the errno when getsockopt fails (not a Unix socket).
absl::StatusOr<Identity> UnixPeerIdentity(int fd);

// gRPC peer name → identity, for the connections of a UnixListener.
class PeerRegistry {
 public:
  void Put(const std::string& peer, Identity id);
  // The identity of `peer` ("fd:12"), or nullopt when it is not a connection
  // of the listener.
  std::optional<Identity> Find(const std::string& peer) const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, Identity> peers_ ABSL_GUARDED_BY(mu_);
};

class UnixListener {
 public:
  // Binds a Unix stream socket at `path` (an old file there is removed),
  // sets its mode to `mode` and listens. Errors: kInvalidArgument for a path
  // longer than sun_path (107 bytes); kUnavailable with the errno when
  // socket, bind, chmod or listen fail, naming the path.
  static absl::StatusOr<std::unique_ptr<UnixListener>> Listen(const std::string& path, mode_t mode);
  ~UnixListener();

  // The group of the socket file (its gid after bind: the agent's egid or
  // the directory's setgid group).
  uint32_t socket_gid() const { return socket_gid_; }
  const std::string& path() const { return path_; }

  // Starts the accept thread: every connection's identity goes into
  // `registry` as "fd:<fd>", then the fd goes to `server` (started, and
  // outliving Stop()). Both must outlive the listener.
  void Start(grpc::Server* server, PeerRegistry* registry);
  // Stops accepting, closes the listening socket and removes the file.
  void Stop();

 private:
  UnixListener(int fd, std::string path, uint32_t gid, int wake_fd);
  void AcceptLoop(grpc::Server* server, PeerRegistry* registry);

  int fd_;
  const std::string path_;
  const uint32_t socket_gid_;
  int wake_fd_;  // eventfd that ends the accept loop
  std::thread thread_;
};

}  // namespace ccwpass::agent::access

#endif  // CCWPASS_AGENT_ACCESS_UNIX_LISTENER_H_
