// A client's memory, addressed the way its channel program addresses it.
//
// Clients never hand the agent raw pointers: a channel program comes with an
// image of the memory it addresses (built by the program builder, or given in a
// raw program file). The translator reads CCWs, IDALs and write data from it and
// writes read data back into it, always through these bounds-checked calls:
// an access outside [0, size) is an error, never a crash.
#ifndef CCWPASS_TRANSLATE_GUEST_MEMORY_H_
#define CCWPASS_TRANSLATE_GUEST_MEMORY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "translate/aligned_bytes.h"

namespace ccwpass::translate {

class GuestMemory {
 public:
  virtual ~GuestMemory() = default;

  // Size in bytes: valid addresses are [0, Size()).
  virtual uint64_t Size() const = 0;

  // Copies out.size() bytes at guest address `addr` into `out`.
  // Errors: kOutOfRange (errno EFAULT) when [addr, addr + out.size()) is not
  // entirely inside the memory; nothing is copied then.
  virtual absl::Status Read(uint64_t addr, std::span<uint8_t> out) const = 0;

  // Copies `in` to guest address `addr`.
  // Errors: kOutOfRange (errno EFAULT) when the range is not inside the memory;
  // nothing is written then.
  virtual absl::Status Write(uint64_t addr, std::span<const uint8_t> in) = 0;

  // True when [addr, addr + len) lies inside the memory (len 0 counts as inside
  // when addr <= Size()).
  bool Contains(uint64_t addr, uint64_t len) const {
    return addr <= Size() && len <= Size() - addr;
  }

 protected:
  // The error Read/Write return for an out-of-range access.
  absl::Status OutOfRange(const char* op, uint64_t addr, uint64_t len) const;
};

// Contiguous memory of a fixed size, zero-filled; for images the program
// builder makes (small, dense). Its bytes are 4 KiB-aligned: a byte's host
// address is congruent to its guest address modulo 4 KiB (aligned_bytes.h).
class FlatGuestMemory final : public GuestMemory {
 public:
  // A zero-filled memory of `size` bytes.
  explicit FlatGuestMemory(uint64_t size) : bytes_(size) {}

  uint64_t Size() const override { return bytes_.size(); }
  absl::Status Read(uint64_t addr, std::span<uint8_t> out) const override;
  absl::Status Write(uint64_t addr, std::span<const uint8_t> in) override;

  // The whole memory (for tests and for the builder).
  std::span<const uint8_t> Bytes() const { return bytes_.span(); }

 private:
  PageAlignedBytes bytes_;
};

// Sparse memory of any size up to 2^64 - 1 bytes in 4 KiB pages: unwritten pages
// read as zeros and cost nothing; for raw program files whose memory is large
// and mostly empty.
class SparseGuestMemory final : public GuestMemory {
 public:
  static constexpr uint64_t kPageSize = 4096;

  explicit SparseGuestMemory(uint64_t size) : size_(size) {}

  uint64_t Size() const override { return size_; }
  absl::Status Read(uint64_t addr, std::span<uint8_t> out) const override;
  absl::Status Write(uint64_t addr, std::span<const uint8_t> in) override;

  // Number of pages that hold data.
  size_t PagesInUse() const { return pages_.size(); }

 private:
  // Pages are 4 KiB-aligned, as FlatGuestMemory's bytes are.
  struct alignas(kPageSize) Page : std::array<uint8_t, kPageSize> {};
  uint64_t size_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Page>> pages_;  // page number -> bytes
};

}  // namespace ccwpass::translate

#endif  // CCWPASS_TRANSLATE_GUEST_MEMORY_H_
