#include "sim/dasd/eckd3390.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "sim/dasd/ckd_image.h"
#include "sim/dasd/test_util.h"
#include "testing/status_matchers.h"

namespace ccwpass::sim::dasd {
namespace {

using ::ccwpass::testing::IsOk;
using ::ccwpass::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using testing::Bbcchh;
using testing::Cchhr;
using testing::Dasdinit;
using testing::DefineExtentData;
using testing::Ebcdic;
using testing::LocateRecordData;
using testing::ReadFileBytes;
using testing::RunChain;
using testing::RunCommand;
using testing::Step;
using testing::StepResult;
using testing::WriteFileBytes;

constexpr uint8_t kOk = kDevChannelEnd | kDevDeviceEnd;
constexpr uint8_t kUc = kDevChannelEnd | kDevDeviceEnd | kDevUnitCheck;
constexpr uint8_t kSm = kDevChannelEnd | kDevDeviceEnd | kDevStatusModifier;
constexpr uint64_t kTrack = 56832;

std::unique_ptr<Eckd3390> OpenDevice(const std::string& path, Eckd3390Options options = {}) {
  auto image = CkdImage::Open(path, options.read_only);
  EXPECT_THAT(image, IsOk());
  if (!image.ok()) return nullptr;
  auto dev = Eckd3390::Create(*std::move(image), options);
  EXPECT_THAT(dev, IsOk());
  return dev.ok() ? *std::move(dev) : nullptr;
}

std::unique_ptr<Eckd3390> MemoryDevice(uint32_t cylinders, Eckd3390Options options = {}) {
  auto image = CkdImage::CreateInMemory(cylinders);
  EXPECT_THAT(image, IsOk());
  auto dev = Eckd3390::Create(*std::move(image), options);
  EXPECT_THAT(dev, IsOk());
  return dev.ok() ? *std::move(dev) : nullptr;
}

std::vector<uint8_t> Slice(const std::vector<uint8_t>& v, size_t at, size_t n) {
  return std::vector<uint8_t>(v.begin() + at, v.begin() + at + n);
}

// Asserts the 32 sense bytes of a unit check: bytes 0, 1, 7 as given, byte 27
// 0x80, bytes 5-6 and 29-31 the track, every other byte zero.
void ExpectSense(const Eckd3390& dev, uint8_t b0, uint8_t b1, uint8_t b7, uint16_t cyl,
                 uint16_t head, uint8_t b3 = 0) {
  std::vector<uint8_t> want(32, 0);
  want[0] = b0;
  want[1] = b1;
  want[3] = b3;
  want[5] = static_cast<uint8_t>(cyl & 0xFF);
  want[6] = static_cast<uint8_t>(((cyl >> 4) & 0xF0) | (head & 0x0F));
  want[7] = b7;
  want[27] = 0x80;
  want[29] = static_cast<uint8_t>(cyl >> 8);
  want[30] = static_cast<uint8_t>(cyl);
  want[31] = static_cast<uint8_t>(head);
  EXPECT_THAT(dev.Sense(), ElementsAreArray(want));
}

// The Linux single-block programs of reference §4 for block R of a track
// (track number = cylinder * 15 + head).
std::vector<Step> LinuxRead(uint32_t track, uint8_t record, uint32_t count = 4096) {
  const uint16_t cyl = static_cast<uint16_t>(track / 15), head = static_cast<uint16_t>(track % 15);
  return {
      {cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, cyl, head, cyl, head)},
      {cmd::kLocateRecord, 16, true,
       LocateRecordData(0x06, 0x80, 1, cyl, head, record, 0x4D, 4096)},
      {cmd::kReadDataMt, count, false, {}},
  };
}
std::vector<Step> LinuxWrite(uint32_t track, uint8_t record, const std::vector<uint8_t>& block) {
  const uint16_t cyl = static_cast<uint16_t>(track / 15), head = static_cast<uint16_t>(track % 15);
  return {
      {cmd::kDefineExtent, 16, true, DefineExtentData(0x80, 0xC0, cyl, head, cyl, head)},
      {cmd::kLocateRecord, 16, true,
       LocateRecordData(0x01, 0x80, 1, cyl, head, record, 0x4D, 4096)},
      {cmd::kUpdateData, static_cast<uint32_t>(block.size()), false, block},
  };
}

// File offset of the data of record R (1-based) on a Linux 12 x 4096 track.
uint64_t LinuxBlockOffset(uint64_t track, uint64_t record) {
  return 512 + track * kTrack + 5 + 8 + 8 + (record - 1) * (8 + 4096) + 8;
}

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

// ---------------------------------------------------------------------------
// Identification.

TEST(Eckd3390Test, SenseIdBytes) {
  auto dev = MemoryDevice(3339);
  auto r = RunChain(*dev, {{cmd::kSenseId, 32, false, {}}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, kOk);
  EXPECT_EQ(r[0].length, 12u);
  EXPECT_THAT(Slice(r[0].data, 0, 12),
              ElementsAre(0xFF, 0x39, 0x90, 0xC2, 0x33, 0x90, 0x0A, 0x00, 0x40, 0xFA, 0x01, 0x00));
  DeviceIdentity id = dev->identity();
  EXPECT_EQ(id.cu_type, 0x3990);
  EXPECT_EQ(id.cu_model, 0xC2);
  EXPECT_EQ(id.dev_type, 0x3390);
  EXPECT_EQ(id.dev_model, 0x0A);
  EXPECT_EQ(dev->Describe(), "3390-3 (memory)");
}

TEST(Eckd3390Test, SenseIdOf3990Model6HasThreeCiws) {
  auto dev = MemoryDevice(10, {.control_unit = ControlUnit3990::k3990_6});
  EXPECT_THAT(dev->SenseIdData(),
              ElementsAre(0xFF, 0x39, 0x90, 0xE9, 0x33, 0x90, 0x02, 0x00, 0x40, 0xFA, 0x01, 0x00,
                          0x41, 0x27, 0x00, 0x04, 0x42, 0x3E, 0x00, 0x60));
}

TEST(Eckd3390Test, ReadDeviceCharacteristics3390_3EqualsReference) {
  auto dev = MemoryDevice(3339);
  EXPECT_EQ(dev->model().model, Model3390::k3);
  auto r = RunChain(*dev, {{cmd::kReadDeviceCharacteristics, 64, false, {}}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, kOk);
  EXPECT_EQ(r[0].length, 64u);
  const std::vector<uint8_t> reference = {
      0x39, 0x90, 0xc2, 0x33, 0x90, 0x0a, 0xd2, 0x00, 0x00, 0x00, 0x20, 0x24, 0x0d, 0x0b, 0x00, 0x0f,
      0xe0, 0x00, 0xe5, 0xa2, 0x05, 0x94, 0x02, 0x22, 0x13, 0x09, 0x06, 0x74, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x24, 0x10, 0x02, 0xdf, 0xee, 0x00, 0x01,
      0x06, 0x77, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x0b};
  EXPECT_THAT(r[0].data, ElementsAreArray(reference));
}

TEST(Eckd3390Test, ModelFollowsCylinders) {
  EXPECT_EQ(ModelForCylinders(10).value_or(Model3390::k1), Model3390::k1);
  EXPECT_EQ(ModelForCylinders(1114).value_or(Model3390::k1), Model3390::k1);
  EXPECT_EQ(ModelForCylinders(1115).value_or(Model3390::k1), Model3390::k2);
  EXPECT_EQ(ModelForCylinders(10017).value_or(Model3390::k1), Model3390::k9);
  EXPECT_EQ(ModelForCylinders(65520).value_or(Model3390::k1), Model3390::k54);
  EXPECT_THAT(ModelForCylinders(65524),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3390-54")));

  // An alternate cylinder: primary 3339 in bytes 12-13 and 60-63, alternates at 28-31.
  auto dev = MemoryDevice(3340);
  auto rdc = dev->DeviceCharacteristics();
  EXPECT_THAT(Slice({rdc.begin(), rdc.end()}, 12, 2), ElementsAre(0x0D, 0x0B));
  EXPECT_THAT(Slice({rdc.begin(), rdc.end()}, 28, 4), ElementsAre(0x0D, 0x0B, 0x00, 0x0F));
  EXPECT_THAT(Slice({rdc.begin(), rdc.end()}, 60, 4), ElementsAre(0, 0, 0x0D, 0x0B));

  auto image = CkdImage::CreateInMemory(2000);
  ASSERT_THAT(image, IsOk());
  EXPECT_THAT(Eckd3390::Create(*std::move(image), {.model = Model3390::k1}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("2000 cylinders; a 3390-1 holds at most 1114")));
  auto nine = MemoryDevice(10017);
  EXPECT_EQ(nine->DeviceCharacteristics()[5], 0x0C);
  EXPECT_EQ(nine->DeviceCharacteristics()[11], 0x32);
}

TEST(Eckd3390Test, ReadConfigurationDataHasNedsAndGneq) {
  auto dev = MemoryDevice(10, {.devno = 0x1234});
  auto r = RunChain(*dev, {{cmd::kReadConfigurationData, 256, false, {}}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].length, 256u);
  const std::vector<uint8_t>& d = r[0].data;
  EXPECT_EQ(d[0] & 0xC0, 0xC0);  // NED
  EXPECT_EQ(d[1], 0x01);         // device NED
  EXPECT_THAT(Slice(d, 4, 6), ElementsAreArray(Ebcdic("003390")));
  EXPECT_THAT(Slice(d, 10, 3), ElementsAreArray(Ebcdic("002")));
  EXPECT_THAT(Slice(d, 13, 3), ElementsAreArray(Ebcdic("HRC")));
  EXPECT_THAT(Slice(d, 18, 12), ElementsAreArray(Ebcdic("000000001234")));
  EXPECT_THAT(Slice(d, 30, 2), ElementsAre(0x12, 0x34));
  EXPECT_EQ(d[32] & 0xC0, 0xC0);
  EXPECT_EQ(d[64] & 0xC0, 0xC0);
  EXPECT_THAT(Slice(d, 68, 6), ElementsAreArray(Ebcdic("003990")));
  EXPECT_EQ(d[224] & 0xC0, 0x80);  // general NEQ
  EXPECT_EQ(d[230], 0x1E);
  EXPECT_THAT(Slice(d, 232, 2), ElementsAre(0x12, 0x00));  // SSID
  EXPECT_EQ(d[235], 0x34);                                   // unit address
}

// ---------------------------------------------------------------------------
// Reading a plain dasdinit volume.

TEST(Eckd3390Test, Vol1ByDefineExtentLocateRecordReadKeyAndData) {
  auto dev = OpenDevice(Dasdinit("t.3390 3390 VOL001 10"));
  auto r = RunChain(*dev, {
                         {cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, 0, 0, 0, 0)},
                         {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x80, 2, 0, 0, 3, 0, 84)},
                         {cmd::kReadKeyDataMt, 84, true, {}},
                         {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x80, 1, 0, 0, 3, 0, 80)},
                         {cmd::kReadDataMt, 80, false, {}},
                     });
  // The first LR asked for 2 records: a second LR inside its domain is rejected.
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[2].status, kOk);
  EXPECT_EQ(r[3].status, kUc);
  ExpectSense(*dev, 0x80, 0, 0x02, 0, 0);

