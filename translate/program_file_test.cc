// Program files: every rule of the format with its exact error (path and
// reason), and successful parses of both forms checked field by field and byte
// by byte.
#include "translate/program_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "testing/status_matchers.h"

namespace ccwpass::translate {
namespace {

using ::ccwpass::testing::IsOk;
using ::ccwpass::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

std::vector<uint8_t> ReadBytes(const GuestMemory& m, uint64_t addr, size_t n) {
  std::vector<uint8_t> out(n, 0xEE);
  EXPECT_THAT(m.Read(addr, out), IsOk());
  return out;
}

// A raw document around the given "orb" members (cpa 0x1000 unless given) and
// the recorded SENSE ID memory.
std::string RawWithOrb(const std::string& orb_members) {
  return R"({"orb": {)" + orb_members + R"(},
            "memory": {"size": "0x10000", "segments": [{"addr": "0x1000", "hex": "e4200100 00002000"}]}})";
}

// A raw document with the given "memory" value.
std::string RawWithMemory(const std::string& memory) {
  return R"({"orb": {"fmt": 1, "cpa": "0x1000"}, "memory": )" + memory + "}";
}

// A structural document with the given "ccws" value.
std::string Structural(const std::string& ccws) { return R"({"ccws": )" + ccws + "}"; }

// --- raw form: success ---

TEST(ProgramFileRawTest, RecordedSenseIdParsesToItsOrbAndBytes) {
  // reference/qemu-s390x.md: ORB word 1 0x00c0ff00, CPA 0x1000, CCW e4200100 00002000.
  auto pf = ParseProgramFile(R"({
    "orb": {"fmt": 1, "pfch": true, "c64": false, "i2k": false, "lpm": 255, "key": 0,
            "tm": false, "intparm": "0x0", "cpa": "0x1000"},
    "memory": {"size": "0x100000",
               "segments": [{"addr": "0x1000", "hex": "e4200100 00002000"}]}})");
  ASSERT_THAT(pf, IsOk());
  EXPECT_EQ(pf->form, ProgramFile::Form::kRaw);
  const std::array<uint8_t, kOrbSize> want_orb = {0, 0, 0, 0, 0x00, 0xc0, 0xff, 0x00, 0, 0, 0x10, 0x00};
  EXPECT_EQ(pf->orb.Encode(), want_orb);
  ASSERT_NE(pf->memory, nullptr);
  EXPECT_EQ(pf->memory->Size(), 0x100000u);
  EXPECT_THAT(ReadBytes(*pf->memory, 0x1000, 8), ElementsAre(0xe4, 0x20, 0x01, 0x00, 0x00, 0x00, 0x20, 0x00));
  // Outside the segments the memory reads as zeros.
  EXPECT_THAT(ReadBytes(*pf->memory, 0xff8, 8), ElementsAre(0, 0, 0, 0, 0, 0, 0, 0));
  EXPECT_THAT(ReadBytes(*pf->memory, 0x1008, 8), ElementsAre(0, 0, 0, 0, 0, 0, 0, 0));
  EXPECT_TRUE(pf->ccws.empty());
  EXPECT_TRUE(pf->ccw_addrs.empty());
  EXPECT_EQ(pf->ListIndexOf(0x1000), -1);  // raw: no list
}

