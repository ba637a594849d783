// Tests of the translator: every policing rule with its errno, the layout of the
// arena program, back-translation, one test per defect the kernel fixed
// (reference/vfio-ccw.md), and the real programs of reference/dasd-3390.md.
#include "translate/translator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <vector>

#include "testing/status_matchers.h"
#include "translate/builder.h"

namespace ccwpass::translate {
namespace {

using ::ccwpass::testing::AtCcw;
using ::ccwpass::testing::HasErrno;
using ::ccwpass::testing::HasRule;
using ::ccwpass::testing::IsOk;
using ::ccwpass::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

constexpr uint64_t kArenaBase = 0x100000;
constexpr uint32_t kArenaPages = 64;

std::vector<uint8_t> Bytes(std::initializer_list<int> v) { return std::vector<uint8_t>(v.begin(), v.end()); }

void PutCcw1(GuestMemory& m, uint64_t addr, uint8_t cmd, uint8_t flags, uint16_t count, uint32_t cda) {
  ASSERT_THAT(WriteCcw(m, addr, Ccw1{cmd, flags, count, cda}), IsOk());
}

void PutCcw0(GuestMemory& m, uint64_t addr, uint8_t cmd, uint32_t cda, uint8_t flags, uint16_t count) {
  ASSERT_THAT(WriteCcw(m, addr, Ccw1{cmd, flags, count, cda}, /*format1=*/false), IsOk());
}

Orb Format1Orb(uint32_t cpa) {
  Orb o;
  o.fmt = true;
  o.pfch = true;
  o.c64 = true;
  o.lpm = 0xFF;
  o.cpa = cpa;
  return o;
}

// The device's view of the arena program, for tests that play the device.
class Device {
 public:
  explicit Device(DmaArena& a) : a_(a) {}

  Ccw1 CcwAt(uint64_t iova) {
    auto s = a_.At(iova, kCcwSize);
    EXPECT_TRUE(s.ok()) << s.status();
    return Ccw1::Decode(std::span<const uint8_t, kCcwSize>(s->data(), kCcwSize));
  }
  std::vector<uint64_t> Idal(const Ccw1& c) {
    std::vector<uint64_t> out;
    const uint32_t n = IdawCount(FirstIdaw(c), c.count, 4096);
    for (uint32_t k = 0; k < n; ++k) {
      auto s = a_.At(c.cda + k * 8, 8);
      out.push_back(DecodeIdaw(IdawFormat::kFormat2, *s));
    }
    return out;
  }
  // Stores `bytes` into the buffer of IDAL CCW `c` from byte `offset` on.
  void Store(const Ccw1& c, std::span<const uint8_t> bytes, uint32_t offset = 0) {
    for (size_t i = 0; i < bytes.size(); ++i) *Byte(c, offset + i) = bytes[i];
  }
  // The bytes of the buffer of IDAL CCW `c` (what the device would fetch).
  std::vector<uint8_t> Fetch(const Ccw1& c) {
    std::vector<uint8_t> out;
    for (uint32_t i = 0; i < c.count; ++i) out.push_back(*Byte(c, i));
    return out;
  }

 private:
  uint64_t FirstIdaw(const Ccw1& c) {
    auto s = a_.At(c.cda, 8);
    return DecodeIdaw(IdawFormat::kFormat2, *s);
  }
  uint8_t* Byte(const Ccw1& c, uint64_t i) {
    EXPECT_TRUE(c.flags & ccw_flag::kIda);
    const uint64_t first = FirstIdaw(c);
    const uint64_t in_first = 4096 - first % 4096;
    uint64_t iova;
    if (i < in_first) {
      iova = first + i;
    } else {
      const uint64_t k = 1 + (i - in_first) / 4096;
      auto s = a_.At(c.cda + k * 8, 8);
      iova = DecodeIdaw(IdawFormat::kFormat2, *s) + (i - in_first) % 4096;
    }
    auto b = a_.At(iova, 1);
    EXPECT_TRUE(b.ok()) << b.status();
    return b->data();
  }
  DmaArena& a_;
};

Scsw FinalScsw(uint32_t host_cpa, uint16_t residual, uint8_t dstat = dev_stat::kChannelEnd | dev_stat::kDeviceEnd) {
  Scsw s;
  s.fmt = true;
  s.fctl = scsw_fctl::kStart;
  s.stctl = scsw_stctl::kPrimary | scsw_stctl::kSecondary | scsw_stctl::kStatusPending;
  s.cpa = host_cpa;
  s.dstat = dstat;
  s.count = residual;
  return s;
}

class TranslatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = DmaArena::CreateOwned(uint64_t{kArenaPages} * DmaArena::kPageSize, kArenaBase);
    ASSERT_TRUE(a.ok()) << a.status();
    arena_ = std::move(*a);
  }
  std::unique_ptr<DmaArena> arena_;
};

// --- The real SENSE ID of reference/qemu-s390x.md, end to end --------------------

TEST_F(TranslatorTest, SenseIdTranslatesAndCompletes) {
  auto built = BuildProgram(std::vector<CcwSpec>{{.cmd = ccw_cmd::kSenseId, .flags = ccw_flag::kSli, .count = 256}});
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->orb.Encode(), (std::array<uint8_t, 12>{0, 0, 0, 0, 0x00, 0xC2, 0xFF, 0x00, 0, 0, 0x10, 0}));
  auto p = Translate(built->orb, *built->memory, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();

  EXPECT_EQ(p->stats().chains, 1);
  EXPECT_EQ(p->stats().ccws, 1);
  EXPECT_EQ(p->stats().idaws, 1);
  EXPECT_EQ(p->stats().bytes, 256u);
  EXPECT_EQ(p->stats().pages, 2u);
  EXPECT_EQ(arena_->FreePageCount(), kArenaPages - 2);
  EXPECT_TRUE(p->warnings().empty());

  // ORB: format 1, prefetch, format-2 IDAWs, LPM as given, CPA at the arena chain.
  const Orb& o = p->orb();
  EXPECT_TRUE(o.fmt);
  EXPECT_TRUE(o.pfch);
  EXPECT_TRUE(o.c64);
  EXPECT_FALSE(o.i2k);
  EXPECT_EQ(o.lpm, 0xFF);
  EXPECT_EQ(o.key, 0);
  EXPECT_EQ(o.cpa, kArenaBase);

  Device dev(*arena_);
  const Ccw1 host = dev.CcwAt(o.cpa);
  EXPECT_EQ(host, (Ccw1{0xE4, ccw_flag::kSli | ccw_flag::kIda, 256, kArenaBase + 16}));
  EXPECT_THAT(dev.Idal(host), ElementsAre(kArenaBase + 0x1000));

  // The device answers as a 3390-3 on a 3990 does (reference/dasd-3390.md §2).
  const auto sense_id = Bytes({0xFF, 0x39, 0x90, 0xC2, 0x33, 0x90, 0x0A, 0x00, 0x40, 0xFA, 0x01, 0x00});
  dev.Store(host, sense_id);
  auto done = p->Complete(FinalScsw(o.cpa + 8, 256 - 12), *built->memory);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->scsw.cpa, 0x1008u);  // back in the client's address space
  ASSERT_TRUE(done->last_ccw.has_value());
  EXPECT_EQ(*done->last_ccw, (CcwLocation{0x1000, 0}));
  EXPECT_THAT(done->transfers, ElementsAre(CcwTransfer{0, 0x1000, 0xE4, true, 12}));
  EXPECT_EQ(done->bytes_in, 12u);
  EXPECT_EQ(done->bytes_out, 0u);
  std::vector<uint8_t> got(256);
  ASSERT_THAT(built->memory->Read(built->data_addrs[0], got), IsOk());
  EXPECT_THAT(std::span(got).first(12), ElementsAreArray(sense_id));
  EXPECT_EQ(std::count(got.begin() + 12, got.end(), 0), 244);
  EXPECT_EQ(arena_->FreePageCount(), kArenaPages);
  EXPECT_FALSE(p->active());
}

