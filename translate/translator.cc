#include "translate/translator.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_format.h"

namespace ccwpass::translate {
namespace {

constexpr uint32_t kPage = DmaArena::kPageSize;
constexpr uint32_t kHostIdawBlock = 4096;  // the arena program uses format-2 IDAWs, 4 KiB blocks
constexpr int kFetchBatch = 32;            // CCWs read from the client per Read call
constexpr int kFirstFetchBatch = 8;        // the first Read of a chain: most chains are a few CCWs
// Most IDAWs one CCW can need: 65535 bytes in 2 KiB blocks, unaligned start.
constexpr uint32_t kMaxGuestIdaws = 65535 / 2048 + 2;

uint32_t RoundUp(uint32_t v, uint32_t to) { return (v + to - 1) / to * to; }

// Places chains and IDALs one after another in the meta pages, none across a
// page boundary: Place() returns the byte offset of the next `size` bytes.
struct MetaCursor {
  uint32_t end = 0;  // bytes placed so far, padding included
  uint32_t Place(uint32_t size) {
    if (end % kPage + size > kPage) end = RoundUp(end, kPage);
    const uint32_t off = end;
    end += size;
    return off;
  }
};

// The arena bytes of a chain: its CCWs and one spare doubleword, so that a CPA
// one past its end designates this chain and no other.
uint32_t ChainBytes(const ChainInfo& chain) { return (static_cast<uint32_t>(chain.len) + 1) * kCcwSize; }

// Bounce copies between a client buffer and its arena buffer run at full speed
// only when both start at the same offset within a cache line: on this
// project's x86-64 machine a misaligned 4 KiB memcpy takes 1.2 to 30 times as
// long as an aligned one (glibc's `rep movsb` path; docs/performance.md). Client memory
// and arena are page-aligned (aligned_bytes.h), so a buffer placed at a stream
// offset congruent to its guest address modulo kCopyAlign copies fast.
constexpr uint32_t kCopyAlign = 256;      // a multiple of every cache line (s390x: 256 B)
constexpr uint32_t kCongruentMin = 1024;  // smaller copies (glibc's vector loop) do not care

// The stream offset of a `count`-byte buffer whose client bytes start at
// `guest_addr`, when the stream's next free doubleword is `packed`: congruent
// to the guest address if the buffer is large enough for it to matter and it
// then ends in the same arena page (it takes no page and no IDAW more).
uint32_t BufferOffset(uint32_t packed, uint32_t count, uint64_t guest_addr) {
  if (count < kCongruentMin) return packed;
  const uint32_t congruent = packed + ((static_cast<uint32_t>(guest_addr) - packed) & (kCopyAlign - 1));
  return (congruent + count - 1) / kPage == (packed + count - 1) / kPage ? congruent : packed;
}

// The CCW and IDAW images of the hot path, big-endian, without arch.cc's generic
// field-by-field codec (which zero-fills, then reads, ORs and writes back each
// field's word: ~25 ns a CCW, 9% of a 3-CCW request in translate_bench). Same
// bytes as Ccw1::Decode/EncodeTo and DecodeIdaw/EncodeIdaw(kFormat2)
// (SA22-7832 ch. 15: command, flags, count, 32-bit data address); translator_test
// decodes every arena CCW and IDAW with arch.h and checks them.
// One 8-byte load or store each (a CCW or IDAW written byte by byte was 8
// stores, a measurable share of the arena writes).
inline uint64_t Load64Be(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}
inline void Store64Be(uint8_t* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof v);
}
inline Ccw1 LoadCcw1(const uint8_t* p) {
  const uint64_t v = Load64Be(p);
  return Ccw1{static_cast<uint8_t>(v >> 56), static_cast<uint8_t>(v >> 48), static_cast<uint16_t>(v >> 32),
              static_cast<uint32_t>(v)};
}
inline void StoreCcw1(uint8_t* p, const Ccw1& c) {
  Store64Be(p, uint64_t{c.cmd} << 56 | uint64_t{c.flags} << 48 | uint64_t{c.count} << 32 | c.cda);
}
inline void StoreIdaw2(uint8_t* p, uint64_t addr) { Store64Be(p, addr); }

absl::Status Policed(int err, absl::string_view rule, std::string words, uint64_t addr, int index) {
  return CcwError(absl::StatusCode::kInvalidArgument, err, rule, words, CcwLocation{addr, index});
}

}  // namespace

