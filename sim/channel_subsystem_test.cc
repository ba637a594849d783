#include "sim/channel_subsystem.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "sim/device.h"
#include "translate/arch.h"
#include "translate/guest_memory.h"

// Readable failure output for the exact-SCSW assertions.
namespace ccwpass::translate {
void PrintTo(const Scsw& s, std::ostream* os) {
  *os << std::hex << "{key=" << int{s.key} << " S=" << s.sctl << " L=" << s.eswf << " cc=" << int{s.cc}
      << " F=" << s.fmt << " P=" << s.pfch << " I=" << s.isic << " A=" << s.alcc << " U=" << s.ssi
      << " Z=" << s.zcc << " E=" << s.ectl << " N=" << s.pno << " fctl=0x" << int{s.fctl} << " actl=0x"
      << int{s.actl} << " stctl=0x" << int{s.stctl} << " cpa=0x" << s.cpa << " dstat=0x" << int{s.dstat}
      << " cstat=0x" << int{s.cstat} << " count=0x" << s.count << "}" << std::dec;
}
}  // namespace ccwpass::translate

namespace ccwpass::sim {
namespace {

using translate::Ccw0;
using translate::Ccw1;
using translate::FlatGuestMemory;
using translate::IdawFormat;
using translate::Irb;
using translate::Orb;
using translate::Schib;
using translate::Scsw;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

namespace fctl = translate::scsw_fctl;
namespace actl = translate::scsw_actl;
namespace stctl = translate::scsw_stctl;
namespace cstat = translate::sch_stat;
namespace flag = translate::ccw_flag;

constexpr uint8_t kCeDe = kDevChannelEnd | kDevDeviceEnd;
// Final status of a start function: primary | secondary | status pending.
constexpr uint8_t kFinal = stctl::kPrimary | stctl::kSecondary | stctl::kStatusPending;
constexpr uint8_t kFinalAlert = kFinal | stctl::kAlert;

// Command codes (device-specific except SENSE, NOOP and TIC; the fake device
// does not care).
constexpr uint8_t kCmdWrite = 0x01;
constexpr uint8_t kCmdRead = 0x02;
constexpr uint8_t kCmdNoop = 0x03;
constexpr uint8_t kCmdSense = 0x04;
constexpr uint8_t kCmdTic = 0x08;
constexpr uint8_t kCmdSearch = 0x31;  // SEARCH ID EQUAL (write class)

constexpr absl::Duration kTimeout = absl::Seconds(10);
constexpr uint64_t kMemSize = 0x10000;

std::vector<uint8_t> Iota(size_t n, uint8_t first) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(first + i);
  return v;
}
std::vector<uint8_t> Filled(size_t n, uint8_t b) { return std::vector<uint8_t>(n, b); }
std::vector<uint8_t> Concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// One command as the fake device received it.
struct Seen {
  uint8_t code = 0;
  uint32_t count = 0;
  bool command_chained = false;
  bool first_in_chain = false;
  std::vector<uint8_t> data;  // the buffer as handed to the device
  bool operator==(const Seen&) const = default;
};
void PrintTo(const Seen& s, std::ostream* os) {
  *os << "{code=0x" << std::hex << int{s.code} << std::dec << " count=" << s.count
      << " cc=" << s.command_chained << " first=" << s.first_in_chain << " data=" << ::testing::PrintToString(s.data)
      << "}";
}
// What a read-type command looks like to the device: a zeroed buffer.
Seen In(uint8_t code, uint32_t count, bool cc, bool first) { return {code, count, cc, first, Filled(count, 0)}; }
// A write-type command: the bytes the channel gathered.
Seen Out(uint8_t code, std::vector<uint8_t> data, bool cc, bool first) {
  const auto n = static_cast<uint32_t>(data.size());
  return {code, n, cc, first, std::move(data)};
}

// A scripted device: records every command with its data and answers from a
// queue (CE|DE with length == count when the queue is empty).
class FakeDevice final : public Device {
 public:
  DeviceIdentity identity() const override { return {0x3990, 0xE9, 0x3390, 0x0C}; }
  std::string Describe() const override { return "fake"; }
  void BeginChain() override {
    absl::MutexLock l(&mu_);
    ++begin_chains_;
  }
  CommandResult Execute(const Command& cmd, absl::Span<uint8_t> data) override {
    CommandResult r{kCeDe, cmd.count};
    absl::Notification* entered = nullptr;
    absl::Notification* release = nullptr;
    {
      absl::MutexLock l(&mu_);
      seen_.push_back({cmd.code, cmd.count, cmd.command_chained, cmd.first_in_chain,
                       std::vector<uint8_t>(data.begin(), data.end())});
      if (!replies_.empty()) {
        Reply rep = std::move(replies_.front());
        replies_.pop_front();
        r = {rep.status, rep.length};
        std::copy_n(rep.read.begin(), std::min(rep.read.size(), data.size()), data.begin());
      }
      std::swap(entered, entered_);
      std::swap(release, release_);
    }
    if (entered != nullptr) {
      entered->Notify();
      release->WaitForNotificationWithTimeout(kTimeout);
    }
    return r;
  }
  void EndChain() override {
    absl::MutexLock l(&mu_);
    ++end_chains_;
  }
  std::vector<uint8_t> Sense() const override {
    absl::MutexLock l(&mu_);
    return sense_;
  }

  // The next command ends with `status` and record length `length`; for a read
  // the device puts `read` (at most count bytes) at the start of the buffer.
  void Answer(uint8_t status, uint32_t length, std::vector<uint8_t> read = {}) {
    absl::MutexLock l(&mu_);
    replies_.push_back({status, length, std::move(read)});
  }
  // A read answer whose length is the payload's.
  void AnswerRead(std::vector<uint8_t> read) {
    const auto n = static_cast<uint32_t>(read.size());
    Answer(kCeDe, n, std::move(read));
  }
  void SetSense(std::vector<uint8_t> s) {
    absl::MutexLock l(&mu_);
    sense_ = std::move(s);
  }
  // The next command notifies `entered` and then waits for `release`.
  void BlockNextCommand(absl::Notification* entered, absl::Notification* release) {
    absl::MutexLock l(&mu_);
    entered_ = entered;
    release_ = release;
  }
  std::vector<Seen> seen() const {
    absl::MutexLock l(&mu_);
    return seen_;
  }
  int begin_chains() const {
    absl::MutexLock l(&mu_);
    return begin_chains_;
  }
  int end_chains() const {
    absl::MutexLock l(&mu_);
    return end_chains_;
  }

 private:
  struct Reply {
    uint8_t status;
    uint32_t length;
    std::vector<uint8_t> read;
  };
  mutable absl::Mutex mu_;
  std::deque<Reply> replies_ ABSL_GUARDED_BY(mu_);
  std::vector<Seen> seen_ ABSL_GUARDED_BY(mu_);
  std::vector<uint8_t> sense_ ABSL_GUARDED_BY(mu_);
  int begin_chains_ ABSL_GUARDED_BY(mu_) = 0;
  int end_chains_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Notification* entered_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Notification* release_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// A format-1 ORB on all paths.
Orb Fmt1(uint32_t cpa, uint8_t lpm = 0xFF) {
  return Orb{.intparm = 0xC0FFEE, .fmt = true, .lpm = lpm, .cpa = cpa};
}
Scsw Fmt1Scsw(Scsw s) {
  s.fmt = true;
  return s;
}

// One I/O interruption as the handler saw it: with auto TSCH, the condition
// code and IRB that TSCH gave on the CSS thread.
struct Event {
  uint32_t index = 0;
  int tsch_cc = -1;  // -1: the handler did not issue TSCH
  Irb irb;
};

class ChannelSubsystemTest : public ::testing::Test {
 protected:
  ChannelSubsystemTest() {
    css_.SetInterruptHandler([this](uint32_t index) { OnInterrupt(index); });
  }

