// Bus IDs: the names Linux gives subchannels and ccw devices, `0.<ssid>.<nnnn>`.
//
// A subchannel is `0.<ssid>.<schno>` on the css bus, its device `0.<ssid>.<devno>`
// on the ccw bus (`/sys/bus/css/devices/0.0.0100/dev_busid` reads `0.0.e000`).
// The first field is the channel-subsystem ID, which Linux shows as 0; the
// subchannel-set ID is 0..3 (SA22-7832 ch. 13 "Subchannel-set identifier");
// the last field is four hex digits. The kernel prints them `0.%x.%04x`.
// Source: Linux drivers/s390/cio/css.c (dev_name "0.%x.%04x"), device.c.
#ifndef CCWPASS_AGENT_BUSID_H_
#define CCWPASS_AGENT_BUSID_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace ccwpass {

// The highest subchannel-set ID (four sets: 0..3).
inline constexpr uint8_t kMaxSsid = 3;

// "0.0.0100": the subchannel's bus ID. Lower-case hex, `0.%x.%04x`.
std::string FormatSchid(uint8_t ssid, uint16_t schno);

// "0.0.e000": the ccw device's bus ID (what `dev_busid` shows). Same format.
std::string FormatDevBusid(uint8_t ssid, uint16_t devno);

// Parses `0.<ssid>.<nnnn>` into (ssid, number): "0.0.0100" -> (0, 0x0100),
// "0.1.ABCD" -> (1, 0xabcd). Hex digits of either case. Exactly: the digit 0,
// a dot, one hex digit 0..3, a dot, four hex digits; no spaces, no "0x".
// Errors: kInvalidArgument naming the text and what was expected, e.g.
// `"0.0.100": the device or subchannel number must be 4 hex digits (expected 0.<ssid>.<4 hex digits>, like 0.0.0100)`
// or `"0.4.0100": subchannel-set ID 4 is out of range 0..3`.
absl::StatusOr<std::pair<uint8_t, uint16_t>> ParseBusId(std::string_view text);

}  // namespace ccwpass

#endif  // CCWPASS_AGENT_BUSID_H_
