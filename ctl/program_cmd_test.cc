// `ccwctl program check|show` run in-process on program text: the exact JSON
// line and exit code for each verdict, the exact table, and the command line
// (help, usage errors, unreadable files) through RunCcwctl.
#include "ctl/program_cmd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "ctl/cli.h"
#include "ctl/exit_codes.h"

namespace ccwpass::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

Outcome Check(const std::string& text, const OfflineArena& arena = {}) {
  std::ostringstream out, err;
  Outcome r;
  r.code = ProgramCheck("prog.json", text, out, err, arena);
  r.out = out.str();
  r.err = err.str();
  return r;
}

Outcome Show(const std::string& text) {
  std::ostringstream out, err;
  Outcome r;
  r.code = ProgramShow("prog.json", text, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

Outcome Cli(std::vector<std::string> args) {
  args.insert(args.begin(), "ccwctl");
  std::ostringstream out, err;
  Outcome r;
  r.code = RunCcwctl(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// Linux's read of one 4 KiB block (reference/dasd-3390.md §4): DE, LR, READ DATA MT.
constexpr char kDasdRead[] = R"({"ccws": [
    {"cmd": "0x63", "flags": ["CC"], "data": "40c00000 00000000 00000008 00000008"},
    {"cmd": "0x47", "flags": ["CC"], "data": "06800001 00000008 00000008 054d1000"},
    {"cmd": "0x86", "count": 4096}]})";

// A TIC that leaves its chain (a second segment) and one that loops back into it.
constexpr char kTicLoop[] = R"({"ccws": [
    {"cmd": "0x07", "flags": ["CC"], "data": "0000 0000 0008"},
    {"tic": 2},
    {"cmd": "0x31", "flags": ["CC"], "data": "0000 0008 05"},
    {"tic": 2},
    {"cmd": "0x06", "count": 4096}]})";

// Structural: list index 0 is a TIC to index 2; index 1 is never reached; the
// chain from index 2 has 257 CCWs. In translation order the chain's CCWs are 1..257.
std::string ChainTooLongAfterATic() {
  std::string s = R"({"ccws": [{"tic": 2}, {"cmd": "0x03"})";
  for (int i = 0; i < 256; ++i) s += R"(, {"cmd": "0x03", "flags": ["CC"]})";
  s += R"(, {"cmd": "0x03"}]})";
  return s;
}

// Raw: a TIC at 0x1000 to a READ at 0x2000 whose 256 bytes at 0x2f80 run past
// the end of the 0x3000-byte memory.
constexpr char kRawDataOutsideInSecondChain[] = R"({
    "orb": {"fmt": 1, "pfch": true, "cpa": "0x1000"},
    "memory": {"size": "0x3000", "segments": [
        {"addr": "0x1000", "hex": "08000000 00002000"},
        {"addr": "0x2000", "hex": "02000100 00002f80"}]}})";

// --- check ---

TEST(ProgramCheckTest, AcceptedPrintsTheCounts) {
  const Outcome r = Check(kDasdRead);
  EXPECT_EQ(r.code, kExitOk);
  // DE 16 + LR 16 + READ 4096 bytes; the READ's buffer starts at stream offset
  // 32, so it spans two 4 KiB pages: 1 + 1 + 2 IDAWs.
  EXPECT_EQ(r.out, "{\"verdict\":\"accepted\",\"chains\":1,\"ccws\":3,\"idaws\":4,\"bytes\":4128}\n");
  EXPECT_EQ(r.err, "");
}

TEST(ProgramCheckTest, WarningsAppearOnlyWhenThereAreSome) {
  const Outcome r = Check(R"({"ccws": [{"cmd": "0xe4", "flags": ["SLI"], "count": 256}], "orb": {"pfch": false}})");
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "{\"verdict\":\"accepted\",\"chains\":1,\"ccws\":1,\"idaws\":1,\"bytes\":256,\"warnings\":[\"ORB "
            "prefetch bit is clear: current kernels accept it, older ones refuse it with EOPNOTSUPP\"]}\n");
}

