#include "agent/state/state_store.h"

#include <cstdlib>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace ccwpass::agent {
namespace {

using ::ccwpass::testing::StatusIs;
using ::testing::HasSubstr;

std::string TempDir(const char* name) {
  const char* t = std::getenv("TEST_TMPDIR");
  std::string d = std::string(t ? t : "/tmp") + "/" + name;
  std::system(("rm -rf " + d).c_str());
  return d;
}

const DesiredAttachment kA{.schid = "0.0.0100", .handoff = false,
                           .mdev_uuid = "4ad4f3c4-4b3f-4bd8-a0b3-5a6c8ec4e3a1", .owner = "uid:0", .attached_at = 1700000000};
const DesiredAttachment kB{.schid = "0.1.abcd", .handoff = true,
                           .mdev_uuid = "0b8ad7a4-7a5e-4f43-9a55-2d3a34aa7f10", .owner = "", .attached_at = 0};

TEST(StateStore, PersistsAcrossReopen) {
  const std::string dir = TempDir("s1");
  {
    auto s = StateStore::Open(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE((*s)->entries().empty());
    ASSERT_TRUE((*s)->Put(kA).ok());
    ASSERT_TRUE((*s)->Put(kB).ok());
    ASSERT_TRUE((*s)->Remove("0.0.0100").ok());
    ASSERT_TRUE((*s)->Remove("0.0.0999").ok());
    ASSERT_TRUE((*s)->Put(kA).ok());
  }
  auto s = StateStore::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  const auto e = (*s)->entries();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e.at("0.0.0100"), kA);
  EXPECT_EQ(e.at("0.1.abcd"), kB);
  std::ifstream tmp(dir + "/state.json.tmp");
  EXPECT_FALSE(tmp.good());  // renamed away
}

TEST(StateStore, InMemoryWithoutADirectory) {
  auto s = StateStore::Open("");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Put(kA).ok());
  EXPECT_EQ((*s)->entries().size(), 1u);
}

TEST(StateStore, BadFilesNameWhatIsWrong) {
  EXPECT_THAT(StateStore::Parse("{", "f"), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("f: not valid JSON")));
  EXPECT_THAT(StateStore::Parse("{\"version\": 2, \"attachments\": []}", "f"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("f: version 2 is not 1")));
  EXPECT_THAT(StateStore::Parse("{\"version\": 1}", "f"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("no \"attachments\" array")));
  EXPECT_THAT(StateStore::Parse(R"({"version": 1, "attachments": [{"schid": "0.0.10", "mode": "agent"}]})", "f"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("attachments[0].schid is not a schid")));
  EXPECT_THAT(StateStore::Parse(R"({"version": 1, "attachments": [{"schid": "0.0.0010", "mode": "vm"}]})", "f"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("attachments[0].mode is not")));
  EXPECT_THAT(
      StateStore::Parse(R"({"version": 1, "attachments": [{"schid": "0.0.0010", "mode": "agent", "mdev_uuid": "X"}]})",
                        "f"),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("attachments[0].mdev_uuid is not a lower-case UUID")));
  const std::string entry = R"({"schid": "0.0.0100", "mode": "agent", "mdev_uuid": "4ad4f3c4-4b3f-4bd8-a0b3-5a6c8ec4e3a1"})";
  EXPECT_THAT(StateStore::Parse(R"({"version": 1, "attachments": [)" + entry + "," + entry + "]}", "f"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("attachments[1]: 0.0.0100 appears twice")));
  // Round trip.
  auto back = StateStore::Parse(StateStore::Serialize({{kA.schid, kA}, {kB.schid, kB}}), "f");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->at("0.1.abcd"), kB);
  // A corrupt file on disk stops Open with the file named.
  const std::string dir = TempDir("s2");
  ASSERT_EQ(std::system(("mkdir -p " + dir + " && echo garbage > " + dir + "/state.json").c_str()), 0);
  EXPECT_THAT(StateStore::Open(dir), StatusIs(absl::StatusCode::kDataLoss,
                                              HasSubstr(dir + "/state.json: not valid JSON; move the file aside")));
}

}  // namespace
}  // namespace ccwpass::agent
