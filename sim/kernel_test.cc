// The simulated kernel against the facts of the real one: sysfs formats and
// store semantics with their errnos, the uevents in the kernel's order, the
// VFIO device's regions, IRQs and FSM return codes, DMA unmap under a pending
// program, channel-path CRWs, the REQ IRQ on hot-unplug, and the unregistration
// of a vfio_ccw subchannel whose device turns not operational.
#include "sim/kernel.h"

#include <unistd.h>

#include <cerrno>
#include <functional>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "agent/vfio/region_info.h"
#include "sim/testing/sim_client.h"
#include "testing/status_matchers.h"
#include "translate/builder.h"

namespace ccwpass::sim {
namespace {

using agent::DeviceAction;
using agent::DeviceEvent;
using ::testing::ElementsAre;
using testing::SimClient;

constexpr char kUuid[] = "4ad4f3c4-4b3f-4bd8-a0b3-5a6c8ec4e3a1";
constexpr char kUuid2[] = "0b8ad7a4-7a5e-4f43-9a55-2d3a34aa7f10";

HostConfig TestHost() {
  HostConfig h;
  h.channel_paths = {ChannelPathConfig{.chpid = 0x15}, ChannelPathConfig{.chpid = 0x16}};
  SubchannelConfig dasd;
  dasd.schno = 0x100;
  dasd.devno = 0xe000;
  dasd.chpids = {0x15, 0x16};
  dasd.pim = dasd.pam = 0xc0;
  dasd.device.kind = DeviceKind::kDasd3390;
  dasd.device.cylinders = 10;
  SubchannelConfig con;
  con.schno = 0x101;
  con.devno = 0xe001;
  con.chpids = {0x15};
  con.pim = con.pam = 0x80;
  con.device.kind = DeviceKind::kConsole;
  SubchannelConfig qdio;
  qdio.schno = 0x102;
  qdio.devno = 0xe002;
  qdio.chpids = {0x16};
  qdio.pim = qdio.pam = 0x80;
  qdio.qdio = true;
  h.subchannels = {dasd, con, qdio};
  return h;
}

class KernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = SimKernel::Create(TestHost());
    ASSERT_TRUE(k.ok()) << k.status();
    k_ = std::move(*k);
  }
  std::string Read(const std::string& path) {
    std::string v;
    EXPECT_EQ(k_->Read(path, &v), 0) << path;
    return v;
  }
  std::string Link(const std::string& path) {
    std::string v;
    EXPECT_EQ(k_->ReadLink(path, &v), 0) << path;
    return v;
  }
  std::vector<std::string> Ls(const std::string& path) {
    std::vector<std::string> v;
    EXPECT_EQ(k_->List(path, &v), 0) << path;
    return v;
  }
  static std::vector<std::string> Drain(agent::DeviceEventSource& src) {
    std::vector<DeviceEvent> ev;
    EXPECT_EQ(src.Receive(&ev, 1000), 0);
    std::vector<std::string> out;
    for (const DeviceEvent& e : ev) {
      std::string line(agent::DeviceActionName(e.action));
      absl::StrAppend(&line, " ", e.subsystem, " ", e.devpath, e.driver.empty() ? "" : " ", e.driver);
      out.push_back(line);
    }
    return out;
  }
  // Subchannel 0.0.0100 as the kernel shows it at boot: on io_subchannel,
  // no driver_override, with its ccw device (the 3390, offline).
  void ExpectDasdAsAtBoot() {
    EXPECT_EQ(Link("bus/css/devices/0.0.0100"), "../../../devices/css0/0.0.0100");
    const std::string d = "bus/css/devices/0.0.0100/";
    EXPECT_EQ(Read(d + "type"), "0\n");
    EXPECT_EQ(Read(d + "modalias"), "css:t0\n");
    EXPECT_EQ(Read(d + "chpids"), "15 16 00 00 00 00 00 00 \n");
    EXPECT_EQ(Read(d + "pimpampom"), "c0 c0 ff\n");
    EXPECT_EQ(Read(d + "dev_busid"), "0.0.e000\n");
    EXPECT_EQ(Read(d + "driver_override"), "(null)\n");
    EXPECT_EQ(Link(d + "driver"), "../../../bus/css/drivers/io_subchannel");
    EXPECT_THAT(Ls("devices/css0/0.0.0100"),
                ElementsAre("0.0.e000", "chpids", "dev_busid", "driver", "driver_override", "modalias", "pimpampom",
                            "subsystem", "type"));
    // The ccw device while on io_subchannel.
    EXPECT_EQ(Link("bus/ccw/devices/0.0.e000"), "../../../devices/css0/0.0.0100/0.0.e000");
    EXPECT_EQ(Read("bus/ccw/devices/0.0.e000/cutype"), "3990/e9\n");
    EXPECT_EQ(Read("bus/ccw/devices/0.0.e000/devtype"), "3390/02\n");
    EXPECT_EQ(Read("bus/ccw/devices/0.0.e000/online"), "0\n");
    EXPECT_EQ(Read("bus/ccw/devices/0.0.e000/availability"), "good\n");
    EXPECT_EQ(Link("bus/ccw/devices/0.0.e000/driver"), "../../../../bus/ccw/drivers/dasd-eckd");
  }
  void ToVfio(const std::string& schid) {
    ASSERT_EQ(k_->Write("bus/css/devices/" + schid + "/driver_override", "vfio_ccw"), 0);
    ASSERT_EQ(k_->Write("bus/css/drivers/io_subchannel/unbind", schid), 0);
    ASSERT_EQ(k_->Write("bus/css/drivers/vfio_ccw/bind", schid), 0);
  }
  std::unique_ptr<SimKernel> k_;
};