  // A subchannel with a FakeDevice, CHPID 0x40 on path 0x80 unless `setup`
  // says otherwise (its device is replaced by a FakeDevice).
  static SubchannelSetup DefaultSetup() {
    SubchannelSetup s;
    s.devno = 0x0100;
    s.chpids = {0x40};
    s.pim = 0x80;
    s.pam = 0x80;
    return s;
  }
  uint32_t AddSub(SubchannelSetup setup = DefaultSetup()) {
    auto d = std::make_unique<FakeDevice>();
    FakeDevice* raw = d.get();
    setup.device = std::move(d);
    const uint32_t index = css_.Add(std::move(setup));
    devs_.resize(std::max<size_t>(devs_.size(), index + 1), nullptr);
    devs_[index] = raw;
    return index;
  }
  FakeDevice& dev(uint32_t index) { return *devs_.at(index); }

  // ---- Program layout in mem_.
  void Put(uint64_t addr, const std::vector<uint8_t>& bytes) { ASSERT_TRUE(mem_.Write(addr, bytes).ok()); }
  std::vector<uint8_t> Get(uint64_t addr, size_t n) {
    std::vector<uint8_t> v(n);
    EXPECT_TRUE(mem_.Read(addr, v).ok());
    return v;
  }
  void Ccw(uint64_t addr, uint8_t cmd, uint8_t flags, uint16_t count, uint32_t cda) {
    const auto b = Ccw1{cmd, flags, count, cda}.Encode();
    Put(addr, std::vector<uint8_t>(b.begin(), b.end()));
  }
  void Tic(uint64_t addr, uint32_t target) { Ccw(addr, kCmdTic, 0, 0, target); }
  void CcwFmt0(uint64_t addr, uint8_t cmd, uint8_t flags, uint16_t count, uint32_t cda) {
    const auto b = Ccw0{.cmd = cmd, .cda = cda, .flags = flags, .count = count}.Encode();
    Put(addr, std::vector<uint8_t>(b.begin(), b.end()));
  }
  void Idal(uint64_t addr, IdawFormat f, const std::vector<uint64_t>& idaws) {
    const size_t sz = translate::IdawSize(f);
    std::vector<uint8_t> b(sz * idaws.size());
    for (size_t i = 0; i < idaws.size(); ++i) {
      translate::EncodeIdaw(f, idaws[i], std::span<uint8_t>(b.data() + i * sz, sz));
    }
    Put(addr, b);
  }

  // ---- Interruptions.
  void OnInterrupt(uint32_t index) {
    Event e;
    e.index = index;
    if (auto_tsch_.load()) e.tsch_cc = css_.Tsch(index, &e.irb);
    std::function<void(const Event&)> hook;
    {
      absl::MutexLock l(&mu_);
      hook = hook_;
    }
    if (hook) hook(e);
    absl::MutexLock l(&mu_);
    events_.push_back(e);
  }
  // Runs on the CSS thread for each interruption, after the TSCH and before the
  // event is recorded, with no CSS lock held.
  void SetHook(std::function<void(const Event&)> h) {
    absl::MutexLock l(&mu_);
    hook_ = std::move(h);
  }
  size_t EventCount() {
    absl::MutexLock l(&mu_);
    return events_.size();
  }
  bool WaitForEvents(size_t n) {
    absl::MutexLock l(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return events_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kTimeout);
  }
  std::vector<Event> events() {
    absl::MutexLock l(&mu_);
    return events_;
  }

  // MSCH (enable) + SSCH; returns the SSCH condition code.
  int Start(uint32_t index, const Orb& orb) {
    EXPECT_EQ(css_.Msch(index, true, orb.intparm), 0);
    return css_.Ssch(index, orb, &mem_);
  }
  // Start, wait for the interruption, and return the IRB TSCH stored.
  Irb Run(uint32_t index, const Orb& orb) {
    const size_t n = EventCount();
    EXPECT_EQ(Start(index, orb), 0);
    if (!WaitForEvents(n + 1)) {
      ADD_FAILURE() << "no interruption within " << kTimeout;
      return Irb{};
    }
    const Event e = events()[n];
    EXPECT_EQ(e.index, index);
    EXPECT_EQ(e.tsch_cc, 0);
    return e.irb;
  }

  FlatGuestMemory mem_{kMemSize};
  std::atomic<bool> auto_tsch_{true};
  absl::Mutex mu_;
  std::vector<Event> events_ ABSL_GUARDED_BY(mu_);
  std::function<void(const Event&)> hook_ ABSL_GUARDED_BY(mu_);
  std::vector<FakeDevice*> devs_;  // owned by css_
  ChannelSubsystem css_;           // last: its thread stops before the rest goes
};

// ---------------------------------------------------------------------------
// Basic execution.

TEST_F(ChannelSubsystemTest, SingleReadStoresDataAndEndsWithPrimarySecondary) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, 0, 16, 0x1000);
  dev(i).AnswerRead(Iota(16, 0xA0));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x108, .dstat = kCeDe, .count = 0}));
  EXPECT_TRUE(irb.scsw.IsFinal());
  EXPECT_EQ(irb.esw.lpum, 0x80);
  EXPECT_EQ(irb.ecw, (std::array<uint8_t, 32>{}));
  EXPECT_EQ(Get(0x1000, 16), Iota(16, 0xA0));
  EXPECT_EQ(Get(0x1010, 4), Filled(4, 0));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 16, false, true)));
  EXPECT_EQ(dev(i).begin_chains(), 1);
  EXPECT_EQ(dev(i).end_chains(), 1);

  // The function is over: STSCH shows an idle subchannel, TSCH has nothing.
  Schib schib;
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_EQ(schib.scsw.fctl, 0);
  EXPECT_EQ(schib.scsw.actl, 0);
  EXPECT_EQ(schib.scsw.stctl, 0);
  EXPECT_TRUE(schib.pmcw.ena);
  EXPECT_EQ(schib.pmcw.intparm, 0xC0FFEEu);
  EXPECT_EQ(schib.pmcw.dev, 0x0100);
  EXPECT_EQ(schib.pmcw.lpum, 0x80);
  Irb again;
  EXPECT_EQ(css_.Tsch(i, &again), 1);
}

TEST_F(ChannelSubsystemTest, FormatZeroOrbIsReportedInScsw) {
  const uint32_t i = AddSub();
  CcwFmt0(0x100, kCmdWrite, 0, 3, 0x1000);
  Put(0x1000, {7, 8, 9});
  Orb orb = Fmt1(0x100);
  orb.fmt = false;
  const Irb irb = Run(i, orb);
  EXPECT_EQ(irb.scsw, (Scsw{.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x108, .dstat = kCeDe}));
  EXPECT_THAT(dev(i).seen(), ElementsAre(Out(kCmdWrite, {7, 8, 9}, false, true)));
}

TEST_F(ChannelSubsystemTest, CommandChainingEndsAtFirstCcwWithoutCc) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdWrite, flag::kCc, 4, 0x1000);
  Ccw(0x108, kCmdNoop, flag::kCc, 0, 0);
  Ccw(0x110, kCmdRead, 0, 8, 0x2000);
  Ccw(0x118, kCmdWrite, 0, 4, 0x1000);  // not reached: 0x110 has no CC
  Put(0x1000, {1, 2, 3, 4});
  dev(i).Answer(kCeDe, 4);
  dev(i).Answer(kCeDe, 0);
  dev(i).AnswerRead(Iota(8, 0x30));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x118, .dstat = kCeDe, .count = 0}));
  EXPECT_EQ(Get(0x2000, 8), Iota(8, 0x30));
  EXPECT_THAT(dev(i).seen(), ElementsAre(Out(kCmdWrite, {1, 2, 3, 4}, true, true), In(kCmdNoop, 0, true, false),
                                         In(kCmdRead, 8, false, false)));
  EXPECT_EQ(dev(i).begin_chains(), 1);
  EXPECT_EQ(dev(i).end_chains(), 1);
}

// ---------------------------------------------------------------------------
// Data chaining.

