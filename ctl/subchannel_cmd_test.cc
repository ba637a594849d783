// list, get (table/json/yaml/qemu/libvirt), attach, detach and reset run
// in-process against the fake agent: exact output, requests, errors and exit codes.
#include "ctl/subchannel_cmd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "ctl/exit_codes.h"
#include "ctl/testing/fake_agent.h"
#include "ctl/testing/run_cli.h"
#include "nlohmann/json.hpp"

namespace ccwpass::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Outcome;

using SubchannelCmdTest = testing::CliTest;

TEST_F(SubchannelCmdTest, ListIsAnLscssLikeTableWithWhyNot) {
  const Outcome r = Run({"list"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "Device    Subchan.  DevType  CU Type  Use       PIM  PAM  POM  CHPIDs             Driver         mdev UUID    "
            "                         Notes\n"
            "--------------------------------------------------------------------------------------------------------------"
            "------------------------------\n"
            "0.0.e000  0.0.0100  3390/0a  3990/ec  attached  c0   c0   ff   15160000 00000000  vfio_ccw       "
            "7e270a25-e163-4922-af60-757fc8ed48c6\n"
            "0.0.e001  0.0.0101  3390/0a  3990/ec  detached  c0   c0   ff   15160000 00000000  io_subchannel  -\n"
            "0.0.f500  0.0.0200  1732/01  1731/01  detached  80   80   ff   30000000 00000000  io_subchannel  -          "
            "                           QDIO subchannel: vfio_ccw refuses QDIO\n");
  EXPECT_THAT(agent_.Calls(), ElementsAre("ListSubchannels"));
}

TEST_F(SubchannelCmdTest, ListFiltersGoToTheAgent) {
  const Outcome r = Run({"list", "--attached", "--io", "--cu", "3990", "--driver", "vfio_ccw", "--state", "attached"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "Device    Subchan.  DevType  CU Type  Use       PIM  PAM  POM  CHPIDs             Driver    mdev UUID\n"
            "-----------------------------------------------------------------------------------------------------\n"
            "0.0.e000  0.0.0100  3390/0a  3990/ec  attached  c0   c0   ff   15160000 00000000  vfio_ccw  "
            "7e270a25-e163-4922-af60-757fc8ed48c6\n");
  const auto req = agent_.LastRequest<ccw::v1::ListSubchannelsRequest>("ListSubchannels");
  EXPECT_TRUE(req.attached_only());
  EXPECT_TRUE(req.io_only());
  EXPECT_EQ(req.cu_type_prefix(), "3990");
  EXPECT_EQ(req.driver(), "vfio_ccw");
  EXPECT_EQ(req.state(), ccw::v1::ATTACHED);
}

TEST_F(SubchannelCmdTest, ListWithNoMatch) {
  const Outcome r = Run({"list", "--state", "foreign"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "Device  Subchan.  DevType  CU Type  Use  PIM  PAM  POM  CHPIDs  Driver  mdev UUID\n"
            "---------------------------------------------------------------------------------\n"
            "(no subchannels match)\n");
  EXPECT_EQ(Run({"list", "--state", "bound"}).code, kExitBadInput);
}

TEST_F(SubchannelCmdTest, ListJsonIsTheResponseMessage) {
  const Outcome r = Run({"list", "-o", "json"});
  EXPECT_EQ(r.code, kExitOk);
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["subchannels"].size(), 3u);
  const auto& a = j["subchannels"][0];
  EXPECT_EQ(a["schid"], "0.0.0100");
  EXPECT_EQ(a["state"], "ATTACHED");
  EXPECT_EQ(a["mode"], "ATTACH_MODE_AGENT");
  EXPECT_EQ(a["chpids"], nlohmann::json({21, 22, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(a["attached_at"], "2024-05-01T12:00:00Z");
  // Defaults are printed too: scripts never miss a key.
  EXPECT_EQ(j["subchannels"][1]["mdev_uuid"], "");
  EXPECT_FALSE(j["subchannels"][1].contains("iommu_group"));  // optional: unset without an mdev
  EXPECT_EQ(j["subchannels"][2]["unavailable_reason"], "QDIO subchannel: vfio_ccw refuses QDIO");
  EXPECT_THAT(r.out, HasSubstr("\n  \"subchannels\": [\n    {\n      \"schid\": \"0.0.0100\",\n"));
}

TEST_F(SubchannelCmdTest, GetTables) {
  Outcome r = Run({"get", "0.0.0100"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "Subchannel:    0.0.0100\n"
            "Device:        0.0.e000\n"
            "Type:          0 (I/O)\n"
            "CU type:       3990/ec\n"
            "Device type:   3390/0a\n"
            "State:         attached (agent mode)\n"
            "Driver:        vfio_ccw\n"
            "mdev UUID:     7e270a25-e163-4922-af60-757fc8ed48c6\n"
            "IOMMU group:   3\n"
            "PIM PAM POM:   c0 c0 ff\n"
            "CHPIDs:        15160000 00000000\n"
            "QDIO:          no\n"
            "FSM state:     IDLE\n"
            "Capabilities:  async-region schib-region crw-region crw-irq req-irq\n"
            "Attached at:   2024-05-01T12:00:00Z\n"
            "Owner:         uid 0 (root)\n");
  r = Run({"get", "0.0.0101"});
  EXPECT_EQ(r.out,
            "Subchannel:    0.0.0101\n"
            "Device:        0.0.e001\n"
            "Type:          0 (I/O)\n"
            "CU type:       3990/ec\n"
            "Device type:   3390/0a\n"
            "State:         detached\n"
            "Driver:        io_subchannel\n"
            "PIM PAM POM:   c0 c0 ff\n"
            "CHPIDs:        15160000 00000000\n"
            "QDIO:          no\n"
            "Availability:  good\n"
            "Online:        no\n");
  r = Run({"get", "0.0.0200"});
  EXPECT_EQ(r.out,
            "Subchannel:     0.0.0200\n"
            "Device:         0.0.f500\n"
            "Type:           0 (I/O)\n"
            "CU type:        1731/01\n"
            "Device type:    1732/01\n"
            "State:          detached\n"
            "Driver:         io_subchannel\n"
            "PIM PAM POM:    80 80 ff\n"
            "CHPIDs:         30000000 00000000\n"
            "QDIO:           yes\n"
            "Availability:   good\n"
            "Online:         yes\n"
            "Cannot attach:  QDIO subchannel: vfio_ccw refuses QDIO\n");
  EXPECT_EQ(agent_.LastRequest<ccw::v1::GetSubchannelRequest>("GetSubchannel").schid(), "0.0.0200");
}

constexpr char kQdioJson[] = R"({
  "schid": "0.0.0200",
  "type": 0,
  "devno": "0.0.f500",
  "cu_type": "1731/01",
  "dev_type": "1732/01",
  "chpids": [
    48,
    0,
    0,
    0,
    0,
    0,
    0,
    0
  ],
  "pim": 128,
  "pam": 128,
  "pom": 255,
  "driver": "io_subchannel",
  "mdev_uuid": "",
  "qdio": true,
  "state": "DETACHED",
  "mode": "ATTACH_MODE_UNSPECIFIED",
  "unavailable_reason": "QDIO subchannel: vfio_ccw refuses QDIO",
  "fsm_state": "FSM_STATE_UNSPECIFIED",
  "availability": "good",
  "online": true,
  "owner": ""
}
)";

constexpr char kQdioYaml[] = R"(schid: 0.0.0200
type: 0
devno: 0.0.f500
cu_type: 1731/01
dev_type: 1732/01
chpids:
  - 48
  - 0
  - 0
  - 0
  - 0
  - 0
  - 0
  - 0
pim: 128
pam: 128
pom: 255
driver: io_subchannel
mdev_uuid: ""
qdio: true
state: DETACHED
mode: ATTACH_MODE_UNSPECIFIED
unavailable_reason: "QDIO subchannel: vfio_ccw refuses QDIO"
fsm_state: FSM_STATE_UNSPECIFIED
availability: good
online: true
owner: ""
)";

TEST_F(SubchannelCmdTest, GetJsonAndYaml) {
  Outcome r = Run({"get", "0.0.0200", "-o", "json"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, kQdioJson);
  r = Run({"get", "0.0.0200", "--output", "yaml"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, kQdioYaml);
}

TEST_F(SubchannelCmdTest, GetQemuAndLibvirtOfAHandedOffSubchannel) {
  ASSERT_EQ(Run({"attach", "0.0.0101", "--handoff"}).code, kExitOk);
  Outcome r = Run({"get", "0.0.0101", "-o", "qemu"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "-device vfio-ccw,sysfsdev=/sys/bus/mdev/devices/0b5f2c4e-3d1a-4c8e-9f00-000000000101,devno=fe.0.e001\n");
  r = Run({"get", "0.0.0101", "-o", "qemu", "--sysfs-root", "/host/sys/"});
  EXPECT_EQ(r.out,
            "-device vfio-ccw,sysfsdev=/host/sys/bus/mdev/devices/0b5f2c4e-3d1a-4c8e-9f00-000000000101,devno=fe.0.e001\n");
  r = Run({"get", "0.0.0101", "-o", "libvirt"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "<hostdev mode='subsystem' type='mdev' model='vfio-ccw'>\n"
            "  <source>\n"
            "    <address uuid='0b5f2c4e-3d1a-4c8e-9f00-000000000101'/>\n"
            "  </source>\n"
            "  <address type='ccw' cssid='0xfe' ssid='0x0' devno='0xe001'/>\n"
            "</hostdev>\n");
}

TEST_F(SubchannelCmdTest, GetQemuWarnsForAnAgentModeSubchannel) {
  const Outcome r = Run({"get", "0.0.0100", "-o", "qemu"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "-device vfio-ccw,sysfsdev=/sys/bus/mdev/devices/7e270a25-e163-4922-af60-757fc8ed48c6,devno=fe.0.e000\n");
  EXPECT_EQ(r.err,
            "ccwctl: warning: 0.0.0100 is attached in agent mode: the agent holds its VFIO device open and a VM "
            "cannot open it; for a VM: ccwctl detach 0.0.0100 && ccwctl attach 0.0.0100 --handoff\n");
}

TEST_F(SubchannelCmdTest, QemuAndLibvirtRefuseASubchannelWithoutMdev) {
  for (const char* format : {"qemu", "libvirt"}) {
    const Outcome r = Run({"get", "0.0.0101", "-o", format});
    EXPECT_EQ(r.code, kExitRejected);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err,
              "ccwctl: 0.0.0101 has no mdev (state detached): attach it for a VM first: ccwctl attach 0.0.0101 "
              "--handoff\n");
  }
}

TEST_F(SubchannelCmdTest, QemuArgumentForOtherSubchannelSets) {
  ccw::v1::Subchannel s;
  s.set_schid("0.1.0004");
  s.set_devno("0.1.00ff");
  s.set_mdev_uuid("u");
  auto arg = QemuDeviceArg(s, "/");
  ASSERT_TRUE(arg.ok());
  EXPECT_EQ(*arg, "-device vfio-ccw,sysfsdev=/bus/mdev/devices/u,devno=fe.1.00ff\n");
  s.clear_devno();
  EXPECT_EQ(LibvirtHostdev(s).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SubchannelCmdTest, UnknownAndMalformedSchids) {
  Outcome r = Run({"get", "0.0.0199"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_EQ(r.err, "ccwctl: no subchannel 0.0.0199 (ccwctl list shows them)\n");
  r = Run({"get", "0.0.10"});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_EQ(r.err,
            "ccwctl: schid must look like 0.0.0100: \"0.0.10\": the device or subchannel number must be 4 hex digits "
            "(expected 0.<ssid>.<4 hex digits>, like 0.0.0100)\n");
  // Nothing was sent for the malformed one.
  EXPECT_THAT(agent_.Calls(), ElementsAre("GetSubchannel 0.0.0199"));
  // Upper-case hex is accepted and sent in canonical form.
  EXPECT_EQ(Run({"get", "0.0.010A"}).code, kExitNotFound);
  EXPECT_EQ(agent_.LastRequest<ccw::v1::GetSubchannelRequest>("GetSubchannel").schid(), "0.0.010a");
  r = Run({"get"});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_THAT(r.err, HasSubstr("SCHID is required"));
}

TEST_F(SubchannelCmdTest, AttachAgentAndHandoff) {
  Outcome r = Run({"attach", "0.0.0101"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "0.0.0101: attached (agent mode), mdev 0b5f2c4e-3d1a-4c8e-9f00-000000000101\n");
  auto req = agent_.LastRequest<ccw::v1::AttachRequest>("Attach");
  EXPECT_EQ(req.mode(), ccw::v1::ATTACH_MODE_AGENT);
  EXPECT_EQ(req.mdev_uuid(), "");
  r = Run({"attach", "0.0.0101", "--handoff"});
  EXPECT_EQ(r.out, "0.0.0101: already attached (agent mode), mdev 0b5f2c4e-3d1a-4c8e-9f00-000000000101\n");
  ASSERT_EQ(Run({"detach", "0.0.0101"}).code, kExitOk);
  r = Run({"attach", "0.0.0101", "--handoff", "--uuid", "11111111-2222-3333-4444-55555555AAAA"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "0.0.0101: attached (handoff mode), mdev 11111111-2222-3333-4444-55555555aaaa\n"
            "for a VM: ccwctl get 0.0.0101 -o qemu (or -o libvirt)\n");
  req = agent_.LastRequest<ccw::v1::AttachRequest>("Attach");
  EXPECT_EQ(req.mode(), ccw::v1::ATTACH_MODE_HANDOFF);
  EXPECT_EQ(req.mdev_uuid(), "11111111-2222-3333-4444-55555555aaaa");
}

TEST_F(SubchannelCmdTest, AttachJson) {
  const Outcome r = Run({"attach", "0.0.0100", "-o", "json"});
  EXPECT_EQ(r.code, kExitOk);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["already_attached"], true);
  EXPECT_EQ(j["subchannel"]["schid"], "0.0.0100");
}

TEST_F(SubchannelCmdTest, AttachRefusals) {
  Outcome r = Run({"attach", "0.0.0200"});
  EXPECT_EQ(r.code, kExitRejected);
  EXPECT_EQ(r.err, "ccwctl: 0.0.0200: cannot attach: QDIO subchannel: vfio_ccw refuses QDIO\n");
  r = Run({"attach", "0.0.0101", "--uuid", "not-a-uuid"});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_EQ(r.err, "ccwctl: --uuid must look like 7e270a25-e163-4922-af60-757fc8ed48c6, not \"not-a-uuid\"\n");
  r = Run({"attach", "0.0.0199"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_EQ(r.err, "ccwctl: no subchannel 0.0.0199 (ccwctl list shows them)\n");
}

TEST_F(SubchannelCmdTest, DetachIsIdempotentAndForwardsForce) {
  Outcome r = Run({"detach", "0.0.0100", "--force"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "0.0.0100: detached, driver io_subchannel\n");
  EXPECT_TRUE(agent_.LastRequest<ccw::v1::DetachRequest>("Detach").force());
  r = Run({"detach", "0.0.0100"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "0.0.0100: already detached, driver io_subchannel\n");
  EXPECT_FALSE(agent_.LastRequest<ccw::v1::DetachRequest>("Detach").force());
  r = Run({"detach", "0.0.0100", "-o", "yaml"});
  EXPECT_THAT(r.out, HasSubstr("already_detached: true\n"));
}

TEST_F(SubchannelCmdTest, Reset) {
  Outcome r = Run({"reset", "0.0.0100"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "0.0.0100: reset; FSM state IDLE\n");
  r = Run({"reset", "0.0.0101"});
  EXPECT_EQ(r.code, kExitRejected);
  EXPECT_EQ(r.err,
            "ccwctl: 0.0.0101: reset needs an agent-mode attach (state DETACHED)\n"
            "this needs the subchannel attached in agent mode: ccwctl attach 0.0.0101 (a handed-off one: ccwctl "
            "detach 0.0.0101 first)\n");
}

}  // namespace
}  // namespace ccwpass::ctl
