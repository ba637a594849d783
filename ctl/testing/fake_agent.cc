#include "ctl/testing/fake_agent.h"

#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "translate/arch.h"

namespace ccwpass::ctl::testing {
namespace {

using ccw::v1::AttachMode;
using ccw::v1::Event;
using ccw::v1::Irb;
using ccw::v1::Subchannel;
using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp Time(const char* rfc3339) {
  google::protobuf::Timestamp t;
  (void)TimeUtil::FromString(rfc3339, &t);
  return t;
}

std::string Hex(const char* hex) { return absl::HexStringToBytes(hex); }

Subchannel Dasd(const std::string& schid, const std::string& devno) {
  Subchannel s;
  s.set_schid(schid);
  s.set_type(0);
  s.set_devno(devno);
  s.set_cu_type("3990/ec");
  s.set_dev_type("3390/0a");
  for (uint32_t c : {0x15u, 0x16u, 0u, 0u, 0u, 0u, 0u, 0u}) s.add_chpids(c);
  s.set_pim(0xc0);
  s.set_pam(0xc0);
  s.set_pom(0xff);
  return s;
}

void MakeAttached(Subchannel& s, AttachMode mode, const std::string& uuid, uint32_t group) {
  s.set_driver("vfio_ccw");
  s.set_mdev_uuid(uuid);
  s.set_iommu_group(group);
  s.set_mode(mode);
  s.set_state(mode == ccw::v1::ATTACH_MODE_HANDOFF ? ccw::v1::HANDED_OFF : ccw::v1::ATTACHED);
  s.set_fsm_state(mode == ccw::v1::ATTACH_MODE_HANDOFF ? ccw::v1::FSM_STATE_UNSPECIFIED : ccw::v1::IDLE);
  auto* caps = s.mutable_capabilities();
  caps->set_async_region(true);
  caps->set_schib_region(true);
  caps->set_crw_region(true);
  caps->set_crw_irq(true);
  caps->set_req_irq(true);
  s.clear_availability();
  s.clear_online();
  *s.mutable_attached_at() = Time("2024-05-01T12:00:00Z");
  s.set_owner("uid 0 (root)");
}

void MakeDetached(Subchannel& s) {
  s.set_driver("io_subchannel");
  s.clear_mdev_uuid();
  s.clear_iommu_group();
  s.clear_mode();
  s.clear_fsm_state();
  s.clear_capabilities();
  s.clear_attached_at();
  s.clear_owner();
  s.set_state(ccw::v1::DETACHED);
  s.set_availability("good");
  s.set_online(false);
}

grpc::Status NotFound(const std::string& schid) {
  return {grpc::StatusCode::NOT_FOUND, schid + ": no such subchannel"};
}

Irb FinalIrb(uint32_t fctl, const char* function_text) {
  Irb irb;
  auto* s = irb.mutable_scsw();
  s->set_fctl(fctl);
  s->set_stctl(translate::scsw_stctl::kStatusPending);
  s->set_function_text(function_text);
  s->set_status_text("status pending");
  irb.set_lpum(0x80);
  return irb;
}

}  // namespace

std::vector<Subchannel> FakeSubchannels() {
  Subchannel a = Dasd("0.0.0100", "0.0.e000");
  MakeAttached(a, ccw::v1::ATTACH_MODE_AGENT, kFakeMdevUuid, 3);
  Subchannel b = Dasd("0.0.0101", "0.0.e001");
  MakeDetached(b);
  Subchannel c;
  c.set_schid("0.0.0200");
  c.set_devno("0.0.f500");
  c.set_cu_type("1731/01");
  c.set_dev_type("1732/01");
  for (uint32_t x : {0x30u, 0u, 0u, 0u, 0u, 0u, 0u, 0u}) c.add_chpids(x);
  c.set_pim(0x80);
  c.set_pam(0x80);
  c.set_pom(0xff);
  c.set_qdio(true);
  MakeDetached(c);
  c.set_online(true);
  c.set_unavailable_reason("QDIO subchannel: vfio_ccw refuses QDIO");
  return {a, b, c};
}

std::vector<Event> FakeEvents() {
  Event hotplug;
  hotplug.set_seq(41);
  *hotplug.mutable_time() = Time("2024-05-01T12:00:01Z");
  hotplug.set_kind(Event::HOTPLUG);
  hotplug.set_schid("0.0.0101");
  hotplug.set_message("0.0.0101: bound to vfio_ccw");
  hotplug.set_action("bind");
  hotplug.set_subsystem("css");

  Event attached;
  attached.set_seq(42);
  *attached.mutable_time() = Time("2024-05-01T12:00:01.250Z");
  attached.set_kind(Event::ATTACHED);
  attached.set_schid("0.0.0101");
  attached.set_message("0.0.0101: attached (handoff), mdev 0b5f2c4e-3d1a-4c8e-9f00-000000000101");
  attached.set_state(ccw::v1::HANDED_OFF);
  attached.set_previous_state(ccw::v1::ATTACHING);

  Event crw;
  crw.set_seq(43);
  *crw.mutable_time() = Time("2024-05-01T12:00:02Z");
  crw.set_kind(Event::CRW);
  crw.set_schid("0.0.0100");
  crw.set_message("0.0.0100: channel path 15 lost");
  auto* w = crw.mutable_crw();
  w->set_rsc(translate::crw_rsc::kChannelPath);
  w->set_erc(translate::crw_erc::kPerrn);
  w->set_rsid(0x15);
  w->set_text("channel path 15: permanent error, not initialized (path lost)");
  w->set_raw(0x04060015);
  return {hotplug, attached, crw};
}

std::string FakeSenseIdBytes() { return Hex("ff3990ec33900a00" "40fa0100" "41270004" "423e0040"); }

std::string FakeRdcBytes() {
  return Hex(
      "3990c233900ad20000002024" "0d0b000f"
      "e000e5a205940222130906740000000000000000000000002424" "1002dfee0001"
      "067708000000000000ff000000000d0b");
}

Irb FakeOkIrb(uint32_t cpa, uint32_t count) {
  Irb irb;
  auto* s = irb.mutable_scsw();
  s->set_fmt(true);
  s->set_pfch(true);
  s->set_fctl(translate::scsw_fctl::kStart);
  s->set_stctl(translate::scsw_stctl::kPrimary | translate::scsw_stctl::kSecondary |
               translate::scsw_stctl::kStatusPending);
  s->set_cpa(cpa);
  s->set_dstat(translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd);
  s->set_count(count);
  s->set_function_text("start");
  s->set_status_text("status pending, primary, secondary");
  s->set_device_status_text("channel end, device end");
  irb.set_lpum(0x80);
  return irb;
}

// --- services -----------------------------------------------------------------

class FakeAgent::SubchannelsImpl final : public ccw::v1::Subchannels::Service {
 public:
  explicit SubchannelsImpl(FakeAgent& a) : a_(a) {}