  r = RunChain(*dev, {
                    {cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, 0, 0, 0, 0)},
                    {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x80, 1, 0, 0, 3, 0, 84)},
                    {cmd::kReadKeyDataMt, 84, true, {}},
                    {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x80, 1, 0, 0, 3, 0, 80)},
                    {cmd::kReadDataMt, 80, false, {}},
                });
  ASSERT_EQ(r.size(), 5u);
  for (const StepResult& s : r) EXPECT_EQ(s.status, kOk) << "step " << s.index;
  EXPECT_EQ(r[2].length, 84u);
  EXPECT_THAT(Slice(r[2].data, 0, 4), ElementsAreArray(Ebcdic("VOL1")));
  EXPECT_THAT(Slice(r[2].data, 4, 4), ElementsAreArray(Ebcdic("VOL1")));
  EXPECT_THAT(Slice(r[2].data, 8, 6), ElementsAreArray(Ebcdic("VOL001")));
  EXPECT_EQ(r[4].length, 80u);
  EXPECT_THAT(Slice(r[4].data, 4, 6), ElementsAreArray(Ebcdic("VOL001")));
  EXPECT_THAT(Slice(r[4].data, 41, 8), ElementsAreArray(Ebcdic("HERCULES")));
}

TEST(Eckd3390Test, ReadIplThenSeekSearchIdEqualReadData) {
  auto dev = OpenDevice(Dasdinit("ipl.3390 3390 VOL001 10"));
  auto r = RunChain(*dev, {
                         {cmd::kReadIpl, 24, true, {}},
                         {cmd::kSeek, 6, true, Bbcchh(0, 0)},
                         {cmd::kSearchIdEqual, 5, true, Cchhr(0, 0, 3)},
                         {0x08, 0, true, {}, /*tic_to=*/2},
                         {cmd::kReadData, 80, false, {}},
                     });
  // READ IPL, SEEK, SEARCH R0 (no), R1 (no), R2 (no), R3 (match), READ DATA.
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].status, kOk);
  EXPECT_EQ(r[0].length, 24u);
  EXPECT_THAT(r[0].data, ElementsAre(0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F,  // PSW
                                     0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // NOP
                                     0, 0, 0, 0, 0, 0, 0, 0));
  EXPECT_EQ(r[1].status, kOk);
  EXPECT_EQ(r[2].status, kOk);
  EXPECT_EQ(r[3].status, kOk);
  EXPECT_EQ(r[4].status, kOk);
  EXPECT_EQ(r[5].status, kSm);
  EXPECT_EQ(r[5].length, 5u);
  EXPECT_EQ(r[6].index, 4u);
  EXPECT_EQ(r[6].status, kOk);
  EXPECT_EQ(r[6].length, 80u);
  EXPECT_THAT(Slice(r[6].data, 0, 10), ElementsAreArray(Ebcdic("VOL1VOL001")));
}

