// The device plugin end to end on the simulated host, against a fake kubelet
// that speaks the real v1beta1 protocol over Unix sockets in a temporary
// directory: registration, the device list, GetPreferredAllocation, Allocate
// (attached in hand-off mode on the simulated host, exact specs, envs and CDI
// spec), health driven by injected path loss and removal, failures rolled
// back, and kubelet restarts.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/core/agent.h"
#include "agent/deviceplugin/device_class.h"
#include "agent/deviceplugin/plugin.h"
#include "agent/deviceplugin/testing/fake_kubelet.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/kernel.h"
#include "testing/forwarding_ops.h"

namespace ccwpass::agent::deviceplugin {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using testing::FakeKubelet;
using testing::PluginConnection;

constexpr char kResource[] = "ccwpass.io/dasd-3390";
constexpr char kOwner[] = "kubelet:ccwpass.io/dasd-3390";
constexpr absl::Duration kWait = absl::Seconds(5);

// Three 3390s on 3990s: 0.0.0100 (devno 0191) on CHPIDs 40 and 41, 0.0.0101
// (0192) on 40, 0.0.0102 (0193) on 42; a console and an OSA that no class takes.
sim::HostConfig Host() {
  sim::HostConfig h;
  h.channel_paths = {sim::ChannelPathConfig{.chpid = 0x40}, sim::ChannelPathConfig{.chpid = 0x41},
                     sim::ChannelPathConfig{.chpid = 0x42}};
  auto dasd = [](uint16_t schno, uint16_t devno, std::array<uint8_t, 8> chpids, uint8_t pim) {
    sim::SubchannelConfig s;
    s.schno = schno;
    s.devno = devno;
    s.chpids = chpids;
    s.pim = s.pam = pim;
    s.device.kind = sim::DeviceKind::kDasd3390;
    s.device.cylinders = 10;
    return s;
  };
  sim::SubchannelConfig con;
  con.schno = 0x103;
  con.devno = 0x0009;
  con.chpids = {0x40};
  con.pim = con.pam = 0x80;
  con.device.kind = sim::DeviceKind::kConsole;
  sim::SubchannelConfig qdio;
  qdio.schno = 0x104;
  qdio.devno = 0x0600;
  qdio.chpids = {0x41};
  qdio.pim = qdio.pam = 0x80;
  qdio.qdio = true;
  h.subchannels = {dasd(0x100, 0x0191, {0x40, 0x41}, 0xc0), dasd(0x101, 0x0192, {0x40}, 0x80),
                   dasd(0x102, 0x0193, {0x42}, 0x80), con, qdio};
  return h;
}

constexpr char kClasses[] = R"(
classes:
  - name: dasd-3390
    cu_types: ["3990"]
    dev_types: ["3390"]
    devnos: ["0.0.0190-0.0.019f"]
)";

