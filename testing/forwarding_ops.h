// Decorators of the agent's kernel seams for tests: every call goes to the
// wrapped SysfsOps / VfioOps (usually the simulated kernel) unless a test
// overrides it to inject a fault or a hook. Shapes, units and errnos are the
// seams' own (agent/sysfs/sysfs_ops.h, agent/vfio/vfio_ops.h).
#ifndef CCWPASS_TESTING_FORWARDING_OPS_H_
#define CCWPASS_TESTING_FORWARDING_OPS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sysfs/sysfs_ops.h"
#include "agent/vfio/vfio_ops.h"

namespace ccwpass::testing {

class ForwardingSysfs : public agent::SysfsOps {
 public:
  explicit ForwardingSysfs(agent::SysfsOps& inner) : in_(inner) {}
  int Read(std::string_view path, std::string* value) override { return in_.Read(path, value); }
  int Write(std::string_view path, std::string_view value) override { return in_.Write(path, value); }
  int List(std::string_view dir, std::vector<std::string>* names) override { return in_.List(dir, names); }
  int ReadLink(std::string_view path, std::string* target) override { return in_.ReadLink(path, target); }
  bool Exists(std::string_view path) override { return in_.Exists(path); }
  std::string Describe(std::string_view path) const override { return in_.Describe(path); }

 private:
  agent::SysfsOps& in_;
};

class ForwardingVfio : public agent::VfioOps {
 public:
  explicit ForwardingVfio(agent::VfioOps& inner) : in_(inner) {}
  int OpenContainer() override { return in_.OpenContainer(); }
  int GetApiVersion(int c) override { return in_.GetApiVersion(c); }
  int CheckExtension(int c, uint32_t ext) override { return in_.CheckExtension(c, ext); }
  int SetIommu(int c, uint32_t type) override { return in_.SetIommu(c, type); }
  int MapDma(int c, uint64_t vaddr, uint64_t iova, uint64_t size, uint32_t flags) override {
    return in_.MapDma(c, vaddr, iova, size, flags);
  }
  int64_t UnmapDma(int c, uint64_t iova, uint64_t size) override { return in_.UnmapDma(c, iova, size); }
  int OpenGroup(int group) override { return in_.OpenGroup(group); }
  int GetGroupStatus(int g, uint32_t* flags) override { return in_.GetGroupStatus(g, flags); }
  int SetContainer(int g, int c) override { return in_.SetContainer(g, c); }
  int UnsetContainer(int g) override { return in_.UnsetContainer(g); }
  int GetDeviceFd(int g, std::string_view name) override { return in_.GetDeviceFd(g, name); }
  int GetDeviceInfo(int d, vfio_device_info* info) override { return in_.GetDeviceInfo(d, info); }
  int GetRegionInfo(int d, uint32_t i, std::vector<uint8_t>* info) override { return in_.GetRegionInfo(d, i, info); }
  int GetIrqInfo(int d, uint32_t i, vfio_irq_info* info) override { return in_.GetIrqInfo(d, i, info); }
  int SetIrqEventfd(int d, uint32_t i, int fd) override { return in_.SetIrqEventfd(d, i, fd); }
  int Reset(int d) override { return in_.Reset(d); }
  ssize_t Pread(int d, void* buf, size_t len, uint64_t off) override { return in_.Pread(d, buf, len, off); }
  ssize_t Pwrite(int d, const void* buf, size_t len, uint64_t off) override { return in_.Pwrite(d, buf, len, off); }
  int Close(int fd) override { return in_.Close(fd); }

 private:
  agent::VfioOps& in_;
};

}  // namespace ccwpass::testing

#endif  // CCWPASS_TESTING_FORWARDING_OPS_H_
