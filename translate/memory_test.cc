// Tests of the client memory (flat and sparse) and the DMA arena: bounds, errors,
// allocation and return of pages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "testing/status_matchers.h"
#include "translate/arena.h"
#include "translate/guest_memory.h"

namespace ccwpass::translate {
namespace {

using ::ccwpass::testing::HasErrno;
using ::ccwpass::testing::IsOk;
using ::ccwpass::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(FlatGuestMemoryTest, ReadsWhatWasWrittenAndZerosElsewhere) {
  FlatGuestMemory m(0x100);
  ASSERT_THAT(m.Write(0xFC, std::vector<uint8_t>{1, 2, 3, 4}), IsOk());
  std::vector<uint8_t> out(6);
  ASSERT_THAT(m.Read(0xFA, out), IsOk());
  EXPECT_THAT(out, ElementsAre(0, 0, 1, 2, 3, 4));
}

TEST(FlatGuestMemoryTest, OutOfRangeIsAnErrorAndTouchesNothing) {
  FlatGuestMemory m(0x100);
  std::vector<uint8_t> out(4, 0xEE);
  EXPECT_THAT(m.Read(0xFD, out), StatusIs(absl::StatusCode::kOutOfRange,
                                          HasSubstr("read of 4 bytes at 0xfd is outside the memory of 0x100 bytes")));
  EXPECT_THAT(m.Read(0xFD, out), HasErrno(EFAULT));
  EXPECT_THAT(out, ElementsAre(0xEE, 0xEE, 0xEE, 0xEE));
  EXPECT_THAT(m.Write(0x100, std::vector<uint8_t>{1}), StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("write of 1 bytes at 0x100")));
  // An address so large that addr + len wraps around.
  EXPECT_THAT(m.Read(~uint64_t{0} - 1, out), StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("outside")));
  EXPECT_TRUE(m.Contains(0x100, 0));
  EXPECT_FALSE(m.Contains(0x101, 0));
}

// Host addresses congruent to guest addresses and IOVAs modulo 4 KiB: what the
// translator's placement of bounce buffers relies on (aligned_bytes.h).
TEST(FlatGuestMemoryTest, BytesArePageAlignedZeroFilledAndCopyable) {
  FlatGuestMemory m(0x3001);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m.Bytes().data()) % 4096, 0u);
  EXPECT_EQ(m.Bytes().size(), 0x3001u);
  EXPECT_EQ(std::count(m.Bytes().begin(), m.Bytes().end(), 0), 0x3001);
  ASSERT_THAT(m.Write(0x3000, std::vector<uint8_t>{7}), IsOk());
  FlatGuestMemory copy = m;
  EXPECT_EQ(reinterpret_cast<uintptr_t>(copy.Bytes().data()) % 4096, 0u);
  EXPECT_EQ(copy.Bytes()[0x3000], 7);
  EXPECT_NE(copy.Bytes().data(), m.Bytes().data());
  EXPECT_EQ(FlatGuestMemory(0).Size(), 0u);
}

TEST(DmaArenaTest, OwnedMemoryIsPageAligned) {
  auto a = DmaArena::CreateOwned(3 * 4096, 0x10000);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(reinterpret_cast<uintptr_t>((*a)->Memory().data()) % 4096, 0u);
  EXPECT_EQ(std::count((*a)->Memory().begin(), (*a)->Memory().end(), 0), 3 * 4096);
}

TEST(SparseGuestMemoryTest, LargeMemoryCostsOnlyTheWrittenPages) {
  SparseGuestMemory m(0x80000000ull);
  ASSERT_THAT(m.Write(0x7FFFEFFE, std::vector<uint8_t>{9, 8, 7, 6}), IsOk());  // crosses a page
  EXPECT_EQ(m.PagesInUse(), 2u);
  std::vector<uint8_t> out(6);
  ASSERT_THAT(m.Read(0x7FFFEFFD, out), IsOk());
  EXPECT_THAT(out, ElementsAre(0, 9, 8, 7, 6, 0));
  std::vector<uint8_t> far(3, 0xEE);
  ASSERT_THAT(m.Read(0x40000000, far), IsOk());
  EXPECT_THAT(far, ElementsAre(0, 0, 0));
  EXPECT_EQ(m.PagesInUse(), 2u);  // reads allocate nothing
  EXPECT_THAT(m.Read(0x7FFFFFFF, far), HasErrno(EFAULT));
}

