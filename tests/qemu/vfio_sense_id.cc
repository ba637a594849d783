// vfio_sense_id: the minimal direct VFIO client of the QEMU end-to-end test.
// Raw ioctls on a vfio_ccw mdev that is bound but closed (attached in hand-off
// mode): container, group, device, the I/O region, the I/O IRQ's eventfd, one
// DMA mapping; then SENSE ID (format-1 CCW e4 20 0100 at IOVA 0x1000, data at
// 0x2000, ORB word 1 0x00c0ff00) `--count` times, each timed from the I/O
// region write to the IRB read after the eventfd fired. It is the baseline the
// agent's overhead is measured against (docs/performance.md), so it does only
// what the kernel needs: no policing, no translation, no threads.
//
// --chain N instead starts one chain of N NOOP CCWs (command chaining on all
// but the last) and prints the kernel's answer to the I/O region write: the
// errno the agent must give for the same program (257: EINVAL; 256 runs).
//
// Output (stdout): "sense-id cu=3832/02 dev=0000/00 bytes=256 scsw=<24 hex>",
// the latency line (latency.h), or "chain N: start ok" / "chain N: start
// errno=<n> (<name>)". Errors: exit 1 with the step and the errno on stderr.
// Sources: Documentation/s390/vfio-ccw.rst, include/uapi/linux/vfio.h and
// vfio_ccw.h, ../../../shared/reference/qemu-s390x.md.
#include <fcntl.h>
#include <linux/vfio.h>
#include <linux/vfio_ccw.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "tests/qemu/latency.h"