TEST(ProgramFileRawTest, EveryOrbFieldIsRead) {
  auto pf = ParseProgramFile(RawWithOrb(R"(
      "intparm": "0xCAFEF00D", "key": 9, "spnd": true, "str": true, "mod": true, "sync": true,
      "fmt": 1, "pfch": true, "isic": true, "alcc": true, "ssic": true, "tm": true, "c64": true,
      "i2k": true, "lpm": "0x81", "ils": true, "midaw": true, "orbx": true, "cpa": "0x7ffffff8")"));
  ASSERT_THAT(pf, IsOk());
  const Orb& o = pf->orb;
  EXPECT_EQ(o.intparm, 0xCAFEF00Du);
  EXPECT_EQ(o.key, 9);
  EXPECT_TRUE(o.spnd);
  EXPECT_TRUE(o.str);
  EXPECT_TRUE(o.mod);
  EXPECT_TRUE(o.sync);
  EXPECT_TRUE(o.fmt);
  EXPECT_TRUE(o.pfch);
  EXPECT_TRUE(o.isic);
  EXPECT_TRUE(o.alcc);
  EXPECT_TRUE(o.ssic);
  EXPECT_TRUE(o.tm);
  EXPECT_TRUE(o.c64);
  EXPECT_TRUE(o.i2k);
  EXPECT_EQ(o.lpm, 0x81);
  EXPECT_TRUE(o.ils);
  EXPECT_TRUE(o.midaw);
  EXPECT_TRUE(o.orbx);
  EXPECT_EQ(o.cpa, 0x7ffffff8u);
}

TEST(ProgramFileRawTest, OrbFieldsNotGivenAreZeroExceptLpm) {
  auto pf = ParseProgramFile(RawWithOrb(R"("cpa": 4096)"));
  ASSERT_THAT(pf, IsOk());
  Orb want;
  want.lpm = 0xFF;
  want.cpa = 0x1000;
  EXPECT_EQ(pf->orb, want);
}

TEST(ProgramFileRawTest, FormatZeroAndExplicitFalseBits) {
  auto pf = ParseProgramFile(RawWithOrb(R"("fmt": 0, "pfch": false, "lpm": 0, "cpa": "0x8")"));
  ASSERT_THAT(pf, IsOk());
  EXPECT_FALSE(pf->orb.fmt);
  EXPECT_FALSE(pf->orb.pfch);
  EXPECT_EQ(pf->orb.lpm, 0);
  EXPECT_EQ(pf->orb.cpa, 8u);
}

TEST(ProgramFileRawTest, CpaIsTheTranslatorsToPoliceNotTheParsers) {
  // Misaligned and above 2 GiB still parse: the translator refuses them (cpa-invalid).
  auto pf = ParseProgramFile(RawWithOrb(R"("cpa": "0xFFFFFFFF")"));
  ASSERT_THAT(pf, IsOk());
  EXPECT_EQ(pf->orb.cpa, 0xFFFFFFFFu);
}

TEST(ProgramFileRawTest, HexIsCaseInsensitiveWithWhitespaceAnywhere) {
  auto pf = ParseProgramFile(RawWithMemory(R"({"size": 8192, "segments": [
      {"addr": "0x1000", "hex": " E4 2\t0 01\n00 0000 2 0 00\r\n"},
      {"addr": "0X1008", "hex": "aBcDeF"}]})"));
  ASSERT_THAT(pf, IsOk());
  EXPECT_THAT(ReadBytes(*pf->memory, 0x1000, 11),
              ElementsAre(0xe4, 0x20, 0x01, 0x00, 0x00, 0x00, 0x20, 0x00, 0xab, 0xcd, 0xef));
}

TEST(ProgramFileRawTest, SegmentsMayTouchAndFillTheMemoryExactly) {
  auto pf = ParseProgramFile(RawWithMemory(R"({"size": 16, "segments": [
      {"addr": 8, "hex": "0102030405060708"}, {"addr": 0, "hex": "1112131415161718"}]})"));
  ASSERT_THAT(pf, IsOk());
  EXPECT_EQ(pf->memory->Size(), 16u);
  EXPECT_THAT(ReadBytes(*pf->memory, 0, 16),
              ElementsAreArray<uint8_t>({0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(ProgramFileRawTest, TheLargestMemoryIsTwoGiBAndCostsNothingUnwritten) {
  auto pf = ParseProgramFile(RawWithMemory(R"({"size": "0x80000000", "segments": [
      {"addr": "0x7ffffff8", "hex": "0300000000000000"}]})"));
  ASSERT_THAT(pf, IsOk());
  EXPECT_EQ(pf->memory->Size(), kMaxRawMemorySize);
  EXPECT_THAT(ReadBytes(*pf->memory, 0x7ffffff8, 8), ElementsAre(0x03, 0, 0, 0, 0, 0, 0, 0));
}

TEST(ProgramFileRawTest, SegmentsAreOptional) {
  auto pf = ParseProgramFile(RawWithMemory(R"({"size": "0x2000"})"));
  ASSERT_THAT(pf, IsOk());
  EXPECT_EQ(pf->memory->Size(), 0x2000u);
  EXPECT_THAT(ReadBytes(*pf->memory, 0x1000, 4), ElementsAre(0, 0, 0, 0));
}

// --- raw form: errors ---

TEST(ProgramFileRawTest, OrbNumbersOutOfRange) {
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("lpm": 256)")),
              StatusIs(kInvalid, HasSubstr("orb.lpm: 256 is out of range 0..255")));
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("lpm": "0x100")")),
              StatusIs(kInvalid, HasSubstr("orb.lpm: \"0x100\" is out of range 0..255")));
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("key": 16)")),
              StatusIs(kInvalid, HasSubstr("orb.key: 16 is out of range 0..15")));
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("intparm": "0x100000000")")),
              StatusIs(kInvalid, HasSubstr("orb.intparm: \"0x100000000\" is out of range 0..0xffffffff")));
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("cpa": 4294967296)")),
              StatusIs(kInvalid, HasSubstr("orb.cpa: 4294967296 is out of range 0..0xffffffff")));
}