// "ID:Health" per device, in list order, with the IDs as device numbers.
std::string Text(const v1beta1::ListAndWatchResponse& l) {
  std::map<std::string, std::string> names = {{DeviceUuid(0, 0x0191), "0191"},
                                              {DeviceUuid(0, 0x0192), "0192"},
                                              {DeviceUuid(0, 0x0193), "0193"}};
  std::vector<std::string> out;
  for (const v1beta1::Device& d : l.devices()) {
    out.push_back(absl::StrCat(names.count(d.id()) ? names[d.id()] : d.id(), ":", d.health()));
  }
  return absl::StrJoin(out, " ");
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The simulated kernel's sysfs, except that writes to a path ending in
// `fail_suffix` fail with `fail_errno` (a fault in the attach's sysfs steps).
class FailingSysfs final : public ::ccwpass::testing::ForwardingSysfs {
 public:
  using ForwardingSysfs::ForwardingSysfs;
  int Write(std::string_view path, std::string_view value) override {
    {
      absl::MutexLock l(&mu_);
      if (!fail_suffix_.empty() && path.ends_with(fail_suffix_)) return fail_errno_;
    }
    return ForwardingSysfs::Write(path, value);
  }
  void FailWrites(std::string suffix, int err) {
    absl::MutexLock l(&mu_);
    fail_suffix_ = std::move(suffix);
    fail_errno_ = err;
  }

 private:
  absl::Mutex mu_;
  std::string fail_suffix_ ABSL_GUARDED_BY(mu_);
  int fail_errno_ ABSL_GUARDED_BY(mu_) = 0;
};

class DevicePluginSimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = sim::SimKernel::Create(Host());
    ASSERT_TRUE(k.ok()) << k.status();
    kernel_ = std::move(*k);
    auto s = StateStore::Open("");
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    monitor_ = kernel_->NewEventSource({"css", "ccw", "mdev"});
    sysfs_ = std::make_unique<FailingSysfs>(*kernel_);
    agent_ = std::make_unique<Agent>(*sysfs_, *kernel_, *store_);
    ASSERT_TRUE(agent_->Start(monitor_.get()).ok());
    // Unix socket paths are short (107 bytes): not under TEST_TMPDIR.
    char tmpl[] = "/tmp/ccwdp-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/device-plugins";
    cdi_ = root_ + "/cdi";
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0);
    options_.plugin_dir = dir_;
    options_.cdi_dir = cdi_;
    options_.dev_root = "/host/dev";
    options_.recheck_interval = absl::Milliseconds(50);
    options_.register_retry = absl::Milliseconds(200);
  }
  void TearDown() override {
    manager_.reset();
    kubelet_.reset();
    agent_.reset();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  void StartKubelet() {
    auto k = FakeKubelet::Start(dir_);
    ASSERT_TRUE(k.ok()) << k.status();
    kubelet_ = std::move(*k);
  }
  void StartPlugin() {
    auto classes = ParseDeviceClasses(kClasses, "test");
    ASSERT_TRUE(classes.ok()) << classes.status();
    auto m = DevicePluginManager::Create(*agent_, *kernel_, *classes, options_);
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = std::move(*m);
    ASSERT_TRUE(manager_->Start().ok());
  }
  // Both started, registered once, the first list received.
  std::shared_ptr<PluginConnection> Connected() {
    StartKubelet();
    StartPlugin();
    EXPECT_TRUE(kubelet_->WaitForAccepted(1, kWait));
    std::shared_ptr<PluginConnection> p = kubelet_->plugin(kResource);
    EXPECT_NE(p, nullptr);
    if (p) {
      EXPECT_TRUE(p->WaitForList([](const auto&) { return true; }, kWait).has_value());
    }
    return p;
  }
  // Waits for the latest list to read `want` (see Text); fails the test otherwise.
  void ExpectList(PluginConnection& p, const std::string& want) {
    auto l = p.WaitForList([&](const v1beta1::ListAndWatchResponse& r) { return Text(r) == want; }, kWait);
    EXPECT_TRUE(l.has_value()) << "wanted \"" << want << "\", the last list was \""
                               << (p.lists().empty() ? "(none)" : Text(p.lists().back())) << "\"";
  }
  grpc::Status Allocate(PluginConnection& p, std::vector<std::string> ids, v1beta1::AllocateResponse* out) {
    v1beta1::AllocateRequest req;
    auto* c = req.add_container_requests();
    for (const std::string& id : ids) c->add_devices_ids(id);
    grpc::ClientContext ctx;
    return p.stub().Allocate(&ctx, req, out);
  }

  std::unique_ptr<sim::SimKernel> kernel_;
  std::unique_ptr<FailingSysfs> sysfs_;  // the agent's sysfs
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<DeviceEventSource> monitor_;
  std::unique_ptr<Agent> agent_;
  std::string root_, dir_, cdi_;
  DevicePluginOptions options_;
  std::unique_ptr<FakeKubelet> kubelet_;
  std::unique_ptr<DevicePluginManager> manager_;
  const std::string id191_ = DeviceUuid(0, 0x0191), id192_ = DeviceUuid(0, 0x0192), id193_ = DeviceUuid(0, 0x0193);
};

TEST_F(DevicePluginSimTest, RegistersAndListsTheClass) {
  std::shared_ptr<PluginConnection> p = Connected();
  ASSERT_NE(p, nullptr);
  std::vector<v1beta1::RegisterRequest> regs = kubelet_->registrations();
  ASSERT_EQ(regs.size(), 1u);
  EXPECT_EQ(regs[0].version(), "v1beta1");
  EXPECT_EQ(regs[0].endpoint(), "ccwpass-dasd-3390.sock");
  EXPECT_EQ(regs[0].resource_name(), kResource);
  EXPECT_TRUE(regs[0].options().pre_start_required());
  EXPECT_TRUE(regs[0].options().get_preferred_allocation_available());
  ASSERT_TRUE(p->options_status().ok()) << p->options_status().error_message();
  EXPECT_TRUE(p->options().pre_start_required());
  EXPECT_TRUE(p->options().get_preferred_allocation_available());
  // The three DASDs, by device number; not the console, not the OSA.
  std::vector<v1beta1::ListAndWatchResponse> lists = p->lists();
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_EQ(Text(lists[0]), "0191:Healthy 0192:Healthy 0193:Healthy");
  EXPECT_EQ(lists[0].devices(0).id(), "42f1d57d-6dbe-5269-8133-b279afa3e29d");
  EXPECT_TRUE(std::filesystem::is_socket(dir_ + "/ccwpass-dasd-3390.sock"));
  EXPECT_EQ(manager_->registrations(kResource), 1);
}