TEST_F(KernelTest, CssBusShowsTheKernelsFormats) {
  EXPECT_THAT(Ls("bus/css/devices"), ElementsAre("0.0.0100", "0.0.0101", "0.0.0102"));
  ExpectDasdAsAtBoot();
  EXPECT_EQ(Read("bus/ccw/devices/0.0.e001/cutype"), "3215/00\n");
  EXPECT_EQ(Read("bus/ccw/devices/0.0.e001/devtype"), "n/a\n");
  // Channel paths.
  EXPECT_EQ(Read("devices/css0/chp0.15/status"), "online\n");
  EXPECT_EQ(Read("devices/css0/chp0.15/configure"), "1\n");
  EXPECT_EQ(Read("devices/css0/chp0.15/type"), "1b\n");
  EXPECT_THAT(Ls("bus/css/drivers/io_subchannel"),
              ElementsAre("0.0.0100", "0.0.0101", "0.0.0102", "bind", "unbind"));
}

TEST_F(KernelTest, WrongAccessGetsTheKernelsErrno) {
  std::string v;
  std::vector<std::string> names;
  EXPECT_EQ(k_->Read("bus/css/devices/0.0.0199/type", &v), ENOENT);
  EXPECT_EQ(k_->Read("bus/css/drivers/vfio_ccw/bind", &v), EACCES);  // write-only
  EXPECT_EQ(k_->Read("bus/css/devices/0.0.0100", &v), EISDIR);
  EXPECT_EQ(k_->Write("bus/css/devices/0.0.0100/type", "1"), EACCES);  // read-only
  EXPECT_EQ(k_->Write("bus/css/devices/0.0.0100", "1"), EISDIR);
  EXPECT_EQ(k_->List("bus/css/devices/0.0.0100/type", &names), ENOTDIR);
  EXPECT_EQ(k_->ReadLink("bus/css/devices/0.0.0100/type", &v), EINVAL);
  EXPECT_EQ(k_->Write("bus/css/drivers/vfio_ccw/bind", "0.0.0100"), ENODEV);    // has a driver
  EXPECT_EQ(k_->Write("bus/css/drivers/vfio_ccw/unbind", "0.0.0100"), ENODEV);  // not its driver
  EXPECT_EQ(k_->Write("bus/css/drivers_probe", "0.0.0199"), ENODEV);
  EXPECT_EQ(k_->Write("devices/css0/chp0.15/status", "sideways"), EINVAL);
  EXPECT_EQ(k_->Write("devices/css0/chp0.15/configure", "2"), EINVAL);
  EXPECT_EQ(k_->Write("bus/ccw/devices/0.0.e000/online", "yes"), EINVAL);
  EXPECT_EQ(k_->Write("bus/css/devices/0.0.0100/driver_override", std::string(4096, 'x')), EINVAL);
  EXPECT_FALSE(k_->Exists("bus/css/devices/0.0.0100/mdev_supported_types"));
  EXPECT_EQ(k_->Describe("bus/css"), "/sys/bus/css");
}

