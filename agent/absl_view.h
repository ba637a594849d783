// Debian's Abseil (20220623) has its own absl::string_view, which a
// std::string_view does not convert to: AbslView() bridges the two where code
// passes a std::string_view to Abseil (StrCat, SimpleAtoi, StrSplit, ...).
#ifndef CCWPASS_AGENT_ABSL_VIEW_H_
#define CCWPASS_AGENT_ABSL_VIEW_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace ccwpass {

inline absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace ccwpass

#endif  // CCWPASS_AGENT_ABSL_VIEW_H_
