#include "agent/main/listen.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "agent/absl_view.h"
#include "agent/access/tls.h"

namespace ccwpass::agent {

absl::Status CheckListenTcp(std::string_view address) {
  if (access::IsLoopbackAddress(std::string(address))) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--listen-tcp ", AbslView(address),
                   ": refusing to listen beyond loopback without TLS (give --tls-cert, --tls-key and --tls-client-ca)"));
}

}  // namespace ccwpass::agent