TEST(Eckd3390Test, ReadCountWalksR0ToR3ThenWrapsOnceThenNoRecordFound) {
  auto dev = OpenDevice(Dasdinit("rc.3390 3390 VOL001 10"));
  std::vector<Step> steps = {{cmd::kSeek, 6, true, Bbcchh(0, 0)},
                             {cmd::kReadR0, 16, true, {}}};
  for (int i = 0; i < 7; ++i) steps.push_back({cmd::kReadCount, 8, true, {}});
  auto r = RunChain(*dev, steps);
  ASSERT_EQ(r.size(), 9u);
  EXPECT_THAT(r[1].data, ElementsAre(0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0));
  EXPECT_THAT(r[2].data, ElementsAre(0, 0, 0, 0, 1, 4, 0x00, 0x18));
  EXPECT_THAT(r[3].data, ElementsAre(0, 0, 0, 0, 2, 4, 0x00, 0x90));
  EXPECT_THAT(r[4].data, ElementsAre(0, 0, 0, 0, 3, 4, 0x00, 0x50));
  // End of track: back to the index once (R0 skipped), R1 again ...
  EXPECT_THAT(r[5].data, ElementsAre(0, 0, 0, 0, 1, 4, 0x00, 0x18));
  EXPECT_THAT(r[7].data, ElementsAre(0, 0, 0, 0, 3, 4, 0x00, 0x50));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(r[i].status, kOk) << i;
  // ... and the second index point is no record found.
  EXPECT_EQ(r[8].status, kUc);
  ExpectSense(*dev, 0x00, 0x08, 0x00, 0, 0);
}

TEST(Eckd3390Test, ReadHomeAddressMultipleCkdAndTrackLayout) {
  auto dev = OpenDevice(Dasdinit("ha.3390 3390 VOL001 10"));
  auto r = RunChain(*dev, {{cmd::kSeek, 6, true, Bbcchh(0, 0)},
                      {cmd::kReadHomeAddress, 5, true, {}},
                      {cmd::kReadMultipleCkd, 1000, false, {}}});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_THAT(r[1].data, ElementsAre(0, 0, 0, 0, 0));
  EXPECT_EQ(r[2].status, kOk);
  EXPECT_EQ(r[2].length, 36u + 156u + 92u);  // R1-R3 counts, keys and data
  EXPECT_THAT(Slice(r[2].data, 0, 12),
              ElementsAre(0, 0, 0, 0, 1, 4, 0, 24, 0xC9, 0xD7, 0xD3, 0xF1));  // IPL1
  EXPECT_THAT(Slice(r[2].data, 192, 8), ElementsAre(0, 0, 0, 0, 3, 4, 0, 80));
}

