// io sense-id / rdc / run, halt, clear and schib against the fake agent: the
// exact views, the programs sent, device errors (exit 5) and refusals.
#include "ctl/io_cmd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "ctl/exit_codes.h"
#include "ctl/testing/fake_agent.h"
#include "ctl/testing/run_cli.h"
#include "nlohmann/json.hpp"

namespace ccwpass::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Outcome;

std::string TempFile(const std::string& name, const std::string& text) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// Linux's read of the first 32 bytes of record 3 (VOL1) on track 0: DE, LR, READ DATA.
constexpr char kDasdRead[] = R"({"ccws": [
    {"cmd": "0x63", "flags": ["CC"], "data": "40c00000 00000000 00000000 00000000"},
    {"cmd": "0x47", "flags": ["CC"], "data": "06800001 00000000 00000000 00000003"},
    {"cmd": "0x86", "flags": ["SLI"], "count": 32}]})";

ccw::v1::StartProgramResponse DasdReadResponse() {
  ccw::v1::StartProgramResponse r;
  *r.mutable_irb() = testing::FakeOkIrb(0x1018, 0);
  r.set_last_ccw_index(2);
  const struct {
    uint32_t cmd;
    bool in;
    std::string data;
  } kCcws[] = {{0x63, false, ""}, {0x47, false, ""},
               {0x86, true, absl::HexStringToBytes("e5d6d3f1e5d6d3f0f0f1404040404040404040404040404040404040c8c5d9c3")}};
  for (int i = 0; i < 3; ++i) {
    auto* t = r.add_transfers();
    t->set_index(i);
    t->set_ccw_addr(0x1000 + 8 * i);
    t->set_cmd(kCcws[i].cmd);
    t->set_data_in(kCcws[i].in);
    t->set_bytes(kCcws[i].in ? 32 : 16);
    t->set_data(kCcws[i].data);
  }
  r.set_bytes_read(32);
  r.set_bytes_written(32);
  r.set_summary("ok: channel end, device end; 32 bytes read");
  r.add_warnings("ccw 2: prefetch not set");
  r.set_retries(1);
  r.mutable_duration()->set_nanos(1200000);
  return r;
}

constexpr char kDasdReadView[] =
    "Summary:            ok: channel end, device end; 32 bytes read\n"
    "Function:           start\n"
    "Status:             status pending, primary, secondary\n"
    "Device status:      channel end, device end (0x0c)\n"
    "Subchannel status:  - (0x00)\n"
    "Condition code:     0\n"
    "CCW address:        0x00001018\n"
    "Residual count:     0\n"
    "Last CCW:           2\n"
    "Bytes read:         32\n"
    "Bytes written:      32\n"
    "Duration:           1.2ms\n"
    "Retries:            1\n"
    "Warning:            ccw 2: prefetch not set\n"
    "\n"
    "CCW  Address     Cmd   Name           Dir    Bytes\n"
    "0    0x00001000  0x63  DEFINE EXTENT  write  16\n"
    "1    0x00001008  0x47  LOCATE RECORD  write  16\n"
    "2    0x00001010  0x86  READ DATA MT   read   32\n";

using IoCmdTest = testing::CliTest;