template <typename Copy>
absl::Status Program::ForEachPiece(uint32_t off, const Fragment* frags, uint32_t nfrags, uint32_t skip,
                                   uint32_t len, Copy copy) {
  // Bytes [skip, skip + len) of the buffer at stream offset `off`, whose client
  // side is the fragments in order.
  off += skip;
  const uint32_t* data_pages = pages_.data() + meta_pages_;
  for (uint32_t f = 0; f < nfrags && len > 0; ++f) {
    if (skip >= frags[f].len) {
      skip -= frags[f].len;
      continue;
    }
    uint64_t ga = frags[f].guest_addr + skip;
    uint32_t left = std::min(frags[f].len - skip, len);
    skip = 0;
    len -= left;
    while (left > 0) {
      const uint32_t in_page = off % kPage;
      uint32_t n = std::min(left, kPage - in_page);
      // Stream pages that are consecutive arena pages (the usual case: the arena
      // hands out runs) are contiguous in memory: one copy for all of them.
      for (uint32_t page = off / kPage; n < left && data_pages[page + 1] == data_pages[page] + 1; ++page) {
        n += std::min(left - n, kPage);
      }
      if (auto s = copy(arena_->PageData(data_pages[off / kPage]) + in_page, ga, n); !s.ok()) return s;
      ga += n;
      off += n;
      left -= n;
    }
  }
  return absl::OkStatus();
}

// The translation of one program: discovery, policing, layout and fill, in that order.
class Translator {
 public:
  // Fills `p`, a default-constructed Program: the caller's own, so that the
  // finished program is never moved (its inline CCW, chain and fragment storage
  // is ~1 KiB).
  Translator(const Orb& orb, const GuestMemory& guest, DmaArena& arena, const TranslateOptions& options,
             Program& p)
      : orb_(orb), guest_(guest), arena_(arena), options_(options), p_(p) {}

  absl::Status Run() {
    if (orb_.tm) {
      return CcwError(absl::StatusCode::kInvalidArgument, EOPNOTSUPP, "transport-mode",
                      "transport-mode ORB (B bit set): vfio-ccw runs command-mode programs only");
    }
    if (!IsDoublewordAligned(orb_.cpa) || !Is31Bit(orb_.cpa)) {
      return CcwError(absl::StatusCode::kInvalidArgument, EINVAL, "cpa-invalid",
                      absl::StrFormat("ORB channel-program address 0x%x is not a doubleword-aligned "
                                      "31-bit address",
                                      orb_.cpa));
    }
    p_.orb_ = orb_;
    guest_size_ = guest_.Size();
    if (auto s = DiscoverChains(); !s.ok()) return s;
    // Layout as the CCWs pass: chains first in the meta pages, then each data
    // CCW's IDAL there and its buffer in the data stream. Fill() repeats the
    // meta placement in the same order.
    MetaCursor meta;
    for (const ChainInfo& chain : p_.chains_) meta.Place(ChainBytes(chain));
    const int n = static_cast<int>(p_.ccws_.size());
    CcwInfo* ccws = p_.ccws_.data();
    uint32_t stream = 0;
    for (int i = 0; i < n; ++i) {
      if (auto s = PoliceCcw(i); !s.ok()) return s;
      if (ccws[i].moves_data) stream = PlaceBuffer(ccws[i], stream, meta);
    }
    if (auto s = Allocate(meta.end, stream); !s.ok()) return s;
    if (auto s = Fill(); !s.ok()) {
      p_.Release();
      return s;
    }
    return absl::OkStatus();
  }