TEST(Eckd3390Test, LinuxCdlAnalysisCounts) {
  auto dev = OpenDevice(Dasdinit("-linux cdl.3390 3390 LNX001 3"));
  auto r = RunChain(*dev, {
                         {cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC4, 0, 0, 0, 1)},
                         {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x00, 4, 0, 0, 0, 0, 0)},
                         {cmd::kReadCount, 8, true, {}},
                         {cmd::kReadCount, 8, true, {}},
                         {cmd::kReadCount, 8, true, {}},
                         {cmd::kReadCount, 8, true, {}},
                         {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x00, 1, 0, 1, 0, 0, 0)},
                         {cmd::kReadCount, 8, false, {}},
                     });
  ASSERT_EQ(r.size(), 8u);
  for (const StepResult& s : r) EXPECT_EQ(s.status, kOk) << "step " << s.index;
  EXPECT_THAT(r[2].data, ElementsAre(0, 0, 0, 0, 1, 4, 0x00, 24));
  EXPECT_THAT(r[3].data, ElementsAre(0, 0, 0, 0, 2, 4, 0x00, 144));
  EXPECT_THAT(r[4].data, ElementsAre(0, 0, 0, 0, 3, 4, 0x00, 80));
  EXPECT_THAT(r[5].data, ElementsAre(0, 0, 0, 0, 4, 0, 0x10, 0x00));
  EXPECT_THAT(r[7].data, ElementsAre(0, 0, 0, 1, 1, 44, 0x00, 96));  // F4 DSCB
}

// ---------------------------------------------------------------------------
// Linux block I/O: the exact programs of reference §4.

TEST(Eckd3390Test, LinuxBlockWriteLandsAtFileOffsetAndReadsBack) {
  const std::string path = Dasdinit("-linux blk.3390 3390 LNX001 3");
  auto dev = OpenDevice(path);
  const std::vector<uint8_t> block = Pattern(4096, 0x11);
  auto w = RunChain(*dev, LinuxWrite(8, 5, block));
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].status, kOk);
  EXPECT_EQ(w[1].status, kOk);
  EXPECT_EQ(w[2].status, kOk);
  EXPECT_EQ(w[2].length, 4096u);
  // Block 100 = track 8, R5: the bytes are in the file where Hercules keeps them.
  EXPECT_EQ(ReadFileBytes(path, LinuxBlockOffset(8, 5), 4096), block);
  EXPECT_THAT(ReadFileBytes(path, LinuxBlockOffset(8, 5) - 8, 8),
              ElementsAre(0, 0, 0, 8, 5, 0, 0x10, 0x00));  // R5's count field untouched
  EXPECT_THAT(ReadFileBytes(path, LinuxBlockOffset(8, 6) - 8, 8),
              ElementsAre(0, 0, 0, 8, 6, 0, 0x10, 0x00));

  auto r = RunChain(*dev, LinuxRead(8, 5));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[2].status, kOk);
  EXPECT_EQ(r[2].length, 4096u);
  EXPECT_EQ(r[2].data, block);

  // A fresh device on the same file sees the block too.
  dev.reset();
  auto again = OpenDevice(path, {.read_only = true});
  EXPECT_EQ(RunChain(*again, LinuxRead(8, 5))[2].data, block);

  // Hercules' own dasdls still reads the volume.
  std::string out;
  EXPECT_EQ(RunCommand("dasdls " + path + " 2>&1", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("VOLSER=LNX001"));
}

TEST(Eckd3390Test, LinuxMultiBlockProgramCrossesTracks) {
  const std::string path = Dasdinit("-linux mb.3390 3390 LNX001 3");
  auto dev = OpenDevice(path);
  const std::vector<uint8_t> a = Pattern(4096, 1), b = Pattern(4096, 2), c = Pattern(4096, 3);
  auto w = RunChain(*dev, {
                         {cmd::kDefineExtent, 16, true, DefineExtentData(0x80, 0xC0, 0, 8, 0, 9)},
                         {cmd::kLocateRecord, 16, true, LocateRecordData(0x01, 0x80, 3, 0, 8, 11, 0, 4096)},
                         {cmd::kUpdateData, 4096, true, a},
                         {cmd::kUpdateData, 4096, true, b},
                         {cmd::kUpdateData, 4096, false, c},
                     });
  ASSERT_EQ(w.size(), 5u);
  for (const StepResult& s : w) EXPECT_EQ(s.status, kOk) << "step " << s.index;
  EXPECT_EQ(ReadFileBytes(path, LinuxBlockOffset(8, 11), 4096), a);
  EXPECT_EQ(ReadFileBytes(path, LinuxBlockOffset(8, 12), 4096), b);
  EXPECT_EQ(ReadFileBytes(path, LinuxBlockOffset(9, 1), 4096), c);

  auto r = RunChain(*dev, {
                         {cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, 0, 8, 0, 9)},
                         {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x80, 3, 0, 8, 11, 0, 4096)},
                         {cmd::kReadDataMt, 4096, true, {}},
                         {cmd::kReadDataMt, 4096, true, {}},
                         {cmd::kReadDataMt, 4096, false, {}},
                     });
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[2].data, a);
  EXPECT_EQ(r[3].data, b);
  EXPECT_EQ(r[4].data, c);
  EXPECT_EQ(r[4].status, kOk);

  // The same domain with the extent ending at track 8: file protected on the head switch.
  r = RunChain(*dev, {
                    {cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, 0, 8, 0, 8)},
                    {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x80, 2, 0, 8, 12, 0, 4096)},
                    {cmd::kReadDataMt, 4096, true, {}},
                    {cmd::kReadDataMt, 4096, false, {}},
                });
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[3].status, kUc);
  ExpectSense(*dev, 0x00, 0x04, 0x00, 0, 8);
}

