// Where ccw-agent may listen on TCP without TLS. Beyond loopback the agent
// needs mutual TLS (--tls-cert, --tls-key, --tls-client-ca; agent/access/tls.h);
// --insecure-tcp-any-address lifts that for test guests (the QEMU end-to-end
// test, docs/qemu-e2e.md) whose only network is QEMU's user-mode network
// behind a host port bound to 127.0.0.1.
#ifndef CCWPASS_AGENT_MAIN_LISTEN_H_
#define CCWPASS_AGENT_MAIN_LISTEN_H_

#include <string_view>

#include "absl/status/status.h"

namespace ccwpass::agent {

// OK when the agent may listen on `address` (gRPC "host:port") without TLS: a
// loopback address (access::IsLoopbackAddress), or any address when
// `insecure_any_address` (the caller logs a warning). Errors: kInvalidArgument
// "--listen-tcp ADDRESS: refusing to listen beyond loopback without TLS (give
// --tls-cert, --tls-key and --tls-client-ca)" for any other address.
absl::Status CheckListenTcp(std::string_view address, bool insecure_any_address);

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_MAIN_LISTEN_H_