  grpc::Status ListSubchannels(grpc::ServerContext*, const ccw::v1::ListSubchannelsRequest* req,
                               ccw::v1::ListSubchannelsResponse* resp) override {
    if (auto f = a_.Enter("ListSubchannels", "", *req)) return *f;
    std::lock_guard<std::mutex> l(a_.mu_);
    for (const Subchannel& s : a_.subchannels_) {
      const bool attached = s.state() == ccw::v1::ATTACHED || s.state() == ccw::v1::HANDED_OFF ||
                            s.state() == ccw::v1::NOT_OPERATIONAL;
      if (req->state() != ccw::v1::SUBCHANNEL_STATE_UNSPECIFIED && s.state() != req->state()) continue;
      if (req->attached_only() && !attached) continue;
      if (req->io_only() && s.type() != 0) continue;
      if (!req->cu_type_prefix().empty() && s.cu_type().rfind(req->cu_type_prefix(), 0) != 0) continue;
      if (!req->driver().empty() && s.driver() != req->driver()) continue;
      *resp->add_subchannels() = s;
    }
    return grpc::Status::OK;
  }

  grpc::Status GetSubchannel(grpc::ServerContext*, const ccw::v1::GetSubchannelRequest* req,
                             Subchannel* resp) override {
    if (auto f = a_.Enter("GetSubchannel", req->schid(), *req)) return *f;
    std::lock_guard<std::mutex> l(a_.mu_);
    Subchannel* s = a_.FindLocked(req->schid());
    if (s == nullptr) return NotFound(req->schid());
    *resp = *s;
    return grpc::Status::OK;
  }