TEST_F(KernelTest, DriverctlAndMdevctlStepsWithTheirEvents) {
  auto mon = k_->NewEventSource({"css", "ccw", "mdev"});
  ToVfio("0.0.0100");
  EXPECT_THAT(Drain(*mon), ElementsAre("unbind ccw devices/css0/0.0.0100/0.0.e000",
                                       "remove ccw devices/css0/0.0.0100/0.0.e000",
                                       "unbind css devices/css0/0.0.0100",
                                       "bind css devices/css0/0.0.0100 vfio_ccw"));
  const std::string t = "bus/css/devices/0.0.0100/mdev_supported_types/vfio_ccw-io/";
  EXPECT_EQ(Read(t + "name"), "I/O subchannel (Non-QDIO)\n");
  EXPECT_EQ(Read(t + "device_api"), "vfio-ccw\n");
  EXPECT_EQ(Read(t + "available_instances"), "1\n");
  EXPECT_FALSE(k_->Exists("bus/ccw/devices/0.0.e000"));
  EXPECT_EQ(Read("bus/css/devices/0.0.0100/dev_busid"), "0.0.e000\n");  // still there on vfio_ccw

  EXPECT_EQ(k_->Write(t + "create", "not-a-uuid"), EINVAL);
  EXPECT_EQ(k_->Write(t + "create", absl::StrCat(kUuid, "\n")), 0);
  EXPECT_THAT(Drain(*mon), ElementsAre(absl::StrCat("add mdev devices/css0/0.0.0100/", kUuid),
                                       absl::StrCat("bind mdev devices/css0/0.0.0100/", kUuid, " vfio_ccw_mdev")));
  EXPECT_EQ(Read(t + "available_instances"), "0\n");
  EXPECT_EQ(k_->Write(t + "create", kUuid2), EUSERS);
  EXPECT_EQ(Link(absl::StrCat("bus/mdev/devices/", kUuid)), absl::StrCat("../../../devices/css0/0.0.0100/", kUuid));
  EXPECT_EQ(Link(absl::StrCat("bus/mdev/devices/", kUuid, "/iommu_group")), "../../../../kernel/iommu_groups/0");
  EXPECT_EQ(Link(absl::StrCat("bus/mdev/devices/", kUuid, "/mdev_type")), "../mdev_supported_types/vfio_ccw-io");
  EXPECT_THAT(Ls("kernel/iommu_groups/0/devices"), ElementsAre(kUuid));
  EXPECT_THAT(Ls(t + "devices"), ElementsAre(kUuid));

  // The same UUID on another subchannel is taken.
  ToVfio("0.0.0101");
  Drain(*mon);
  EXPECT_EQ(k_->Write("bus/css/devices/0.0.0101/mdev_supported_types/vfio_ccw-io/create", kUuid), EEXIST);

  EXPECT_EQ(k_->Write(absl::StrCat("bus/mdev/devices/", kUuid, "/remove"), "x"), EINVAL);
  EXPECT_EQ(k_->Write(absl::StrCat("bus/mdev/devices/", kUuid, "/remove"), "1"), 0);
  EXPECT_THAT(Drain(*mon), ElementsAre(absl::StrCat("unbind mdev devices/css0/0.0.0100/", kUuid),
                                       absl::StrCat("remove mdev devices/css0/0.0.0100/", kUuid)));
  EXPECT_FALSE(k_->Exists("kernel/iommu_groups/0"));

  // Back to io_subchannel the way driverctl unset-override does.
  EXPECT_EQ(k_->Write("bus/css/drivers/vfio_ccw/unbind", "0.0.0100"), 0);
  EXPECT_EQ(k_->Write("bus/css/devices/0.0.0100/driver_override", "\n"), 0);
  EXPECT_EQ(Read("bus/css/devices/0.0.0100/driver_override"), "(null)\n");
  EXPECT_EQ(k_->Write("bus/css/drivers_probe", "0.0.0100"), 0);
  EXPECT_THAT(Drain(*mon), ElementsAre("unbind css devices/css0/0.0.0100",
                                       "bind css devices/css0/0.0.0100 io_subchannel",
                                       "add ccw devices/css0/0.0.0100/0.0.e000",
                                       "bind ccw devices/css0/0.0.0100/0.0.e000 dasd-eckd"));
  EXPECT_EQ(Read("bus/ccw/devices/0.0.e000/cutype"), "3990/e9\n");
}

TEST_F(KernelTest, VfioCcwRefusesQdioAndOverridesSteerProbing) {
  EXPECT_EQ(k_->Write("bus/css/devices/0.0.0102/driver_override", "vfio_ccw"), 0);
  EXPECT_EQ(k_->Write("bus/css/drivers/io_subchannel/unbind", "0.0.0102"), 0);
  EXPECT_EQ(k_->Write("bus/css/drivers/vfio_ccw/bind", "0.0.0102"), ENODEV);
  EXPECT_FALSE(k_->Exists("bus/css/devices/0.0.0102/driver"));
  // drivers_probe succeeds even when no driver takes the device.
  EXPECT_EQ(k_->Write("bus/css/drivers_probe", "0.0.0102"), 0);
  EXPECT_FALSE(k_->Exists("bus/css/devices/0.0.0102/driver"));
  // An override names the only driver that may bind.
  EXPECT_EQ(k_->Write("bus/css/drivers/io_subchannel/bind", "0.0.0102"), ENODEV);
  EXPECT_EQ(k_->Write("bus/css/devices/0.0.0102/driver_override", ""), 0);
  EXPECT_EQ(k_->Write("bus/css/drivers/io_subchannel/bind", "0.0.0102"), 0);
  EXPECT_EQ(Link("bus/css/devices/0.0.0102/driver"), "../../../bus/css/drivers/io_subchannel");
}