TEST(Eckd3390Test, ReadDataLengthIsTheRecordLengthWhateverTheCount) {
  auto dev = OpenDevice(Dasdinit("-linux len.3390 3390 LNX001 3"));
  for (uint32_t count : {100u, 4096u, 8000u}) {
    auto r = RunChain(*dev, LinuxRead(3, 2, count));
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[2].status, kOk);
    EXPECT_EQ(r[2].length, 4096u) << count;
  }
}

// ---------------------------------------------------------------------------
// Format writes on an in-memory volume.

TEST(Eckd3390Test, FormatTrackWithWriteR0AndWriteCkdThenReadTrack) {
  auto dev = MemoryDevice(10);
  std::vector<uint8_t> r0 = {0, 1, 0, 2, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0};
  std::vector<uint8_t> r1 = {0, 1, 0, 2, 1, 0, 0x10, 0x00};
  std::vector<uint8_t> r1data = Pattern(4096, 9);
  r1.insert(r1.end(), r1data.begin(), r1data.end());
  std::vector<uint8_t> r2 = {0, 1, 0, 2, 2, 0, 0x00, 0x00};  // DL 0: end of file
  auto w = RunChain(*dev, {
                         {cmd::kDefineExtent, 16, true, DefineExtentData(0xC0, 0xC0, 1, 2, 1, 2)},
                         {cmd::kLocateRecord, 16, true, LocateRecordData(0x43, 0x00, 3, 1, 2, 0, 0, 0)},
                         {cmd::kWriteR0, 16, true, r0},
                         {cmd::kWriteCkd, static_cast<uint32_t>(r1.size()), true, r1},
                         {cmd::kWriteCkd, 8, false, r2},
                     });
  ASSERT_EQ(w.size(), 5u);
  for (const StepResult& s : w) EXPECT_EQ(s.status, kOk) << "step " << s.index;
  EXPECT_EQ(w[3].length, 8u + 4096u);
  EXPECT_EQ(dev->image().materialized_tracks(), 1u);

  auto r = RunChain(*dev, {
                         {cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, 1, 2, 1, 2)},
                         {cmd::kLocateRecord, 16, true, LocateRecordData(0xC0 | 0x0C, 0x00, 1, 1, 2, 0, 0, 0)},
                         {cmd::kReadTrack, 8192, false, {}},
                     });
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[2].status, kOk);
  EXPECT_EQ(r[2].length, 16u + 8u + 4096u + 8u);  // R0, R1, R2
  EXPECT_EQ(Slice(r[2].data, 0, 16), r0);
  EXPECT_EQ(Slice(r[2].data, 16, 8 + 4096), r1);

  // READ DATA of R2 (DL 0) is unit exception.
  r = RunChain(*dev, {{cmd::kSeek, 6, true, Bbcchh(1, 2)},
                 {cmd::kSearchIdEqual, 5, true, Cchhr(1, 2, 2)},
                 {0x08, 0, true, {}, 1},
                 {cmd::kReadData, 10, false, {}}});
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[4].status, kOk | kDevUnitException);
  EXPECT_EQ(r[4].length, 0u);

  // ERASE after R1 leaves R0 and R1; a record that cannot fit is invalid track format.
  std::vector<uint8_t> big = {0, 1, 0, 2, 2, 0, 0xDB, 0x00};  // DL 56064
  big.resize(8 + 56064);
  r = RunChain(*dev, {{cmd::kSeek, 6, true, Bbcchh(1, 2)},
                      {cmd::kSearchIdEqual, 5, true, Cchhr(1, 2, 1)},
                      {0x08, 0, true, {}, 1},
                      {cmd::kErase, 8, false, r2}});
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[3].status, kOk);
  r = RunChain(*dev, {{cmd::kSeek, 6, true, Bbcchh(1, 2)},
                      {cmd::kSearchIdEqual, 5, true, Cchhr(1, 2, 1)},
                      {0x08, 0, true, {}, 1},
                      {cmd::kWriteCkd, static_cast<uint32_t>(big.size()), false, big}});
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[3].status, kUc);
  ExpectSense(*dev, 0x00, 0x40, 0x00, 1, 2);
  r = RunChain(*dev, {{cmd::kSeek, 6, true, Bbcchh(1, 2)},
                 {cmd::kReadMultipleCkd, 9000, false, {}}});
  EXPECT_EQ(r[1].length, 8u + 4096u);
}

TEST(Eckd3390Test, WriteCkdNextTrackInWriteTrackDomain) {
  auto dev = MemoryDevice(10);
  std::vector<uint8_t> rec = {0, 0, 0, 6, 1, 0, 0, 4, 'a', 'b', 'c', 'd'};
  auto w = RunChain(*dev, {
                         {cmd::kDefineExtent, 16, true, DefineExtentData(0x00, 0xC0, 0, 5, 0, 6)},
                         {cmd::kLocateRecord, 16, true, LocateRecordData(0x0B, 0x00, 1, 0, 5, 0, 0, 0)},
                         {cmd::kWriteCkdNextTrack, 12, false, rec},
                     });
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[2].status, kOk);
  auto r = RunChain(*dev, {{cmd::kSeek, 6, true, Bbcchh(0, 6)}, {cmd::kReadCkd, 12, false, {}}});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].data, rec);
}

// ---------------------------------------------------------------------------
// Path groups, reserve, sense.

