#include "sim/iommu.h"

#include <cerrno>
#include <cstring>
#include <vector>

namespace ccwpass::sim {

int Iommu::Map(uint64_t vaddr, uint64_t iova, uint64_t size) {
  if (size == 0 || (vaddr | iova | size) & (kPageSize - 1) || iova + size < iova || vaddr + size < vaddr) {
    return -EINVAL;
  }
  absl::MutexLock l(&mu_);
  auto it = maps_.lower_bound(iova);
  if (it != maps_.end() && it->first < iova + size) return -EEXIST;
  if (it != maps_.begin()) {
    auto p = std::prev(it);
    if (p->first + p->second.size > iova) return -EEXIST;
  }
  maps_.emplace(iova, Mapping{vaddr, size});
  return 0;
}

int64_t Iommu::Unmap(uint64_t iova, uint64_t size) {
  if (size == 0 || (iova | size) & (kPageSize - 1) || iova + size < iova) return -EINVAL;
  absl::MutexLock l(&mu_);
  const uint64_t end = iova + size;
  auto it = maps_.lower_bound(iova);
  if (it != maps_.begin()) {
    auto p = std::prev(it);
    if (p->first + p->second.size > iova) return -EINVAL;  // would split a mapping
  }
  std::vector<std::map<uint64_t, Mapping>::iterator> doomed;
  int64_t bytes = 0;
  for (; it != maps_.end() && it->first < end; ++it) {
    if (it->first + it->second.size > end) return -EINVAL;
    doomed.push_back(it);
    bytes += it->second.size;
  }
  for (auto d : doomed) maps_.erase(d);
  return bytes;
}

bool Iommu::Overlaps(uint64_t iova, uint64_t size) const {
  absl::MutexLock l(&mu_);
  auto it = maps_.lower_bound(iova);
  if (it != maps_.end() && it->first < iova + size) return true;
  if (it != maps_.begin()) {
    auto p = std::prev(it);
    if (p->first + p->second.size > iova) return true;
  }
  return false;
}

size_t Iommu::MappingCount() const {
  absl::MutexLock l(&mu_);
  return maps_.size();
}

template <typename Fn>
bool Iommu::Walk(uint64_t iova, uint64_t len, Fn fn) const {
  // First pass: every byte mapped? Second: copy. Mappings never change while
  // mu_ is held, so both passes see the same table.
  for (int pass = 0; pass < 2; ++pass) {
    uint64_t a = iova, left = len;
    while (left > 0) {
      auto it = maps_.upper_bound(a);
      if (it == maps_.begin()) return false;
      --it;
      const uint64_t off = a - it->first;
      if (off >= it->second.size) return false;
      const uint64_t n = std::min(left, it->second.size - off);
      if (pass == 1) fn(reinterpret_cast<uint8_t*>(it->second.vaddr + off), n);
      a += n;
      left -= n;
    }
  }
  return true;
}

absl::Status Iommu::Read(uint64_t addr, std::span<uint8_t> out) const {
  absl::MutexLock l(&mu_);
  uint8_t* dst = out.data();
  if (addr + out.size() < addr ||
      !Walk(addr, out.size(), [&](uint8_t* p, uint64_t n) { std::memcpy(dst, p, n); dst += n; })) {
    return OutOfRange("read", addr, out.size());
  }
  return absl::OkStatus();
}

absl::Status Iommu::Write(uint64_t addr, std::span<const uint8_t> in) {
  absl::MutexLock l(&mu_);
  const uint8_t* src = in.data();
  if (addr + in.size() < addr ||
      !Walk(addr, in.size(), [&](uint8_t* p, uint64_t n) { std::memcpy(p, src, n); src += n; })) {
    return OutOfRange("write", addr, in.size());
  }
  return absl::OkStatus();
}

}  // namespace ccwpass::sim
