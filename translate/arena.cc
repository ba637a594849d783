#include "translate/arena.h"

#include <cerrno>
#include <utility>

#include "absl/strings/str_format.h"
#include "translate/errors.h"

namespace ccwpass::translate {

absl::StatusOr<std::unique_ptr<DmaArena>> DmaArena::Create(std::span<uint8_t> memory, uint64_t iova_base) {
  if (memory.empty() || memory.size() % kPageSize != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "DMA arena size %d bytes is not a positive multiple of %d", memory.size(), kPageSize));
  }
  if (iova_base % kPageSize != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("DMA arena IOVA base 0x%x is not 4 KiB-aligned", iova_base));
  }
  if (iova_base > kIovaLimit || memory.size() > kIovaLimit - iova_base) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "DMA arena [0x%x, 0x%x) reaches above 2 GiB: CCWs, IDALs and the ORB's "
        "channel-program address are 31-bit",
        iova_base, iova_base + memory.size()));
  }
  return std::unique_ptr<DmaArena>(new DmaArena(memory, iova_base, {}));
}

absl::StatusOr<std::unique_ptr<DmaArena>> DmaArena::CreateOwned(uint64_t bytes, uint64_t iova_base) {
  if (bytes == 0 || bytes % kPageSize != 0 || bytes > kIovaLimit) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "DMA arena size %d bytes is not a positive multiple of %d below 2 GiB", bytes, kPageSize));
  }
  PageAlignedBytes owned(bytes);
  std::span<uint8_t> mem = owned.span();
  auto checked = Create(mem, iova_base);  // validates iova_base; the owned bytes are moved below
  if (!checked.ok()) return checked.status();
  return std::unique_ptr<DmaArena>(new DmaArena(mem, iova_base, std::move(owned)));
}

DmaArena::DmaArena(std::span<uint8_t> memory, uint64_t iova_base, PageAlignedBytes owned)
    : owned_(std::move(owned)), memory_(memory), iova_base_(iova_base) {
  // Moving the owned bytes keeps their buffer, so `memory` still designates it.
  const uint32_t n = TotalPages();
  free_.reserve(n);
  // Lowest page numbers on top of the stack: allocations start at the base.
  for (uint32_t i = n; i > 0; --i) free_.push_back(i - 1);
  low_water_ = n;
}

uint32_t DmaArena::FreePageCount() const {
  absl::MutexLock l(&mu_);
  return static_cast<uint32_t>(free_.size());
}

uint32_t DmaArena::LowWaterFreePages() const {
  absl::MutexLock l(&mu_);
  return low_water_;
}

absl::Status DmaArena::Allocate(uint32_t n, PageList& out) {
  absl::MutexLock l(&mu_);
  if (n > free_.size()) {
    return WithErrno(absl::ResourceExhaustedError(absl::StrFormat(
                         "DMA arena full: the program needs %d pages of 4 KiB, %d of %d are free", n,
                         free_.size(), TotalPages())),
                     ENOMEM);
  }
  for (uint32_t i = 0; i < n; ++i) {
    out.push_back(free_.back());
    free_.pop_back();
  }
  if (free_.size() < low_water_) low_water_ = static_cast<uint32_t>(free_.size());
  return absl::OkStatus();
}

void DmaArena::Free(std::span<const uint32_t> pages) {
  absl::MutexLock l(&mu_);
  const uint32_t total = TotalPages();
  // Push in reverse so that the next allocation gets the same pages in the same order.
  for (auto it = pages.rbegin(); it != pages.rend(); ++it) {
    if (*it < total) free_.push_back(*it);
  }
}

absl::StatusOr<std::span<uint8_t>> DmaArena::At(uint64_t iova, uint64_t len) {
  if (iova < iova_base_ || iova - iova_base_ > memory_.size() || len > memory_.size() - (iova - iova_base_)) {
    return WithErrno(absl::OutOfRangeError(absl::StrFormat(
                         "IOVA range [0x%x, +%d) is outside the DMA arena [0x%x, 0x%x)", iova, len,
                         iova_base_, iova_base_ + memory_.size())),
                     EFAULT);
  }
  return memory_.subspan(iova - iova_base_, len);
}

absl::StatusOr<std::span<const uint8_t>> DmaArena::At(uint64_t iova, uint64_t len) const {
  auto r = const_cast<DmaArena*>(this)->At(iova, len);
  if (!r.ok()) return r.status();
  return std::span<const uint8_t>(*r);
}

}  // namespace ccwpass::translate
