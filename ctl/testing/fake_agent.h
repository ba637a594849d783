// A fake ccw-agent for ccwctl's tests: the services of proto/ccw/v1
// (Subchannels, Io, Events, Stats) over a fixed dataset, served by a real gRPC
// server in-process (Channel()). It follows the API's contract — status codes,
// idempotent attach/detach, filters, a stream that ends — without any of the
// agent's machinery, so the CLI can be tested before and apart from the agent.
//
// The dataset (FakeSubchannels):
//   0.0.0100  devno 0.0.e000  3990/e9 3390/0c  vfio_ccw       attached (agent), mdev 7e270a25-...
//   0.0.0101  devno 0.0.e001  3990/e9 3390/0c  io_subchannel  detached
//   0.0.0200  devno 0.0.f500  1731/01 1732/01  io_subchannel  detached, QDIO: cannot be attached
#ifndef CCWPASS_CTL_TESTING_FAKE_AGENT_H_
#define CCWPASS_CTL_TESTING_FAKE_AGENT_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "proto/ccw/v1/ccw.grpc.pb.h"

namespace ccwpass::ctl::testing {

inline constexpr char kFakeMdevUuid[] = "7e270a25-e163-4922-af60-757fc8ed48c6";
// The UUID the fake gives an attach without --uuid.
inline constexpr char kFakeNewMdevUuid[] = "0b5f2c4e-3d1a-4c8e-9f00-000000000101";

std::vector<ccw::v1::Subchannel> FakeSubchannels();

// Three events: a hotplug bind of 0.0.0101, its attach (hand-off), and a
// channel-path-lost CRW on 0.0.0100 (CHPID 15).
std::vector<ccw::v1::Event> FakeEvents();

// SENSE ID of a 3390-3 behind a 3990-3 with RCD, SII and RNI CIWs (20 bytes;
// reference/dasd-3390.md §2).
std::string FakeSenseIdBytes();
// READ DEVICE CHARACTERISTICS of a 3390-3 on a 3990 (64 bytes; Hercules' answer,
// reference/dasd-3390.md §2): 3339 cylinders, 15 heads, track length 58786.
std::string FakeRdcBytes();

// An IRB that ended a program normally: start function, status pending,
// primary and secondary, channel end and device end, residual `count`.
ccw::v1::Irb FakeOkIrb(uint32_t cpa, uint32_t count);

class FakeAgent {
 public:
  FakeAgent();
  ~FakeAgent();
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;

  // A channel to the fake (in-process; no socket).
  std::shared_ptr<grpc::Channel> Channel();

  // The next RPC, whichever it is, fails with `status` before it looks at its request.
  void FailNext(grpc::Status status);
  // The next StartProgram returns `response` (after the state checks).
  void SetStartProgramResponse(ccw::v1::StartProgramResponse response);
  // Watch writes its events and then, instead of ending the stream, waits
  // until the client cancels (deadline or cancel).
  void HoldEventStreamOpen(bool hold);
  // GetStats answers with these in turn (the last one again and again); with
  // a schid, only that subchannel, or NOT_FOUND.
  void SetStats(std::vector<ccw::v1::GetStatsResponse> responses);
  // Replaces the events Watch sends.
  void SetEvents(std::vector<ccw::v1::Event> events);

  // The RPCs in the order they arrived, as "Method schid" (or just "Method").
  std::vector<std::string> Calls() const;
  // The last request of `method` ("ListSubchannels", "Attach", "StartProgram",
  // "Watch", ...) as T; a default T when there was none.
  template <typename T>
  T LastRequest(const std::string& method) const {
    T t;
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = last_.find(method); it != last_.end()) t.CopyFrom(*it->second);
    return t;
  }

  // The current state of a subchannel of the dataset (nullopt if unknown).
  std::optional<ccw::v1::Subchannel> Find(const std::string& schid) const;

 private:
  class SubchannelsImpl;
  class IoImpl;
  class EventsImpl;
  class StatsImpl;
  friend class StatsImpl;
  friend class SubchannelsImpl;
  friend class IoImpl;
  friend class EventsImpl;

  // Records the call; returns the injected failure, if any.
  std::optional<grpc::Status> Enter(const std::string& method, const std::string& schid,
                                    const google::protobuf::Message& request);
  ccw::v1::Subchannel* FindLocked(const std::string& schid);

  mutable std::mutex mu_;
  std::vector<ccw::v1::Subchannel> subchannels_;
  std::vector<ccw::v1::Event> events_;
  std::vector<ccw::v1::GetStatsResponse> stats_;
  std::optional<grpc::Status> fail_next_;
  std::optional<ccw::v1::StartProgramResponse> next_start_;
  bool hold_events_ = false;
  std::vector<std::string> calls_;
  std::map<std::string, std::unique_ptr<google::protobuf::Message>> last_;

  std::unique_ptr<SubchannelsImpl> subchannels_service_;
  std::unique_ptr<IoImpl> io_service_;
  std::unique_ptr<EventsImpl> events_service_;
  std::unique_ptr<StatsImpl> stats_service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace ccwpass::ctl::testing

#endif  // CCWPASS_CTL_TESTING_FAKE_AGENT_H_
