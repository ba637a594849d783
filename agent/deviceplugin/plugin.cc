#include "agent/deviceplugin/plugin.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/absl_view.h"
#include "agent/busid.h"
#include "agent/deviceplugin/dir_watch.h"
#include "agent/service/service.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "proto/deviceplugin/v1beta1/api.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace ccwpass::agent::deviceplugin {
namespace {

constexpr char kApiVersion[] = "v1beta1";
constexpr char kKubeletSocket[] = "kubelet.sock";
constexpr char kCdiVersion[] = "0.5.0";
constexpr size_t kMaxUnixPath = 107;

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

using TypePair = std::optional<std::pair<uint16_t, uint8_t>>;

}  // namespace

// ---------------------------------------------------------------------------
// One class: its devices, its ListAndWatch streams, its socket.

class ListAndWatchReactor;

// What a ListAndWatch stream shares with the plugin that feeds it.
struct StreamState {
  absl::Mutex mu;
  bool alive ABSL_GUARDED_BY(mu) = true;
  bool writing ABSL_GUARDED_BY(mu) = false;
  bool finished ABSL_GUARDED_BY(mu) = false;
  uint64_t sent ABSL_GUARDED_BY(mu) = 0;  // version of the last list written
  ListAndWatchReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
};

struct DeviceEntry {
  std::string id, schid, busid;
  Health health{false, "not checked yet"};
  bool removed = false;
  std::set<uint8_t> chpids;  // usable now
  bool ours = false;         // handed off to this plugin's owner
  int group = -1;            // IOMMU group while an mdev exists
  std::string mdev;
  FailureRecord failures;
};

class ClassPlugin {
 public:
  ClassPlugin(DevicePluginManager& m, DeviceClass c, std::string resource)
      : m_(m),
        cls_(std::move(c)),
        resource_(std::move(resource)),
        owner_("kubelet:" + resource_),
        endpoint_("ccwpass-" + cls_.name + ".sock"),
        socket_path_(m.options_.plugin_dir + "/" + endpoint_),
        env_(EnvStem(cls_.name)) {}

