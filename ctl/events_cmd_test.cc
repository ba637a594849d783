// `ccwctl events` against the fake agent, which pushes three events and ends
// the stream (or holds it open): exact lines in table, JSON Lines and YAML
// modes, filters, --for and --watch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "ctl/exit_codes.h"
#include "ctl/testing/fake_agent.h"
#include "ctl/testing/run_cli.h"

namespace ccwpass::ctl {
namespace {

using ::testing::ElementsAre;
using testing::Outcome;

constexpr char kTable[] =
    "2024-05-01T12:00:01Z  #41  hotplug  0.0.0101  0.0.0101: bound to vfio_ccw  [css bind]\n"
    "2024-05-01T12:00:01.250Z  #42  attached  0.0.0101  0.0.0101: attached (handoff), mdev "
    "0b5f2c4e-3d1a-4c8e-9f00-000000000101  [attaching -> handed-off]\n"
    "2024-05-01T12:00:02Z  #43  crw  0.0.0100  0.0.0100: channel path 15 lost  [rsc 4 erc 6 rsid 0x15: channel "
    "path 15: permanent error, not initialized (path lost)]\n";

using EventsCmdTest = testing::CliTest;

TEST_F(EventsCmdTest, TableOneLineEach) {
  const Outcome r = Run({"events"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, kTable);
  const auto req = agent_.LastRequest<ccw::v1::WatchRequest>("Watch");
  EXPECT_TRUE(req.kinds().empty());
  EXPECT_TRUE(req.schids().empty());
}

TEST_F(EventsCmdTest, WatchEndsWhenTheAgentEndsTheStream) {
  const Outcome r = Run({"events", "--watch"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, kTable);
}

TEST_F(EventsCmdTest, JsonLines) {
  const Outcome r = Run({"events", "-o", "json"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            R"j({"seq":"41","kind":"HOTPLUG","schid":"0.0.0101","message":"0.0.0101: bound to vfio_ccw","action":"bind",)j"
            R"j("subsystem":"css","state":"SUBCHANNEL_STATE_UNSPECIFIED","previous_state":"SUBCHANNEL_STATE_UNSPECIFIED",)j"
            R"j("dropped":"0","time":"2024-05-01T12:00:01Z"})j"
            "\n"
            R"j({"seq":"42","kind":"ATTACHED","schid":"0.0.0101","message":"0.0.0101: attached (handoff), mdev )j"
            R"j(0b5f2c4e-3d1a-4c8e-9f00-000000000101","action":"","subsystem":"","state":"HANDED_OFF",)j"
            R"j("previous_state":"ATTACHING","dropped":"0","time":"2024-05-01T12:00:01.250Z"})j"
            "\n"
            R"j({"seq":"43","kind":"CRW","schid":"0.0.0100","message":"0.0.0100: channel path 15 lost","action":"",)j"
            R"j("subsystem":"","state":"SUBCHANNEL_STATE_UNSPECIFIED","previous_state":"SUBCHANNEL_STATE_UNSPECIFIED",)j"
            R"j("crw":{"slct":false,"oflw":false,"chn":false,"rsc":4,"anc":false,"erc":6,"rsid":21,)j"
            R"j("text":"channel path 15: permanent error, not initialized (path lost)","raw":67502101},)j"
            R"j("dropped":"0","time":"2024-05-01T12:00:02Z"})j"
            "\n");
}

TEST_F(EventsCmdTest, YamlDocumentsAndFilters) {
  const Outcome r = Run({"events", "-o", "yaml", "--kind", "crw,hotplug", "--schid", "0.0.0100"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "---\n"
            "seq: \"43\"\n"
            "kind: CRW\n"
            "schid: 0.0.0100\n"
            "message: \"0.0.0100: channel path 15 lost\"\n"
            "action: \"\"\n"
            "subsystem: \"\"\n"
            "state: SUBCHANNEL_STATE_UNSPECIFIED\n"
            "previous_state: SUBCHANNEL_STATE_UNSPECIFIED\n"
            "crw:\n"
            "  slct: false\n"
            "  oflw: false\n"
            "  chn: false\n"
            "  rsc: 4\n"
            "  anc: false\n"
            "  erc: 6\n"
            "  rsid: 21\n"
            "  text: \"channel path 15: permanent error, not initialized (path lost)\"\n"
            "  raw: 67502101\n"
            "dropped: \"0\"\n"
            "time: 2024-05-01T12:00:02Z\n");
  const auto req = agent_.LastRequest<ccw::v1::WatchRequest>("Watch");
  EXPECT_THAT(req.kinds(), ElementsAre(ccw::v1::Event::CRW, ccw::v1::Event::HOTPLUG));
  EXPECT_THAT(req.schids(), ElementsAre("0.0.0100"));
}

TEST_F(EventsCmdTest, ForEndsListeningOnAnOpenStream) {
  agent_.HoldEventStreamOpen(true);
  const auto start = std::chrono::steady_clock::now();
  const Outcome r = Run({"events", "--for", "300ms", "--kind", "crw"});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "2024-05-01T12:00:02Z  #43  crw  0.0.0100  0.0.0100: channel path 15 lost  [rsc 4 erc 6 rsid 0x15: "
            "channel path 15: permanent error, not initialized (path lost)]\n");
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(EventsCmdTest, OtherKindsOfEventLines) {
  ccw::v1::Event overflow;
  overflow.set_seq(7);
  overflow.set_kind(ccw::v1::Event::OVERFLOW);
  overflow.set_message("watcher fell behind");
  overflow.set_dropped(12);
  ccw::v1::Event unsolicited;
  unsolicited.set_seq(8);
  unsolicited.set_kind(ccw::v1::Event::UNSOLICITED);
  unsolicited.set_schid("0.0.0100");
  unsolicited.set_message("0.0.0100: unsolicited interruption");
  unsolicited.mutable_irb()->mutable_scsw()->set_dstat(0x80);
  agent_.SetEvents({overflow, unsolicited});
  const Outcome r = Run({"events", "-w"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "1970-01-01T00:00:00Z  #7  overflow  -  watcher fell behind  [12 events dropped]\n"
            "1970-01-01T00:00:00Z  #8  unsolicited  0.0.0100  0.0.0100: unsolicited interruption  "
            "[device status ATTN (0x80), subchannel status - (0x00)]\n");
}

TEST_F(EventsCmdTest, BadFiltersAndFailures) {
  Outcome r = Run({"events", "--kind", "crw,bogus"});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_THAT(r.err, ::testing::HasSubstr("bogus"));
  r = Run({"events", "--schid", "0.0.1"});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_THAT(r.err, ::testing::StartsWith("ccwctl: schid must look like 0.0.0100: "));
  r = Run({"events", "--for", "-1s"});
  EXPECT_EQ(r.code, kExitBadInput);
  agent_.FailNext(grpc::Status(grpc::StatusCode::INTERNAL, "udev monitor failed"));
  r = Run({"events", "--watch"});
  EXPECT_EQ(r.code, kExitRejected);
  EXPECT_EQ(r.err, "ccwctl: udev monitor failed\n");
}

}  // namespace
}  // namespace ccwpass::ctl
