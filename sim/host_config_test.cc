#include "sim/host_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "testing/status_matchers.h"

namespace ccwpass::sim {
namespace {

using ::ccwpass::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

absl::StatusOr<HostConfig> Parse(const std::string& yaml) { return ParseHostConfig(yaml, "host.yaml", "/hosts"); }

// Two channel paths, 0x15 and 0x16, and then `subchannels`.
std::string WithPaths(const std::string& subchannels) {
  return absl::StrCat("channel_paths:\n  - chpid: 0x15\n  - chpid: 0x16\n", subchannels);
}

// One subchannel entry whose extra keys are `extra` (indented by 4).
std::string OneSubchannel(const std::string& extra) {
  return WithPaths(absl::StrCat("subchannels:\n  - schid: 0.0.0100\n", extra));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::filesystem::path dir = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

TEST(HostConfigTest, ParsesTheTestdataHost) {
  auto config = ParseHostConfig(ReadFile("sim/testdata/host.yaml"), "sim/testdata/host.yaml", "sim/testdata");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->path, "");
  ASSERT_EQ(config->channel_paths.size(), 2u);
  EXPECT_EQ(config->channel_paths[0].chpid, 0x15);
  EXPECT_EQ(config->channel_paths[0].type, 0x1b);
  EXPECT_TRUE(config->channel_paths[0].online);
  EXPECT_TRUE(config->channel_paths[0].shared);
  EXPECT_EQ(config->channel_paths[0].chid, "0110");
  EXPECT_EQ(config->channel_paths[1].chpid, 0x16);
  EXPECT_FALSE(config->channel_paths[1].shared);
  EXPECT_EQ(config->channel_paths[1].chid, "");

  ASSERT_EQ(config->subchannels.size(), 4u);
  const SubchannelConfig& dasd = config->subchannels[0];
  EXPECT_EQ(dasd.schno, 0x0100);
  EXPECT_EQ(dasd.devno, 0xe000);
  EXPECT_THAT(dasd.chpids, ElementsAre(0x15, 0x16, 0, 0, 0, 0, 0, 0));
  EXPECT_EQ(dasd.pim, 0xc0);
  EXPECT_EQ(dasd.pam, 0xc0);
  EXPECT_EQ(dasd.pom, 0xff);
  EXPECT_EQ(dasd.device.kind, DeviceKind::kDasd3390);
  EXPECT_EQ(dasd.device.image, "sim/testdata/dasd0.3390");
  EXPECT_EQ(dasd.device.cylinders, 0u);

  const SubchannelConfig& mem = config->subchannels[1];
  EXPECT_EQ(mem.schno, 0x0101);
  EXPECT_EQ(mem.devno, 0xe001);
  EXPECT_EQ(mem.pim, 0x80);
  EXPECT_TRUE(mem.concurrent_sense);
  EXPECT_EQ(mem.latency_us, 2000u);
  EXPECT_EQ(mem.device.image, "");
  EXPECT_EQ(mem.device.cylinders, 10u);

  const SubchannelConfig& console = config->subchannels[2];
  EXPECT_EQ(console.devno, 0x0009);
  EXPECT_EQ(console.device.kind, DeviceKind::kConsole);
  EXPECT_THAT(console.device.input, ElementsAre("logon operator", "display time"));
  EXPECT_THAT(console.chpids, ElementsAre(0x16, 0, 0, 0, 0, 0, 0, 0));

  const SubchannelConfig& qdio = config->subchannels[3];
  EXPECT_EQ(qdio.schno, 0x0103);
  EXPECT_EQ(qdio.devno, 0xf500);
  EXPECT_TRUE(qdio.qdio);
  EXPECT_TRUE(qdio.has_devno);
  EXPECT_EQ(qdio.device.kind, DeviceKind::kNone);
}

TEST(HostConfigTest, LoadsAFileAndChecksItsImages) {
  const std::string dir = TempDir("load");
  const std::string host = dir + "/host.yaml";
  std::filesystem::copy_file("sim/testdata/host.yaml", host);

  // The image is missing: the error names the file, line and column of `image:`.
  EXPECT_THAT(LoadHostConfig(host),
              StatusIs(kInvalid, Eq(absl::StrCat(host, ":22:14: subchannels[0].device.image: image file ", dir,
                                                 "/dasd0.3390 does not exist (create it with dasdinit; see "
                                                 "docs/host-description.md)"))));
  std::filesystem::create_directory(dir + "/dasd0.3390");
  EXPECT_THAT(LoadHostConfig(host), StatusIs(kInvalid, HasSubstr("dasd0.3390 is not a regular file")));
  std::filesystem::remove(dir + "/dasd0.3390");
  std::ofstream(dir + "/dasd0.3390") << "CKD_P370";

  auto config = LoadHostConfig(host);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->path, host);
  EXPECT_EQ(config->subchannels[0].device.image, dir + "/dasd0.3390");
}

TEST(HostConfigTest, LoadErrorsForTheHostFileItself) {
  const std::string dir = TempDir("load_errors");
  EXPECT_THAT(LoadHostConfig(dir + "/nope.yaml"),
              StatusIs(absl::StatusCode::kNotFound, Eq(absl::StrCat("host description ", dir,
                                                                     "/nope.yaml does not exist"))));
  EXPECT_THAT(LoadHostConfig(dir), StatusIs(kInvalid, HasSubstr("is not a regular file")));
  std::ofstream(dir + "/bad.yaml") << "subchannels:\n  - schid: 0.0.01000\n";
  EXPECT_THAT(LoadHostConfig(dir + "/bad.yaml"),
              StatusIs(kInvalid, HasSubstr(absl::StrCat(dir, "/bad.yaml:2:12: subchannels[0].schid: "))));
}

TEST(HostConfigTest, ParsesEveryKey) {
  auto config = Parse(R"(
channel_paths:
  - chpid: 0x15
    type: 1a
    online: false
    shared: false
    chid: 1f0
  - chpid: 16
subchannels:
  - schid: 0.1.0200
    type: io
    devno: 0.1.E000
    chpids: ["0x16", 15]
    pim: 0xc0
    pam: 0x40
    pom: 0x40
    concurrent_sense: true
    latency_us: 0x10
    device:
      kind: dasd3390
      image: /images/big.3390
      model: 3390-54
      cu_model: "0xc2"
      read_only: true
    faults:
      not_operational: true
      unit_check_sense: "10 00 ab CD"
  - schid: 0.0.0001
    type: 1
  - schid: 0.0.0002
    type: eadm
    devno: none
  - schid: 0.0.0003
    devno: none
    faults: {not_operational: true}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->channel_paths.size(), 2u);
  const ChannelPathConfig& p = config->channel_paths[0];
  EXPECT_EQ(p.chpid, 0x15);
  EXPECT_EQ(p.type, 0x1a);
  EXPECT_FALSE(p.online);
  EXPECT_FALSE(p.shared);
  EXPECT_EQ(p.chid, "01f0");
  EXPECT_EQ(config->channel_paths[1].chpid, 0x16);

  ASSERT_EQ(config->subchannels.size(), 4u);
  // Sorted by (ssid, schno): 0.0.0001, 0.0.0002, 0.0.0003, 0.1.0200.
  const SubchannelConfig& chsc = config->subchannels[0];
  EXPECT_EQ(chsc.schno, 1);
  EXPECT_EQ(chsc.type, 1);
  EXPECT_FALSE(chsc.has_devno);
  EXPECT_EQ(config->subchannels[1].type, 3);
  EXPECT_FALSE(config->subchannels[1].has_devno);
  const SubchannelConfig& nodev = config->subchannels[2];
  EXPECT_EQ(nodev.type, 0);
  EXPECT_FALSE(nodev.has_devno);
  EXPECT_TRUE(nodev.faults.not_operational);
  EXPECT_THAT(nodev.faults.unit_check_sense, IsEmpty());

  const SubchannelConfig& s = config->subchannels[3];
  EXPECT_EQ(s.cssid, 0);
  EXPECT_EQ(s.ssid, 1);
  EXPECT_EQ(s.schno, 0x200);
  EXPECT_EQ(s.type, 0);
  EXPECT_TRUE(s.has_devno);
  EXPECT_EQ(s.devno, 0xe000);
  EXPECT_THAT(s.chpids, ElementsAre(0x16, 0x15, 0, 0, 0, 0, 0, 0));
  EXPECT_EQ(s.pim, 0xc0);
  EXPECT_EQ(s.pam, 0x40);
  EXPECT_EQ(s.pom, 0x40);
  EXPECT_FALSE(s.qdio);
  EXPECT_TRUE(s.concurrent_sense);
  EXPECT_EQ(s.latency_us, 16u);
  EXPECT_EQ(s.device.kind, DeviceKind::kDasd3390);
  EXPECT_EQ(s.device.image, "/images/big.3390");  // absolute: base_dir not applied
  EXPECT_EQ(s.device.cylinders, 0u);
  EXPECT_EQ(s.device.model, "3390-54");
  EXPECT_EQ(s.device.cu_model, 0xc2);
  EXPECT_TRUE(s.device.read_only);
  EXPECT_TRUE(s.faults.not_operational);
  EXPECT_THAT(s.faults.unit_check_sense, ElementsAre(0x10, 0x00, 0xab, 0xcd));
}

TEST(HostConfigTest, Defaults) {
  auto config = Parse("subchannels:\n  - schid: 0.0.0100\n    devno: 0.0.1234\n"
                      "  - schid: 0.0.0101\n    devno: 0.0.1235\n    device: {kind: dasd3390}\n"
                      "channel_paths:\n  - chpid: 0\n");
  ASSERT_TRUE(config.ok()) << config.status();
  const ChannelPathConfig& p = config->channel_paths[0];
  EXPECT_EQ(p.chpid, 0);
  EXPECT_EQ(p.type, 0x1b);
  EXPECT_TRUE(p.online);
  EXPECT_TRUE(p.shared);
  EXPECT_EQ(p.chid, "");

  const SubchannelConfig& s = config->subchannels[0];
  EXPECT_EQ(s.cssid, 0);
  EXPECT_EQ(s.type, 0);
  EXPECT_TRUE(s.has_devno);
  EXPECT_EQ(s.devno, 0x1234);
  EXPECT_THAT(s.chpids, ElementsAre(0, 0, 0, 0, 0, 0, 0, 0));
  EXPECT_EQ(s.pim, 0);
  EXPECT_EQ(s.pam, 0);
  EXPECT_EQ(s.pom, 0xff);
  EXPECT_FALSE(s.qdio);
  EXPECT_FALSE(s.concurrent_sense);
  EXPECT_EQ(s.latency_us, 0u);
  EXPECT_EQ(s.device.kind, DeviceKind::kNone);
  EXPECT_FALSE(s.faults.not_operational);
  EXPECT_THAT(s.faults.unit_check_sense, IsEmpty());

  const DeviceConfig& d = config->subchannels[1].device;
  EXPECT_EQ(d.kind, DeviceKind::kDasd3390);
  EXPECT_EQ(d.image, "");
  EXPECT_EQ(d.cylinders, 10u);
  EXPECT_EQ(d.model, "");
  EXPECT_EQ(d.cu_model, 0xe9);
  EXPECT_FALSE(d.read_only);
  EXPECT_THAT(d.input, IsEmpty());

  // An empty host: no keys at all is not a host; an empty mapping is.
  auto empty = Parse("{}");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_THAT(empty->channel_paths, IsEmpty());
  EXPECT_THAT(empty->subchannels, IsEmpty());
}

TEST(HostConfigTest, RelativeImagesResolveAgainstBaseDir) {
  const std::string yaml = OneSubchannel("    devno: 0.0.e000\n    device: {kind: dasd3390, image: img/a.3390}\n");
  auto config = ParseHostConfig(yaml, "x", "/srv/hosts");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->subchannels[0].device.image, "/srv/hosts/img/a.3390");
  config = ParseHostConfig(yaml, "x", "");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->subchannels[0].device.image, "img/a.3390");
}