TEST_F(DevicePluginSimTest, PreferredAllocationSpreadsOverChpids) {
  std::shared_ptr<PluginConnection> p = Connected();
  ASSERT_NE(p, nullptr);
  v1beta1::PreferredAllocationRequest req;
  auto* c = req.add_container_requests();
  for (const std::string& id : {id191_, id192_, id193_}) c->add_available_deviceids(id);
  c->set_allocation_size(2);
  auto* c2 = req.add_container_requests();
  *c2 = *c;
  c2->add_must_include_deviceids(id192_);
  v1beta1::PreferredAllocationResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = p->stub().GetPreferredAllocation(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.container_responses_size(), 2);
  // 0191 has two paths (40, 41); then 0193 (42) shares none; 0192 (40) would.
  EXPECT_THAT(resp.container_responses(0).deviceids(), ElementsAre(id191_, id193_));
  // 0192 (40) must come; 0193 (42) shares nothing with it, 0191 would share 40.
  EXPECT_THAT(resp.container_responses(1).deviceids(), ElementsAre(id192_, id193_));

  c->set_allocation_size(4);
  grpc::ClientContext ctx2;
  st = p->stub().GetPreferredAllocation(&ctx2, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "preferred allocation ccwpass.io/dasd-3390: allocation_size 4 but 3 devices are available");
}

