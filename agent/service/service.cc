#include "agent/service/service.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/time_util.h"
#include "agent/busid.h"
#include "agent/version.h"
#include "translate/builder.h"
#include "translate/errors.h"
#include "translate/program_file.h"

namespace ccwpass::agent {

using ccw::v1::Event;

namespace {

constexpr absl::Duration kDefaultIoDeadline = absl::Seconds(30);

// protobuf's own conversions (google/protobuf/util/time_util.h).
google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

google::protobuf::Duration ToDuration(absl::Duration d) {
  return google::protobuf::util::TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(d));
}

ccw::v1::SubchannelState StateToProto(AgentState s) { return static_cast<ccw::v1::SubchannelState>(s); }

absl::Time DeadlineOf(const grpc::ServerContextBase* ctx) {
  const auto d = ctx->deadline();
  if (d == std::chrono::system_clock::time_point::max()) return absl::Now() + kDefaultIoDeadline;
  return absl::FromChrono(d);
}

// The bytes a data-moving CCW transferred, read back from the client's memory
// (direct or through its IDAL).
std::string CcwData(const translate::GuestMemory& mem, const translate::Orb& orb, uint64_t ccw_addr, uint32_t bytes) {
  std::array<uint8_t, 8> raw{};
  if (!mem.Read(ccw_addr, raw).ok()) return {};
  translate::Ccw1 c = orb.fmt ? translate::Ccw1::Decode(raw) : translate::Ccw0::Decode(raw).ToFormat1();
  std::string out(bytes, '\0');
  auto* dst = reinterpret_cast<uint8_t*>(out.data());
  if (!(c.flags & translate::ccw_flag::kIda)) {
    if (!mem.Read(c.cda, std::span<uint8_t>(dst, bytes)).ok()) return {};
    return out;
  }
  const translate::IdawFormat f = orb.c64 ? translate::IdawFormat::kFormat2 : translate::IdawFormat::kFormat1;
  const size_t isz = translate::IdawSize(f);
  const uint32_t block = translate::IdawBlockSize(f, orb.i2k);
  uint64_t idaw = c.cda;
  uint32_t done = 0;
  while (done < bytes) {
    std::array<uint8_t, 8> b{};
    if (!mem.Read(idaw, std::span<uint8_t>(b.data(), isz)).ok()) return {};
    const uint64_t a = translate::DecodeIdaw(f, std::span<const uint8_t>(b.data(), isz));
    const uint32_t n = std::min<uint32_t>(bytes - done, block - static_cast<uint32_t>(a % block));
    if (!mem.Read(a, std::span<uint8_t>(dst + done, n)).ok()) return {};
    done += n;
    idaw += isz;
  }
  return out;
}

using access::Action;

// Asks `access` (when there is one) whether the caller of `ctx` may make call
// `a` on `schid`; for device calls of a non-admin the device's owner comes
// from the agent. The caller's owner string: Identity::Owner(), or the gRPC
// peer without access control.
absl::StatusOr<std::string> Gate(const access::Access* access, const grpc::ServerContextBase& ctx, Action a,
                                 Agent& agent, const std::string& schid = {}) {
  if (access == nullptr) return ctx.peer();
  absl::StatusOr<access::Identity> who = access->Authorize(ctx, a, schid, [&]() -> absl::StatusOr<std::string> {
    // The agent's own record when it attached the device (no sysfs read on
    // the I/O path); otherwise the subchannel as the host shows it.
    if (absl::StatusOr<Agent::AttachedIdentity> at = agent.Attached(schid); at.ok()) return at->owner;
    absl::StatusOr<SubchannelView> v = agent.Get(schid);
    if (!v.ok()) return v.status();
    return v->owner;
  });
  if (!who.ok()) return who.status();
  return who->Owner();
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// ---------------------------------------------------------------------------
// Conversions.

void ToProto(const SubchannelView& v, ccw::v1::Subchannel* out) {
  const SubchannelInfo& i = v.info;
  out->set_schid(i.schid);
  out->set_type(i.type);
  out->set_devno(i.DevnoText());
  if (v.cu_type) {
    out->set_cu_type(absl::StrFormat("%04x/%02x", v.cu_type->first, v.cu_type->second));
  } else {
    out->set_cu_type(i.CuTypeText());
  }
  if (v.dev_type) {
    out->set_dev_type(absl::StrFormat("%04x/%02x", v.dev_type->first, v.dev_type->second));
  } else if (v.cu_type && v.state != AgentState::kDetached) {
    out->set_dev_type("n/a");
  } else {
    out->set_dev_type(i.DevTypeText());
  }
  for (uint8_t c : i.chpids) out->add_chpids(c);
  out->set_pim(i.pim);
  out->set_pam(i.pam);
  out->set_pom(i.pom);
  out->set_driver(i.driver);
  out->set_mdev_uuid(i.mdev_uuid);
  if (i.iommu_group >= 0) out->set_iommu_group(static_cast<uint32_t>(i.iommu_group));
  out->set_qdio(i.qdio());
  out->set_state(StateToProto(v.state));
  if (v.state == AgentState::kAttached || v.state == AgentState::kHandedOff ||
      v.state == AgentState::kNotOperational) {
    out->set_mode(v.handoff ? ccw::v1::ATTACH_MODE_HANDOFF : ccw::v1::ATTACH_MODE_AGENT);
  }
  out->set_unavailable_reason(v.unavailable_reason);
  if (v.fsm) out->set_fsm_state(static_cast<ccw::v1::FsmState>(static_cast<int>(*v.fsm) + 1));
  if (v.fsm) {
    auto* c = out->mutable_capabilities();
    c->set_async_region(v.caps.async_region);
    c->set_schib_region(v.caps.schib_region);
    c->set_crw_region(v.caps.crw_region);
    c->set_crw_irq(v.caps.crw_irq);
    c->set_req_irq(v.caps.req_irq);
  }
  out->set_availability(i.availability);
  out->set_online(i.online);
  if (v.attached_at) *out->mutable_attached_at() = ToTimestamp(*v.attached_at);
  out->set_owner(v.owner);
}

void ToProto(const translate::Scsw& s, ccw::v1::Scsw* out) {
  out->set_key(s.key);
  out->set_sctl(s.sctl);
  out->set_eswf(s.eswf);
  out->set_cc(s.cc);
  out->set_fmt(s.fmt);
  out->set_pfch(s.pfch);
  out->set_isic(s.isic);
  out->set_alcc(s.alcc);
  out->set_ssi(s.ssi);
  out->set_zcc(s.zcc);
  out->set_ectl(s.ectl);
  out->set_pno(s.pno);
  out->set_fctl(s.fctl);
  out->set_actl(s.actl);
  out->set_stctl(s.stctl);
  out->set_cpa(s.cpa);
  out->set_dstat(s.dstat);
  out->set_cstat(s.cstat);
  out->set_count(s.count);
  out->set_function_text(translate::FunctionControlText(s.fctl));
  out->set_status_text(translate::StatusControlText(s.stctl));
  out->set_device_status_text(translate::DeviceStatusText(s.dstat));
  out->set_subchannel_status_text(translate::SubchannelStatusText(s.cstat));
}

void ToProto(const translate::Irb& irb, ccw::v1::Irb* out) {
  ToProto(irb.scsw, out->mutable_scsw());
  out->set_lpum(irb.esw.lpum);
  if (irb.esw.erw_s) {
    out->set_concurrent_sense(true);
    out->set_ecw(std::string(irb.ecw.begin(), irb.ecw.begin() + std::min<size_t>(irb.esw.erw_scnt, irb.ecw.size())));
  }
  const auto raw = irb.Encode();
  out->set_raw(std::string(raw.begin(), raw.end()));
}

void ToProto(const translate::Schib& schib, ccw::v1::StoreSubchannelResponse* out) {
  const translate::Pmcw& p = schib.pmcw;
  auto* m = out->mutable_pmcw();
  m->set_intparm(p.intparm);
  m->set_qf(p.qf);
  m->set_w(p.w);
  m->set_isc(p.isc);
  m->set_ena(p.ena);
  m->set_lm(p.lm);
  m->set_mme(p.mme);
  m->set_mp(p.mp);
  m->set_tf(p.tf);
  m->set_dnv(p.dnv);
  m->set_dev(p.dev);
  m->set_lpm(p.lpm);
  m->set_pnom(p.pnom);
  m->set_lpum(p.lpum);
  m->set_pim(p.pim);
  m->set_mbi(p.mbi);
  m->set_pom(p.pom);
  m->set_pam(p.pam);
  for (uint8_t c : p.chpid) m->add_chpids(c);
  m->set_st(p.st);
  m->set_mbfc(p.mbfc);
  m->set_xmwme(p.xmwme);
  m->set_csense(p.csense);
  ToProto(schib.scsw, out->mutable_scsw());
  out->set_mba(schib.mba);
  const auto raw = schib.Encode();
  out->set_raw(std::string(raw.begin(), raw.end()));
}

std::string CrwText(const translate::Crw& crw) {
  std::string src = crw.rsc == translate::crw_rsc::kChannelPath ? absl::StrFormat("channel path %02x", crw.rsid)
                    : crw.rsc == translate::crw_rsc::kSubchannel ? absl::StrFormat("subchannel %04x", crw.rsid)
                                                                 : absl::StrFormat("source %d id %04x", crw.rsc, crw.rsid);
  const char* erc;
  switch (crw.erc) {
    case translate::crw_erc::kEvent: erc = "event information pending"; break;
    case translate::crw_erc::kAvail: erc = "available"; break;
    case translate::crw_erc::kInit: erc = "initialized (path online)"; break;
    case translate::crw_erc::kTerror: erc = "temporary error"; break;
    case translate::crw_erc::kIpi: erc = "installed parameters initialized"; break;
    case translate::crw_erc::kTerm: erc = "terminal"; break;
    case translate::crw_erc::kPerrn: erc = "permanent error, not initialized (path lost)"; break;
    case translate::crw_erc::kPerri: erc = "permanent error, initialized"; break;
    case translate::crw_erc::kPmod: erc = "installed parameters modified"; break;
    default: erc = "unknown error-recovery code";
  }
  return absl::StrCat(src, ": ", erc, crw.oflw ? " (overflow: CRWs were lost)" : "");
}

void ToProto(const AgentEvent& e, Event* out) {
  out->set_seq(e.seq);
  *out->mutable_time() = ToTimestamp(e.time);
  out->set_kind(static_cast<Event::Kind>(e.kind));
  out->set_schid(e.schid);
  out->set_message(e.message);
  out->set_action(e.action);
  out->set_subsystem(e.subsystem);
  out->set_state(StateToProto(e.state));
  out->set_previous_state(StateToProto(e.previous));
  if (e.kind == AgentEvent::Kind::kCrw) {
    const translate::Crw c = translate::Crw::FromWord(e.crw);
    auto* p = out->mutable_crw();
    p->set_slct(c.slct);
    p->set_oflw(c.oflw);
    p->set_chn(c.chn);
    p->set_rsc(c.rsc);
    p->set_anc(c.anc);
    p->set_erc(c.erc);
    p->set_rsid(c.rsid);
    p->set_text(CrwText(c));
    p->set_raw(e.crw);
  }
  if (e.irb) ToProto(*e.irb, out->mutable_irb());
  out->set_dropped(e.dropped);
}

absl::StatusOr<ProgramRequest> ProgramFromProto(const ccw::v1::StartProgramRequest& req,
                                                std::vector<uint64_t>* list_addrs) {
  using R = ccw::v1::StartProgramRequest;
  switch (req.program_case()) {
    case R::kStructural: {
      const auto& sp = req.structural();
      if (sp.ccws_size() == 0) return absl::InvalidArgumentError("structural.ccws: the program has no CCWs");
      std::vector<translate::CcwSpec> specs;
      for (int i = 0; i < sp.ccws_size(); ++i) {
        const auto& c = sp.ccws(i);
        const std::string at = absl::StrCat("structural.ccws[", i, "]");
        translate::CcwSpec s;
        if (c.has_tic()) {
          if (c.cmd() || c.flags() || c.has_count() || !c.data().empty()) {
            return absl::InvalidArgumentError(absl::StrCat(at, ": a TIC has no cmd, flags, count or data"));
          }
          if (c.tic() < 0 || c.tic() >= sp.ccws_size()) {
            return absl::InvalidArgumentError(absl::StrCat(at, ".tic: ", c.tic(), " is not the index of a CCW (0 .. ",
                                                           sp.ccws_size() - 1, ")"));
          }
          s.tic = c.tic();
        } else {
          if (c.cmd() > 0xff) return absl::InvalidArgumentError(absl::StrCat(at, ".cmd: ", c.cmd(), " is over 0xff"));
          if (c.flags() > 0xff) {
            return absl::InvalidArgumentError(absl::StrCat(at, ".flags: ", c.flags(), " is over 0xff"));
          }
          if (c.has_count() && c.count() > 0xffff) {
            return absl::InvalidArgumentError(absl::StrCat(at, ".count: ", c.count(), " is over 65535"));
          }
          if (c.data().size() > 0xffff) {
            return absl::InvalidArgumentError(absl::StrCat(at, ".data: ", c.data().size(), " bytes is over 65535"));
          }
          s.cmd = static_cast<uint8_t>(c.cmd());
          s.flags = static_cast<uint8_t>(c.flags());
          if (c.has_count()) s.count = c.count();
          if (!c.data().empty()) s.data = std::vector<uint8_t>(c.data().begin(), c.data().end());
        }
        specs.push_back(std::move(s));
      }
      translate::BuildOptions o;
      if (sp.lpm() > 0xff) return absl::InvalidArgumentError(absl::StrCat("structural.lpm: ", sp.lpm(), " is over 0xff"));
      o.lpm = sp.lpm() ? static_cast<uint8_t>(sp.lpm()) : 0xff;
      o.pfch = !sp.no_prefetch();
      o.intparm = sp.intparm();
      o.ils = sp.ils();
      absl::StatusOr<translate::BuiltProgram> p = translate::BuildProgram(specs, o);
      if (!p.ok()) return absl::InvalidArgumentError(absl::StrCat("structural: ", p.status().message()));
      if (list_addrs) *list_addrs = p->ccw_addrs;
      return ProgramRequest{p->orb, std::move(p->memory)};
    }
    case R::kRaw: {
      const auto& r = req.raw();
      if (r.memory_size() == 0 || r.memory_size() > translate::kMaxRawMemorySize) {
        return absl::InvalidArgumentError(
            absl::StrCat("raw.memory_size: ", r.memory_size(), " must be 1 .. 2 GiB"));
      }
      auto mem = std::make_unique<translate::SparseGuestMemory>(r.memory_size());
      for (int i = 0; i < r.segments_size(); ++i) {
        const auto& seg = r.segments(i);
        const std::string& d = seg.data();
        if (!mem->Contains(seg.addr(), d.size())) {
          return absl::InvalidArgumentError(absl::StrCat("raw.segments[", i, "]: ", d.size(), " bytes at 0x",
                                                         absl::Hex(seg.addr()), " run past memory_size"));
        }
        (void)mem->Write(seg.addr(), std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(d.data()), d.size()));
      }
      const auto& o = r.orb();
      if (o.key() > 15) return absl::InvalidArgumentError(absl::StrCat("raw.orb.key: ", o.key(), " is over 15"));
      if (o.lpm() > 0xff) return absl::InvalidArgumentError(absl::StrCat("raw.orb.lpm: ", o.lpm(), " is over 0xff"));
      translate::Orb orb;
      orb.intparm = o.intparm();
      orb.key = static_cast<uint8_t>(o.key());
      orb.spnd = o.spnd();
      orb.str = o.str();
      orb.mod = o.mod();
      orb.sync = o.sync();
      orb.fmt = o.fmt();
      orb.pfch = o.pfch();
      orb.isic = o.isic();
      orb.alcc = o.alcc();
      orb.ssic = o.ssic();
      orb.tm = o.tm();
      orb.c64 = o.c64();
      orb.i2k = o.i2k();
      orb.lpm = static_cast<uint8_t>(o.lpm());
      orb.ils = o.ils();
      orb.midaw = o.midaw();
      orb.orbx = o.orbx();
      orb.cpa = o.cpa();
      return ProgramRequest{orb, std::move(mem)};
    }
    case R::kProgramJson: {
      absl::StatusOr<translate::ProgramFile> f = translate::ParseProgramFile(req.program_json());
      if (!f.ok()) return absl::InvalidArgumentError(absl::StrCat("program_json: ", f.status().message()));
      if (list_addrs) *list_addrs = f->ccw_addrs;
      return ProgramRequest{f->orb, std::move(f->memory)};
    }
    default:
      return absl::InvalidArgumentError("no program: set structural, raw or program_json");
  }
}

// ---------------------------------------------------------------------------
// Subchannels.

grpc::Status SubchannelsService::ListSubchannels(grpc::ServerContext* ctx, const ccw::v1::ListSubchannelsRequest* req,
                                                 ccw::v1::ListSubchannelsResponse* resp) {
  absl::StatusOr<std::string> who = Gate(access_, *ctx, Action::kListSubchannels, agent_);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (!ccw::v1::SubchannelState_IsValid(req->state())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("state: unknown subchannel state ", static_cast<int>(req->state())));
  }
  absl::StatusOr<std::vector<SubchannelView>> l = agent_.List();
  if (!l.ok()) return ToGrpcStatus(l.status());
  for (const SubchannelView& v : *l) {
    ccw::v1::Subchannel s;
    ToProto(v, &s);
    if (req->state() != ccw::v1::SUBCHANNEL_STATE_UNSPECIFIED && s.state() != req->state()) continue;
    if (req->attached_only() && s.state() != ccw::v1::ATTACHED && s.state() != ccw::v1::HANDED_OFF &&
        s.state() != ccw::v1::NOT_OPERATIONAL) {
      continue;
    }
    if (req->io_only() && s.type() != 0) continue;
    if (!req->cu_type_prefix().empty() && s.cu_type().rfind(req->cu_type_prefix(), 0) != 0) continue;
    if (!req->driver().empty() && s.driver() != req->driver()) continue;
    *resp->add_subchannels() = std::move(s);
  }
  return grpc::Status::OK;
}