  const DeviceClass& cls() const { return cls_; }
  const std::string& resource() const { return resource_; }
  const std::string& owner() const { return owner_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& socket_path() const { return socket_path_; }

  // ---- Inventory (the manager's refresh_mu_ held).
  bool Has(const std::string& busid) {
    absl::MutexLock l(&mu_);
    return devices_.count(busid) > 0;
  }
  std::vector<std::string> KnownSchids() {
    absl::MutexLock l(&mu_);
    std::vector<std::string> out;
    for (const auto& [busid, e] : devices_) {
      if (!e.removed) out.push_back(e.schid);
    }
    return out;
  }
  void Update(const std::string& busid, const SubchannelView& v, uint8_t varied_on, absl::Time now) {
    absl::MutexLock l(&mu_);
    DeviceEntry& e = devices_[busid];
    if (e.id.empty()) {
      e.id = DeviceUuid(v.info.ssid, *v.info.devno);
      e.busid = busid;
      ids_[e.id] = busid;
      spdlog::info("device plugin {}: device {} is subchannel {} (devno {})", resource_, e.id, v.info.schid, busid);
    }
    e.schid = v.info.schid;
    e.removed = false;
    e.chpids = UsableChpids(v.info, varied_on);
    e.ours = v.state == AgentState::kHandedOff && v.owner == owner_;
    e.group = v.info.mdev_uuid.empty() ? -1 : v.info.iommu_group;
    e.mdev = v.info.mdev_uuid;
    bool transient = false;
    Health h = AssessHealth(v, varied_on, owner_, e.failures, m_.options_.health, now, &transient);
    if (!transient) SetHealthLocked(e, std::move(h));
  }
  // Devices gone from the css bus: all not in `present` (a full scan), or
  // those whose schid is in `gone`.
  void MarkRemoved(const std::set<std::string>* present, const std::set<std::string>* gone) {
    absl::MutexLock l(&mu_);
    for (auto& [busid, e] : devices_) {
      if (e.removed) continue;
      if ((present && !present->count(busid)) || (gone && gone->count(e.schid))) {
        e.removed = true;
        e.chpids.clear();
        e.ours = false;
        SetHealthLocked(e, Health{false, absl::StrCat(e.schid, " was removed from the css bus")});
      }
    }
  }
  // Sends the device list to every stream if it differs from the last one
  // (`force`: even if not).
  void Publish(bool force = false) {
    std::vector<std::shared_ptr<StreamState>> streams;
    {
      absl::MutexLock l(&mu_);
      v1beta1::ListAndWatchResponse next;
      for (const auto& [busid, e] : devices_) {
        v1beta1::Device* d = next.add_devices();
        d->set_id(e.id);
        d->set_health(e.health.healthy ? kHealthy : kUnhealthy);
      }
      if (!force && google::protobuf::util::MessageDifferencer::Equals(next, current_)) return;
      current_ = std::move(next);
      ++version_;
      spdlog::info("device plugin {}: device list version {}: {} devices, {} healthy", resource_, version_,
                   current_.devices_size(),
                   std::count_if(current_.devices().begin(), current_.devices().end(),
                                 [](const v1beta1::Device& d) { return d.health() == kHealthy; }));
      for (auto it = streams_.begin(); it != streams_.end();) {
        if (auto s = it->lock()) {
          streams.push_back(std::move(s));
          ++it;
        } else {
          it = streams_.erase(it);
        }
      }
    }
    for (auto& s : streams) Offer(*s);
  }
  std::vector<PublishedDevice> Devices() {
    absl::MutexLock l(&mu_);
    std::vector<PublishedDevice> out;
    for (const auto& [busid, e] : devices_) out.push_back({e.id, e.schid, e.busid, e.health});
    return out;
  }

  // ---- Streams.
  void AddStream(const std::shared_ptr<StreamState>& s) {
    absl::MutexLock l(&mu_);
    streams_.push_back(s);
  }
  // The current list and its version.
  uint64_t version() {
    absl::MutexLock l(&mu_);
    return version_;
  }
  uint64_t Snapshot(v1beta1::ListAndWatchResponse* out) {
    absl::MutexLock l(&mu_);
    *out = current_;
    return version_;
  }
  void Offer(StreamState& s);

  // ---- The socket and the registration.
  absl::Status Serve();
  void Shutdown();
  absl::Status Register();
  void CancelRegister() {
    absl::MutexLock l(&reg_mu_);
    if (reg_ctx_) reg_ctx_->TryCancel();
  }
  bool registered() {
    absl::MutexLock l(&mu_);
    return registered_;
  }
  void set_registered(bool r) {
    absl::MutexLock l(&mu_);
    registered_ = r;
    if (r) ++registrations_;
  }
  int registrations() {
    absl::MutexLock l(&mu_);
    return registrations_;
  }
  // True after the first call: "waiting for the kubelet" is said once.
  bool said_waiting() {
    absl::MutexLock l(&mu_);
    return std::exchange(said_waiting_, true);
  }

  // ---- The RPCs.
  v1beta1::DevicePluginOptions Options() const {
    v1beta1::DevicePluginOptions o;
    o.set_pre_start_required(true);
    o.set_get_preferred_allocation_available(true);
    return o;
  }
  absl::Status Preferred(const v1beta1::PreferredAllocationRequest& req, v1beta1::PreferredAllocationResponse* out);
  absl::Status Allocate(const v1beta1::AllocateRequest& req, v1beta1::AllocateResponse* out);
  absl::Status PreStart(const v1beta1::PreStartContainerRequest& req);

 private:
  struct Target {
    std::string id, schid, busid;
  };
  struct Handed {
    Target t;
    std::string mdev;
    int group = -1;
  };

  void SetHealthLocked(DeviceEntry& e, Health h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (e.health == h) return;
    if (h.healthy) {
      spdlog::info("device plugin {}: device {} ({}, devno {}) is Healthy", resource_, e.id, e.schid, e.busid);
    } else {
      spdlog::warn("device plugin {}: device {} ({}, devno {}) is Unhealthy: {}", resource_, e.id, e.schid, e.busid,
                   h.reason);
    }
    e.health = std::move(h);
  }
  absl::StatusOr<Target> Find(const std::string& id, std::string_view rpc);
  // Makes sure the device is handed off to owner_; `attached` is true when this call attached it.
  absl::StatusOr<Handed> EnsureHandedOff(const Target& t, bool* attached);
  void RecordAttach(const Target& t, const absl::Status& st);
  absl::Status WriteCdiSpec();

  DevicePluginManager& m_;
  const DeviceClass cls_;
  const std::string resource_, owner_, endpoint_, socket_path_, env_;

  absl::Mutex mu_;
  std::map<std::string, DeviceEntry> devices_ ABSL_GUARDED_BY(mu_);  // by bus ID
  std::map<std::string, std::string> ids_ ABSL_GUARDED_BY(mu_);      // device ID → bus ID
  v1beta1::ListAndWatchResponse current_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 1;  // the empty list is version 1
  std::vector<std::weak_ptr<StreamState>> streams_ ABSL_GUARDED_BY(mu_);
  bool registered_ ABSL_GUARDED_BY(mu_) = false;
  int registrations_ ABSL_GUARDED_BY(mu_) = 0;
  bool said_waiting_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex alloc_mu_;  // one Allocate / PreStartContainer at a time

  absl::Mutex serve_mu_;
  std::unique_ptr<grpc::Service> service_ ABSL_GUARDED_BY(serve_mu_);
  std::unique_ptr<grpc::Server> server_ ABSL_GUARDED_BY(serve_mu_);

  absl::Mutex reg_mu_;
  grpc::ClientContext* reg_ctx_ ABSL_GUARDED_BY(reg_mu_) = nullptr;
};

// ListAndWatch: the newest list whenever the stream is idle and the plugin's
// version is newer than the last written one (one write in flight).
class ListAndWatchReactor final : public grpc::ServerWriteReactor<v1beta1::ListAndWatchResponse> {
 public:
  explicit ListAndWatchReactor(ClassPlugin* p) : p_(p), s_(std::make_shared<StreamState>()) {
    absl::MutexLock l(&s_->mu);
    s_->reactor = this;
    p_->AddStream(s_);
    WriteLatestLocked();
  }
  void WriteLatestLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s_->mu) {
    if (!s_->alive || s_->finished || s_->writing) return;
    const uint64_t v = p_->Snapshot(&msg_);
    if (v <= s_->sent) return;
    s_->sent = v;
    s_->writing = true;
    StartWrite(&msg_);
  }
  void OnWriteDone(bool ok) override {
    absl::MutexLock l(&s_->mu);
    s_->writing = false;
    if (!ok) {
      FinishLocked(grpc::Status::OK);
      return;
    }
    WriteLatestLocked();
  }
  void OnCancel() override {
    absl::MutexLock l(&s_->mu);
    FinishLocked(grpc::Status::CANCELLED);
  }
  void OnDone() override {
    {
      absl::MutexLock l(&s_->mu);
      s_->alive = false;
      s_->reactor = nullptr;
    }
    delete this;
  }

