// The agent's own policy on channel programs, per device class, on top of the
// kernel's rules (translate/): which command codes a client may send, how
// many bytes a program and one CCW may move, how many programs one client may
// have in flight, and how fast one client may start programs on one device.
//
// The configuration is the `programs` key of --access-config:
//   programs:
//     - class: dasd                     # a name for messages
//       cu_types: ["3990", "2107"]      # as the device plugin's classes: "3990" or "3990/e9"; empty: any
//       dev_types: ["3390"]
//       deny_commands: [0xb4, 0x94, 0x14, 0xaf]   # default when omitted: kDefaultDeniedCommands
//       allow_commands: [0xb4]          # taken out of the denied ones
//       max_program_bytes: 1048576      # data bytes of all CCWs that move data; 0: no limit
//       max_ccw_bytes: 65535            # data bytes of one CCW; 0: no limit
//       max_in_flight_per_client: 4     # 0: no limit
//       rate: {per_second: 100, burst: 20}   # token bucket per client and device; absent: no limit
// The first class whose selectors match a device applies; a device that
// matches none (or whose types are not known) gets the default class: the
// default denied commands and no limits.
//
// Refusals: kInvalidArgument for command and size rules (translate::CcwError
// with the rule, the command code and the CCW index: "ccw 0 at 0x0: policy
// deny-command: command 0xb4 (RESERVE) is denied on class dasd [EPERM]"),
// kResourceExhausted for the in-flight and rate rules.
// Sources: command codes of the 3990/3390 (reference/dasd-3390.md; Linux
// drivers/s390/block/dasd_eckd.h DASD_ECKD_CCW_*): RESERVE B4, RELEASE 94,
// UNCONDITIONAL RESERVE (steal lock) 14, SET PATH GROUP ID AF.
#ifndef CCWPASS_AGENT_ACCESS_PROGRAM_POLICY_H_
#define CCWPASS_AGENT_ACCESS_PROGRAM_POLICY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/deviceplugin/device_class.h"
#include "translate/translator.h"

namespace ccwpass::agent::access {

// What a passthrough client has no business sending to a shared DASD: it
// would lock the volume against other hosts' systems or change the path group.
inline constexpr uint8_t kDefaultDeniedCommands[] = {0xB4, 0x94, 0x14, 0xAF};
// "RESERVE", "RELEASE", "UNCONDITIONAL RESERVE", "SET PATH GROUP ID", or "" for others.
const char* CommandName(uint8_t cmd);

struct ProgramClass {
  std::string name = "default";
  std::vector<deviceplugin::TypeSelector> cu_types, dev_types;
  std::set<uint8_t> denied{std::begin(kDefaultDeniedCommands), std::end(kDefaultDeniedCommands)};
  uint64_t max_program_bytes = 0;
  uint32_t max_ccw_bytes = 0;
  int max_in_flight_per_client = 0;
  double rate_per_second = 0;  // 0: no rate limit
  double burst = 0;            // bucket size; at least 1 when rate_per_second > 0
};

// Parses the `programs` key (absent: no classes); errors: kInvalidArgument
// naming the source, class index and key, e.g.
// `a.yaml: programs[0] (dasd): deny_commands[1] "0x1b4": not a command code 0x00..0xff`.
absl::StatusOr<std::vector<ProgramClass>> ParseProgramClasses(std::string_view yaml, std::string_view source);

// The command and size rules on a translated program (pure). Errors:
// kInvalidArgument via translate::CcwError, rules "deny-command",
// "max-ccw-bytes", "max-program-bytes", errno EPERM, the CCW's location.
absl::Status CheckProgram(const ProgramClass& c, const translate::Program& p);

class ProgramPolicy {
 public:
  using Clock = std::function<absl::Time()>;
  explicit ProgramPolicy(std::vector<ProgramClass> classes, Clock clock = [] { return absl::Now(); });

  // The class of a device with these types (unknown: nullopt).
  const ProgramClass& ClassFor(const std::optional<std::pair<uint16_t, uint8_t>>& cu_type,
                               const std::optional<std::pair<uint16_t, uint8_t>>& dev_type) const;

  // Ends one admitted program's time in flight when destroyed.
  class Admission {
   public:
    Admission() = default;
    Admission(ProgramPolicy* p, std::string client) : p_(p), client_(std::move(client)) {}
    Admission(Admission&& o) noexcept : p_(std::exchange(o.p_, nullptr)), client_(std::move(o.client_)) {}
    Admission& operator=(Admission&&) = delete;
    ~Admission();

   private:
    ProgramPolicy* p_ = nullptr;
    std::string client_;
  };

  // Lets `client` (an owner string) start one program on `schid` under class
  // `c`: at most max_in_flight_per_client at once, and one token of the
  // (client, schid) bucket. Errors: kResourceExhausted naming the rule:
  //   "0.0.0100: policy max-in-flight: uid:1001 has 4 programs in flight; class dasd allows 4"
  //   "0.0.0100: policy rate: uid:1001 may start 100 programs a second (burst 20) on class dasd; try again in 10ms"
  absl::StatusOr<Admission> Admit(const ProgramClass& c, const std::string& client, const std::string& schid);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time last;
  };
  const std::vector<ProgramClass> classes_;
  const ProgramClass default_;
  const Clock clock_;
  absl::Mutex mu_;
  std::map<std::string, int> in_flight_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ccwpass::agent::access

#endif  // CCWPASS_AGENT_ACCESS_PROGRAM_POLICY_H_