// --- Chains ------------------------------------------------------------------------

// N chained NOOPs at 0x1000, the last without chaining unless `last_chains`.
std::unique_ptr<FlatGuestMemory> NoopChain(int n, bool last_chains, uint64_t size = 0x10000) {
  auto m = std::make_unique<FlatGuestMemory>(size);
  for (int i = 0; i < n; ++i) {
    const bool chain = i + 1 < n || last_chains;
    Ccw1 c{ccw_cmd::kNoop, chain ? ccw_flag::kCc : uint8_t{0}, 0, 0};
    EXPECT_THAT(m->Write(0x1000 + i * 8, c.Encode()), IsOk());
  }
  return m;
}

// Linux 6.1 counts a chain 1..256 and runs a chain of 256 (the real driver in
// the QEMU s390x guest did); only a 256th CCW that still chains is -EINVAL.
TEST_F(TranslatorTest, ChainOf256CcwsIsAccepted) {
  auto m = NoopChain(256, false);
  auto p = Translate(Format1Orb(0x1000), *m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->stats().chains, 1);
  EXPECT_EQ(p->stats().ccws, 256);
  EXPECT_EQ(p->stats().idaws, 0);
}

TEST_F(TranslatorTest, ChainOf257CcwsIsEinval) {
  auto m = NoopChain(257, false);
  auto p = Translate(Format1Orb(0x1000), *m, *arena_);
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("ccw 256 at 0x1800: the chain at 0x1000 continues past 256 CCWs [EINVAL]")));
  EXPECT_THAT(p, HasErrno(EINVAL));
  EXPECT_THAT(p, HasRule("chain-too-long"));
  EXPECT_THAT(p, AtCcw(256, 0x1800));
  EXPECT_EQ(arena_->FreePageCount(), kArenaPages);
}

// Kernel defect: reading one CCW past the 256-slot buffer. A chain whose 256th
// CCW still chains, in memory that ends right after it, is refused by the length
// rule; nothing past the 256th CCW is read (that read would be EFAULT).
TEST_F(TranslatorTest, NoReadPastTheChainLimit) {
  auto m = NoopChain(256, true, 0x1000 + 256 * 8);
  auto p = Translate(Format1Orb(0x1000), *m, *arena_);
  EXPECT_THAT(p, HasErrno(EINVAL));
  EXPECT_THAT(p, HasRule("chain-too-long"));
}

TEST_F(TranslatorTest, TicOutsideTheChainStartsASegment) {
  FlatGuestMemory m(0x10000);
  PutCcw1(m, 0x1000, 0x06, ccw_flag::kCc, 16, 0x5000);  // READ, chained
  PutCcw1(m, 0x1008, ccw_cmd::kTic, 0, 0, 0x3000);
  PutCcw1(m, 0x3000, 0x06, 0, 32, 0x6000);
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->chains().size(), 2u);
  EXPECT_EQ(p->chains()[0].guest_addr, 0x1000u);
  EXPECT_EQ(p->chains()[0].len, 2);
  EXPECT_EQ(p->chains()[1].guest_addr, 0x3000u);
  EXPECT_EQ(p->chains()[1].len, 1);
  EXPECT_EQ(p->chains()[1].first_index, 2);
  Device dev(*arena_);
  const Ccw1 tic = dev.CcwAt(p->chains()[0].host_iova + 8);
  EXPECT_EQ(tic.cmd, ccw_cmd::kTic);
  EXPECT_EQ(tic.cda, p->chains()[1].host_iova);
  EXPECT_EQ(dev.CcwAt(tic.cda).count, 32);
}

// The QEMU BIOS / zipl idiom: SEARCH ID EQUAL, then a TIC back to it; the chain
// goes on after the TIC (the status modifier skips it on a match).
TEST_F(TranslatorTest, TicBackIntoTheChainContinuesIt) {
  FlatGuestMemory m(0x10000);
  PutCcw1(m, 0x1000, 0x07, ccw_flag::kCc, 6, 0x2000);   // SEEK
  PutCcw1(m, 0x1008, 0x31, ccw_flag::kCc, 5, 0x2008);   // SEARCH ID EQUAL
  PutCcw1(m, 0x1010, ccw_cmd::kTic, 0, 0, 0x1008);      // back to the search
  PutCcw1(m, 0x1018, 0x06, 0, 144, 0x3000);             // READ DATA
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->chains().size(), 1u);
  EXPECT_EQ(p->chains()[0].len, 4);
  Device dev(*arena_);
  const uint32_t head = p->chains()[0].host_iova;
  EXPECT_EQ(dev.CcwAt(head + 16), (Ccw1{ccw_cmd::kTic, 0, 0, head + 8}));
  EXPECT_EQ(dev.CcwAt(head + 24).count, 144);
}