 private:
  void FinishLocked(const grpc::Status& st) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s_->mu) {
    if (s_->finished) return;
    s_->finished = true;
    Finish(st);
  }
  ClassPlugin* p_;
  std::shared_ptr<StreamState> s_;
  v1beta1::ListAndWatchResponse msg_;
};

void ClassPlugin::Offer(StreamState& s) {
  absl::MutexLock l(&s.mu);
  if (s.reactor) s.reactor->WriteLatestLocked();
}

// The v1beta1.DevicePlugin service of one class: unary calls on the sync
// server threads, ListAndWatch on the callback API.
class PluginService final
    : public v1beta1::DevicePlugin::WithCallbackMethod_ListAndWatch<v1beta1::DevicePlugin::Service> {
 public:
  explicit PluginService(ClassPlugin* p) : p_(p) {}
  grpc::Status GetDevicePluginOptions(grpc::ServerContext*, const v1beta1::Empty*,
                                      v1beta1::DevicePluginOptions* out) override {
    *out = p_->Options();
    return grpc::Status::OK;
  }
  grpc::ServerWriteReactor<v1beta1::ListAndWatchResponse>* ListAndWatch(grpc::CallbackServerContext*,
                                                                        const v1beta1::Empty*) override {
    return new ListAndWatchReactor(p_);
  }
  grpc::Status GetPreferredAllocation(grpc::ServerContext*, const v1beta1::PreferredAllocationRequest* req,
                                      v1beta1::PreferredAllocationResponse* out) override {
    return ToGrpcStatus(p_->Preferred(*req, out));
  }
  grpc::Status Allocate(grpc::ServerContext*, const v1beta1::AllocateRequest* req,
                        v1beta1::AllocateResponse* out) override {
    return ToGrpcStatus(p_->Allocate(*req, out));
  }
  grpc::Status PreStartContainer(grpc::ServerContext*, const v1beta1::PreStartContainerRequest* req,
                                 v1beta1::PreStartContainerResponse*) override {
    return ToGrpcStatus(p_->PreStart(*req));
  }

 private:
  ClassPlugin* p_;
};

absl::Status ClassPlugin::Serve() {
  absl::MutexLock l(&serve_mu_);
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now());  // cancels open ListAndWatch streams at once
    server_.reset();
  }
  service_.reset();
  if (::unlink(socket_path_.c_str()) == 0) {
    spdlog::info("device plugin {}: removed the stale socket {}", resource_, socket_path_);
  }
  service_ = std::make_unique<PluginService>(this);
  grpc::ServerBuilder b;
  b.AddListeningPort("unix:" + socket_path_, grpc::InsecureServerCredentials());
  b.RegisterService(service_.get());
  server_ = b.BuildAndStart();
  if (!server_) {
    service_.reset();
    return absl::UnavailableError(
        absl::StrCat("device plugin ", resource_, ": cannot serve unix:", socket_path_));
  }
  return absl::OkStatus();
}