TEST_F(ChannelSubsystemTest, DataChainedWriteIsOneCommandWithConcatenatedData) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdWrite, flag::kCd, 3, 0x1000);
  Ccw(0x108, kCmdWrite, flag::kCd, 2, 0x2000);
  Ccw(0x110, kCmdWrite, flag::kCc, 4, 0x3000);  // the last of the chain carries CC
  Ccw(0x118, kCmdNoop, 0, 0, 0);
  Put(0x1000, {'a', 'b', 'c'});
  Put(0x2000, {'d', 'e'});
  Put(0x3000, {'f', 'g', 'h', 'i'});

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x120, .dstat = kCeDe, .count = 0}));
  EXPECT_THAT(dev(i).seen(), ElementsAre(Out(kCmdWrite, {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'}, true, true),
                                         In(kCmdNoop, 0, false, false)));
}

TEST_F(ChannelSubsystemTest, DataChainedReadIsScatteredOverTheBuffers) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kCd, 4, 0x1000);
  Ccw(0x108, kCmdRead, flag::kCd, 4, 0x2000);
  Ccw(0x110, kCmdRead, 0, 4, 0x3000);
  dev(i).AnswerRead(Iota(12, 1));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x118, .dstat = kCeDe, .count = 0}));
  EXPECT_EQ(Get(0x1000, 5), (std::vector<uint8_t>{1, 2, 3, 4, 0}));
  EXPECT_EQ(Get(0x2000, 5), (std::vector<uint8_t>{5, 6, 7, 8, 0}));
  EXPECT_EQ(Get(0x3000, 5), (std::vector<uint8_t>{9, 10, 11, 12, 0}));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 12, false, true)));
}

TEST_F(ChannelSubsystemTest, DataChainShortReadEndsOnTheCcwWhereTheTransferStopped) {
  // SLI on the CCW where the transfer ends suppresses incorrect length; the
  // CPA and residual count are that CCW's.
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kCd, 4, 0x1000);
  Ccw(0x108, kCmdRead, flag::kCd | flag::kSli, 4, 0x2000);
  Ccw(0x110, kCmdRead, 0, 4, 0x3000);
  dev(i).AnswerRead(Iota(6, 1));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x110, .dstat = kCeDe, .count = 2}));
  EXPECT_EQ(Get(0x1000, 4), (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(Get(0x2000, 4), (std::vector<uint8_t>{5, 6, 0, 0}));
  EXPECT_EQ(Get(0x3000, 4), Filled(4, 0));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 12, false, true)));
}

TEST_F(ChannelSubsystemTest, DataChainShortReadWithSliOnlyOnAnotherCcwIsIncorrectLength) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kCd, 4, 0x1000);
  Ccw(0x108, kCmdRead, flag::kCd, 4, 0x2000);
  Ccw(0x110, kCmdRead, flag::kSli, 4, 0x3000);
  dev(i).AnswerRead(Iota(6, 1));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart,
                                .stctl = kFinalAlert,
                                .cpa = 0x110,
                                .dstat = kCeDe,
                                .cstat = cstat::kIncorrectLength,
                                .count = 2}));
}

TEST_F(ChannelSubsystemTest, DataChainFollowsTicAndIgnoresTheCommandCodeOfChainedCcws) {
  // SA22-7832 ch. 15 "Data Chaining": the command code of a CCW fetched for
  // data chaining is ignored unless it specifies TIC.
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kCd, 4, 0x1000);
  Tic(0x108, 0x200);
  Ccw(0x200, 0x00, 0, 4, 0x2000);
  dev(i).AnswerRead(Iota(8, 1));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x208, .dstat = kCeDe, .count = 0}));
  EXPECT_EQ(Get(0x1000, 4), Iota(4, 1));
  EXPECT_EQ(Get(0x2000, 4), Iota(4, 5));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 8, false, true)));
}

// ---------------------------------------------------------------------------
// Incorrect length, SKIP.

TEST_F(ChannelSubsystemTest, ShortRecordWithoutSliIsIncorrectLengthAndStopsChaining) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kCc, 16, 0x1000);
  Ccw(0x108, kCmdNoop, 0, 0, 0);
  dev(i).AnswerRead(Iota(10, 1));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart,
                                .stctl = kFinalAlert,
                                .cpa = 0x108,
                                .dstat = kCeDe,
                                .cstat = cstat::kIncorrectLength,
                                .count = 6}));
  EXPECT_EQ(Get(0x1000, 16), Concat(Iota(10, 1), Filled(6, 0)));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 16, true, true)));
  EXPECT_EQ(dev(i).end_chains(), 1);
}

TEST_F(ChannelSubsystemTest, ShortRecordWithSliChainsOn) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kCc | flag::kSli, 16, 0x1000);
  Ccw(0x108, kCmdNoop, 0, 0, 0);
  dev(i).AnswerRead(Iota(10, 1));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x110, .dstat = kCeDe, .count = 0}));
  EXPECT_EQ(Get(0x1000, 16), Concat(Iota(10, 1), Filled(6, 0)));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 16, true, true), In(kCmdNoop, 0, false, false)));
}

TEST_F(ChannelSubsystemTest, ShortRecordWithSliOnLastCcwLeavesTheResidual) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kSli, 16, 0x1000);
  dev(i).AnswerRead(Iota(10, 1));
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x108, .dstat = kCeDe, .count = 6}));
}

TEST_F(ChannelSubsystemTest, LongRecordIsIncorrectLengthAndOnlyCountBytesAreStored) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kCc, 8, 0x1000);
  Ccw(0x108, kCmdNoop, 0, 0, 0);
  dev(i).Answer(kCeDe, 12, Iota(12, 1));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart,
                                .stctl = kFinalAlert,
                                .cpa = 0x108,
                                .dstat = kCeDe,
                                .cstat = cstat::kIncorrectLength,
                                .count = 0}));
  EXPECT_EQ(Get(0x1000, 12), Concat(Iota(8, 1), Filled(4, 0)));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 8, true, true)));
}

TEST_F(ChannelSubsystemTest, LongWriteRecordIsIncorrectLength) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdWrite, 0, 4, 0x1000);
  Put(0x1000, {1, 2, 3, 4});
  dev(i).Answer(kCeDe, 5);
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart,
                                .stctl = kFinalAlert,
                                .cpa = 0x108,
                                .dstat = kCeDe,
                                .cstat = cstat::kIncorrectLength,
                                .count = 0}));
}

TEST_F(ChannelSubsystemTest, SkipStoresNothing) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kSkip, 8, 0x1000);
  Put(0x1000, Filled(8, 0xEE));
  dev(i).AnswerRead(Iota(8, 1));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x108, .dstat = kCeDe, .count = 0}));
  EXPECT_EQ(Get(0x1000, 8), Filled(8, 0xEE));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 8, false, true)));
}

TEST_F(ChannelSubsystemTest, SkipAppliesPerCcwInADataChain) {
  // The SKIP flag of each data-chained CCW governs its own area.
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kCd | flag::kSkip, 4, 0x1000);
  Ccw(0x108, kCmdRead, flag::kCd, 4, 0x2000);
  Ccw(0x110, kCmdRead, flag::kSkip, 4, 0x3000);
  Put(0x1000, Filled(4, 0xEE));
  Put(0x2000, Filled(4, 0xEE));
  Put(0x3000, Filled(4, 0xEE));
  dev(i).AnswerRead(Iota(12, 1));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x118, .dstat = kCeDe, .count = 0}));
  EXPECT_EQ(Get(0x1000, 4), Filled(4, 0xEE));
  EXPECT_EQ(Get(0x2000, 4), Iota(4, 5));
  EXPECT_EQ(Get(0x3000, 4), Filled(4, 0xEE));
}

// ---------------------------------------------------------------------------
// PCI.

