// Errors of the channel-program path: an absl::Status that also carries the
// kernel errno the same refusal gets from vfio_ccw, the name of the rule, and
// the guest address and index of the offending CCW.
//
// The message reads "ccw 3 at 0x1018: <rule in words> [EINVAL]"; the same facts
// are attached as payloads so callers (ccwctl, the gRPC service) need not parse
// text. Source of the errno meanings: Linux drivers/s390/cio/vfio_ccw_cp.c and
// vfio_ccw_fsm.c, Documentation/s390/vfio-ccw.rst.
#ifndef CCWPASS_TRANSLATE_ERRORS_H_
#define CCWPASS_TRANSLATE_ERRORS_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace ccwpass::translate {

// Where in a channel program something went wrong: the guest address of the
// CCW and its index in translation order (chain segments in the order they were
// found, CCWs in address order within each).
struct CcwLocation {
  uint64_t addr = 0;
  int index = 0;
  bool operator==(const CcwLocation&) const = default;
};

// A refusal of a channel program or a request.
//   code: the absl code (kInvalidArgument for a policed program, kResourceExhausted
//         for a full arena, ...).
//   err: the kernel errno (EINVAL, EFAULT, EOPNOTSUPP, ENOMEM, ...), positive.
//   rule: a short stable identifier of the rule ("chain-too-long").
//   words: the rule in words, with the numbers involved.
//   where: the CCW it is about, if any.
absl::Status CcwError(absl::StatusCode code, int err, absl::string_view rule, absl::string_view words,
                      std::optional<CcwLocation> where = std::nullopt);

// The errno attached by CcwError (or WithErrno), if any.
std::optional<int> ErrnoOf(const absl::Status& s);
// The rule identifier attached by CcwError, if any.
std::optional<std::string> RuleOf(const absl::Status& s);
// The CCW location attached by CcwError, if any.
std::optional<CcwLocation> CcwLocationOf(const absl::Status& s);

// `s` with an errno attached (for errors that are not about a CCW).
absl::Status WithErrno(absl::Status s, int err);

// "EINVAL" for EINVAL etc.; "E<number>" for an errno without a name here.
std::string ErrnoName(int err);

}  // namespace ccwpass::translate

#endif  // CCWPASS_TRANSLATE_ERRORS_H_
