// UdevMonitor without root-only netlink traffic: creation, the descriptor,
// an empty receive, and the mapping of uevent properties into DeviceEvent.
#include "agent/udev/udev_monitor.h"

#include <fcntl.h>
#include <poll.h>

#include <cerrno>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace ccwpass::agent {
namespace {

using ::ccwpass::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

TEST(DeviceEventFromPropertiesTest, BindOfASubchannel) {
  EXPECT_THAT(DeviceEventFromProperties("bind", "css", "/devices/css0/0.0.0100", "vfio_ccw", "4711"),
              Optional(DeviceEvent{.action = DeviceAction::kBind,
                                   .subsystem = "css",
                                   .devpath = "devices/css0/0.0.0100",
                                   .sysname = "0.0.0100",
                                   .driver = "vfio_ccw",
                                   .seqnum = 4711}));
}

TEST(DeviceEventFromPropertiesTest, EveryAction) {
  const std::pair<const char*, DeviceAction> cases[] = {
      {"add", DeviceAction::kAdd},       {"remove", DeviceAction::kRemove}, {"change", DeviceAction::kChange},
      {"move", DeviceAction::kMove},     {"bind", DeviceAction::kBind},     {"unbind", DeviceAction::kUnbind},
  };
  for (const auto& [name, action] : cases) {
    auto e = DeviceEventFromProperties(name, "ccw", "/devices/css0/0.0.0100/0.0.e000", "", "1");
    ASSERT_TRUE(e.has_value()) << name;
    EXPECT_EQ(e->action, action);
    EXPECT_EQ(e->sysname, "0.0.e000");
    EXPECT_EQ(e->driver, "");
  }
}

TEST(DeviceEventFromPropertiesTest, MdevAndVfioGroup) {
  auto m = DeviceEventFromProperties("add", "mdev", "/devices/css0/0.0.0100/7e270a25-e163-4922-af60-757fc8ed48c6",
                                     "", "18446744073709551615");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->sysname, "7e270a25-e163-4922-af60-757fc8ed48c6");
  EXPECT_EQ(m->seqnum, 18446744073709551615u);
  auto g = DeviceEventFromProperties("add", "vfio", "/devices/virtual/vfio/0", "", "2");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->devpath, "devices/virtual/vfio/0");
  EXPECT_EQ(g->sysname, "0");
}

TEST(DeviceEventFromPropertiesTest, Refused) {
  EXPECT_EQ(DeviceEventFromProperties("online", "cpu", "/devices/system/cpu/cpu1", "", "1"), std::nullopt);
  EXPECT_EQ(DeviceEventFromProperties("", "css", "/devices/css0/0.0.0100", "", "1"), std::nullopt);
  EXPECT_EQ(DeviceEventFromProperties("add", "css", "", "", "1"), std::nullopt);
  EXPECT_EQ(DeviceEventFromProperties("add", "css", "/", "", "1"), std::nullopt);
  EXPECT_EQ(DeviceEventFromProperties("add", "css", "devices/css0/0.0.0100", "", "1"), std::nullopt);
  EXPECT_EQ(DeviceEventFromProperties("add", "css", "/devices/css0/", "", "1"), std::nullopt);
  EXPECT_EQ(DeviceEventFromProperties("add", "css", "/devices/css0/0.0.0100", "", ""), std::nullopt);
  EXPECT_EQ(DeviceEventFromProperties("add", "css", "/devices/css0/0.0.0100", "", "-1"), std::nullopt);
  EXPECT_EQ(DeviceEventFromProperties("add", "css", "/devices/css0/0.0.0100", "", "1x"), std::nullopt);
  EXPECT_EQ(DeviceEventFromProperties("add", "css", "/devices/css0/0.0.0100", "", "18446744073709551616"),
            std::nullopt);
}

TEST(UdevMonitorTest, BadArguments) {
  EXPECT_THAT(UdevMonitor::Create({"css"}, "udevd"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("source 'udevd'")));
  EXPECT_THAT(UdevMonitor::Create({"css", ""}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty subsystem")));
}

TEST(UdevMonitorTest, KernelMonitorIsANonBlockingSocketWithNothingQueued) {
  auto m = UdevMonitor::Create({"css", "ccw", "mdev", "vfio"});
  if (!m.ok() && (m.status().code() == absl::StatusCode::kPermissionDenied ||
                  m.status().code() == absl::StatusCode::kUnimplemented)) {
    GTEST_SKIP() << "no uevent netlink socket in this sandbox: " << m.status();
  }
  ASSERT_TRUE(m.ok()) << m.status();
  const int fd = (*m)->fd();
  ASSERT_GE(fd, 0);
  EXPECT_NE(::fcntl(fd, F_GETFD), -1);
  EXPECT_TRUE(::fcntl(fd, F_GETFL) & O_NONBLOCK);
  EXPECT_THAT((*m)->subsystems(), ::testing::ElementsAre("css", "ccw", "mdev", "vfio"));
  // Nothing for these subsystems happens here; an unrelated uevent may arrive,
  // but the filter keeps it away.
  std::vector<DeviceEvent> out;
  EXPECT_EQ((*m)->Receive(&out, 100), 0);
  EXPECT_THAT(out, IsEmpty());
  EXPECT_EQ((*m)->Receive(&out, 0), 0);
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
}

TEST(UdevMonitorTest, AllSubsystemsAndTheUdevSource) {
  for (const char* source : {"kernel", "udev"}) {
    auto m = UdevMonitor::Create({}, source);
    if (!m.ok() && (m.status().code() == absl::StatusCode::kPermissionDenied ||
                    m.status().code() == absl::StatusCode::kUnimplemented)) {
      GTEST_SKIP() << "no uevent netlink socket in this sandbox: " << m.status();
    }
    ASSERT_TRUE(m.ok()) << source << ": " << m.status();
    EXPECT_GE((*m)->fd(), 0);
    EXPECT_THAT((*m)->subsystems(), IsEmpty());
  }
}

}  // namespace
}  // namespace ccwpass::agent