 private:
  // Reads the chain that starts at `addr`: CCWs while they chain, or while a TIC
  // loops back into the chain read so far. `from` is the TIC that leads here.
  absl::Status FetchChain(uint64_t addr, int from_index, uint64_t from_addr) {
    const int first_index = static_cast<int>(p_.ccws_.size());
    if (static_cast<int>(p_.chains_.size()) >= options_.max_segments) {
      return Policed(ENOMEM, "too-many-segments",
                     absl::StrFormat("TIC to 0x%x starts chain segment %d: at most %d segments",
                                     addr, p_.chains_.size() + 1, options_.max_segments),
                     from_addr, from_index);
    }
    uint8_t buf[kFetchBatch * kCcwSize];
    int batch_start = 0;  // CCWs [batch_start, batch_start + in_buf) are in buf
    int in_buf = 0;
    for (int k = 0;; ++k) {
      const uint64_t a = addr + uint64_t(k) * kCcwSize;
      // A batch cut short by the end of memory is refetched at its end, where no
      // CCW fits: EFAULT, never a CCW from the unfilled buffer.
      if (k == batch_start + in_buf) {
        const uint64_t size = guest_size_;
        const uint64_t avail = a < size ? (size - a) / kCcwSize : 0;
        batch_start = k;
        in_buf = static_cast<int>(std::min<uint64_t>(
            {avail, uint64_t(k == 0 ? kFirstFetchBatch : kFetchBatch), uint64_t(options_.max_ccws_per_chain - k)}));
        if (in_buf == 0) {
          return Policed(EFAULT, "ccw-fetch",
                         absl::StrFormat("CCW fetch at 0x%x is outside the client's memory of 0x%x "
                                         "bytes",
                                         a, size),
                         a, first_index + k);
        }
        if (auto s = guest_.Read(a, std::span<uint8_t>(buf, in_buf * kCcwSize)); !s.ok()) {
          return Policed(EFAULT, "ccw-fetch", std::string(s.message()), a, first_index + k);
        }
      }
      std::span<const uint8_t, kCcwSize> raw(buf + (k - batch_start) * kCcwSize, kCcwSize);
      CcwInfo& info = p_.ccws_.emplace_back();
      info.guest_addr = a;
      info.guest = orb_.fmt ? LoadCcw1(raw.data()) : Ccw0::Decode(raw).ToFormat1();
      p_.has_tic_ |= IsTic(info.guest);
      const int cnt = k + 1;
      if (!IsChaining(info.guest) && !IsTicWithinRange(info.guest, addr, cnt)) break;
      if (cnt >= options_.max_ccws_per_chain) {
        return Policed(EINVAL, "chain-too-long",
                       absl::StrFormat("the chain at 0x%x continues past %d CCWs",
                                       addr, options_.max_ccws_per_chain),
                       a + kCcwSize, first_index + cnt);
      }
      if (!Is31Bit(a + 2 * kCcwSize - 1)) {
        return Policed(EINVAL, "chain-past-2g",
                       absl::StrFormat("the chain at 0x%x runs past 2 GiB", addr), a, first_index + k);
      }
    }
    ChainInfo& chain = p_.chains_.emplace_back();  // filled in place, see AddFragment
    chain.guest_addr = addr;
    chain.len = static_cast<int>(p_.ccws_.size()) - first_index;
    chain.first_index = first_index;
    return absl::OkStatus();
  }

  // Finds the chain segments depth-first, in the kernel's order
  // (ccwchain_handle_ccw / ccwchain_loop_tic), iteratively: no recursion to bound.
  absl::Status DiscoverChains() {
    if (auto s = FetchChain(orb_.cpa, 0, orb_.cpa); !s.ok()) return s;
    if (!p_.has_tic_) return absl::OkStatus();  // one chain; the walk below acts on TICs only
    absl::InlinedVector<std::pair<int, int>, 8> stack;  // (chain, next position)
    stack.push_back({0, 0});
    while (!stack.empty()) {
      const int ch = stack.back().first;
      const int pos = stack.back().second;
      if (pos == p_.chains_[ch].len) {
        stack.pop_back();
        continue;
      }
      stack.back().second++;
      const int idx = p_.chains_[ch].first_index + pos;
      const Ccw1 c = p_.ccws_[idx].guest;
      if (!IsTic(c)) continue;
      const uint64_t target = c.cda;
      int found = -1;
      for (size_t t = 0; t < p_.chains_.size(); ++t) {
        if (IsCpaWithinRange(target, p_.chains_[t].guest_addr, p_.chains_[t].len)) {
          found = static_cast<int>(t);
          break;
        }
      }
      if (found < 0) {
        if (!Is31Bit(target)) {
          return Policed(EINVAL, "tic-above-2g",
                         absl::StrFormat("TIC target 0x%x is above 2 GiB", target),
                         p_.ccws_[idx].guest_addr, idx);
        }
        if (auto s = FetchChain(target, idx, p_.ccws_[idx].guest_addr); !s.ok()) return s;
        found = static_cast<int>(p_.chains_.size()) - 1;
        stack.push_back({found, 0});
      }
      p_.ccws_[idx].tic_chain = found;
      p_.ccws_[idx].tic_offset = static_cast<int>(target - p_.chains_[found].guest_addr);
    }
    return absl::OkStatus();
  }