namespace {

constexpr uint64_t kIova = 0x1000;     // the CCWs
constexpr uint64_t kDataIova = 0x2000;  // SENSE ID's data
constexpr size_t kMapSize = 0x2000;

[[noreturn]] void Die(const std::string& what, int err) {
  std::fprintf(stderr, "vfio_sense_id: %s: %s (errno %d)\n", what.c_str(), std::strerror(err), err);
  std::exit(1);
}

// s390x is big-endian: the wire words are native words.
void PutWord(uint8_t* p, uint32_t w) { std::memcpy(p, &w, 4); }
uint32_t GetWord(const uint8_t* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

struct Device {
  int container = -1, group = -1, fd = -1, io_irq = -1;
  uint64_t io_offset = 0;
  uint8_t* dma = nullptr;
};

Device Open(const std::string& sysfs_root, const std::string& dev_root, const std::string& uuid) {
  Device d;
  const std::string link = sysfs_root + "/bus/mdev/devices/" + uuid + "/iommu_group";
  char target[256] = {};
  if (readlink(link.c_str(), target, sizeof target - 1) < 0) Die("readlink " + link, errno);
  const std::string group = std::string(target).substr(std::string(target).rfind('/') + 1);
  if ((d.container = open((dev_root + "/vfio/vfio").c_str(), O_RDWR)) < 0) Die("open vfio container", errno);
  if (ioctl(d.container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) Die("VFIO_GET_API_VERSION", EINVAL);
  if ((d.group = open((dev_root + "/vfio/" + group).c_str(), O_RDWR)) < 0) Die("open group " + group, errno);
  vfio_group_status gs = {.argsz = sizeof gs};
  if (ioctl(d.group, VFIO_GROUP_GET_STATUS, &gs) < 0) Die("VFIO_GROUP_GET_STATUS", errno);
  if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) Die("group " + group + " not viable", EINVAL);
  if (ioctl(d.group, VFIO_GROUP_SET_CONTAINER, &d.container) < 0) Die("VFIO_GROUP_SET_CONTAINER", errno);
  if (ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) Die("VFIO_SET_IOMMU", errno);
  if ((d.fd = ioctl(d.group, VFIO_GROUP_GET_DEVICE_FD, uuid.c_str())) < 0) Die("VFIO_GROUP_GET_DEVICE_FD", errno);
  vfio_region_info ri = {.argsz = sizeof ri, .index = VFIO_CCW_CONFIG_REGION_INDEX};
  if (ioctl(d.fd, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0) Die("VFIO_DEVICE_GET_REGION_INFO", errno);
  if (ri.size != sizeof(ccw_io_region)) Die("I/O region size " + std::to_string(ri.size), EINVAL);
  d.io_offset = ri.offset;
  if ((d.io_irq = eventfd(0, EFD_CLOEXEC)) < 0) Die("eventfd", errno);
  char buf[sizeof(vfio_irq_set) + sizeof(int32_t)];
  auto* irq = reinterpret_cast<vfio_irq_set*>(buf);
  *irq = {.argsz = sizeof buf,
          .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
          .index = VFIO_CCW_IO_IRQ_INDEX,
          .start = 0,
          .count = 1};
  std::memcpy(irq->data, &d.io_irq, sizeof(int32_t));
  if (ioctl(d.fd, VFIO_DEVICE_SET_IRQS, irq) < 0) Die("VFIO_DEVICE_SET_IRQS", errno);
  void* mem = mmap(nullptr, kMapSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (mem == MAP_FAILED) Die("mmap", errno);
  d.dma = static_cast<uint8_t*>(mem);
  vfio_iommu_type1_dma_map map = {.argsz = sizeof map,
                                  .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                  .vaddr = reinterpret_cast<uint64_t>(mem),
                                  .iova = kIova,
                                  .size = kMapSize};
  if (ioctl(d.container, VFIO_IOMMU_MAP_DMA, &map) < 0) Die("VFIO_IOMMU_MAP_DMA", errno);
  return d;
}

// Starts the program at kIova. Returns 0 or the kernel's negative errno.
int Start(const Device& d) {
  ccw_io_region r = {};
  PutWord(r.orb_area + 4, 0x00c0ff00);  // format-1 CCWs, prefetch, LPM ff
  PutWord(r.orb_area + 8, kIova);
  PutWord(r.scsw_area, 0x00004000);  // function control: start
  if (pwrite(d.fd, &r, sizeof r, d.io_offset) != static_cast<ssize_t>(sizeof r)) return -errno;
  return 0;
}

// Waits for the final interruption; returns the IRB's SCSW (12 bytes).
std::vector<uint8_t> WaitFinal(const Device& d) {
  for (;;) {
    pollfd p = {.fd = d.io_irq, .events = POLLIN};
    const int n = poll(&p, 1, 10000);
    if (n <= 0) Die("no I/O interruption within 10 s", n < 0 ? errno : ETIMEDOUT);
    uint64_t count;
    if (read(d.io_irq, &count, sizeof count) != sizeof count) Die("read eventfd", errno);
    ccw_io_region r;
    if (pread(d.fd, &r, sizeof r, d.io_offset) != static_cast<ssize_t>(sizeof r)) Die("pread I/O region", errno);
    const uint32_t w0 = GetWord(r.irb_area);
    const uint32_t actl = (w0 >> 8) & 0x7f;  // SCSW bits 20-26
    if ((actl & 0x06) == 0) return std::vector<uint8_t>(r.irb_area, r.irb_area + 12);  // neither subchannel nor device active
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vfio_sense_id: SENSE ID through raw VFIO ioctls on a vfio_ccw mdev (QEMU end-to-end test)"};
  std::string sysfs_root = "/sys", dev_root = "/dev", uuid;
  int count = 1, chain = 0;
  app.add_option("--sysfs-root", sysfs_root)->capture_default_str();
  app.add_option("--dev-root", dev_root)->capture_default_str();
  app.add_option("--mdev", uuid, "the mdev UUID (bound, not open)")->required();
  app.add_option("--count", count, "SENSE IDs to time")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--chain", chain, "instead: start one chain of N NOOPs and print the kernel's answer")
      ->check(CLI::Range(1, 512));
  CLI11_PARSE(app, argc, argv);

  Device d = Open(sysfs_root, dev_root, uuid);
  if (chain > 0) {
    std::memset(d.dma, 0, kMapSize);
    for (int i = 0; i < chain; ++i) {
      uint8_t* c = d.dma + 8 * i;
      c[0] = 0x03;                             // NOOP
      c[1] = i + 1 < chain ? 0x40 | 0x20 : 0x20;  // CC (but the last), SLI
    }
    const int rc = Start(d);
    if (rc == 0) {
      WaitFinal(d);
      std::printf("chain %d: start ok\n", chain);
    } else {
      std::printf("chain %d: start errno=%d (%s)\n", chain, -rc, strerrorname_np(-rc));
    }
    return 0;
  }
  const uint8_t ccw[8] = {0xe4, 0x20, 0x01, 0x00, 0x00, 0x00, 0x20, 0x00};  // SENSE ID, SLI, 256 bytes at 0x2000
  std::memcpy(d.dma, ccw, sizeof ccw);
  std::vector<double> us;
  std::vector<uint8_t> scsw;
  for (int i = 0; i < count; ++i) {
    std::memset(d.dma + (kDataIova - kIova), 0, 256);
    const double t0 = ccwpass::qemu_e2e::NowUs();
    if (int rc = Start(d); rc != 0) Die("start SENSE ID", -rc);
    scsw = WaitFinal(d);
    us.push_back(ccwpass::qemu_e2e::NowUs() - t0);
  }
  const uint8_t* id = d.dma + (kDataIova - kIova);
  const uint32_t residual = GetWord(scsw.data() + 8) & 0xffff;
  std::printf("sense-id cu=%02x%02x/%02x dev=%02x%02x/%02x bytes=%u scsw=", id[1], id[2], id[3], id[4], id[5], id[6],
              256 - residual);
  for (uint8_t b : scsw) std::printf("%02x", b);
  std::printf("\n");
  ccwpass::qemu_e2e::PrintLatency("direct-vfio", us);
  return 0;
}
