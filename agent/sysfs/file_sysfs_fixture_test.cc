// The checked-in sysfs trees (tests/fixtures/sysfs) read through FileSysfs,
// against the simulated kernel built with the same facts: both must print the
// same attribute strings and link targets, so the simulated kernel and the
// formats of the real one (as the fixtures record them) cannot drift apart.
#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "agent/sysfs/file_sysfs.h"
#include "agent/sysfs/testing/fixture_tree.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/kernel.h"

namespace ccwpass::agent {
namespace {

using ::testing::ElementsAre;
using testing::FixtureTree;
using testing::TreeEntry;

constexpr char kQemuGuest[] = "tests/fixtures/sysfs/qemu-guest/tree.txt";
constexpr char kLparDasd[] = "tests/fixtures/sysfs/lpar-dasd/tree.txt";
constexpr char kUuid[] = "7e270a25-e163-4922-af60-757fc8ed48c6";

std::string Read(SysfsOps& fs, const std::string& path) {
  std::string v;
  const int rc = fs.Read(path, &v);
  return rc == 0 ? v : "errno " + std::to_string(rc);
}
std::string Link(SysfsOps& fs, const std::string& path) {
  std::string v;
  const int rc = fs.ReadLink(path, &v);
  return rc == 0 ? v : "errno " + std::to_string(rc);
}
std::vector<std::string> Ls(SysfsOps& fs, const std::string& path) {
  std::vector<std::string> v;
  const int rc = fs.List(path, &v);
  if (rc != 0) v = {"errno " + std::to_string(rc)};
  return v;
}

// The same attribute strings, link targets and listings in both.
void ExpectSameAttrs(SysfsOps& fixture, SysfsOps& sim, const std::string& dir,
                     const std::vector<std::string>& attrs) {
  for (const std::string& a : attrs) {
    const std::string p = dir + "/" + a;
    EXPECT_EQ(Read(fixture, p), Read(sim, p)) << p;
  }
}
void ExpectSameLinks(SysfsOps& fixture, SysfsOps& sim, const std::vector<std::string>& links) {
  for (const std::string& p : links) EXPECT_EQ(Link(fixture, p), Link(sim, p)) << p;
}
void ExpectSameListing(SysfsOps& fixture, SysfsOps& sim, const std::vector<std::string>& dirs) {
  for (const std::string& p : dirs) EXPECT_EQ(Ls(fixture, p), Ls(sim, p)) << p;
}

void Passthrough(sim::SimKernel& k, const std::string& schid) {
  ASSERT_EQ(k.Write("bus/css/devices/" + schid + "/driver_override", "vfio_ccw"), 0);
  ASSERT_EQ(k.Write("bus/css/drivers/io_subchannel/unbind", schid), 0);
  ASSERT_EQ(k.Write("bus/css/drivers_probe", schid), 0);
}

// Every entry of a manifest reads back through FileSysfs as written, and every
// link resolves inside the tree (a real sysfs has no dangling links).
void ExpectTreeConsistent(const FixtureTree& t) {
  FileSysfs fs(t.root());
  for (const TreeEntry& e : t.entries()) {
    SCOPED_TRACE(e.path);
    switch (e.kind) {
      case TreeEntry::kFile:
        EXPECT_EQ(Read(fs, e.path), e.content);
        break;
      case TreeEntry::kWriteOnly:
      case TreeEntry::kDir:
        EXPECT_TRUE(fs.Exists(e.path));
        break;
      case TreeEntry::kLink: {
        EXPECT_EQ(Link(fs, e.path), e.content);
        struct stat st;
        EXPECT_EQ(::stat((t.root() + "/" + e.path).c_str(), &st), 0) << "dangling link";
        break;
      }
    }
  }
}

// A fixture tree read through FileSysfs next to the simulated kernel of the
// same host.
class FixtureVsSimTest : public ::testing::Test {
 protected:
  void Load(const char* manifest, const sim::HostConfig& host) {
    auto t = FixtureTree::Load(manifest);
    ASSERT_TRUE(t.ok()) << t.status();
    tree_ = std::move(*t);
    fs_ = std::make_unique<FileSysfs>(tree_->root());
    auto k = sim::SimKernel::Create(host);
    ASSERT_TRUE(k.ok()) << k.status();
    sim_ = std::move(*k);
  }
  std::unique_ptr<FixtureTree> tree_;
  std::unique_ptr<FileSysfs> fs_;
  std::unique_ptr<sim::SimKernel> sim_;
};

// ---------------------------------------------------------------------------
// The s390x guest under QEMU.

sim::HostConfig QemuGuestHost() {
  sim::HostConfig h;
  h.channel_paths = {sim::ChannelPathConfig{.chpid = 0x00, .type = 0x32}};
  for (uint16_t i = 0; i < 3; ++i) {
    sim::SubchannelConfig s;
    s.schno = i;
    s.devno = static_cast<uint16_t>(i + 1);
    s.chpids = {0x00};
    s.pim = s.pam = 0x80;
    h.subchannels.push_back(s);
  }
  return h;
}

class QemuGuestTest : public FixtureVsSimTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(Load(kQemuGuest, QemuGuestHost()));
    ASSERT_NO_FATAL_FAILURE(Passthrough(*sim_, "0.0.0002"));
    ASSERT_EQ(sim_->Write("bus/css/devices/0.0.0002/mdev_supported_types/vfio_ccw-io/create", kUuid), 0);
  }
};

