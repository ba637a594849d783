// The channel-program rules as small named predicates, one rule each.
//
// Sources: SA22-7832 ch. 15 "Channel-Command Word" (command classes by the low
// bits of the command code, chaining, skip) and Linux
// drivers/s390/cio/vfio_ccw_cp.c (ccw_is_*, ccw_does_data_transfer,
// is_cpa_within_range, is_tic_within_range).
#ifndef CCWPASS_TRANSLATE_RULES_H_
#define CCWPASS_TRANSLATE_RULES_H_

#include <cstdint>

#include "translate/arch.h"

namespace ccwpass::translate {

// Limits the kernel enforces (vfio_ccw_cp.c).
// Linux 6.1 ccwchain_calc_length(): the chain is read into 256 slots and counted
// 1..256; it is -EINVAL only when the 256th CCW still chains. A 256-CCW chain
// runs: the real driver in the QEMU s390x guest starts it (docs/qemu-e2e.md).
inline constexpr int kMaxCcwsPerChain = 256;  // a chain of 257 or more is -EINVAL
inline constexpr int kMaxChainSegments = 16;  // more segments is -ENOMEM (newer kernels)

// A TIC: command 0x08 exactly (format 1; format 0 is converted first).
constexpr bool IsTic(const Ccw1& c) { return c.cmd == ccw_cmd::kTic; }
// A NOOP moves no data whatever its count.
constexpr bool IsNoop(const Ccw1& c) { return c.cmd == ccw_cmd::kNoop; }
// Read commands: low bits xxxx xx10.
constexpr bool IsRead(const Ccw1& c) { return (c.cmd & 0x03) == 0x02; }
// Read-backward commands: low bits xxxx 1100.
constexpr bool IsReadBackward(const Ccw1& c) { return (c.cmd & 0x0F) == 0x0C; }
// Sense commands (SENSE, SENSE ID, ...): low bits xxxx 0100.
constexpr bool IsSense(const Ccw1& c) { return (c.cmd & 0x0F) == 0x04; }
// Write commands: low bits xxxx xx01.
constexpr bool IsWrite(const Ccw1& c) { return (c.cmd & 0x03) == 0x01; }
// Control commands: low bits xxxx xx11 (data, if any, flows to the device).
constexpr bool IsControl(const Ccw1& c) { return (c.cmd & 0x03) == 0x03; }
// Data flows from the device into memory: read, read backward or sense.
constexpr bool IsDataIn(const Ccw1& c) { return IsRead(c) || IsReadBackward(c) || IsSense(c); }

// Chaining continues after this CCW: chain-command or chain-data is set.
constexpr bool IsChaining(const Ccw1& c) { return (c.flags & (ccw_flag::kCc | ccw_flag::kCd)) != 0; }
// Command chaining (not data chaining): the status-modifier skip applies.
constexpr bool IsCommandChaining(const Ccw1& c) { return (c.flags & ccw_flag::kCc) != 0; }
// The data address designates an IDAL.
constexpr bool IsIdal(const Ccw1& c) { return (c.flags & ccw_flag::kIda) != 0; }
// The data address designates a MIDAL.
constexpr bool IsMidal(const Ccw1& c) { return (c.flags & ccw_flag::kMida) != 0; }

// The CCW moves data: not when count is 0, not for NOOP, not when SKIP is set on
// a read, read-backward or sense command (the kernel's ccw_does_data_transfer()).
constexpr bool DoesDataTransfer(const Ccw1& c) {
  if (c.count == 0) return false;
  if (IsNoop(c)) return false;
  if ((c.flags & ccw_flag::kSkip) == 0) return true;
  return !(IsRead(c) || IsReadBackward(c) || IsSense(c));
}

// `cpa` designates one of the `len` CCWs of the chain at `head`
// (the kernel's is_cpa_within_range()).
constexpr bool IsCpaWithinRange(uint64_t cpa, uint64_t head, uint64_t len) {
  return len > 0 && head <= cpa && cpa <= head + (len - 1) * kCcwSize;
}

// A TIC whose target lies within the first `len` CCWs of the chain at `head`:
// a loop back into the chain being counted, which continues it
// (the kernel's is_tic_within_range()).
constexpr bool IsTicWithinRange(const Ccw1& c, uint64_t head, uint64_t len) {
  return IsTic(c) && IsCpaWithinRange(c.cda, head, len);
}

// A format-1 CCW, IDAL or ORB address is 31-bit: bit 0 of the word must be zero.
constexpr bool Is31Bit(uint64_t addr) { return addr <= 0x7FFFFFFFull; }

// CCWs, format-2 IDALs and channel programs sit on doubleword boundaries.
constexpr bool IsDoublewordAligned(uint64_t addr) { return (addr & 7) == 0; }

}  // namespace ccwpass::translate

#endif  // CCWPASS_TRANSLATE_RULES_H_
