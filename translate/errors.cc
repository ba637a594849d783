#include "translate/errors.h"

#include <cerrno>
#include <cstdlib>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace ccwpass::translate {
namespace {

constexpr absl::string_view kErrnoUrl = "ccwpass/errno";
constexpr absl::string_view kRuleUrl = "ccwpass/rule";
constexpr absl::string_view kCcwUrl = "ccwpass/ccw";  // "<addr hex>,<index>"

}  // namespace

std::string ErrnoName(int err) {
  switch (err) {
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOMEM: return "ENOMEM";
    case EBUSY: return "EBUSY";
    case EAGAIN: return "EAGAIN";
    case EIO: return "EIO";
    case EACCES: return "EACCES";
    case ENODEV: return "ENODEV";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EPERM: return "EPERM";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECANCELED: return "ECANCELED";
    case EUSERS: return "EUSERS";
    case EBADF: return "EBADF";
    case ENOTTY: return "ENOTTY";
    default: return absl::StrCat("E", err);
  }
}

absl::Status CcwError(absl::StatusCode code, int err, absl::string_view rule, absl::string_view words,
                      std::optional<CcwLocation> where) {
  std::string msg;
  if (where.has_value()) {
    msg = absl::StrFormat("ccw %d at 0x%x: %s [%s]", where->index, where->addr, words, ErrnoName(err));
  } else {
    msg = absl::StrFormat("%s [%s]", words, ErrnoName(err));
  }
  absl::Status s(code, msg);
  s.SetPayload(kErrnoUrl, absl::Cord(absl::StrCat(err)));
  s.SetPayload(kRuleUrl, absl::Cord(rule));
  if (where.has_value()) {
    s.SetPayload(kCcwUrl, absl::Cord(absl::StrFormat("%x,%d", where->addr, where->index)));
  }
  return s;
}

absl::Status WithErrno(absl::Status s, int err) {
  s.SetPayload(kErrnoUrl, absl::Cord(absl::StrCat(err)));
  return s;
}

std::optional<int> ErrnoOf(const absl::Status& s) {
  auto p = s.GetPayload(kErrnoUrl);
  int v = 0;
  if (!p.has_value() || !absl::SimpleAtoi(std::string(*p), &v)) return std::nullopt;
  return v;
}

std::optional<std::string> RuleOf(const absl::Status& s) {
  auto p = s.GetPayload(kRuleUrl);
  if (!p.has_value()) return std::nullopt;
  return std::string(*p);
}

std::optional<CcwLocation> CcwLocationOf(const absl::Status& s) {
  auto p = s.GetPayload(kCcwUrl);
  if (!p.has_value()) return std::nullopt;
  std::pair<std::string, std::string> parts = absl::StrSplit(std::string(*p), ',');
  CcwLocation loc;
  if (!absl::SimpleHexAtoi(parts.first, &loc.addr) || !absl::SimpleAtoi(parts.second, &loc.index)) {
    return std::nullopt;
  }
  return loc;
}

}  // namespace ccwpass::translate