TEST_F(IoCmdTest, SenseIdSendsOneSliCcwAndDecodes) {
  const Outcome r = Run({"io", "sense-id", "0.0.0100"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "CU type:      3990/ec\n"
            "Device type:  3390/0a\n"
            "CIW 0:        read configuration data (RCD): command 0xfa, count 256\n"
            "CIW 1:        set interface identifier (SII): command 0x27, count 4\n"
            "CIW 2:        read node identifier (RNI): command 0x3e, count 64\n"
            "Bytes:        20 (ff3990ec 33900a00 40fa0100 41270004 423e0040)\n");
  const auto req = agent_.LastRequest<ccw::v1::StartProgramRequest>("StartProgram");
  EXPECT_EQ(req.schid(), "0.0.0100");
  ASSERT_EQ(req.structural().ccws_size(), 1);
  EXPECT_EQ(req.structural().ccws(0).cmd(), 0xe4u);
  EXPECT_EQ(req.structural().ccws(0).flags(), 0x20u);
  EXPECT_EQ(req.structural().ccws(0).count(), 256u);
}

TEST_F(IoCmdTest, RdcPrintsHexAndGeometry) {
  const Outcome r = Run({"io", "rdc", "0.0.0100"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "READ DEVICE CHARACTERISTICS: 64 bytes\n"
            "00000000  3990c233 900ad200 00002024 0d0b000f\n"
            "00000010  e000e5a2 05940222 13090674 00000000\n"
            "00000020  00000000 00000000 24241002 dfee0001\n"
            "00000030  06770800 00000000 00ff0000 00000d0b\n"
            "\n"
            "CU type:       3990/c2\n"
            "Device type:   3390/0a\n"
            "Cylinders:     3339\n"
            "Heads:         15\n"
            "Track length:  58786 bytes\n");
  const auto req = agent_.LastRequest<ccw::v1::StartProgramRequest>("StartProgram");
  EXPECT_EQ(req.structural().ccws(0).cmd(), 0x64u);
  EXPECT_EQ(req.structural().ccws(0).count(), 64u);
}

TEST_F(IoCmdTest, SenseIdJsonIsTheResponse) {
  const Outcome r = Run({"io", "sense-id", "0.0.0100", "-o", "json"});
  EXPECT_EQ(r.code, kExitOk);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["transfers"][0]["data"], "/zmQ7DOQCgBA+gEAQScABEI+AEA=");  // base64 of the 20 bytes
  EXPECT_EQ(j["bytes_read"], "20");
  EXPECT_EQ(j["irb"]["scsw"]["dstat"], 12);
  EXPECT_EQ(j["duration"], "0.000180s");
}

TEST_F(IoCmdTest, RunSendsTheFileAndShowsTheResult) {
  const std::string path = TempFile("dasd-read.json", kDasdRead);
  agent_.SetStartProgramResponse(DasdReadResponse());
  Outcome r = Run({"io", "run", "0.0.0100", path});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, std::string(kDasdReadView) + "\n(32 bytes read; --data shows them)\n");
  EXPECT_EQ(agent_.LastRequest<ccw::v1::StartProgramRequest>("StartProgram").program_json(), kDasdRead);

  agent_.SetStartProgramResponse(DasdReadResponse());
  r = Run({"io", "run", "0.0.0100", path, "--data"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, std::string(kDasdReadView) +
                       "\n"
                       "Data read by CCW 2 (32 bytes):\n"
                       "00000000  e5d6d3f1 e5d6d3f0 f0f14040 40404040  |VOL1VOL001      |\n"
                       "00000010  40404040 40404040 40404040 c8c5d9c3  |            HERC|\n");
}

TEST_F(IoCmdTest, RunOfAnExampleFile) {
  // docs/examples/sense-id.json, as shipped.
  const Outcome r = Run({"io", "run", "0.0.0100", "docs/examples/sense-id.json", "-o", "yaml"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("summary: \"ok: channel end, device end\"\n"));
  EXPECT_THAT(agent_.LastRequest<ccw::v1::StartProgramRequest>("StartProgram").program_json(),
              HasSubstr(R"({"cmd": "0xe4", "flags": ["SLI"], "count": 256})"));
}

TEST_F(IoCmdTest, RunRefusesABadFileLocally) {
  const std::string path = TempFile("bad.json", R"({"ccws": [{"cmd": "0x100"}]})");
  Outcome r = Run({"io", "run", "0.0.0100", path});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_THAT(r.err, ::testing::StartsWith("ccwctl: " + path + ": "));
  r = Run({"io", "run", "0.0.0100", "/nonexistent/p.json"});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_THAT(r.err, HasSubstr("cannot read /nonexistent/p.json"));
  EXPECT_TRUE(agent_.Calls().empty());
}

TEST_F(IoCmdTest, PolicedProgramIsRejected) {
  agent_.FailNext(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                               "0.0.0100: ccw 0 at 0x1000: transport mode is not supported [EOPNOTSUPP]"));
  const Outcome r = Run({"io", "run", "0.0.0100", TempFile("p.json", kDasdRead)});
  EXPECT_EQ(r.code, kExitRejected);
  EXPECT_EQ(r.err, "ccwctl: 0.0.0100: ccw 0 at 0x1000: transport mode is not supported [EOPNOTSUPP]\n");
}

TEST_F(IoCmdTest, UnitCheckExitsFiveWithTheSense) {
  ccw::v1::StartProgramResponse resp;
  *resp.mutable_irb() = testing::FakeOkIrb(0x1008, 256);
  resp.mutable_irb()->mutable_scsw()->set_dstat(0x0e);
  resp.mutable_irb()->mutable_scsw()->set_device_status_text("channel end, device end, unit check");
  resp.set_last_ccw_index(0);
  resp.set_sense(absl::HexStringToBytes("80000000") + std::string(28, '\0'));
  resp.set_summary("unit check: command reject");
  agent_.SetStartProgramResponse(resp);
  const Outcome r = Run({"io", "sense-id", "0.0.0100"});
  EXPECT_EQ(r.code, kExitDeviceError);
  EXPECT_EQ(r.out,
            "Summary:            unit check: command reject\n"
            "Function:           start\n"
            "Status:             status pending, primary, secondary\n"
            "Device status:      channel end, device end, unit check (0x0e)\n"
            "Subchannel status:  - (0x00)\n"
            "Condition code:     0\n"
            "CCW address:        0x00001008\n"
            "Residual count:     256\n"
            "Last CCW:           0\n"
            "Bytes read:         0\n"
            "Bytes written:      0\n"
            "Sense:              80000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n");
  EXPECT_EQ(r.err, "ccwctl: 0.0.0100: the device or channel reported an error: unit check: command reject\n");
}

TEST_F(IoCmdTest, IoOnADetachedSubchannelSuggestsAttach) {
  const Outcome r = Run({"io", "rdc", "0.0.0101"});
  EXPECT_EQ(r.code, kExitRejected);
  EXPECT_EQ(r.err,
            "ccwctl: 0.0.0101: start: not attached in agent mode (state DETACHED)\n"
            "this needs the subchannel attached in agent mode: ccwctl attach 0.0.0101 (a handed-off one: ccwctl "
            "detach 0.0.0101 first)\n");
  EXPECT_EQ(Run({"io", "sense-id", "0.0.0199"}).err, "ccwctl: no subchannel 0.0.0199 (ccwctl list shows them)\n");
}

TEST_F(IoCmdTest, TimeoutBecomesTheDeadline) {
  agent_.FailNext(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "0.0.0100: deadline passed; the program was halted"));
  const Outcome r = Run({"io", "sense-id", "0.0.0100", "--timeout", "250ms"});
  EXPECT_EQ(r.code, kExitRetry);
  EXPECT_EQ(r.err,
            "ccwctl: 0.0.0100: deadline passed; the program was halted\n"
            "the deadline passed (--timeout sets it)\n");
  EXPECT_EQ(Run({"io", "sense-id", "0.0.0100", "--timeout", "soon"}).code, kExitBadInput);
  EXPECT_EQ(Run({"--timeout", "0s", "io", "sense-id", "0.0.0100"}).code, kExitBadInput);
}