void ClassPlugin::Shutdown() {
  absl::MutexLock l(&serve_mu_);
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now());  // cancels open ListAndWatch streams at once
    server_.reset();
    ::unlink(socket_path_.c_str());
  }
  service_.reset();
}

absl::Status ClassPlugin::Register() {
  const std::string kubelet = m_.options_.plugin_dir + "/" + kKubeletSocket;
  grpc::ChannelArguments args;
  // kubelet.sock appears at bind(), a moment before the kubelet listens:
  // retry the connection quickly rather than after gRPC's default 1 s.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  std::shared_ptr<grpc::Channel> ch =
      grpc::CreateCustomChannel("unix:" + kubelet, grpc::InsecureChannelCredentials(), args);
  std::unique_ptr<v1beta1::Registration::Stub> stub = v1beta1::Registration::NewStub(ch);
  v1beta1::RegisterRequest req;
  req.set_version(kApiVersion);
  req.set_endpoint(endpoint_);
  req.set_resource_name(resource_);
  *req.mutable_options() = Options();
  v1beta1::Empty resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + m_.options_.register_timeout));
  ctx.set_wait_for_ready(true);
  {
    absl::MutexLock l(&reg_mu_);
    reg_ctx_ = &ctx;
  }
  grpc::Status st = stub->Register(&ctx, req, &resp);
  {
    absl::MutexLock l(&reg_mu_);
    reg_ctx_ = nullptr;
  }
  if (!st.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(st.error_code()),
                        absl::StrCat("register ", resource_, " (endpoint ", endpoint_, ") with the kubelet at unix:",
                                     kubelet, ": ", st.error_message()));
  }
  return absl::OkStatus();
}

// ---- The RPCs.

absl::StatusOr<ClassPlugin::Target> ClassPlugin::Find(const std::string& id, std::string_view rpc) {
  absl::MutexLock l(&mu_);
  auto it = ids_.find(id);
  if (it == ids_.end()) {
    return absl::NotFoundError(absl::StrCat(AbslView(rpc), " ", resource_, ": unknown device ID \"", id, "\""));
  }
  const DeviceEntry& e = devices_.at(it->second);
  if (e.removed) {
    return absl::FailedPreconditionError(absl::StrCat(AbslView(rpc), " ", resource_, ": device ", id, " (", e.schid,
                                                      ", devno ", e.busid, ") was removed from the host"));
  }
  return Target{e.id, e.schid, e.busid};
}

absl::Status ClassPlugin::Preferred(const v1beta1::PreferredAllocationRequest& req,
                                   v1beta1::PreferredAllocationResponse* out) {
  for (const v1beta1::ContainerPreferredAllocationRequest& c : req.container_requests()) {
    std::vector<std::pair<std::string, std::set<uint8_t>>> avail;
    {
      absl::MutexLock l(&mu_);
      for (const std::string& id : c.available_deviceids()) {
        auto it = ids_.find(id);
        if (it == ids_.end()) {
          return absl::NotFoundError(
              absl::StrCat("preferred allocation ", resource_, ": unknown device ID \"", id, "\""));
        }
        avail.emplace_back(id, devices_.at(it->second).chpids);
      }
    }
    std::vector<std::string> must(c.must_include_deviceids().begin(), c.must_include_deviceids().end());
    absl::StatusOr<std::vector<std::string>> pick = PreferredAllocation(avail, must, c.allocation_size());
    if (!pick.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("preferred allocation ", resource_, ": ", pick.status().message()));
    }
    v1beta1::ContainerPreferredAllocationResponse* r = out->add_container_responses();
    for (const std::string& id : *pick) r->add_deviceids(id);
  }
  return absl::OkStatus();
}

absl::StatusOr<ClassPlugin::Handed> ClassPlugin::EnsureHandedOff(const Target& t, bool* attached) {
  *attached = false;
  absl::StatusOr<SubchannelView> v = m_.agent_.Get(t.schid);
  if (!v.ok()) return v.status();
  if (v->state == AgentState::kHandedOff) {
    if (v->owner != owner_) {
      return absl::FailedPreconditionError(
          absl::StrCat(t.schid, " is handed off to \"", v->owner, "\", not to \"", owner_, "\""));
    }
  } else {
    absl::StatusOr<std::pair<SubchannelView, bool>> a = m_.agent_.Attach(t.schid, /*handoff=*/true, t.id, owner_);
    if (!a.ok()) return a.status();
    *attached = !a->second;
    v = a->first;
  }
  if (v->info.mdev_uuid.empty() || v->info.iommu_group < 0) {
    return absl::InternalError(absl::StrCat(t.schid, " is handed off but has no mdev or IOMMU group"));
  }
  return Handed{t, v->info.mdev_uuid, v->info.iommu_group};
}