grpc::Status SubchannelsService::GetSubchannel(grpc::ServerContext* ctx, const ccw::v1::GetSubchannelRequest* req,
                                               ccw::v1::Subchannel* resp) {
  absl::StatusOr<std::string> who = Gate(access_, *ctx, Action::kGetSubchannel, agent_);
  if (!who.ok()) return ToGrpcStatus(who.status());
  absl::StatusOr<SubchannelView> v = agent_.Get(req->schid());
  if (!v.ok()) return ToGrpcStatus(v.status());
  ToProto(*v, resp);
  return grpc::Status::OK;
}

grpc::Status SubchannelsService::Attach(grpc::ServerContext* ctx, const ccw::v1::AttachRequest* req,
                                        ccw::v1::AttachResponse* resp) {
  absl::StatusOr<std::string> who = Gate(access_, *ctx, Action::kAttach, agent_);
  if (!who.ok()) return ToGrpcStatus(who.status());
  const bool handoff = req->mode() == ccw::v1::ATTACH_MODE_HANDOFF;
  if (req->mode() != ccw::v1::ATTACH_MODE_UNSPECIFIED && req->mode() != ccw::v1::ATTACH_MODE_AGENT && !handoff) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrCat("mode: unknown attach mode ", req->mode()));
  }
  std::string owner = *who;
  if (!req->owner().empty()) {
    const std::string& o = req->owner();
    if (o.size() > 128 || std::any_of(o.begin(), o.end(), [](char c) { return c < 0x21 || c > 0x7e; })) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "owner: at most 128 printable characters without spaces, like uid:1001 or cert:ci-runner");
    }
    owner = o;
  }
  absl::StatusOr<std::pair<SubchannelView, bool>> r = agent_.Attach(req->schid(), handoff, req->mdev_uuid(), owner);
  if (!r.ok()) return ToGrpcStatus(r.status());
  ToProto(r->first, resp->mutable_subchannel());
  resp->set_already_attached(r->second);
  return grpc::Status::OK;
}

