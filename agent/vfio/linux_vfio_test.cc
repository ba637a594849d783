// LinuxVfio without /dev/vfio: the errno plumbing of every operation (-ENOENT
// for a missing node, -EBADF for a bad descriptor, -ENOTTY for VFIO ioctls on
// something that is not a VFIO device), pread/pwrite, and the argument
// buffers (the region-info argsz protocol against a fake kernel, the
// SET_IRQS eventfd argument). The real driver is exercised in the s390x guest.
#include "agent/vfio/linux_vfio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "agent/vfio/region_info.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccwpass::agent {
namespace {

using ::testing::ElementsAre;

class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    path_ = std::string(tmp && *tmp ? tmp : "/tmp") + "/linux-vfio-XXXXXX";
    if (::mkdtemp(path_.data()) == nullptr) path_.clear();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LinuxVfioTest, MissingNodesAreENOENT) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  LinuxVfio vfio(dir.path());
  EXPECT_EQ(vfio.OpenContainer(), -ENOENT);
  EXPECT_EQ(vfio.OpenGroup(0), -ENOENT);
  EXPECT_EQ(vfio.OpenGroup(-1), -ENOENT);
  EXPECT_EQ(LinuxVfio("/nonexistent-ccwpass-dev").OpenContainer(), -ENOENT);
}

TEST(LinuxVfioTest, RootIsTakenAsGiven) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir.path() + "/vfio").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir.path() + "/vfio/vfio").c_str(), 0755), 0);  // a directory: O_RDWR fails
  LinuxVfio vfio(dir.path() + "//");
  EXPECT_EQ(vfio.dev_root(), dir.path());
  EXPECT_EQ(vfio.OpenContainer(), -EISDIR);
}

TEST(LinuxVfioTest, BadDescriptorsAreEBADF) {
  LinuxVfio vfio("/dev");
  for (int fd : {-1, 1 << 29}) {
    SCOPED_TRACE(fd);
    uint32_t flags = 0x55;
    vfio_device_info dinfo{};
    vfio_irq_info iinfo{};
    std::vector<uint8_t> rinfo = {1, 2, 3};
    char buf[8];
    EXPECT_EQ(vfio.GetApiVersion(fd), -EBADF);
    EXPECT_EQ(vfio.CheckExtension(fd, VFIO_TYPE1_IOMMU), -EBADF);
    EXPECT_EQ(vfio.SetIommu(fd, VFIO_TYPE1_IOMMU), -EBADF);
    EXPECT_EQ(vfio.MapDma(fd, 0x10000, 0x1000, 0x1000, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE), -EBADF);
    EXPECT_EQ(vfio.UnmapDma(fd, 0x1000, 0x1000), -EBADF);
    EXPECT_EQ(vfio.GetGroupStatus(fd, &flags), -EBADF);
    EXPECT_EQ(flags, 0x55u);
    EXPECT_EQ(vfio.SetContainer(fd, 0), -EBADF);
    EXPECT_EQ(vfio.UnsetContainer(fd), -EBADF);
    EXPECT_EQ(vfio.GetDeviceFd(fd, "7e270a25-e163-4922-af60-757fc8ed48c6"), -EBADF);
    EXPECT_EQ(vfio.GetDeviceInfo(fd, &dinfo), -EBADF);
    EXPECT_EQ(vfio.GetRegionInfo(fd, 0, &rinfo), -EBADF);
    EXPECT_THAT(rinfo, ElementsAre(1, 2, 3));
    EXPECT_EQ(vfio.GetIrqInfo(fd, 0, &iinfo), -EBADF);
    EXPECT_EQ(vfio.SetIrqEventfd(fd, 0, -1), -EBADF);
    EXPECT_EQ(vfio.Reset(fd), -EBADF);
    EXPECT_EQ(vfio.Pread(fd, buf, sizeof buf, 0), -EBADF);
    EXPECT_EQ(vfio.Pwrite(fd, buf, sizeof buf, 0), -EBADF);
    EXPECT_EQ(vfio.Close(fd), -EBADF);
  }
}

// A root whose vfio/vfio and vfio/7 are plain files: the opens succeed, every
// VFIO ioctl is -ENOTTY, pread/pwrite move bytes.
class NotVfioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_EQ(::mkdir((dir_.path() + "/vfio").c_str(), 0755), 0);
    for (const char* f : {"/vfio/vfio", "/vfio/7"}) {
      const int fd = ::open((dir_.path() + f).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
      ASSERT_GE(fd, 0);
      ::close(fd);
    }
  }
  TempDir dir_;
  LinuxVfio vfio_{dir_.path()};
};

