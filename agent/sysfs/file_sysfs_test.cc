// FileSysfs on temporary trees: exact contents, the errnos open(2), read(2),
// write(2), opendir(3) and readlink(2) give, path refusal, and Describe.
#include "agent/sysfs/file_sysfs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agent/sysfs/testing/fixture_tree.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccwpass::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::FixtureTree;

constexpr char kTree[] = R"(# a small css bus
f bus/css/devices_dir/0.0.0100/type "0\n"
f bus/css/devices_dir/0.0.0100/chpids "15 16 00 00 00 00 00 00 \n"
f bus/css/devices_dir/0.0.0100/driver_override "(null)\n"
f bus/css/devices_dir/0.0.0100/empty ""
w bus/css/drivers/vfio_ccw/unbind
l bus/css/devices/0.0.0100 ../devices_dir/0.0.0100
l bus/css/dangling ../nowhere
l loop/a b
l loop/b a
d emptydir
)";

class FileSysfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = FixtureTree::FromText(kTree, "kTree");
    ASSERT_TRUE(t.ok()) << t.status();
    tree_ = std::move(*t);
    fs_ = std::make_unique<FileSysfs>(tree_->root());
  }
  std::string Slurp(const std::string& rel) {
    std::ifstream in(tree_->root() + "/" + rel, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::unique_ptr<FixtureTree> tree_;
  std::unique_ptr<FileSysfs> fs_;
};

TEST_F(FileSysfsTest, ReadGivesTheWholeAttributeWithItsNewline) {
  std::string v;
  ASSERT_EQ(fs_->Read("bus/css/devices_dir/0.0.0100/chpids", &v), 0);
  EXPECT_EQ(v, "15 16 00 00 00 00 00 00 \n");
  ASSERT_EQ(fs_->Read("bus/css/devices/0.0.0100/driver_override", &v), 0);  // through a link
  EXPECT_EQ(v, "(null)\n");
  v = "stale";
  ASSERT_EQ(fs_->Read("bus/css/devices/0.0.0100/empty", &v), 0);
  EXPECT_EQ(v, "");
}

TEST_F(FileSysfsTest, ReadErrnos) {
  std::string v = "unchanged";
  EXPECT_EQ(fs_->Read("bus/css/devices/0.0.0100/nope", &v), ENOENT);
  EXPECT_EQ(fs_->Read("bus/css/devices/0.0.0100", &v), EISDIR);
  EXPECT_EQ(fs_->Read("bus/css/devices/0.0.0100/type/x", &v), ENOTDIR);
  EXPECT_EQ(fs_->Read("bus/css/dangling", &v), ENOENT);
  EXPECT_EQ(fs_->Read("loop/a", &v), ELOOP);
  EXPECT_EQ(v, "unchanged");
}

TEST_F(FileSysfsTest, ReadOfAWriteOnlyAttributeIsRefusedForNonRoot) {
  // The kernel refuses it with EACCES even for root (kernfs_fop_open); a plain
  // file only refuses it to a user without CAP_DAC_OVERRIDE.
  if (::geteuid() == 0) GTEST_SKIP() << "root reads a 0200 file";
  std::string v;
  EXPECT_EQ(fs_->Read("bus/css/drivers/vfio_ccw/unbind", &v), EACCES);
}

TEST_F(FileSysfsTest, WriteIsOneWriteOfTheValue) {
  ASSERT_EQ(fs_->Write("bus/css/devices/0.0.0100/driver_override", "vfio_ccw"), 0);
  EXPECT_EQ(Slurp("bus/css/devices_dir/0.0.0100/driver_override"), "vfio_ccw");
  ASSERT_EQ(fs_->Write("bus/css/drivers/vfio_ccw/unbind", "0.0.0100"), 0);  // mode 0200
  EXPECT_EQ(Slurp("bus/css/drivers/vfio_ccw/unbind"), "0.0.0100");
}

TEST_F(FileSysfsTest, EmptyWriteIsSentAsANewline) {
  // sysfs drops a 0-byte write before the store function; "\n" clears.
  ASSERT_EQ(fs_->Write("bus/css/devices/0.0.0100/driver_override", ""), 0);
  EXPECT_EQ(Slurp("bus/css/devices_dir/0.0.0100/driver_override"), "\n");
}

TEST_F(FileSysfsTest, WriteErrnos) {
  EXPECT_EQ(fs_->Write("bus/css/devices/0.0.0100/nope", "1"), ENOENT);  // no O_CREAT
  EXPECT_FALSE(fs_->Exists("bus/css/devices/0.0.0100/nope"));
  EXPECT_EQ(fs_->Write("bus/css/devices/0.0.0100", "1"), EISDIR);
  EXPECT_EQ(fs_->Write("emptydir", ""), EISDIR);
  EXPECT_EQ(fs_->Write("loop/b", "1"), ELOOP);
}

TEST_F(FileSysfsTest, WriteOfAReadOnlyAttributeIsRefusedForNonRoot) {
  ASSERT_EQ(::chmod((tree_->root() + "/bus/css/devices_dir/0.0.0100/type").c_str(), 0444), 0);
  if (::geteuid() == 0) GTEST_SKIP() << "root writes a 0444 file";
  EXPECT_EQ(fs_->Write("bus/css/devices/0.0.0100/type", "1"), EACCES);
}

TEST(FileSysfsDeviceTest, WriteReturnsTheErrnoOfTheWrite) {
  // A character device whose write fails the way a store function does:
  // /dev/full answers every write with ENOSPC (drivers/char/mem.c).
  FileSysfs dev("/dev");
  EXPECT_EQ(dev.Write("full", "1"), ENOSPC);
  std::string v;
  EXPECT_EQ(dev.Read("null", &v), 0);
  EXPECT_EQ(v, "");
}

TEST_F(FileSysfsTest, ListIsSortedWithoutDots) {
  std::vector<std::string> names;
  ASSERT_EQ(fs_->List("bus/css/devices/0.0.0100", &names), 0);  // a link to a directory
  EXPECT_THAT(names, ElementsAre("chpids", "driver_override", "empty", "type"));
  ASSERT_EQ(fs_->List("bus/css", &names), 0);
  EXPECT_THAT(names, ElementsAre("dangling", "devices", "devices_dir", "drivers"));
  ASSERT_EQ(fs_->List("", &names), 0);
  EXPECT_THAT(names, ElementsAre("bus", "emptydir", "loop"));
  ASSERT_EQ(fs_->List("emptydir", &names), 0);
  EXPECT_THAT(names, IsEmpty());
}

TEST_F(FileSysfsTest, ListErrnos) {
  std::vector<std::string> names = {"stale"};
  EXPECT_EQ(fs_->List("bus/nope", &names), ENOENT);
  EXPECT_THAT(names, IsEmpty());
  EXPECT_EQ(fs_->List("bus/css/devices/0.0.0100/type", &names), ENOTDIR);
  EXPECT_EQ(fs_->List("bus/css/dangling", &names), ENOENT);
}

TEST_F(FileSysfsTest, ReadLinkGivesTheTargetAsStored) {
  std::string t;
  ASSERT_EQ(fs_->ReadLink("bus/css/devices/0.0.0100", &t), 0);
  EXPECT_EQ(t, "../devices_dir/0.0.0100");
  ASSERT_EQ(fs_->ReadLink("bus/css/dangling", &t), 0);
  EXPECT_EQ(t, "../nowhere");
  EXPECT_EQ(fs_->ReadLink("bus/css/devices/0.0.0100/type", &t), EINVAL);  // not a link
  EXPECT_EQ(fs_->ReadLink("bus/css", &t), EINVAL);
  EXPECT_EQ(fs_->ReadLink("bus/css/nope", &t), ENOENT);
  EXPECT_EQ(fs_->ReadLink("bus/css/devices/0.0.0100/type/x", &t), ENOTDIR);
}

TEST_F(FileSysfsTest, ReadLinkOfALongTarget) {
  const std::string target = std::string(300, 'x') + "/" + std::string(200, 'y');
  ASSERT_EQ(::symlink(target.c_str(), (tree_->root() + "/long").c_str()), 0);
  std::string t;
  ASSERT_EQ(fs_->ReadLink("long", &t), 0);
  EXPECT_EQ(t, target);
}

TEST_F(FileSysfsTest, ExistsIsLstat) {
  EXPECT_TRUE(fs_->Exists(""));
  EXPECT_TRUE(fs_->Exists("bus/css/devices/0.0.0100"));
  EXPECT_TRUE(fs_->Exists("bus/css/devices/0.0.0100/type"));
  EXPECT_TRUE(fs_->Exists("bus/css/drivers/vfio_ccw/unbind"));
  EXPECT_TRUE(fs_->Exists("emptydir"));
  EXPECT_TRUE(fs_->Exists("bus/css/dangling"));  // the entry is there
  EXPECT_TRUE(fs_->Exists("loop/a"));
  EXPECT_FALSE(fs_->Exists("bus/css/dangling/x"));
  EXPECT_FALSE(fs_->Exists("bus/css/nope"));
}

TEST_F(FileSysfsTest, PathsThatLeaveTheRootAreRefused) {
  std::string v;
  std::vector<std::string> names;
  for (const char* p : {"/etc/passwd", "..", "../x", "bus/../..", "bus/..", "bus/css/../../../etc"}) {
    SCOPED_TRACE(p);
    EXPECT_EQ(fs_->Read(p, &v), EINVAL);
    EXPECT_EQ(fs_->Write(p, "x"), EINVAL);
    EXPECT_EQ(fs_->List(p, &names), EINVAL);
    EXPECT_EQ(fs_->ReadLink(p, &v), EINVAL);
    EXPECT_FALSE(fs_->Exists(p));
  }
  EXPECT_EQ(fs_->Read(std::string_view("bus\0x", 5), &v), EINVAL);
}

TEST(IsSafeRelativePathTest, Components) {
  EXPECT_TRUE(IsSafeRelativePath(""));
  EXPECT_TRUE(IsSafeRelativePath("bus/css"));
  EXPECT_TRUE(IsSafeRelativePath("./bus//css/"));
  EXPECT_TRUE(IsSafeRelativePath("..a/b.."));
  EXPECT_TRUE(IsSafeRelativePath("..."));
  EXPECT_FALSE(IsSafeRelativePath("/"));
  EXPECT_FALSE(IsSafeRelativePath(".."));
  EXPECT_FALSE(IsSafeRelativePath("../"));
  EXPECT_FALSE(IsSafeRelativePath("a/.."));
  EXPECT_FALSE(IsSafeRelativePath("a/../b"));
  EXPECT_FALSE(IsSafeRelativePath("a//../b"));
  EXPECT_FALSE(IsSafeRelativePath(std::string_view("a\0", 2)));
}

TEST(FileSysfsRootTest, DescribeAndAMissingRoot) {
  EXPECT_EQ(FileSysfs("/sys").Describe("bus/css/devices/0.0.0100"), "/sys/bus/css/devices/0.0.0100");
  EXPECT_EQ(FileSysfs("/srv/sysfs//").Describe("bus"), "/srv/sysfs/bus");
  EXPECT_EQ(FileSysfs("/").Describe("bus/css"), "/bus/css");
  EXPECT_EQ(FileSysfs("/sys").root(), "/sys");

  FileSysfs missing("/nonexistent-ccwpass-root");
  std::string v;
  std::vector<std::string> names;
  EXPECT_EQ(missing.Read("bus/css/drivers_probe", &v), ENOENT);
  EXPECT_EQ(missing.Write("bus/css/drivers_probe", "0.0.0100"), ENOENT);
  EXPECT_EQ(missing.List("", &names), ENOENT);
  EXPECT_EQ(missing.ReadLink("bus/css/devices/0.0.0100", &v), ENOENT);
  EXPECT_FALSE(missing.Exists(""));
}

}  // namespace
}  // namespace ccwpass::agent