TEST_F(DevicePluginSimTest, AllocateHandsOffAndReturnsSpecsEnvsAndCdi) {
  std::shared_ptr<PluginConnection> p = Connected();
  ASSERT_NE(p, nullptr);
  v1beta1::AllocateResponse resp;
  grpc::Status st = Allocate(*p, {id191_, id193_}, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();

  // Really attached in hand-off mode on the simulated host, with the device ID as mdev UUID.
  auto a = agent_->Get("0.0.0100");
  auto b = agent_->Get("0.0.0102");
  ASSERT_TRUE(a.ok() && b.ok());
  for (const auto* v : {&*a, &*b}) {
    EXPECT_EQ(v->state, AgentState::kHandedOff);
    EXPECT_TRUE(v->handoff);
    EXPECT_EQ(v->owner, kOwner);
    EXPECT_EQ(v->info.driver, "vfio_ccw");
    EXPECT_FALSE(v->fsm.has_value());  // the agent did not open it
  }
  EXPECT_EQ(a->info.mdev_uuid, id191_);
  EXPECT_EQ(b->info.mdev_uuid, id193_);
  const int ga = a->info.iommu_group, gb = b->info.iommu_group;
  ASSERT_GE(ga, 0);
  ASSERT_GE(gb, 0);
  ASSERT_NE(ga, gb);
  EXPECT_EQ(agent_->Get("0.0.0101")->state, AgentState::kDetached);

  ASSERT_EQ(resp.container_responses_size(), 1);
  const v1beta1::ContainerAllocateResponse& r = resp.container_responses(0);
  ASSERT_EQ(r.devices_size(), 3);
  auto spec = [](const v1beta1::DeviceSpec& d) {
    return absl::StrCat(d.container_path(), " ", d.host_path(), " ", d.permissions());
  };
  EXPECT_EQ(spec(r.devices(0)), "/dev/vfio/vfio /host/dev/vfio/vfio rw");
  EXPECT_EQ(spec(r.devices(1)), absl::StrCat("/dev/vfio/", ga, " /host/dev/vfio/", ga, " rw"));
  EXPECT_EQ(spec(r.devices(2)), absl::StrCat("/dev/vfio/", gb, " /host/dev/vfio/", gb, " rw"));
  EXPECT_EQ(r.mounts_size(), 0);
  EXPECT_EQ(r.annotations_size(), 0);
  EXPECT_THAT(r.envs(), UnorderedElementsAre(
                            Pair("CCWPASS_DASD_3390_SUBCHANNELS", "0.0.0100,0.0.0102"),
                            Pair("CCWPASS_DASD_3390_DEVNOS", "0.0.0191,0.0.0193"),
                            Pair("CCWPASS_DASD_3390_MDEV_UUIDS", absl::StrCat(id191_, ",", id193_)),
                            Pair("CCWPASS_DASD_3390_VFIO_GROUPS", absl::StrCat(ga, ",", gb))));
  ASSERT_EQ(r.cdi_devices_size(), 2);
  EXPECT_EQ(r.cdi_devices(0).name(), absl::StrCat("ccwpass.io/dasd-3390=", id191_));
  EXPECT_EQ(r.cdi_devices(1).name(), absl::StrCat("ccwpass.io/dasd-3390=", id193_));

  const std::string want = absl::StrCat(R"({
  "cdiVersion": "0.5.0",
  "kind": "ccwpass.io/dasd-3390",
  "containerEdits": {
    "deviceNodes": [
      {
        "path": "/dev/vfio/vfio",
        "hostPath": "/host/dev/vfio/vfio",
        "permissions": "rw"
      }
    ]
  },
  "devices": [
    {
      "name": ")", id191_, R"(",
      "containerEdits": {
        "deviceNodes": [
          {
            "path": "/dev/vfio/)", ga, R"(",
            "hostPath": "/host/dev/vfio/)", ga, R"(",
            "permissions": "rw"
          }
        ]
      }
    },
    {
      "name": ")", id193_, R"(",
      "containerEdits": {
        "deviceNodes": [
          {
            "path": "/dev/vfio/)", gb, R"(",
            "hostPath": "/host/dev/vfio/)", gb, R"(",
            "permissions": "rw"
          }
        ]
      }
    }
  ]
}
)");
  EXPECT_EQ(ReadFile(cdi_ + "/ccwpass.io-dasd-3390.json"), want);

  // Handed off to the kubelet, they stay Healthy: allocated, not broken.
  ExpectList(*p, "0191:Healthy 0192:Healthy 0193:Healthy");

  // A second Allocate of an allocated device (a new pod) attaches nothing new.
  v1beta1::AllocateResponse again;
  ASSERT_TRUE(Allocate(*p, {id191_}, &again).ok());
  EXPECT_EQ(again.container_responses(0).envs().at("CCWPASS_DASD_3390_SUBCHANNELS"), "0.0.0100");

  // PreStartContainer (a container restart) attaches again what was detached meanwhile.
  ASSERT_TRUE(agent_->Detach("0.0.0100", false).ok());
  v1beta1::PreStartContainerRequest pre;
  pre.add_devices_ids(id191_);
  v1beta1::PreStartContainerResponse pre_resp;
  grpc::ClientContext ctx;
  grpc::Status ps = p->stub().PreStartContainer(&ctx, pre, &pre_resp);
  ASSERT_TRUE(ps.ok()) << ps.error_message();
  EXPECT_EQ(agent_->Get("0.0.0100")->state, AgentState::kHandedOff);
  EXPECT_EQ(agent_->Get("0.0.0100")->info.mdev_uuid, id191_);
}

TEST_F(DevicePluginSimTest, AllocateFailureRollsBackAndTellsTheKubelet) {
  std::shared_ptr<PluginConnection> p = Connected();
  ASSERT_NE(p, nullptr);
  // An unknown ID after a good one: 0.0.0100 is attached, then detached again.
  size_t n = p->lists().size();
  v1beta1::AllocateResponse resp;
  grpc::Status st = Allocate(*p, {id191_, "no-such-device"}, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(),
            "allocate ccwpass.io/dasd-3390: unknown device ID \"no-such-device\"; rolled back: detached 0.0.0100");
  EXPECT_EQ(agent_->Get("0.0.0100")->state, AgentState::kDetached);
  EXPECT_EQ(agent_->Get("0.0.0100")->info.driver, "io_subchannel");
  auto update = p->WaitForListAfter(n, kWait);
  ASSERT_TRUE(update.has_value()) << "no ListAndWatch update after the failed Allocate";
  EXPECT_EQ(Text(*update), "0191:Healthy 0192:Healthy 0193:Healthy");

  // 0.0.0101 taken in agent mode by someone else: Unhealthy, and an Allocate
  // that names it anyway fails at it and rolls back 0.0.0100.
  ASSERT_TRUE(agent_->Attach("0.0.0101", false, "", "uid:0").ok());
  ExpectList(*p, "0191:Healthy 0192:Unhealthy 0193:Healthy");
  st = Allocate(*p, {id191_, id192_}, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message(),
            absl::StrCat("allocate ccwpass.io/dasd-3390 device ", id192_,
                         " (0.0.0101, devno 0.0.0192): 0.0.0101 is attached in agent mode; detach it first "
                         "(ccwctl detach 0.0.0101); rolled back: detached 0.0.0100"));
  EXPECT_EQ(agent_->Get("0.0.0100")->state, AgentState::kDetached);
  EXPECT_EQ(agent_->Get("0.0.0101")->state, AgentState::kAttached);
}