TEST_F(ChannelSubsystemTest, PciGivesAnIntermediateInterruptionBeforeTheFinalOne) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kCc, 4, 0x1000);
  Ccw(0x108, kCmdRead, flag::kPci, 4, 0x2000);
  dev(i).AnswerRead(Iota(4, 1));
  dev(i).AnswerRead(Iota(4, 5));

  // On the intermediate interruption (taken on the CSS thread): the function
  // is still in progress.
  struct AtPci {
    size_t device_commands = 0;
    int ssch_cc = -1, msch_cc = -1, tsch_cc = -1, stsch_cc = -1;
    Schib schib;
  };
  AtPci at;
  bool first = true;
  SetHook([&](const Event&) {
    if (!first) return;
    first = false;
    at.device_commands = dev(i).seen().size();
    at.ssch_cc = css_.Ssch(i, Fmt1(0x100), &mem_);
    at.msch_cc = css_.Msch(i, true, 0);
    Irb irb;
    at.tsch_cc = css_.Tsch(i, &irb);
    at.stsch_cc = css_.Stsch(i, &at.schib);
  });

  ASSERT_EQ(Start(i, Fmt1(0x100)), 0);
  ASSERT_TRUE(WaitForEvents(2));
  const std::vector<Event> ev = events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].tsch_cc, 0);
  EXPECT_EQ(ev[0].irb.scsw, Fmt1Scsw({.fctl = fctl::kStart,
                                      .actl = actl::kSubchannelActive | actl::kDeviceActive,
                                      .stctl = stctl::kIntermediate | stctl::kStatusPending,
                                      .cpa = 0x110,
                                      .cstat = cstat::kPci}));
  EXPECT_FALSE(ev[0].irb.scsw.IsFinal());
  EXPECT_EQ(ev[0].irb.esw.lpum, 0x80);
  EXPECT_EQ(ev[1].tsch_cc, 0);
  EXPECT_EQ(ev[1].irb.scsw,
            Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x110, .dstat = kCeDe, .count = 0}));

  EXPECT_EQ(at.device_commands, 1u);  // the PCI CCW had not run yet
  EXPECT_EQ(at.ssch_cc, 2);           // TSCH of intermediate status leaves the start function
  EXPECT_EQ(at.msch_cc, 2);
  EXPECT_EQ(at.tsch_cc, 1);           // nothing pending any more
  EXPECT_EQ(at.stsch_cc, 0);
  EXPECT_EQ(at.schib.scsw.fctl, fctl::kStart);
  EXPECT_EQ(at.schib.scsw.actl, actl::kSubchannelActive | actl::kDeviceActive);
  EXPECT_EQ(at.schib.scsw.stctl, 0);

  EXPECT_EQ(Get(0x1000, 4), Iota(4, 1));
  EXPECT_EQ(Get(0x2000, 4), Iota(4, 5));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 4, true, true), In(kCmdRead, 4, false, false)));
  EXPECT_EQ(css_.stats().interruptions, 2u);
  EXPECT_EQ(css_.stats().start_functions, 1u);
}

TEST_F(ChannelSubsystemTest, UncollectedPciMergesIntoTheFinalStatus) {
  const uint32_t i = AddSub();
  auto_tsch_ = false;
  Ccw(0x100, kCmdRead, flag::kPci, 4, 0x1000);
  ASSERT_EQ(Start(i, Fmt1(0x100)), 0);
  ASSERT_TRUE(WaitForEvents(2));  // intermediate, then final
  Irb irb;
  ASSERT_EQ(css_.Tsch(i, &irb), 0);
  // The PCI condition is not lost. (Whether the intermediate bit stays on
  // next to primary status is not asserted.)
  EXPECT_EQ(irb.scsw.stctl & kFinal, kFinal);
  EXPECT_EQ(irb.scsw.fctl, fctl::kStart);
  EXPECT_EQ(irb.scsw.actl, 0);
  EXPECT_EQ(irb.scsw.dstat, kCeDe);
  EXPECT_EQ(irb.scsw.cstat, cstat::kPci);
  EXPECT_EQ(irb.scsw.cpa, 0x108u);
  EXPECT_EQ(css_.Tsch(i, &irb), 1);
}

// ---------------------------------------------------------------------------
// TIC and program checks.

TEST_F(ChannelSubsystemTest, TicToALaterCcw) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kCc, 4, 0x1000);
  Tic(0x108, 0x400);
  Ccw(0x110, kCmdWrite, 0, 4, 0x1000);  // skipped over
  Ccw(0x400, kCmdWrite, 0, 2, 0x2000);
  Put(0x2000, {0x55, 0x66});
  dev(i).AnswerRead(Iota(4, 1));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x408, .dstat = kCeDe, .count = 0}));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 4, true, true), Out(kCmdWrite, {0x55, 0x66}, false, false)));
}

// A program check before any command: no device status, CPA past the CCW at fault.
Scsw ProgramCheck(uint32_t cpa, uint8_t dstat = 0) {
  return Fmt1Scsw(
      {.fctl = fctl::kStart, .stctl = kFinalAlert, .cpa = cpa, .dstat = dstat, .cstat = cstat::kProgramCheck});
}

TEST_F(ChannelSubsystemTest, TicToTicIsProgramCheck) {
  const uint32_t i = AddSub();
  Tic(0x100, 0x200);
  Tic(0x200, 0x300);  // the second TIC is the CCW at fault
  Ccw(0x300, kCmdNoop, 0, 0, 0);
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, ProgramCheck(0x208));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
  EXPECT_EQ(dev(i).begin_chains(), dev(i).end_chains());
}

TEST_F(ChannelSubsystemTest, MisalignedTicTargetIsProgramCheck) {
  const uint32_t i = AddSub();
  Tic(0x100, 0x204);
  Ccw(0x200, kCmdNoop, 0, 0, 0);
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, ProgramCheck(0x108));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
}

TEST_F(ChannelSubsystemTest, InvalidCommandCodeIsProgramCheck) {
  const uint32_t i = AddSub();
  Ccw(0x100, 0x00, 0, 4, 0x1000);
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, ProgramCheck(0x108));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
}

TEST_F(ChannelSubsystemTest, InvalidCommandCodeAfterCommandChainingKeepsThePreviousDeviceStatus) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdNoop, flag::kCc, 0, 0);
  Ccw(0x108, 0x00, 0, 4, 0x1000);
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, ProgramCheck(0x110, kCeDe));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdNoop, 0, true, true)));
}

TEST_F(ChannelSubsystemTest, CcwOutsideStorageIsProgramCheck) {
  const uint32_t i = AddSub();
  const Irb irb = Run(i, Fmt1(static_cast<uint32_t>(kMemSize)));
  EXPECT_EQ(irb.scsw, ProgramCheck(static_cast<uint32_t>(kMemSize) + 8));

  Tic(0x100, static_cast<uint32_t>(kMemSize) + 0x100);
  const Irb irb2 = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb2.scsw, ProgramCheck(static_cast<uint32_t>(kMemSize) + 0x108));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
}

TEST_F(ChannelSubsystemTest, DataOutsideStorageIsProgramCheck) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, 0, 16, static_cast<uint32_t>(kMemSize) - 8);
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, ProgramCheck(0x108));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
}

TEST_F(ChannelSubsystemTest, SuspendFlagWithoutOrbSuspendControlIsProgramCheck) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdNoop, flag::kSuspend, 0, 0);
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, ProgramCheck(0x108));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
}

TEST_F(ChannelSubsystemTest, FormatZeroChainWithTic) {
  const uint32_t i = AddSub();
  CcwFmt0(0x100, kCmdRead, flag::kCc, 4, 0x1000);
  CcwFmt0(0x108, 0x18, 0, 0, 0x200);  // format 0: any command xxxx1000 is a TIC
  CcwFmt0(0x200, kCmdWrite, 0, 2, 0x2000);
  Put(0x2000, {0xAB, 0xCD});
  dev(i).AnswerRead(Iota(4, 1));
  Orb orb = Fmt1(0x100);
  orb.fmt = false;
  const Irb irb = Run(i, orb);
  EXPECT_EQ(irb.scsw, (Scsw{.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x208, .dstat = kCeDe}));
  EXPECT_EQ(Get(0x1000, 4), Iota(4, 1));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 4, true, true), Out(kCmdWrite, {0xAB, 0xCD}, false, false)));
}

