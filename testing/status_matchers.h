// gMock matchers for absl::Status / absl::StatusOr that assert the exact error:
// the code, the message, and the errno / rule / CCW the translate errors carry.
//   EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ccw 3")));
//   EXPECT_THAT(s, HasErrno(EINVAL));  EXPECT_THAT(s, HasRule("chain-too-long"));
#ifndef CCWPASS_TESTING_STATUS_MATCHERS_H_
#define CCWPASS_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "translate/errors.h"

namespace ccwpass::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER_P2(StatusIs, code, message_matcher,
           std::string("has code ") + absl::StatusCodeToString(code) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher, negation)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code &&
         ::testing::Matches(message_matcher)(std::string(s.message().data(), s.message().size()));
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.ok();
}

MATCHER_P(HasErrno, err, std::string("carries errno ") + translate::ErrnoName(err)) {
  std::optional<int> e = translate::ErrnoOf(GetStatus(arg));
  *result_listener << "errno is " << (e ? translate::ErrnoName(*e) : std::string("none"));
  return e.has_value() && *e == err;
}

MATCHER_P(HasRule, rule, std::string("names rule ") + rule) {
  std::optional<std::string> r = translate::RuleOf(GetStatus(arg));
  *result_listener << "rule is " << (r ? *r : std::string("none"));
  return r.has_value() && *r == rule;
}

MATCHER_P2(AtCcw, index, addr, "is about ccw " + std::to_string(index) + " at " + std::to_string(addr)) {
  std::optional<translate::CcwLocation> l = translate::CcwLocationOf(GetStatus(arg));
  if (!l) {
    *result_listener << "no CCW location";
    return false;
  }
  *result_listener << "ccw " << l->index << " at 0x" << std::hex << l->addr;
  return l->index == index && l->addr == static_cast<uint64_t>(addr);
}

}  // namespace ccwpass::testing

#endif  // CCWPASS_TESTING_STATUS_MATCHERS_H_