// Only vfio_ccw unregisters a subchannel whose device turns not operational:
// on io_subchannel or without a driver it stays, its device "no device". A
// vfio_ccw subchannel whose mdev nobody has open goes at once.
TEST_F(KernelTest, NotOperationalUnregistersOnlyVfioCcwSubchannels) {
  ToVfio("0.0.0101");
  ASSERT_EQ(k_->Write("bus/css/devices/0.0.0101/mdev_supported_types/vfio_ccw-io/create", kUuid), 0);
  ASSERT_EQ(k_->Write("bus/css/drivers/io_subchannel/unbind", "0.0.0102"), 0);
  auto mon = k_->NewEventSource({"css", "ccw", "mdev"});
  for (const char* schid : {"0.0.0100", "0.0.0101", "0.0.0102"}) {
    ASSERT_TRUE(k_->SetDeviceOperational(schid, false).ok()) << schid;
  }
  EXPECT_THAT(Drain(*mon), ElementsAre(absl::StrCat("unbind mdev devices/css0/0.0.0101/", kUuid),
                                       absl::StrCat("remove mdev devices/css0/0.0.0101/", kUuid),
                                       "unbind css devices/css0/0.0.0101", "remove css devices/css0/0.0.0101"));
  EXPECT_THAT(Ls("bus/css/devices"), ElementsAre("0.0.0100", "0.0.0102"));
  EXPECT_EQ(Link("bus/css/devices/0.0.0100/driver"), "../../../bus/css/drivers/io_subchannel");
  EXPECT_EQ(Read("bus/ccw/devices/0.0.e000/availability"), "no device\n");
  EXPECT_FALSE(k_->Exists("bus/css/devices/0.0.0102/driver"));
  for (const char* schid : {"0.0.0100", "0.0.0101", "0.0.0102"}) {
    ASSERT_TRUE(k_->SetDeviceOperational(schid, true).ok()) << schid;
  }
  EXPECT_THAT(Drain(*mon), ElementsAre("add css devices/css0/0.0.0101", "add ccw devices/css0/0.0.0101/0.0.e001",
                                       "bind ccw devices/css0/0.0.0101/0.0.e001 3215"));
  EXPECT_EQ(Read("bus/ccw/devices/0.0.e000/availability"), "good\n");
  EXPECT_EQ(Link("bus/css/devices/0.0.0101/driver"), "../../../bus/css/drivers/io_subchannel");
  // Hot-unplug of a subchannel that is unregistered: it never comes back.
  ToVfio("0.0.0101");
  ASSERT_TRUE(k_->SetDeviceOperational("0.0.0101", false).ok());
  EXPECT_FALSE(k_->Exists("bus/css/devices/0.0.0101"));
  ASSERT_TRUE(k_->RemoveSubchannel("0.0.0101").ok());
  EXPECT_TRUE(absl::IsNotFound(k_->SetDeviceOperational("0.0.0101", true)));
  EXPECT_THAT(Ls("bus/css/devices"), ElementsAre("0.0.0100", "0.0.0102"));
}

class VfioTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    auto c = SimClient::Attach(*k_, "0.0.0100", kUuid);
    ASSERT_TRUE(c.ok()) << c.status();
    c_ = std::move(*c);
  }
  // A SENSE ID program in the client's arena memory, at the arena's IOVA.
  translate::Orb SenseIdInArena(uint8_t lpm = 0xff) {
    uint8_t* m = c_->arena_memory();
    translate::Ccw1 ccw{.cmd = 0xE4, .flags = translate::ccw_flag::kSli, .count = 32,
                        .cda = static_cast<uint32_t>(testing::kArenaIova + 0x2000)};
    ccw.EncodeTo(std::span<uint8_t, 8>(m + 0x1000, 8));
    translate::Orb orb;
    orb.fmt = true;
    orb.pfch = true;
    orb.lpm = lpm;
    orb.cpa = static_cast<uint32_t>(testing::kArenaIova + 0x1000);
    return orb;
  }
  // Runs `remove` (a removal of 0.0.0100 that asks the user for the device)
  // on a thread. Once the REQ IRQ came, the subchannel is still there, waiting
  // for the user: `while_waiting` runs, then the user releases the device, and
  // the mdev and the subchannel must have gone, with the kernel's events.
  void ExpectGoneOnceReleased(agent::DeviceEventSource& mon, std::function<void()> remove,
                              std::function<void()> while_waiting) {
    std::thread t(std::move(remove));
    EXPECT_TRUE(c_->WaitIrq(2)) << "no REQ";
    EXPECT_TRUE(k_->Exists("bus/css/devices/0.0.0100"));
    while_waiting();
    c_.reset();
    t.join();
    EXPECT_THAT(Drain(mon), ElementsAre(absl::StrCat("unbind mdev devices/css0/0.0.0100/", kUuid),
                                        absl::StrCat("remove mdev devices/css0/0.0.0100/", kUuid),
                                        "unbind css devices/css0/0.0.0100", "remove css devices/css0/0.0.0100"));
    EXPECT_THAT(Ls("bus/css/devices"), ElementsAre("0.0.0101", "0.0.0102"));
  }
  std::unique_ptr<SimClient> c_;
};