TEST(HostConfigTest, CountExpandsIntoConsecutiveSubchannels) {
  auto config = Parse(WithPaths(R"(subchannels:
  - schid: 0.0.0200
    devno: 0.0.e100
    count: 3
    chpids: [15]
    latency_us: 5
    device: {kind: dasd3390, cylinders: 20}
    faults: {unit_check_sense: "80"}
  - schid: 0.0.0100
    devno: 0.0.e000
    count: 2
    device: {kind: console, input: [hi]}
  - schid: 0.1.0000
    devno: none
    count: 2
)"));
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->subchannels.size(), 7u);
  const uint16_t schnos[] = {0x100, 0x101, 0x200, 0x201, 0x202, 0x0, 0x1};
  const uint16_t devnos[] = {0xe000, 0xe001, 0xe100, 0xe101, 0xe102, 0, 0};
  for (size_t i = 0; i < 7; ++i) {
    const SubchannelConfig& s = config->subchannels[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(s.ssid, i < 5 ? 0 : 1);
    EXPECT_EQ(s.schno, schnos[i]);
    EXPECT_EQ(s.has_devno, i < 5);
    EXPECT_EQ(s.devno, devnos[i]);
  }
  for (size_t i = 2; i < 5; ++i) {
    const SubchannelConfig& s = config->subchannels[i];
    EXPECT_EQ(s.device.kind, DeviceKind::kDasd3390);
    EXPECT_EQ(s.device.cylinders, 20u);
    EXPECT_EQ(s.latency_us, 5u);
    EXPECT_EQ(s.pim, 0x80);
    EXPECT_THAT(s.faults.unit_check_sense, ElementsAre(0x80));
  }
  EXPECT_THAT(config->subchannels[1].device.input, ElementsAre("hi"));
}

TEST(HostConfigTest, AWholeSubchannelSetIsQuick) {
  const std::string yaml = WithPaths(R"(subchannels:
  - schid: 0.0.0000
    devno: 0.0.0000
    count: 65536
    chpids: [0x15, 0x16]
    device: {kind: dasd3390, cylinders: 1}
  - schid: 0.1.0000
    devno: 0.1.0000
    count: 65536
)");
  const auto start = std::chrono::steady_clock::now();
  auto config = Parse(yaml);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->subchannels.size(), 2u * 65536u);
  EXPECT_EQ(config->subchannels[0].schno, 0);
  EXPECT_EQ(config->subchannels[65535].schno, 0xffff);
  EXPECT_EQ(config->subchannels[65535].devno, 0xffff);
  EXPECT_EQ(config->subchannels[65535].pim, 0xc0);
  EXPECT_EQ(config->subchannels[65536].ssid, 1);
  EXPECT_EQ(config->subchannels[65536].schno, 0);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  std::printf("parse + expand of 2 x 65,536 subchannels: %lld ms\n", static_cast<long long>(ms));
  // The target is well under 100 ms for one set; the bound leaves room for a loaded CI machine.
  EXPECT_LT(ms, 1000);
}