// Chain segments linked by TICs, `n` of them, each a READ then a TIC to the next.
std::unique_ptr<FlatGuestMemory> Segments(int n) {
  auto m = std::make_unique<FlatGuestMemory>(0x100000);
  for (int i = 0; i < n; ++i) {
    const uint64_t at = 0x1000 + i * 0x100;
    PutCcw1(*m, at, 0x06, i + 1 < n ? ccw_flag::kCc : 0, 8, 0x80000 + i * 8);
    if (i + 1 < n) PutCcw1(*m, at + 8, ccw_cmd::kTic, 0, 0, at + 0x100);
  }
  return m;
}

TEST_F(TranslatorTest, SixteenSegmentsAreAccepted) {
  auto m = Segments(16);
  auto p = Translate(Format1Orb(0x1000), *m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->stats().chains, 16);
}

TEST_F(TranslatorTest, SeventeenSegmentsAreEnomem) {
  auto m = Segments(17);
  auto p = Translate(Format1Orb(0x1000), *m, *arena_);
  // Segment 16 (index 30, 31) holds the TIC to the 17th.
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("TIC to 0x2000 starts chain segment 17: at most 16 segments [ENOMEM]")));
  EXPECT_THAT(p, AtCcw(31, 0x1f08));
  EXPECT_EQ(arena_->FreePageCount(), kArenaPages);
}

// Kernel defect: unbounded TIC recursion. Two segments that TIC to each other
// forever make two segments, found once each.
TEST_F(TranslatorTest, TicPingPongMakesTwoSegments) {
  FlatGuestMemory m(0x10000);
  PutCcw1(m, 0x1000, 0x03, ccw_flag::kCc, 0, 0);
  PutCcw1(m, 0x1008, ccw_cmd::kTic, 0, 0, 0x2000);
  PutCcw1(m, 0x2000, 0x03, ccw_flag::kCc, 0, 0);
  PutCcw1(m, 0x2008, ccw_cmd::kTic, 0, 0, 0x1000);
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->stats().chains, 2);
  Device dev(*arena_);
  EXPECT_EQ(dev.CcwAt(p->chains()[1].host_iova + 8).cda, p->chains()[0].host_iova);
}

// --- ORB and address rules ---------------------------------------------------------

TEST_F(TranslatorTest, TransportModeIsEopnotsupp) {
  FlatGuestMemory m(0x2000);
  Orb o = Format1Orb(0x1000);
  o.tm = true;
  auto p = Translate(o, m, *arena_);
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("transport-mode ORB")));
  EXPECT_THAT(p, HasErrno(EOPNOTSUPP));
}

TEST_F(TranslatorTest, MisalignedCpaIsEinval) {
  FlatGuestMemory m(0x2000);
  auto p = Translate(Format1Orb(0x1004), m, *arena_);
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0x1004")));
  EXPECT_THAT(p, HasRule("cpa-invalid"));
  EXPECT_THAT(p, HasErrno(EINVAL));
}

TEST_F(TranslatorTest, CcwOutsideMemoryIsEfault) {
  FlatGuestMemory m(0x2000);
  auto p = Translate(Format1Orb(0x2000), m, *arena_);
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("ccw 0 at 0x2000: CCW fetch at 0x2000 is outside the client's memory")));
  EXPECT_THAT(p, HasErrno(EFAULT));
}

TEST_F(TranslatorTest, ChainRunningOffTheEndOfMemoryIsEfault) {
  FlatGuestMemory m(0x1010);
  PutCcw1(m, 0x1000, 0x03, ccw_flag::kCc, 0, 0);
  PutCcw1(m, 0x1008, 0x03, ccw_flag::kCc, 0, 0);  // chains into 0x1010, outside
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  EXPECT_THAT(p, HasErrno(EFAULT));
  EXPECT_THAT(p, AtCcw(2, 0x1010));
}

// Found by the translate fuzzer: memory that ends inside a fetch batch. The
// first batch of 32 chained CCWs leaves chaining CCWs in the fetch buffer; the
// second batch holds one CCW; the 34th fetch must be EFAULT, not a stale CCW.
TEST_F(TranslatorTest, MemoryEndingInsideAFetchBatchIsEfault) {
  auto m = NoopChain(33, true, 0x1000 + 33 * 8);
  auto p = Translate(Format1Orb(0x1000), *m, *arena_);
  EXPECT_THAT(p, HasErrno(EFAULT));
  EXPECT_THAT(p, HasRule("ccw-fetch"));
  EXPECT_THAT(p, AtCcw(33, 0x1108));
}

TEST_F(TranslatorTest, DataOutsideMemoryIsEfault) {
  FlatGuestMemory m(0x2000);
  PutCcw1(m, 0x1000, 0x63, ccw_flag::kCc, 16, 0x1100);
  PutCcw1(m, 0x1008, 0x06, 0, 4096, 0x1800);  // 0x1800 + 4096 > 0x2000
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("ccw 1 at 0x1008: data at 0x1800 (4096 bytes) is outside")));
  EXPECT_THAT(p, HasErrno(EFAULT));
  EXPECT_THAT(p, HasRule("data-outside-memory"));
}

TEST_F(TranslatorTest, Format1DataAddressWithBit0IsEinval) {
  SparseGuestMemory m(0x100000000ull);
  PutCcw1(m, 0x1000, 0x06, 0, 16, 0x80001000);
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  EXPECT_THAT(p, HasErrno(EINVAL));
  EXPECT_THAT(p, HasRule("data-address-31bit"));
}

TEST_F(TranslatorTest, MidaMovingDataIsEopnotsuppButNotWhenNothingMoves) {
  FlatGuestMemory m(0x4000);
  PutCcw1(m, 0x1000, 0x06, ccw_flag::kMida, 16, 0x2000);
  EXPECT_THAT(Translate(Format1Orb(0x1000), m, *arena_), HasErrno(EOPNOTSUPP));
  PutCcw1(m, 0x1000, 0x06, ccw_flag::kMida, 0, 0x2000);
  EXPECT_TRUE(Translate(Format1Orb(0x1000), m, *arena_).ok());
}

TEST_F(TranslatorTest, PrefetchClearIsAWarningOnly) {
  FlatGuestMemory m(0x2000);
  PutCcw1(m, 0x1000, 0x03, 0, 0, 0);
  Orb o = Format1Orb(0x1000);
  o.pfch = false;
  auto p = Translate(o, m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->orb().pfch);
  ASSERT_EQ(p->warnings().size(), 1u);
  EXPECT_THAT(p->warnings()[0], HasSubstr("prefetch bit is clear"));
}

// --- The data-transfer predicate ---------------------------------------------------