TEST_F(VfioTest, DeviceRegionsAndIrqsAreTheKernels) {
  vfio_device_info info;
  ASSERT_EQ(k_->GetDeviceInfo(c_->device_fd(), &info), 0);
  EXPECT_EQ(info.flags, VFIO_DEVICE_FLAGS_CCW | VFIO_DEVICE_FLAGS_RESET);
  EXPECT_EQ(info.num_regions, 4u);
  EXPECT_EQ(info.num_irqs, 3u);
  struct Want {
    uint64_t offset, size;
    uint32_t flags;
    std::optional<agent::RegionType> type;
  };
  const Want want[] = {
      {0x0, 124, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, std::nullopt},
      {0x400, 8, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_CAPS,
       agent::RegionType{2, 1}},
      {0x800, 52, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_CAPS, agent::RegionType{2, 2}},
      {0xc00, 8, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_CAPS, agent::RegionType{2, 3}},
  };
  for (uint32_t i = 0; i < 4; ++i) {
    std::vector<uint8_t> buf;
    ASSERT_EQ(k_->GetRegionInfo(c_->device_fd(), i, &buf), 0);
    auto ri = agent::ParseRegionInfo(buf);
    ASSERT_TRUE(ri.ok()) << ri.status();
    EXPECT_EQ(ri->offset, want[i].offset) << i;
    EXPECT_EQ(ri->size, want[i].size) << i;
    EXPECT_EQ(ri->flags, want[i].flags) << i;
    EXPECT_EQ(ri->type, want[i].type) << i;
  }
  std::vector<uint8_t> buf;
  EXPECT_EQ(k_->GetRegionInfo(c_->device_fd(), 4, &buf), -EINVAL);
  for (uint32_t i = 0; i < 3; ++i) {
    vfio_irq_info irq;
    ASSERT_EQ(k_->GetIrqInfo(c_->device_fd(), i, &irq), 0);
    EXPECT_EQ(irq.flags, VFIO_IRQ_INFO_EVENTFD);
    EXPECT_EQ(irq.count, 1u);
  }
  vfio_irq_info irq;
  EXPECT_EQ(k_->GetIrqInfo(c_->device_fd(), 3, &irq), -EINVAL);
  EXPECT_EQ(k_->SetIrqEventfd(c_->device_fd(), 0, 1), -EINVAL);  // stdout is no eventfd
  EXPECT_EQ(k_->SetIrqEventfd(c_->device_fd(), 0, 999999), -EBADF);

  uint8_t b[200];
  EXPECT_EQ(k_->Pread(c_->device_fd(), b, 125, 0), -EINVAL);          // past the I/O region
  EXPECT_EQ(k_->Pread(c_->device_fd(), b, 4, 0x1000), -EINVAL);       // no region 4
  EXPECT_EQ(k_->Pwrite(c_->device_fd(), b, 8, 0x800), -EINVAL);       // SCHIB is read-only
  EXPECT_EQ(k_->Pwrite(c_->device_fd(), b, 9, 0x400), -EINVAL);       // past the async region
  EXPECT_EQ(k_->Pread(c_->device_fd(), b, 52, 0x800), 52);
  // Groups and devices are exclusive.
  EXPECT_EQ(k_->OpenGroup(c_->group()), -EBUSY);
  EXPECT_EQ(k_->OpenGroup(7), -ENOENT);
}

TEST_F(VfioTest, VfioSetupErrors) {
  // A second mdev on the console, opened step by step with every wrong move.
  ToVfio("0.0.0101");
  ASSERT_EQ(k_->Write("bus/css/devices/0.0.0101/mdev_supported_types/vfio_ccw-io/create", kUuid2), 0);
  const int cont = k_->OpenContainer();
  ASSERT_GE(cont, 0);
  EXPECT_EQ(k_->GetApiVersion(cont), VFIO_API_VERSION);
  EXPECT_EQ(k_->CheckExtension(cont, VFIO_TYPE1v2_IOMMU), 1);
  EXPECT_EQ(k_->CheckExtension(cont, VFIO_SPAPR_TCE_IOMMU), 0);
  EXPECT_EQ(k_->SetIommu(cont, VFIO_TYPE1v2_IOMMU), -EINVAL);  // no group yet
  const int g = k_->OpenGroup(1);
  ASSERT_GE(g, 0);
  uint32_t flags = 0;
  ASSERT_EQ(k_->GetGroupStatus(g, &flags), 0);
  EXPECT_EQ(flags, VFIO_GROUP_FLAGS_VIABLE);
  EXPECT_EQ(k_->GetDeviceFd(g, kUuid2), -EINVAL);  // no container
  EXPECT_EQ(k_->SetContainer(g, 12345), -EBADF);
  ASSERT_EQ(k_->SetContainer(g, cont), 0);
  EXPECT_EQ(k_->SetContainer(g, cont), -EINVAL);
  EXPECT_EQ(k_->GetDeviceFd(g, kUuid2), -EINVAL);  // no IOMMU
  EXPECT_EQ(k_->SetIommu(cont, 42), -ENODEV);
  ASSERT_EQ(k_->SetIommu(cont, VFIO_TYPE1v2_IOMMU), 0);
  EXPECT_EQ(k_->MapDma(cont, 0x1001, 0, 4096, VFIO_DMA_MAP_FLAG_READ), -EINVAL);  // unaligned
  EXPECT_EQ(k_->GetDeviceFd(g, kUuid), -ENODEV);  // not in this group
  const int d = k_->GetDeviceFd(g, kUuid2);
  ASSERT_GE(d, 0);
  EXPECT_EQ(k_->GetDeviceFd(g, kUuid2), -EBUSY);
  EXPECT_EQ(k_->UnsetContainer(g), -EBUSY);
  EXPECT_EQ(k_->Close(d), 0);
  EXPECT_EQ(k_->UnsetContainer(g), 0);
  EXPECT_EQ(k_->Close(g), 0);
  EXPECT_EQ(k_->Close(cont), 0);
  EXPECT_EQ(k_->Close(cont), -EBADF);
}

