// A fake kubelet for tests: it speaks the real v1beta1 device plugin protocol
// over Unix sockets in a directory of the test's, the way the kubelet does
// (reference/kubelet-device-plugin.md):
// - serves v1beta1.Registration on <dir>/kubelet.sock and records every
//   RegisterRequest (refusing a version other than "v1beta1", as the kubelet does);
// - after each registration dials <dir>/<endpoint>, calls
//   GetDevicePluginOptions and keeps a ListAndWatch stream open, recording
//   every device list;
// - Restart() does what a kubelet restart does to the directory: stops
//   serving, removes every file in it, and serves kubelet.sock again.
#ifndef CCWPASS_AGENT_DEVICEPLUGIN_TESTING_FAKE_KUBELET_H_
#define CCWPASS_AGENT_DEVICEPLUGIN_TESTING_FAKE_KUBELET_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/deviceplugin/v1beta1/api.grpc.pb.h"

namespace ccwpass::agent::deviceplugin::testing {

// The kubelet's side of one registered plugin.
class PluginConnection {
 public:
  PluginConnection(const std::string& socket_path);
  ~PluginConnection();  // cancels the ListAndWatch stream

  v1beta1::DevicePlugin::Stub& stub() { return *stub_; }
  // What GetDevicePluginOptions answered (error: the status).
  const grpc::Status& options_status() const { return options_status_; }
  const v1beta1::DevicePluginOptions& options() const { return options_; }

  // Every device list received so far, in order.
  std::vector<v1beta1::ListAndWatchResponse> lists();
  // Waits until the latest list satisfies `pred`; returns it, or nullopt on timeout.
  std::optional<v1beta1::ListAndWatchResponse> WaitForList(
      const std::function<bool(const v1beta1::ListAndWatchResponse&)>& pred, absl::Duration timeout);
  // Waits until more than `n` lists have arrived; returns the (n+1)th.
  std::optional<v1beta1::ListAndWatchResponse> WaitForListAfter(size_t n, absl::Duration timeout);

 private:
  std::unique_ptr<v1beta1::DevicePlugin::Stub> stub_;
  grpc::Status options_status_;
  v1beta1::DevicePluginOptions options_;
  grpc::ClientContext law_ctx_;
  std::thread reader_;
  absl::Mutex mu_;
  std::vector<v1beta1::ListAndWatchResponse> lists_ ABSL_GUARDED_BY(mu_);
};

class FakeKubelet {
 public:
  // Serves kubelet.sock in `dir` (which must exist).
  static absl::StatusOr<std::unique_ptr<FakeKubelet>> Start(const std::string& dir);
  ~FakeKubelet();

  // Answers Register with `status` from now on (OK: accept again).
  void SetRegisterStatus(grpc::Status status);
  // The RegisterRequests received (accepted or not) and when.
  std::vector<v1beta1::RegisterRequest> registrations();
  std::vector<absl::Time> registration_times();
  // Waits until at least `n` registrations were accepted and their plugin
  // connections are set up; false on timeout.
  bool WaitForAccepted(size_t n, absl::Duration timeout);
  // The connection to the latest accepted registration of `resource`, or null.
  std::shared_ptr<PluginConnection> plugin(const std::string& resource);

  // A kubelet restart: stop serving, drop the plugin connections, remove
  // every file in the directory, serve kubelet.sock again. Returns the time
  // kubelet.sock was created anew.
  absl::StatusOr<absl::Time> Restart();
  const std::string& socket_path() const { return socket_path_; }

 private:
  class Registration;
  FakeKubelet() = default;
  absl::Status Serve();
  grpc::Status OnRegister(const v1beta1::RegisterRequest& req);

  std::string dir_, socket_path_;
  std::unique_ptr<Registration> service_;
  std::unique_ptr<grpc::Server> server_;

  absl::Mutex mu_;
  grpc::Status register_status_ ABSL_GUARDED_BY(mu_);
  std::vector<v1beta1::RegisterRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> times_ ABSL_GUARDED_BY(mu_);
  size_t accepted_ ABSL_GUARDED_BY(mu_) = 0;  // connections set up
  std::map<std::string, std::shared_ptr<PluginConnection>> plugins_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> dialers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ccwpass::agent::deviceplugin::testing

#endif  // CCWPASS_AGENT_DEVICEPLUGIN_TESTING_FAKE_KUBELET_H_
