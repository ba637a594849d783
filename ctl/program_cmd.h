// `ccwctl program check|show FILE`: offline policing and a readable view of a
// channel-program file (translate/program_file.h; examples in docs/examples/).
//
// Both parse the file and translate the program exactly as the agent would for
// a vfio-ccw device (translate/translator.h: the Linux vfio_ccw rules, same
// errno), into a private DMA arena, then discard the translation. Nothing
// here touches a device. The functions take the file's text and write to the
// given streams, so tests run them without a process.
#ifndef CCWPASS_CTL_PROGRAM_CMD_H_
#define CCWPASS_CTL_PROGRAM_CMD_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ccwpass::ctl {

// The DMA arena the offline commands translate into: the size of the agent's
// default per-device arena, at an IOVA below 2 GiB (31-bit CCW addresses).
struct OfflineArena {
  uint64_t bytes = 16ull << 20;     // 16 MiB = 4096 pages of 4 KiB
  uint64_t iova_base = 0x1000000;  // 16 MiB
};

// `ccwctl program check`: prints exactly one JSON object on one line to `out`.
//   accepted: {"verdict":"accepted","chains":N,"ccws":N,"idaws":N,"bytes":N}
//             plus "warnings":["..."] when the translator has warnings; returns 0.
//   rejected: {"verdict":"rejected","errno":"EINVAL","rule":"chain-too-long",
//              "reason":"<status message>","ccw_addr":"0x1008","ccw_index":N}; returns 1.
//             ccw_addr/ccw_index only when the refusal names a CCW; ccw_index is
//             the index in the file's "ccws" list for the structural form (left
//             out if the CCW is not one of the listed ones), the translator's
//             index (translation order) for the raw form. A full arena is
//             rejected with errno ENOMEM and rule "arena-full".
// An invalid file writes "ccwctl: <name>: <what and where>" to `err` and returns 2.
// `name` names the file in messages.
int ProgramCheck(absl::string_view name, absl::string_view text, std::ostream& out, std::ostream& err,
                 const OfflineArena& arena = {});

// `ccwctl program show`: the ORB, then a table with one row per CCW in
// translation order (columns INDEX ADDRESS CMD NAME FLAGS COUNT DATA PREVIEW),
// a "chain K at 0x..." line before each chain segment, and a verdict line.
//   INDEX: list index (structural form) or translation index (raw form);
//   ADDRESS: the CCW's address in the client's memory; CMD: command code in hex;
//   NAME: CommandName() or "-"; FLAGS: FlagsText() or "-"; COUNT: decimal bytes;
//   DATA: data (or IDAL) address when the CCW moves data, else "-";
//   PREVIEW: up to the first 8 data bytes (hex) of a write or control CCW that
//   moves data; for a TIC "→ ccw N (0x...)"; else "-".
// When the translator refuses the program, the rows are what can still be
// decoded (CCWs from the ORB's CPA up to the first one without chaining, at most
// 257: one past the kernel's chain limit) and the refusal follows the table. Returns 0 (accepted), 1 (rejected) or
// 2 (invalid file, message on `err` as for ProgramCheck).
int ProgramShow(absl::string_view name, absl::string_view text, std::ostream& out, std::ostream& err,
                const OfflineArena& arena = {});

// Reads a program file; "-" reads standard input.
// Errors: the errno of open/read as a Status (kNotFound, kPermissionDenied, ...)
// with "cannot read <path>: <strerror>"; kInvalidArgument for a file larger
// than 64 MiB or a directory.
absl::StatusOr<std::string> ReadProgramText(const std::string& path);

// Adds `program` with `check FILE` and `show FILE` to `app`. When one of them
// runs it writes to `out`/`err` and stores its exit code in `*exit_code`
// (unreadable file: message on `err`, exit code 2).
void AddProgramCommand(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_PROGRAM_CMD_H_