TEST_F(QemuGuestTest, TreeIsConsistent) { ExpectTreeConsistent(*tree_); }

TEST_F(QemuGuestTest, WhatTheGuestKernelShowed) {
  // reference/qemu-s390x.md, checked against the fixture itself.
  EXPECT_EQ(Read(*fs_, "bus/css/devices/0.0.0000/chpids"), "00 00 00 00 00 00 00 00 \n");
  EXPECT_EQ(Read(*fs_, "bus/css/devices/0.0.0000/pimpampom"), "80 80 ff\n");
  EXPECT_EQ(Read(*fs_, "bus/css/devices/0.0.0000/driver_override"), "(null)\n");
  EXPECT_EQ(Read(*fs_, "bus/ccw/devices/0.0.0001/cutype"), "3832/02\n");
  EXPECT_EQ(Read(*fs_, "bus/ccw/devices/0.0.0002/cutype"), "3832/04\n");
  EXPECT_EQ(Read(*fs_, "bus/ccw/devices/0.0.0001/devtype"), "n/a\n");
  EXPECT_EQ(Link(*fs_, "bus/css/devices/0.0.0000"), "../../../devices/css0/0.0.0000");
  EXPECT_EQ(Link(*fs_, "bus/css/devices/0.0.0000/driver"), "../../../bus/css/drivers/io_subchannel");
  EXPECT_EQ(Link(*fs_, "bus/ccw/devices/0.0.0001/driver"), "../../../../bus/ccw/drivers/virtio_ccw");
  EXPECT_EQ(Link(*fs_, "bus/ccw/devices/0.0.0001"), "../../../devices/css0/0.0.0000/0.0.0001");
  EXPECT_EQ(Read(*fs_, "bus/mdev/devices/" + std::string(kUuid) + "/mdev_type/name"),
            "I/O subchannel (Non-QDIO)\n");
  EXPECT_EQ(Link(*fs_, "bus/mdev/devices/" + std::string(kUuid) + "/iommu_group"),
            "../../../../kernel/iommu_groups/0");
  EXPECT_TRUE(fs_->Exists("kernel/iommu_groups/0/devices/" + std::string(kUuid)));
}

