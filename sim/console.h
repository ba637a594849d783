// A 3215-like console: the simplest device behind a subchannel, for the demo
// and for tests of unit exception, command reject and the SENSE path.
//
// Commands (the 3215 set as Linux's drivers/s390/char/con3215.c uses it, plus
// the basic commands every device has, SA22-7832 ch. 15 "Command Code"):
//   0x01 WRITE       the bytes (EBCDIC) are printed; no carrier return
//   0x09 WRITE-ACR   the same, then a carrier return (a newline in output())
//   0x0A READ        the next line typed in, in EBCDIC; record length = the
//                    line's length, so a larger count is incorrect length unless
//                    SLI; the line is consumed even when the count cuts it short.
//                    With no line queued: unit exception, nothing transferred.
//   0x03 NOOP, 0x0B CONTROL   no data; record length 0
//   0x04 SENSE       1 sense byte: 0x80 (command reject) after an invalid
//                    command, else 0x00; SENSE clears it
//   0xE4 SENSE ID    FF 3215 00 0000 00: control unit 3215 model 00, no device
//                    type (7 bytes, the minimum Linux accepts, SENSE_ID_MIN_LEN)
//   anything else    unit check, sense byte 0 = command reject (0x80)
// Ending status is channel end + device end, plus unit check or unit exception
// as above. Only SENSE clears the sense byte; other commands leave it.
//
// With device type 0, Linux's ccw device shows `cutype` 3215/00 and `devtype`
// "n/a" (drivers/s390/cio/device.c devtype_show prints n/a when dev_type is 0),
// and its modalias is `ccw:t3215m00` with no dt/dm part.
//
// Text: bytes on the channel are EBCDIC, code page 037. Input lines are
// converted from Latin-1 (ASCII is a subset); output() converts back and shows
// what is not printable ASCII as '.', except EBCDIC NL (0x15) and LF (0x25),
// which become '\n' (as Linux's EBCASC table does).
#ifndef CCWPASS_SIM_CONSOLE_H_
#define CCWPASS_SIM_CONSOLE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "sim/device.h"

namespace ccwpass::sim {

// Command codes of the console.
inline constexpr uint8_t kConsoleWrite = 0x01;
inline constexpr uint8_t kConsoleNoop = 0x03;
inline constexpr uint8_t kConsoleSense = 0x04;
inline constexpr uint8_t kConsoleWriteAcr = 0x09;
inline constexpr uint8_t kConsoleRead = 0x0A;
inline constexpr uint8_t kConsoleControl = 0x0B;
inline constexpr uint8_t kConsoleSenseId = 0xE4;

// Sense byte 0 bit 0: command reject (SA22-7832 / device component descriptions).
inline constexpr uint8_t kSenseCommandReject = 0x80;

// Code page 037: EBCDIC byte <-> Latin-1 byte (a bijection of 0..255).
uint8_t EbcdicToLatin1(uint8_t ebcdic);
uint8_t Latin1ToEbcdic(uint8_t latin1);

class Console : public Device {
 public:
  // `input`: lines the operator has typed, returned by READ in order.
  explicit Console(std::vector<std::string> input = {});

  // cu_type 0x3215, cu_model 0, dev_type 0, dev_model 0.
  DeviceIdentity identity() const override;
  // "3215 console".
  std::string Describe() const override;
  void BeginChain() override {}
  CommandResult Execute(const Command& cmd, absl::Span<uint8_t> data) override;
  void EndChain() override {}
  // One byte: 0x80 after a command reject, else 0x00.
  std::vector<uint8_t> Sense() const override;

  // Queues a line (Latin-1; no newline) for READ. Any thread.
  void TypeLine(std::string line);
  // Lines queued and not yet read.
  size_t pending_input() const;
  // All that WRITE and WRITE-ACR printed, as ASCII (see the header comment).
  std::string output() const;
  // The same bytes exactly as written, EBCDIC, without carrier returns.
  std::vector<uint8_t> output_ebcdic() const;

 private:
  mutable absl::Mutex mu_;
  std::deque<std::string> input_ ABSL_GUARDED_BY(mu_);
  std::string output_ ABSL_GUARDED_BY(mu_);
  std::vector<uint8_t> output_ebcdic_ ABSL_GUARDED_BY(mu_);
  uint8_t sense_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ccwpass::sim

#endif  // CCWPASS_SIM_CONSOLE_H_
