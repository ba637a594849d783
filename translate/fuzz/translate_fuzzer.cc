// libFuzzer target: Translate() of an arbitrary ORB and client memory image, then
// Program::Complete() with an SCSW from the input, with the invariants the agent
// relies on checked after each step (a violation traps):
//   - a refused program takes no arena page; a translated one takes exactly
//     stats().pages and gives all of them back on Complete/Release/destruction;
//   - the stats agree with the chains and CCWs (ccws == sum of chain lengths, ...);
//   - the arena program points the device only into the arena: every host CCW is
//     in the arena as ccws()[i].host says, every TIC designates a CCW of a chain,
//     every data-moving CCW is an IDAL CCW whose IDAWs and data blocks lie inside
//     the arena; nothing else carries an address;
//   - two programs active at once share no arena page;
//   - Complete's transfers add up and never exceed the CCWs' counts.
// Input format: translate_input.h. Seeds: corpus/translate_fuzzer/ (make_seeds.cc).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <span>

#include "translate/arch.h"
#include "translate/fuzz/fuzz_check.h"
#include "translate/arena.h"
#include "translate/fuzz/translate_input.h"
#include "translate/guest_memory.h"
#include "translate/rules.h"
#include "translate/translator.h"

namespace ccwpass::translate::fuzz {
namespace {


constexpr uint64_t kBigIova = 0x100000;
constexpr uint32_t kBigPages = 256;  // 1 MiB
constexpr uint64_t kTinyIova = 0x7FF00000;  // just below 2 GiB
constexpr uint32_t kTinyPages = 4;

DmaArena& ArenaOf(bool tiny) {
  static DmaArena* big = DmaArena::CreateOwned(uint64_t{kBigPages} * DmaArena::kPageSize, kBigIova)->release();
  static DmaArena* small =
      DmaArena::CreateOwned(uint64_t{kTinyPages} * DmaArena::kPageSize, kTinyIova)->release();
  return tiny ? *small : *big;
}

uint32_t PageOf(const DmaArena& a, uint64_t iova) {
  return static_cast<uint32_t>((iova - a.IovaBase()) / DmaArena::kPageSize);
}

// [iova, iova + len) lies inside the arena; len >= 1.
bool InArena(DmaArena& a, uint64_t iova, uint64_t len) { return a.At(iova, len).ok(); }

// Marks the pages [iova, iova + len) touch.
void Touch(const DmaArena& a, uint64_t iova, uint64_t len, std::set<uint32_t>& pages) {
  for (uint32_t p = PageOf(a, iova); p <= PageOf(a, iova + len - 1); ++p) pages.insert(p);
}

Ccw1 HostCcwAt(DmaArena& a, uint64_t iova) {
  auto s = a.At(iova, kCcwSize);
  FUZZ_CHECK(s.ok());
  return Ccw1::Decode(std::span<const uint8_t, kCcwSize>(s->data(), kCcwSize));
}

uint64_t IdawAt(DmaArena& a, uint64_t iova) {
  auto s = a.At(iova, kIdaw2Size);
  FUZZ_CHECK(s.ok());
  return DecodeIdaw(IdawFormat::kFormat2, *s);
}

// Checks a translated program against the client's memory and the arena;
// returns the arena pages it uses.
std::set<uint32_t> CheckProgram(const Program& p, const Orb& client_orb, const GuestMemory& guest, DmaArena& a,
                                uint32_t free_before) {
  std::set<uint32_t> pages;
  const ProgramStats& st = p.stats();
  FUZZ_CHECK(p.active());
  // Every CCW was fetched from inside the client's memory, and is what is there.
  for (const CcwInfo& info : p.ccws()) {
    std::array<uint8_t, kCcwSize> raw;
    FUZZ_CHECK(guest.Read(info.guest_addr, raw).ok());
    const Ccw1 c = client_orb.fmt ? Ccw1::Decode(raw) : Ccw0::Decode(raw).ToFormat1();
    FUZZ_CHECK(c == info.guest);
  }
  FUZZ_CHECK(st.chains == static_cast<int>(p.chains().size()));
  FUZZ_CHECK(st.chains >= 1 && st.chains <= kMaxChainSegments);
  FUZZ_CHECK(st.ccws == static_cast<int>(p.ccws().size()));
  FUZZ_CHECK(st.pages == free_before - a.FreePageCount());
  int sum = 0;
  for (const ChainInfo& ch : p.chains()) {
    FUZZ_CHECK(ch.len >= 1 && ch.len <= kMaxCcwsPerChain);
    FUZZ_CHECK(ch.first_index == sum);
    sum += ch.len;
    // The chain and its spare doubleword, in the arena.
    FUZZ_CHECK(IsDoublewordAligned(ch.host_iova));
    FUZZ_CHECK(InArena(a, ch.host_iova, uint64_t(ch.len + 1) * kCcwSize));
    Touch(a, ch.host_iova, uint64_t(ch.len + 1) * kCcwSize, pages);
    FUZZ_CHECK(HostCcwAt(a, ch.host_iova + uint64_t(ch.len) * kCcwSize) == Ccw1{});
  }
  FUZZ_CHECK(sum == st.ccws);

  const Orb& o = p.orb();
  FUZZ_CHECK(o.fmt && o.c64 && !o.i2k && !o.tm && o.key == 0);
  FUZZ_CHECK(o.cpa == p.chains()[0].host_iova);

  int idaws = 0;
  uint64_t bytes = 0;
  for (const ChainInfo& ch : p.chains()) {
    for (int i = 0; i < ch.len; ++i) {
      const CcwInfo& info = p.ccws()[ch.first_index + i];
      const Ccw1 host = HostCcwAt(a, ch.host_iova + uint64_t(i) * kCcwSize);
      FUZZ_CHECK(host == info.host);
      FUZZ_CHECK(host.cmd == info.guest.cmd);
      if (IsTic(info.guest)) {
        // A TIC designates a CCW of one of the chains.
        bool found = false;
        for (const ChainInfo& t : p.chains()) {
          found = found || IsCpaWithinRange(host.cda, t.host_iova, t.len);
        }
        FUZZ_CHECK(found);
        continue;
      }
      FUZZ_CHECK(host.count == info.guest.count);
      constexpr uint8_t kAddr = ccw_flag::kIda | ccw_flag::kMida;
      FUZZ_CHECK((host.flags & ~kAddr) == (info.guest.flags & ~kAddr));
      FUZZ_CHECK(info.moves_data == DoesDataTransfer(info.guest));
      if (!info.moves_data) {
        FUZZ_CHECK(host.cda == 0 && (host.flags & kAddr) == 0);
        continue;
      }
      FUZZ_CHECK((host.flags & kAddr) == ccw_flag::kIda);
      bytes += host.count;
      const uint64_t first = IdawAt(a, host.cda);
      const uint32_t n = IdawCount(first, host.count, 4096);
      idaws += static_cast<int>(n);
      FUZZ_CHECK(IsDoublewordAligned(host.cda));
      FUZZ_CHECK(InArena(a, host.cda, uint64_t{n} * kIdaw2Size));
      Touch(a, host.cda, uint64_t{n} * kIdaw2Size, pages);
      uint32_t left = host.count;
      for (uint32_t k = 0; k < n; ++k) {
        const uint64_t w = IdawAt(a, host.cda + uint64_t{k} * kIdaw2Size);
        if (k > 0) FUZZ_CHECK(w % 4096 == 0);
        const uint32_t len = std::min<uint32_t>(left, 4096 - static_cast<uint32_t>(w % 4096));
        FUZZ_CHECK(len >= 1);
        FUZZ_CHECK(InArena(a, w, len));
        Touch(a, w, len, pages);
        left -= len;
      }
      FUZZ_CHECK(left == 0);
    }
  }
  FUZZ_CHECK(idaws == st.idaws);
  FUZZ_CHECK(bytes == st.bytes);
  FUZZ_CHECK(pages.size() <= st.pages);
  return pages;
}

// Stores a pattern into the buffers of the CCWs that take data in, as a device would.
void PlayDevice(const Program& p, DmaArena& a, uint8_t seed) {
  for (const CcwInfo& info : p.ccws()) {
    if (!info.moves_data || !info.data_in) continue;
    const uint32_t n = IdawCount(IdawAt(a, info.host.cda), info.host.count, 4096);
    uint32_t left = info.host.count;
    for (uint32_t k = 0; k < n; ++k) {
      const uint64_t w = IdawAt(a, info.host.cda + uint64_t{k} * kIdaw2Size);
      const uint32_t len = std::min<uint32_t>(left, 4096 - static_cast<uint32_t>(w % 4096));
      auto s = a.At(w, len);
      FUZZ_CHECK(s.ok());
      for (uint32_t i = 0; i < len; ++i) (*s)[i] = static_cast<uint8_t>(seed + i);
      left -= len;
    }
  }
}

void CheckCompletion(const Program& p, const Completion& c) {
  uint64_t in = 0, out = 0;
  int prev = -1;
  for (const CcwTransfer& t : c.transfers) {
    FUZZ_CHECK(t.index > prev && t.index < static_cast<int>(p.ccws().size()));
    prev = t.index;
    const CcwInfo& info = p.ccws()[t.index];
    FUZZ_CHECK(info.moves_data);
    FUZZ_CHECK(t.bytes <= info.guest.count);
    FUZZ_CHECK(t.ccw_addr == info.guest_addr && t.cmd == info.guest.cmd && t.data_in == info.data_in);
    (t.data_in ? in : out) += t.bytes;
  }
  FUZZ_CHECK(in == c.bytes_in && out == c.bytes_out);
  if (c.last_ccw.has_value()) {
    FUZZ_CHECK(c.last_ccw->index >= 0 && c.last_ccw->index < static_cast<int>(p.ccws().size()));
    FUZZ_CHECK(c.last_ccw->addr == p.ccws()[c.last_ccw->index].guest_addr);
  }
}

}  // namespace
}  // namespace ccwpass::translate::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ccwpass::translate;
  using namespace ccwpass::translate::fuzz;
  if (size < kInImage) return -1;  // not kept in the corpus
  const uint8_t ctl = data[kInCtl];
  Orb orb = Orb::Decode(std::span<const uint8_t, kOrbSize>(data + kInOrb, kOrbSize));
  if (ctl & kCtlClearTm) orb.tm = false;
  Scsw scsw = Scsw::Decode(std::span<const uint8_t, kScswSize>(data + kInScsw, kScswSize));

  const size_t image = std::min(size - kInImage, kMaxImage);
  FlatGuestMemory guest(image);
  FUZZ_CHECK(guest.Write(0, std::span<const uint8_t>(data + kInImage, image)).ok());
  if (image > 0) orb.cpa = static_cast<uint32_t>(orb.cpa % image);
  if (ctl & kCtlAlignCpa) orb.cpa &= ~7u;

  DmaArena& arena = ArenaOf(ctl & kCtlTinyArena);
  const uint32_t total = arena.TotalPages();
  FUZZ_CHECK(arena.FreePageCount() == total);  // nothing left over from an earlier input

  auto p = Translate(orb, guest, arena);
  if (!p.ok()) {
    FUZZ_CHECK(arena.FreePageCount() == total);
    FUZZ_CHECK(!ErrnoOf(p.status()).has_value() || *ErrnoOf(p.status()) > 0);
    if (ctl & kCtlTwice) {
      // A refusal depends on nothing but the request: the same one again gets the same.
      auto q = Translate(orb, guest, arena);
      FUZZ_CHECK(!q.ok() && q.status() == p.status());
      FUZZ_CHECK(arena.FreePageCount() == total);
    }
    return 0;
  }
  const std::set<uint32_t> pages = CheckProgram(*p, orb, guest, arena, total);

  if (ctl & kCtlTwice) {
    // The same request again while the first is active: the same program (the
    // translation depends on nothing but the request) on other pages, or a full arena.
    const uint32_t free_now = arena.FreePageCount();
    auto q = Translate(orb, guest, arena);
    if (q.ok()) {
      const std::set<uint32_t> qpages = CheckProgram(*q, orb, guest, arena, free_now);
      for (uint32_t pg : qpages) FUZZ_CHECK(pages.count(pg) == 0);
      FUZZ_CHECK(q->stats().ccws == p->stats().ccws && q->stats().pages == p->stats().pages);
      for (size_t i = 0; i < p->ccws().size(); ++i) {
        FUZZ_CHECK(q->ccws()[i].guest_addr == p->ccws()[i].guest_addr && q->ccws()[i].guest == p->ccws()[i].guest);
      }
    } else {
      FUZZ_CHECK(q.status().code() == absl::StatusCode::kResourceExhausted);
      FUZZ_CHECK(arena.FreePageCount() == free_now);
    }
  }  // q, if any, gives its pages back here
  FUZZ_CHECK(arena.FreePageCount() == total - p->stats().pages);

  if (ctl & kCtlDrop) {
    p = absl::InternalError("dropped");  // the destructor returns the pages
    FUZZ_CHECK(arena.FreePageCount() == total);
    return 0;
  }
  if (ctl & kCtlRelease) {
    p->Release();
    FUZZ_CHECK(!p->active());
    FUZZ_CHECK(arena.FreePageCount() == total);
    return 0;
  }

  if (!(ctl & kCtlRawScswCpa)) {
    const auto& chains = p->chains();
    const ChainInfo& ch = chains[data[kInChainSel] % chains.size()];
    const uint32_t k = data[kInCcwSel] % static_cast<uint32_t>(ch.len + 2);
    scsw.cpa = ch.host_iova + k * static_cast<uint32_t>(kCcwSize);
  }
  if (ctl & kCtlPlayDevice) PlayDevice(*p, arena, data[kInChainSel]);

  const uint64_t guest_size = guest.Size();
  auto done = p->Complete(scsw, guest);
  FUZZ_CHECK(!p->active());
  FUZZ_CHECK(arena.FreePageCount() == total);
  FUZZ_CHECK(guest.Size() == guest_size);
  if (done.ok()) CheckCompletion(*p, *done);
  // A second Complete is refused and changes nothing.
  auto again = p->Complete(scsw, guest);
  FUZZ_CHECK(!again.ok() && again.status().code() == absl::StatusCode::kFailedPrecondition);
  FUZZ_CHECK(arena.FreePageCount() == total);
  return 0;
}