TEST_F(NotVfioTest, IoctlsAreENOTTY) {
  const int container = vfio_.OpenContainer();
  ASSERT_GE(container, 0);
  const int group = vfio_.OpenGroup(7);
  ASSERT_GE(group, 0);
  EXPECT_EQ(::fcntl(container, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_EQ(::fcntl(group, F_GETFL) & O_ACCMODE, O_RDWR);

  EXPECT_EQ(vfio_.GetApiVersion(container), -ENOTTY);
  EXPECT_EQ(vfio_.CheckExtension(container, VFIO_TYPE1v2_IOMMU), -ENOTTY);
  EXPECT_EQ(vfio_.SetIommu(container, VFIO_TYPE1v2_IOMMU), -ENOTTY);
  EXPECT_EQ(vfio_.MapDma(container, 0x10000, 0x1000, 0x1000, VFIO_DMA_MAP_FLAG_READ), -ENOTTY);
  EXPECT_EQ(vfio_.UnmapDma(container, 0x1000, 0x1000), -ENOTTY);
  uint32_t flags = 0x55;
  EXPECT_EQ(vfio_.GetGroupStatus(group, &flags), -ENOTTY);
  EXPECT_EQ(flags, 0x55u);
  EXPECT_EQ(vfio_.SetContainer(group, container), -ENOTTY);
  EXPECT_EQ(vfio_.UnsetContainer(group), -ENOTTY);
  EXPECT_EQ(vfio_.GetDeviceFd(group, "7e270a25-e163-4922-af60-757fc8ed48c6"), -ENOTTY);
  EXPECT_EQ(vfio_.GetDeviceFd(group, std::string_view("a\0b", 3)), -EINVAL);
  vfio_device_info dinfo{};
  EXPECT_EQ(vfio_.GetDeviceInfo(group, &dinfo), -ENOTTY);
  std::vector<uint8_t> rinfo;
  EXPECT_EQ(vfio_.GetRegionInfo(group, 0, &rinfo), -ENOTTY);
  EXPECT_TRUE(rinfo.empty());
  vfio_irq_info iinfo{};
  EXPECT_EQ(vfio_.GetIrqInfo(group, 0, &iinfo), -ENOTTY);
  EXPECT_EQ(vfio_.SetIrqEventfd(group, 0, -1), -ENOTTY);
  EXPECT_EQ(vfio_.Reset(group), -ENOTTY);

  EXPECT_EQ(vfio_.Close(group), 0);
  EXPECT_EQ(vfio_.Close(group), -EBADF);
  EXPECT_EQ(vfio_.Close(container), 0);
}

TEST_F(NotVfioTest, PreadPwriteAtAnOffset) {
  const int fd = vfio_.OpenGroup(7);
  ASSERT_GE(fd, 0);
  const char orb[12] = {0, 0, 0, 1, 0, static_cast<char>(0xc0), static_cast<char>(0xff), 0, 0, 0, 0x10, 0};
  EXPECT_EQ(vfio_.Pwrite(fd, orb, sizeof orb, 0x400), 12);
  char back[16] = {};
  EXPECT_EQ(vfio_.Pread(fd, back, sizeof back, 0x400), 12);  // short: end of file
  EXPECT_EQ(std::memcmp(back, orb, sizeof orb), 0);
  EXPECT_EQ(vfio_.Pread(fd, back, sizeof back, 0x1000), 0);
  EXPECT_EQ(vfio_.Pread(fd, back, sizeof back, uint64_t{1} << 63), -EINVAL);  // negative off_t
  EXPECT_EQ(vfio_.Close(fd), 0);
}

// A fake VFIO_DEVICE_GET_REGION_INFO that answers as vfio_ccw_mdev_get_region_info
// does: the whole info with its capability chain when argsz is large enough,
// otherwise the struct with argsz = the size needed, FLAG_CAPS and cap_offset 0.
struct FakeKernel {
  RegionInfo region;
  std::vector<uint32_t> argsz_seen;
  int operator()(uint8_t* buf) {
    vfio_region_info in;
    std::memcpy(&in, buf, sizeof in);
    argsz_seen.push_back(in.argsz);
    if (in.index != region.index) return -EINVAL;
    const std::vector<uint8_t> full = EncodeRegionInfo(region);
    if (in.argsz >= full.size()) {
      std::memcpy(buf, full.data(), full.size());
    } else {
      vfio_region_info out;
      std::memcpy(&out, full.data(), sizeof out);
      out.argsz = static_cast<uint32_t>(full.size());
      out.cap_offset = 0;
      std::memcpy(buf, &out, sizeof out);
    }
    return 0;
  }
};

TEST(QueryRegionInfoTest, CapabilityChainTakesTwoPasses) {
  FakeKernel k;
  k.region = RegionInfo{.index = 1,
                        .flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
                        .size = 8,
                        .offset = 0x400,
                        .type = RegionType{VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD}};
  std::vector<uint8_t> buf;
  ASSERT_EQ(vfio_internal::QueryRegionInfo(1, &buf, std::ref(k)), 0);
  const uint32_t full = static_cast<uint32_t>(EncodeRegionInfo(k.region).size());
  EXPECT_THAT(k.argsz_seen, ElementsAre(sizeof(vfio_region_info), full));
  EXPECT_EQ(buf.size(), full);
  absl::StatusOr<RegionInfo> parsed = ParseRegionInfo(buf);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  RegionInfo want = k.region;
  want.flags |= VFIO_REGION_INFO_FLAG_CAPS;
  EXPECT_EQ(*parsed, want);
}

TEST(QueryRegionInfoTest, PlainRegionTakesOnePass) {
  FakeKernel k;
  k.region = RegionInfo{.index = 0,
                        .flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
                        .size = 124,
                        .offset = 0};
  std::vector<uint8_t> buf;
  ASSERT_EQ(vfio_internal::QueryRegionInfo(0, &buf, std::ref(k)), 0);
  EXPECT_THAT(k.argsz_seen, ElementsAre(sizeof(vfio_region_info)));
  absl::StatusOr<RegionInfo> parsed = ParseRegionInfo(buf);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, k.region);
}

TEST(QueryRegionInfoTest, Errors) {
  FakeKernel k;
  k.region.index = 0;
  std::vector<uint8_t> buf = {9};
  EXPECT_EQ(vfio_internal::QueryRegionInfo(5, &buf, std::ref(k)), -EINVAL);  // the kernel's error
  EXPECT_THAT(buf, ElementsAre(9));

  auto too_big = [](uint8_t* b) {
    vfio_region_info r;
    std::memcpy(&r, b, sizeof r);
    r.argsz = LinuxVfio::kMaxRegionInfoBytes + 1;
    std::memcpy(b, &r, sizeof r);
    return 0;
  };
  EXPECT_EQ(vfio_internal::QueryRegionInfo(0, &buf, too_big), -EOVERFLOW);

  int calls = 0;
  auto growing = [&calls](uint8_t* b) {
    vfio_region_info r;
    std::memcpy(&r, b, sizeof r);
    r.argsz += 16;  // never satisfied
    std::memcpy(b, &r, sizeof r);
    ++calls;
    return 0;
  };
  EXPECT_EQ(vfio_internal::QueryRegionInfo(0, &buf, growing), -EOVERFLOW);
  EXPECT_EQ(calls, 3);
}

TEST(IrqSetEventfdArgTest, Layout) {
  static_assert(sizeof(vfio_irq_set) == 20);
  for (int32_t fd : {42, -1}) {
    std::vector<uint8_t> arg = vfio_internal::IrqSetEventfdArg(VFIO_CCW_REQ_IRQ_INDEX, fd);
    ASSERT_EQ(arg.size(), 24u);
    vfio_irq_set set;
    std::memcpy(&set, arg.data(), sizeof set);
    EXPECT_EQ(set.argsz, 24u);
    EXPECT_EQ(set.flags, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER);
    EXPECT_EQ(set.index, static_cast<uint32_t>(VFIO_CCW_REQ_IRQ_INDEX));
    EXPECT_EQ(set.start, 0u);
    EXPECT_EQ(set.count, 1u);
    int32_t data;
    std::memcpy(&data, arg.data() + 20, sizeof data);
    EXPECT_EQ(data, fd);
  }
}

}  // namespace
}  // namespace ccwpass::agent
