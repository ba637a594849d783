#include "agent/deviceplugin/testing/fake_kubelet.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace ccwpass::agent::deviceplugin::testing {

// ---------------------------------------------------------------------------
// PluginConnection.

PluginConnection::PluginConnection(const std::string& socket_path) {
  stub_ = v1beta1::DevicePlugin::NewStub(
      grpc::CreateChannel("unix:" + socket_path, grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    options_status_ = stub_->GetDevicePluginOptions(&ctx, v1beta1::Empty(), &options_);
  }
  reader_ = std::thread([this] {
    std::unique_ptr<grpc::ClientReader<v1beta1::ListAndWatchResponse>> r =
        stub_->ListAndWatch(&law_ctx_, v1beta1::Empty());
    v1beta1::ListAndWatchResponse msg;
    while (r->Read(&msg)) {
      absl::MutexLock l(&mu_);
      lists_.push_back(msg);
    }
    (void)r->Finish();
  });
}

PluginConnection::~PluginConnection() {
  law_ctx_.TryCancel();
  reader_.join();
}

std::vector<v1beta1::ListAndWatchResponse> PluginConnection::lists() {
  absl::MutexLock l(&mu_);
  return lists_;
}

std::optional<v1beta1::ListAndWatchResponse> PluginConnection::WaitForList(
    const std::function<bool(const v1beta1::ListAndWatchResponse&)>& pred, absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  auto ok = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !lists_.empty() && pred(lists_.back()); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ok), timeout)) return std::nullopt;
  return lists_.back();
}

std::optional<v1beta1::ListAndWatchResponse> PluginConnection::WaitForListAfter(size_t n, absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  auto ok = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return lists_.size() > n; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ok), timeout)) return std::nullopt;
  return lists_[n];
}

// ---------------------------------------------------------------------------
// FakeKubelet.

class FakeKubelet::Registration final : public v1beta1::Registration::Service {
 public:
  explicit Registration(FakeKubelet* k) : k_(k) {}
  grpc::Status Register(grpc::ServerContext*, const v1beta1::RegisterRequest* req, v1beta1::Empty*) override {
    return k_->OnRegister(*req);
  }

 private:
  FakeKubelet* k_;
};

absl::StatusOr<std::unique_ptr<FakeKubelet>> FakeKubelet::Start(const std::string& dir) {
  std::unique_ptr<FakeKubelet> k(new FakeKubelet());
  k->dir_ = dir;
  k->socket_path_ = dir + "/kubelet.sock";
  if (absl::Status st = k->Serve(); !st.ok()) return st;
  return k;
}

absl::Status FakeKubelet::Serve() {
  service_ = std::make_unique<Registration>(this);
  grpc::ServerBuilder b;
  b.AddListeningPort("unix:" + socket_path_, grpc::InsecureServerCredentials());
  b.RegisterService(service_.get());
  server_ = b.BuildAndStart();
  if (!server_) return absl::UnavailableError(absl::StrCat("fake kubelet: cannot serve unix:", socket_path_));
  return absl::OkStatus();
}

FakeKubelet::~FakeKubelet() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now());
  std::vector<std::thread> dialers;
  {
    absl::MutexLock l(&mu_);
    dialers.swap(dialers_);
  }
  for (auto& t : dialers) t.join();
  absl::MutexLock l(&mu_);
  plugins_.clear();
}

grpc::Status FakeKubelet::OnRegister(const v1beta1::RegisterRequest& req) {
  absl::MutexLock l(&mu_);
  requests_.push_back(req);
  times_.push_back(absl::Now());
  if (!register_status_.ok()) return register_status_;
  // The kubelet's own checks (pkg/kubelet/cm/devicemanager: Register).
  if (req.version() != "v1beta1") {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("Requested device plugin version ", req.version(), " is not supported"));
  }
  // Like the kubelet, dial back after answering.
  const std::string path = dir_ + "/" + req.endpoint();
  const std::string resource = req.resource_name();
  dialers_.emplace_back([this, path, resource] {
    auto conn = std::make_shared<PluginConnection>(path);
    std::shared_ptr<PluginConnection> old;
    {
      absl::MutexLock l(&mu_);
      old = std::move(plugins_[resource]);
      plugins_[resource] = std::move(conn);
      ++accepted_;
    }
  });  // `old` goes here, outside the lock: that cancels the previous stream
  return grpc::Status::OK;
}

void FakeKubelet::SetRegisterStatus(grpc::Status status) {
  absl::MutexLock l(&mu_);
  register_status_ = std::move(status);
}

std::vector<v1beta1::RegisterRequest> FakeKubelet::registrations() {
  absl::MutexLock l(&mu_);
  return requests_;
}

std::vector<absl::Time> FakeKubelet::registration_times() {
  absl::MutexLock l(&mu_);
  return times_;
}

bool FakeKubelet::WaitForAccepted(size_t n, absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  auto ok = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return accepted_ >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&ok), timeout);
}

std::shared_ptr<PluginConnection> FakeKubelet::plugin(const std::string& resource) {
  absl::MutexLock l(&mu_);
  auto it = plugins_.find(resource);
  return it == plugins_.end() ? nullptr : it->second;
}

absl::StatusOr<absl::Time> FakeKubelet::Restart() {
  server_->Shutdown(std::chrono::system_clock::now());
  server_.reset();
  std::vector<std::thread> dialers;
  std::map<std::string, std::shared_ptr<PluginConnection>> plugins;
  {
    absl::MutexLock l(&mu_);
    dialers.swap(dialers_);
    plugins.swap(plugins_);
  }
  for (auto& t : dialers) t.join();
  plugins.clear();
  // pkg/kubelet/cm/devicemanager: the manager removes the directory's contents at start.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    std::filesystem::remove_all(entry.path(), ec);
  }
  const absl::Time created = absl::Now();  // at most this early: bind() creates the file
  if (absl::Status st = Serve(); !st.ok()) return st;
  return created;
}

}  // namespace ccwpass::agent::deviceplugin::testing
