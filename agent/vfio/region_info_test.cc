#include "agent/vfio/region_info.h"

#include <linux/vfio.h>

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace ccwpass::agent {
namespace {

using ::ccwpass::testing::StatusIs;
using ::testing::HasSubstr;

TEST(RegionInfo, PlainRegionRoundTrips) {
  RegionInfo io{.index = 0, .flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
                .size = 124, .offset = 0};
  std::vector<uint8_t> buf = EncodeRegionInfo(io);
  ASSERT_EQ(buf.size(), sizeof(vfio_region_info));
  auto got = ParseRegionInfo(buf);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, io);
}

TEST(RegionInfo, CapTypeIsFoundThroughTheChain) {
  RegionInfo schib{.index = 2, .flags = VFIO_REGION_INFO_FLAG_READ, .size = 52, .offset = 0x800,
                   .type = RegionType{VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_SCHIB}};
  std::vector<uint8_t> buf = EncodeRegionInfo(schib);
  ASSERT_EQ(buf.size(), sizeof(vfio_region_info) + sizeof(vfio_region_info_cap_type));
  vfio_region_info ri;
  std::memcpy(&ri, buf.data(), sizeof ri);
  EXPECT_EQ(ri.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_CAPS);
  EXPECT_EQ(ri.cap_offset, sizeof ri);
  auto got = ParseRegionInfo(buf);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->type, schib.type);
  EXPECT_EQ(got->flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_CAPS);
}

// A chain whose first capability is of another kind: the parser follows `next`.
TEST(RegionInfo, SkipsOtherCapabilities) {
  vfio_region_info ri{};
  vfio_info_cap_header other{};
  vfio_region_info_cap_type ct{};
  ri.argsz = sizeof ri + sizeof other + sizeof ct;
  ri.flags = VFIO_REGION_INFO_FLAG_CAPS;
  ri.index = 3;
  ri.cap_offset = sizeof ri;
  other.id = 1;  // VFIO_REGION_INFO_CAP_SPARSE_MMAP, body-less here
  other.next = sizeof ri + sizeof other;
  ct.header.id = VFIO_REGION_INFO_CAP_TYPE;
  ct.type = VFIO_REGION_TYPE_CCW;
  ct.subtype = VFIO_REGION_SUBTYPE_CCW_CRW;
  std::vector<uint8_t> buf(ri.argsz);
  std::memcpy(buf.data(), &ri, sizeof ri);
  std::memcpy(buf.data() + sizeof ri, &other, sizeof other);
  std::memcpy(buf.data() + sizeof ri + sizeof other, &ct, sizeof ct);
  auto got = ParseRegionInfo(buf);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->type, (RegionType{VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_CRW}));
}

TEST(RegionInfo, ErrorsNameWhatIsWrong) {
  std::vector<uint8_t> shortbuf(8);
  EXPECT_THAT(ParseRegionInfo(shortbuf),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("8 bytes, shorter than struct vfio_region_info (32)")));

  RegionInfo r{.index = 1, .size = 8, .offset = 0x400, .type = RegionType{2, 1}};
  std::vector<uint8_t> buf = EncodeRegionInfo(r);
  std::vector<uint8_t> cut(buf.begin(), buf.begin() + sizeof(vfio_region_info) + 4);
  EXPECT_THAT(ParseRegionInfo(cut), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("region 1 info: capability header at offset 32 "
                                                       "runs past the end (36 bytes)")));
  std::vector<uint8_t> cut2(buf.begin(), buf.begin() + sizeof(vfio_region_info) + 12);
  EXPECT_THAT(ParseRegionInfo(cut2), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("region 1 info: type capability at offset 32 "
                                                        "runs past the end (44 bytes)")));

  // A capability whose next points back at itself.
  vfio_info_cap_header hdr;
  std::memcpy(&hdr, buf.data() + sizeof(vfio_region_info), sizeof hdr);
  hdr.id = 7;
  hdr.next = sizeof(vfio_region_info);
  std::memcpy(buf.data() + sizeof(vfio_region_info), &hdr, sizeof hdr);
  EXPECT_THAT(ParseRegionInfo(buf), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("capability chain does not move forward at offset 32")));

  vfio_region_info ri;
  std::memcpy(&ri, buf.data(), sizeof ri);
  ri.argsz = 16;
  std::memcpy(buf.data(), &ri, sizeof ri);
  EXPECT_THAT(ParseRegionInfo(buf), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("region 1 info: argsz 16 is smaller than the struct")));
}

}  // namespace
}  // namespace ccwpass::agent