TEST_F(TranslatorTest, CcwsThatMoveNoDataGetNoBuffer) {
  FlatGuestMemory m(0x4000);
  PutCcw1(m, 0x1000, 0x06, ccw_flag::kCc, 0, 0x2000);                          // count 0
  PutCcw1(m, 0x1008, ccw_cmd::kNoop, ccw_flag::kCc, 64, 0x2000);               // NOOP
  PutCcw1(m, 0x1010, 0x06, ccw_flag::kCc | ccw_flag::kSkip, 64, 0x2000);       // skip on read
  PutCcw1(m, 0x1018, 0x04, ccw_flag::kCc | ccw_flag::kSkip, 32, 0x2000);       // skip on sense
  PutCcw1(m, 0x1020, 0x0C, ccw_flag::kCc | ccw_flag::kSkip, 32, 0x2000);       // skip on read backward
  PutCcw1(m, 0x1028, 0x05, ccw_flag::kSkip | ccw_flag::kIda, 0, 0x3000);       // count 0 write with IDA
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->stats().idaws, 0);
  EXPECT_EQ(p->stats().bytes, 0u);
  EXPECT_EQ(p->stats().pages, 1u);  // the chain only
  Device dev(*arena_);
  for (int i = 0; i < 6; ++i) {
    const Ccw1 c = dev.CcwAt(p->chains()[0].host_iova + i * 8);
    EXPECT_EQ(c.cda, 0u) << "ccw " << i;
    EXPECT_EQ(c.flags & (ccw_flag::kIda | ccw_flag::kMida), 0) << "ccw " << i;
  }
}

TEST_F(TranslatorTest, SkipOnWriteStillMovesData) {
  FlatGuestMemory m(0x4000);
  PutCcw1(m, 0x1000, 0x05, ccw_flag::kSkip, 4, 0x2000);
  ASSERT_THAT(m.Write(0x2000, Bytes({1, 2, 3, 4})), IsOk());
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  Device dev(*arena_);
  EXPECT_THAT(dev.Fetch(dev.CcwAt(p->orb().cpa)), ElementsAre(1, 2, 3, 4));
}

// --- IDALs -------------------------------------------------------------------------

TEST_F(TranslatorTest, GuestFormat2IdalWith4KBlocks) {
  FlatGuestMemory m(0x10000);
  PutCcw1(m, 0x1000, 0x05, ccw_flag::kIda, 6000, 0x1100);
  std::array<uint8_t, 8> w{};
  EncodeIdaw(IdawFormat::kFormat2, 0x5800, w);  // 2048 bytes to the 4 KiB boundary
  ASSERT_THAT(m.Write(0x1100, w), IsOk());
  EncodeIdaw(IdawFormat::kFormat2, 0x8000, w);  // the other 3952
  ASSERT_THAT(m.Write(0x1108, w), IsOk());
  std::vector<uint8_t> a(2048, 0xAA), b(3952, 0xBB);
  ASSERT_THAT(m.Write(0x5800, a), IsOk());
  ASSERT_THAT(m.Write(0x8000, b), IsOk());
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  Device dev(*arena_);
  const Ccw1 host = dev.CcwAt(p->orb().cpa);
  EXPECT_EQ(host.count, 6000);
  EXPECT_EQ(dev.Idal(host).size(), 2u);  // arena buffer starts on a page
  std::vector<uint8_t> want(a);
  want.insert(want.end(), b.begin(), b.end());
  EXPECT_EQ(dev.Fetch(host), want);
}

TEST_F(TranslatorTest, GuestFormat1IdalWith2KBlocks) {
  FlatGuestMemory m(0x10000);
  PutCcw1(m, 0x1000, 0x05, ccw_flag::kIda, 3000, 0x1100);
  std::array<uint8_t, 4> w{};
  EncodeIdaw(IdawFormat::kFormat1, 0x2700, w);  // 256 bytes to the 2 KiB boundary
  ASSERT_THAT(m.Write(0x1100, w), IsOk());
  EncodeIdaw(IdawFormat::kFormat1, 0x4000, w);  // 2048
  ASSERT_THAT(m.Write(0x1104, w), IsOk());
  EncodeIdaw(IdawFormat::kFormat1, 0x6800, w);  // 696
  ASSERT_THAT(m.Write(0x1108, w), IsOk());
  std::vector<uint8_t> want;
  for (int i = 0; i < 3000; ++i) want.push_back(static_cast<uint8_t>(i * 7));
  ASSERT_THAT(m.Write(0x2700, std::span(want).first(256)), IsOk());
  ASSERT_THAT(m.Write(0x4000, std::span(want).subspan(256, 2048)), IsOk());
  ASSERT_THAT(m.Write(0x6800, std::span(want).subspan(2304)), IsOk());
  Orb o = Format1Orb(0x1000);
  o.c64 = false;  // format-1 IDAWs
  auto p = Translate(o, m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->orb().c64);  // the arena program uses format 2
  Device dev(*arena_);
  EXPECT_EQ(dev.Fetch(dev.CcwAt(p->orb().cpa)), want);
}

TEST_F(TranslatorTest, GuestFormat2IdalWith2KBlocks) {
  FlatGuestMemory m(0x10000);
  PutCcw1(m, 0x1000, 0x05, ccw_flag::kIda, 4096, 0x1100);
  std::array<uint8_t, 8> w{};
  for (int k = 0; k < 2; ++k) {
    EncodeIdaw(IdawFormat::kFormat2, 0x3000 + k * 0x1000, w);  // two 2 KiB blocks, apart
    ASSERT_THAT(m.Write(0x1100 + k * 8, w), IsOk());
  }
  Orb o = Format1Orb(0x1000);
  o.i2k = true;
  auto p = Translate(o, m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->orb().i2k);
  EXPECT_EQ(p->stats().bytes, 4096u);
}

TEST_F(TranslatorTest, LaterIdawOffABoundaryIsEinval) {
  FlatGuestMemory m(0x10000);
  PutCcw1(m, 0x1000, 0x05, ccw_flag::kIda, 5000, 0x1100);
  std::array<uint8_t, 8> w{};
  EncodeIdaw(IdawFormat::kFormat2, 0x3000, w);
  ASSERT_THAT(m.Write(0x1100, w), IsOk());
  EncodeIdaw(IdawFormat::kFormat2, 0x5010, w);
  ASSERT_THAT(m.Write(0x1108, w), IsOk());
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("ccw 0 at 0x1000: IDAW 1 (0x5010) is not on a 4 KiB boundary [EINVAL]")));
}