TEST_F(VfioTest, SenseIdThroughTheIoRegionAndEventfd) {
  translate::Orb orb = SenseIdInArena();
  ASSERT_EQ(c_->Start(orb), 124);
  auto irb = c_->WaitIrb();
  ASSERT_TRUE(irb.ok()) << irb.status();
  // start function; status pending | primary | secondary; CE+DE; CPA after the CCW.
  const auto s = irb->scsw.Encode();
  EXPECT_THAT(std::vector<uint8_t>(s.begin(), s.end()),
              ElementsAre(0x00, 0x80, 0x40, 0x07, 0x00, 0x10, 0x10, 0x08, 0x0c, 0x00, 0x00, 0x0c));
  // 20 bytes of SENSE ID (3990-6: three CIWs) in a 32-byte buffer: residual 12.
  const uint8_t* data = c_->arena_memory() + 0x2000;
  EXPECT_THAT(std::vector<uint8_t>(data, data + 20),
              ElementsAre(0xff, 0x39, 0x90, 0xe9, 0x33, 0x90, 0x02, 0x00, 0x40, 0xfa, 0x01, 0x00, 0x41, 0x27, 0x00,
                          0x04, 0x42, 0x3e, 0x00, 0x60));
  // The SCHIB region performs STSCH.
  auto schib = c_->ReadSchib();
  ASSERT_TRUE(schib.ok()) << schib.status();
  EXPECT_TRUE(schib->pmcw.dnv);
  EXPECT_EQ(schib->pmcw.dev, 0xe000);
  EXPECT_TRUE(schib->pmcw.ena);
  EXPECT_EQ(schib->pmcw.pim, 0xc0);
  EXPECT_EQ(schib->pmcw.chpid[0], 0x15);
  EXPECT_EQ(schib->pmcw.chpid[1], 0x16);
  EXPECT_EQ(k_->VfioDeviceOf("0.0.0100")->state(), CcwState::kIdle);
}

TEST_F(VfioTest, IoRegionReturnCodes) {
  translate::Orb orb = SenseIdInArena();
  // Transport mode is refused.
  translate::Orb tm = orb;
  tm.tm = true;
  EXPECT_EQ(c_->Start(tm), -EOPNOTSUPP);
  // Halt or clear through the I/O region is refused; no function does nothing.
  translate::CcwIoRegion r{};
  orb.EncodeTo(std::span<uint8_t, translate::kOrbSize>(r.orb_area));
  translate::Scsw halt;
  halt.fctl = translate::scsw_fctl::kHalt;
  halt.EncodeTo(std::span<uint8_t, translate::kScswSize>(r.scsw_area));
  EXPECT_EQ(c_->WriteIoRegion(r), -EOPNOTSUPP);
  translate::Scsw none;
  none.EncodeTo(std::span<uint8_t, translate::kScswSize>(r.scsw_area));
  r.ret_code = 0;
  EXPECT_EQ(c_->WriteIoRegion(r), 124);
  EXPECT_FALSE(c_->WaitIrq(0, absl::Milliseconds(50)));

  // A program is pending: -EBUSY; the kernel's own checks: -EFAULT, -EINVAL, -ENOMEM.
  ASSERT_TRUE(k_->SetLatency("0.0.0100", 200000).ok());
  ASSERT_EQ(c_->Start(orb), 124);
  EXPECT_EQ(c_->Start(orb), -EBUSY);
  EXPECT_EQ(k_->VfioDeviceOf("0.0.0100")->state(), CcwState::kCpPending);
  ASSERT_TRUE(c_->WaitIrb().ok());
  ASSERT_TRUE(k_->SetLatency("0.0.0100", 0).ok());

  uint8_t* m = c_->arena_memory();
  const uint32_t base = static_cast<uint32_t>(testing::kArenaIova);
  translate::Orb raw;
  raw.fmt = true;
  raw.lpm = 0xff;
  raw.cpa = base + 0x1000;
  // TIC to memory the IOMMU does not map.
  translate::Ccw1{.cmd = 0x08, .cda = 0x7fff0000}.EncodeTo(std::span<uint8_t, 8>(m + 0x1000, 8));
  EXPECT_EQ(c_->Start(raw), -EFAULT);
  // 256 chained NOOPs.
  for (int i = 0; i < 256; ++i) {
    translate::Ccw1{.cmd = 0x03, .flags = translate::ccw_flag::kCc | translate::ccw_flag::kSli, .count = 1}
        .EncodeTo(std::span<uint8_t, 8>(m + 0x1000 + 8 * i, 8));
  }
  EXPECT_EQ(c_->Start(raw), -EINVAL);
  // 17 segments: NOOP + TIC to the next 16-byte block, 17 times.
  for (int i = 0; i < 17; ++i) {
    const uint32_t at = 0x1000 + 32 * i;
    translate::Ccw1{.cmd = 0x03, .flags = translate::ccw_flag::kCc, .count = 1}.EncodeTo(
        std::span<uint8_t, 8>(m + at, 8));
    if (i < 16) {
      translate::Ccw1{.cmd = 0x08, .cda = base + at + 32}.EncodeTo(std::span<uint8_t, 8>(m + at + 8, 8));
    } else {
      translate::Ccw1{.cmd = 0x03, .count = 1}.EncodeTo(std::span<uint8_t, 8>(m + at, 8));
    }
  }
  EXPECT_EQ(c_->Start(raw), -ENOMEM);
  EXPECT_EQ(k_->VfioDeviceOf("0.0.0100")->state(), CcwState::kIdle);
}

