// Tests of the program builder: layout, IDALs, TIC targets and every refusal.
#include "translate/builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "testing/status_matchers.h"

namespace ccwpass::translate {
namespace {

using ::ccwpass::testing::IsOk;
using ::ccwpass::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Ccw1 CcwAt(const GuestMemory& m, uint64_t addr) {
  std::array<uint8_t, 8> b{};
  EXPECT_THAT(m.Read(addr, b), IsOk());
  return Ccw1::Decode(b);
}

TEST(BuilderTest, LaysOutCcwsThenDataAndTics) {
  std::vector<CcwSpec> specs = {
      {.cmd = 0x63, .flags = ccw_flag::kCc, .data = std::vector<uint8_t>{1, 2, 3}},
      {.cmd = 0x06, .flags = ccw_flag::kCc, .count = 10},
      {.tic = 0},
  };
  BuildOptions o;
  o.intparm = 0xCAFE;
  o.lpm = 0x80;
  auto b = BuildProgram(specs, o);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT(b->ccw_addrs, ElementsAre(0x1000, 0x1008, 0x1010));
  EXPECT_THAT(b->data_addrs, ElementsAre(0x1018, 0x1020, 0));
  EXPECT_EQ(b->memory->Size(), 0x2000u);
  EXPECT_EQ(CcwAt(*b->memory, 0x1000), (Ccw1{0x63, ccw_flag::kCc, 3, 0x1018}));
  EXPECT_EQ(CcwAt(*b->memory, 0x1008), (Ccw1{0x06, ccw_flag::kCc, 10, 0x1020}));
  EXPECT_EQ(CcwAt(*b->memory, 0x1010), (Ccw1{ccw_cmd::kTic, 0, 0, 0x1000}));
  std::vector<uint8_t> d(3);
  ASSERT_THAT(b->memory->Read(0x1018, d), IsOk());
  EXPECT_THAT(d, ElementsAre(1, 2, 3));
  EXPECT_EQ(b->orb.intparm, 0xCAFEu);
  EXPECT_EQ(b->orb.lpm, 0x80);
  EXPECT_TRUE(b->orb.fmt);
  EXPECT_TRUE(b->orb.pfch);
  EXPECT_TRUE(b->orb.c64);
  EXPECT_EQ(b->orb.cpa, 0x1000u);
  EXPECT_EQ(b->IndexOfAddress(0x1008), 1);
  EXPECT_EQ(b->IndexOfAddress(0x1004), -1);
}

TEST(BuilderTest, IdaBuildsAFormat2IdalOverAPageAlignedBuffer) {
  std::vector<CcwSpec> specs = {{.cmd = 0x06, .flags = ccw_flag::kIda, .count = 5000}};
  auto b = BuildProgram(specs);
  ASSERT_TRUE(b.ok()) << b.status();
  const Ccw1 c = CcwAt(*b->memory, 0x1000);
  EXPECT_EQ(c.cda, 0x1008u);  // the IDAL right after the CCW
  EXPECT_EQ(b->data_addrs[0], 0x2000u);
  std::array<uint8_t, 16> idal{};
  ASSERT_THAT(b->memory->Read(0x1008, idal), IsOk());
  EXPECT_EQ(DecodeIdaw(IdawFormat::kFormat2, std::span(idal).first(8)), 0x2000u);
  EXPECT_EQ(DecodeIdaw(IdawFormat::kFormat2, std::span(idal).subspan(8)), 0x3000u);
}

TEST(BuilderTest, Refusals) {
  auto err = [](std::vector<CcwSpec> specs) { return BuildProgram(specs).status(); };
  EXPECT_THAT(BuildProgram({}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least one CCW")));
  EXPECT_THAT(err({{.cmd = 3}, {.tic = 2}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ccws[1]: TIC target 2 is not a CCW index (0..1)")));
  EXPECT_THAT(err({{.tic = -1}}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("TIC target -1")));
  EXPECT_THAT(err({{.tic = 0, .cmd = 6}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ccws[0]: a TIC takes only its target")));
  EXPECT_THAT(err({{.cmd = 0x08, .count = 8}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ccws[0]: command 0x08 is a TIC")));
  EXPECT_THAT(err({{.cmd = 0x06, .count = 70000}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ccws[0]: count 70000 exceeds 65535")));
  EXPECT_THAT(err({{.cmd = 0x06, .data = std::vector<uint8_t>{1}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data given for command 0x06, which reads")));
  EXPECT_THAT(err({{.cmd = 0xE4, .data = std::vector<uint8_t>{1}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("command 0xe4")));
  EXPECT_THAT(err({{.cmd = 0x05, .count = 4, .data = std::vector<uint8_t>{1, 2}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("count 4 does not match the 2 bytes of data")));
  EXPECT_THAT(err({{.cmd = 0x05, .flags = ccw_flag::kMida, .count = 4}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ccws[0]: MIDA")));
  EXPECT_THAT(err({{.cmd = 0x05, .data = std::vector<uint8_t>(65536)}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("65536 bytes of data exceed 65535")));
  // 1,100 reads of 64 KiB would make a 72 MB image: refused before anything is allocated.
  EXPECT_THAT(err(std::vector<CcwSpec>(1100, CcwSpec{.cmd = 0x06, .flags = ccw_flag::kCc, .count = 65535})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 67108864")));
}

TEST(BuilderTest, WriteCcwFormat0AndFormat1) {
  FlatGuestMemory m(0x100);
  ASSERT_THAT(WriteCcw(m, 0x10, Ccw1{0x06, ccw_flag::kCc, 0x18, 0x123456}, /*format1=*/false), IsOk());
  std::array<uint8_t, 8> b{};
  ASSERT_THAT(m.Read(0x10, b), IsOk());
  EXPECT_THAT(b, ElementsAre(0x06, 0x12, 0x34, 0x56, 0x40, 0x00, 0x00, 0x18));
  ASSERT_THAT(WriteCcw(m, 0x18, Ccw1{0x06, ccw_flag::kCc, 0x18, 0x123456}), IsOk());
  ASSERT_THAT(m.Read(0x18, b), IsOk());
  EXPECT_THAT(b, ElementsAre(0x06, 0x40, 0x00, 0x18, 0x00, 0x12, 0x34, 0x56));
  EXPECT_THAT(WriteCcw(m, 0x20, Ccw1{0x06, 0, 1, 0x1000000}, false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0x1000000 does not fit a format-0 CCW")));
  EXPECT_THAT(WriteCcw(m, 0xFC, Ccw1{}), StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("outside")));
}

}  // namespace
}  // namespace ccwpass::translate
