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

// Runs one StartProgramRequest for caller `who` (its owner string) through
// the agent and fills `resp` (the IRB with the CPA in the client's address
// space, per-CCW transfers with the data read, summary, sense). `policy` (may
// be null) admits the caller and polices the program. Errors: those of
// ProgramFromProto, the policy (admission, program rules) and Agent::Run.
absl::Status RunStartProgram(Agent& agent, access::ProgramPolicy* policy, const std::string& who,
                             const ccw::v1::StartProgramRequest& req, absl::Time deadline,
                             std::function<bool()> cancelled, ccw::v1::StartProgramResponse* resp);

struct IoServiceOptions {
  // StreamPrograms: the requests a client may have outstanding on one stream
  // (advertised in the stream's first response, enforced).
  uint32_t stream_window = 64;
  // StreamPrograms: the threads that run programs (shared by all streams;
  // started when first needed). Requests to one subchannel never occupy more
  // than one.
  int stream_threads = 64;
};

class BlockingPool;

// Io: the unary calls are synchronous; StreamPrograms uses the callback API
// (one write in flight, a queue bounded by the window).
class IoService final : public ccw::v1::Io::WithCallbackMethod_StreamPrograms<ccw::v1::Io::Service> {
 public:
  // `policy` (may be null: none) polices every program (program_policy.h):
  // the class of the device by its CU/device type, admission per client (the
  // caller's owner string) before the run, the command and size rules on the
  // translated program. `access` (may be null: none) decides who may call.
  explicit IoService(Agent& agent, const access::Access* access = nullptr, access::ProgramPolicy* policy = nullptr,
                     IoServiceOptions options = {});
  ~IoService() override;
  grpc::Status StartProgram(grpc::ServerContext*, const ccw::v1::StartProgramRequest*,
                            ccw::v1::StartProgramResponse*) override;
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
  std::unique_ptr<BlockingPool> pool_;
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