TEST_F(DevicePluginSimTest, PathLossTurnsDevicesUnhealthyAndBack) {
  std::shared_ptr<PluginConnection> p = Connected();
  ASSERT_NE(p, nullptr);
  // Vary CHPID 42 off (chchp -v 0): 0193's only path; no CRW, the re-check sees it.
  ASSERT_TRUE(kernel_->VaryPath(0x42, false).ok());
  ExpectList(*p, "0191:Healthy 0192:Healthy 0193:Unhealthy");
  std::vector<PublishedDevice> d = manager_->Devices(kResource);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[2].health.reason,
            "0.0.0102 has no operational channel path (PIM 80 PAM 80 POM ff, varied offline: 42)");
  ASSERT_TRUE(kernel_->VaryPath(0x42, true).ok());
  ExpectList(*p, "0191:Healthy 0192:Healthy 0193:Healthy");
  // Configure CHPID 40 offline (SCLP): PAM loses it; 0192 has no path left,
  // 0191 still has 41. Also on a handed-off device (nobody gets the CRW).
  v1beta1::AllocateResponse resp;
  ASSERT_TRUE(Allocate(*p, {id192_}, &resp).ok());
  ASSERT_TRUE(kernel_->ConfigurePath(0x40, false).ok());
  ExpectList(*p, "0191:Healthy 0192:Unhealthy 0193:Healthy");
  EXPECT_EQ(manager_->Devices(kResource)[1].health.reason,
            "0.0.0101 has no operational channel path (PIM 80 PAM 00 POM ff, varied offline: none)");
  ASSERT_TRUE(kernel_->ConfigurePath(0x40, true).ok());
  ExpectList(*p, "0191:Healthy 0192:Healthy 0193:Healthy");
  // Every change was its own message: nothing else in between.
  std::vector<std::string> seen;
  for (const auto& l : p->lists()) seen.push_back(Text(l));
  EXPECT_THAT(seen, ElementsAre("0191:Healthy 0192:Healthy 0193:Healthy", "0191:Healthy 0192:Healthy 0193:Unhealthy",
                                "0191:Healthy 0192:Healthy 0193:Healthy", "0191:Healthy 0192:Unhealthy 0193:Healthy",
                                "0191:Healthy 0192:Healthy 0193:Healthy"));
}

TEST_F(DevicePluginSimTest, RemovedDeviceTurnsUnhealthy) {
  std::shared_ptr<PluginConnection> p = Connected();
  ASSERT_NE(p, nullptr);
  v1beta1::AllocateResponse resp;
  ASSERT_TRUE(Allocate(*p, {id193_}, &resp).ok());
  ASSERT_TRUE(kernel_->RemoveSubchannel("0.0.0102", absl::Seconds(5)).ok());
  ExpectList(*p, "0191:Healthy 0192:Healthy 0193:Unhealthy");
  EXPECT_EQ(manager_->Devices(kResource)[2].health.reason, "0.0.0102 was removed from the css bus");
  // Allocating it now fails clearly.
  grpc::Status st = Allocate(*p, {id193_}, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message(),
            absl::StrCat("allocate ccwpass.io/dasd-3390: device ", id193_,
                         " (0.0.0102, devno 0.0.0193) was removed from the host; rolled back: nothing attached"));
}