TEST(ProgramCheckTest, StructuralRejectionGivesTheListIndex) {
  const Outcome r = Check(ChainTooLongAfterATic());
  EXPECT_EQ(r.code, kExitRejected);
  // The translator counts the 257th CCW of the chain as ccw 257; in the file it is ccws[258].
  EXPECT_EQ(r.out,
            "{\"verdict\":\"rejected\",\"errno\":\"EINVAL\",\"rule\":\"chain-too-long\",\"reason\":\"ccw 257 at "
            "0x1810: the chain at 0x1010 continues past 256 CCWs [EINVAL]\",\"ccw_addr\":\"0x1810\","
            "\"ccw_index\":258}\n");
  EXPECT_EQ(r.err, "");
}

TEST(ProgramCheckTest, RawRejectionGivesTheTranslatorsIndex) {
  const Outcome r = Check(kRawDataOutsideInSecondChain);
  EXPECT_EQ(r.code, kExitRejected);
  EXPECT_EQ(r.out,
            "{\"verdict\":\"rejected\",\"errno\":\"EFAULT\",\"rule\":\"data-outside-memory\",\"reason\":\"ccw 1 "
            "at 0x2000: data at 0x2f80 (256 bytes) is outside the client's memory of 0x3000 bytes [EFAULT]\","
            "\"ccw_addr\":\"0x2000\",\"ccw_index\":1}\n");
}

TEST(ProgramCheckTest, RejectionWithoutACcwHasNoLocation) {
  const Outcome r = Check(R"({"orb": {"fmt": 1, "tm": true, "cpa": "0x1000"}, "memory": {"size": "0x2000"}})");
  EXPECT_EQ(r.code, kExitRejected);
  EXPECT_EQ(r.out,
            "{\"verdict\":\"rejected\",\"errno\":\"EOPNOTSUPP\",\"rule\":\"transport-mode\",\"reason\":\"transport-"
            "mode ORB (B bit set): vfio-ccw runs command-mode programs only [EOPNOTSUPP]\"}\n");
}

TEST(ProgramCheckTest, AFullArenaIsRejectedWithEnomem) {
  // One page for the chain and IDALs, two for the 4128 data bytes; the arena has two.
  const Outcome r = Check(kDasdRead, OfflineArena{.bytes = 2 * 4096, .iova_base = 0x1000000});
  EXPECT_EQ(r.code, kExitRejected);
  EXPECT_EQ(r.out,
            "{\"verdict\":\"rejected\",\"errno\":\"ENOMEM\",\"rule\":\"arena-full\",\"reason\":\"DMA arena full: "
            "the program needs 3 pages of 4 KiB, 2 of 2 are free [ENOMEM]\"}\n");
}

TEST(ProgramCheckTest, AnInvalidFileIsBadInputNamedOnStderr) {
  const Outcome r = Check(R"({"ccws": [{"cmd": 3, "flags": ["cc"]}]})");
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "ccwctl: prog.json: ccws[0].flags[0]: unknown flag \"cc\" (expected CD, CC, SLI, SKIP, PCI, IDA, "
            "SUSPEND, MIDA)\n");
  const Outcome syntax = Check("{\n  \"ccws\": [\n    {\"cmd\": 3,}\n  ]\n}\n");
  EXPECT_EQ(syntax.code, kExitBadInput);
  EXPECT_THAT(syntax.err, StartsWith("ccwctl: prog.json: line 3 column 15: JSON syntax error: "));
}

// --- show ---

TEST(ProgramShowTest, AcceptedProgramChainByChain) {
  const Outcome r = Show(kTicLoop);
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "orb: fmt=1 key=0 lpm=0xff pfch=1 c64=1 i2k=0 intparm=0x00000000 cpa=0x1000\n"
            "INDEX  ADDRESS  CMD   NAME             FLAGS  COUNT  DATA    PREVIEW\n"
            "chain 0 at 0x1000\n"
            "0      0x1000   0x07  SEEK             CC     6      0x1028  00000000 0008\n"
            "1      0x1008   0x08  TIC              -      0      -       → ccw 2 (0x1010)\n"
            "chain 1 at 0x1010\n"
            "2      0x1010   0x31  SEARCH ID EQUAL  CC     5      0x1030  00000008 05\n"
            "3      0x1018   0x08  TIC              -      0      -       → ccw 2 (0x1010)\n"
            "4      0x1020   0x06  READ DATA        -      4096   0x1038  -\n"
            "accepted: chains 2, ccws 5, idaws 4, bytes 4107\n");
  EXPECT_EQ(r.err, "");
}

