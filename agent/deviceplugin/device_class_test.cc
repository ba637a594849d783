// Device classes: parsing the class file with exact errors, matching, the
// resource-domain rules, the device IDs.
#include "agent/deviceplugin/device_class.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace ccwpass::agent::deviceplugin {
namespace {

using ::ccwpass::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kFile[] = R"(
classes:
  - name: dasd-3390
    cu_types: ["3990", "2107/e9"]
    dev_types: ["3390"]
    devnos: ["0.0.0100-0.0.01ff", "0.1.0200"]
  - name: tape
    dev_types: ["3590/11"]
)";

TEST(DeviceClassTest, ParsesTheExample) {
  auto c = ParseDeviceClasses(kFile, "classes.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->size(), 2u);
  const DeviceClass& d = (*c)[0];
  EXPECT_EQ(d.name, "dasd-3390");
  ASSERT_EQ(d.cu_types.size(), 2u);
  EXPECT_EQ(d.cu_types[0].type, 0x3990);
  EXPECT_FALSE(d.cu_types[0].model.has_value());
  EXPECT_EQ(d.cu_types[1].type, 0x2107);
  EXPECT_EQ(d.cu_types[1].model, 0xe9);
  ASSERT_EQ(d.devnos.size(), 2u);
  EXPECT_EQ(d.devnos[0].ssid, 0);
  EXPECT_EQ(d.devnos[0].first, 0x0100);
  EXPECT_EQ(d.devnos[0].last, 0x01ff);
  EXPECT_EQ(d.devnos[1].ssid, 1);
  EXPECT_EQ(d.devnos[1].first, 0x0200);
  EXPECT_EQ(d.devnos[1].last, 0x0200);
  EXPECT_EQ((*c)[1].dev_types[0].model, 0x11);
}

TEST(DeviceClassTest, Matches) {
  auto c = ParseDeviceClasses(kFile, "classes.yaml");
  ASSERT_TRUE(c.ok());
  const DeviceClass& d = (*c)[0];
  Candidate s{0, 0x0191, std::make_pair(0x3990, 0xe9), std::make_pair(0x3390, 0x0c)};
  EXPECT_TRUE(Matches(d, s));
  s.devno = 0x0200;  // outside 0.0.0100-0.0.01ff; 0.1.0200 is another subchannel set
  EXPECT_FALSE(Matches(d, s));
  s.ssid = 1;
  EXPECT_TRUE(Matches(d, s));
  s = Candidate{0, 0x0191, std::make_pair(0x2107, 0x01), std::make_pair(0x3390, 0x0c)};
  EXPECT_FALSE(Matches(d, s));  // 2107 only with model e9
  s.cu_type = std::nullopt;     // on vfio_ccw: unknown
  EXPECT_FALSE(Matches(d, s));
  EXPECT_FALSE(Matches(d, Candidate{0, std::nullopt, std::make_pair(0x3990, 0xe9), std::make_pair(0x3390, 0x0c)}));
  EXPECT_TRUE(Matches((*c)[1], Candidate{0, 0x0580, std::nullopt, std::make_pair(0x3590, 0x11)}));
}

TEST(DeviceClassTest, ExactErrors) {
  EXPECT_THAT(ParseDeviceClasses("classes: [", "c.yaml"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("c.yaml: not YAML")));
  EXPECT_THAT(ParseDeviceClasses("class: []", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("c.yaml: expected a map with the key \"classes\"")));
  EXPECT_THAT(ParseDeviceClasses("classes:\n  - name: a\n    cu_type: [\"3990\"]\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("c.yaml: classes[0] (a): unknown key \"cu_type\" (known: name, cu_types, dev_types, devnos)")));
  EXPECT_THAT(ParseDeviceClasses("classes:\n  - name: a\n    cu_types: [\"39x0\"]\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("c.yaml: classes[0] (a): cu_types[0] \"39x0\": not a hex type like 3990 or 3990/e9")));
  EXPECT_THAT(ParseDeviceClasses("classes:\n  - name: a\n    cu_types: \"3990\"\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("classes[0] (a): cu_types: must be a list of strings")));
  EXPECT_THAT(ParseDeviceClasses("classes:\n  - name: a\n    devnos: [\"0.0.0200-0.0.0100\"]\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("devnos[0] \"0.0.0200-0.0.0100\": the range ends before it starts")));
  EXPECT_THAT(ParseDeviceClasses("classes:\n  - name: a\n    devnos: [\"0.0.100\"]\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("devnos[0] \"0.0.100\": ")));
  EXPECT_THAT(ParseDeviceClasses("classes:\n  - name: a\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("classes[0] (a): selects every subchannel: give cu_types, dev_types or devnos")));
  EXPECT_THAT(ParseDeviceClasses("classes:\n  - name: a/b\n    dev_types: [\"3390\"]\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("name \"a/b\" has '/'; only letters, digits, '-', '_' and '.' are allowed")));
  EXPECT_THAT(ParseDeviceClasses("classes:\n  - dev_types: [\"3390\"]\n", "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("c.yaml: classes[0]: name is missing")));
  EXPECT_THAT(ParseDeviceClasses("classes:\n  - {name: a, dev_types: [\"3390\"]}\n  - {name: a, dev_types: [\"3390\"]}\n",
                                 "c.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("classes[1] (a): a class of this name is defined already")));
  EXPECT_THAT(LoadDeviceClasses("/nonexistent/classes.yaml"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("device classes file /nonexistent/classes.yaml: cannot read: No such file or directory")));
}

TEST(DeviceClassTest, ResourceDomain) {
  EXPECT_TRUE(ValidateResourceDomain("ccwpass.io").ok());
  EXPECT_TRUE(ValidateResourceDomain("devices.example-corp.com").ok());
  EXPECT_THAT(ValidateResourceDomain("CCWPASS.io"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("resource domain \"CCWPASS.io\": labels must start and end with a lower-case letter or digit")));
  EXPECT_THAT(ValidateResourceDomain("a..b"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 to 63 characters")));
  EXPECT_THAT(ValidateResourceDomain("x.kubernetes.io"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the kubernetes.io domain is reserved")));
  EXPECT_THAT(ValidateResourceDomain(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is empty")));
}

TEST(DeviceClassTest, DeviceUuidIsStableAndDistinct) {
  const std::string a = DeviceUuid(0, 0x0191);
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a, DeviceUuid(0, 0x0191));
  EXPECT_NE(a, DeviceUuid(0, 0x0192));
  EXPECT_NE(a, DeviceUuid(1, 0x0191));
  EXPECT_EQ(a[14], '5');  // version 5: name-based, SHA-1
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');  // RFC 4122 variant
  // The value itself is a contract: allocated devices keep it across upgrades.
  // Python: uuid.uuid5(uuid.UUID("5c8e2b0e-917a-4f3d-a61c-2f440bd37e19"), "ccw:0.0.0191")
  EXPECT_EQ(a, "42f1d57d-6dbe-5269-8133-b279afa3e29d");
}

TEST(DeviceClassTest, EnvStem) {
  EXPECT_EQ(EnvStem("dasd-3390"), "DASD_3390");
  EXPECT_EQ(EnvStem("tape.3590_x"), "TAPE_3590_X");
}

}  // namespace
}  // namespace ccwpass::agent::deviceplugin
