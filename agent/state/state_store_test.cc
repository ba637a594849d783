#include "agent/state/state_store.h"

#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"

#include "gmock/gmock.h"
#include "nlohmann/json.hpp"
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

TEST(StateStore, ConcurrentChangesAreAllWritten) {
  const std::string dir = TempDir("s_group");
  {
    auto s = StateStore::Open(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    std::vector<std::thread> ts;
    for (int i = 0; i < 32; ++i) {
      ts.emplace_back([&, i] {
        DesiredAttachment a = kA;
        a.schid = absl::StrFormat("0.0.%04x", i);
        EXPECT_TRUE((*s)->Put(a).ok());
        if (i % 4 == 0) {
          EXPECT_TRUE((*s)->Remove(a.schid).ok());
        }
      });
    }
    for (std::thread& t : ts) t.join();
    EXPECT_EQ((*s)->entries().size(), 24u);
    EXPECT_EQ((*s)->Get("0.0.0001"), std::optional<DesiredAttachment>([] {
                DesiredAttachment a = kA;
                a.schid = "0.0.0001";
                return a;
              }()));
    EXPECT_EQ((*s)->Get("0.0.0004"), std::nullopt);
  }
  auto s = StateStore::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  const auto e = (*s)->entries();
  ASSERT_EQ(e.size(), 24u);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(e.count(absl::StrFormat("0.0.%04x", i)), i % 4 == 0 ? 0u : 1u) << i;
}

TEST(StateStore, AFailedWriteLeavesTheStateUnchanged) {
  const std::string dir = TempDir("s_fail");
  auto s = StateStore::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE((*s)->Put(kA).ok());
  std::system(("rm -rf " + dir).c_str());  // the next write cannot create its file
  EXPECT_THAT((*s)->Put(kB), StatusIs(absl::StatusCode::kInternal, HasSubstr("state.json.tmp")));
  EXPECT_THAT((*s)->Remove("0.0.0100"), StatusIs(absl::StatusCode::kInternal, HasSubstr("state.json.tmp")));
  const auto e = (*s)->entries();
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e.at("0.0.0100"), kA);
}

// Serialize writes the text directly; it is the text a JSON tree gave before.
TEST(StateStore, SerializeIsTheJsonDump) {
  auto tree = [](const std::map<std::string, DesiredAttachment>& entries) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& [schid, a] : entries) {
      arr.push_back({{"schid", a.schid},
                     {"mode", a.handoff ? "handoff" : "agent"},
                     {"mdev_uuid", a.mdev_uuid},
                     {"owner", a.owner},
                     {"attached_at", a.attached_at},
                     {"phase", a.detaching ? "detaching" : "attached"}});
    }
    nlohmann::json j = {{"version", 1}, {"attachments", arr}};
    return j.dump(2) + "\n";
  };
  DesiredAttachment odd = kB;
  odd.owner = "ipv6:[::1]:4711 \"quoted\" \\ tab\t\x01 \xc3\xa9";
  odd.detaching = true;
  odd.attached_at = -5;
  for (const auto& entries : std::vector<std::map<std::string, DesiredAttachment>>{
           {}, {{kA.schid, kA}}, {{kA.schid, kA}, {odd.schid, odd}}}) {
    EXPECT_EQ(StateStore::Serialize(entries), tree(entries));
  }
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