void ClassPlugin::RecordAttach(const Target& t, const absl::Status& st) {
  absl::MutexLock l(&mu_);
  FailureRecord& f = devices_.at(t.busid).failures;
  if (st.ok()) {
    f = FailureRecord{};
  } else {
    ++f.in_a_row;
    f.last = absl::Now();
    f.last_error = std::string(st.message());
  }
}

absl::Status ClassPlugin::Allocate(const v1beta1::AllocateRequest& req, v1beta1::AllocateResponse* out) {
  absl::MutexLock al(&alloc_mu_);
  std::vector<std::string> attached;  // schids this request attached, to roll back
  std::vector<std::vector<Handed>> containers;
  absl::Status failure;
  for (const v1beta1::ContainerAllocateRequest& c : req.container_requests()) {
    std::vector<Handed>& handed = containers.emplace_back();
    for (const std::string& id : c.devices_ids()) {
      absl::StatusOr<Target> t = Find(id, "allocate");
      if (!t.ok()) {
        failure = t.status();
        break;
      }
      bool now_attached = false;
      absl::StatusOr<Handed> h = EnsureHandedOff(*t, &now_attached);
      RecordAttach(*t, h.status());
      if (!h.ok()) {
        failure = absl::Status(h.status().code(), absl::StrCat("allocate ", resource_, " device ", id, " (", t->schid,
                                                               ", devno ", t->busid, "): ", h.status().message()));
        break;
      }
      if (now_attached) attached.push_back(t->schid);
      handed.push_back(*h);
    }
    if (!failure.ok()) break;
  }
  if (failure.ok()) {
    m_.Refresh(false);  // the new groups, and a ListAndWatch update if health changed
    if (!m_.options_.cdi_dir.empty()) failure = WriteCdiSpec();
  }
  if (!failure.ok()) {
    std::vector<std::string> undone;
    for (auto it = attached.rbegin(); it != attached.rend(); ++it) {
      absl::StatusOr<std::pair<SubchannelView, bool>> d = m_.agent_.Detach(*it, /*force=*/false);
      if (d.ok()) {
        undone.push_back(*it);
      } else {
        spdlog::error("device plugin {}: rollback: detach {}: {}", resource_, *it, d.status().ToString());
        undone.push_back(absl::StrCat(*it, " (failed: ", d.status().message(), ")"));
      }
    }
    // The kubelet hears of it: a new list, with what changed meanwhile, or the same again.
    const uint64_t before = version();
    m_.Refresh(false);
    if (version() == before) Publish(/*force=*/true);
    const std::string msg = absl::StrCat(failure.message(), "; rolled back: ",
                                         undone.empty() ? "nothing attached" : absl::StrCat("detached ", absl::StrJoin(undone, ", ")));
    spdlog::error("device plugin {}: {}", resource_, msg);
    return absl::Status(failure.code(), msg);
  }
  const std::string vfio_root = m_.options_.dev_root + "/vfio/";
  for (const std::vector<Handed>& handed : containers) {
    v1beta1::ContainerAllocateResponse* r = out->add_container_responses();
    v1beta1::DeviceSpec* ctl = r->add_devices();
    ctl->set_container_path("/dev/vfio/vfio");
    ctl->set_host_path(vfio_root + "vfio");
    ctl->set_permissions("rw");
    std::vector<std::string> schids, busids, uuids, groups;
    std::set<int> seen;
    for (const Handed& h : handed) {
      schids.push_back(h.t.schid);
      busids.push_back(h.t.busid);
      uuids.push_back(h.mdev);
      groups.push_back(std::to_string(h.group));
      if (seen.insert(h.group).second) {
        v1beta1::DeviceSpec* d = r->add_devices();
        d->set_container_path(absl::StrCat("/dev/vfio/", h.group));
        d->set_host_path(absl::StrCat(vfio_root, h.group));
        d->set_permissions("rw");
      }
      if (!m_.options_.cdi_dir.empty()) r->add_cdi_devices()->set_name(absl::StrCat(resource_, "=", h.t.id));
    }
    auto& envs = *r->mutable_envs();
    envs[absl::StrCat("CCWPASS_", env_, "_SUBCHANNELS")] = absl::StrJoin(schids, ",");
    envs[absl::StrCat("CCWPASS_", env_, "_DEVNOS")] = absl::StrJoin(busids, ",");
    envs[absl::StrCat("CCWPASS_", env_, "_MDEV_UUIDS")] = absl::StrJoin(uuids, ",");
    envs[absl::StrCat("CCWPASS_", env_, "_VFIO_GROUPS")] = absl::StrJoin(groups, ",");
    spdlog::info("device plugin {}: allocated {} (groups {})", resource_, absl::StrJoin(schids, ", "),
                 absl::StrJoin(groups, ", "));
  }
  return absl::OkStatus();
}