  grpc::Status Attach(grpc::ServerContext*, const ccw::v1::AttachRequest* req,
                      ccw::v1::AttachResponse* resp) override {
    if (auto f = a_.Enter("Attach", req->schid(), *req)) return *f;
    std::lock_guard<std::mutex> l(a_.mu_);
    Subchannel* s = a_.FindLocked(req->schid());
    if (s == nullptr) return NotFound(req->schid());
    if (!s->unavailable_reason().empty()) {
      return {grpc::StatusCode::FAILED_PRECONDITION,
              absl::StrCat(req->schid(), ": cannot attach: ", s->unavailable_reason())};
    }
    if (s->state() == ccw::v1::ATTACHED || s->state() == ccw::v1::HANDED_OFF) {
      resp->set_already_attached(true);
    } else {
      const AttachMode mode =
          req->mode() == ccw::v1::ATTACH_MODE_UNSPECIFIED ? ccw::v1::ATTACH_MODE_AGENT : req->mode();
      MakeAttached(*s, mode, req->mdev_uuid().empty() ? kFakeNewMdevUuid : req->mdev_uuid(), 4);
    }
    *resp->mutable_subchannel() = *s;
    return grpc::Status::OK;
  }

  grpc::Status Detach(grpc::ServerContext*, const ccw::v1::DetachRequest* req,
                      ccw::v1::DetachResponse* resp) override {
    if (auto f = a_.Enter("Detach", req->schid(), *req)) return *f;
    std::lock_guard<std::mutex> l(a_.mu_);
    Subchannel* s = a_.FindLocked(req->schid());
    if (s == nullptr) return NotFound(req->schid());
    if (s->state() == ccw::v1::FOREIGN && !req->force()) {
      return {grpc::StatusCode::FAILED_PRECONDITION,
              absl::StrCat(req->schid(), ": bound to vfio_ccw by another tool (FOREIGN); force detaches it")};
    }
    if (s->state() == ccw::v1::DETACHED) {
      resp->set_already_detached(true);
    } else {
      MakeDetached(*s);
    }
    *resp->mutable_subchannel() = *s;
    return grpc::Status::OK;
  }

  grpc::Status Reset(grpc::ServerContext*, const ccw::v1::ResetRequest* req, Subchannel* resp) override {
    if (auto f = a_.Enter("Reset", req->schid(), *req)) return *f;
    std::lock_guard<std::mutex> l(a_.mu_);
    Subchannel* s = a_.FindLocked(req->schid());
    if (s == nullptr) return NotFound(req->schid());
    if (s->state() != ccw::v1::ATTACHED) {
      return {grpc::StatusCode::FAILED_PRECONDITION,
              absl::StrCat(req->schid(), ": reset needs an agent-mode attach (state ",
                           ccw::v1::SubchannelState_Name(s->state()), ")")};
    }
    s->set_fsm_state(ccw::v1::IDLE);
    *resp = *s;
    return grpc::Status::OK;
  }

 private:
  FakeAgent& a_;
};

class FakeAgent::IoImpl final : public ccw::v1::Io::Service {
 public:
  explicit IoImpl(FakeAgent& a) : a_(a) {}

  grpc::Status StartProgram(grpc::ServerContext*, const ccw::v1::StartProgramRequest* req,
                            ccw::v1::StartProgramResponse* resp) override {
    if (auto f = a_.Enter("StartProgram", req->schid(), *req)) return *f;
    std::lock_guard<std::mutex> l(a_.mu_);
    if (grpc::Status st = NeedsAgentMode(req->schid(), "start"); !st.ok()) return st;
    if (a_.next_start_.has_value()) {
      *resp = *a_.next_start_;
      a_.next_start_.reset();
      return grpc::Status::OK;
    }
    if (req->has_structural() && req->structural().ccws_size() > 0) {
      const auto& ccw = req->structural().ccws(0);
      std::string data;
      if (ccw.cmd() == 0xE4) data = FakeSenseIdBytes();
      if (ccw.cmd() == 0x64) data = FakeRdcBytes();
      if (!data.empty()) {
        const uint32_t count = ccw.has_count() ? ccw.count() : 0;
        const auto n = static_cast<uint32_t>(std::min<size_t>(data.size(), count));
        *resp->mutable_irb() = FakeOkIrb(0x1008, count - n);
        resp->set_last_ccw_index(0);
        auto* t = resp->add_transfers();
        t->set_index(0);
        t->set_ccw_addr(0x1000);
        t->set_cmd(ccw.cmd());
        t->set_data_in(true);
        t->set_bytes(n);
        t->set_data(data.substr(0, n));
        resp->set_bytes_read(n);
        resp->set_summary(absl::StrCat("ok: channel end, device end; ", n, " bytes read"));
        *resp->mutable_duration() = TimeUtil::MicrosecondsToDuration(180);
        return grpc::Status::OK;
      }
    }
    *resp->mutable_irb() = FakeOkIrb(0x1008, 0);
    resp->set_last_ccw_index(0);
    resp->set_summary("ok: channel end, device end");
    return grpc::Status::OK;
  }

