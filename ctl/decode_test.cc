// Device-data decoding (SENSE ID, RDC), hex dumps, the API's words, and the
// JSON/YAML output helpers, on the fake agent's fixed bytes.
#include "ctl/decode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/escaping.h"
#include "ctl/output.h"
#include "ctl/testing/fake_agent.h"

namespace ccwpass::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Hex(const char* h) { return absl::HexStringToBytes(h); }

MATCHER_P3(IsCiw, type, command, count, "") {
  return arg.type == type && arg.command == command && arg.count == count;
}

TEST(SenseIdTest, DecodesTypesModelsAndCiws) {
  const std::string data = testing::FakeSenseIdBytes();
  auto id = DecodeSenseId(Bytes(data));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->cu_type, 0x3990);
  EXPECT_EQ(id->cu_model, 0xec);
  EXPECT_EQ(id->dev_type, 0x3390);
  EXPECT_EQ(id->dev_model, 0x0a);
  EXPECT_THAT(id->ciws, ElementsAre(IsCiw(0, 0xfa, 256), IsCiw(1, 0x27, 4), IsCiw(2, 0x3e, 64)));
}

TEST(SenseIdTest, StopsAtTheFirstWordThatIsNotACiw) {
  // Hercules' 3390 on "3990": one RCD CIW, then zeros (a 256-byte read).
  std::string data = Hex("ff3990c233900a0040fa0100");
  data.resize(256, '\0');
  auto id = DecodeSenseId(Bytes(data));
  ASSERT_TRUE(id.ok());
  EXPECT_THAT(id->ciws, ElementsAre(IsCiw(0, 0xfa, 256)));
}

TEST(SenseIdTest, ShortDataHasNoDeviceType) {
  auto id = DecodeSenseId(Bytes(Hex("ff3215000000")));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->cu_type, 0x3215);
  EXPECT_EQ(id->dev_type, 0);
  EXPECT_TRUE(id->ciws.empty());
}

TEST(SenseIdTest, RefusesWhatIsNotSenseIdData) {
  auto not_ff = DecodeSenseId(Bytes(Hex("003990ec33900a00")));
  EXPECT_EQ(not_ff.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(not_ff.status().message()), HasSubstr("byte 0 is 0x00, not 0xff"));
  auto short_data = DecodeSenseId(Bytes(Hex("ff39")));
  EXPECT_THAT(std::string(short_data.status().message()), HasSubstr("SENSE ID stored 2 bytes"));
}

TEST(SenseIdTest, CiwTypeNames) {
  EXPECT_EQ(CiwTypeName(0), "read configuration data (RCD)");
  EXPECT_EQ(CiwTypeName(2), "read node identifier (RNI)");
  EXPECT_EQ(CiwTypeName(9), "type 9");
}

TEST(RdcTest, DecodesThe3390Geometry) {
  const std::string data = testing::FakeRdcBytes();
  ASSERT_EQ(data.size(), 64u);
  auto r = DecodeRdc(Bytes(data));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cu_type, 0x3990);
  EXPECT_EQ(r->cu_model, 0xc2);
  EXPECT_EQ(r->dev_type, 0x3390);
  EXPECT_EQ(r->dev_model, 0x0a);
  EXPECT_EQ(r->cylinders, 3339u);
  EXPECT_EQ(r->heads, 15);
  EXPECT_EQ(r->track_length, 58786u);
}

TEST(RdcTest, LargeVolumesKeepTheCylinderCountInBytes60To63) {
  std::string data = testing::FakeRdcBytes();
  data[12] = '\xff';
  data[13] = '\xfe';
  data.replace(60, 4, Hex("00040000"));
  auto r = DecodeRdc(Bytes(data));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cylinders, 0x40000u);
  auto cut = DecodeRdc(Bytes(data.substr(0, 32)));
  EXPECT_THAT(std::string(cut.status().message()), HasSubstr("only 32 bytes were stored"));
  auto tiny = DecodeRdc(Bytes(data.substr(0, 10)));
  EXPECT_THAT(std::string(tiny.status().message()), HasSubstr("stored 10 bytes; at least 20"));
}

