#include "agent/busid.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <utility>

#include "testing/status_matchers.h"

namespace ccwpass {
namespace {

using ::ccwpass::testing::StatusIs;
using ::testing::Eq;
using ::testing::HasSubstr;

TEST(BusIdTest, FormatsLowerCaseWithFourDigits) {
  EXPECT_EQ(FormatSchid(0, 0x100), "0.0.0100");
  EXPECT_EQ(FormatSchid(3, 0xffff), "0.3.ffff");
  EXPECT_EQ(FormatDevBusid(0, 0xE000), "0.0.e000");
  EXPECT_EQ(FormatDevBusid(1, 0x7), "0.1.0007");
}

TEST(BusIdTest, ParsesEitherCase) {
  auto a = ParseBusId("0.0.0100");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, std::make_pair(uint8_t{0}, uint16_t{0x0100}));
  auto b = ParseBusId("0.1.ABCD");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b, std::make_pair(uint8_t{1}, uint16_t{0xabcd}));
  auto c = ParseBusId("0.3.fFfF");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, std::make_pair(uint8_t{3}, uint16_t{0xffff}));
}

TEST(BusIdTest, RoundTrips) {
  for (uint8_t ssid = 0; ssid <= kMaxSsid; ++ssid) {
    for (uint32_t n : {0u, 1u, 0x100u, 0xe000u, 0xffffu}) {
      auto p = ParseBusId(FormatSchid(ssid, static_cast<uint16_t>(n)));
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_EQ(p->first, ssid);
      EXPECT_EQ(p->second, n);
    }
  }
}

TEST(BusIdTest, RejectsWithTheReason) {
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(ParseBusId("0.0.100"),
              StatusIs(kInvalid, Eq("\"0.0.100\": the device or subchannel number must be 4 hex digits "
                                    "(expected 0.<ssid>.<4 hex digits>, like 0.0.0100)")));
  EXPECT_THAT(ParseBusId("0.0.01000"), StatusIs(kInvalid, HasSubstr("must be 4 hex digits")));
  EXPECT_THAT(ParseBusId("0.0.01g0"), StatusIs(kInvalid, HasSubstr("must be 4 hex digits")));
  EXPECT_THAT(ParseBusId("0.4.0100"),
              StatusIs(kInvalid, Eq("\"0.4.0100\": subchannel-set ID 4 is out of range 0..3")));
  EXPECT_THAT(ParseBusId("0.00.0100"), StatusIs(kInvalid, HasSubstr("must be one hex digit")));
  EXPECT_THAT(ParseBusId("1.0.0100"), StatusIs(kInvalid, HasSubstr("channel-subsystem ID) must be 0")));
  EXPECT_THAT(ParseBusId("fe.0.0100"), StatusIs(kInvalid, HasSubstr("must be 0")));
  EXPECT_THAT(ParseBusId("0100"), StatusIs(kInvalid, HasSubstr("not three fields separated by dots")));
  EXPECT_THAT(ParseBusId("0.0.0.0100"), StatusIs(kInvalid, HasSubstr("not three fields")));
  EXPECT_THAT(ParseBusId(""), StatusIs(kInvalid, HasSubstr("\"\": not three fields")));
  EXPECT_THAT(ParseBusId(" 0.0.0100"), StatusIs(kInvalid, HasSubstr("must be 0")));
  EXPECT_THAT(ParseBusId("0.0.0100\n"), StatusIs(kInvalid, HasSubstr("\"0.0.0100\\n\"")));
  EXPECT_THAT(ParseBusId("0.0.0x10"), StatusIs(kInvalid, HasSubstr("4 hex digits")));
}

}  // namespace
}  // namespace ccwpass