TEST_F(IoCmdTest, HaltAndClear) {
  Outcome r = Run({"halt", "0.0.0100"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "0.0.0100: halt done\n"
            "Function:           halt\n"
            "Status:             status pending\n"
            "Device status:      - (0x00)\n"
            "Subchannel status:  - (0x00)\n"
            "Condition code:     0\n"
            "CCW address:        0x00000000\n"
            "Residual count:     0\n"
            "Last path used:     80\n");
  r = Run({"clear", "0.0.0100", "-o", "json"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(nlohmann::json::parse(r.out)["irb"]["scsw"]["fctl"], 1);
  EXPECT_THAT(agent_.Calls(), ElementsAre("Halt 0.0.0100", "Clear 0.0.0100"));
  EXPECT_EQ(Run({"halt", "0.0.0101"}).code, kExitRejected);
}

TEST_F(IoCmdTest, Schib) {
  const Outcome r = Run({"schib", "0.0.0100"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "PMCW\n"
            "  Interruption parameter:  0x00000100\n"
            "  ISC:                     3\n"
            "  Enabled:                 yes\n"
            "  Device number:           e000\n"
            "  LPM PNOM LPUM:           c0 00 00\n"
            "  PIM PAM POM:             c0 c0 ff\n"
            "  CHPIDs:                  15160000 00000000\n"
            "  Multipath mode:          yes\n"
            "  Limit mode:              0\n"
            "  Measurement mode:        0 (block index 0, format-1 no)\n"
            "  Timing facility:         no\n"
            "  Concurrent sense:        yes\n"
            "  QDIO active:             no\n"
            "  Subchannel type:         0\n"
            "SCSW (CCW address as stored, not mapped back)\n"
            "  Function:           none\n"
            "  Status:             none\n"
            "  Device status:      - (0x00)\n"
            "  Subchannel status:  - (0x00)\n"
            "  Condition code:     0\n"
            "  CCW address:        0x00000000\n"
            "  Residual count:     0\n"
            "Measurement-block address:  0x0\n"
            "Raw:                        00000100 1885e000 c00000c0 0000ffc0 15160000 00000000 00000001 00000000 "
            "00000000 00000000 00000000 00000000 00000000\n");
}

}  // namespace
}  // namespace ccwpass::ctl