TEST(HexTest, WordsAndDumpWithEbcdicText) {
  EXPECT_EQ(HexWords(Bytes(Hex("ff3990ec3390"))), "ff3990ec 3390");
  const std::string vol1 = Hex("e5d6d3f1e5d6d3f0f0f1404b61007a7b") + Hex("c1");
  EXPECT_EQ(HexDump(Bytes(vol1)),
            "00000000  e5d6d3f1 e5d6d3f0 f0f1404b 61007a7b  |VOL1VOL001 ./.:#|\n"
            "00000010  c1                                   |A|\n");
  EXPECT_EQ(HexDump(Bytes(vol1), false),
            "00000000  e5d6d3f1 e5d6d3f0 f0f1404b 61007a7b\n"
            "00000010  c1\n");
}

TEST(WordsTest, StatesKindsChpids) {
  EXPECT_EQ(StateWord(ccw::v1::HANDED_OFF), "handed-off");
  EXPECT_EQ(ParseStateWord("not-operational"), ccw::v1::NOT_OPERATIONAL);
  EXPECT_EQ(ParseStateWord("attached "), std::nullopt);
  EXPECT_EQ(StateWords().size(), 7u);
  EXPECT_EQ(EventKindWord(ccw::v1::Event::DEVICE_REQUEST), "device-request");
  EXPECT_EQ(ParseEventKindWord("crw"), ccw::v1::Event::CRW);
  EXPECT_EQ(EventKindWords().size(), 8u);
  ccw::v1::Subchannel s;
  for (uint32_t c : {0x15u, 0x16u, 0u, 0u, 0u, 0u, 0x40u, 0xffu}) s.add_chpids(c);
  EXPECT_EQ(ChpidsText(s.chpids()), "15160000 000040ff");
  s.clear_chpids();
  s.add_chpids(0x30);
  EXPECT_EQ(ChpidsText(s.chpids()), "30000000 00000000");
}

TEST(ScswTest, WordsFromTheAgentOrFromTheBits) {
  ccw::v1::Scsw s = testing::FakeOkIrb(0x1018, 0).scsw();
  EXPECT_FALSE(ScswReportsError(s));
  EXPECT_THAT(ScswFields(s), ElementsAre(std::pair<std::string, std::string>{"function", "start"},
                                         std::pair<std::string, std::string>{"status", "status pending, primary, secondary"},
                                         std::pair<std::string, std::string>{"device status", "channel end, device end (0x0c)"},
                                         std::pair<std::string, std::string>{"subchannel status", "- (0x00)"},
                                         std::pair<std::string, std::string>{"condition code", "0"},
                                         std::pair<std::string, std::string>{"CCW address", "0x00001018"},
                                         std::pair<std::string, std::string>{"residual count", "0"}));
  s.clear_function_text();
  s.clear_device_status_text();
  s.set_dstat(0x0e);
  EXPECT_TRUE(ScswReportsError(s));
  EXPECT_EQ(ScswFields(s)[0].second, "start");
  EXPECT_EQ(ScswFields(s)[2].second, "CE DE UC (0x0e)");
  s.set_dstat(0x0c);
  s.set_cstat(0x80);  // PCI alone is no error
  EXPECT_FALSE(ScswReportsError(s));
  s.set_cstat(0x20);  // program check
  EXPECT_TRUE(ScswReportsError(s));
}

TEST(OutputTest, JsonKeepsProtoNamesAndDefaults) {
  ccw::v1::Crw crw;
  crw.set_rsc(4);
  crw.set_text("x");
  EXPECT_EQ(MessageToJson(crw, false),
            R"({"slct":false,"oflw":false,"chn":false,"rsc":4,"anc":false,"erc":0,"rsid":0,"text":"x","raw":0})");
  ccw::v1::WatchRequest w;
  w.add_schids("0.0.0100");
  EXPECT_EQ(MessageToJson(w, true), "{\n  \"kinds\": [],\n  \"schids\": [\n    \"0.0.0100\"\n  ]\n}\n");
}

TEST(OutputTest, YamlQuotesWhatWouldChangeType) {
  auto y = JsonToYaml(R"({"seq":"43","ok":true,"empty":"","word":"yes","hex":"0x10","id":"0.0.0100",)"
                      R"("list":[],"map":{},"n":5,"text":"a: b"})");
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(*y,
            "seq: \"43\"\nok: true\nempty: \"\"\nword: \"yes\"\nhex: \"0x10\"\nid: 0.0.0100\n"
            "list: []\nmap: {}\nn: 5\ntext: \"a: b\"\n");
  EXPECT_EQ(JsonToYaml("{").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ccwpass::ctl