TEST(ProgramShowTest, PreviewFollowsAFormat1Idal) {
  // WRITE DATA with IDA: the format-1 IDAL at 0x1100 puts the first 4 bytes at
  // 0x27fc, the rest from the next 2 KiB block at 0x2800.
  const Outcome r = Show(R"({
      "orb": {"fmt": 1, "pfch": true, "intparm": "0xc0ffee", "key": 3, "cpa": "0x1000"},
      "memory": {"size": "0x3000", "segments": [
          {"addr": "0x1000", "hex": "05040010 00001100"},
          {"addr": "0x1100", "hex": "000027fc 00002800"},
          {"addr": "0x27fc", "hex": "deadbeef 01020304 05060708 090a0b0c"}]}})");
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "orb: fmt=1 key=3 lpm=0xff pfch=1 c64=0 i2k=0 intparm=0x00c0ffee cpa=0x1000\n"
            "INDEX  ADDRESS  CMD   NAME        FLAGS  COUNT  DATA    PREVIEW\n"
            "chain 0 at 0x1000\n"
            "0      0x1000   0x05  WRITE DATA  IDA    16     0x1100  deadbeef 01020304\n"
            "accepted: chains 1, ccws 1, idaws 1, bytes 16\n");
}

TEST(ProgramShowTest, WarningsFollowTheVerdict) {
  const Outcome r = Show(R"({"ccws": [{"cmd": "0x04", "flags": ["SLI"], "count": 32}], "orb": {"pfch": false}})");
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "orb: fmt=1 key=0 lpm=0xff pfch=0 c64=1 i2k=0 intparm=0x00000000 cpa=0x1000\n"
            "INDEX  ADDRESS  CMD   NAME   FLAGS  COUNT  DATA    PREVIEW\n"
            "chain 0 at 0x1000\n"
            "0      0x1000   0x04  SENSE  SLI    32     0x1008  -\n"
            "accepted: chains 1, ccws 1, idaws 1, bytes 32\n"
            "warning: ORB prefetch bit is clear: current kernels accept it, older ones refuse it with EOPNOTSUPP\n");
}

TEST(ProgramShowTest, RejectedProgramShowsWhatDecodesFromTheCpa) {
  // Format 0 (the QEMU BIOS's IPL CCWs): SEEK, SEARCH ID EQUAL, TIC back, READ
  // into memory that ends too early. The walk stops at the TIC (no chaining).
  const Outcome r = Show(R"({
      "orb": {"fmt": 0, "pfch": true, "c64": true, "cpa": "0x8"},
      "memory": {"size": "0x40", "segments": [
          {"addr": "0x8", "hex": "07000030 40000006  31000038 40000005  08000010 00000000  06000018 20000068"},
          {"addr": "0x30", "hex": "0000 0000 0000"},
          {"addr": "0x38", "hex": "0000 0000 02"}]}})");
  EXPECT_EQ(r.code, kExitRejected);
  EXPECT_EQ(r.out,
            "orb: fmt=0 key=0 lpm=0xff pfch=1 c64=1 i2k=0 intparm=0x00000000 cpa=0x8\n"
            "INDEX  ADDRESS  CMD   NAME             FLAGS  COUNT  DATA  PREVIEW\n"
            "chain 0 at 0x8\n"
            "0      0x8      0x07  SEEK             CC     6      0x30  00000000 0000\n"
            "1      0x10     0x31  SEARCH ID EQUAL  CC     5      0x38  00000000 02\n"
            "2      0x18     0x08  TIC              -      0      -     → ccw 1 (0x10)\n"
            "rejected: ccw 3 at 0x20: data at 0x18 (104 bytes) is outside the client's memory of 0x40 bytes "
            "[EFAULT]\n"
            "  rule data-outside-memory, errno EFAULT\n");
}

TEST(ProgramShowTest, RejectedStructuralNamesTheListEntry) {
  const Outcome r = Show(ChainTooLongAfterATic());
  EXPECT_EQ(r.code, kExitRejected);
  // The walk from the CPA ends at the TIC; its target is list index 2.
  EXPECT_EQ(r.out,
            "orb: fmt=1 key=0 lpm=0xff pfch=1 c64=1 i2k=0 intparm=0x00000000 cpa=0x1000\n"
            "INDEX  ADDRESS  CMD   NAME  FLAGS  COUNT  DATA  PREVIEW\n"
            "chain 0 at 0x1000\n"
            "0      0x1000   0x08  TIC   -      0      -     → ccw 2 (0x1010)\n"
            "rejected: ccw 257 at 0x1810: the chain at 0x1010 continues past 256 CCWs [EINVAL]\n"
            "  rule chain-too-long, errno EINVAL, ccws[258] in the file\n");
}