struct ErrorCase {
  const char* name;
  std::string yaml;
  std::string message;  // the exact message, or a part of it when `exact` is false
  bool exact = true;
};

class HostConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(HostConfigErrorTest, IsInvalidArgumentWithTheExactMessage) {
  const ErrorCase& c = GetParam();
  auto config = Parse(c.yaml);
  if (c.exact) {
    EXPECT_THAT(config, StatusIs(kInvalid, Eq(c.message))) << c.yaml;
  } else {
    EXPECT_THAT(config, StatusIs(kInvalid, HasSubstr(c.message))) << c.yaml;
  }
}

// The subchannel lines start at line 5 (after "channel_paths", two paths and
// "subchannels:"); the first subchannel's "schid" is at 5:5.
const ErrorCase kErrorCases[] = {
    // --- the document ---
    {"YamlSyntax", "subchannels: [\n", "host.yaml:2:1: (top level): YAML syntax error: ", false},
    {"EmptyDocument", "", "host.yaml:1:1: (top level): empty document: expected a mapping with keys channel_paths, "
                          "subchannels"},
    {"TwoDocuments", "subchannels: []\n---\nsubchannels: []\n",
     "host.yaml:2:1: (top level): a host description is one YAML document, found a second one"},
    // yaml-cpp's LoadAll never returns on this one (the fuzzer found it).
    {"StuckParser", ",s", "host.yaml:1:1: (top level): YAML syntax error: unexpected ','"},
    {"TrailingComma", "subchannels: []\n,", "host.yaml:2:1: (top level): YAML syntax error: end of map not found"},
    {"TopLevelNotMap", "- 1\n",
     "host.yaml:1:1: (top level): expected a mapping with keys channel_paths, subchannels; got a sequence"},
    {"UnknownTopKey", "subchanels: []\n",
     "host.yaml:1:1: subchanels: unknown key (expected channel_paths, subchannels)"},
    {"RepeatedKey", "subchannels: []\nsubchannels: []\n",
     "host.yaml:2:1: subchannels: the key appears twice in this mapping"},
    {"SubchannelsNotList", "subchannels: {}\n",
     "host.yaml:1:14: subchannels: expected a sequence of subchannels, got a mapping"},
    // --- channel paths ---
    {"ChannelPathWithoutChpid", "channel_paths:\n  - type: 1b\n",
     "host.yaml:2:5: channel_paths[0]: chpid is required (a hex CHPID like 0x15)"},
    {"ChannelPathUnknownKey", "channel_paths:\n  - {chpid: 1, status: online}\n",
     "host.yaml:2:16: channel_paths[0].status: unknown key (expected chpid, type, online, shared, chid)"},
    {"DuplicateChannelPath", "channel_paths:\n  - chpid: 0x15\n  - chpid: 15\n",
     "host.yaml:3:5: channel_paths[1].chpid: CHPID 0x15 is already defined by channel_paths[0]"},
    {"BadHexChpid", "channel_paths:\n  - chpid: 0x1g\n",
     "host.yaml:2:12: channel_paths[0].chpid: \"0x1g\" is not a hex number 00..ff (1 to 2 hex digits, optional 0x "
     "prefix)"},
    {"ChpidTooLarge", "channel_paths:\n  - chpid: 0x100\n", "\"0x100\" is not a hex number 00..ff", false},
    {"ChpidNegative", "channel_paths:\n  - chpid: -1\n", "\"-1\" is not a hex number 00..ff", false},
    {"ChidTooLong", "channel_paths:\n  - {chpid: 1, chid: 12345}\n",
     "channel_paths[0].chid: \"12345\" is not a hex number 0000..ffff (1 to 4 hex digits", false},
    {"OnlineNotBool", "channel_paths:\n  - {chpid: 1, online: yes}\n",
     "host.yaml:2:24: channel_paths[0].online: expected true or false, got \"yes\""},
    // --- schid, type, devno ---
    {"MissingSchid", WithPaths("subchannels:\n  - devno: 0.0.0001\n"),
     "host.yaml:5:5: subchannels[0]: schid is required (like 0.0.0100)"},
    {"BadSchid", OneSubchannel("").replace(OneSubchannel("").find("0.0.0100"), 8, "0.0.100"),
     "host.yaml:5:12: subchannels[0].schid: \"0.0.100\": the device or subchannel number must be 4 hex digits "
     "(expected 0.<ssid>.<4 hex digits>, like 0.0.0100)"},
    {"SsidTooLarge", WithPaths("subchannels:\n  - {schid: 0.4.0100, devno: 0.4.0100}\n"),
     "host.yaml:5:13: subchannels[0].schid: \"0.4.0100\": subchannel-set ID 4 is out of range 0..3"},
    {"SchidNotScalar", WithPaths("subchannels:\n  - schid: [0]\n"),
     "subchannels[0].schid: expected a subchannel ID like 0.0.0100, got a sequence", false},
    {"UnknownSubchannelKey", OneSubchannel("    devno: 0.0.0001\n    lpm: 0x80\n"),
     "host.yaml:7:5: subchannels[0].lpm: unknown key (expected schid, count, type, devno, chpids, pim, pam, pom, "
     "qdio, concurrent_sense, latency_us, device, faults)"},
    {"UnknownType", OneSubchannel("    type: 4\n"),
     "host.yaml:6:11: subchannels[0].type: unknown subchannel type \"4\" (expected io, chsc, message, eadm or 0..3)"},
    {"DevnoRequired", OneSubchannel("    chpids: [15]\n"),
     "host.yaml:5:5: subchannels[0]: devno is required for an I/O subchannel (a device bus ID like 0.0.e000, or "
     "none)"},
    {"BadDevno", OneSubchannel("    devno: e000\n"),
     "host.yaml:6:12: subchannels[0].devno: \"e000\": not three fields separated by dots (expected "
     "0.<ssid>.<4 hex digits>, like 0.0.0100)"},
    {"DevnoInAnotherSet", OneSubchannel("    devno: 0.1.e000\n"),
     "host.yaml:6:12: subchannels[0].devno: device number 0.1.e000 is in subchannel set 1, but subchannel 0.0.0100 "
     "is in set 0 (a device number belongs to its subchannel's set)"},
    {"DevnoOnChsc", OneSubchannel("    type: chsc\n    devno: 0.0.0001\n"),
     "host.yaml:7:12: subchannels[0].devno: a chsc subchannel has no device number (only type io has one): write "
     "none or leave devno out"},
    // --- chpids and masks ---
    {"ChpidNotDefined", OneSubchannel("    devno: 0.0.0001\n    chpids: [0x15, 0x16, 0x17]\n"),
     "host.yaml:7:26: subchannels[0].chpids[2]: CHPID 0x17 is not in channel_paths (defined: 15, 16)"},
    {"ChpidNoPaths", "subchannels:\n  - {schid: 0.0.0100, devno: 0.0.0001, chpids: [1]}\n",
     "subchannels[0].chpids[0]: CHPID 0x01 is not in channel_paths (none defined)", false},
    {"NineChpids", OneSubchannel("    devno: 0.0.0001\n    chpids: [15, 16, 15, 16, 15, 16, 15, 16, 15]\n"),
     "host.yaml:7:13: subchannels[0].chpids: 9 CHPIDs listed: a subchannel has at most 8 (PMCW CHPID 0..7)"},
    {"ChpidTwice", OneSubchannel("    devno: 0.0.0001\n    chpids: [15, 16, 0x15]\n"),
     "host.yaml:7:22: subchannels[0].chpids[2]: CHPID 0x15 is already in slot 0"},
    {"ChpidsNotList", OneSubchannel("    devno: 0.0.0001\n    chpids: 15\n"),
     "subchannels[0].chpids: expected a sequence of up to 8 hex CHPIDs like [0x15, 0x16], got \"15\"", false},
    {"PimBitWithoutChpid", OneSubchannel("    devno: 0.0.0001\n    chpids: [15]\n    pim: 0xc0\n"),
     "host.yaml:8:10: subchannels[0].pim: 0xc0 has bit 0x40 for slot 1, which has no CHPID (chpids lists 1)"},
    {"PamBitWithoutChpid", OneSubchannel("    devno: 0.0.0001\n    chpids: [15, 16]\n    pam: 0xe0\n"),
     "host.yaml:8:10: subchannels[0].pam: 0xe0 has bit 0x20 for slot 2, which has no CHPID (chpids lists 2)"},
    {"PomBitWithoutChpid", OneSubchannel("    devno: 0.0.0001\n    pom: 0x01\n"),
     "host.yaml:7:10: subchannels[0].pom: 0x01 has bit 0x01 for slot 7, which has no CHPID (chpids lists 0)"},
    {"PamOutsidePim", OneSubchannel("    devno: 0.0.0001\n    chpids: [15, 16]\n    pim: 0x80\n    pam: 0xc0\n"),
     "host.yaml:9:10: subchannels[0].pam: 0xc0 has bit 0x40, which the pim 0x80 lacks (an available path must be "
     "installed)"},
    {"MaskBadHex", OneSubchannel("    devno: 0.0.0001\n    pim: 0xzz\n"),
     "subchannels[0].pim: \"0xzz\" is not a hex number 00..ff", false},
    // --- numbers ---
    {"LatencyTooLarge", OneSubchannel("    devno: 0.0.0001\n    latency_us: 10000001\n"),
     "host.yaml:7:17: subchannels[0].latency_us: \"10000001\" is out of range 0..10000000 (at most 10 s)"},
    {"LatencyNegative", OneSubchannel("    devno: 0.0.0001\n    latency_us: -5\n"),
     "host.yaml:7:17: subchannels[0].latency_us: \"-5\" is negative: expected a number in 0..10000000 (at most 10 "
     "s)"},
    {"LatencyNotNumber", OneSubchannel("    devno: 0.0.0001\n    latency_us: 5ms\n"),
     "subchannels[0].latency_us: \"5ms\" is not a number: expected decimal digits (or 0x and hex digits) in "
     "0..10000000 (at most 10 s)",
     false},
    {"LatencyHuge", OneSubchannel("    devno: 0.0.0001\n    latency_us: 99999999999999999999999\n"),
     "\"99999999999999999999999\" is out of range 0..10000000", false},
    {"CountZero", OneSubchannel("    devno: 0.0.0001\n    count: 0\n"),
     "host.yaml:7:12: subchannels[0].count: \"0\" is out of range 1..65536"},
    {"CountTooLarge", OneSubchannel("    devno: 0.0.0001\n    count: 65537\n"),
     "subchannels[0].count: \"65537\" is out of range 1..65536", false},
    {"CylindersTooMany", OneSubchannel("    devno: 0.0.0001\n    device: {kind: dasd3390, cylinders: 65521}\n"),
     "host.yaml:7:41: subchannels[0].device.cylinders: \"65521\" is out of range 1..65520 (a 3390-54)"},
    {"CylindersZero", OneSubchannel("    devno: 0.0.0001\n    device: {kind: dasd3390, cylinders: 0}\n"),
     "subchannels[0].device.cylinders: \"0\" is out of range 1..65520", false},
    // --- count overflow ---
    {"SchnoOverflow", WithPaths("subchannels:\n  - {schid: 0.0.ff00, devno: 0.0.0000, count: 257}\n"),
     "host.yaml:5:47: subchannels[0].count: 257 subchannels from 0.0.ff00 run past 0.0.ffff (at most 256 fit)"},
    {"DevnoOverflow", WithPaths("subchannels:\n  - {schid: 0.0.0000, devno: 0.0.fffe, count: 3}\n"),
     "host.yaml:5:47: subchannels[0].count: 3 device numbers from 0.0.fffe run past 0.0.ffff (at most 2 fit)"},
    // --- duplicates ---
    {"DuplicateSchid",
     WithPaths("subchannels:\n  - {schid: 0.0.0100, devno: 0.0.0001}\n  - {schid: 0.0.0100, devno: 0.0.0002}\n"),
     "host.yaml:6:13: subchannels[1].schid: schid 0.0.0100 is already defined by subchannels[0]"},
    {"DuplicateSchidByCount",
     WithPaths("subchannels:\n  - {schid: 0.0.0100, devno: 0.0.0001, count: 4}\n"
               "  - {schid: 0.0.0200, devno: 0.0.0100}\n"
               "  - {schid: 0.0.0102, devno: 0.0.0010, count: 2}\n"),
     "host.yaml:7:13: subchannels[2].schid: schid 0.0.0102 (from count 2) is already defined by subchannels[0] "
     "(count 4 from 0.0.0100)"},
    {"DuplicateSchidNotOtherSet",
     WithPaths("subchannels:\n  - {schid: 0.0.0100, devno: 0.0.0001}\n  - {schid: 0.1.0100, devno: 0.1.0001}\n"
               "  - {schid: 0.0.0100, devno: 0.0.0003}\n"),
     "host.yaml:7:13: subchannels[2].schid: schid 0.0.0100 is already defined by subchannels[0]"},
    {"DuplicateDevno",
     WithPaths("subchannels:\n  - {schid: 0.0.0100, devno: 0.0.e000, count: 2}\n"
               "  - {schid: 0.0.0200, devno: 0.0.e001}\n"),
     "host.yaml:6:30: subchannels[1].devno: device number 0.0.e001 is already used by subchannels[0] (count 2 "
     "from 0.0.0100) (schid 0.0.0101)"},
    // --- devices ---
    {"DeviceWithoutKind", OneSubchannel("    devno: 0.0.0001\n    device: {image: a}\n"),
     "host.yaml:7:13: subchannels[0].device: kind is required (none, dasd3390 or console)"},
    {"UnknownKind", OneSubchannel("    devno: 0.0.0001\n    device: {kind: tape3480}\n"),
     "host.yaml:7:20: subchannels[0].device.kind: unknown device kind \"tape3480\" (expected none, dasd3390 or "
     "console)"},
    {"KeyOfOtherKind", OneSubchannel("    devno: 0.0.0001\n    device: {kind: console, image: a}\n"),
     "host.yaml:7:36: subchannels[0].device.image: not a key of kind console (its keys: kind, input)"},
    {"UnknownDeviceKey", OneSubchannel("    devno: 0.0.0001\n    device: {kind: dasd3390, volser: X}\n"),
     "subchannels[0].device.volser: unknown key (expected kind, image, cylinders, model, cu_model, read_only, "
     "input)",
     false},
    {"ImageWithCount", OneSubchannel("    devno: 0.0.0001\n    count: 2\n    device: {kind: dasd3390, image: a}\n"),
     "host.yaml:8:37: subchannels[0].device.image: an image file serves one device: with count 2, leave image out "
     "(each device gets an in-memory image)"},
    {"EmptyImage", OneSubchannel("    devno: 0.0.0001\n    device: {kind: dasd3390, image: \"\"}\n"),
     "subchannels[0].device.image: empty path (leave image out for an in-memory image)", false},
    {"CylindersWithImage", OneSubchannel("    devno: 0.0.0001\n    device: {kind: dasd3390, image: a, cylinders: 5}\n"),
     "subchannels[0].device.cylinders: only for in-memory images: an image file has its own size (leave cylinders "
     "out)",
     false},
    {"UnknownCuModel", OneSubchannel("    devno: 0.0.0001\n    device: {kind: dasd3390, cu_model: 0x12}\n"),
     "host.yaml:7:40: subchannels[0].device.cu_model: 0x12 is not a 3990 model the simulated DASD has (expected c2, "
     "e9 or ec)"},
    {"UnknownModel", OneSubchannel("    devno: 0.0.0001\n    device: {kind: dasd3390, model: 3390-4}\n"),
     "subchannels[0].device.model: \"3390-4\" is not a 3390 model (expected 3390-1, 3390-2, 3390-3, 3390-9, "
     "3390-27 or 3390-54)",
     false},
    {"ModelTooSmall", OneSubchannel("    devno: 0.0.0001\n    device: {kind: dasd3390, cylinders: 2000, model: 3390-1}\n"),
     "subchannels[0].device.model: 2000 cylinders do not fit a 3390-1 (1113 cylinders)", false},
    {"DeviceOnChsc", OneSubchannel("    type: chsc\n    device: {kind: console}\n"),
     "host.yaml:7:13: subchannels[0].device: a chsc subchannel has no device (only type io has one): leave device "
     "out"},
    {"DeviceWithoutDevno", OneSubchannel("    devno: none\n    device: {kind: console}\n"),
     "host.yaml:7:13: subchannels[0].device: a device needs a device number, but devno is none"},
    {"QdioWithDevice", OneSubchannel("    devno: 0.0.0001\n    qdio: true\n    device: {kind: dasd3390}\n"),
     "host.yaml:8:13: subchannels[0].device.kind: a QDIO subchannel has no device model here: the simulator does "
     "not model QDIO devices, the subchannel stands for one that vfio_ccw refuses (use kind none)"},
    {"QdioOnEadm", OneSubchannel("    type: eadm\n    qdio: true\n"),
     "host.yaml:7:11: subchannels[0].qdio: a eadm subchannel cannot be QDIO (only type io)"},
    {"ConsoleInputNotAscii", OneSubchannel("    devno: 0.0.0001\n    device: {kind: console, input: [ok, \"caf\xc3\xa9\"]}\n"),
     "host.yaml:7:41: subchannels[0].device.input[1]: '\\xc3' at offset 3 is not printable ASCII (a console line is "
     "0x20..0x7e)"},
    {"ConsoleInputNotList", OneSubchannel("    devno: 0.0.0001\n    device: {kind: console, input: hello}\n"),
     "subchannels[0].device.input: expected a sequence of lines, got \"hello\"", false},
    {"ConsoleInputNull", OneSubchannel("    devno: 0.0.0001\n    device: {kind: console, input: [~]}\n"),
     "subchannels[0].device.input[0]: expected a line of text, got nothing (null)", false},
    // --- faults ---
    {"UnknownFault", OneSubchannel("    devno: 0.0.0001\n    faults: {slow: true}\n"),
     "host.yaml:7:14: subchannels[0].faults.slow: unknown key (expected not_operational, unit_check_sense)"},
    {"SenseBadHex", OneSubchannel("    devno: 0.0.0001\n    device: {kind: console}\n    faults: {unit_check_sense: 0x80}\n"),
     "host.yaml:8:32: subchannels[0].faults.unit_check_sense: 'x' at offset 1 is not a hex digit (sense bytes are "
     "pairs of 0-9, a-f, A-F, spaces allowed, no 0x)"},
    {"SenseOdd", OneSubchannel("    devno: 0.0.0001\n    device: {kind: console}\n    faults: {unit_check_sense: 801}\n"),
     "subchannels[0].faults.unit_check_sense: odd number of hex digits (3): each byte takes two", false},
    {"SenseTooLong",
     OneSubchannel(absl::StrCat("    devno: 0.0.0001\n    device: {kind: console}\n    faults: {unit_check_sense: \"",
                                std::string(66, '0'), "\"}\n")),
     "subchannels[0].faults.unit_check_sense: 33 bytes: expected 1 to 32 sense bytes", false},
    {"SenseEmpty", OneSubchannel("    devno: 0.0.0001\n    device: {kind: console}\n    faults: {unit_check_sense: \"\"}\n"),
     "subchannels[0].faults.unit_check_sense: 0 bytes: expected 1 to 32 sense bytes", false},
    {"SenseWithoutDevice", OneSubchannel("    devno: 0.0.0001\n    faults: {unit_check_sense: \"80\"}\n"),
     "host.yaml:7:13: subchannels[0].faults.unit_check_sense: a unit check comes from a device, and this subchannel "
     "has none (device.kind is none)"},
};