TEST_F(ChannelSubsystemTest, FormatZeroCountZeroIsProgramCheck) {
  const uint32_t i = AddSub();
  CcwFmt0(0x100, kCmdNoop, 0, 0, 0);
  Orb orb = Fmt1(0x100);
  orb.fmt = false;
  const Irb irb = Run(i, orb);
  EXPECT_EQ(irb.scsw, (Scsw{.fctl = fctl::kStart,
                            .stctl = kFinalAlert,
                            .cpa = 0x108,
                            .cstat = cstat::kProgramCheck}));
  EXPECT_THAT(dev(i).seen(), IsEmpty());

  // The same CCW in format 1 is fine.
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  const Irb irb1 = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb1.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x108, .dstat = kCeDe}));
}

// ---------------------------------------------------------------------------
// Status modifier, unit check, sense.

TEST_F(ChannelSubsystemTest, StatusModifierSkipsTheNextCcw) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdSearch, flag::kCc, 5, 0x1000);
  Tic(0x108, 0x100);  // the search loop: skipped when the search succeeds
  Ccw(0x110, kCmdRead, 0, 4, 0x2000);
  Put(0x1000, {1, 2, 3, 4, 5});
  dev(i).Answer(kDevStatusModifier | kCeDe, 5);
  dev(i).AnswerRead(Iota(4, 0x40));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x118, .dstat = kCeDe, .count = 0}));
  EXPECT_EQ(Get(0x2000, 4), Iota(4, 0x40));
  EXPECT_THAT(dev(i).seen(),
              ElementsAre(Out(kCmdSearch, {1, 2, 3, 4, 5}, true, true), In(kCmdRead, 4, false, false)));
}

TEST_F(ChannelSubsystemTest, UnitCheckStopsChainingWithAlert) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdWrite, flag::kCc, 4, 0x1000);
  Ccw(0x108, kCmdNoop, 0, 0, 0);
  Put(0x1000, {1, 2, 3, 4});
  dev(i).Answer(kCeDe | kDevUnitCheck, 0);
  dev(i).SetSense({0x80, 0x00, 0x00, 0x00});

  const Irb irb = Run(i, Fmt1(0x100));
  // No incorrect length next to unit check.
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart,
                                .stctl = kFinalAlert,
                                .cpa = 0x108,
                                .dstat = kCeDe | kDevUnitCheck,
                                .count = 4}));
  EXPECT_FALSE(irb.esw.erw_s);  // concurrent sense is off
  EXPECT_EQ(irb.ecw, (std::array<uint8_t, 32>{}));
  EXPECT_THAT(dev(i).seen(), ElementsAre(Out(kCmdWrite, {1, 2, 3, 4}, true, true)));
  EXPECT_EQ(dev(i).end_chains(), 1);
}

TEST_F(ChannelSubsystemTest, UnitCheckWithConcurrentSenseStoresTheDeviceSenseInTheEcw) {
  SubchannelSetup setup = DefaultSetup();
  setup.concurrent_sense = true;
  const uint32_t i = AddSub(std::move(setup));
  Ccw(0x100, kCmdWrite, 0, 4, 0x1000);
  dev(i).Answer(kCeDe | kDevUnitCheck, 0);
  dev(i).SetSense(Iota(32, 0x10));

  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.ectl = true,
                                .fctl = fctl::kStart,
                                .stctl = kFinalAlert,
                                .cpa = 0x108,
                                .dstat = kCeDe | kDevUnitCheck,
                                .count = 4}));
  EXPECT_TRUE(irb.esw.erw_s);
  EXPECT_EQ(irb.esw.erw_scnt, 32);
  EXPECT_THAT(irb.ecw, ElementsAreArray(Iota(32, 0x10)));
}

TEST_F(ChannelSubsystemTest, InjectedUnitCheckThenSenseReturnsTheInjectedBytes) {
  const uint32_t i = AddSub();
  const std::vector<uint8_t> sense = Iota(32, 0x80);
  css_.InjectUnitCheck(i, sense);

  // The first command of the next start function ends in unit check without
  // reaching the device.
  Ccw(0x100, kCmdRead, flag::kCc, 8, 0x1000);
  Ccw(0x108, kCmdNoop, 0, 0, 0);
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart,
                                .stctl = kFinalAlert,
                                .cpa = 0x108,
                                .dstat = kCeDe | kDevUnitCheck,
                                .count = 8}));
  EXPECT_FALSE(irb.esw.erw_s);
  EXPECT_THAT(dev(i).seen(), IsEmpty());

  // The next SENSE returns the injected bytes (once).
  Ccw(0x200, kCmdSense, 0, 32, 0x3000);
  const Irb irb2 = Run(i, Fmt1(0x200));
  EXPECT_EQ(irb2.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x208, .dstat = kCeDe, .count = 0}));
  EXPECT_EQ(Get(0x3000, 32), sense);
  EXPECT_THAT(dev(i).seen(), IsEmpty());

  // The one after that goes to the device again.
  Put(0x3000, Filled(32, 0));
  dev(i).AnswerRead(Filled(32, 0x01));
  const Irb irb3 = Run(i, Fmt1(0x200));
  EXPECT_EQ(irb3.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x208, .dstat = kCeDe, .count = 0}));
  EXPECT_EQ(Get(0x3000, 32), Filled(32, 0x01));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdSense, 32, false, true)));
}

TEST_F(ChannelSubsystemTest, InjectedSenseIntoAZeroCountSenseIsConsumed) {
  const uint32_t i = AddSub();
  css_.InjectUnitCheck(i, Iota(4, 0x80));
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  EXPECT_EQ(Run(i, Fmt1(0x100)).scsw.dstat, kCeDe | kDevUnitCheck);
  // SENSE with count 0 and SLI: the 4 bytes are offered, none fit, no IL.
  Ccw(0x200, kCmdSense, flag::kSli, 0, 0x3000);
  const Irb irb = Run(i, Fmt1(0x200));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x208, .dstat = kCeDe, .count = 0}));
  EXPECT_EQ(Get(0x3000, 4), Filled(4, 0));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
  // Consumed: the next SENSE reaches the device.
  Run(i, Fmt1(0x200));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdSense, 0, false, true)));
}

TEST_F(ChannelSubsystemTest, InjectedUnitCheckWithConcurrentSenseFillsTheEcw) {
  SubchannelSetup setup = DefaultSetup();
  setup.concurrent_sense = true;
  const uint32_t i = AddSub(std::move(setup));
  css_.InjectUnitCheck(i, Iota(24, 0x61));
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.ectl = true,
                                .fctl = fctl::kStart,
                                .stctl = kFinalAlert,
                                .cpa = 0x108,
                                .dstat = kCeDe | kDevUnitCheck,
                                .count = 0}));
  EXPECT_TRUE(irb.esw.erw_s);
  EXPECT_EQ(irb.esw.erw_scnt, 24);
  EXPECT_THAT(irb.ecw, ElementsAreArray(Concat(Iota(24, 0x61), Filled(8, 0))));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
}

// ---------------------------------------------------------------------------
// Indirect data addressing.

TEST_F(ChannelSubsystemTest, Format2IdawsWith4KBlocks) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kIda, 0x300, 0x800);
  Idal(0x800, IdawFormat::kFormat2, {0x1F00, 0x5000});
  const std::vector<uint8_t> data = Iota(0x300, 0);
  dev(i).AnswerRead(data);
  Orb orb = Fmt1(0x100);
  orb.c64 = true;

  const Irb irb = Run(i, orb);
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x108, .dstat = kCeDe, .count = 0}));
  EXPECT_EQ(Get(0x1F00, 0x100), std::vector<uint8_t>(data.begin(), data.begin() + 0x100));
  EXPECT_EQ(Get(0x2000, 4), Filled(4, 0));  // not contiguous: the second IDAW goes elsewhere
  EXPECT_EQ(Get(0x5000, 0x200), std::vector<uint8_t>(data.begin() + 0x100, data.end()));
  EXPECT_EQ(Get(0x5200, 4), Filled(4, 0));
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 0x300, false, true)));
}