  // Checks one CCW's data designation and records the client fragments its data
  // occupy. A guest IDAL is read once, with room for the most IDAWs the count
  // can need, and every check and use works on that copy.
  absl::Status PoliceCcw(int idx) {
    CcwInfo& info = p_.ccws_[idx];
    const Ccw1& c = info.guest;
    if (IsTic(c)) return absl::OkStatus();
    info.moves_data = DoesDataTransfer(c);
    info.data_in = IsDataIn(c);
    info.frag_begin = info.frag_end = static_cast<uint32_t>(p_.frags_.size());
    if (IsMidal(c) && info.moves_data) {
      return Policed(EOPNOTSUPP, "mida",
                     "MIDA CCW: modified IDAWs are not supported (the arena program uses IDAWs)",
                     info.guest_addr, idx);
    }
    if (IsIdal(c)) return PoliceIdal(idx);
    if (!info.moves_data) return absl::OkStatus();
    if (orb_.fmt && !Is31Bit(c.cda)) {
      return Policed(EINVAL, "data-address-31bit",
                     absl::StrFormat("format-1 data address 0x%x has bit 0 set", c.cda),
                     info.guest_addr, idx);
    }
    if (!Inside(c.cda, c.count)) {
      return Policed(EFAULT, "data-outside-memory",
                     absl::StrFormat("data at 0x%x (%d bytes) is outside the client's memory of "
                                     "0x%x bytes",
                                     c.cda, c.count, guest_size_),
                     info.guest_addr, idx);
    }
    AddFragment(c.cda, c.count);
    info.frag_end = static_cast<uint32_t>(p_.frags_.size());
    return absl::OkStatus();
  }

  absl::Status PoliceIdal(int idx) {
    CcwInfo& info = p_.ccws_[idx];
    const Ccw1& c = info.guest;
    const IdawFormat fmt = orb_.c64 ? IdawFormat::kFormat2 : IdawFormat::kFormat1;
    const uint32_t block = IdawBlockSize(fmt, orb_.i2k);
    const uint32_t isz = static_cast<uint32_t>(IdawSize(fmt));
    const uint64_t ida = c.cda;
    if (ida % isz != 0) {
      return Policed(EINVAL, "idal-alignment",
                     absl::StrFormat("IDAL address 0x%x is not %s-aligned", ida,
                                     isz == 8 ? "doubleword" : "word"),
                     info.guest_addr, idx);
    }
    const uint32_t bytes = std::max<uint32_t>(c.count, 1);
    const uint64_t size = guest_size_;
    const uint64_t avail = ida < size ? (size - ida) / isz : 0;
    const uint32_t to_read =
        static_cast<uint32_t>(std::min<uint64_t>(avail, bytes / block + 2));
    if (to_read == 0) {
      return Policed(EFAULT, "idal-outside-memory",
                     absl::StrFormat("IDAL at 0x%x is outside the client's memory of 0x%x bytes", ida,
                                     size),
                     info.guest_addr, idx);
    }
    uint8_t buf[kMaxGuestIdaws * kIdaw2Size];
    if (auto s = guest_.Read(ida, std::span<uint8_t>(buf, to_read * isz)); !s.ok()) {
      return Policed(EFAULT, "idal-outside-memory", std::string(s.message()), info.guest_addr, idx);
    }
    auto idaw = [&](uint32_t k) { return DecodeIdaw(fmt, std::span<const uint8_t>(buf + k * isz, isz)); };
    const uint64_t first = idaw(0);
    const uint32_t n = IdawCount(first, bytes, block);
    if (n > to_read) {
      return Policed(EFAULT, "idal-outside-memory",
                     absl::StrFormat("IDAL at 0x%x needs %d IDAWs for %d bytes; only %d lie inside "
                                     "the client's memory",
                                     ida, n, bytes, to_read),
                     info.guest_addr, idx);
    }
    uint32_t remaining = c.count;
    for (uint32_t k = 0; k < n; ++k) {
      const uint64_t a = idaw(k);
      if (fmt == IdawFormat::kFormat1 && !Is31Bit(a)) {
        return Policed(EINVAL, "idaw-31bit",
                       absl::StrFormat("format-1 IDAW %d (0x%x) has bit 0 set", k, a),
                       info.guest_addr, idx);
      }
      if (k > 0 && a % block != 0) {
        return Policed(EINVAL, "idaw-boundary",
                       absl::StrFormat("IDAW %d (0x%x) is not on a %d KiB boundary", k, a, block / 1024),
                       info.guest_addr, idx);
      }
      if (!info.moves_data) continue;
      const uint32_t len = std::min<uint32_t>(remaining, block - static_cast<uint32_t>(a % block));
      if (!Inside(a, len)) {
        return Policed(EFAULT, "data-outside-memory",
                       absl::StrFormat("data of IDAW %d at 0x%x (%d bytes) is outside the client's "
                                       "memory of 0x%x bytes",
                                       k, a, len, size),
                       info.guest_addr, idx);
      }
      AddFragment(a, len);
      remaining -= len;
    }
    info.frag_end = static_cast<uint32_t>(p_.frags_.size());
    return absl::OkStatus();
  }