TEST(ProgramFileRawTest, FmtIsZeroOrOne) {
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("fmt": 2)")),
              StatusIs(kInvalid, HasSubstr("orb.fmt: 2 is out of range 0..1 (0: format-0 CCWs, 1: format-1 CCWs)")));
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("fmt": true)")),
              StatusIs(kInvalid, HasSubstr("orb.fmt: expected a JSON unsigned integer or a \"0x...\" hex "
                                           "string, got boolean true")));
}

TEST(ProgramFileRawTest, NumbersAreJsonIntegersOrHexStringsOnly) {
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("cpa": "4096")")),
              StatusIs(kInvalid, HasSubstr("orb.cpa: \"4096\" is not a number: write a JSON unsigned integer "
                                           "or a \"0x...\" hex string (decimal strings are not accepted)")));
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("cpa": -8)")),
              StatusIs(kInvalid, HasSubstr("orb.cpa: -8 is negative")));
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("cpa": 4096.0)")),
              StatusIs(kInvalid, HasSubstr("orb.cpa: 4096.0 is not an unsigned integer")));
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("cpa": "0x")")),
              StatusIs(kInvalid, HasSubstr("orb.cpa: \"0x\" has no hex digits after 0x")));
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("cpa": "0x10g0")")),
              StatusIs(kInvalid, HasSubstr("orb.cpa: \"0x10g0\" is not a hex number: 'g' is not a hex digit")));
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("cpa": "0x 1000")")),
              StatusIs(kInvalid, HasSubstr("orb.cpa: \"0x 1000\" is not a hex number: ' ' is not a hex digit")));
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("cpa": null)")),
              StatusIs(kInvalid, HasSubstr("orb.cpa: expected a JSON unsigned integer or a \"0x...\" hex "
                                           "string, got null null")));
  // More hex digits than 64 bits hold.
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("cpa": "0x10000000000000000")")),
              StatusIs(kInvalid, HasSubstr("orb.cpa: \"0x10000000000000000\" is out of range 0..0xffffffff")));
}

TEST(ProgramFileRawTest, OrbBitsAreBooleans) {
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("pfch": 1)")),
              StatusIs(kInvalid, HasSubstr("orb.pfch: expected true or false, got 1")));
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("tm": "true")")),
              StatusIs(kInvalid, HasSubstr("orb.tm: expected true or false, got \"true\"")));
}

TEST(ProgramFileRawTest, UnknownKeysAreErrors) {
  EXPECT_THAT(ParseProgramFile(RawWithOrb(R"("cpa": 4096, "pfhc": true)")),
              StatusIs(kInvalid, AllOf(HasSubstr("orb.pfhc: unknown key (expected intparm, key, spnd"),
                                       HasSubstr("lpm, ils, midaw, orbx, cpa)"))));
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": 4096, "segment": []})")),
              StatusIs(kInvalid, HasSubstr("memory.segment: unknown key (expected size, segments)")));
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": 4096, "segments": [{"adr": 0, "hex": "00"}]})")),
              StatusIs(kInvalid, HasSubstr("memory.segments[0].adr: unknown key (expected addr, hex)")));
  EXPECT_THAT(ParseProgramFile(R"({"orb": {"cpa": 0}, "memory": {"size": 8}, "description": "x"})"),
              StatusIs(kInvalid, HasSubstr("description: unknown key (expected orb, memory) for the raw form")));
}

