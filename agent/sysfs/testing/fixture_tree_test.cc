// The manifest format of the checked-in sysfs trees: parsing with exact
// errors, and materializing with real links and modes.
#include "agent/sysfs/testing/fixture_tree.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace ccwpass::agent::testing {
namespace {

using ::ccwpass::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseTreeManifestTest, AllKinds) {
  auto e = ParseTreeManifest(
      "# comment\n\nd a/empty\nf a/chpids \"15 00 \\n\"\nf a/q \"say \\\"hi\\\"\\t\\x01\"\n"
      "f a/none \"\"\nw a/unbind\nl a/driver ../../bus/css/drivers/io_subchannel\n",
      "m");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_THAT(*e, ElementsAre(TreeEntry{TreeEntry::kDir, "a/empty", ""},
                              TreeEntry{TreeEntry::kFile, "a/chpids", "15 00 \n"},
                              TreeEntry{TreeEntry::kFile, "a/q", "say \"hi\"\t\x01"},
                              TreeEntry{TreeEntry::kFile, "a/none", ""},
                              TreeEntry{TreeEntry::kWriteOnly, "a/unbind", ""},
                              TreeEntry{TreeEntry::kLink, "a/driver", "../../bus/css/drivers/io_subchannel"}));
}

TEST(ParseTreeManifestTest, Errors) {
  using absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(ParseTreeManifest("x a\n", "m"), StatusIs(kInvalidArgument, HasSubstr("m:1: unknown kind 'x'")));
  EXPECT_THAT(ParseTreeManifest("\nf\n", "m"), StatusIs(kInvalidArgument, HasSubstr("m:2: expected '<kind> <path>")));
  EXPECT_THAT(ParseTreeManifest("f a 1\n", "m"), StatusIs(kInvalidArgument, HasSubstr("m:1: expected the content as a double-quoted")));
  EXPECT_THAT(ParseTreeManifest("f a\n", "m"), StatusIs(kInvalidArgument, HasSubstr("double-quoted")));
  EXPECT_THAT(ParseTreeManifest("f a \"\\q\"\n", "m"), StatusIs(kInvalidArgument, HasSubstr("m:1: bad escape")));
  EXPECT_THAT(ParseTreeManifest("d a b\n", "m"), StatusIs(kInvalidArgument, HasSubstr("unexpected text after the path: 'b'")));
  EXPECT_THAT(ParseTreeManifest("l a\n", "m"), StatusIs(kInvalidArgument, HasSubstr("m:1: expected one link target")));
  EXPECT_THAT(ParseTreeManifest("l a b c\n", "m"), StatusIs(kInvalidArgument, HasSubstr("expected one link target")));
  EXPECT_THAT(ParseTreeManifest("d /abs\n", "m"), StatusIs(kInvalidArgument, HasSubstr("bad path '/abs'")));
  EXPECT_THAT(ParseTreeManifest("d a/../b\n", "m"), StatusIs(kInvalidArgument, HasSubstr("bad path 'a/../b'")));
  EXPECT_THAT(ParseTreeManifest("d a/./b\n", "m"), StatusIs(kInvalidArgument, HasSubstr("bad path")));
  EXPECT_THAT(ParseTreeManifest("d a//b\n", "m"), StatusIs(kInvalidArgument, HasSubstr("bad path")));
  EXPECT_THAT(ParseTreeManifest("d a\nw a\n", "m"), StatusIs(kInvalidArgument, HasSubstr("m:2: repeated path 'a'")));
  EXPECT_THAT(ParseTreeManifest("l a b\nf a/x \"\"\n", "m"),
              StatusIs(kInvalidArgument, HasSubstr("m:2: path 'a/x' lies below the link 'a'")));
}

std::string Slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(FixtureTreeTest, MaterializesAndRemoves) {
  std::string root;
  {
    auto t = FixtureTree::FromText("f d/a \"1\\n\"\nw d/unbind\nl d/link ../d\nd e\n", "m");
    ASSERT_TRUE(t.ok()) << t.status();
    root = (*t)->root();
    EXPECT_EQ(Slurp(root + "/d/a"), "1\n");
    EXPECT_EQ(Slurp(root + "/d/link/a"), "1\n");
    struct stat st;
    ASSERT_EQ(::lstat((root + "/d/unbind").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0200u);
    ASSERT_EQ(::lstat((root + "/d/a").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    ASSERT_EQ(::lstat((root + "/d/link").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    char buf[64];
    const ssize_t n = ::readlink((root + "/d/link").c_str(), buf, sizeof buf);
    EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "../d");
    ASSERT_EQ(::lstat((root + "/e").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
  }
  struct stat st;
  EXPECT_NE(::lstat(root.c_str(), &st), 0);
}

TEST(FixtureTreeTest, LoadErrors) {
  EXPECT_THAT(FixtureTree::Load("no/such/manifest.txt"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot read no/such/manifest.txt")));
  EXPECT_THAT(FixtureTree::FromText("f a \"1\"\nf a/b \"2\"\n", "m"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("/a: Not a directory")));
}

}  // namespace
}  // namespace ccwpass::agent::testing