TEST_F(QemuGuestTest, SubchannelsAgreeWithTheSimulatedKernel) {
  for (const std::string sch : {"0.0.0000", "0.0.0001", "0.0.0002"}) {
    SCOPED_TRACE(sch);
    ExpectSameAttrs(*fs_, *sim_, "bus/css/devices/" + sch,
                    {"type", "modalias", "chpids", "pimpampom", "dev_busid", "driver_override"});
    ExpectSameLinks(*fs_, *sim_,
                    {"bus/css/devices/" + sch, "bus/css/devices/" + sch + "/driver",
                     "bus/css/devices/" + sch + "/subsystem"});
  }
  ExpectSameLinks(*fs_, *sim_,
                  {"bus/css/drivers/io_subchannel/0.0.0000", "bus/css/drivers/io_subchannel/0.0.0001",
                   "bus/css/drivers/vfio_ccw/0.0.0002"});
  ExpectSameAttrs(*fs_, *sim_, "devices/css0/chp0.00", {"status", "type"});
}

TEST_F(QemuGuestTest, MdevAgreesWithTheSimulatedKernel) {
  const std::string sch = "devices/css0/0.0.0002";
  const std::string type = sch + "/mdev_supported_types/vfio_ccw-io";
  const std::string mdev = sch + "/" + kUuid;
  ExpectSameAttrs(*fs_, *sim_, type, {"name", "device_api", "available_instances"});
  ExpectSameLinks(*fs_, *sim_,
                  {mdev + "/iommu_group", mdev + "/mdev_type", mdev + "/driver", mdev + "/subsystem",
                   type + "/devices/" + kUuid, "bus/mdev/devices/" + std::string(kUuid),
                   "kernel/iommu_groups/0/devices/" + std::string(kUuid)});
  ExpectSameListing(*fs_, *sim_, {sch, type, type + "/devices", mdev, "bus/mdev/devices", "kernel/iommu_groups"});
  EXPECT_THAT(Ls(*fs_, mdev), ElementsAre("driver", "iommu_group", "mdev_type", "remove", "subsystem"));
}

// ---------------------------------------------------------------------------
// The LPAR with DASD, an OSA and the CHSC subchannel.

sim::HostConfig LparHost() {
  sim::HostConfig h;
  h.channel_paths = {sim::ChannelPathConfig{.chpid = 0x04, .type = 0x11, .chid = "0110"},
                     sim::ChannelPathConfig{.chpid = 0x15, .type = 0x1b, .chid = "0150"},
                     sim::ChannelPathConfig{.chpid = 0x16, .type = 0x1b, .chid = "0151"}};
  for (uint16_t i = 0; i < 3; ++i) {
    sim::SubchannelConfig s;
    s.schno = i;
    s.devno = static_cast<uint16_t>(0xe000 + i);
    s.chpids = {0x15, 0x16};
    s.pim = s.pam = 0xc0;
    s.device.kind = sim::DeviceKind::kDasd3390;
    s.device.cylinders = 10;
    s.device.model = "3390-9";
    h.subchannels.push_back(s);
  }
  sim::SubchannelConfig osa;
  osa.schno = 3;
  osa.devno = 0xf500;
  osa.chpids = {0x04};
  osa.pim = osa.pam = 0x80;
  osa.qdio = true;
  h.subchannels.push_back(osa);
  sim::SubchannelConfig chsc;
  chsc.schno = 4;
  chsc.type = 1;
  chsc.has_devno = false;
  h.subchannels.push_back(chsc);
  return h;
}

class LparDasdTest : public FixtureVsSimTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(Load(kLparDasd, LparHost()));
    ASSERT_EQ(sim_->Write("bus/ccw/devices/0.0.e000/online", "1"), 0);
    ASSERT_NO_FATAL_FAILURE(Passthrough(*sim_, "0.0.0002"));
  }
};

TEST_F(LparDasdTest, TreeIsConsistent) { ExpectTreeConsistent(*tree_); }