  // Appends a client data fragment, written where it lies: a struct built on the
  // stack and copied in is written in narrow stores and read back wide, which
  // stalls store forwarding (~10 ns each on this machine; docs/performance.md).
  void AddFragment(uint64_t addr, uint32_t len) {
    Program::Fragment& f = p_.frags_.emplace_back();
    f.guest_addr = addr;
    f.len = len;
  }

  // GuestMemory::Contains with the size read once.
  bool Inside(uint64_t addr, uint64_t len) const { return addr <= guest_size_ && len <= guest_size_ - addr; }

  // Places the buffer of data CCW `info` in the data stream at or after
  // `stream` (its stream_off) and its IDAL with `meta`; counts them in the
  // stats. Returns the stream's next free doubleword.
  uint32_t PlaceBuffer(CcwInfo& info, uint32_t stream, MetaCursor& meta) {
    const uint32_t count = info.guest.count;
    stream = BufferOffset(stream, count, p_.frags_.data()[info.frag_begin].guest_addr);
    info.stream_off = stream;
    const uint32_t n = IdawCount(stream, count, kHostIdawBlock);
    meta.Place(n * kIdaw2Size);
    p_.stats_.idaws += n;
    p_.stats_.bytes += count;
    return RoundUp(stream + count, 8);
  }

  // Takes the meta pages for `meta_bytes` and the data pages for `stream_bytes`
  // in one allocation.
  absl::Status Allocate(uint32_t meta_bytes, uint32_t stream_bytes) {
    p_.meta_pages_ = RoundUp(meta_bytes, kPage) / kPage;
    const uint32_t total = p_.meta_pages_ + RoundUp(stream_bytes, kPage) / kPage;
    if (auto s = arena_.Allocate(total, p_.pages_); !s.ok()) {
      return CcwError(s.code(), ENOMEM, "arena-full", s.message());
    }
    p_.arena_ = &arena_;
    p_.stats_.pages = total;
    p_.stats_.chains = static_cast<int>(p_.chains_.size());
    p_.stats_.ccws = static_cast<int>(p_.ccws_.size());
    return absl::OkStatus();
  }

  uint64_t MetaIova(uint32_t off) const { return arena_.PageIova(p_.pages_.data()[off / kPage]) + off % kPage; }
  uint8_t* MetaPtr(uint32_t off) { return arena_.PageData(p_.pages_.data()[off / kPage]) + off % kPage; }
  // The IOVA of the data stream's page `page`.
  uint64_t StreamPageIova(uint32_t page) const { return arena_.PageIova(p_.pages_.data()[p_.meta_pages_ + page]); }