grpc::Status SubchannelsService::Detach(grpc::ServerContext* ctx, const ccw::v1::DetachRequest* req,
                                        ccw::v1::DetachResponse* resp) {
  absl::StatusOr<std::string> who = Gate(access_, *ctx, Action::kDetach, agent_, req->schid());
  if (!who.ok()) return ToGrpcStatus(who.status());
  absl::StatusOr<std::pair<SubchannelView, bool>> r = agent_.Detach(req->schid(), req->force());
  if (!r.ok()) return ToGrpcStatus(r.status());
  ToProto(r->first, resp->mutable_subchannel());
  resp->set_already_detached(r->second);
  return grpc::Status::OK;
}

grpc::Status SubchannelsService::Reset(grpc::ServerContext* ctx, const ccw::v1::ResetRequest* req,
                                       ccw::v1::Subchannel* resp) {
  absl::StatusOr<std::string> who = Gate(access_, *ctx, Action::kReset, agent_, req->schid());
  if (!who.ok()) return ToGrpcStatus(who.status());
  absl::StatusOr<SubchannelView> v = agent_.Reset(req->schid());
  if (!v.ok()) return ToGrpcStatus(v.status());
  ToProto(*v, resp);
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------
// Io.

absl::StatusOr<std::unique_ptr<PreparedProgram>> PrepareProgram(Agent& agent, access::ProgramPolicy* policy,
                                                               const std::string& who,
                                                               const ccw::v1::StartProgramRequest& req) {
  auto call = std::make_unique<PreparedProgram>();
  absl::StatusOr<ProgramRequest> p = ProgramFromProto(req, &call->list_addrs);
  if (!p.ok()) return p.status();
  call->request = std::move(*p);
  call->schid = req.schid();
  if (policy != nullptr) {
    // The device's class from the agent's records (no sysfs on the I/O path).
    absl::StatusOr<Agent::AttachedIdentity> a = agent.Attached(req.schid());
    if (!a.ok()) return a.status();  // the error Run gives, with its advice
    const access::ProgramClass& cls = policy->ClassFor(a->cu_type, a->dev_type);
    absl::StatusOr<access::ProgramPolicy::Admission> admitted = policy->Admit(cls, who, a->schid);
    if (!admitted.ok()) {
      agent.CountPoliced(a->schid);
      return admitted.status();
    }
    call->admission.emplace(std::move(*admitted));
    call->request.police = [&cls](const translate::Program& prog) { return access::CheckProgram(cls, prog); };
  }
  return call;
}

void FillStartProgramResponse(const PreparedProgram& call, const ProgramResult& r,
                              ccw::v1::StartProgramResponse* resp) {
  const std::vector<uint64_t>& list_addrs = call.list_addrs;
  ToProto(r.irb, resp->mutable_irb());
  // The SCSW as the client sees it: CPA in its own address space.
  ToProto(r.completion.scsw, resp->mutable_irb()->mutable_scsw());
  auto index_of = [&](uint64_t addr, int fallback) {
    for (size_t i = 0; i < list_addrs.size(); ++i) {
      if (list_addrs[i] == addr) return static_cast<int>(i);
    }
    return fallback;
  };
  resp->set_last_ccw_index(r.completion.last_ccw ? index_of(r.completion.last_ccw->addr, r.completion.last_ccw->index)
                                                 : -1);
  for (const translate::CcwTransfer& t : r.completion.transfers) {
    auto* x = resp->add_transfers();
    x->set_index(index_of(t.ccw_addr, t.index));
    x->set_ccw_addr(t.ccw_addr);
    x->set_cmd(t.cmd);
    x->set_data_in(t.data_in);
    x->set_bytes(t.bytes);
    if (t.data_in && t.bytes > 0) {
      x->set_data(CcwData(*call.request.memory, call.request.orb, t.ccw_addr, t.bytes));
    }
  }
  resp->set_bytes_read(r.completion.bytes_in);
  resp->set_bytes_written(r.completion.bytes_out);
  for (const std::string& w : r.warnings) resp->add_warnings(w);
  resp->set_retries(static_cast<uint32_t>(r.retries));
  *resp->mutable_duration() = ToDuration(r.duration);
  resp->set_sense(std::string(r.sense.begin(), r.sense.end()));
  const translate::Scsw& s = r.completion.scsw;
  const bool ok = s.dstat == (translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd) && s.cstat == 0;
  resp->set_summary(absl::StrCat(ok ? "ok: " : "ended with: ", translate::DeviceStatusText(s.dstat),
                                 s.cstat ? absl::StrCat("; ", translate::SubchannelStatusText(s.cstat)) : "", "; ",
                                 r.completion.bytes_in, " bytes read, ", r.completion.bytes_out, " bytes written"));
}

grpc::ServerUnaryReactor* IoService::StartProgram(grpc::CallbackServerContext* ctx,
                                                  const ccw::v1::StartProgramRequest* req,
                                                  ccw::v1::StartProgramResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<std::string> who = Gate(access_, *ctx, Action::kStartProgram, agent_, req->schid());
  absl::StatusOr<std::unique_ptr<PreparedProgram>> call =
      who.ok() ? PrepareProgram(agent_, policy_, *who, *req) : who.status();
  if (!call.ok()) {
    reactor->Finish(ToGrpcStatus(call.status()));
    return reactor;
  }
  // Nothing blocks here: the outcome arrives on the agent's I/O worker (or
  // at once for an error before the start) and finishes the call from there.
  PreparedProgram* c = call->release();
  agent_.Submit(c->schid, c->request, DeadlineOf(ctx), [ctx] { return ctx->IsCancelled(); },
                [c, reactor, resp](absl::StatusOr<ProgramResult> r) {
                  std::unique_ptr<PreparedProgram> own(c);
                  if (r.ok()) FillStartProgramResponse(*own, *r, resp);
                  own.reset();  // the policy's admission ends with the program
                  reactor->Finish(r.ok() ? grpc::Status::OK : ToGrpcStatus(r.status()));
                });
  return reactor;
}

grpc::Status IoService::Halt(grpc::ServerContext* ctx, const ccw::v1::HaltRequest* req, ccw::v1::HaltResponse* resp) {
  absl::StatusOr<std::string> who = Gate(access_, *ctx, Action::kHalt, agent_, req->schid());
  if (!who.ok()) return ToGrpcStatus(who.status());
  absl::StatusOr<translate::Irb> irb = agent_.Halt(req->schid(), DeadlineOf(ctx));
  if (!irb.ok()) return ToGrpcStatus(irb.status());
  ToProto(*irb, resp->mutable_irb());
  return grpc::Status::OK;
}

grpc::Status IoService::Clear(grpc::ServerContext* ctx, const ccw::v1::ClearRequest* req,
                              ccw::v1::ClearResponse* resp) {
  absl::StatusOr<std::string> who = Gate(access_, *ctx, Action::kClear, agent_, req->schid());
  if (!who.ok()) return ToGrpcStatus(who.status());
  absl::StatusOr<translate::Irb> irb = agent_.Clear(req->schid(), DeadlineOf(ctx));
  if (!irb.ok()) return ToGrpcStatus(irb.status());
  ToProto(*irb, resp->mutable_irb());
  return grpc::Status::OK;
}

grpc::Status IoService::StoreSubchannel(grpc::ServerContext* ctx, const ccw::v1::StoreSubchannelRequest* req,
                                        ccw::v1::StoreSubchannelResponse* resp) {
  absl::StatusOr<std::string> who = Gate(access_, *ctx, Action::kStoreSubchannel, agent_, req->schid());
  if (!who.ok()) return ToGrpcStatus(who.status());
  absl::StatusOr<translate::Schib> s = agent_.Store(req->schid());
  if (!s.ok()) return ToGrpcStatus(s.status());
  ToProto(*s, resp);
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------
// StreamPrograms: every request is submitted to the agent as it is read (the
// agent keeps each subchannel's requests in order and runs them without
// holding a thread); results go out in completion order through one write in
// flight and a queue the window bounds.

IoService::IoService(Agent& agent, const access::Access* access, access::ProgramPolicy* policy,
                     IoServiceOptions options)
    : agent_(agent), access_(access), policy_(policy), options_(options) {}

IoService::~IoService() = default;

namespace {

using ccw::v1::StreamProgramRequest;
using ccw::v1::StreamProgramResponse;

class StreamReactor final : public grpc::ServerBidiReactor<StreamProgramRequest, StreamProgramResponse> {
 public:
  StreamReactor(Agent& agent, const access::Access* access, access::ProgramPolicy* policy,
                grpc::CallbackServerContext* ctx, uint32_t window)
      : agent_(agent), access_(access), policy_(policy), ctx_(ctx), s_(std::make_shared<State>()) {
    s_->window = window;
    if (ctx->deadline() != std::chrono::system_clock::time_point::max()) {
      s_->stream_deadline = absl::FromChrono(ctx->deadline());
    }
    StreamProgramResponse hello;
    hello.set_window(window);
    absl::MutexLock l(&s_->mu);
    SendLocked(std::move(hello));
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    {
      absl::MutexLock l(&s_->mu);
      if (!ok) {  // the client half-closed (or the call ended)
        s_->read_done = true;
        MaybeFinishLocked();
        return;
      }
      if (s_->finishing) return;
      if (s_->outstanding + 1 > s_->window) {
        FailLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                absl::StrCat("window: ", s_->outstanding + 1, " requests outstanding, the window is ",
                                             s_->window, " (wait for results before sending more)")));
        return;
      }
      ++s_->outstanding;
      // Until the read below is started: the stream does not finish under us
      // (a result delivered at once, or a cancel, cannot end it).
      s_->in_read = true;
    }
    const uint64_t tag = in_.tag();
    const absl::Duration timeout = absl::Seconds(in_.timeout().seconds()) + absl::Nanoseconds(in_.timeout().nanos());
    const absl::Time deadline =
        std::min(s_->stream_deadline, absl::Now() + (timeout > absl::ZeroDuration() ? timeout : kDefaultIoDeadline));
    // Who may run it and what it is, as StartProgram asks for each call.
    absl::StatusOr<std::string> who = Gate(access_, *ctx_, Action::kStartProgram, agent_, in_.program().schid());
    absl::StatusOr<std::unique_ptr<PreparedProgram>> call =
        who.ok() ? PrepareProgram(agent_, policy_, *who, in_.program()) : who.status();
    if (!call.ok()) {
      Complete(tag, nullptr, call.status());
    } else {
      // Submitted before the next read: requests to one subchannel run in
      // stream order.
      PreparedProgram* c = call->release();
      agent_.Submit(c->schid, c->request, deadline, [s = s_] { return s->cancelled.load(); },
                    [this, c, tag](absl::StatusOr<ProgramResult> r) {
                      std::unique_ptr<PreparedProgram> own(c);
                      Complete(tag, own.get(), std::move(r));
                    });
    }
    absl::MutexLock l(&s_->mu);
    s_->in_read = false;
    if (!s_->read_done && !s_->finishing) {
      StartRead(&in_);
    } else {
      MaybeFinishLocked();
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock l(&s_->mu);
    s_->writing = false;
    s_->out.pop_front();
    if (!ok) {
      s_->write_broken = true;
      s_->out.clear();
      s_->cancelled = true;
    } else if (!s_->out.empty()) {
      s_->writing = true;
      StartWrite(&s_->out.front());
    }
    MaybeFinishLocked();
  }

  void OnCancel() override {
    absl::MutexLock l(&s_->mu);
    s_->cancelled = true;
    if (s_->status.ok()) s_->status = grpc::Status::CANCELLED;
    s_->read_done = true;
    MaybeFinishLocked();
  }

  void OnDone() override { delete this; }

 private:
  // What the agent's callbacks share with the reactor.
  struct State {
    absl::Mutex mu;
    uint32_t window = 0;
    absl::Time stream_deadline = absl::InfiniteFuture();
    uint64_t outstanding ABSL_GUARDED_BY(mu) = 0;  // submitted, result not yet queued
    bool in_read ABSL_GUARDED_BY(mu) = false;      // OnReadDone is submitting
    std::deque<StreamProgramResponse> out ABSL_GUARDED_BY(mu);  // front: the write in flight
    bool writing ABSL_GUARDED_BY(mu) = false;
    bool write_broken ABSL_GUARDED_BY(mu) = false;
    bool read_done ABSL_GUARDED_BY(mu) = false;
    bool finishing ABSL_GUARDED_BY(mu) = false;
    bool finished ABSL_GUARDED_BY(mu) = false;
    std::atomic<bool> cancelled{false};
    grpc::Status status ABSL_GUARDED_BY(mu);
  };

  // One request's outcome: queued for the client (the reactor stays until
  // every outstanding request has come through here).
  void Complete(uint64_t tag, const PreparedProgram* call, absl::StatusOr<ProgramResult> r) {
    StreamProgramResponse resp;
    resp.set_tag(tag);
    if (r.ok()) {
      FillStartProgramResponse(*call, *r, resp.mutable_result());
    } else {
      resp.mutable_error()->set_code(static_cast<int>(r.status().code()));
      resp.mutable_error()->set_message(std::string(r.status().message()));
    }
    absl::MutexLock l(&s_->mu);
    --s_->outstanding;
    SendLocked(std::move(resp));
    MaybeFinishLocked();
  }

  // Queues `r` for the client; dropped once the stream is failing (its
  // status is decided; the requests still queued are cancelled).
  void SendLocked(StreamProgramResponse r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s_->mu) {
    if (s_->write_broken || s_->finished || s_->finishing) return;
    s_->out.push_back(std::move(r));
    if (!s_->writing) {
      s_->writing = true;
      StartWrite(&s_->out.front());
    }
  }

  // Ends the stream with `st` once the submitted programs have ended.
  void FailLocked(const grpc::Status& st) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s_->mu) {
    s_->status = st;
    s_->finishing = true;
    s_->cancelled = true;
    s_->out.erase(s_->out.begin() + (s_->writing ? 1 : 0), s_->out.end());
    MaybeFinishLocked();
  }

  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s_->mu) {
    if (s_->finished || s_->outstanding > 0 || s_->in_read || s_->writing) return;
    if (!s_->read_done && !s_->finishing) return;
    s_->finished = true;
    Finish(s_->status);
  }

  Agent& agent_;
  const access::Access* access_;
  access::ProgramPolicy* policy_;
  grpc::CallbackServerContext* ctx_;
  std::shared_ptr<State> s_;
  StreamProgramRequest in_;
};

}  // namespace

