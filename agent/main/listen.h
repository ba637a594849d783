// Where ccw-agent may listen on TCP without TLS. Beyond loopback the agent
// needs mutual TLS (--tls-cert, --tls-key, --tls-client-ca; agent/access/tls.h),
// with no opt-out: even the QEMU end-to-end test's guest (docs/qemu-e2e.md)
// serves its host over mutual TLS.
#ifndef CCWPASS_AGENT_MAIN_LISTEN_H_
#define CCWPASS_AGENT_MAIN_LISTEN_H_

#include <string_view>

#include "absl/status/status.h"

namespace ccwpass::agent {

// OK when the agent may listen on `address` (gRPC "host:port") without TLS: a
// loopback address (access::IsLoopbackAddress). Errors: kInvalidArgument
// "--listen-tcp ADDRESS: refusing to listen beyond loopback without TLS (give
// --tls-cert, --tls-key and --tls-client-ca)" for any other address.
absl::Status CheckListenTcp(std::string_view address);

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_MAIN_LISTEN_H_
