// Channel-program files: the JSON form in which clients and `ccwctl program`
// store a channel program, in one of two forms.
//
// Raw: the ORB and an image of the memory the program addresses.
//   {"orb": {"fmt": 1, "pfch": true, "c64": false, "i2k": false, "lpm": 255, "key": 0,
//            "tm": false, "intparm": "0x0", "cpa": "0x1000"},
//    "memory": {"size": "0x100000",
//               "segments": [{"addr": "0x1000", "hex": "e4200100 00002000"}]}}
//   Numbers are JSON integers or "0x..." strings; hex may contain spaces; memory
//   outside the segments reads as zeros up to `size`; nothing exists at or above it.
//   ORB fields not given are zero, except lpm (0xFF).
//
// Structural: a list of CCWs that the program builder (builder.h) lays out.
//   {"ccws": [{"cmd": "0xe4", "flags": ["SLI"], "count": 256},
//             {"cmd": "0x63", "flags": ["CC"], "data": "40c0..."},
//             {"tic": 1}],
//    "orb": {"lpm": 255, "intparm": "0x0", "pfch": true}}       (orb optional)
//   Flag names: CD, CC, SLI, SKIP, PCI, IDA, SUSPEND, MIDA.
//
// Source of the field meanings: SA22-7832 ch. 15 (ORB, CCW).
#ifndef CCWPASS_TRANSLATE_PROGRAM_FILE_H_
#define CCWPASS_TRANSLATE_PROGRAM_FILE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "translate/arch.h"
#include "translate/builder.h"
#include "translate/guest_memory.h"

namespace ccwpass::translate {

// The largest raw memory size accepted: the 31-bit addressing limit.
inline constexpr uint64_t kMaxRawMemorySize = 0x80000000ull;

struct ProgramFile {
  enum class Form { kRaw, kStructural };
  Form form = Form::kRaw;
  Orb orb;
  std::unique_ptr<GuestMemory> memory;  // SparseGuestMemory (raw) or FlatGuestMemory (structural)
  // Structural form only: the CCWs as listed and where the builder put them.
  std::vector<CcwSpec> ccws;
  std::vector<uint64_t> ccw_addrs;

  // For the structural form, the list index of the CCW at `addr` (else -1).
  int ListIndexOf(uint64_t addr) const;
};

// Parses a program file's text.
// Errors: kInvalidArgument with the JSON path of what is wrong and why
// ("ccws[2].flags[1]: unknown flag \"XX\" (expected CD, CC, SLI, SKIP, PCI, IDA,
// SUSPEND, MIDA)", "memory.segments[0].hex: odd number of hex digits",
// "orb.lpm: 256 is out of range 0..255", "line 3 column 5: JSON syntax error: ...");
// a document that is neither form, or both; unknown keys; a segment outside
// memory.size or overlapping another; memory.size above 2 GiB; the builder's
// errors for the structural form.
absl::StatusOr<ProgramFile> ParseProgramFile(absl::string_view text);

}  // namespace ccwpass::translate

#endif  // CCWPASS_TRANSLATE_PROGRAM_FILE_H_