TEST_F(ChannelSubsystemTest, Format2IdawsWith2KBlocks) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdWrite, flag::kIda, 0x110, 0x800);
  Idal(0x800, IdawFormat::kFormat2, {0x1F00, 0x5800});  // 0x5800: a 2K, not a 4K, boundary
  Put(0x1F00, Filled(0x100, 0x11));
  Put(0x5800, Filled(0x10, 0x22));
  Orb orb = Fmt1(0x100);
  orb.c64 = true;
  orb.i2k = true;
  const Irb irb = Run(i, orb);
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x108, .dstat = kCeDe, .count = 0}));
  EXPECT_THAT(dev(i).seen(), ElementsAre(Out(kCmdWrite, Concat(Filled(0x100, 0x11), Filled(0x10, 0x22)), false, true)));

  // With 4K blocks the same IDAL is invalid.
  orb.i2k = false;
  const Irb irb2 = Run(i, orb);
  EXPECT_EQ(irb2.scsw, ProgramCheck(0x108));
  EXPECT_EQ(dev(i).seen().size(), 1u);
}

TEST_F(ChannelSubsystemTest, Format1IdawsWith2KBlocks) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdWrite, flag::kIda, 0x820, 0x800);
  Idal(0x800, IdawFormat::kFormat1, {0x17F0, 0x3000, 0x4800});
  Put(0x17F0, Filled(0x10, 0x01));
  Put(0x3000, Filled(0x800, 0x02));
  Put(0x4800, Filled(0x10, 0x03));
  const Irb irb = Run(i, Fmt1(0x100));  // ORB H clear: format-1 IDAWs
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x108, .dstat = kCeDe, .count = 0}));
  EXPECT_THAT(dev(i).seen(),
              ElementsAre(Out(kCmdWrite, Concat(Concat(Filled(0x10, 1), Filled(0x800, 2)), Filled(0x10, 3)), false,
                              true)));
}

TEST_F(ChannelSubsystemTest, LaterIdawOffABlockBoundaryIsProgramCheck) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, flag::kIda, 0x20, 0x800);
  Idal(0x800, IdawFormat::kFormat1, {0x17F0, 0x3004});
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw, ProgramCheck(0x108));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
  EXPECT_EQ(Get(0x17F0, 0x10), Filled(0x10, 0));
}

// ---------------------------------------------------------------------------
// Halt and clear.

TEST_F(ChannelSubsystemTest, HaltOfAQueuedStartNeverReachesTheDevice) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, 0, 4, 0x1000);
  css_.SetLatency(i, 5'000'000);  // 5 s: the start function stays queued
  EXPECT_EQ(css_.Latency(i), 5'000'000u);
  ASSERT_EQ(Start(i, Fmt1(0x100)), 0);
  Schib schib;
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_EQ(schib.scsw.fctl, fctl::kStart);
  EXPECT_EQ(schib.scsw.actl, actl::kStartPending);

  ASSERT_EQ(css_.Hsch(i), 0);
  ASSERT_TRUE(WaitForEvents(1));
  const Event e = events()[0];
  EXPECT_EQ(e.tsch_cc, 0);
  EXPECT_EQ(e.irb.scsw,
            Fmt1Scsw({.fctl = fctl::kStart | fctl::kHalt, .stctl = stctl::kStatusPending, .cpa = 0x100}));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
  EXPECT_EQ(dev(i).begin_chains(), 0);
  const CssStats st = css_.stats();
  EXPECT_EQ(st.halts, 1u);
  EXPECT_EQ(st.start_functions, 0u);

  // The subchannel is idle again and takes a new program.
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_EQ(schib.scsw.fctl, 0);
  css_.SetLatency(i, 0);
  dev(i).AnswerRead(Iota(4, 1));
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw.stctl, kFinal);
  EXPECT_THAT(dev(i).seen(), ElementsAre(In(kCmdRead, 4, false, true)));
}

TEST_F(ChannelSubsystemTest, HaltOnAnIdleSubchannel) {
  const uint32_t i = AddSub();
  ASSERT_EQ(css_.Msch(i, true, 1), 0);
  ASSERT_EQ(css_.Hsch(i), 0);
  ASSERT_TRUE(WaitForEvents(1));
  const Event e = events()[0];
  EXPECT_EQ(e.tsch_cc, 0);
  EXPECT_EQ(e.irb.scsw, (Scsw{.fctl = fctl::kHalt, .stctl = stctl::kStatusPending}));
  Schib schib;
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_EQ(schib.scsw.fctl, 0);
  EXPECT_EQ(schib.scsw.actl, 0);
}

TEST_F(ChannelSubsystemTest, HaltWhileStatusPendingIsCc1) {
  const uint32_t i = AddSub();
  auto_tsch_ = false;
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  ASSERT_EQ(Start(i, Fmt1(0x100)), 0);
  ASSERT_TRUE(WaitForEvents(1));
  EXPECT_EQ(css_.Hsch(i), 1);
  Irb irb;
  ASSERT_EQ(css_.Tsch(i, &irb), 0);
  EXPECT_EQ(irb.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x108, .dstat = kCeDe}));
  EXPECT_EQ(css_.stats().halts, 0u);
}

TEST_F(ChannelSubsystemTest, ClearDropsPendingStatus) {
  const uint32_t i = AddSub();
  auto_tsch_ = false;
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  ASSERT_EQ(Start(i, Fmt1(0x100)), 0);
  ASSERT_TRUE(WaitForEvents(1));
  ASSERT_EQ(css_.Csch(i), 0);
  ASSERT_TRUE(WaitForEvents(2));
  Irb irb;
  ASSERT_EQ(css_.Tsch(i, &irb), 0);
  EXPECT_EQ(irb.scsw, (Scsw{.fctl = fctl::kClear, .stctl = stctl::kStatusPending}));
  EXPECT_EQ(css_.Tsch(i, &irb), 1);
  EXPECT_EQ(css_.stats().clears, 1u);
}

TEST_F(ChannelSubsystemTest, ClearOfAQueuedStart) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, 0, 4, 0x1000);
  css_.SetLatency(i, 5'000'000);
  ASSERT_EQ(Start(i, Fmt1(0x100)), 0);
  ASSERT_EQ(css_.Csch(i), 0);
  ASSERT_TRUE(WaitForEvents(1));
  const Event e = events()[0];
  EXPECT_EQ(e.tsch_cc, 0);
  EXPECT_EQ(e.irb.scsw, (Scsw{.fctl = fctl::kClear, .stctl = stctl::kStatusPending}));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
}

TEST_F(ChannelSubsystemTest, ADeviceSlowToAnswerTheHaltIsClearedAtOnce) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdRead, 0, 4, 0x1000);
  css_.SetLatency(i, 10'000'000);
  css_.SetHaltLatency(i, 10'000'000);  // the halt is answered only after 10 s
  ASSERT_EQ(Start(i, Fmt1(0x100)), 0);
  ASSERT_EQ(css_.Hsch(i), 0);
  EXPECT_EQ(css_.Hsch(i), 2);  // halt in progress, unanswered
  Schib schib;
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_EQ(schib.scsw.fctl, fctl::kStart | fctl::kHalt);
  EXPECT_EQ(schib.scsw.actl, actl::kStartPending | actl::kHaltPending);
  ASSERT_EQ(css_.Csch(i), 0);  // not delayed: the channel subsystem performs it
  ASSERT_TRUE(WaitForEvents(1));
  const std::vector<Event> ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].irb.scsw, (Scsw{.fctl = fctl::kClear, .stctl = stctl::kStatusPending}));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
  const CssStats st = css_.stats();
  EXPECT_EQ(st.halts, 0u);
  EXPECT_EQ(st.clears, 1u);
}