grpc::ServerBidiReactor<StreamProgramRequest, StreamProgramResponse>* IoService::StreamPrograms(
    grpc::CallbackServerContext* ctx) {
  return new StreamReactor(agent_, access_, policy_, ctx, options_.stream_window);
}

// ---------------------------------------------------------------------------
// Events: one write in flight; the watcher's bounded queue holds the rest.

namespace {

class WatchReactor final : public grpc::ServerWriteReactor<Event> {
 public:
  WatchReactor(EventBus& bus, std::set<AgentEvent::Kind> kinds, std::set<std::string> schids, size_t queue)
      : state_(std::make_shared<Shared>()) {
    state_->watcher = bus.Watch(std::move(kinds), std::move(schids), queue);
    std::weak_ptr<Shared> weak = state_;
    WatchReactor* self = this;
    state_->watcher->SetNotify([weak, self] {
      if (auto s = weak.lock()) {
        absl::MutexLock l(&s->mu);
        if (s->alive) self->MaybeWriteLocked();
      }
    });
    absl::MutexLock l(&state_->mu);
    MaybeWriteLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock l(&state_->mu);
    state_->writing = false;
    if (!ok) {
      Stop(grpc::Status::OK);
      return;
    }
    MaybeWriteLocked();
  }

  void OnCancel() override {
    absl::MutexLock l(&state_->mu);
    Stop(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    {
      absl::MutexLock l(&state_->mu);
      state_->alive = false;
    }
    state_->watcher->SetNotify(nullptr);
    delete this;
  }

 private:
  struct Shared {
    absl::Mutex mu;
    bool alive = true;
    bool writing = false;
    bool finished = false;
    std::shared_ptr<EventWatcher> watcher;
  };

  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    if (state_->writing || state_->finished) return;
    AgentEvent e;
    if (!state_->watcher->TryNext(&e)) return;
    msg_.Clear();
    ToProto(e, &msg_);
    state_->writing = true;
    StartWrite(&msg_);
  }