TEST_F(LparDasdTest, IoSubchannelsAgreeWithTheSimulatedKernel) {
  for (const std::string sch : {"0.0.0000", "0.0.0001", "0.0.0002", "0.0.0003"}) {
    SCOPED_TRACE(sch);
    ExpectSameAttrs(*fs_, *sim_, "bus/css/devices/" + sch,
                    {"type", "modalias", "chpids", "pimpampom", "dev_busid", "driver_override"});
    ExpectSameLinks(*fs_, *sim_, {"bus/css/devices/" + sch, "bus/css/devices/" + sch + "/driver"});
  }
  EXPECT_EQ(Read(*fs_, "bus/css/devices/0.0.0000/chpids"), "15 16 00 00 00 00 00 00 \n");
  EXPECT_EQ(Read(*fs_, "bus/css/devices/0.0.0000/pimpampom"), "c0 c0 ff\n");
  EXPECT_EQ(Read(*fs_, "bus/css/devices/0.0.0002/driver_override"), "vfio_ccw\n");
}

TEST_F(LparDasdTest, DasdAgreesWithTheSimulatedKernel) {
  for (const std::string dev : {"0.0.e000", "0.0.e001"}) {
    SCOPED_TRACE(dev);
    ExpectSameAttrs(*fs_, *sim_, "bus/ccw/devices/" + dev,
                    {"cutype", "devtype", "online", "availability", "cmb_enable"});
    ExpectSameLinks(*fs_, *sim_,
                    {"bus/ccw/devices/" + dev, "bus/ccw/devices/" + dev + "/driver",
                     "bus/ccw/devices/" + dev + "/subsystem"});
  }
  EXPECT_EQ(Read(*fs_, "bus/ccw/devices/0.0.e000/cutype"), "3990/e9\n");
  EXPECT_EQ(Read(*fs_, "bus/ccw/devices/0.0.e000/devtype"), "3390/0c\n");
  // On vfio_ccw the subchannel has no ccw device child.
  EXPECT_FALSE(fs_->Exists("bus/ccw/devices/0.0.e002"));
  EXPECT_FALSE(sim_->Exists("bus/ccw/devices/0.0.e002"));
}

TEST_F(LparDasdTest, UnusedMdevTypeAgreesWithTheSimulatedKernel) {
  const std::string type = "bus/css/devices/0.0.0002/mdev_supported_types/vfio_ccw-io";
  ExpectSameAttrs(*fs_, *sim_, type, {"name", "device_api", "available_instances"});
  ExpectSameListing(*fs_, *sim_, {type, type + "/devices"});
  EXPECT_EQ(Read(*fs_, type + "/available_instances"), "1\n");
}

TEST_F(LparDasdTest, ChscSubchannel) {
  // Only the attributes every subchannel has; chpids, pimpampom and dev_busid
  // belong to I/O subchannels (css_register_subchannel sets io_subchannel_type
  // for type 0 only), so the fixture has none of them. The simulated kernel
  // differs: it shows them for every type, and binds no driver to type 1.
  ExpectSameAttrs(*fs_, *sim_, "bus/css/devices/0.0.0004", {"type", "modalias", "driver_override"});
  EXPECT_EQ(Read(*fs_, "bus/css/devices/0.0.0004/type"), "1\n");
  EXPECT_EQ(Read(*fs_, "bus/css/devices/0.0.0004/modalias"), "css:t1\n");
  EXPECT_FALSE(fs_->Exists("bus/css/devices/0.0.0004/dev_busid"));
  EXPECT_EQ(Link(*fs_, "bus/css/devices/0.0.0004/driver"), "../../../bus/css/drivers/chsc_subchannel");
}

TEST_F(LparDasdTest, ChannelPathsAgreeWithTheSimulatedKernel) {
  for (const std::string chp : {"chp0.04", "chp0.15", "chp0.16"}) {
    SCOPED_TRACE(chp);
    ExpectSameAttrs(*fs_, *sim_, "devices/css0/" + chp, {"status", "configure", "type", "cmg", "shared", "chid"});
  }
  ExpectSameListing(*fs_, *sim_, {"devices/css0/chp0.15"});
  EXPECT_EQ(Read(*fs_, "devices/css0/chp0.04/type"), "11\n");
}

}  // namespace
}  // namespace ccwpass::agent