TEST_F(TranslatorTest, Format1IdawAbove2GIsEinval) {
  FlatGuestMemory m(0x10000);
  PutCcw1(m, 0x1000, 0x05, ccw_flag::kIda, 16, 0x1100);
  std::array<uint8_t, 4> w{};
  EncodeIdaw(IdawFormat::kFormat1, 0x80003000, w);
  ASSERT_THAT(m.Write(0x1100, w), IsOk());
  Orb o = Format1Orb(0x1000);
  o.c64 = false;
  EXPECT_THAT(Translate(o, m, *arena_), HasRule("idaw-31bit"));
}

TEST_F(TranslatorTest, MisalignedIdalIsEinvalAndIdalOutsideMemoryIsEfault) {
  FlatGuestMemory m(0x2000);
  PutCcw1(m, 0x1000, 0x05, ccw_flag::kIda, 16, 0x1104);
  EXPECT_THAT(Translate(Format1Orb(0x1000), m, *arena_), HasRule("idal-alignment"));
  PutCcw1(m, 0x1000, 0x05, ccw_flag::kIda, 16, 0x2000);
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  EXPECT_THAT(p, HasRule("idal-outside-memory"));
  EXPECT_THAT(p, HasErrno(EFAULT));
  // An IDAL that starts inside but whose needed IDAWs end outside.
  PutCcw1(m, 0x1000, 0x05, ccw_flag::kIda, 8192, 0x1ff8);
  std::array<uint8_t, 8> w{};
  EncodeIdaw(IdawFormat::kFormat2, 0x1000, w);
  ASSERT_THAT(m.Write(0x1ff8, w), IsOk());
  EXPECT_THAT(Translate(Format1Orb(0x1000), m, *arena_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs 2 IDAWs for 8192 bytes; only 1")));
}

// A memory that records every byte read and serves other bytes on a second read
// of the same address, the way a client racing the translator would.
class RacingMemory final : public GuestMemory {
 public:
  explicit RacingMemory(uint64_t size) : m_(size) {}
  FlatGuestMemory& inner() { return m_; }
  uint64_t Size() const override { return m_.Size(); }
  absl::Status Read(uint64_t addr, std::span<uint8_t> out) const override {
    if (auto s = m_.Read(addr, out); !s.ok()) return s;
    for (size_t i = 0; i < out.size(); ++i) {
      if (reads_[addr + i]++ > 0) out[i] ^= 0xFF;  // a changed byte on a re-read
    }
    return absl::OkStatus();
  }
  absl::Status Write(uint64_t addr, std::span<const uint8_t> in) override { return m_.Write(addr, in); }
  int MaxReads() const {
    int mx = 0;
    for (const auto& [a, n] : reads_) mx = std::max(mx, n);
    return mx;
  }

 private:
  FlatGuestMemory m_;
  mutable std::map<uint64_t, int> reads_;
};

// Kernel defect: double fetch of the IDAL (first IDAW, then the whole list).
// Every byte of the client's CCWs, IDAL and data is read exactly once.
TEST_F(TranslatorTest, ClientMemoryIsReadOnce) {
  RacingMemory m(0x10000);
  PutCcw1(m.inner(), 0x1000, 0x63, ccw_flag::kCc, 16, 0x1200);
  PutCcw1(m.inner(), 0x1008, 0x05, ccw_flag::kIda | ccw_flag::kCc, 5000, 0x1100);
  PutCcw1(m.inner(), 0x1010, ccw_cmd::kTic, 0, 0, 0x1400);
  PutCcw1(m.inner(), 0x1400, 0x06, 0, 100, 0x1300);
  std::array<uint8_t, 8> w{};
  EncodeIdaw(IdawFormat::kFormat2, 0x3c00, w);
  ASSERT_THAT(m.inner().Write(0x1100, w), IsOk());
  EncodeIdaw(IdawFormat::kFormat2, 0x5000, w);
  ASSERT_THAT(m.inner().Write(0x1108, w), IsOk());
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(m.MaxReads(), 1);
  EXPECT_EQ(p->stats().ccws, 4);
}

// --- Layout ------------------------------------------------------------------------

TEST_F(TranslatorTest, A64KWriteIsSplitOverSixteenPages) {
  std::vector<uint8_t> data(65535);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i ^ (i >> 8));
  auto built = BuildProgram(std::vector<CcwSpec>{{.cmd = 0x05, .data = data}});
  ASSERT_TRUE(built.ok()) << built.status();
  auto p = Translate(built->orb, *built->memory, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->stats().idaws, 16);
  EXPECT_EQ(p->stats().pages, 17u);
  Device dev(*arena_);
  const Ccw1 host = dev.CcwAt(p->orb().cpa);
  const auto idal = dev.Idal(host);
  ASSERT_EQ(idal.size(), 16u);
  for (uint64_t a : idal) EXPECT_EQ(a % 4096, 0u);
  EXPECT_EQ(dev.Fetch(host), data);
}

// A bounce buffer of 1 KiB or more starts in the arena at its client buffer's
// offset modulo 256, so that the copies both ways run between congruent
// addresses, unless that would end it in a further arena page; smaller buffers
// are packed on doublewords.
TEST_F(TranslatorTest, LargeBuffersAreCongruentToTheClientBuffers) {
  FlatGuestMemory m(0x10000);
  PutCcw1(m, 0x1000, 0x63, ccw_flag::kCc, 16, 0x2010);    // 16 bytes: packed at stream 0
  PutCcw1(m, 0x1008, 0x86, ccw_flag::kCc, 4096, 0x3038);  // stream 16 -> 0x38, same end page
  PutCcw1(m, 0x1010, 0x86, 0, 4000, 0x5010);              // 0x1038 -> 0x1110 would end a page later
  std::vector<uint8_t> block(4096);
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<uint8_t>(i * 7 + 1);
  ASSERT_THAT(m.Write(0x3038, block), IsOk());
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->stats().idaws, 4);
  EXPECT_EQ(p->stats().pages, 3u);
  Device dev(*arena_);
  const uint32_t head = p->chains()[0].host_iova;
  const Ccw1 c0 = dev.CcwAt(head), c1 = dev.CcwAt(head + 8), c2 = dev.CcwAt(head + 16);
  const uint64_t data = dev.Idal(c0)[0];
  EXPECT_EQ(data % 4096, 0u);
  EXPECT_THAT(dev.Idal(c1), ElementsAre(data + 0x38, data + 4096));
  EXPECT_THAT(dev.Idal(c2), ElementsAre(data + 0x1038));
  EXPECT_EQ(dev.Fetch(c1), block);  // the read buffer starts as the client's bytes
  std::vector<uint8_t> record(4096, 0x3C);
  dev.Store(c1, record);
  auto done = p->Complete(FinalScsw(head + 16, 0), m);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->bytes_in, 4096u);
  std::vector<uint8_t> got(4096);
  ASSERT_THAT(m.Read(0x3038, got), IsOk());
  EXPECT_EQ(got, record);
}

