// The gRPC services of proto/ccw/v1 over the agent core: Subchannels and Io
// (synchronous; Io's StreamPrograms on the callback API), Events (callback API: one write in flight, a bounded queue
// per watcher, overflow reported as an OVERFLOW event). absl::Status becomes
// grpc::Status here and only here (ToGrpcStatus).
//
// Access control: each service takes an optional access::Access; with one,
// every call asks it first (PERMISSION_DENIED saying who the caller is, its
// role and what the call needs; agent/access/policy.h), and Attach records
// the caller's Identity::Owner() ("uid:1001", "cert:ci-runner") as the
// device's owner. Without one (in-process tests, embedding) every call is
// allowed and the owner is the gRPC peer.
#ifndef CCWPASS_AGENT_SERVICE_SERVICE_H_
#define CCWPASS_AGENT_SERVICE_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "agent/access/access.h"
#include "agent/access/program_policy.h"
#include "agent/core/agent.h"
#include "grpcpp/grpcpp.h"
#include "proto/ccw/v1/ccw.grpc.pb.h"

namespace ccwpass::agent {

// The one place where absl::Status turns into grpc::Status: same code, same
// message.
grpc::Status ToGrpcStatus(const absl::Status& s);

// ---- Conversions (also used by tests and the device plugin).
void ToProto(const SubchannelView& v, ccw::v1::Subchannel* out);
void ToProto(const translate::Scsw& s, ccw::v1::Scsw* out);
void ToProto(const translate::Irb& irb, ccw::v1::Irb* out);
void ToProto(const translate::Schib& schib, ccw::v1::StoreSubchannelResponse* out);
void ToProto(const AgentEvent& e, ccw::v1::Event* out);
std::string CrwText(const translate::Crw& crw);

// Builds a ProgramRequest from a StartProgramRequest's program (structural,
// raw or program_json). Errors: kInvalidArgument naming the field
// ("structural.ccws[2].flags: MIDA is refused", "raw.memory_size: ...").
absl::StatusOr<ProgramRequest> ProgramFromProto(const ccw::v1::StartProgramRequest& req,
                                                std::vector<uint64_t>* list_addrs);

class SubchannelsService final : public ccw::v1::Subchannels::Service {
 public:
  explicit SubchannelsService(Agent& agent, const access::Access* access = nullptr) : agent_(agent), access_(access) {}
  grpc::Status ListSubchannels(grpc::ServerContext*, const ccw::v1::ListSubchannelsRequest*,
                               ccw::v1::ListSubchannelsResponse*) override;
  grpc::Status GetSubchannel(grpc::ServerContext*, const ccw::v1::GetSubchannelRequest*,
                             ccw::v1::Subchannel*) override;
  grpc::Status Attach(grpc::ServerContext*, const ccw::v1::AttachRequest*, ccw::v1::AttachResponse*) override;
  grpc::Status Detach(grpc::ServerContext*, const ccw::v1::DetachRequest*, ccw::v1::DetachResponse*) override;
  grpc::Status Reset(grpc::ServerContext*, const ccw::v1::ResetRequest*, ccw::v1::Subchannel*) override;

