#include "sim/console.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace ccwpass::sim {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

constexpr uint8_t kEnd = kDevChannelEnd | kDevDeviceEnd;

// Runs one command with a buffer of `count` bytes filled with `fill`.
struct Outcome {
  CommandResult result;
  std::vector<uint8_t> data;
};
Outcome Exec(Console& c, uint8_t code, uint32_t count, uint8_t fill = 0xAA) {
  Outcome r;
  r.data.assign(count, fill);
  r.result = c.Execute(Command{.code = code, .count = count, .first_in_chain = true}, absl::MakeSpan(r.data));
  return r;
}
Outcome Write(Console& c, uint8_t code, std::vector<uint8_t> bytes) {
  Outcome r;
  r.data = std::move(bytes);
  r.result = c.Execute(Command{.code = code, .count = static_cast<uint32_t>(r.data.size())}, absl::MakeSpan(r.data));
  return r;
}

TEST(ConsoleTest, Identity) {
  Console c;
  const DeviceIdentity id = c.identity();
  EXPECT_EQ(id.cu_type, 0x3215);
  EXPECT_EQ(id.cu_model, 0x00);
  EXPECT_EQ(id.dev_type, 0x0000);
  EXPECT_EQ(id.dev_model, 0x00);
  EXPECT_EQ(c.Describe(), "3215 console");
}

TEST(ConsoleTest, SenseIdIsSevenBytes) {
  Console c;
  Outcome r = Exec(c, kConsoleSenseId, 16);
  EXPECT_EQ(r.result.status, kEnd);
  EXPECT_EQ(r.result.length, 7u);
  EXPECT_THAT(r.data, ElementsAre(0xFF, 0x32, 0x15, 0x00, 0x00, 0x00, 0x00, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
                                  0xAA, 0xAA, 0xAA));
  // A short count gets the start of the record; the length is still 7.
  r = Exec(c, kConsoleSenseId, 4);
  EXPECT_EQ(r.result.status, kEnd);
  EXPECT_EQ(r.result.length, 7u);
  EXPECT_THAT(r.data, ElementsAre(0xFF, 0x32, 0x15, 0x00));
}

TEST(ConsoleTest, WriteAndWriteWithCarrierReturn) {
  Console c;
  // "HELLO" then ", world" with a carrier return.
  Outcome r = Write(c, kConsoleWrite, {0xC8, 0xC5, 0xD3, 0xD3, 0xD6});
  EXPECT_EQ(r.result.status, kEnd);
  EXPECT_EQ(r.result.length, 5u);
  r = Write(c, kConsoleWriteAcr, {0x6B, 0x40, 0xA6, 0x96, 0x99, 0x93, 0x84});
  EXPECT_EQ(r.result.status, kEnd);
  EXPECT_EQ(r.result.length, 7u);
  EXPECT_EQ(c.output(), "HELLO, world\n");
  EXPECT_THAT(c.output_ebcdic(),
              ElementsAre(0xC8, 0xC5, 0xD3, 0xD3, 0xD6, 0x6B, 0x40, 0xA6, 0x96, 0x99, 0x93, 0x84));
  // A zero-length write prints nothing.
  r = Write(c, kConsoleWrite, {});
  EXPECT_EQ(r.result.status, kEnd);
  EXPECT_EQ(r.result.length, 0u);
  EXPECT_EQ(c.output(), "HELLO, world\n");
}

TEST(ConsoleTest, OutputShowsNewlinesAndHidesTheUnprintable) {
  Console c;
  // A, NL, B, LF, NUL, e-acute (0x51 -> Latin-1 0xE9), tab (0x05).
  Write(c, kConsoleWrite, {0xC1, 0x15, 0xC2, 0x25, 0x00, 0x51, 0x05});
  EXPECT_EQ(c.output(), "A\nB\n..\t");
  EXPECT_THAT(c.output_ebcdic(), ElementsAre(0xC1, 0x15, 0xC2, 0x25, 0x00, 0x51, 0x05));
}

TEST(ConsoleTest, ReadReturnsTheNextLineInEbcdic) {
  Console c({"logon", "", "display time"});
  EXPECT_EQ(c.pending_input(), 3u);
  // "logon" = 93 96 87 96 95; a count of 8 is longer than the record.
  Outcome r = Exec(c, kConsoleRead, 8);
  EXPECT_EQ(r.result.status, kEnd);
  EXPECT_EQ(r.result.length, 5u);
  EXPECT_THAT(r.data, ElementsAre(0x93, 0x96, 0x87, 0x96, 0x95, 0xAA, 0xAA, 0xAA));
  // An empty line: a record of length 0.
  r = Exec(c, kConsoleRead, 8);
  EXPECT_EQ(r.result.status, kEnd);
  EXPECT_EQ(r.result.length, 0u);
  EXPECT_THAT(r.data, ElementsAreArray(std::vector<uint8_t>(8, 0xAA)));
  // A short count gets the start of the line, and the line is gone.
  r = Exec(c, kConsoleRead, 4);
  EXPECT_EQ(r.result.status, kEnd);
  EXPECT_EQ(r.result.length, 12u);
  EXPECT_THAT(r.data, ElementsAre(0x84, 0x89, 0xA2, 0x97));  // "disp"
  EXPECT_EQ(c.pending_input(), 0u);
  // Nothing queued: unit exception, nothing transferred.
  r = Exec(c, kConsoleRead, 8);
  EXPECT_EQ(r.result.status, kEnd | kDevUnitException);
  EXPECT_EQ(r.result.length, 0u);
  EXPECT_THAT(r.data, ElementsAreArray(std::vector<uint8_t>(8, 0xAA)));
}