TEST_F(ChannelSubsystemTest, HaltPendingThenClearGivesOnlyTheClearInterruption) {
  // A blocked device on another subchannel holds the CSS thread, so the halt
  // stays pending while we look.
  const uint32_t blocker = AddSub();
  const uint32_t i = AddSub();
  absl::Notification entered, release;
  dev(blocker).BlockNextCommand(&entered, &release);
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  ASSERT_EQ(Start(blocker, Fmt1(0x100)), 0);
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(kTimeout));

  ASSERT_EQ(css_.Msch(i, true, 0), 0);
  EXPECT_EQ(css_.Hsch(i), 0);
  EXPECT_EQ(css_.Hsch(i), 2);  // halt in progress
  Schib schib;
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_EQ(schib.scsw.fctl, fctl::kHalt);
  EXPECT_EQ(schib.scsw.actl, actl::kHaltPending);
  EXPECT_EQ(css_.Csch(i), 0);  // clear supersedes the halt
  release.Notify();

  ASSERT_TRUE(WaitForEvents(2));
  // One more program on the blocker: once it is done, everything queued before has run.
  const Irb last = Run(blocker, Fmt1(0x100));
  EXPECT_EQ(last.scsw.stctl, kFinal);
  const std::vector<Event> ev = events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].index, blocker);
  EXPECT_EQ(ev[1].index, i);
  EXPECT_EQ(ev[1].irb.scsw, (Scsw{.fctl = fctl::kClear, .stctl = stctl::kStatusPending}));
  EXPECT_EQ(ev[2].index, blocker);
  const CssStats st = css_.stats();
  EXPECT_EQ(st.halts, 0u);
  EXPECT_EQ(st.clears, 1u);
}

// ---------------------------------------------------------------------------
// Condition codes.

TEST_F(ChannelSubsystemTest, SschWhileAFunctionIsInProgressIsCc2) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  css_.SetLatency(i, 5'000'000);
  ASSERT_EQ(Start(i, Fmt1(0x100)), 0);
  EXPECT_EQ(css_.Ssch(i, Fmt1(0x100), &mem_), 2);
  EXPECT_EQ(css_.Msch(i, true, 0), 2);
  ASSERT_EQ(css_.Csch(i), 0);
  ASSERT_TRUE(WaitForEvents(1));
  EXPECT_THAT(dev(i).seen(), IsEmpty());
}

TEST_F(ChannelSubsystemTest, SschAndMschWhileStatusPendingAreCc1) {
  const uint32_t i = AddSub();
  auto_tsch_ = false;
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  ASSERT_EQ(Start(i, Fmt1(0x100)), 0);
  ASSERT_TRUE(WaitForEvents(1));
  EXPECT_EQ(css_.Ssch(i, Fmt1(0x100), &mem_), 1);
  EXPECT_EQ(css_.Msch(i, false, 0), 1);
  Schib schib;
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_TRUE(schib.pmcw.ena);  // MSCH did nothing
  EXPECT_EQ(schib.scsw, Fmt1Scsw({.fctl = fctl::kStart, .stctl = kFinal, .cpa = 0x108, .dstat = kCeDe}));
  Irb irb;
  ASSERT_EQ(css_.Tsch(i, &irb), 0);
  EXPECT_EQ(css_.Msch(i, false, 0), 0);
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_FALSE(schib.pmcw.ena);
}

TEST_F(ChannelSubsystemTest, SschOnADisabledSubchannelIsCc3) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  EXPECT_EQ(css_.Ssch(i, Fmt1(0x100), &mem_), 3);
  ASSERT_EQ(css_.Msch(i, true, 0), 0);
  ASSERT_EQ(css_.Msch(i, false, 0), 0);
  EXPECT_EQ(css_.Ssch(i, Fmt1(0x100), &mem_), 3);
  EXPECT_THAT(dev(i).seen(), IsEmpty());
  EXPECT_EQ(EventCount(), 0u);
}

TEST_F(ChannelSubsystemTest, NotOperationalDeviceIsCc3) {
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  ASSERT_EQ(css_.Msch(i, true, 0), 0);
  css_.SetDeviceOperational(i, false);
  EXPECT_EQ(css_.Ssch(i, Fmt1(0x100), &mem_), 3);
  EXPECT_EQ(css_.Hsch(i), 3);
  EXPECT_EQ(css_.Csch(i), 3);
  Schib schib;
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_TRUE(schib.pmcw.dnv);
  EXPECT_EQ(schib.pmcw.dev, 0x0100);

  css_.SetDeviceOperational(i, true);
  const Irb irb = Run(i, Fmt1(0x100));
  EXPECT_EQ(irb.scsw.stctl, kFinal);

  // A start still queued when the device turns not operational never
  // reaches it and ends without an interruption; the subchannel is idle.
  css_.SetLatency(i, 5'000'000);
  ASSERT_EQ(Start(i, Fmt1(0x100)), 0);
  css_.SetDeviceOperational(i, false);
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_EQ(schib.scsw.fctl, 0);
  EXPECT_EQ(schib.scsw.actl, 0);
  css_.SetLatency(i, 0);
  css_.SetDeviceOperational(i, true);
  const Irb again = Run(i, Fmt1(0x100));
  EXPECT_EQ(again.scsw.stctl, kFinal);
  EXPECT_EQ(EventCount(), 2u);  // the two programs that ran
  EXPECT_EQ(css_.stats().start_functions, 2u);

  // A subchannel without a device.
  SubchannelSetup none = DefaultSetup();
  const uint32_t j = css_.Add(std::move(none));
  ASSERT_EQ(css_.Msch(j, true, 0), 0);
  EXPECT_EQ(css_.Ssch(j, Fmt1(0x100), &mem_), 3);
  EXPECT_EQ(css_.device(j), nullptr);
  css_.SetDeviceOperational(j, true);  // still nothing to operate
  EXPECT_EQ(css_.Ssch(j, Fmt1(0x100), &mem_), 3);
}

TEST_F(ChannelSubsystemTest, UnknownSubchannelIsCc3) {
  AddSub();
  Irb irb;
  Schib schib;
  EXPECT_EQ(css_.Msch(7, true, 0), 3);
  EXPECT_EQ(css_.Ssch(7, Fmt1(0x100), &mem_), 3);
  EXPECT_EQ(css_.Hsch(7), 3);
  EXPECT_EQ(css_.Csch(7), 3);
  EXPECT_EQ(css_.Tsch(7, &irb), 3);
  EXPECT_EQ(css_.Stsch(7, &schib), 3);
  EXPECT_EQ(css_.device(7), nullptr);
  EXPECT_EQ(css_.size(), 1u);
}

TEST_F(ChannelSubsystemTest, PathsOfflineAndRoundRobin) {
  SubchannelSetup setup = DefaultSetup();
  setup.chpids = {0x10, 0x11};
  setup.pim = 0xC0;
  setup.pam = 0xC0;
  const uint32_t i = AddSub(std::move(setup));
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  ASSERT_EQ(css_.Msch(i, true, 0), 0);

  css_.SetPathOnline(0x11, false);
  EXPECT_FALSE(css_.PathOnline(0x11));
  EXPECT_TRUE(css_.PathOnline(0x10));
  Schib schib;
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_EQ(schib.pmcw.pim, 0xC0);
  EXPECT_EQ(schib.pmcw.pam, 0x80);
  EXPECT_EQ(schib.pmcw.chpid, (std::array<uint8_t, 8>{0x10, 0x11}));

  // Only the offline path in the LPM: cc 3, although the other path works.
  EXPECT_EQ(css_.Ssch(i, Fmt1(0x100, 0x40), &mem_), 3);
  EXPECT_EQ(Run(i, Fmt1(0x100, 0x40 | 0x80)).esw.lpum, 0x80);

  css_.SetPathOnline(0x11, true);
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_EQ(schib.pmcw.pam, 0xC0);
  std::vector<uint8_t> lpums;
  for (int n = 0; n < 3; ++n) lpums.push_back(Run(i, Fmt1(0x100)).esw.lpum);
  EXPECT_THAT(lpums, ElementsAre(0x40, 0x80, 0x40));
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_EQ(schib.pmcw.lpum, 0x40);
  EXPECT_EQ(Run(i, Fmt1(0x100, 0x40)).esw.lpum, 0x40);  // the LPM restricts the choice
}

