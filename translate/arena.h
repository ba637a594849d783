// The device's DMA arena: IOVA-addressed memory in which translated channel
// programs, their IDALs and their data (bounce) buffers live.
//
// The arena is a fixed number of 4 KiB pages over memory the caller owns (the
// agent mmaps it and maps it for DMA with VFIO_IOMMU_MAP_DMA; tests and the
// simulator use an owned buffer). A program takes the pages it needs in one
// allocation and gives them all back when it completes; pages need not be
// contiguous, since every data buffer is reached through an IDAL and every chain
// fits in one page. The whole arena lies below 2 GiB of IOVA because CCWs, IDAL
// addresses and the ORB's channel-program address are 31-bit
// (SA22-7832 ch. 15; Documentation/s390/vfio-ccw.rst).
//
// Thread safety: all methods may be called from any thread.
#ifndef CCWPASS_TRANSLATE_ARENA_H_
#define CCWPASS_TRANSLATE_ARENA_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "translate/aligned_bytes.h"

namespace ccwpass::translate {

// Page numbers of an allocation, in allocation order.
using PageList = absl::InlinedVector<uint32_t, 8>;

class DmaArena {
 public:
  static constexpr uint32_t kPageSize = 4096;
  static constexpr uint64_t kIovaLimit = 0x80000000ull;  // 2 GiB: 31-bit addressing

  // An arena over `memory` (caller-owned; must outlive the arena), seen by the
  // device at IOVA `iova_base`.
  // Errors: kInvalidArgument when memory is empty or not a multiple of 4 KiB,
  // iova_base is not 4 KiB-aligned, or iova_base + size exceeds 2 GiB.
  static absl::StatusOr<std::unique_ptr<DmaArena>> Create(std::span<uint8_t> memory, uint64_t iova_base);

  // The same over memory the arena allocates and owns (zero-filled, 4 KiB-aligned
  // like the mmap'd arena of the agent), `bytes` long.
  static absl::StatusOr<std::unique_ptr<DmaArena>> CreateOwned(uint64_t bytes, uint64_t iova_base);

  DmaArena(const DmaArena&) = delete;
  DmaArena& operator=(const DmaArena&) = delete;

  uint64_t IovaBase() const { return iova_base_; }
  uint64_t Size() const { return memory_.size(); }
  uint32_t TotalPages() const { return static_cast<uint32_t>(memory_.size() / kPageSize); }
  uint32_t FreePageCount() const;
  // The fewest free pages there have been since creation.
  uint32_t LowWaterFreePages() const;

  // Takes `n` pages and appends their numbers to `out`.
  // Errors: kResourceExhausted (errno ENOMEM) when fewer than n pages are free;
  // nothing is taken then.
  absl::Status Allocate(uint32_t n, PageList& out);

  // Gives pages back. Each page must have come from Allocate and not been freed
  // since; a page number out of range is ignored.
  void Free(std::span<const uint32_t> pages);

  // The IOVA of the first byte of page `page`.
  uint64_t PageIova(uint32_t page) const { return iova_base_ + uint64_t{page} * kPageSize; }
  // The bytes of page `page` (kPageSize long).
  uint8_t* PageData(uint32_t page) { return memory_.data() + size_t{page} * kPageSize; }
  const uint8_t* PageData(uint32_t page) const { return memory_.data() + size_t{page} * kPageSize; }

  // `len` bytes at `iova`, for the device side (the simulated channel subsystem)
  // and for tests. Errors: kOutOfRange (errno EFAULT) when [iova, iova + len) is
  // not inside the arena.
  absl::StatusOr<std::span<uint8_t>> At(uint64_t iova, uint64_t len);
  absl::StatusOr<std::span<const uint8_t>> At(uint64_t iova, uint64_t len) const;

  // The whole arena memory, as the device sees it from IovaBase().
  std::span<uint8_t> Memory() { return memory_; }

 private:
  DmaArena(std::span<uint8_t> memory, uint64_t iova_base, PageAlignedBytes owned);

  PageAlignedBytes owned_;
  std::span<uint8_t> memory_;
  uint64_t iova_base_;
  mutable absl::Mutex mu_;
  std::vector<uint32_t> free_ ABSL_GUARDED_BY(mu_);  // stack of free page numbers
  uint32_t low_water_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ccwpass::translate

#endif  // CCWPASS_TRANSLATE_ARENA_H_