absl::Status ClassPlugin::PreStart(const v1beta1::PreStartContainerRequest& req) {
  absl::MutexLock al(&alloc_mu_);
  for (const std::string& id : req.devices_ids()) {
    absl::StatusOr<Target> t = Find(id, "pre-start container");
    if (!t.ok()) return t.status();
    bool attached = false;
    absl::StatusOr<Handed> h = EnsureHandedOff(*t, &attached);
    RecordAttach(*t, h.status());
    if (!h.ok()) {
      m_.Refresh(false);
      return absl::Status(h.status().code(), absl::StrCat("pre-start container ", resource_, " device ", id, " (",
                                                           t->schid, ", devno ", t->busid, "): ", h.status().message()));
    }
    if (attached) spdlog::warn("device plugin {}: {} was not handed off any more: attached it again", resource_, t->schid);
  }
  if (!m_.options_.cdi_dir.empty()) {
    m_.Refresh(false);
    return WriteCdiSpec();
  }
  return absl::OkStatus();
}

absl::Status ClassPlugin::WriteCdiSpec() {
  const std::string vfio_root = m_.options_.dev_root + "/vfio/";
  nlohmann::ordered_json spec;
  spec["cdiVersion"] = kCdiVersion;
  spec["kind"] = resource_;
  spec["containerEdits"]["deviceNodes"] = nlohmann::ordered_json::array(
      {{{"path", "/dev/vfio/vfio"}, {"hostPath", vfio_root + "vfio"}, {"permissions", "rw"}}});
  spec["devices"] = nlohmann::ordered_json::array();
  {
    absl::MutexLock l(&mu_);
    for (const auto& [busid, e] : devices_) {
      if (!e.ours || e.group < 0) continue;
      nlohmann::ordered_json d;
      d["name"] = e.id;
      d["containerEdits"]["deviceNodes"] = nlohmann::ordered_json::array(
          {{{"path", absl::StrCat("/dev/vfio/", e.group)},
            {"hostPath", absl::StrCat(vfio_root, e.group)},
            {"permissions", "rw"}}});
      spec["devices"].push_back(std::move(d));
    }
  }
  // <domain>-<class>.json; written whole to a temporary name, then renamed, so
  // that a runtime never reads half a spec.
  const std::string name = resource_.substr(0, resource_.find('/')) + "-" + cls_.name + ".json";
  const std::string path = m_.options_.cdi_dir + "/" + name;
  const std::string tmp = m_.options_.cdi_dir + "/." + name + ".tmp";
  std::error_code ec;
  std::filesystem::create_directories(m_.options_.cdi_dir, ec);
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << spec.dump(2) << "\n";
    if (!f.flush()) {
      return absl::UnavailableError(absl::StrCat("write CDI spec ", tmp, ": ", std::strerror(errno)));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("write CDI spec ", path, ": rename: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// The manager.

DevicePluginManager::DevicePluginManager(Agent& agent, SysfsOps& sysfs, DevicePluginOptions options)
    : agent_(agent), css_(sysfs), options_(std::move(options)) {}

DevicePluginManager::~DevicePluginManager() { Stop(); }

absl::StatusOr<std::unique_ptr<DevicePluginManager>> DevicePluginManager::Create(Agent& agent, SysfsOps& sysfs,
                                                                                 std::vector<DeviceClass> classes,
                                                                                 DevicePluginOptions options) {
  if (classes.empty()) return absl::InvalidArgumentError("device plugin: no device classes");
  if (absl::Status st = ValidateResourceDomain(options.resource_domain); !st.ok()) return st;
  if (options.plugin_dir.empty()) return absl::InvalidArgumentError("device plugin: the plugin directory is empty");
  std::unique_ptr<DevicePluginManager> m(new DevicePluginManager(agent, sysfs, std::move(options)));
  for (DeviceClass& c : classes) {
    const std::string resource = m->options_.resource_domain + "/" + c.name;
    auto p = std::make_unique<ClassPlugin>(*m, std::move(c), resource);
    for (const std::string& path : {p->socket_path(), m->options_.plugin_dir + "/" + kKubeletSocket}) {
      if (path.size() > kMaxUnixPath) {
        return absl::InvalidArgumentError(absl::StrCat("device plugin ", resource, ": socket path ", path, " has ",
                                                       path.size(), " bytes; a Unix socket path has at most ",
                                                       kMaxUnixPath));
      }
    }
    m->plugins_.push_back(std::move(p));
  }
  return m;
}

std::vector<std::string> DevicePluginManager::resources() const {
  std::vector<std::string> out;
  for (const auto& p : plugins_) out.push_back(p->resource());
  return out;
}

std::vector<PublishedDevice> DevicePluginManager::Devices(const std::string& resource) {
  for (const auto& p : plugins_) {
    if (p->resource() == resource) return p->Devices();
  }
  return {};
}

int DevicePluginManager::registrations(const std::string& resource) {
  for (const auto& p : plugins_) {
    if (p->resource() == resource) return p->registrations();
  }
  return 0;
}

absl::Status DevicePluginManager::Start() {
  std::error_code ec;
  std::filesystem::create_directories(options_.plugin_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("device plugin: cannot create the plugin directory ", options_.plugin_dir, ": ", ec.message()));
  }
  absl::StatusOr<std::unique_ptr<DirWatch>> w = DirWatch::Create(options_.plugin_dir);
  if (!w.ok()) return w.status();
  {
    absl::MutexLock l(&mu_);
    dir_watch_ = std::move(*w);
  }
  watcher_ = agent_.events().Watch({}, {}, 256);
  watcher_->SetNotify([this] {
    absl::MutexLock l(&mu_);
    pending_ = true;
  });
  Refresh(true);
  for (auto& p : plugins_) {
    if (absl::Status st = p->Serve(); !st.ok()) return st;
    spdlog::info("device plugin {}: serving unix:{}", p->resource(), p->socket_path());
  }
  ServeAndRegister(false);
  monitor_ = std::thread([this] { MonitorLoop(); });
  watch_ = std::thread([this] { WatchLoop(); });
  return absl::OkStatus();
}

void DevicePluginManager::Stop() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
    if (dir_watch_) dir_watch_->Wake();
  }
  for (auto& p : plugins_) p->CancelRegister();
  if (monitor_.joinable()) monitor_.join();
  if (watch_.joinable()) watch_.join();
  if (watcher_) watcher_->SetNotify(nullptr);
  watcher_.reset();
  for (auto& p : plugins_) p->Shutdown();
}