TEST(Eckd3390Test, PathGroupStateMachine) {
  auto dev = MemoryDevice(10);
  auto snid = [&] { return RunChain(*dev, {{cmd::kSensePathGroupId, 12, false, {}}}); };
  auto r = snid();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, kOk);
  EXPECT_EQ(r[0].length, 12u);
  EXPECT_THAT(r[0].data, ElementsAre(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));

  std::vector<uint8_t> pgid = {0x80, 0x00, 0x01, 0x12, 0x34, 0x56, 0x29, 0x64, 0xDE, 0xAD, 0xBE, 0xEF};
  r = RunChain(*dev, {{cmd::kSetPathGroupId, 12, false, pgid}});
  EXPECT_EQ(r[0].status, kOk);
  r = snid();
  std::vector<uint8_t> want = pgid;
  want[0] = 0xC8;  // grouped, multipath
  EXPECT_EQ(r[0].data, want);
  // The same PGID again is fine; a different one while grouped is rejected.
  EXPECT_EQ(RunChain(*dev, {{cmd::kSetPathGroupId, 12, false, pgid}})[0].status, kOk);
  std::vector<uint8_t> other = pgid;
  other[11] = 0x00;
  EXPECT_EQ(RunChain(*dev, {{cmd::kSetPathGroupId, 12, false, other}})[0].status, kUc);
  ExpectSense(*dev, 0x80, 0, 0x04, 0, 0);
  // Reserved bits, function 0x60, zero PGID: message 4; short count: message 3.
  for (uint8_t fn : {0x81, 0x60}) {
    std::vector<uint8_t> bad = pgid;
    bad[0] = fn;
    EXPECT_EQ(RunChain(*dev, {{cmd::kSetPathGroupId, 12, false, bad}})[0].status, kUc);
    ExpectSense(*dev, 0x80, 0, 0x04, 0, 0);
  }
  EXPECT_EQ(RunChain(*dev, {{cmd::kSetPathGroupId, 12, false, {0x80}}})[0].status, kUc);
  ExpectSense(*dev, 0x80, 0, 0x04, 0, 0);
  EXPECT_EQ(RunChain(*dev, {{cmd::kSetPathGroupId, 11, false, pgid}})[0].status, kUc);
  ExpectSense(*dev, 0x80, 0, 0x03, 0, 0);

  // Reserve shows in SNID (reserved to this path group); release clears it.
  r = RunChain(*dev, {{cmd::kReserve, 32, false, {}}});
  EXPECT_EQ(r[0].status, kOk);
  EXPECT_EQ(r[0].length, 32u);
  EXPECT_EQ(snid()[0].data[0], 0xF8);
  EXPECT_EQ(RunChain(*dev, {{cmd::kRelease, 32, false, {}}})[0].status, kOk);
  EXPECT_EQ(snid()[0].data[0], 0xC8);

  // Resign: back to reset.
  std::vector<uint8_t> resign = pgid;
  resign[0] = 0x40;
  EXPECT_EQ(RunChain(*dev, {{cmd::kSetPathGroupId, 12, false, resign}})[0].status, kOk);
  EXPECT_THAT(snid()[0].data, ElementsAre(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
}

TEST(Eckd3390Test, SenseReturnsThenClears) {
  auto dev = MemoryDevice(10);
  EXPECT_EQ(RunChain(*dev, {{0xF3, 0, false, {}}})[0].status, kUc);
  auto r = RunChain(*dev, {{cmd::kSense, 32, false, {}}});
  EXPECT_EQ(r[0].status, kOk);
  EXPECT_EQ(r[0].length, 32u);
  EXPECT_EQ(r[0].data[0], 0x80);
  EXPECT_EQ(r[0].data[7], 0x01);
  EXPECT_EQ(r[0].data[27], 0x80);
  r = RunChain(*dev, {{cmd::kSense, 32, false, {}}});
  EXPECT_THAT(r[0].data, ::testing::Each(0));
}

// ---------------------------------------------------------------------------
// Every documented error, with its sense.

TEST(Eckd3390Test, NoRecordFound) {
  auto dev = OpenDevice(Dasdinit("nrf.3390 3390 VOL001 10"));
  // SEARCH ID EQUAL for R9 loops through the track twice.
  auto r = RunChain(*dev, {{cmd::kSeek, 6, true, Bbcchh(0, 0)},
                      {cmd::kSearchIdEqual, 5, true, Cchhr(0, 0, 9)},
                      {0x08, 0, true, {}, 1},
                      {cmd::kReadData, 80, false, {}}});
  ASSERT_EQ(r.size(), 1u + 8u + 1u);  // seek, R0-R3 twice, then the failing search
  EXPECT_EQ(r.back().status, kUc);
  ExpectSense(*dev, 0x00, 0x08, 0x00, 0, 0);
  // LOCATE RECORD whose search argument is not on the track.
  r = RunChain(*dev, {{cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, 0, 0, 9, 14)},
                 {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x80, 1, 2, 7, 1, 0, 4096)},
                 {cmd::kReadDataMt, 4096, false, {}}});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].status, kUc);
  ExpectSense(*dev, 0x00, 0x08, 0x00, 2, 7);
}

TEST(Eckd3390Test, FileProtected) {
  const std::string path = Dasdinit("-linux fp.3390 3390 LNX001 3");
  auto dev = OpenDevice(path);
  // SEEK outside the extent.
  auto r = RunChain(*dev, {{cmd::kDefineExtent, 16, true, DefineExtentData(0x00, 0xC0, 0, 0, 0, 1)},
                      {cmd::kSeek, 6, true, Bbcchh(0, 5)}});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].status, kUc);
  ExpectSense(*dev, 0x00, 0x04, 0x00, 0, 0);
  // LOCATE RECORD outside the extent.
  r = RunChain(*dev, {{cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, 0, 0, 0, 1)},
                 {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x80, 1, 0, 8, 5, 0, 4096)}});
  EXPECT_EQ(r[1].status, kUc);
  ExpectSense(*dev, 0x00, 0x04, 0x00, 0, 0);
  // Write with file mask 01 (inhibit all writes): nothing reaches the file.
  const std::vector<uint8_t> before = ReadFileBytes(path, LinuxBlockOffset(8, 5), 4096);
  std::vector<Step> write = LinuxWrite(8, 5, Pattern(4096, 5));
  write[0].data[0] = 0x40;
  r = RunChain(*dev, write);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[2].status, kUc);
  ExpectSense(*dev, 0x00, 0x04, 0x00, 0, 8);
  EXPECT_EQ(ReadFileBytes(path, LinuxBlockOffset(8, 5), 4096), before);
  // SEEK with a file mask that inhibits seeks.
  r = RunChain(*dev, {{cmd::kSetFileMask, 1, true, {0x18}}, {cmd::kSeek, 6, false, Bbcchh(0, 1)}});
  EXPECT_EQ(r[1].status, kUc);
  ExpectSense(*dev, 0x00, 0x04, 0x00, 0, 8);
}

