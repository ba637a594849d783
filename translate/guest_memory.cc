#include "translate/guest_memory.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "translate/errors.h"

namespace ccwpass::translate {

absl::Status GuestMemory::OutOfRange(const char* op, uint64_t addr, uint64_t len) const {
  return WithErrno(absl::OutOfRangeError(absl::StrFormat(
                       "guest memory %s of %d bytes at 0x%x is outside the memory of 0x%x bytes", op,
                       len, addr, Size())),
                   EFAULT);
}

absl::Status FlatGuestMemory::Read(uint64_t addr, std::span<uint8_t> out) const {
  if (!Contains(addr, out.size())) return OutOfRange("read", addr, out.size());
  if (!out.empty()) std::memcpy(out.data(), bytes_.data() + addr, out.size());
  return absl::OkStatus();
}

absl::Status FlatGuestMemory::Write(uint64_t addr, std::span<const uint8_t> in) {
  if (!Contains(addr, in.size())) return OutOfRange("write", addr, in.size());
  if (!in.empty()) std::memcpy(bytes_.data() + addr, in.data(), in.size());
  return absl::OkStatus();
}

absl::Status SparseGuestMemory::Read(uint64_t addr, std::span<uint8_t> out) const {
  if (!Contains(addr, out.size())) return OutOfRange("read", addr, out.size());
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t a = addr + done;
    const uint64_t off = a % kPageSize;
    const size_t n = std::min<uint64_t>(out.size() - done, kPageSize - off);
    auto it = pages_.find(a / kPageSize);
    if (it == pages_.end()) {
      std::memset(out.data() + done, 0, n);
    } else {
      std::memcpy(out.data() + done, it->second->data() + off, n);
    }
    done += n;
  }
  return absl::OkStatus();
}

absl::Status SparseGuestMemory::Write(uint64_t addr, std::span<const uint8_t> in) {
  if (!Contains(addr, in.size())) return OutOfRange("write", addr, in.size());
  size_t done = 0;
  while (done < in.size()) {
    const uint64_t a = addr + done;
    const uint64_t off = a % kPageSize;
    const size_t n = std::min<uint64_t>(in.size() - done, kPageSize - off);
    std::unique_ptr<Page>& page = pages_[a / kPageSize];
    if (page == nullptr) {
      page = std::make_unique<Page>();
      page->fill(0);
    }
    std::memcpy(page->data() + off, in.data() + done, n);
    done += n;
  }
  return absl::OkStatus();
}

}  // namespace ccwpass::translate
