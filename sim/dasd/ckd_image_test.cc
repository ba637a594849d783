#include "sim/dasd/ckd_image.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "sim/dasd/test_util.h"
#include "testing/status_matchers.h"

namespace ccwpass::sim::dasd {
namespace {

using ::ccwpass::testing::IsOk;
using ::ccwpass::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using testing::Dasdinit;
using testing::ReadFileBytes;
using testing::RunCommand;
using testing::WriteFileBytes;

std::string TmpPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
}

TEST(CkdImageTest, OpensDasdinitImageAndComputesCylinders) {
  std::string path = Dasdinit("img10.3390 3390 VOL001 10");
  auto image = CkdImage::Open(path, /*read_only=*/true);
  ASSERT_THAT(image, IsOk());
  EXPECT_EQ((*image)->cylinders(), 10u);
  EXPECT_EQ((*image)->heads(), 15u);
  EXPECT_EQ((*image)->track_size(), 56832u);
  EXPECT_EQ((*image)->TrackOffset(1, 2), 512u + 17u * 56832u);
  EXPECT_TRUE((*image)->read_only());
}

TEST(CkdImageTest, ReadsTrackZeroOfPlainVolume) {
  std::string path = Dasdinit("plain.3390 3390 VOL001 2");
  auto image = CkdImage::Open(path, true);
  ASSERT_THAT(image, IsOk());
  std::vector<uint8_t> track(56832);
  ASSERT_THAT((*image)->ReadTrack(0, 0, absl::MakeSpan(track)), IsOk());
  auto layout = ParseTrack(track, 0, 0);
  ASSERT_THAT(layout, IsOk());
  ASSERT_EQ(layout->records.size(), 4u);  // R0, IPL1, IPL2, VOL1
  EXPECT_EQ(layout->records[0].offset, 5u);
  EXPECT_EQ(layout->records[0].count, (CountField{0, 0, 0, 0, 8}));
  EXPECT_EQ(layout->records[1].offset, 21u);
  EXPECT_EQ(layout->records[1].count, (CountField{0, 0, 1, 4, 24}));
  EXPECT_EQ(layout->records[2].offset, 57u);
  EXPECT_EQ(layout->records[2].count, (CountField{0, 0, 2, 4, 144}));
  EXPECT_EQ(layout->records[3].offset, 213u);
  EXPECT_EQ(layout->records[3].count, (CountField{0, 0, 3, 4, 80}));
  EXPECT_EQ(layout->eot_offset, 305u);
  // Another track: dasdinit's null format.
  ASSERT_THAT((*image)->ReadTrack(1, 14, absl::MakeSpan(track)), IsOk());
  layout = ParseTrack(track, 1, 14);
  ASSERT_THAT(layout, IsOk());
  ASSERT_EQ(layout->records.size(), 1u);
  EXPECT_EQ(layout->records[0].count, (CountField{1, 14, 0, 0, 8}));
  EXPECT_EQ(layout->eot_offset, 21u);
}

TEST(CkdImageTest, InMemoryNullTrackEqualsDasdinitNullTrack) {
  std::string path = Dasdinit("null.3390 3390 VOL001 2");
  auto file = CkdImage::Open(path, true);
  auto mem = CkdImage::CreateInMemory(2);
  ASSERT_THAT(file, IsOk());
  ASSERT_THAT(mem, IsOk());
  std::vector<uint8_t> a(56832), b(56832);
  ASSERT_THAT((*file)->ReadTrack(1, 7, absl::MakeSpan(a)), IsOk());
  ASSERT_THAT((*mem)->ReadTrack(1, 7, absl::MakeSpan(b)), IsOk());
  EXPECT_EQ(a, b);
  EXPECT_EQ((*mem)->materialized_tracks(), 0u);
}

TEST(CkdImageTest, InMemoryImageIsLazy) {
  auto mem = CkdImage::CreateInMemory(3339);
  ASSERT_THAT(mem, IsOk());
  EXPECT_EQ((*mem)->tracks(), 50085u);
  std::vector<uint8_t> bytes = {1, 2, 3};
  ASSERT_THAT((*mem)->WriteTrack(3338, 14, 100, bytes), IsOk());
  EXPECT_EQ((*mem)->materialized_tracks(), 1u);
  std::vector<uint8_t> track(56832);
  ASSERT_THAT((*mem)->ReadTrack(3338, 14, absl::MakeSpan(track)), IsOk());
  EXPECT_THAT(std::vector<uint8_t>(track.begin() + 100, track.begin() + 103), ElementsAre(1, 2, 3));
  EXPECT_THAT(ParseTrack(track, 3338, 14), IsOk());  // still HA R0 EOT before offset 100
}

TEST(CkdImageTest, WriteTrackLandsAtFileOffset) {
  std::string path = Dasdinit("w.3390 3390 VOL001 2");
  auto image = CkdImage::Open(path, false);
  ASSERT_THAT(image, IsOk());
  std::vector<uint8_t> bytes = {0xDE, 0xAD, 0xBE, 0xEF};
  ASSERT_THAT((*image)->WriteTrack(1, 3, 1000, bytes), IsOk());
  ASSERT_THAT((*image)->Flush(), IsOk());
  EXPECT_THAT(ReadFileBytes(path, 512 + 18 * 56832 + 1000, 4), ElementsAreArray(bytes));
}

TEST(CkdImageTest, Errors) {
  EXPECT_THAT(CkdImage::Open(TmpPath("missing.3390"), true),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.3390")));

  std::string path = Dasdinit("e.3390 3390 VOL001 1");
  // Read-only image refuses writes.
  auto ro = CkdImage::Open(path, true);
  ASSERT_THAT(ro, IsOk());
  std::vector<uint8_t> b = {1};
  EXPECT_THAT((*ro)->WriteTrack(0, 0, 0, b),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("read-only")));
  std::vector<uint8_t> track(56832);
  EXPECT_THAT((*ro)->ReadTrack(1, 0, absl::MakeSpan(track)),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("outside the volume")));
  EXPECT_THAT((*ro)->ReadTrack(0, 15, absl::MakeSpan(track)),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("cyl 0 head 15")));

  // Truncated file: size is not 512 + whole cylinders.
  std::string out;
  ASSERT_EQ(RunCommand("cp " + path + " " + TmpPath("short.3390") + " && truncate -s -1 " +
                           TmpPath("short.3390"),
                       &out),
            0);
  EXPECT_THAT(CkdImage::Open(TmpPath("short.3390"), true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("short.3390: file size 852991 is not 512 + a whole number")));

  // Wrong magic, wrong device type.
  ASSERT_EQ(RunCommand("cp " + path + " " + TmpPath("magic.3390"), &out), 0);
  WriteFileBytes(TmpPath("magic.3390"), 0, {'X'});
  EXPECT_THAT(CkdImage::Open(TmpPath("magic.3390"), true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("CKD_P370")));
  ASSERT_EQ(RunCommand("cp " + path + " " + TmpPath("type.3390"), &out), 0);
  WriteFileBytes(TmpPath("type.3390"), 16, {0x80});
  EXPECT_THAT(CkdImage::Open(TmpPath("type.3390"), true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("device type byte 0x80 is not 0x90")));

  // A compressed image made by dasdinit -z.
  std::string cckd = Dasdinit("-z c.3390 3390 VOL001 1");
  EXPECT_THAT(CkdImage::Open(cckd, true),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("compressed CCKD images are not supported; convert with "
                                 "cckd2ckd")));

  // Multi-file image: a _1 file next to it.
  ASSERT_EQ(RunCommand("cp " + path + " " + TmpPath("m.3390") + " && cp " + path + " " +
                           TmpPath("m_1.3390"),
                       &out),
            0);
  EXPECT_THAT(CkdImage::Open(TmpPath("m.3390"), true),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("multi-file")));

  EXPECT_THAT(CkdImage::CreateInMemory(0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0 cylinders")));
}

TEST(CkdImageTest, ParseTrackRejectsBadHomeAddressAndRunaway) {
  std::vector<uint8_t> track(56832);
  FormatNullTrack(absl::MakeSpan(track), 2, 3);
  EXPECT_THAT(ParseTrack(track, 2, 3), IsOk());
  EXPECT_THAT(ParseTrack(track, 2, 4),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("invalid track format: cyl 2 head 4: home address")));
  track[0] = 1;
  EXPECT_THAT(ParseTrack(track, 2, 3), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("home")));
  FormatNullTrack(absl::MakeSpan(track), 2, 3);
  // R0 claims 60000 data bytes.
  track[5 + 6] = 0xEA;
  track[5 + 7] = 0x60;
  EXPECT_THAT(ParseTrack(track, 2, 3),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("runs past the end")));
}

TEST(CkdImageTest, CountFieldRoundTrip) {
  CountField c{0x1234, 0x000E, 7, 4, 4096};
  auto b = c.Encode();
  EXPECT_THAT(b, ElementsAre(0x12, 0x34, 0x00, 0x0E, 7, 4, 0x10, 0x00));
  EXPECT_EQ(CountField::Decode(b), c);
  std::vector<uint8_t> eot(8, 0xFF);
  EXPECT_TRUE(IsEndOfTrack(eot));
  eot[7] = 0;
  EXPECT_FALSE(IsEndOfTrack(eot));
}

}  // namespace
}  // namespace ccwpass::sim::dasd