// The arena hands out the pages a program needs wherever they are free: a buffer
// over pages that are not consecutive is copied in and back piece by piece,
// one over consecutive pages in one go; the bytes are the same either way.
TEST_F(TranslatorTest, BuffersOverNonConsecutiveArenaPages) {
  std::vector<uint8_t> out(3 * 4096 + 100);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i * 5 + i / 4096);
  auto built = BuildProgram(std::vector<CcwSpec>{{.cmd = 0x05, .flags = ccw_flag::kCc, .data = out},
                                                 {.cmd = 0x06, .count = 3 * 4096 + 100}});
  ASSERT_TRUE(built.ok()) << built.status();
  auto small = BuildProgram(std::vector<CcwSpec>{{.cmd = 0x06, .count = 16}});
  ASSERT_TRUE(small.ok()) << small.status();
  // Pages 0-1 to a first program, 2-3 to a second; the first gives its back, so
  // the big program gets 0, 1, then 4, 5, ...: its data stream runs over a gap.
  auto first = Translate(small->orb, *small->memory, *arena_);
  auto second = Translate(small->orb, *small->memory, *arena_);
  ASSERT_TRUE(first.ok() && second.ok());
  first->Release();
  auto p = Translate(built->orb, *built->memory, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  Device dev(*arena_);
  const uint32_t head = p->chains()[0].host_iova;
  const Ccw1 write = dev.CcwAt(head), read = dev.CcwAt(head + 8);
  std::vector<uint64_t> pages;
  for (const Ccw1& c : {write, read}) {
    for (uint64_t a : dev.Idal(c)) pages.push_back((a - kArenaBase) / 4096);
  }
  EXPECT_NE(std::adjacent_find(pages.begin(), pages.end(), [](uint64_t a, uint64_t b) { return b > a + 1; }),
            pages.end());  // a gap
  EXPECT_EQ(dev.Fetch(write), out);
  std::vector<uint8_t> in(read.count);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 3 + 1);
  dev.Store(read, in);
  auto done = p->Complete(FinalScsw(head + 16, 0), *built->memory);
  ASSERT_TRUE(done.ok()) << done.status();
  std::vector<uint8_t> got(in.size());
  ASSERT_THAT(built->memory->Read(built->data_addrs[1], got), IsOk());
  EXPECT_EQ(got, in);
}

TEST_F(TranslatorTest, FullArenaIsResourceExhaustedAndTakesNothing) {
  auto small = DmaArena::CreateOwned(4 * 4096, kArenaBase);
  ASSERT_TRUE(small.ok());
  auto built = BuildProgram(std::vector<CcwSpec>{{.cmd = 0x06, .count = 65535}});
  ASSERT_TRUE(built.ok());
  auto p = Translate(built->orb, *built->memory, **small);
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kResourceExhausted,
                          HasSubstr("DMA arena full: the program needs 17 pages of 4 KiB, 4 of 4 are free")));
  EXPECT_THAT(p, HasErrno(ENOMEM));
  EXPECT_THAT(p, HasRule("arena-full"));
  EXPECT_EQ((*small)->FreePageCount(), 4u);
}

// Kernel defect: leaked chain segments when initialisation fails. A program
// refused in its third segment takes no arena page.
TEST_F(TranslatorTest, RefusalInALaterSegmentLeavesTheArenaUntouched) {
  FlatGuestMemory m(0x10000);
  PutCcw1(m, 0x1000, 0x06, ccw_flag::kCc, 16, 0x5000);
  PutCcw1(m, 0x1008, ccw_cmd::kTic, 0, 0, 0x2000);
  PutCcw1(m, 0x2000, 0x06, ccw_flag::kCc, 16, 0x5100);
  PutCcw1(m, 0x2008, ccw_cmd::kTic, 0, 0, 0x3000);
  PutCcw1(m, 0x3000, 0x06, 0, 16, 0xFFFF0);  // outside
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  EXPECT_THAT(p, AtCcw(4, 0x3000));
  EXPECT_EQ(arena_->FreePageCount(), kArenaPages);
  EXPECT_EQ(arena_->LowWaterFreePages(), kArenaPages);
}

// --- Format 0 ----------------------------------------------------------------------

// Kernel defects: format-0 conversion, including length 0, and the TIC
// recognised by its low nibble.
TEST_F(TranslatorTest, Format0CcwsAreConverted) {
  FlatGuestMemory m(0x10000);
  PutCcw0(m, 0x1000, 0x05, 0x2000, ccw_flag::kCc, 0);  // length 0
  PutCcw0(m, 0x1008, 0x18, 0x1010, 0x40, 7);           // TIC with a high nibble, flags and count
  PutCcw0(m, 0x1010, 0x06, 0x002000, 0, 24);
  Orb o = Format1Orb(0x1000);
  o.fmt = false;
  auto p = Translate(o, m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->orb().fmt);
  ASSERT_EQ(p->chains().size(), 2u);  // the TIC goes forward, out of the chain
  Device dev(*arena_);
  EXPECT_EQ(dev.CcwAt(p->chains()[0].host_iova), (Ccw1{0x05, ccw_flag::kCc, 0, 0}));
  EXPECT_EQ(dev.CcwAt(p->chains()[0].host_iova + 8), (Ccw1{ccw_cmd::kTic, 0, 0, p->chains()[1].host_iova}));
  EXPECT_EQ(dev.CcwAt(p->chains()[1].host_iova).count, 24);
}

// --- Back-translation --------------------------------------------------------------

// Kernel defect: the SCSW CPA one past the end of a chain.
TEST_F(TranslatorTest, CpaOnePastTheEndMapsIntoTheChain) {
  FlatGuestMemory m(0x10000);
  PutCcw1(m, 0x1000, 0x03, ccw_flag::kCc, 0, 0);
  PutCcw1(m, 0x1008, ccw_cmd::kTic, 0, 0, 0x3000);
  PutCcw1(m, 0x3000, 0x03, 0, 0, 0);
  auto p = Translate(Format1Orb(0x1000), m, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  const uint32_t h1 = p->chains()[1].host_iova;
  EXPECT_EQ(*p->GuestCpa(h1 + 8), 0x3008u);
  EXPECT_EQ(*p->GuestCpa(p->chains()[0].host_iova + 16), 0x1010u);
  EXPECT_THAT(p->GuestCpa(h1 + 16), StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("designates no CCW")));
  auto done = p->Complete(FinalScsw(h1 + 8, 0), m);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->scsw.cpa, 0x3008u);
  EXPECT_EQ(*done->last_ccw, (CcwLocation{0x3000, 2}));
}