  grpc::Status Halt(grpc::ServerContext*, const ccw::v1::HaltRequest* req, ccw::v1::HaltResponse* resp) override {
    if (auto f = a_.Enter("Halt", req->schid(), *req)) return *f;
    std::lock_guard<std::mutex> l(a_.mu_);
    if (grpc::Status st = NeedsAgentMode(req->schid(), "halt"); !st.ok()) return st;
    *resp->mutable_irb() = FinalIrb(translate::scsw_fctl::kHalt, "halt");
    return grpc::Status::OK;
  }

  grpc::Status Clear(grpc::ServerContext*, const ccw::v1::ClearRequest* req, ccw::v1::ClearResponse* resp) override {
    if (auto f = a_.Enter("Clear", req->schid(), *req)) return *f;
    std::lock_guard<std::mutex> l(a_.mu_);
    if (grpc::Status st = NeedsAgentMode(req->schid(), "clear"); !st.ok()) return st;
    *resp->mutable_irb() = FinalIrb(translate::scsw_fctl::kClear, "clear");
    return grpc::Status::OK;
  }

  grpc::Status StoreSubchannel(grpc::ServerContext*, const ccw::v1::StoreSubchannelRequest* req,
                               ccw::v1::StoreSubchannelResponse* resp) override {
    if (auto f = a_.Enter("StoreSubchannel", req->schid(), *req)) return *f;
    std::lock_guard<std::mutex> l(a_.mu_);
    if (grpc::Status st = NeedsAgentMode(req->schid(), "store subchannel"); !st.ok()) return st;
    translate::Schib schib;
    translate::Pmcw& p = schib.pmcw;
    p.intparm = 0x00000100;
    p.isc = 3;
    p.ena = true;
    p.mp = true;
    p.dnv = true;
    p.dev = 0xe000;
    p.lpm = 0xc0;
    p.pim = 0xc0;
    p.pam = 0xc0;
    p.pom = 0xff;
    p.chpid = {0x15, 0x16, 0, 0, 0, 0, 0, 0};
    p.csense = true;
    auto* m = resp->mutable_pmcw();
    m->set_intparm(p.intparm);
    m->set_isc(p.isc);
    m->set_ena(p.ena);
    m->set_mp(p.mp);
    m->set_dnv(p.dnv);
    m->set_dev(p.dev);
    m->set_lpm(p.lpm);
    m->set_pim(p.pim);
    m->set_pam(p.pam);
    m->set_pom(p.pom);
    for (uint8_t c : p.chpid) m->add_chpids(c);
    m->set_csense(p.csense);
    resp->mutable_scsw();  // all zero: idle
    const auto raw = schib.Encode();
    resp->set_raw(std::string(raw.begin(), raw.end()));
    return grpc::Status::OK;
  }

 private:
  // Called with a_.mu_ held.
  grpc::Status NeedsAgentMode(const std::string& schid, const char* what) {
    Subchannel* s = a_.FindLocked(schid);
    if (s == nullptr) return NotFound(schid);
    if (s->state() != ccw::v1::ATTACHED) {
      return {grpc::StatusCode::FAILED_PRECONDITION,
              absl::StrCat(schid, ": ", what, ": not attached in agent mode (state ",
                           ccw::v1::SubchannelState_Name(s->state()), ")")};
    }
    return grpc::Status::OK;
  }

  FakeAgent& a_;
};

class FakeAgent::EventsImpl final : public ccw::v1::Events::Service {
 public:
  explicit EventsImpl(FakeAgent& a) : a_(a) {}