  // Writes the arena program: chains, IDALs, data, ORB. The meta offsets are
  // placed again in Run()'s order: chains, then IDALs in CCW index order (the
  // order of the chains' CCWs).
  absl::Status Fill() {
    ChainInfo* chains = p_.chains_.data();
    const int nchains = static_cast<int>(p_.chains_.size());
    CcwInfo* ccws = p_.ccws_.data();
    MetaCursor idals;
    for (int ch = 0; ch < nchains; ++ch) {
      chains[ch].host_iova = static_cast<uint32_t>(MetaIova(idals.Place(ChainBytes(chains[ch]))));
    }
    MetaCursor chain_meta;
    for (int ch = 0; ch < nchains; ++ch) {
      const ChainInfo& chain = chains[ch];
      uint8_t* slots = MetaPtr(chain_meta.Place(ChainBytes(chain)));
      for (int i = 0; i < chain.len; ++i) {
        const int idx = chain.first_index + i;
        CcwInfo& info = ccws[idx];
        // Built in a local and stored once (a field update of info.host in
        // memory right after storing it stalls).
        Ccw1 host = info.guest;
        if (IsTic(host)) {
          host.cda = chains[info.tic_chain].host_iova + static_cast<uint32_t>(info.tic_offset);
        } else if (!info.moves_data) {
          // Nothing is transferred: no data address to translate.
          host.flags &= static_cast<uint8_t>(~(ccw_flag::kIda | ccw_flag::kMida));
          host.cda = 0;
        } else {
          host.flags |= ccw_flag::kIda;
          if (auto s = FillBuffer(info, idx, idals, host.cda); !s.ok()) return s;
        }
        info.host = host;
        StoreCcw1(slots + i * kCcwSize, host);
      }
      std::memset(slots + chain.len * kCcwSize, 0, kCcwSize);
    }
    p_.orb_.fmt = true;
    p_.orb_.c64 = true;
    p_.orb_.i2k = false;
    p_.orb_.key = 0;  // as the kernel's cp_get_orb(): the arena has the default storage key
    p_.orb_.cpa = chains[0].host_iova;
    if (!orb_.pfch) {
      p_.warnings_.push_back(
          "ORB prefetch bit is clear: current kernels accept it, older ones refuse it with "
          "EOPNOTSUPP");
    }
    return absl::OkStatus();
  }

  // The IDAL (placed with `idals`; its IOVA to `idal_iova`) and the buffer of
  // data CCW `info`, index `idx`.
  absl::Status FillBuffer(const CcwInfo& info, int idx, MetaCursor& idals, uint32_t& idal_iova) {
    const uint32_t off = info.stream_off;
    const uint32_t count = info.guest.count;  // > 0: it moves data
    const uint32_t idal = idals.Place(IdawCount(off, count, kHostIdawBlock) * kIdaw2Size);
    idal_iova = static_cast<uint32_t>(MetaIova(idal));
    // The IDAL: the buffer's start, then the start of each following stream page
    // up to the one that holds its last byte.
    uint8_t* out = MetaPtr(idal);
    StoreIdaw2(out, StreamPageIova(off / kPage) + off % kPage);
    for (uint32_t page = off / kPage + 1; page <= (off + count - 1) / kPage; ++page) {
      out += kIdaw2Size;
      StoreIdaw2(out, StreamPageIova(page));
    }
    // Write data go to the device; read buffers start as the client's bytes so
    // that whatever the device does not store reads back unchanged.
    const GuestMemory& guest = guest_;
    auto s = p_.ForEachPiece(off, p_.frags_.data() + info.frag_begin, info.frag_end - info.frag_begin, 0, count,
                             [&guest](uint8_t* arena, uint64_t ga, uint32_t n) {
                               return guest.Read(ga, std::span<uint8_t>(arena, n));
                             });
    if (!s.ok()) return Policed(EFAULT, "data-outside-memory", std::string(s.message()), info.guest_addr, idx);
    return absl::OkStatus();
  }

  const Orb& orb_;
  const GuestMemory& guest_;
  DmaArena& arena_;
  const TranslateOptions& options_;
  Program& p_;
  uint64_t guest_size_ = 0;  // guest_.Size(), read once
};