TEST(ProgramShowTest, ATicOutsideTheWalkShowsItsAddressOnly) {
  const Outcome r = Show(kRawDataOutsideInSecondChain);
  EXPECT_EQ(r.code, kExitRejected);
  EXPECT_THAT(r.out, HasSubstr("0      0x1000   0x08  TIC   -      0      -     → 0x2000\n"));
}

TEST(ProgramShowTest, InvalidFileIsBadInput) {
  const Outcome r = Show(R"({"ccws": []})");
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "ccwctl: prog.json: ccws: empty: a channel program needs at least one CCW\n");
}

// --- the command line ---

std::string WriteTempFile(const std::string& name, const std::string& text) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CcwctlCliTest, ProgramCheckReadsTheFile) {
  const std::string path = WriteTempFile("sense-id.json", R"({"ccws": [{"cmd": "0xe4", "flags": ["SLI"], "count": 256}]})");
  const Outcome r = Cli({"program", "check", path});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "{\"verdict\":\"accepted\",\"chains\":1,\"ccws\":1,\"idaws\":1,\"bytes\":256}\n");
  EXPECT_EQ(r.err, "");
}

TEST(CcwctlCliTest, ProgramShowRejectedExitsOne) {
  const std::string path = WriteTempFile("tm.json", R"({"orb": {"tm": true}, "memory": {"size": 8}})");
  const Outcome r = Cli({"program", "show", path});
  EXPECT_EQ(r.code, kExitRejected);
  EXPECT_THAT(r.out, HasSubstr("rejected: transport-mode ORB"));
}

TEST(CcwctlCliTest, InvalidFileNamesThePath) {
  const std::string path = WriteTempFile("bad.json", "{\"ccws\": [{\"cmd\": 3, \"cnt\": 1}]}");
  const Outcome r = Cli({"program", "check", path});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "ccwctl: " + path + ": ccws[0].cnt: unknown key (expected cmd, flags, count, data, tic)\n");
}

TEST(CcwctlCliTest, UnreadableFileIsBadInput) {
  const Outcome r = Cli({"program", "check", "/nonexistent/prog.json"});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "ccwctl: cannot read /nonexistent/prog.json: No such file or directory\n");
  const char* dir = std::getenv("TEST_TMPDIR");
  const Outcome d = Cli({"program", "show", dir != nullptr ? dir : "/tmp"});
  EXPECT_EQ(d.code, kExitBadInput);
  EXPECT_THAT(d.err, HasSubstr(": it is a directory\n"));
}

TEST(CcwctlCliTest, HelpExitsZero) {
  const Outcome root = Cli({"--help"});
  EXPECT_EQ(root.code, kExitOk);
  EXPECT_THAT(root.out, HasSubstr("Usage: ccwctl [OPTIONS] SUBCOMMAND"));
  EXPECT_THAT(root.out, HasSubstr("program"));
  const Outcome program = Cli({"program", "--help"});
  EXPECT_EQ(program.code, kExitOk);
  EXPECT_THAT(program.out, HasSubstr("check"));
  EXPECT_THAT(program.out, HasSubstr("show"));
  EXPECT_THAT(program.out, HasSubstr("Exit codes: 0 accepted, 1 rejected, 2 bad input or usage."));
}

TEST(CcwctlCliTest, UsageErrorsExitTwo) {
  const Outcome none = Cli({});
  EXPECT_EQ(none.code, kExitBadInput);
  EXPECT_THAT(none.err, HasSubstr("A subcommand is required"));
  const Outcome no_file = Cli({"program", "check"});
  EXPECT_EQ(no_file.code, kExitBadInput);
  EXPECT_THAT(no_file.err, HasSubstr("FILE is required"));
  const Outcome unknown = Cli({"frobnicate"});
  EXPECT_EQ(unknown.code, kExitBadInput);
}

}  // namespace
}  // namespace ccwpass::ctl
