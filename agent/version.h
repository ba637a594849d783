// The agent's version, shown by --version, the build_info metric and the Stats RPC.
#ifndef CCWPASS_AGENT_VERSION_H_
#define CCWPASS_AGENT_VERSION_H_

namespace ccwpass::agent {

inline constexpr char kAgentVersion[] = "0.1.0";

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_VERSION_H_
