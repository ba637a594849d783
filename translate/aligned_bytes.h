// A zero-filled byte buffer whose first byte is 4 KiB-aligned.
//
// The translator copies data between a client's memory and the DMA arena (the
// bounce buffers). A copy runs at full speed only when source and destination
// lie at the same offset within a cache line; with both buffers page-aligned,
// a byte's host address is congruent to its guest address or IOVA modulo 4 KiB,
// and the translator can place each arena buffer to match (translator.cc,
// docs/performance.md). The DMA arena the agent maps is page-aligned already
// (mmap); this is the same for the memory the library allocates itself: the
// arena of CreateOwned and FlatGuestMemory.
#ifndef CCWPASS_TRANSLATE_ALIGNED_BYTES_H_
#define CCWPASS_TRANSLATE_ALIGNED_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <utility>

namespace ccwpass::translate {

// Owns `size()` bytes starting at a 4 KiB boundary, zero-filled when made.
// Copying copies the bytes (into a new aligned buffer); moving moves the buffer
// and leaves the source empty. Allocation failure throws std::bad_alloc, as
// std::vector's does.
class PageAlignedBytes {
 public:
  static constexpr size_t kAlignment = 4096;

  PageAlignedBytes() = default;
  // `size` zero bytes (size 0: no allocation, data() null).
  explicit PageAlignedBytes(size_t size)
      : bytes_(size == 0 ? nullptr : new (std::align_val_t{kAlignment}) uint8_t[size]()), size_(size) {}
  PageAlignedBytes(const PageAlignedBytes& o) : PageAlignedBytes(o.size_) {
    if (size_ != 0) std::memcpy(bytes_.get(), o.bytes_.get(), size_);
  }
  PageAlignedBytes& operator=(const PageAlignedBytes& o) {
    if (this != &o) *this = PageAlignedBytes(o);
    return *this;
  }
  PageAlignedBytes(PageAlignedBytes&& o) noexcept : bytes_(std::move(o.bytes_)), size_(std::exchange(o.size_, 0)) {}
  PageAlignedBytes& operator=(PageAlignedBytes&& o) noexcept {
    bytes_ = std::move(o.bytes_);
    size_ = std::exchange(o.size_, 0);
    return *this;
  }

  // Size in bytes, and the bytes (data() is kAlignment-aligned).
  size_t size() const { return size_; }
  uint8_t* data() { return bytes_.get(); }
  const uint8_t* data() const { return bytes_.get(); }
  std::span<uint8_t> span() { return {bytes_.get(), size_}; }
  std::span<const uint8_t> span() const { return {bytes_.get(), size_}; }

 private:
  struct Free {
    void operator()(uint8_t* p) const { ::operator delete[](p, std::align_val_t{kAlignment}); }
  };
  std::unique_ptr<uint8_t[], Free> bytes_;
  size_t size_ = 0;
};

}  // namespace ccwpass::translate

#endif  // CCWPASS_TRANSLATE_ALIGNED_BYTES_H_
