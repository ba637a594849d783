// The client-facing program builder: a list of CCWs (command, flags, count,
// inline data for writes, TIC targets as CCW indexes) compiled into an ORB and
// an image of the memory it addresses, so that clients never write addresses.
//
// Layout of the image (all addresses below 2 GiB, format-1 CCWs):
//   0x0000-0x0fff  unused (address 0 never designates anything)
//   0x1000         the CCWs, contiguous, in list order
//   then           one format-2 IDAL (4 KiB blocks) per CCW with the IDA flag
//   then           the data buffers, doubleword-aligned, in list order
// The image size is the end of the last buffer rounded up to 4 KiB.
// Source of the CCW and IDAW formats: SA22-7832 ch. 15.
#ifndef CCWPASS_TRANSLATE_BUILDER_H_
#define CCWPASS_TRANSLATE_BUILDER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "translate/arch.h"
#include "translate/guest_memory.h"

namespace ccwpass::translate {

// One CCW of a structural program.
struct CcwSpec {
  // A TIC to the CCW with this index (cmd, flags, count and data are then ignored
  // and must be unset).
  std::optional<int> tic;
  uint8_t cmd = 0;
  uint8_t flags = 0;  // ccw_flag bits; MIDA is refused, IDA makes the builder write an IDAL
  // Bytes to transfer; defaults to the size of `data`, or 0 without data.
  std::optional<uint32_t> count;
  // Data sent to the device (write and control commands). Not allowed for
  // read, read-backward and sense commands: their buffer is allocated zeroed.
  std::optional<std::vector<uint8_t>> data;
};

// ORB fields a client may choose; the builder sets format 1, format-2 IDAWs
// (4 KiB blocks) and the CPA.
struct BuildOptions {
  uint32_t intparm = 0;
  uint8_t lpm = 0xFF;
  bool pfch = true;
  bool ils = false;  // incorrect-length-suppression mode
  bool isic = false;
  uint8_t key = 0;
};

inline constexpr uint64_t kBuilderCcwBase = 0x1000;
// The largest image the builder makes: every byte is allocated, so the cap keeps
// a small request (thousands of 64 KiB reads) from costing gigabytes.
inline constexpr uint64_t kMaxBuilderImage = 64ull << 20;

// Writes `c` at `addr` in `m`: as a format-1 CCW, or, when !format1, as the
// format-0 CCW with the same command, flags, count and (24-bit) address.
// Errors: kOutOfRange (EFAULT) when the 8 bytes are not inside `m`;
// kInvalidArgument when !format1 and the address does not fit in 24 bits.
// Source: SA22-7832 ch. 15 "Channel-Command Word".
absl::Status WriteCcw(GuestMemory& m, uint64_t addr, const Ccw1& c, bool format1 = true);

struct BuiltProgram {
  Orb orb;
  std::unique_ptr<FlatGuestMemory> memory;
  std::vector<uint64_t> ccw_addrs;   // address of each listed CCW
  std::vector<uint64_t> data_addrs;  // address of each CCW's buffer (0: none)

  // The list index of the CCW at guest address `addr`, or -1.
  int IndexOfAddress(uint64_t addr) const;
};

// Builds the program.
// Errors: kInvalidArgument naming the CCW ("ccws[2]: ...") for: an empty list;
// more than 65536 CCWs (chain limits are the translator's to police); a TIC target that is not an index of the list; a TIC with command fields set;
// a count above 65535; data on a read, read-backward or sense command; data
// whose size differs from the given count; the MIDA flag.
absl::StatusOr<BuiltProgram> BuildProgram(std::span<const CcwSpec> ccws, const BuildOptions& options = {});

}  // namespace ccwpass::translate

#endif  // CCWPASS_TRANSLATE_BUILDER_H_