TEST(ProgramFileRawTest, OrbAndMemoryMustBeObjects) {
  EXPECT_THAT(ParseProgramFile(R"({"orb": [1], "memory": {"size": 8}})"),
              StatusIs(kInvalid, HasSubstr("orb: expected a JSON object, got array [1]")));
  EXPECT_THAT(ParseProgramFile(R"({"orb": {"cpa": 0}, "memory": 4096})"),
              StatusIs(kInvalid, HasSubstr("memory: expected a JSON object, got number 4096")));
  EXPECT_THAT(ParseProgramFile(R"({"memory": {"size": 8}})"),
              StatusIs(kInvalid, HasSubstr("(top level): the raw form (\"memory\") needs an \"orb\"")));
}

TEST(ProgramFileRawTest, MemorySizeIsRequiredAndAtMostTwoGiB) {
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"segments": []})")),
              StatusIs(kInvalid, HasSubstr("memory: missing \"size\"")));
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": "0x80000001"})")),
              StatusIs(kInvalid, HasSubstr("memory.size: \"0x80000001\" is out of range 0..0x80000000 (the "
                                           "31-bit addressing limit)")));
}

TEST(ProgramFileRawTest, HexDataErrors) {
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": 4096, "segments": [{"addr": 0, "hex": "e42"}]})")),
              StatusIs(kInvalid, HasSubstr("memory.segments[0].hex: odd number of hex digits (3)")));
  EXPECT_THAT(
      ParseProgramFile(RawWithMemory(R"({"size": 4096, "segments": [{"addr": 0, "hex": "00"}, {"addr": 8, "hex": "e4 2x"}]})")),
      StatusIs(kInvalid, HasSubstr("memory.segments[1].hex: 'x' at offset 4 is not a hex digit")));
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": 4096, "segments": [{"addr": 0, "hex": "0x00"}]})")),
              StatusIs(kInvalid, HasSubstr("memory.segments[0].hex: 'x' at offset 1 is not a hex digit")));
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": 4096, "segments": [{"addr": 0, "hex": " "}]})")),
              StatusIs(kInvalid, HasSubstr("memory.segments[0].hex: no hex digits: a segment holds at least one byte")));
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": 4096, "segments": [{"addr": 0, "hex": [0]}]})")),
              StatusIs(kInvalid, HasSubstr("memory.segments[0].hex: expected a string of hex digits, got array [0]")));
}

TEST(ProgramFileRawTest, SegmentFieldsAreRequired) {
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": 4096, "segments": [{"hex": "00"}]})")),
              StatusIs(kInvalid, HasSubstr("memory.segments[0]: missing \"addr\"")));
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": 4096, "segments": [{"addr": 0}]})")),
              StatusIs(kInvalid, HasSubstr("memory.segments[0]: missing \"hex\"")));
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": 4096, "segments": {"addr": 0}})")),
              StatusIs(kInvalid, HasSubstr("memory.segments: expected an array of {\"addr\", \"hex\"} objects")));
}

TEST(ProgramFileRawTest, SegmentOutsideTheMemory) {
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": "0x1000", "segments": [{"addr": "0xffc", "hex": "0102030405"}]})")),
              StatusIs(kInvalid, HasSubstr("memory.segments[0]: 5 bytes at 0xffc lie outside memory.size 0x1000")));
  // An address so high that addr + length wraps around.
  EXPECT_THAT(
      ParseProgramFile(RawWithMemory(R"({"size": "0x1000", "segments": [{"addr": "0xffffffffffffffff", "hex": "0102"}]})")),
      StatusIs(kInvalid, HasSubstr("memory.segments[0]: 2 bytes at 0xffffffffffffffff lie outside memory.size 0x1000")));
}

TEST(ProgramFileRawTest, OverlappingSegmentsNameBoth) {
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": "0x2000", "segments": [
      {"addr": "0x1000", "hex": "00000000 00000000"},
      {"addr": "0x1800", "hex": "00"},
      {"addr": "0x1007", "hex": "0000"}]})")),
              StatusIs(kInvalid, HasSubstr("memory.segments[2]: bytes 0x1007..0x1008 overlap memory.segments[0] "
                                           "(0x1000..0x1007)")));
  // The later segment is named even when it lies first in memory.
  EXPECT_THAT(ParseProgramFile(RawWithMemory(R"({"size": "0x2000", "segments": [
      {"addr": "0x1004", "hex": "00"}, {"addr": "0x1000", "hex": "0000000000"}]})")),
              StatusIs(kInvalid, HasSubstr("memory.segments[1]: bytes 0x1000..0x1004 overlap memory.segments[0] "
                                           "(0x1004..0x1004)")));
}