TEST_F(DevicePluginSimTest, NotOperationalDeviceTurnsUnhealthy) {
  std::shared_ptr<PluginConnection> p = Connected();
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(kernel_->SetDeviceOperational("0.0.0101", false).ok());
  ExpectList(*p, "0191:Healthy 0192:Unhealthy 0193:Healthy");
  EXPECT_EQ(manager_->Devices(kResource)[1].health.reason, "0.0.0101 is not operational (availability \"no device\")");
  ASSERT_TRUE(kernel_->SetDeviceOperational("0.0.0101", true).ok());
  ExpectList(*p, "0191:Healthy 0192:Healthy 0193:Healthy");
}

// A handed-off device that turns not operational: the kernel unregisters its
// subchannel (vfio_ccw), so it is removed from the css bus; when the device
// is back, the subchannel is registered anew and the agent's reconcile hands
// it off again to the kubelet, with the device ID as mdev UUID: Healthy again.
TEST_F(DevicePluginSimTest, NotOperationalHandedOffDeviceIsHandedOffAgainWhenBack) {
  std::shared_ptr<PluginConnection> p = Connected();
  ASSERT_NE(p, nullptr);
  v1beta1::AllocateResponse resp;
  ASSERT_TRUE(Allocate(*p, {id192_}, &resp).ok());
  ASSERT_TRUE(kernel_->SetDeviceOperational("0.0.0101", false).ok());
  ExpectList(*p, "0191:Healthy 0192:Unhealthy 0193:Healthy");
  EXPECT_EQ(manager_->Devices(kResource)[1].health.reason, "0.0.0101 was removed from the css bus");
  ASSERT_TRUE(kernel_->SetDeviceOperational("0.0.0101", true).ok());
  // Until the agent's reconcile (debounced after the hotplug events) has run,
  // its view may still be the attachment that went away: wait for the new one.
  auto handed_off_again = [&] {
    for (absl::Time end = absl::Now() + kWait; absl::Now() < end;) {
      auto v = agent_->Get("0.0.0101");
      if (v.ok() && v->state == AgentState::kHandedOff && v->info.mdev_uuid == id192_) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  };
  ASSERT_TRUE(handed_off_again());
  auto v = agent_->Get("0.0.0101");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->owner, kOwner);
  EXPECT_EQ(v->info.driver, "vfio_ccw");
  ExpectList(*p, "0191:Healthy 0192:Healthy 0193:Healthy");
  EXPECT_TRUE(manager_->Devices(kResource)[1].health.healthy);
  // The next pod gets it as it is: already handed off to the kubelet.
  grpc::Status st = Allocate(*p, {id192_}, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.container_responses_size(), 1);
  EXPECT_EQ(resp.container_responses(0).envs().at("CCWPASS_DASD_3390_MDEV_UUIDS"), id192_);
}