TEST_F(VfioTest, PathsOfflineGiveEaccesThenEnodevAndQueueCrws) {
  ASSERT_TRUE(k_->ConfigurePath(0x15, false).ok());
  ASSERT_TRUE(c_->WaitIrq(1));
  auto crw = c_->ReadCrw();
  ASSERT_TRUE(crw.ok());
  EXPECT_EQ(translate::Crw::FromWord(*crw), (translate::Crw{.rsc = 4, .erc = 6, .rsid = 0x15}));
  EXPECT_EQ(*c_->ReadCrw(), 0u);  // drained
  EXPECT_EQ(Read("bus/css/devices/0.0.0100/pimpampom"), "c0 40 ff\n");
  EXPECT_EQ(Read("devices/css0/chp0.15/configure"), "0\n");

  EXPECT_EQ(c_->Start(SenseIdInArena(0x80)), -EACCES);  // only CHPID 15 asked for
  ASSERT_EQ(c_->Start(SenseIdInArena(0x40)), 124);      // CHPID 16 works
  auto irb = c_->WaitIrb();
  ASSERT_TRUE(irb.ok());
  EXPECT_EQ(irb->esw.lpum, 0x40);

  ASSERT_TRUE(k_->ConfigurePath(0x16, false).ok());
  ASSERT_TRUE(c_->WaitIrq(1));
  EXPECT_EQ(translate::Crw::FromWord(*c_->ReadCrw()), (translate::Crw{.rsc = 4, .erc = 6, .rsid = 0x16}));
  EXPECT_EQ(c_->Start(SenseIdInArena(0x40)), -ENODEV);

  ASSERT_TRUE(k_->ConfigurePath(0x15, true).ok());
  ASSERT_TRUE(c_->WaitIrq(1));
  EXPECT_EQ(translate::Crw::FromWord(*c_->ReadCrw()), (translate::Crw{.rsc = 4, .erc = 2, .rsid = 0x15}));
  ASSERT_EQ(c_->Start(SenseIdInArena(0xff)), 124);
  irb = c_->WaitIrb();
  ASSERT_TRUE(irb.ok());
  EXPECT_EQ(irb->esw.lpum, 0x80);
}

TEST_F(VfioTest, HaltAndClearThroughTheAsyncRegion) {
  ASSERT_TRUE(k_->SetLatency("0.0.0100", 500000).ok());
  ASSERT_EQ(c_->Start(SenseIdInArena()), 124);
  EXPECT_EQ(c_->AsyncCommand(translate::kAsyncCmdHsch), 8);
  auto irb = c_->WaitIrb();
  ASSERT_TRUE(irb.ok());
  EXPECT_EQ(irb->scsw.fctl, translate::scsw_fctl::kStart | translate::scsw_fctl::kHalt);
  EXPECT_EQ(irb->scsw.stctl, translate::scsw_stctl::kStatusPending);
  EXPECT_EQ(irb->scsw.cpa, testing::kArenaIova + 0x1000);  // mapped back: nothing ran
  EXPECT_EQ(k_->VfioDeviceOf("0.0.0100")->state(), CcwState::kIdle);

  ASSERT_EQ(c_->Start(SenseIdInArena()), 124);
  EXPECT_EQ(c_->AsyncCommand(translate::kAsyncCmdCsch), 8);
  irb = c_->WaitIrb();
  ASSERT_TRUE(irb.ok());
  EXPECT_EQ(irb->scsw.fctl, translate::scsw_fctl::kClear);
  EXPECT_EQ(k_->VfioDeviceOf("0.0.0100")->state(), CcwState::kIdle);
  EXPECT_EQ(c_->AsyncCommand(0x4), -EINVAL);
  EXPECT_EQ(k_->css().stats().start_functions, 0u);  // neither program reached the device
}

