// The device side of the simulated channel subsystem: what a control unit and
// its device do with one command the channel sends them.
//
// The channel subsystem (sim/channel_subsystem.h) walks the channel program:
// it fetches CCWs, follows TICs, gathers the buffers of a data chain into one
// logical transfer, and asks the Device to execute each command. The device
// answers with its device status and the length of the record it wanted to
// transfer; the channel computes the residual count and incorrect length from
// that, applies SLI, SKIP and the status-modifier skip, and ends the chain.
//
// Source: SA22-7832 (z/Architecture Principles of Operation) ch. 15
// "Basic I/O Functions" (command chaining, data chaining, status modifier,
// incorrect length) and ch. 16 "I/O Interruptions" (device status).
#ifndef CCWPASS_SIM_DEVICE_H_
#define CCWPASS_SIM_DEVICE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"

namespace ccwpass::sim {

// Device status bits (SCSW word 2 byte 0), SA22-7832 ch. 16 "Device Status".
inline constexpr uint8_t kDevAttention = 0x80;
inline constexpr uint8_t kDevStatusModifier = 0x40;
inline constexpr uint8_t kDevControlUnitEnd = 0x20;
inline constexpr uint8_t kDevBusy = 0x10;
inline constexpr uint8_t kDevChannelEnd = 0x08;
inline constexpr uint8_t kDevDeviceEnd = 0x04;
inline constexpr uint8_t kDevUnitCheck = 0x02;
inline constexpr uint8_t kDevUnitException = 0x01;

// What SENSE ID reports and sysfs shows as cutype/devtype (`%04x/%02x`).
struct DeviceIdentity {
  uint16_t cu_type = 0;
  uint8_t cu_model = 0;
  uint16_t dev_type = 0;  // 0 when the device reports none (sysfs devtype "n/a")
  uint8_t dev_model = 0;
};

// One command as the device sees it. For a data chain (CD flags), the channel
// has merged the CCWs: `count` is the sum of their counts and the buffer is
// their concatenation.
struct Command {
  uint8_t code = 0;          // CCW command code
  uint32_t count = 0;        // bytes the channel offers (write) or accepts (read)
  bool command_chained = false;  // the CCW has CC: another command follows if this one ends normally
  bool first_in_chain = false;   // first command of this start function
};

// The device's answer.
struct CommandResult {
  // Ending device status: normally kDevChannelEnd | kDevDeviceEnd; add
  // kDevStatusModifier for a successful SEARCH (the channel then skips the next
  // CCW), kDevUnitCheck with sense prepared (see Device::Sense), or
  // kDevUnitException.
  uint8_t status = kDevChannelEnd | kDevDeviceEnd;
  // Length of the record the device transferred or wanted to transfer, in bytes.
  // For a read, the device has written min(length, count) bytes at the start of
  // the buffer. For a write, it consumed min(length, count) bytes. The channel
  // reports incorrect length when length != count (unless SLI), and the
  // residual count count - min(length, count).
  uint32_t length = 0;
};

// A device behind a subchannel. Called only from the channel subsystem's
// thread, one start function at a time; implementations need no locking of
// their own for Execute/BeginChain/EndChain.
class Device {
 public:
  virtual ~Device() = default;

  virtual DeviceIdentity identity() const = 0;

  // A short human name for logs and the host listing, e.g. "3390-3 (t.3390)".
  virtual std::string Describe() const = 0;

  // A new channel program starts (SSCH): reset the per-chain state (for a DASD:
  // the extent, file mask, locate-record domain, orientation).
  virtual void BeginChain() = 0;

  // Executes one command. `data` has `cmd.count` bytes: for a write-type command
  // (SA22-7832 command-code classes) the bytes the channel sends; for a read,
  // read-backward, sense or control command with data, the device writes into
  // it. For read backward the device fills the buffer from its end.
  virtual CommandResult Execute(const Command& cmd, absl::Span<uint8_t> data) = 0;

  // The chain ended: after the last command (one without command chaining, on
  // which the device itself checks, e.g. an incomplete locate-record domain), on
  // unit check or exception, on a channel-detected error (incorrect length,
  // program check), or by halt/clear. Drops the per-chain state; keeps sense.
  virtual void EndChain() = 0;

  // The sense bytes prepared by the last unit check (32 bytes for a DASD, at
  // least 1 byte for simple devices). SENSE (0x04) returns and clears them.
  virtual std::vector<uint8_t> Sense() const = 0;
};

}  // namespace ccwpass::sim

#endif  // CCWPASS_SIM_DEVICE_H_