  grpc::Status Watch(grpc::ServerContext* ctx, const ccw::v1::WatchRequest* req,
                     grpc::ServerWriter<Event>* writer) override {
    if (auto f = a_.Enter("Watch", "", *req)) return *f;
    std::vector<Event> events;
    bool hold = false;
    {
      std::lock_guard<std::mutex> l(a_.mu_);
      events = a_.events_;
      hold = a_.hold_events_;
    }
    for (const Event& e : events) {
      bool kind_ok = req->kinds().empty();
      for (int k : req->kinds()) kind_ok = kind_ok || k == e.kind();
      bool schid_ok = req->schids().empty();
      for (const std::string& s : req->schids()) schid_ok = schid_ok || s == e.schid();
      if (kind_ok && schid_ok && !writer->Write(e)) return grpc::Status::CANCELLED;
    }
    while (hold && !ctx->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return grpc::Status::OK;
  }

 private:
  FakeAgent& a_;
};

class FakeAgent::StatsImpl final : public ccw::v1::Stats::Service {
 public:
  explicit StatsImpl(FakeAgent& a) : a_(a) {}

  grpc::Status GetStats(grpc::ServerContext*, const ccw::v1::GetStatsRequest* req,
                        ccw::v1::GetStatsResponse* resp) override {
    if (auto f = a_.Enter("GetStats", req->schid(), *req)) return *f;
    std::lock_guard<std::mutex> l(a_.mu_);
    if (a_.stats_.empty()) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no stats set");
    const ccw::v1::GetStatsResponse all = a_.stats_.front();
    if (a_.stats_.size() > 1) a_.stats_.erase(a_.stats_.begin());
    *resp = all;
    if (!req->schid().empty()) {
      resp->clear_subchannels();
      for (const ccw::v1::SubchannelStats& s : all.subchannels()) {
        if (s.schid() == req->schid()) *resp->add_subchannels() = s;
      }
      if (resp->subchannels().empty()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "no statistics for " + req->schid() +
                                                             ": the agent has not attached it since it started");
      }
    }
    return grpc::Status::OK;
  }

 private:
  FakeAgent& a_;
};

// --- FakeAgent ---------------------------------------------------------------

FakeAgent::FakeAgent()
    : subchannels_(FakeSubchannels()),
      events_(FakeEvents()),
      subchannels_service_(std::make_unique<SubchannelsImpl>(*this)),
      io_service_(std::make_unique<IoImpl>(*this)),
      events_service_(std::make_unique<EventsImpl>(*this)),
      stats_service_(std::make_unique<StatsImpl>(*this)) {
  grpc::ServerBuilder builder;
  builder.RegisterService(subchannels_service_.get());
  builder.RegisterService(io_service_.get());
  builder.RegisterService(events_service_.get());
  builder.RegisterService(stats_service_.get());
  server_ = builder.BuildAndStart();
}

FakeAgent::~FakeAgent() {
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

std::shared_ptr<grpc::Channel> FakeAgent::Channel() { return server_->InProcessChannel(grpc::ChannelArguments()); }

void FakeAgent::FailNext(grpc::Status status) {
  std::lock_guard<std::mutex> l(mu_);
  fail_next_ = std::move(status);
}

void FakeAgent::SetStats(std::vector<ccw::v1::GetStatsResponse> responses) {
  std::lock_guard<std::mutex> l(mu_);
  stats_ = std::move(responses);
}

void FakeAgent::SetStartProgramResponse(ccw::v1::StartProgramResponse response) {
  std::lock_guard<std::mutex> l(mu_);
  next_start_ = std::move(response);
}

void FakeAgent::HoldEventStreamOpen(bool hold) {
  std::lock_guard<std::mutex> l(mu_);
  hold_events_ = hold;
}

void FakeAgent::SetEvents(std::vector<Event> events) {
  std::lock_guard<std::mutex> l(mu_);
  events_ = std::move(events);
}

std::vector<std::string> FakeAgent::Calls() const {
  std::lock_guard<std::mutex> l(mu_);
  return calls_;
}

std::optional<Subchannel> FakeAgent::Find(const std::string& schid) const {
  std::lock_guard<std::mutex> l(mu_);
  for (const Subchannel& s : subchannels_) {
    if (s.schid() == schid) return s;
  }
  return std::nullopt;
}

std::optional<grpc::Status> FakeAgent::Enter(const std::string& method, const std::string& schid,
                                             const google::protobuf::Message& request) {
  std::lock_guard<std::mutex> l(mu_);
  calls_.push_back(schid.empty() ? method : method + " " + schid);
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  last_[method] = std::move(copy);
  std::optional<grpc::Status> f = std::move(fail_next_);
  fail_next_.reset();
  return f;
}

Subchannel* FakeAgent::FindLocked(const std::string& schid) {
  for (Subchannel& s : subchannels_) {
    if (s.schid() == schid) return &s;
  }
  return nullptr;
}

}  // namespace ccwpass::ctl::testing