void DevicePluginManager::Refresh(bool full) {
  absl::MutexLock rl(&refresh_mu_);
  const absl::Time now = absl::Now();
  std::vector<SubchannelView> views;
  std::set<std::string> gone;
  if (full) {
    absl::StatusOr<std::vector<SubchannelView>> l = agent_.List();
    if (!l.ok()) {
      spdlog::warn("device plugin: cannot list the subchannels: {}", l.status().ToString());
      return;
    }
    views = std::move(*l);
  } else {
    std::set<std::string> schids;
    for (auto& p : plugins_) {
      for (std::string& s : p->KnownSchids()) schids.insert(std::move(s));
    }
    for (const std::string& s : schids) {
      absl::StatusOr<SubchannelView> v = agent_.Get(s);
      if (v.ok()) {
        views.push_back(std::move(*v));
      } else if (v.status().code() == absl::StatusCode::kNotFound) {
        gone.insert(s);
      } else {
        spdlog::warn("device plugin: cannot read {}: {}", s, v.status().ToString());
      }
    }
  }
  std::set<std::string> present;
  for (const SubchannelView& v : views) {
    if (v.info.type != 0 || !v.info.devno) continue;
    const std::string busid = FormatDevBusid(v.info.ssid, *v.info.devno);
    present.insert(busid);
    auto& types = types_[busid];
    if (TypePair cu = v.info.cu_type ? v.info.cu_type : v.cu_type) types.first = cu;
    if (TypePair dev = v.info.dev_type ? v.info.dev_type : v.dev_type) types.second = dev;
    const Candidate cand{v.info.ssid, v.info.devno, types.first, types.second};
    ClassPlugin* owner = nullptr;
    for (auto& p : plugins_) {
      if (p->Has(busid)) owner = p.get();
    }
    for (auto it = plugins_.begin(); !owner && it != plugins_.end(); ++it) {
      if (v.owner == (*it)->owner() || Matches((*it)->cls(), cand)) owner = it->get();
    }
    if (!owner) continue;
    uint8_t varied_on = 0xff;
    if (absl::StatusOr<uint8_t> m = css_.VariedOnPaths(v.info); m.ok()) {
      varied_on = *m;
    } else {
      spdlog::warn("device plugin: {}", m.status().ToString());
    }
    owner->Update(busid, v, varied_on, now);
  }
  for (auto& p : plugins_) {
    p->MarkRemoved(full ? &present : nullptr, full ? nullptr : &gone);
    p->Publish();
  }
}