// --- the document ---

TEST(ProgramFileTest, SyntaxErrorsGiveLineAndColumn) {
  // The brace after the stray comma is line 2, column 20.
  EXPECT_THAT(ParseProgramFile("{\n  \"orb\": {\"cpa\": 1,},\n  \"memory\": {\"size\": 8}\n}"),
              StatusIs(kInvalid, AllOf(StartsWith("line 2 column 20: JSON syntax error: "),
                                       HasSubstr("unexpected '}'"))));
  // Unterminated document: the error is at the end, after the last newline.
  EXPECT_THAT(ParseProgramFile("{\"ccws\": [\n"),
              StatusIs(kInvalid, StartsWith("line 2 column 1: JSON syntax error: ")));
  EXPECT_THAT(ParseProgramFile(""), StatusIs(kInvalid, StartsWith("line 1 column 1: JSON syntax error: ")));
  EXPECT_THAT(ParseProgramFile("{\"ccws\": [{\"cmd\": 0x03}]}"),
              StatusIs(kInvalid, StartsWith("line 1 column 20: JSON syntax error: ")));
}

TEST(ProgramFileTest, DuplicateKeysAreErrors) {
  EXPECT_THAT(ParseProgramFile(R"({"orb": {"cpa": 0, "lpm": 1, "lpm": 2}, "memory": {"size": 8}})"),
              StatusIs(kInvalid, HasSubstr("orb.lpm: duplicate key")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3, "flags": ["CC"]}, {"cmd": 3, "count": 1, "count": 2}])")),
              StatusIs(kInvalid, HasSubstr("ccws[1].count: duplicate key")));
  EXPECT_THAT(ParseProgramFile(RawWithMemory(
                  R"({"size": 64, "segments": [{"addr": 0, "hex": "00"}, [], {"addr": 8, "hex": "00", "addr": 9}]})")),
              StatusIs(kInvalid, HasSubstr("memory.segments[2].addr: duplicate key")));
  EXPECT_THAT(ParseProgramFile(R"({"ccws": [{"cmd": 3}], "ccws": [{"cmd": 3}]})"),
              StatusIs(kInvalid, HasSubstr("ccws: duplicate key")));
}

TEST(ProgramFileTest, TheDocumentHasExactlyOneForm) {
  EXPECT_THAT(ParseProgramFile("[1, 2]"),
              StatusIs(kInvalid, HasSubstr("(top level): expected a JSON object with \"ccws\" (structural form) "
                                           "or \"orb\" and \"memory\" (raw form), got array")));
  EXPECT_THAT(ParseProgramFile(R"({"orb": {"cpa": 0}})"),
              StatusIs(kInvalid, HasSubstr("(top level): neither \"ccws\" (structural form) nor \"memory\" (raw "
                                           "form)")));
  EXPECT_THAT(ParseProgramFile(R"({"ccws": [{"cmd": 3}], "memory": {"size": 8}})"),
              StatusIs(kInvalid, HasSubstr("(top level): both \"ccws\" (structural form) and \"memory\" (raw form)")));
}

// --- structural form: success ---