TEST(Eckd3390Test, ReadOnlyVolumeIsWriteInhibited) {
  const std::string path = Dasdinit("-linux ro.3390 3390 LNX001 3");
  auto dev = OpenDevice(path, {.read_only = true});
  EXPECT_TRUE(dev->read_only());
  auto r = RunChain(*dev, LinuxWrite(8, 5, Pattern(4096, 5)));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[2].status, kUc);
  ExpectSense(*dev, 0x00, 0x02, 0x00, 0, 8);
}

TEST(Eckd3390Test, InvalidTrackFormat) {
  const std::string path = Dasdinit("-linux itf.3390 3390 LNX001 3");
  // A corrupt home address on track 2 (cyl 0 head 2).
  WriteFileBytes(path, 512 + 2 * kTrack + 4, {0x07});
  auto dev = OpenDevice(path);
  auto r = RunChain(*dev, LinuxRead(2, 1));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].status, kUc);
  ExpectSense(*dev, 0x00, 0x40, 0x00, 0, 2);
  // WRITE UPDATE DATA shorter than the record, or a TLF that is not the record's DL.
  r = RunChain(*dev, LinuxWrite(8, 5, Pattern(4000, 5)));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[2].status, kUc);
  ExpectSense(*dev, 0x00, 0x40, 0x00, 0, 8);
  std::vector<Step> tlf = LinuxWrite(8, 5, Pattern(4096, 5));
  tlf[1].data[15] = 0x01;  // TLF 0x1001
  r = RunChain(*dev, tlf);
  EXPECT_EQ(r[2].status, kUc);
  ExpectSense(*dev, 0x00, 0x40, 0x00, 0, 8);
}

TEST(Eckd3390Test, CommandRejectMessage1InvalidCommand) {
  auto dev = MemoryDevice(10);
  for (uint8_t code : {uint8_t{0xF3}, cmd::kPrefix, cmd::kLocateRecordExtended}) {
    auto r = RunChain(*dev, {{code, 64, false, std::vector<uint8_t>(64, 0)}});
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, kUc) << int{code};
    ExpectSense(*dev, 0x80, 0x00, 0x01, 0, 0);
  }
}

TEST(Eckd3390Test, CommandRejectMessage2InvalidSequence) {
  auto dev = MemoryDevice(10);
  // DEFINE EXTENT inside a locate-record domain.
  auto r = RunChain(*dev, {{cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, 0, 0, 0, 0)},
                      {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x80, 1, 0, 0, 0, 0, 8)},
                      {cmd::kDefineExtent, 16, false, DefineExtentData(0x40, 0xC0, 0, 0, 0, 0)}});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[2].status, kUc);
  ExpectSense(*dev, 0x80, 0x00, 0x02, 0, 0);
  // SET FILE MASK after DEFINE EXTENT.
  r = RunChain(*dev, {{cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, 0, 0, 0, 0)},
                 {cmd::kSetFileMask, 1, false, {0x40}}});
  EXPECT_EQ(r[1].status, kUc);
  ExpectSense(*dev, 0x80, 0x00, 0x02, 0, 0);
  // SENSE PATH GROUP ID not alone in its chain.
  r = RunChain(*dev, {{cmd::kNoop, 0, true, {}}, {cmd::kSensePathGroupId, 12, false, {}}});
  EXPECT_EQ(r[1].status, kUc);
  ExpectSense(*dev, 0x80, 0x00, 0x02, 0, 0);
  r = RunChain(*dev, {{cmd::kSensePathGroupId, 12, true, {}}, {cmd::kNoop, 0, false, {}}});
  EXPECT_EQ(r[0].status, kUc);
  ExpectSense(*dev, 0x80, 0x00, 0x02, 0, 0);
  // LOCATE RECORD without DEFINE EXTENT; READ DATA without positioning.
  r = RunChain(*dev, {{cmd::kLocateRecord, 16, false, LocateRecordData(0x06, 0x80, 1, 0, 0, 0, 0, 8)}});
  EXPECT_EQ(r[0].status, kUc);
  ExpectSense(*dev, 0x80, 0x00, 0x02, 0, 0);
  r = RunChain(*dev, {{cmd::kReadData, 8, false, {}}});
  EXPECT_EQ(r[0].status, kUc);
  ExpectSense(*dev, 0x80, 0x00, 0x02, 0, 0);
  // A command the locate-record operation does not admit (WRITE in a read domain).
  r = RunChain(*dev, {{cmd::kDefineExtent, 16, true, DefineExtentData(0xC0, 0xC0, 0, 0, 0, 0)},
                 {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x80, 1, 0, 0, 0, 0, 8)},
                 {cmd::kUpdateData, 8, false, std::vector<uint8_t>(8, 0)}});
  EXPECT_EQ(r[2].status, kUc);
  ExpectSense(*dev, 0x80, 0x00, 0x02, 0, 0);
}