// Attaches of one device that keep failing turn it Unhealthy at the third in a
// row, until the cool-down after the last one; a success clears the record.
TEST_F(DevicePluginSimTest, PersistentAttachFailuresTurnUnhealthyUntilTheCooldown) {
  options_.health.failure_threshold = 3;
  options_.health.failure_cooldown = absl::Seconds(2);
  std::shared_ptr<PluginConnection> p = Connected();
  ASSERT_NE(p, nullptr);
  sysfs_->FailWrites("0.0.0101/mdev_supported_types/vfio_ccw-io/create", ENOSPC);
  const std::string kAttachError = absl::StrCat(
      "attach 0.0.0101 failed at step \"create mdev ", id192_, "\": 0.0.0101: create mdev: write \"", id192_,
      "\" to /sys/bus/css/devices/0.0.0101/mdev_supported_types/vfio_ccw-io/create: ENOSPC (No space left on "
      "device); rolled back: unbind vfio_ccw, rebind io_subchannel, restore driver_override");
  v1beta1::AllocateResponse resp;
  for (int i = 1; i <= 3; ++i) {
    SCOPED_TRACE(i);
    grpc::Status st = Allocate(*p, {id192_}, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(st.error_message(), absl::StrCat("allocate ccwpass.io/dasd-3390 device ", id192_,
                                               " (0.0.0101, devno 0.0.0192): ", kAttachError,
                                               "; rolled back: nothing attached"));
    EXPECT_EQ(agent_->Get("0.0.0101")->state, AgentState::kDetached);
    if (i < 3) {
      EXPECT_EQ(Text(p->lists().back()), "0191:Healthy 0192:Healthy 0193:Healthy");
    }
  }
  ExpectList(*p, "0191:Healthy 0192:Unhealthy 0193:Healthy");
  EXPECT_EQ(manager_->Devices(kResource)[1].health.reason,
            absl::StrCat("0.0.0101: 3 attaches in a row failed, the last: ", kAttachError));
  // The fault is gone; the device stays Unhealthy until the cool-down ends.
  sysfs_->FailWrites("", 0);
  ExpectList(*p, "0191:Healthy 0192:Healthy 0193:Healthy");
  ASSERT_TRUE(Allocate(*p, {id192_}, &resp).ok());
  EXPECT_EQ(agent_->Get("0.0.0101")->state, AgentState::kHandedOff);
}

TEST_F(DevicePluginSimTest, KubeletRestartReRegistersWithinASecond) {
  std::shared_ptr<PluginConnection> p = Connected();
  ASSERT_NE(p, nullptr);
  p.reset();
  for (int round = 1; round <= 3; ++round) {
    auto created = kubelet_->Restart();
    ASSERT_TRUE(created.ok()) << created.status();
    ASSERT_TRUE(kubelet_->WaitForAccepted(static_cast<size_t>(round) + 1, kWait)) << "round " << round;
    const absl::Duration latency = kubelet_->registration_times().back() - *created;
    std::printf("kubelet restart %d: registered again %s after kubelet.sock was created\n", round,
                absl::FormatDuration(latency).c_str());
    RecordProperty(absl::StrCat("reregistration_ms_", round), std::to_string(absl::ToInt64Milliseconds(latency)));
    EXPECT_LT(latency, absl::Seconds(1));
    EXPECT_EQ(kubelet_->registrations().back().endpoint(), "ccwpass-dasd-3390.sock");
    // The new kubelet gets the list over the fresh socket.
    std::shared_ptr<PluginConnection> q = kubelet_->plugin(kResource);
    ASSERT_NE(q, nullptr);
    ASSERT_TRUE(q->options_status().ok()) << q->options_status().error_message();
    ExpectList(*q, "0191:Healthy 0192:Healthy 0193:Healthy");
  }
  EXPECT_EQ(kubelet_->registrations().size(), 4u);
  EXPECT_EQ(manager_->registrations(kResource), 4);
}

TEST_F(DevicePluginSimTest, RegistersWhenTheKubeletComesLaterAndRetriesRefusals) {
  // A stale socket file from an earlier run is removed before serving.
  { std::ofstream(dir_ + "/ccwpass-dasd-3390.sock") << "stale"; }
  StartPlugin();
  EXPECT_TRUE(std::filesystem::is_socket(dir_ + "/ccwpass-dasd-3390.sock"));
  EXPECT_EQ(manager_->registrations(kResource), 0);
  // The kubelet comes up, refusing at first.
  auto k = FakeKubelet::Start(dir_);
  ASSERT_TRUE(k.ok());
  kubelet_ = std::move(*k);
  kubelet_->SetRegisterStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "not now"));
  // (Start may have raced the flag: wait for one refused try either way.)
  auto refused = [&] {
    for (absl::Time end = absl::Now() + kWait; absl::Now() < end;) {
      if (!kubelet_->registrations().empty() && manager_->registrations(kResource) == 0) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  };
  if (manager_->registrations(kResource) == 0) {
    ASSERT_TRUE(refused());
  }
  kubelet_->SetRegisterStatus(grpc::Status::OK);
  ASSERT_TRUE(kubelet_->WaitForAccepted(1, kWait));  // retried every register_retry (200 ms here)
  std::shared_ptr<PluginConnection> p = kubelet_->plugin(kResource);
  ASSERT_NE(p, nullptr);
  ExpectList(*p, "0191:Healthy 0192:Healthy 0193:Healthy");
}

TEST_F(DevicePluginSimTest, CreateRefusesBadOptions) {
  auto classes = ParseDeviceClasses(kClasses, "test");
  ASSERT_TRUE(classes.ok());
  DevicePluginOptions o = options_;
  o.resource_domain = "kubernetes.io";
  auto m = DevicePluginManager::Create(*agent_, *kernel_, *classes, o);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("the kubernetes.io domain is reserved"));
  o = options_;
  o.plugin_dir = "/tmp/" + std::string(100, 'x');
  m = DevicePluginManager::Create(*agent_, *kernel_, *classes, o);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("a Unix socket path has at most 107"));
  m = DevicePluginManager::Create(*agent_, *kernel_, {}, options_);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(), "device plugin: no device classes");
}

}  // namespace
}  // namespace ccwpass::agent::deviceplugin