absl::StatusOr<Program> Translate(const Orb& orb, const GuestMemory& guest, DmaArena& arena,
                                  const TranslateOptions& options) {
  // Built where the caller receives it (one named result: NRVO), not moved in.
  absl::StatusOr<Program> result(absl::in_place);
  if (absl::Status s = Translator(orb, guest, arena, options, *result).Run(); !s.ok()) result = std::move(s);
  return result;
}

Program::Program(Program&& o) noexcept { *this = std::move(o); }

Program& Program::operator=(Program&& o) noexcept {
  if (this != &o) {
    Release();
    arena_ = std::exchange(o.arena_, nullptr);
    pages_ = std::move(o.pages_);
    o.pages_.clear();
    meta_pages_ = o.meta_pages_;
    has_tic_ = o.has_tic_;
    orb_ = o.orb_;
    stats_ = o.stats_;
    warnings_ = std::move(o.warnings_);
    chains_ = std::move(o.chains_);
    ccws_ = std::move(o.ccws_);
    frags_ = std::move(o.frags_);
  }
  return *this;
}

Program::~Program() { Release(); }

void Program::Release() {
  if (arena_ != nullptr) {
    arena_->Free(pages_);
    arena_ = nullptr;
  }
  pages_.clear();
}

const ChainInfo* Program::ChainOfHostCpa(uint64_t host_cpa) const {
  for (const ChainInfo& ch : chains_) {
    // On successful execution the CPA points just past the chain's last CCW.
    if (IsCpaWithinRange(host_cpa, ch.host_iova, uint64_t(ch.len) + 1)) return &ch;
  }
  return nullptr;
}

absl::StatusOr<uint64_t> Program::GuestCpa(uint64_t host_cpa) const {
  if (const ChainInfo* ch = ChainOfHostCpa(host_cpa)) return ch->guest_addr + (host_cpa - ch->host_iova);
  return absl::OutOfRangeError(
      absl::StrFormat("SCSW CPA 0x%x designates no CCW of this channel program", host_cpa));
}

bool Program::UsesGuestRange(uint64_t addr, uint64_t len) const {
  if (!active() || len == 0) return false;
  auto hits = [&](uint64_t a, uint64_t n) { return a < addr + len && addr < a + n; };
  for (const ChainInfo& c : chains_) {
    if (hits(c.guest_addr, uint64_t{8} * c.len)) return true;
  }
  for (const Fragment& f : frags_) {
    if (hits(f.guest_addr, f.len)) return true;
  }
  return false;
}

absl::StatusOr<Completion> Program::Complete(const Scsw& scsw, GuestMemory& guest) {
  // Built where the caller receives it (one named result: NRVO), not moved in.
  absl::StatusOr<Completion> result(absl::in_place);
  absl::Status s = arena_ == nullptr ? absl::FailedPreconditionError(
                                           "the channel program is not active (already completed or released)")
                                     : CompleteInto(scsw, guest, *result);
  if (!s.ok()) result = std::move(s);
  return result;
}

void Program::MarkExecuted(int last, uint8_t* seen) const {
  const int n = static_cast<int>(ccws_.size());
  absl::InlinedVector<int, 16> work;
  auto visit = [&](int i) {
    if (i >= 0 && i < n && !seen[i]) {
      seen[i] = 1;
      work.push_back(i);
    }
  };
  // Which chain, and position in it, a CCW index has.
  auto chain_of = [&](int i) -> const ChainInfo& {
    for (const ChainInfo& ch : chains_) {
      if (i >= ch.first_index && i < ch.first_index + ch.len) return ch;
    }
    return chains_[0];
  };
  visit(0);
  seen[last] = 1;
  while (!work.empty()) {
    const int i = work.back();
    work.pop_back();
    if (i == last) continue;
    const CcwInfo& info = ccws_[i];
    if (IsTic(info.guest)) {
      if (info.tic_offset % kCcwSize == 0) {
        visit(chains_[info.tic_chain].first_index + info.tic_offset / static_cast<int>(kCcwSize));
      }
      continue;
    }
    if (!IsChaining(info.guest)) continue;
    const ChainInfo& ch = chain_of(i);
    const int pos = i - ch.first_index;
    if (pos + 1 < ch.len) visit(i + 1);
    // The status modifier (a SEARCH that matched) skips the next CCW: programs
    // use it to step over the TIC that otherwise loops back to the SEARCH.
    if (IsCommandChaining(info.guest) && pos + 2 < ch.len && IsTic(ccws_[i + 1].guest)) visit(i + 2);
  }
}