TEST(ProgramFileStructuralTest, BuildsTheProgramAndKeepsTheList) {
  auto pf = ParseProgramFile(R"({
    "ccws": [{"cmd": "0x63", "flags": ["CC"], "data": "40c00000 00000000 00000008 00000008"},
             {"cmd": "0xE4", "flags": ["SLI"], "count": 256},
             {"tic": 0}],
    "orb": {"lpm": "0x80", "intparm": "0x12345678", "pfch": false, "ils": true, "isic": true, "key": 3}})");
  ASSERT_THAT(pf, IsOk());
  EXPECT_EQ(pf->form, ProgramFile::Form::kStructural);
  // Every ORB field: the options as given, the builder's format-1 / format-2 IDAW / CPA.
  const Orb& o = pf->orb;
  EXPECT_EQ(o.intparm, 0x12345678u);
  EXPECT_EQ(o.key, 3);
  EXPECT_FALSE(o.spnd);
  EXPECT_FALSE(o.str);
  EXPECT_FALSE(o.mod);
  EXPECT_FALSE(o.sync);
  EXPECT_TRUE(o.fmt);
  EXPECT_FALSE(o.pfch);
  EXPECT_TRUE(o.isic);
  EXPECT_FALSE(o.alcc);
  EXPECT_FALSE(o.ssic);
  EXPECT_FALSE(o.tm);
  EXPECT_TRUE(o.c64);
  EXPECT_FALSE(o.i2k);
  EXPECT_EQ(o.lpm, 0x80);
  EXPECT_TRUE(o.ils);
  EXPECT_FALSE(o.midaw);
  EXPECT_FALSE(o.orbx);
  EXPECT_EQ(o.cpa, 0x1000u);

  // The image (builder.h): CCWs at 0x1000, then the buffers doubleword-aligned.
  ASSERT_NE(pf->memory, nullptr);
  EXPECT_EQ(pf->memory->Size(), 0x2000u);
  EXPECT_THAT(ReadBytes(*pf->memory, 0x1000, 24),
              ElementsAreArray<uint8_t>({0x63, 0x40, 0x00, 0x10, 0x00, 0x00, 0x10, 0x18,    // DE, CC, 16 at 0x1018
                                         0xe4, 0x20, 0x01, 0x00, 0x00, 0x00, 0x10, 0x28,    // SENSE ID, SLI, 256
                                         0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00}));  // TIC to 0x1000
  EXPECT_THAT(ReadBytes(*pf->memory, 0x1018, 16),
              ElementsAreArray<uint8_t>({0x40, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 8}));
  std::vector<uint8_t> zeros(256, 0);
  EXPECT_EQ(ReadBytes(*pf->memory, 0x1028, 256), zeros);

  ASSERT_EQ(pf->ccws.size(), 3u);
  EXPECT_EQ(pf->ccws[0].cmd, 0x63);
  EXPECT_EQ(pf->ccws[0].flags, ccw_flag::kCc);
  EXPECT_EQ(pf->ccws[1].count, std::optional<uint32_t>(256));
  EXPECT_EQ(pf->ccws[1].flags, ccw_flag::kSli);
  EXPECT_EQ(pf->ccws[2].tic, std::optional<int>(0));
  EXPECT_THAT(pf->ccw_addrs, ElementsAre(0x1000, 0x1008, 0x1010));
  EXPECT_EQ(pf->ListIndexOf(0x1008), 1);
  EXPECT_EQ(pf->ListIndexOf(0x1010), 2);
  EXPECT_EQ(pf->ListIndexOf(0x1004), -1);
  EXPECT_EQ(pf->ListIndexOf(0x1018), -1);
}

TEST(ProgramFileStructuralTest, DefaultOrbOptions) {
  auto pf = ParseProgramFile(Structural(R"([{"cmd": 228, "flags": ["SLI"], "count": 256}])"));
  ASSERT_THAT(pf, IsOk());
  Orb want;
  want.fmt = true;
  want.pfch = true;
  want.c64 = true;
  want.lpm = 0xFF;
  want.cpa = 0x1000;
  EXPECT_EQ(pf->orb, want);
}

TEST(ProgramFileStructuralTest, EveryFlagName) {
  auto pf = ParseProgramFile(Structural(R"([{"cmd": "0x03", "flags": ["CD", "CC", "SLI", "SKIP", "PCI", "SUSPEND"]},
                                            {"cmd": "0x01", "flags": ["IDA"], "data": "ff"}])"));
  ASSERT_THAT(pf, IsOk());
  EXPECT_EQ(pf->ccws[0].flags, 0xFA);
  EXPECT_EQ(pf->ccws[1].flags, ccw_flag::kIda);
}

// --- structural form: errors ---

TEST(ProgramFileStructuralTest, CcwFieldRanges) {
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 256}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0].cmd: 256 is out of range 0..255")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3, "flags": ["CC"]}, {"cmd": 2, "count": 65536}])")),
              StatusIs(kInvalid, HasSubstr("ccws[1].count: 65536 is out of range 0..65535")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3}, {"tic": -1}])")),
              StatusIs(kInvalid, HasSubstr("ccws[1].tic: -1 is negative")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3}, {"tic": "1"}])")),
              StatusIs(kInvalid, HasSubstr("ccws[1].tic: \"1\" is not a number")));
}