TEST_F(TranslatorTest, CpaThatMapsNowhereIsAnErrorAndFreesTheArena) {
  auto built = BuildProgram(std::vector<CcwSpec>{{.cmd = 0x03}});
  ASSERT_TRUE(built.ok());
  auto p = Translate(built->orb, *built->memory, *arena_);
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->Complete(FinalScsw(0x7000000, 0), *built->memory),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("SCSW CPA 0x7000000 designates no CCW")));
  EXPECT_EQ(arena_->FreePageCount(), kArenaPages);
  EXPECT_THAT(p->Complete(FinalScsw(0, 0), *built->memory),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not active")));
}

// A unit check on the first of two reads: its data (count minus residual) come
// back, the second buffer is untouched, the write data counted as sent.
TEST_F(TranslatorTest, OnlyTheExecutedCcwsComeBack) {
  std::vector<uint8_t> de = {0x40, 0xC0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 8};
  auto built = BuildProgram(std::vector<CcwSpec>{
      {.cmd = 0x63, .flags = ccw_flag::kCc, .data = de},
      {.cmd = 0x86, .flags = ccw_flag::kCc, .count = 4096},
      {.cmd = 0x86, .count = 4096}});
  ASSERT_TRUE(built.ok()) << built.status();
  ASSERT_THAT(built->memory->Write(built->data_addrs[2], Bytes({9, 9, 9})), IsOk());
  auto p = Translate(built->orb, *built->memory, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  Device dev(*arena_);
  const uint32_t head = p->chains()[0].host_iova;
  EXPECT_EQ(dev.Fetch(dev.CcwAt(head)), de);
  std::vector<uint8_t> block(4096, 0x5A);
  dev.Store(dev.CcwAt(head + 8), std::span(block).first(1000));
  dev.Store(dev.CcwAt(head + 16), block);  // would be wrong to copy back
  auto done = p->Complete(FinalScsw(head + 16, 3096, dev_stat::kChannelEnd | dev_stat::kDeviceEnd | dev_stat::kUnitCheck),
                          *built->memory);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_THAT(done->transfers, ElementsAre(CcwTransfer{0, 0x1000, 0x63, false, 16},
                                           CcwTransfer{1, 0x1008, 0x86, true, 1000}));
  EXPECT_EQ(done->bytes_in, 1000u);
  EXPECT_EQ(done->bytes_out, 16u);
  std::vector<uint8_t> got(4096);
  ASSERT_THAT(built->memory->Read(built->data_addrs[1], got), IsOk());
  EXPECT_EQ(std::count(got.begin(), got.begin() + 1000, 0x5A), 1000);
  EXPECT_EQ(std::count(got.begin() + 1000, got.end(), 0), 3096);
  ASSERT_THAT(built->memory->Read(built->data_addrs[2], got), IsOk());
  EXPECT_THAT(std::span(got).first(4), ElementsAre(9, 9, 9, 0));
}

TEST_F(TranslatorTest, ReadBackwardComesBackIntoTheTail) {
  auto built = BuildProgram(std::vector<CcwSpec>{{.cmd = 0x0C, .count = 100}});
  ASSERT_TRUE(built.ok());
  auto p = Translate(built->orb, *built->memory, *arena_);
  ASSERT_TRUE(p.ok());
  Device dev(*arena_);
  const Ccw1 host = dev.CcwAt(p->orb().cpa);
  std::vector<uint8_t> tail(60, 0x77);
  dev.Store(host, tail, 40);
  auto done = p->Complete(FinalScsw(p->orb().cpa + 8, 40), *built->memory);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->bytes_in, 60u);
  std::vector<uint8_t> got(100);
  ASSERT_THAT(built->memory->Read(built->data_addrs[0], got), IsOk());
  EXPECT_EQ(std::count(got.begin(), got.begin() + 40, 0), 40);
  EXPECT_EQ(std::count(got.begin() + 40, got.end(), 0x77), 60);
}

TEST_F(TranslatorTest, ResidualAboveCountIsDataLoss) {
  auto built = BuildProgram(std::vector<CcwSpec>{{.cmd = 0x06, .count = 16}});
  ASSERT_TRUE(built.ok());
  auto p = Translate(built->orb, *built->memory, *arena_);
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->Complete(FinalScsw(p->orb().cpa + 8, 17), *built->memory),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("residual count 17 exceeds the count 16")));
  EXPECT_EQ(arena_->FreePageCount(), kArenaPages);
}

TEST_F(TranslatorTest, ClearCopiesNothingBack) {
  auto built = BuildProgram(std::vector<CcwSpec>{{.cmd = 0x06, .count = 16}});
  ASSERT_TRUE(built.ok());
  auto p = Translate(built->orb, *built->memory, *arena_);
  ASSERT_TRUE(p.ok());
  Device dev(*arena_);
  dev.Store(dev.CcwAt(p->orb().cpa), std::vector<uint8_t>(16, 0xEE));
  Scsw s = FinalScsw(0, 0, 0);
  s.fctl = scsw_fctl::kStart | scsw_fctl::kClear;
  s.stctl = scsw_stctl::kStatusPending;
  auto done = p->Complete(s, *built->memory);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(done->last_ccw.has_value());
  EXPECT_TRUE(done->transfers.empty());
  std::vector<uint8_t> got(16);
  ASSERT_THAT(built->memory->Read(built->data_addrs[0], got), IsOk());
  EXPECT_EQ(std::count(got.begin(), got.end(), 0), 16);
  EXPECT_EQ(arena_->FreePageCount(), kArenaPages);
}

// --- The real programs of reference/dasd-3390.md §4 --------------------------------