 private:
  Agent& agent_;
  const access::Access* access_;
};

// One StartProgramRequest made ready for Agent::Submit: the program in the
// client's memory, the CCW list addresses (to map transfers back to list
// indexes) and, with a policy, the caller's admission (released when this is
// destroyed: destroy it when the program has ended).
struct PreparedProgram {
  std::string schid;  // as the client wrote it
  ProgramRequest request;
  std::vector<uint64_t> list_addrs;
  std::optional<access::ProgramPolicy::Admission> admission;
};

// Parses `req` and, when `policy` is not null, finds the device's class from
// the agent's records (no sysfs read), admits caller `who` (its owner string)
// and sets the program check. Errors: those of ProgramFromProto;
// kInvalidArgument / kNotFound / kFailedPrecondition for a malformed,
// unknown or unattached schid (with a policy; without one Agent::Submit
// says so); the policy's admission (kResourceExhausted, counted as policed).
absl::StatusOr<std::unique_ptr<PreparedProgram>> PrepareProgram(Agent& agent, access::ProgramPolicy* policy,
                                                               const std::string& who,
                                                               const ccw::v1::StartProgramRequest& req);
// Fills `resp` from the agent's result: the IRB with the CPA in the client's
// address space, per-CCW transfers (list index, address, command, bytes, the
// data read), bytes, warnings, retries, duration, sense and a summary line.
void FillStartProgramResponse(const PreparedProgram& call, const ProgramResult& r,
                              ccw::v1::StartProgramResponse* resp);

struct IoServiceOptions {
  // StreamPrograms: the requests a client may have outstanding on one stream
  // (advertised in the stream's first response, enforced).
  uint32_t stream_window = 64;
};

// Io: StartProgram and StreamPrograms use the callback API and hold no
// thread while a program runs (Agent::Submit; a stream has one write in
// flight and a queue bounded by its window); Halt, Clear and
// StoreSubchannel are synchronous.
class IoService final : public ccw::v1::Io::WithCallbackMethod_StartProgram<
                              ccw::v1::Io::WithCallbackMethod_StreamPrograms<ccw::v1::Io::Service>> {
 public:
  // `policy` (may be null: none) polices every program (program_policy.h):
  // the class of the device by its CU/device type, admission per client (the
  // caller's owner string) before the run, the command and size rules on the
  // translated program. `access` (may be null: none) decides who may call.
  explicit IoService(Agent& agent, const access::Access* access = nullptr, access::ProgramPolicy* policy = nullptr,
                     IoServiceOptions options = {});
  ~IoService() override;
  grpc::ServerUnaryReactor* StartProgram(grpc::CallbackServerContext* ctx, const ccw::v1::StartProgramRequest* req,
                                         ccw::v1::StartProgramResponse* resp) override;
  grpc::ServerBidiReactor<ccw::v1::StreamProgramRequest, ccw::v1::StreamProgramResponse>* StreamPrograms(
      grpc::CallbackServerContext* ctx) override;
  grpc::Status Halt(grpc::ServerContext*, const ccw::v1::HaltRequest*, ccw::v1::HaltResponse*) override;
  grpc::Status Clear(grpc::ServerContext*, const ccw::v1::ClearRequest*, ccw::v1::ClearResponse*) override;
  grpc::Status StoreSubchannel(grpc::ServerContext*, const ccw::v1::StoreSubchannelRequest*,
                               ccw::v1::StoreSubchannelResponse*) override;

 private:
  Agent& agent_;
  const access::Access* access_;
  access::ProgramPolicy* policy_;
  const IoServiceOptions options_;
};

// Stats: the agent's I/O statistics (agent/core/io_stats.h), the same
// numbers the Prometheus endpoint serves.
class StatsService final : public ccw::v1::Stats::Service {
 public:
  explicit StatsService(Agent& agent, const access::Access* access = nullptr) : agent_(agent), access_(access) {}
  grpc::Status GetStats(grpc::ServerContext*, const ccw::v1::GetStatsRequest*, ccw::v1::GetStatsResponse*) override;

 private:
  Agent& agent_;
  const access::Access* access_;
};

// Conversions of the statistics (also used by tests).
void ToProto(const LatencyHistogram::Snapshot& h, ccw::v1::LatencySummary* out);
void ToProto(const SubchannelStatsSnapshot& s, ccw::v1::SubchannelStats* out);

class EventsService final : public ccw::v1::Events::CallbackService {
 public:
  // `queue` events per watcher before it starts losing them.
  explicit EventsService(Agent& agent, size_t queue = 1024, const access::Access* access = nullptr)
      : agent_(agent), queue_(queue), access_(access) {}
  grpc::ServerWriteReactor<ccw::v1::Event>* Watch(grpc::CallbackServerContext* ctx,
                                                  const ccw::v1::WatchRequest* req) override;

 private:
  Agent& agent_;
  size_t queue_;
  const access::Access* access_;
};

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_SERVICE_SERVICE_H_
