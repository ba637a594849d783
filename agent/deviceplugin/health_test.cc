// The health rules and the preferred-allocation spreading, on views made by hand.
#include "agent/deviceplugin/health.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace ccwpass::agent::deviceplugin {
namespace {

using ::ccwpass::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kOwner[] = "kubelet:ccwpass.io/dasd-3390";

SubchannelView Dasd() {
  SubchannelView v;
  v.info.schid = "0.0.0100";
  v.info.devno = 0x0191;
  v.info.chpids = {0x40, 0x41, 0, 0, 0, 0, 0, 0};
  v.info.pim = v.info.pam = 0xc0;
  v.info.pom = 0xff;
  v.info.driver = "io_subchannel";
  v.info.has_ccwdev = true;
  v.info.availability = "good";
  v.state = AgentState::kDetached;
  return v;
}

Health Assess(const SubchannelView& v, uint8_t varied_on = 0xff, FailureRecord f = {}, absl::Time now = absl::Now()) {
  bool transient = false;
  Health h = AssessHealth(v, varied_on, kOwner, f, HealthPolicy{}, now, &transient);
  EXPECT_FALSE(transient);
  return h;
}

TEST(HealthTest, Rules) {
  SubchannelView v = Dasd();
  EXPECT_EQ(Assess(v), (Health{true, ""}));
  EXPECT_EQ(OperationalPaths(v.info, 0x40), 0x40);
  EXPECT_EQ(Assess(v, 0x40), (Health{true, ""}));  // one path left
  EXPECT_EQ(Assess(v, 0x00),
            (Health{false, "0.0.0100 has no operational channel path (PIM c0 PAM c0 POM ff, varied offline: 40 41)"}));
  v.info.pam = 0x00;
  EXPECT_EQ(Assess(v),
            (Health{false, "0.0.0100 has no operational channel path (PIM c0 PAM 00 POM ff, varied offline: none)"}));
  v = Dasd();
  v.info.availability = "no device";
  EXPECT_EQ(Assess(v), (Health{false, "0.0.0100 is not operational (availability \"no device\")"}));
  v = Dasd();
  v.state = AgentState::kNotOperational;
  EXPECT_EQ(Assess(v), (Health{false, "0.0.0100 is not operational"}));
  v.state = AgentState::kAttached;
  v.owner = "uid:0";
  EXPECT_EQ(Assess(v), (Health{false, "0.0.0100 is attached in agent mode (owner \"uid:0\")"}));
  v.state = AgentState::kHandedOff;
  EXPECT_EQ(Assess(v), (Health{false, "0.0.0100 is handed off to \"uid:0\""}));
  v.owner = kOwner;
  EXPECT_EQ(Assess(v), (Health{true, ""}));
  v.state = AgentState::kForeign;
  v.info.mdev_uuid = "9a4b7f3c-1d2e-4f50-8a6b-7c8d9e0f1a2b";
  EXPECT_EQ(Assess(v),
            (Health{false, "0.0.0100 is bound to vfio_ccw by someone else (mdev 9a4b7f3c-1d2e-4f50-8a6b-7c8d9e0f1a2b)"}));
  v = Dasd();
  v.unavailable_reason = "QDIO device: vfio_ccw does not support QDIO subchannels";
  EXPECT_EQ(Assess(v), (Health{false, "0.0.0100 cannot be passed through: QDIO device: vfio_ccw does not support QDIO subchannels"}));
  v = Dasd();
  v.state = AgentState::kAttaching;
  bool transient = false;
  AssessHealth(v, 0xff, kOwner, {}, HealthPolicy{}, absl::Now(), &transient);
  EXPECT_TRUE(transient);
}

TEST(HealthTest, PersistentFailuresUntilTheCooldown) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  FailureRecord f{2, t0, "attach 0.0.0100 failed at step \"bind to vfio_ccw\": -ENODEV"};
  EXPECT_TRUE(Assess(Dasd(), 0xff, f, t0).healthy);  // two in a row: not yet
  f.in_a_row = 3;
  EXPECT_EQ(Assess(Dasd(), 0xff, f, t0 + absl::Seconds(59)),
            (Health{false, "0.0.0100: 3 attaches in a row failed, the last: attach 0.0.0100 failed at step \"bind to "
                           "vfio_ccw\": -ENODEV"}));
  EXPECT_TRUE(Assess(Dasd(), 0xff, f, t0 + absl::Seconds(60)).healthy);  // the cooldown is over: may be tried again
}

TEST(HealthTest, UsableChpids) {
  SubchannelView v = Dasd();
  EXPECT_EQ(UsableChpids(v.info, 0xff), (std::set<uint8_t>{0x40, 0x41}));
  EXPECT_EQ(UsableChpids(v.info, 0x80), (std::set<uint8_t>{0x40}));
}

TEST(HealthTest, PreferredAllocationSpreadsOverChpids) {
  // a, b on 40; c on 41; d on 40 and 41; e on 42.
  const std::vector<std::pair<std::string, std::set<uint8_t>>> avail = {
      {"a", {0x40}}, {"b", {0x40}}, {"c", {0x41}}, {"d", {0x40, 0x41}}, {"e", {0x42}}};
  // d first (two paths, no overlap yet), then e (disjoint), then a (shares 40 once) ... 
  auto two = PreferredAllocation(avail, {}, 2);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_THAT(*two, ElementsAre("d", "e"));
  auto must = PreferredAllocation(avail, {"a"}, 3);
  ASSERT_TRUE(must.ok());
  EXPECT_THAT(*must, ElementsAre("a", "c", "e"));  // after a (40): c and e share nothing
  auto all = PreferredAllocation(avail, {}, 5);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);
  EXPECT_THAT(PreferredAllocation(avail, {}, 6),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("allocation_size 6 but 5 devices are available")));
  EXPECT_THAT(PreferredAllocation(avail, {"z"}, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must_include device z is not among the available devices")));
  EXPECT_THAT(PreferredAllocation(avail, {"a", "b"}, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 must_include devices exceed allocation_size 1")));
}

}  // namespace
}  // namespace ccwpass::agent::deviceplugin