// vfio_ccw's fsm_notoper() schedules the subchannel's unregistration: the
// mdev's removal asks the user for the device (REQ) and waits; the subchannel
// leaves the bus. When the device is back, the channel subsystem's evaluation
// registers it anew, on io_subchannel as at boot.
TEST_F(VfioTest, NotOperationalVfioCcwSubchannelIsUnregisteredAndComesBackNew) {
  auto mon = k_->NewEventSource({"css", "ccw", "mdev"});
  const Device* device = k_->DeviceOf("0.0.0100");
  ASSERT_NE(device, nullptr);
  ExpectGoneOnceReleased(
      *mon, [&] { EXPECT_TRUE(k_->SetDeviceOperational("0.0.0100", false).ok()); },
      [&] {  // the user gets -EIO meanwhile
        EXPECT_EQ(k_->VfioDeviceOf("0.0.0100")->state(), CcwState::kNotOper);
        EXPECT_EQ(c_->Start(SenseIdInArena()), -EIO);
        EXPECT_EQ(c_->AsyncCommand(translate::kAsyncCmdCsch), -EIO);
      });
  EXPECT_THAT(Ls("bus/mdev/devices"), ElementsAre());
  EXPECT_THAT(Ls("kernel/iommu_groups"), ElementsAre());
  EXPECT_FALSE(k_->Exists("devices/css0/0.0.0100"));
  EXPECT_FALSE(k_->Exists("bus/ccw/devices/0.0.e000"));
  EXPECT_EQ(k_->VfioDeviceOf("0.0.0100"), nullptr);
  EXPECT_TRUE(absl::IsNotFound(k_->SetLatency("0.0.0100", 0)));
  // Still not operational: nothing changes.
  ASSERT_TRUE(k_->SetDeviceOperational("0.0.0100", false).ok());
  EXPECT_THAT(Drain(*mon), ElementsAre());

  ASSERT_TRUE(k_->SetDeviceOperational("0.0.0100", true).ok());
  EXPECT_THAT(Drain(*mon), ElementsAre("add css devices/css0/0.0.0100", "add ccw devices/css0/0.0.0100/0.0.e000",
                                       "bind ccw devices/css0/0.0.0100/0.0.e000 dasd-eckd"));
  EXPECT_THAT(Ls("bus/css/devices"), ElementsAre("0.0.0100", "0.0.0101", "0.0.0102"));
  // As at boot: its driver_override was vfio_ccw, a new registration has none.
  ExpectDasdAsAtBoot();
  EXPECT_EQ(k_->DeviceOf("0.0.0100"), device);  // the same device, its volume with it
  // It can be passed through again, with the same mdev UUID.
  auto c = SimClient::Attach(*k_, "0.0.0100", kUuid);
  ASSERT_TRUE(c.ok()) << c.status();
  c_ = std::move(*c);
  ASSERT_EQ(c_->Start(SenseIdInArena()), 124);
  EXPECT_TRUE(c_->WaitIrb().ok());
}

TEST_F(VfioTest, UnmappingMemoryUnderAPendingProgramResetsTheDevice) {
  ASSERT_TRUE(k_->SetLatency("0.0.0100", 300000).ok());
  ASSERT_EQ(c_->Start(SenseIdInArena()), 124);
  EXPECT_EQ(k_->UnmapDma(c_->container_fd(), testing::kArenaIova, 1 << 20), 1 << 20);
  EXPECT_EQ(k_->VfioDeviceOf("0.0.0100")->state(), CcwState::kIdle);
  EXPECT_FALSE(c_->WaitIrq(0, absl::Milliseconds(400)));  // the program is gone
  EXPECT_EQ(k_->css().stats().start_functions, 0u);
  ASSERT_EQ(k_->MapDma(c_->container_fd(), reinterpret_cast<uint64_t>(c_->arena_memory()), testing::kArenaIova,
                       1 << 20, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE),
            0);
  ASSERT_TRUE(k_->SetLatency("0.0.0100", 0).ok());
  ASSERT_EQ(c_->Start(SenseIdInArena()), 124);
  EXPECT_TRUE(c_->WaitIrb().ok());
  // Unmapping memory no program uses does not reset.
  EXPECT_EQ(k_->MapDma(c_->container_fd(), reinterpret_cast<uint64_t>(c_->arena_memory()), 0x40000000, 4096,
                       VFIO_DMA_MAP_FLAG_READ),
            0);
  EXPECT_EQ(k_->MapDma(c_->container_fd(), reinterpret_cast<uint64_t>(c_->arena_memory()), 0x40000000, 4096,
                       VFIO_DMA_MAP_FLAG_READ),
            -EEXIST);
  EXPECT_EQ(k_->UnmapDma(c_->container_fd(), 0x40000000, 4096), 4096);
}

TEST_F(VfioTest, HotUnplugRaisesReqAndWaitsForTheUser) {
  auto mon = k_->NewEventSource({"css", "mdev"});
  ExpectGoneOnceReleased(*mon, [&] { EXPECT_TRUE(k_->RemoveSubchannel("0.0.0100").ok()); }, [] {});
  EXPECT_TRUE(absl::IsNotFound(k_->RemoveSubchannel("0.0.0100")));
}

TEST_F(VfioTest, VaryOffHaltsTheIoOnThatPath) {
  ASSERT_TRUE(k_->SetLatency("0.0.0100", 500000).ok());
  ASSERT_EQ(c_->Start(SenseIdInArena(0x80)), 124);  // on CHPID 15
  ASSERT_TRUE(k_->VaryPath(0x15, false).ok());
  auto irb = c_->WaitIrb();
  ASSERT_TRUE(irb.ok());
  EXPECT_EQ(irb->scsw.fctl, translate::scsw_fctl::kStart | translate::scsw_fctl::kHalt);
  EXPECT_EQ(Read("devices/css0/chp0.15/status"), "offline\n");
  EXPECT_EQ(k_->VfioDeviceOf("0.0.0100")->QueuedCrws(), 0u);  // vary makes no CRW
}

}  // namespace
}  // namespace ccwpass::sim
