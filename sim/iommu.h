// The simulated IOMMU of a VFIO container: DMA mappings from I/O virtual
// addresses (IOVAs) to memory of this process, and the view of guest memory
// that the simulated kernel's channel-program translation reads through them.
//
// Semantics of the type-1 IOMMU (drivers/vfio/vfio_iommu_type1.c): iova, vaddr
// and size page-aligned (4 KiB), size non-zero; a mapping may not overlap an
// existing one (-EEXIST); an unmap removes every mapping inside the range and
// refuses to split one (-EINVAL); it returns the bytes unmapped.
#ifndef CCWPASS_SIM_IOMMU_H_
#define CCWPASS_SIM_IOMMU_H_

#include <cstdint>
#include <map>
#include <span>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "translate/guest_memory.h"

namespace ccwpass::sim {

class Iommu final : public translate::GuestMemory {
 public:
  static constexpr uint64_t kPageSize = 4096;
  // IOVAs are 64-bit; the translation reads through this whole space.
  uint64_t Size() const override { return ~uint64_t{0}; }

  // VFIO_IOMMU_MAP_DMA. Returns 0, -EINVAL (zero size, unaligned, wrap-around)
  // or -EEXIST (overlap).
  int Map(uint64_t vaddr, uint64_t iova, uint64_t size);
  // VFIO_IOMMU_UNMAP_DMA. Returns the bytes unmapped (0 when none), or -EINVAL
  // (unaligned, or the range cuts a mapping in two).
  int64_t Unmap(uint64_t iova, uint64_t size);
  // True when any mapping intersects [iova, iova + size).
  bool Overlaps(uint64_t iova, uint64_t size) const;
  size_t MappingCount() const;

  // GuestMemory over the mappings: kOutOfRange (errno EFAULT) when any byte of
  // the range is not mapped.
  absl::Status Read(uint64_t addr, std::span<uint8_t> out) const override;
  absl::Status Write(uint64_t addr, std::span<const uint8_t> in) override;

 private:
  struct Mapping {
    uint64_t vaddr;
    uint64_t size;
  };
  // Calls fn(host pointer, length) for each piece of [iova, iova + len); false
  // when a byte is unmapped (nothing is copied then).
  template <typename Fn>
  bool Walk(uint64_t iova, uint64_t len, Fn fn) const;

  mutable absl::Mutex mu_;
  std::map<uint64_t, Mapping> maps_ ABSL_GUARDED_BY(mu_);  // by iova
};

}  // namespace ccwpass::sim

#endif  // CCWPASS_SIM_IOMMU_H_