TEST(ProgramFileStructuralTest, FlagErrors) {
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3, "flags": ["CC", "XX"]}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0].flags[1]: unknown flag \"XX\" (expected CD, CC, SLI, SKIP, "
                                           "PCI, IDA, SUSPEND, MIDA)")));
  // Names are upper case.
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3, "flags": ["sli"]}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0].flags[0]: unknown flag \"sli\"")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3, "flags": ["CC", "SLI", "CC"]}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0].flags[2]: duplicate flag \"CC\"")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3, "flags": "CC"}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0].flags: expected an array of flag names")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3, "flags": [64]}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0].flags[0]: expected a flag name")));
}

TEST(ProgramFileStructuralTest, CcwShapeErrors) {
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3, "cnt": 4}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0].cnt: unknown key (expected cmd, flags, count, data, tic)")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"flags": ["CC"]}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0]: missing \"cmd\" (or \"tic\" for a TIC)")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3, "flags": ["CC"]}, {"tic": 0, "cmd": 8}])")),
              StatusIs(kInvalid, HasSubstr("ccws[1]: a TIC takes only \"tic\" (its target's index); remove \"cmd\"")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3, "flags": ["CC"]}, {"tic": 0, "count": 0}])")),
              StatusIs(kInvalid, HasSubstr("ccws[1]: a TIC takes only \"tic\" (its target's index); remove \"count\"")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": "0x08"}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0].cmd: 0x08 is TIC: write {\"tic\": <index of the target CCW>}")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([3])")),
              StatusIs(kInvalid, HasSubstr("ccws[0]: expected a JSON object, got number 3")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([])")),
              StatusIs(kInvalid, HasSubstr("ccws: empty: a channel program needs at least one CCW")));
  EXPECT_THAT(ParseProgramFile(Structural(R"({"cmd": 3})")),
              StatusIs(kInvalid, HasSubstr("ccws: expected an array of CCW objects, got object")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 1, "data": "abc"}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0].data: odd number of hex digits (3)")));
}

TEST(ProgramFileStructuralTest, UnknownTopLevelAndOrbKeys) {
  EXPECT_THAT(ParseProgramFile(R"({"ccws": [{"cmd": 3}], "description": "a NOOP"})"),
              StatusIs(kInvalid, HasSubstr("description: unknown key (expected ccws, orb) for the structural form")));
  EXPECT_THAT(ParseProgramFile(R"({"ccws": [{"cmd": 3}], "orb": {"cpa": "0x2000"}})"),
              StatusIs(kInvalid, HasSubstr("orb.cpa: unknown key (expected lpm, intparm, pfch, ils, isic, key); "
                                           "the builder sets fmt, c64 and cpa itself")));
  EXPECT_THAT(ParseProgramFile(R"({"ccws": [{"cmd": 3}], "orb": {"lpm": 256}})"),
              StatusIs(kInvalid, HasSubstr("orb.lpm: 256 is out of range 0..255")));
  EXPECT_THAT(ParseProgramFile(R"({"ccws": [{"cmd": 3}], "orb": {"ils": "yes"}})"),
              StatusIs(kInvalid, HasSubstr("orb.ils: expected true or false, got \"yes\"")));
  EXPECT_THAT(ParseProgramFile(R"({"ccws": [{"cmd": 3}], "orb": {"key": 16}})"),
              StatusIs(kInvalid, HasSubstr("orb.key: 16 is out of range 0..15")));
}

TEST(ProgramFileStructuralTest, TheBuildersErrorsPassThrough) {
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": 3, "flags": ["CC"]}, {"tic": 9}])")),
              StatusIs(kInvalid, HasSubstr("ccws[1]: TIC target 9 is not a CCW index (0..1)")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": "0x06", "data": "00"}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0]: data given for command 0x06, which reads from the device")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": "0x01", "count": 4, "data": "0011"}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0]: count 4 does not match the 2 bytes of data")));
  EXPECT_THAT(ParseProgramFile(Structural(R"([{"cmd": "0x01", "flags": ["MIDA"], "data": "00"}])")),
              StatusIs(kInvalid, HasSubstr("ccws[0]: MIDA: the builder does not build modified IDALs")));
}

}  // namespace
}  // namespace ccwpass::translate