TEST(Eckd3390Test, CommandRejectMessage3And4) {
  auto dev = MemoryDevice(10);
  // DEFINE EXTENT with 15 bytes.
  auto r = RunChain(*dev, {{cmd::kDefineExtent, 15, false, DefineExtentData(0x40, 0xC0, 0, 0, 0, 0)}});
  EXPECT_EQ(r[0].status, kUc);
  ExpectSense(*dev, 0x80, 0x00, 0x03, 0, 0);
  // DEFINE EXTENT whose begin is after its end; beyond the volume; not ECKD mode.
  for (const std::vector<uint8_t>& de :
       {DefineExtentData(0x40, 0xC0, 0, 5, 0, 4), DefineExtentData(0x40, 0xC0, 0, 0, 10, 0),
        DefineExtentData(0x40, 0x00, 0, 0, 0, 0), DefineExtentData(0x60, 0xC0, 0, 0, 0, 0)}) {
    r = RunChain(*dev, {{cmd::kDefineExtent, 16, false, de}});
    EXPECT_EQ(r[0].status, kUc);
    ExpectSense(*dev, 0x80, 0x00, 0x04, 0, 0);
  }
  // PERFORM SUBSYSTEM FUNCTION and READ SUBSYSTEM DATA: format 0 message 4.
  r = RunChain(*dev, {{cmd::kPerformSubsystemFunction, 12, true, {0x18, 0x00}},
                 {cmd::kReadSubsystemData, 256, false, {}}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, kUc);
  ExpectSense(*dev, 0x80, 0x00, 0x04, 0, 0);
  // SEEK with BB != 0 or a head beyond the cylinder; LOCATE RECORD with a bad op.
  r = RunChain(*dev, {{cmd::kSeek, 6, false, {0, 1, 0, 0, 0, 0}}});
  ExpectSense(*dev, 0x80, 0x00, 0x04, 0, 0);
  r = RunChain(*dev, {{cmd::kSeek, 6, false, Bbcchh(0, 15)}});
  ExpectSense(*dev, 0x80, 0x00, 0x04, 0, 0);
  r = RunChain(*dev, {{cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, 0, 0, 0, 0)},
                 {cmd::kLocateRecord, 16, false, LocateRecordData(0x3F, 0x80, 1, 0, 0, 0, 0, 8)}});
  EXPECT_EQ(r[1].status, kUc);
  ExpectSense(*dev, 0x80, 0x00, 0x04, 0, 0);
}

TEST(Eckd3390Test, IncompleteDomain) {
  auto dev = OpenDevice(Dasdinit("-linux inc.3390 3390 LNX001 3"));
  auto r = RunChain(*dev, {{cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, 0, 3, 0, 3)},
                      {cmd::kLocateRecord, 16, true, LocateRecordData(0x06, 0x80, 3, 0, 3, 1, 0, 4096)},
                      {cmd::kReadDataMt, 4096, true, {}},
                      {cmd::kReadDataMt, 4096, false, {}}});
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[2].status, kOk);
  EXPECT_EQ(r[3].status, kUc);
  EXPECT_EQ(r[3].length, 4096u);  // the record was transferred
  ExpectSense(*dev, 0x81, 0x00, 0x00, 0, 3, /*b3=*/1);
  // A LOCATE RECORD that ends the chain leaves its whole domain.
  r = RunChain(*dev, {{cmd::kDefineExtent, 16, true, DefineExtentData(0x40, 0xC0, 0, 3, 0, 3)},
                 {cmd::kLocateRecord, 16, false, LocateRecordData(0x06, 0x80, 2, 0, 3, 1, 0, 4096)}});
  EXPECT_EQ(r[1].status, kUc);
  ExpectSense(*dev, 0x81, 0x00, 0x00, 0, 3, /*b3=*/2);
}

TEST(Eckd3390Test, EndOfCylinder) {
  auto dev = OpenDevice(Dasdinit("eoc.3390 3390 VOL001 10"));
  // Multitrack READ DATA outside a domain from the last head of cylinder 2.
  auto r = RunChain(*dev, {{cmd::kSeek, 6, true, Bbcchh(2, 14)}, {cmd::kReadDataMt, 8, false, {}}});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].status, kUc);
  ExpectSense(*dev, 0x00, 0x20, 0x00, 2, 14);
  // From head 13 it moves to head 14 (which has only R0) and then hits the end.
  r = RunChain(*dev, {{cmd::kSeek, 6, true, Bbcchh(2, 13)}, {cmd::kReadDataMt, 8, false, {}}});
  EXPECT_EQ(r[1].status, kUc);
  ExpectSense(*dev, 0x00, 0x20, 0x00, 2, 14);
}

TEST(Eckd3390Test, ManyInMemoryDevicesAreCheap) {
  std::vector<std::unique_ptr<Eckd3390>> devices;
  for (int i = 0; i < 1000; ++i) {
    devices.push_back(MemoryDevice(3339, {.devno = static_cast<uint16_t>(i)}));
  }
  // An unwritten track reads as null-formatted: R0 with 8 zero bytes, no R1.
  auto r = RunChain(*devices[999], LinuxRead(3338 * 15 + 14, 0, 8));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[2].status, kOk);
  EXPECT_EQ(r[2].length, 8u);
  EXPECT_THAT(r[2].data, ::testing::Each(0));
  r = RunChain(*devices[999], LinuxRead(3338 * 15 + 14, 1));
  ASSERT_EQ(r.size(), 2u);
  ExpectSense(*devices[999], 0x00, 0x08, 0x00, 3338, 14);
  EXPECT_EQ(devices[999]->image().materialized_tracks(), 0u);
}

}  // namespace
}  // namespace ccwpass::sim::dasd