void DevicePluginManager::MonitorLoop() {
  absl::Time next_recheck = absl::Now() + options_.recheck_interval;
  absl::Time next_rescan = absl::Now() + options_.rescan_interval;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || pending_; };
      mu_.AwaitWithDeadline(absl::Condition(&wake), std::min(next_recheck, next_rescan));
      if (stop_) return;
      pending_ = false;
    }
    bool full = false, any = false;
    AgentEvent e;
    while (watcher_->TryNext(&e)) {
      any = true;
      if (e.kind == AgentEvent::Kind::kHotplug || e.kind == AgentEvent::Kind::kOverflow) full = true;
    }
    const absl::Time now = absl::Now();
    if (now >= next_rescan) full = true;
    if (!any && !full && now < next_recheck) continue;
    Refresh(full);
    next_recheck = absl::Now() + options_.recheck_interval;
    if (full) next_rescan = absl::Now() + options_.rescan_interval;
  }
}

void DevicePluginManager::ServeAndRegister(bool reserve_all) {
  const bool kubelet_up = FileExists(options_.plugin_dir + "/" + kKubeletSocket);
  for (auto& p : plugins_) {
    {
      absl::MutexLock l(&mu_);
      if (stop_) return;
    }
    if (!reserve_all && p->registered()) continue;
    if (reserve_all || !FileExists(p->socket_path())) {
      if (absl::Status st = p->Serve(); !st.ok()) {
        spdlog::error("{}", st.ToString());
        p->set_registered(false);
        continue;
      }
    }
    if (!kubelet_up) {
      spdlog::log(p->registrations() == 0 && !p->said_waiting() ? spdlog::level::info : spdlog::level::debug,
                  "device plugin {}: no {} yet; registering when it appears", p->resource(), kKubeletSocket);
      p->set_registered(false);
      continue;
    }
    const absl::Time t0 = absl::Now();
    if (absl::Status st = p->Register(); !st.ok()) {
      spdlog::error("device plugin: {}; retrying in {}", st.ToString(), absl::FormatDuration(options_.register_retry));
      p->set_registered(false);
    } else {
      p->set_registered(true);
      spdlog::info("device plugin {}: registered with the kubelet (endpoint {}, {})", p->resource(), p->endpoint(),
                   absl::FormatDuration(absl::Now() - t0));
    }
  }
}

void DevicePluginManager::WatchLoop() {
  absl::Time next_retry = absl::Now() + options_.register_retry;
  for (;;) {
    DirWatch* w;
    {
      absl::MutexLock l(&mu_);
      if (stop_) return;
      w = dir_watch_.get();
    }
    if (!w) {
      // The directory went away: look for it again every second.
      absl::StatusOr<std::unique_ptr<DirWatch>> nw = DirWatch::Create(options_.plugin_dir);
      absl::MutexLock l(&mu_);
      if (nw.ok()) {
        dir_watch_ = std::move(*nw);
        spdlog::info("device plugin: watching {} again", options_.plugin_dir);
        continue;
      }
      auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      mu_.AwaitWithTimeout(absl::Condition(&stopped), absl::Seconds(1));
      continue;
    }
    bool any_unregistered = false;
    for (auto& p : plugins_) any_unregistered |= !p->registered();
    const absl::Duration wait = any_unregistered ? std::max(next_retry - absl::Now(), absl::ZeroDuration())
                                                 : absl::Seconds(60);
    std::vector<DirEvent> events = w->Wait(wait);
    bool kubelet_new = false, dir_gone = false;
    for (const DirEvent& e : events) {
      if (e.kind == DirEvent::Kind::kDirGone) dir_gone = true;
      if (e.kind == DirEvent::Kind::kCreated && e.name == kKubeletSocket) kubelet_new = true;
      if (e.kind == DirEvent::Kind::kDeleted) {
        for (auto& p : plugins_) {
          // Our own re-serving deletes and re-creates the file: only a socket
          // that stays gone (the kubelet wiped the directory) matters.
          if (e.name == p->endpoint() && !FileExists(p->socket_path())) {
            spdlog::warn("device plugin {}: {} was deleted; serving it again", p->resource(), p->socket_path());
            p->set_registered(false);
          }
        }
      }
    }
    if (dir_gone) {
      spdlog::warn("device plugin: the plugin directory {} is gone", options_.plugin_dir);
      for (auto& p : plugins_) p->set_registered(false);
      absl::MutexLock l(&mu_);
      dir_watch_.reset();
      continue;
    }
    if (kubelet_new) {
      spdlog::info("device plugin: {} was created (kubelet restart): registering again", kKubeletSocket);
      ServeAndRegister(true);
      next_retry = absl::Now() + options_.register_retry;
    } else if (any_unregistered && absl::Now() >= next_retry) {
      ServeAndRegister(false);
      next_retry = absl::Now() + options_.register_retry;
    }
  }
}

}  // namespace ccwpass::agent::deviceplugin