TEST(ConsoleTest, TypeLineFromAnotherThread) {
  Console c;
  std::thread t([&] { c.TypeLine("A1"); });
  t.join();
  EXPECT_EQ(c.pending_input(), 1u);
  Outcome r = Exec(c, kConsoleRead, 2);
  EXPECT_EQ(r.result.status, kEnd);
  EXPECT_EQ(r.result.length, 2u);
  EXPECT_THAT(r.data, ElementsAre(0xC1, 0xF1));
}

TEST(ConsoleTest, NoopAndControlMoveNoData) {
  Console c;
  for (uint8_t code : {kConsoleNoop, kConsoleControl}) {
    Outcome r = Exec(c, code, 0);
    EXPECT_EQ(r.result.status, kEnd) << int(code);
    EXPECT_EQ(r.result.length, 0u) << int(code);
  }
  EXPECT_EQ(c.output(), "");
  EXPECT_THAT(c.Sense(), ElementsAre(0x00));
}

TEST(ConsoleTest, InvalidCommandIsCommandRejectUntilSense) {
  Console c;
  for (uint8_t code : {0x00, 0x02, 0x05, 0x06, 0x07, 0x0C, 0x14, 0x27, 0x63, 0xE5}) {
    Outcome r = Exec(c, code, 8);
    EXPECT_EQ(r.result.status, kEnd | kDevUnitCheck) << int(code);
    EXPECT_EQ(r.result.length, 0u) << int(code);
    EXPECT_THAT(r.data, ElementsAreArray(std::vector<uint8_t>(8, 0xAA))) << int(code);
    EXPECT_THAT(c.Sense(), ElementsAre(kSenseCommandReject)) << int(code);
  }
  // Other commands leave the sense byte; SENSE returns and clears it.
  Exec(c, kConsoleNoop, 0);
  EXPECT_THAT(c.Sense(), ElementsAre(0x80));
  Outcome r = Exec(c, kConsoleSense, 1);
  EXPECT_EQ(r.result.status, kEnd);
  EXPECT_EQ(r.result.length, 1u);
  EXPECT_THAT(r.data, ElementsAre(0x80));
  EXPECT_THAT(c.Sense(), ElementsAre(0x00));
  // Without a pending reject SENSE reads 00; a larger count is incorrect length for the channel.
  r = Exec(c, kConsoleSense, 4);
  EXPECT_EQ(r.result.status, kEnd);
  EXPECT_EQ(r.result.length, 1u);
  EXPECT_THAT(r.data, ElementsAre(0x00, 0xAA, 0xAA, 0xAA));
  // SENSE with count 0 transfers nothing but still clears.
  Exec(c, 0x02, 0);
  r = Exec(c, kConsoleSense, 0);
  EXPECT_EQ(r.result.status, kEnd);
  EXPECT_EQ(r.result.length, 1u);
  EXPECT_THAT(c.Sense(), ElementsAre(0x00));
}

TEST(ConsoleTest, ChainCallbacksKeepState) {
  Console c({"x"});
  Exec(c, 0x02, 0);
  c.BeginChain();
  c.EndChain();
  EXPECT_THAT(c.Sense(), ElementsAre(0x80));
  EXPECT_EQ(c.pending_input(), 1u);
}

TEST(Cp037Test, KnownCodesAndRoundTrip) {
  EXPECT_EQ(Latin1ToEbcdic(' '), 0x40);
  EXPECT_EQ(Latin1ToEbcdic('A'), 0xC1);
  EXPECT_EQ(Latin1ToEbcdic('a'), 0x81);
  EXPECT_EQ(Latin1ToEbcdic('0'), 0xF0);
  EXPECT_EQ(Latin1ToEbcdic('\n'), 0x25);
  EXPECT_EQ(Latin1ToEbcdic('['), 0xBA);
  EXPECT_EQ(Latin1ToEbcdic(']'), 0xBB);
  EXPECT_EQ(EbcdicToLatin1(0x4B), '.');
  EXPECT_EQ(EbcdicToLatin1(0x5B), '$');
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(EbcdicToLatin1(Latin1ToEbcdic(static_cast<uint8_t>(i))), i);
    EXPECT_EQ(Latin1ToEbcdic(EbcdicToLatin1(static_cast<uint8_t>(i))), i);
  }
}

}  // namespace
}  // namespace ccwpass::sim