  void Stop(const grpc::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    if (state_->finished) return;
    state_->finished = true;
    Finish(s);
  }

  std::shared_ptr<Shared> state_;
  Event msg_;
};

// Ends a Watch with `status` (INVALID_ARGUMENT by default) before any event.
class RejectReactor final : public grpc::ServerWriteReactor<Event> {
 public:
  explicit RejectReactor(const std::string& why) : RejectReactor(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, why)) {}
  explicit RejectReactor(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<Event>* EventsService::Watch(grpc::CallbackServerContext* ctx, const ccw::v1::WatchRequest* req) {
  if (absl::StatusOr<std::string> who = Gate(access_, *ctx, Action::kWatchEvents, agent_); !who.ok()) {
    return new RejectReactor(ToGrpcStatus(who.status()));
  }
  std::set<AgentEvent::Kind> kinds;
  for (int k : req->kinds()) {
    if (k <= 0 || k > static_cast<int>(AgentEvent::Kind::kOverflow)) {
      return new RejectReactor(absl::StrCat("kinds: unknown event kind ", k));
    }
    kinds.insert(static_cast<AgentEvent::Kind>(k));
  }
  std::set<std::string> schids;
  for (const std::string& s : req->schids()) {
    absl::StatusOr<std::pair<uint8_t, uint16_t>> id = ParseBusId(s);
    if (!id.ok()) return new RejectReactor(absl::StrCat("schids: \"", s, "\" is not a schid like 0.0.0100"));
    schids.insert(FormatSchid(id->first, id->second));
  }
  return new WatchReactor(agent_.events(), std::move(kinds), std::move(schids), queue_);
}

// ---------------------------------------------------------------------------
// Stats.

void ToProto(const LatencyHistogram::Snapshot& h, ccw::v1::LatencySummary* out) {
  out->set_count(h.count);
  *out->mutable_sum() = ToDuration(absl::Seconds(h.sum_seconds));
  if (h.count == 0) return;
  *out->mutable_p50() = ToDuration(absl::Seconds(h.Quantile(0.5)));
  *out->mutable_p90() = ToDuration(absl::Seconds(h.Quantile(0.9)));
  *out->mutable_p99() = ToDuration(absl::Seconds(h.Quantile(0.99)));
  *out->mutable_p999() = ToDuration(absl::Seconds(h.Quantile(0.999)));
  *out->mutable_mean() = ToDuration(absl::Seconds(h.sum_seconds / static_cast<double>(h.count)));
}

void ToProto(const SubchannelStatsSnapshot& s, ccw::v1::SubchannelStats* out) {
  out->set_schid(s.schid);
  out->set_devno(s.devno);
  out->set_mdev_uuid(s.mdev_uuid);
  out->set_mode(!s.attached ? ccw::v1::ATTACH_MODE_UNSPECIFIED
                : s.handoff ? ccw::v1::ATTACH_MODE_HANDOFF
                            : ccw::v1::ATTACH_MODE_AGENT);
  out->set_programs_started(s.started);
  out->set_programs_completed(s.completed);
  out->set_programs_failed(s.failed_total());
  for (int r = 0; r < kFailReasons; ++r) {
    if (s.failed[r]) (*out->mutable_failed_by_reason())[FailReasonName(static_cast<FailReason>(r))] = s.failed[r];
  }
  out->set_bytes_read(s.bytes_read);
  out->set_bytes_written(s.bytes_written);
  out->set_in_flight(s.in_flight);
  ToProto(s.latency, out->mutable_latency());
  for (const auto& [key, n] : s.crws) {
    ccw::v1::CrwCount* c = out->add_crws();
    c->set_rsc(key.first);
    c->set_erc(key.second);
    c->set_count(n);
  }
  out->set_halts(s.halts);
  out->set_clears(s.clears);
  out->set_resets(s.resets);
  out->set_unsolicited_interrupts(s.unsolicited);
  out->set_device_requests(s.device_requests);
  if (s.cu_type) out->set_cu_type(absl::StrFormat("%04x/%02x", s.cu_type->first, s.cu_type->second));
  if (s.dev_type) out->set_dev_type(absl::StrFormat("%04x/%02x", s.dev_type->first, s.dev_type->second));
  out->set_chpids(s.chpids);
}

grpc::Status StatsService::GetStats(grpc::ServerContext* ctx, const ccw::v1::GetStatsRequest* req,
                                    ccw::v1::GetStatsResponse* resp) {
  absl::StatusOr<std::string> who = Gate(access_, *ctx, Action::kGetStats, agent_);
  if (!who.ok()) return ToGrpcStatus(who.status());
  *resp->mutable_time() = ToTimestamp(absl::Now());
  if (!req->schid().empty()) {
    absl::StatusOr<SubchannelStatsSnapshot> one = agent_.Stats(req->schid());
    if (!one.ok()) return ToGrpcStatus(one.status());
    ToProto(*one, resp->add_subchannels());
  } else {
    for (const SubchannelStatsSnapshot& s : agent_.AllStats()) ToProto(s, resp->add_subchannels());
  }
  const AgentStatsSnapshot a = agent_.AgentWideStats();
  ccw::v1::AgentStats* out = resp->mutable_agent();
  out->set_version(kAgentVersion);
  *out->mutable_started_at() = ToTimestamp(a.started_at);
  out->set_attached_agent(a.attached_agent);
  out->set_attached_handoff(a.attached_handoff);
  out->set_attach_ok(a.attach_ok);
  out->set_attach_error(a.attach_error);
  out->set_detach_ok(a.detach_ok);
  out->set_detach_error(a.detach_error);
  ToProto(a.attach_seconds, out->mutable_attach_latency());
  ToProto(a.detach_seconds, out->mutable_detach_latency());
  out->set_events_published(a.events_published);
  out->set_event_drops(a.event_drops);
  out->set_programs_started(a.programs_started);
  out->set_programs_completed(a.programs_completed);
  out->set_programs_failed(a.programs_failed);
  out->set_bytes_read(a.bytes_read);
  out->set_bytes_written(a.bytes_written);
  return grpc::Status::OK;
}

}  // namespace ccwpass::agent