// Linux's read of one 4 KiB block (block 100: cylinder 0 head 8 record 5).
TEST_F(TranslatorTest, LinuxDasdBlockRead) {
  const std::vector<uint8_t> de = {0x40, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08};
  const std::vector<uint8_t> lr = {0x06, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08,
                                   0x00, 0x00, 0x00, 0x08, 0x05, 0x4D, 0x10, 0x00};
  auto built = BuildProgram(std::vector<CcwSpec>{{.cmd = 0x63, .flags = ccw_flag::kCc, .data = de},
                                                 {.cmd = 0x47, .flags = ccw_flag::kCc, .data = lr},
                                                 {.cmd = 0x86, .count = 4096}});
  ASSERT_TRUE(built.ok()) << built.status();
  auto p = Translate(built->orb, *built->memory, *arena_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->stats().chains, 1);
  EXPECT_EQ(p->stats().ccws, 3);
  // 16 + 16 bytes share a page with the start of the block: 1 + 1 + 2 IDAWs.
  EXPECT_EQ(p->stats().idaws, 4);
  EXPECT_EQ(p->stats().bytes, 4128u);
  Device dev(*arena_);
  const uint32_t head = p->chains()[0].host_iova;
  const Ccw1 c0 = dev.CcwAt(head), c1 = dev.CcwAt(head + 8), c2 = dev.CcwAt(head + 16);
  EXPECT_EQ(c0.cmd, 0x63);
  EXPECT_EQ(c0.flags, ccw_flag::kCc | ccw_flag::kIda);
  EXPECT_EQ(c1.flags, ccw_flag::kCc | ccw_flag::kIda);
  EXPECT_EQ(c2.flags, ccw_flag::kIda);
  EXPECT_EQ(dev.Fetch(c0), de);
  EXPECT_EQ(dev.Fetch(c1), lr);
  std::vector<uint8_t> record(4096);
  for (size_t i = 0; i < record.size(); ++i) record[i] = static_cast<uint8_t>(i * 13);
  dev.Store(c2, record);
  auto done = p->Complete(FinalScsw(head + 24, 0), *built->memory);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->bytes_in, 4096u);
  EXPECT_EQ(done->bytes_out, 32u);
  std::vector<uint8_t> got(4096);
  ASSERT_THAT(built->memory->Read(built->data_addrs[2], got), IsOk());
  EXPECT_EQ(got, record);
}

// The QEMU s390-ccw BIOS ECKD IPL: READ IPL with format-0 CCWs into address 0,
// then SEEK / SEARCH ID EQUAL / TIC / READ for IPL2 (dasd-ipl.c).
TEST_F(TranslatorTest, QemuBiosEckdIplSequence) {
  FlatGuestMemory m(0x10000);
  Orb o = Format1Orb(0x2000);
  o.fmt = false;
  // (1) READ IPL, count 0x18, no chaining, to address 0.
  PutCcw0(m, 0x2000, 0x02, 0x000000, 0, 0x18);
  auto ipl1 = Translate(o, m, *arena_);
  ASSERT_TRUE(ipl1.ok()) << ipl1.status();
  Device dev(*arena_);
  const Ccw1 read_ipl = dev.CcwAt(ipl1->orb().cpa);
  EXPECT_EQ(read_ipl.cmd, 0x02);
  EXPECT_EQ(read_ipl.count, 0x18);
  // IPL1 from dasdinit: PSW 00060000 0000000F, a NOP CCW, a zero CCW.
  const auto psw_and_ccws = Bytes({0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x03, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0});
  dev.Store(read_ipl, psw_and_ccws);
  auto d1 = ipl1->Complete(FinalScsw(ipl1->orb().cpa + 8, 0), m);
  ASSERT_TRUE(d1.ok()) << d1.status();
  std::vector<uint8_t> low(24);
  ASSERT_THAT(m.Read(0, low), IsOk());
  EXPECT_EQ(low, psw_and_ccws);

  // (2) SEEK 0/0, SEARCH ID EQUAL 0000 0000 02, TIC back, READ of IPL2 (144 bytes).
  ASSERT_THAT(m.Write(0x3000, Bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02})), IsOk());
  PutCcw0(m, 0x2100, 0x07, 0x3000, ccw_flag::kCc, 6);
  PutCcw0(m, 0x2108, 0x31, 0x3006, ccw_flag::kCc, 5);
  PutCcw0(m, 0x2110, 0x08, 0x2108, 0, 0);
  PutCcw0(m, 0x2118, 0x06, 0x4000, 0, 144);
  o.cpa = 0x2100;
  auto ipl2 = Translate(o, m, *arena_);
  ASSERT_TRUE(ipl2.ok()) << ipl2.status();
  ASSERT_EQ(ipl2->chains().size(), 1u);
  EXPECT_EQ(ipl2->chains()[0].len, 4);
  const uint32_t head = ipl2->chains()[0].host_iova;
  EXPECT_EQ(dev.Fetch(dev.CcwAt(head + 8)), Bytes({0, 0, 0, 0, 0x02}));
  EXPECT_EQ(dev.CcwAt(head + 16), (Ccw1{ccw_cmd::kTic, 0, 0, head + 8}));
  // The search matched (status modifier), the TIC was skipped, READ ran.
  dev.Store(dev.CcwAt(head + 24), std::vector<uint8_t>(144, 0x42));
  auto d2 = ipl2->Complete(FinalScsw(head + 32, 0), m);
  ASSERT_TRUE(d2.ok()) << d2.status();
  EXPECT_EQ(d2->scsw.cpa, 0x2120u);
  EXPECT_THAT(d2->transfers, ElementsAre(CcwTransfer{0, 0x2100, 0x07, false, 6},
                                         CcwTransfer{1, 0x2108, 0x31, false, 5},
                                         CcwTransfer{3, 0x2118, 0x06, true, 144}));
  std::vector<uint8_t> got(144);
  ASSERT_THAT(m.Read(0x4000, got), IsOk());
  EXPECT_EQ(std::count(got.begin(), got.end(), 0x42), 144);
}

// Programs translated one after another reuse the same pages: nothing leaks.
TEST_F(TranslatorTest, ManyProgramsLeaveTheArenaAsFound) {
  auto built = BuildProgram(std::vector<CcwSpec>{{.cmd = 0x63, .flags = ccw_flag::kCc, .count = 16},
                                                 {.cmd = 0x86, .count = 4096}});
  ASSERT_TRUE(built.ok());
  for (int i = 0; i < 1000; ++i) {
    auto p = Translate(built->orb, *built->memory, *arena_);
    ASSERT_TRUE(p.ok()) << p.status();
    if (i % 2 == 0) {
      ASSERT_TRUE(p->Complete(FinalScsw(p->orb().cpa + 16, 0), *built->memory).ok());
    }  // odd ones are dropped: the destructor returns their pages
  }
  EXPECT_EQ(arena_->FreePageCount(), kArenaPages);
  EXPECT_EQ(arena_->LowWaterFreePages(), kArenaPages - 3);
}

}  // namespace
}  // namespace ccwpass::translate