absl::Status Program::CompleteInto(const Scsw& scsw, GuestMemory& guest, Completion& out) {
  absl::Cleanup release = [this] { Release(); };
  out.scsw = scsw;
  const ChainInfo* cpa_chain = ChainOfHostCpa(scsw.cpa);
  const bool designates_ccw = (scsw.fctl & scsw_fctl::kStart) != 0 && (scsw.fctl & scsw_fctl::kClear) == 0 &&
                              (scsw.stctl & (scsw_stctl::kPrimary | scsw_stctl::kAlert | scsw_stctl::kIntermediate)) != 0 &&
                              scsw.cc == 0;
  if (cpa_chain != nullptr) {
    out.scsw.cpa = static_cast<uint32_t>(cpa_chain->guest_addr + (scsw.cpa - cpa_chain->host_iova));
  }
  if (!designates_ccw) return absl::OkStatus();
  if (cpa_chain == nullptr) return GuestCpa(scsw.cpa).status();

  // The CCW before the one the CPA designates is the last one executed.
  const int k = static_cast<int>((scsw.cpa - cpa_chain->host_iova) / kCcwSize);
  if (k < 1) return absl::OkStatus();  // the CPA designates a chain's first CCW: none executed
  const int last = cpa_chain->first_index + k - 1;
  const CcwInfo* ccws = ccws_.data();
  out.last_ccw = CcwLocation{ccws[last].guest_addr, last};
  if (scsw.count > ccws[last].guest.count) {
    return absl::DataLossError(absl::StrFormat(
        "residual count %d exceeds the count %d of the last CCW executed (ccw %d at 0x%x)", scsw.count,
        ccws[last].guest.count, last, ccws[last].guest_addr));
  }

  // The CCWs on the path from the first CCW to the last executed one: sequential
  // chaining, TICs, and the status-modifier skip over a TIC. Without a TIC the
  // program is one chain whose CCWs up to the last executed one all chain to the
  // next: the path is [0, last], and the walk is not needed.
  absl::InlinedVector<uint8_t, 16> seen;
  int end = last + 1;
  if (has_tic_) {
    end = static_cast<int>(ccws_.size());
    seen.assign(ccws_.size(), 0);
    MarkExecuted(last, seen.data());
  }
  auto executed = [&](int i) { return !has_tic_ || seen[i] != 0; };

  // One allocation at most for the transfers, not one per doubling (none when
  // they fit in the inline storage).
  if (static_cast<size_t>(end) > out.transfers.capacity()) {
    size_t ntransfers = 0;
    for (int i = 0; i < end; ++i) ntransfers += executed(i) && ccws[i].moves_data;
    out.transfers.reserve(ntransfers);
  }
  for (int i = 0; i < end; ++i) {
    const CcwInfo& info = ccws[i];
    if (!info.moves_data || !executed(i)) continue;
    const uint32_t moved = i == last ? info.guest.count - scsw.count : info.guest.count;
    // Filled where it lies, as Translator::AddFragment does.
    CcwTransfer& t = out.transfers.emplace_back();
    t.index = i;
    t.ccw_addr = info.guest_addr;
    t.cmd = info.guest.cmd;
    t.data_in = info.data_in;
    t.bytes = moved;
    if (!info.data_in) {
      out.bytes_out += moved;
      continue;
    }
    // Read backward stores from the end of the buffer toward its start.
    const uint32_t skip = IsReadBackward(info.guest) ? info.guest.count - moved : 0;
    if (auto s = ForEachPiece(info.stream_off, frags_.data() + info.frag_begin, info.frag_end - info.frag_begin,
                              skip, moved,
                              [&guest](const uint8_t* arena, uint64_t ga, uint32_t n) {
                                return guest.Write(ga, std::span<const uint8_t>(arena, n));
                              });
        !s.ok()) {
      return s;
    }
    out.bytes_in += moved;
  }
  return absl::OkStatus();
}

}  // namespace ccwpass::translate