TEST(DmaArenaTest, CreateRefusesBadGeometry) {
  EXPECT_THAT(DmaArena::CreateOwned(0, 0x1000), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("size 0 bytes")));
  EXPECT_THAT(DmaArena::CreateOwned(4097, 0x1000), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("4097")));
  EXPECT_THAT(DmaArena::CreateOwned(4096, 0x1800),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("IOVA base 0x1800 is not 4 KiB-aligned")));
  EXPECT_THAT(DmaArena::CreateOwned(0x2000, 0x7FFFF000),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reaches above 2 GiB")));
  EXPECT_TRUE(DmaArena::CreateOwned(0x1000, 0x7FFFF000).ok());
}

TEST(DmaArenaTest, AllocateFreeAndAddresses) {
  auto a = DmaArena::CreateOwned(4 * 4096, 0x40000);
  ASSERT_TRUE(a.ok()) << a.status();
  DmaArena& arena = **a;
  EXPECT_EQ(arena.TotalPages(), 4u);
  PageList p;
  ASSERT_THAT(arena.Allocate(3, p), IsOk());
  EXPECT_THAT(p, ElementsAre(0, 1, 2));
  EXPECT_EQ(arena.PageIova(2), 0x42000u);
  EXPECT_EQ(arena.FreePageCount(), 1u);
  PageList q;
  EXPECT_THAT(arena.Allocate(2, q), StatusIs(absl::StatusCode::kResourceExhausted,
                                             HasSubstr("needs 2 pages of 4 KiB, 1 of 4 are free")));
  EXPECT_THAT(arena.Allocate(2, q), HasErrno(ENOMEM));
  EXPECT_TRUE(q.empty());
  arena.Free(p);
  EXPECT_EQ(arena.FreePageCount(), 4u);
  EXPECT_EQ(arena.LowWaterFreePages(), 1u);
  PageList r;
  ASSERT_THAT(arena.Allocate(3, r), IsOk());
  EXPECT_EQ(r, p);  // the same pages in the same order
}

TEST(DmaArenaTest, AtChecksBounds) {
  auto a = DmaArena::CreateOwned(2 * 4096, 0x40000);
  ASSERT_TRUE(a.ok());
  DmaArena& arena = **a;
  auto s = arena.At(0x41FF0, 16);
  ASSERT_TRUE(s.ok()) << s.status();
  (*s)[15] = 0xAB;
  EXPECT_EQ(arena.PageData(1)[4095], 0xAB);
  EXPECT_THAT(arena.At(0x41FF0, 17), StatusIs(absl::StatusCode::kOutOfRange,
                                             HasSubstr("IOVA range [0x41ff0, +17) is outside the DMA arena [0x40000, 0x42000)")));
  EXPECT_THAT(arena.At(0x3FFFF, 1), HasErrno(EFAULT));
  EXPECT_THAT(arena.At(0x42000, 1), HasErrno(EFAULT));
  EXPECT_TRUE(arena.At(0x42000, 0).ok());
}

TEST(DmaArenaTest, WrapsCallerMemory) {
  std::vector<uint8_t> mem(8192, 0);
  auto a = DmaArena::Create(mem, 0x10000);
  ASSERT_TRUE(a.ok()) << a.status();
  (*a)->PageData(1)[0] = 0x5A;
  EXPECT_EQ(mem[4096], 0x5A);
  EXPECT_THAT(DmaArena::Create(std::span<uint8_t>(mem).first(100), 0x10000),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("100 bytes")));
}

}  // namespace
}  // namespace ccwpass::translate