INSTANTIATE_TEST_SUITE_P(All, HostConfigErrorTest, ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

TEST(HostConfigTest, SourceIsOptionalInMessages) {
  EXPECT_THAT(ParseHostConfig("x: 1\n", "", ""),
              StatusIs(kInvalid, Eq("1:1: x: unknown key (expected channel_paths, subchannels)")));
}

TEST(HostConfigTest, Dasd3390Models) {
  EXPECT_EQ(Dasd3390ModelCylinders("3390-1"), 1113u);
  EXPECT_EQ(Dasd3390ModelCylinders("3390-3"), 3339u);
  EXPECT_EQ(Dasd3390ModelCylinders("3390-54"), 65520u);
  EXPECT_EQ(Dasd3390ModelCylinders("3390-4"), std::nullopt);
  EXPECT_EQ(Dasd3390ModelFor(10), "3390-1");
  EXPECT_EQ(Dasd3390ModelFor(1113), "3390-1");
  EXPECT_EQ(Dasd3390ModelFor(1114), "3390-2");
  EXPECT_EQ(Dasd3390ModelFor(3340), "3390-9");
  EXPECT_EQ(Dasd3390ModelFor(65520), "3390-54");
  EXPECT_EQ(Dasd3390ModelFor(65521), std::nullopt);
}

}  // namespace
}  // namespace ccwpass::sim