TEST_F(ChannelSubsystemTest, PathNotAvailableOrNotOperationalIsNotUsed) {
  SubchannelSetup setup = DefaultSetup();
  setup.chpids = {0x10, 0x11, 0x12};
  setup.pim = 0xE0;
  setup.pam = 0xC0;  // path 0x20 installed but not available
  setup.pom = 0x7F;  // path 0x80 not operational
  const uint32_t i = AddSub(std::move(setup));
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  ASSERT_EQ(css_.Msch(i, true, 0), 0);
  EXPECT_EQ(css_.Ssch(i, Fmt1(0x100, 0x20), &mem_), 3);
  EXPECT_EQ(css_.Ssch(i, Fmt1(0x100, 0x80), &mem_), 3);
  EXPECT_EQ(Run(i, Fmt1(0x100)).esw.lpum, 0x40);
  EXPECT_EQ(Run(i, Fmt1(0x100)).esw.lpum, 0x40);
}

// ---------------------------------------------------------------------------
// Latency and queued work.

TEST_F(ChannelSubsystemTest, LatencyDelaysButRuns) {
  const uint32_t slow = AddSub();
  const uint32_t fast = AddSub();
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  // A start with latency queued while the CSS thread idles must run at all.
  // (The first program leaves the thread waiting for work.)
  EXPECT_EQ(Run(fast, Fmt1(0x100)).scsw.stctl, kFinal);
  css_.SetLatency(fast, 2'000);
  EXPECT_EQ(Run(fast, Fmt1(0x100)).scsw.stctl, kFinal);
  EXPECT_EQ(dev(fast).seen().size(), 2u);

  // A start queued for later must not hold up one that is due sooner.
  css_.SetLatency(slow, 5'000'000);
  css_.SetLatency(fast, 2'000);
  ASSERT_EQ(Start(slow, Fmt1(0x100)), 0);
  const Irb irb = Run(fast, Fmt1(0x100));
  EXPECT_EQ(irb.scsw.stctl, kFinal);
  Schib schib;
  ASSERT_EQ(css_.Stsch(slow, &schib), 0);
  EXPECT_EQ(schib.scsw.actl, actl::kStartPending);
  EXPECT_THAT(dev(slow).seen(), IsEmpty());
  EXPECT_EQ(dev(fast).seen().size(), 3u);
  ASSERT_EQ(css_.Hsch(slow), 0);
  ASSERT_TRUE(WaitForEvents(4));
}

TEST_F(ChannelSubsystemTest, QuiesceDropsQueuedWork) {
  const uint32_t blocker = AddSub();
  const uint32_t i = AddSub();
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  absl::Notification entered, release;
  dev(blocker).BlockNextCommand(&entered, &release);
  ASSERT_EQ(Start(blocker, Fmt1(0x100)), 0);
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(kTimeout));

  ASSERT_EQ(Start(i, Fmt1(0x100)), 0);  // queued behind the blocked device
  css_.Quiesce(i);
  Schib schib;
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_FALSE(schib.pmcw.ena);
  EXPECT_EQ(schib.scsw.fctl, 0);
  EXPECT_EQ(schib.scsw.actl, 0);
  release.Notify();

  ASSERT_TRUE(WaitForEvents(1));
  Run(blocker, Fmt1(0x100));  // everything queued before it has been processed
  const std::vector<Event> ev = events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].index, blocker);
  EXPECT_EQ(ev[1].index, blocker);
  EXPECT_THAT(dev(i).seen(), IsEmpty());
  Irb irb;
  EXPECT_EQ(css_.Tsch(i, &irb), 1);
  EXPECT_EQ(css_.Ssch(i, Fmt1(0x100), &mem_), 3);  // disabled

  // Re-enabled, it works again.
  const Irb again = Run(i, Fmt1(0x100));
  EXPECT_EQ(again.scsw.stctl, kFinal);
}

TEST_F(ChannelSubsystemTest, QuiesceDropsPendingStatus) {
  const uint32_t i = AddSub();
  auto_tsch_ = false;
  Ccw(0x100, kCmdNoop, 0, 0, 0);
  ASSERT_EQ(Start(i, Fmt1(0x100)), 0);
  ASSERT_TRUE(WaitForEvents(1));
  css_.Quiesce(i);
  Irb irb;
  EXPECT_EQ(css_.Tsch(i, &irb), 1);
  EXPECT_EQ(css_.Msch(i, true, 0), 0);
}

// ---------------------------------------------------------------------------
// Counters and setup.

TEST_F(ChannelSubsystemTest, StatsCountStartsCommandsHaltsClearsAndInterruptions) {
  const uint32_t i = AddSub();
  EXPECT_EQ(css_.size(), 1u);
  Ccw(0x100, kCmdWrite, flag::kCc, 1, 0x1000);
  Ccw(0x108, kCmdWrite, flag::kCd | flag::kCc, 1, 0x1000);  // with 0x110: one command
  Ccw(0x110, kCmdWrite, flag::kCc, 1, 0x1000);
  Ccw(0x118, kCmdNoop, 0, 0, 0);
  Run(i, Fmt1(0x100));
  Tic(0x200, 0x200);
  Tic(0x208, 0x200);
  Run(i, Fmt1(0x208));  // TIC to TIC: a start function with no command
  ASSERT_EQ(css_.Hsch(i), 0);
  ASSERT_TRUE(WaitForEvents(3));
  ASSERT_EQ(css_.Csch(i), 0);
  ASSERT_TRUE(WaitForEvents(4));

  const CssStats st = css_.stats();
  EXPECT_EQ(st.start_functions, 2u);
  EXPECT_EQ(st.ccws, 3u);
  EXPECT_EQ(st.halts, 1u);
  EXPECT_EQ(st.clears, 1u);
  EXPECT_EQ(st.interruptions, 4u);
}

TEST_F(ChannelSubsystemTest, StschReportsTheSetup) {
  SubchannelSetup setup = DefaultSetup();
  setup.devno = 0xBEEF;
  setup.chpids = {0x10, 0x11, 0, 0, 0, 0, 0, 0x17};
  setup.pim = 0xC1;
  setup.pam = 0xC1;
  setup.pom = 0xFE;
  setup.concurrent_sense = true;
  setup.qdio = true;
  const uint32_t i = AddSub(std::move(setup));
  Schib schib;
  ASSERT_EQ(css_.Stsch(i, &schib), 0);
  EXPECT_TRUE(schib.pmcw.dnv);
  EXPECT_EQ(schib.pmcw.dev, 0xBEEF);
  EXPECT_EQ(schib.pmcw.pim, 0xC1);
  EXPECT_EQ(schib.pmcw.pam, 0xC1);
  EXPECT_EQ(schib.pmcw.pom, 0xFE);
  EXPECT_EQ(schib.pmcw.lpm, 0xC1);
  EXPECT_TRUE(schib.pmcw.csense);
  EXPECT_TRUE(schib.pmcw.qf);
  EXPECT_FALSE(schib.pmcw.ena);
  EXPECT_EQ(schib.pmcw.chpid, (std::array<uint8_t, 8>{0x10, 0x11, 0, 0, 0, 0, 0, 0x17}));
  EXPECT_EQ(schib.scsw, Scsw{});
  EXPECT_EQ(css_.device(i), &dev(i));
  EXPECT_EQ(css_.device(i)->Describe(), "fake");
}

}  // namespace
}  // namespace ccwpass::sim
