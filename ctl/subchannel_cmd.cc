#include "ctl/subchannel_cmd.h"

#include <google/protobuf/util/time_util.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "agent/busid.h"
#include "ctl/decode.h"
#include "ctl/exit_codes.h"
#include "ctl/text_table.h"
#include "fmt/format.h"
#include "proto/ccw/v1/ccw.grpc.pb.h"

namespace ccwpass::ctl {
namespace {

using ccw::v1::Subchannel;

std::string_view Sv(absl::string_view s) { return {s.data(), s.size()}; }

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

std::string TypeText(uint32_t type) {
  switch (type) {
    case 0: return "0 (I/O)";
    case 1: return "1 (CHSC)";
    case 2: return "2 (message)";
    case 3: return "3 (EADM)";
    default: return fmt::format("{}", type);
  }
}

// "attached (agent mode)", "handed-off", "not-operational (handoff mode)", "detached".
std::string StateText(const Subchannel& s) {
  std::string t(StateWord(s.state()));
  if (s.mode() != ccw::v1::ATTACH_MODE_UNSPECIFIED && s.state() != ccw::v1::HANDED_OFF) {
    t += fmt::format(" ({} mode)", ModeWord(s.mode()));
  }
  return t;
}

std::string CapabilitiesText(const ccw::v1::Capabilities& c) {
  std::vector<std::string> v;
  if (c.async_region()) v.emplace_back("async-region");
  if (c.schib_region()) v.emplace_back("schib-region");
  if (c.crw_region()) v.emplace_back("crw-region");
  if (c.crw_irq()) v.emplace_back("crw-irq");
  if (c.req_irq()) v.emplace_back("req-irq");
  return v.empty() ? "none" : absl::StrJoin(v, " ");
}

// Aligned "Key:  value" lines.
std::string KeyValues(const std::vector<std::pair<std::string, std::string>>& kv) {
  size_t w = 0;
  for (const auto& [k, v] : kv) w = std::max(w, k.size() + 1);
  std::string out;
  for (const auto& [k, v] : kv) out += fmt::format("{:<{}}  {}\n", k + ":", w, v);
  return out;
}

// (ssid, devno) of the subchannel's device, or kFailedPrecondition.
absl::StatusOr<std::pair<uint8_t, uint16_t>> GuestDevno(const Subchannel& s) {
  if (s.mdev_uuid().empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "{} has no mdev (state {}): attach it for a VM first: ccwctl attach {} --handoff", s.schid(),
        StateWord(s.state()), s.schid()));
  }
  auto devno = ParseBusId(s.devno());
  if (!devno.ok()) {
    return absl::FailedPreconditionError(
        fmt::format("{} has no device number the guest could use (devno \"{}\")", s.schid(), s.devno()));
  }
  return devno;
}

using ccw::v1::Subchannels;
using Channel = std::shared_ptr<grpc::Channel>;

struct ListFlags {
  bool attached = false;
  bool io = false;
  std::string cu;
  std::string driver;
  std::string state;
  std::string output;
};

void RunList(Online& o, const ListFlags& f) {
  ccw::v1::ListSubchannelsRequest req;
  req.set_attached_only(f.attached);
  req.set_io_only(f.io);
  req.set_cu_type_prefix(f.cu);
  req.set_driver(f.driver);
  if (!f.state.empty()) req.set_state(ParseStateWord(f.state).value_or(ccw::v1::SUBCHANNEL_STATE_UNSPECIFIED));
  ccw::v1::ListSubchannelsResponse resp;
  if (!o.Unary("", false, [&](Channel ch, grpc::ClientContext* ctx) {
        return Subchannels::NewStub(ch)->ListSubchannels(ctx, req, &resp);
      })) {
    return;
  }
  o.Emit(resp, f.output, [&] { return SubchannelTable(resp); });
}

struct GetFlags {
  std::string schid;
  std::string output;
  std::string sysfs_root = kDefaultSysfsRoot;
};

void RunGet(Online& o, const GetFlags& f) {
  const auto schid = o.Schid(f.schid);
  if (!schid) return;
  ccw::v1::GetSubchannelRequest req;
  req.set_schid(*schid);
  Subchannel s;
  if (!o.Unary(*schid, false, [&](Channel ch, grpc::ClientContext* ctx) {
        return Subchannels::NewStub(ch)->GetSubchannel(ctx, req, &s);
      })) {
    return;
  }
  if (f.output != "qemu" && f.output != "libvirt") {
    return o.Emit(s, f.output, [&] { return SubchannelDetails(s); });
  }
  auto text = f.output == "qemu" ? QemuDeviceArg(s, f.sysfs_root) : LibvirtHostdev(s);
  if (!text.ok()) return o.Fail(kExitRejected, std::string(Sv(text.status().message())));
  if (s.state() == ccw::v1::ATTACHED) {
    o.err() << fmt::format(
        "ccwctl: warning: {} is attached in agent mode: the agent holds its VFIO device open and a VM "
        "cannot open it; for a VM: ccwctl detach {} && ccwctl attach {} --handoff\n",
        s.schid(), s.schid(), s.schid());
  }
  o.out() << *text;
  o.SetExitCode(kExitOk);
}

struct AttachFlags {
  std::string schid;
  bool handoff = false;
  std::string uuid;
  std::string owner;
  std::string output;
};

bool IsUuid(const std::string& u) {
  if (u.size() != 36) return false;
  for (size_t i = 0; i < u.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? u[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(u[i]))) return false;
  }
  return true;
}

void RunAttach(Online& o, const AttachFlags& f) {
  const auto schid = o.Schid(f.schid);
  if (!schid) return;
  if (!f.uuid.empty() && !IsUuid(f.uuid)) {
    return o.Fail(kExitBadInput, fmt::format("--uuid must look like 7e270a25-e163-4922-af60-757fc8ed48c6, not \"{}\"",
                                             f.uuid));
  }
  ccw::v1::AttachRequest req;
  req.set_schid(*schid);
  req.set_mode(f.handoff ? ccw::v1::ATTACH_MODE_HANDOFF : ccw::v1::ATTACH_MODE_AGENT);
  req.set_mdev_uuid(absl::AsciiStrToLower(f.uuid));
  req.set_owner(f.owner);
  ccw::v1::AttachResponse resp;
  if (!o.Unary(*schid, false, [&](Channel ch, grpc::ClientContext* ctx) {
        return Subchannels::NewStub(ch)->Attach(ctx, req, &resp);
      })) {
    return;
  }
  o.Emit(resp, f.output, [&] {
    const Subchannel& s = resp.subchannel();
    std::string text = fmt::format("{}: {}attached ({} mode), mdev {}\n", s.schid(),
                                   resp.already_attached() ? "already " : "", ModeWord(s.mode()), OrDash(s.mdev_uuid()));
    if (s.state() == ccw::v1::HANDED_OFF) {
      text += fmt::format("for a VM: ccwctl get {} -o qemu (or -o libvirt)\n", s.schid());
    }
    return text;
  });
}

struct DetachFlags {
  std::string schid;
  bool force = false;
  std::string output;
};

void RunDetach(Online& o, const DetachFlags& f) {
  const auto schid = o.Schid(f.schid);
  if (!schid) return;
  ccw::v1::DetachRequest req;
  req.set_schid(*schid);
  req.set_force(f.force);
  ccw::v1::DetachResponse resp;
  if (!o.Unary(*schid, false, [&](Channel ch, grpc::ClientContext* ctx) {
        return Subchannels::NewStub(ch)->Detach(ctx, req, &resp);
      })) {
    return;
  }
  o.Emit(resp, f.output, [&] {
    const Subchannel& s = resp.subchannel();
    return fmt::format("{}: {}{}, driver {}\n", s.schid(), resp.already_detached() ? "already " : "",
                       StateWord(s.state()), OrDash(s.driver()));
  });
}

struct ResetFlags {
  std::string schid;
  std::string output;
};

void RunReset(Online& o, const ResetFlags& f) {
  const auto schid = o.Schid(f.schid);
  if (!schid) return;
  ccw::v1::ResetRequest req;
  req.set_schid(*schid);
  Subchannel s;
  if (!o.Unary(*schid, true, [&](Channel ch, grpc::ClientContext* ctx) {
        return Subchannels::NewStub(ch)->Reset(ctx, req, &s);
      })) {
    return;
  }
  o.Emit(s, f.output, [&] { return fmt::format("{}: reset; FSM state {}\n", s.schid(), FsmWord(s.fsm_state())); });
}

const std::vector<std::string> kMessageFormats = {"table", "json", "yaml"};

}  // namespace

std::string SubchannelTable(const ccw::v1::ListSubchannelsResponse& list) {
  bool notes = false;
  for (const Subchannel& s : list.subchannels()) notes = notes || !s.unavailable_reason().empty();
  std::vector<std::string> header = {"Device", "Subchan.", "DevType", "CU Type", "Use", "PIM", "PAM",
                                     "POM",    "CHPIDs",   "Driver",  "mdev UUID"};
  if (notes) header.emplace_back("Notes");
  TextTable t(header);
  for (const Subchannel& s : list.subchannels()) {
    std::vector<std::string> row = {OrDash(s.devno()),
                                    s.schid(),
                                    OrDash(s.dev_type()),
                                    OrDash(s.cu_type()),
                                    std::string(StateWord(s.state())),
                                    fmt::format("{:02x}", s.pim()),
                                    fmt::format("{:02x}", s.pam()),
                                    fmt::format("{:02x}", s.pom()),
                                    ChpidsText(s.chpids()),
                                    OrDash(s.driver()),
                                    OrDash(s.mdev_uuid())};
    if (notes) row.push_back(s.unavailable_reason());
    t.AddRow(std::move(row));
  }
  if (list.subchannels_size() == 0) t.AddNote("(no subchannels match)");
  std::string text = t.Render();
  // lscss draws a line of dashes under the header.
  const size_t eol = text.find('\n');
  text.insert(eol + 1, std::string(eol, '-') + "\n");
  return text;
}

std::string SubchannelDetails(const Subchannel& s) {
  std::vector<std::pair<std::string, std::string>> kv = {
      {"Subchannel", s.schid()},
      {"Device", OrDash(s.devno())},
      {"Type", TypeText(s.type())},
      {"CU type", OrDash(s.cu_type())},
      {"Device type", OrDash(s.dev_type())},
      {"State", StateText(s)},
      {"Driver", OrDash(s.driver())},
  };
  if (!s.mdev_uuid().empty()) {
    kv.emplace_back("mdev UUID", s.mdev_uuid());
    kv.emplace_back("IOMMU group", fmt::format("{}", s.iommu_group()));
  }
  kv.emplace_back("PIM PAM POM", fmt::format("{:02x} {:02x} {:02x}", s.pim(), s.pam(), s.pom()));
  kv.emplace_back("CHPIDs", ChpidsText(s.chpids()));
  kv.emplace_back("QDIO", s.qdio() ? "yes" : "no");
  if (s.fsm_state() != ccw::v1::FSM_STATE_UNSPECIFIED) kv.emplace_back("FSM state", std::string(FsmWord(s.fsm_state())));
  if (s.has_capabilities()) kv.emplace_back("Capabilities", CapabilitiesText(s.capabilities()));
  if (!s.availability().empty()) {
    kv.emplace_back("Availability", s.availability());
    kv.emplace_back("Online", s.online() ? "yes" : "no");
  }
  if (s.has_attached_at()) {
    kv.emplace_back("Attached at", google::protobuf::util::TimeUtil::ToString(s.attached_at()));
  }
  if (!s.owner().empty()) kv.emplace_back("Owner", s.owner());
  if (!s.unavailable_reason().empty()) kv.emplace_back("Cannot attach", s.unavailable_reason());
  return KeyValues(kv);
}

absl::StatusOr<std::string> QemuDeviceArg(const Subchannel& s, const std::string& sysfs_root) {
  auto devno = GuestDevno(s);
  if (!devno.ok()) return devno.status();
  std::string root = sysfs_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root == "/") root.clear();
  return fmt::format("-device vfio-ccw,sysfsdev={}/bus/mdev/devices/{},devno=fe.{:x}.{:04x}\n", root, s.mdev_uuid(),
                     devno->first, devno->second);
}

absl::StatusOr<std::string> LibvirtHostdev(const Subchannel& s) {
  auto devno = GuestDevno(s);
  if (!devno.ok()) return devno.status();
  return fmt::format(
      "<hostdev mode='subsystem' type='mdev' model='vfio-ccw'>\n"
      "  <source>\n"
      "    <address uuid='{}'/>\n"
      "  </source>\n"
      "  <address type='ccw' cssid='0xfe' ssid='0x{:x}' devno='0x{:04x}'/>\n"
      "</hostdev>\n",
      s.mdev_uuid(), devno->first, devno->second);
}

void AddSubchannelCommands(CLI::App& app, Online& online) {
  {
    auto f = std::make_shared<ListFlags>();
    CLI::App* cmd = app.add_subcommand("list", "List the host's subchannels with the agent's state (like lscss)");
    cmd->add_flag("--attached", f->attached, "Only attached subchannels (attached, handed-off, not-operational)");
    cmd->add_flag("--io", f->io, "Only I/O subchannels (type 0)");
    cmd->add_option("--cu", f->cu, "Only control units of this type, e.g. 3990 or 3990/e9")->type_name("TYPE");
    cmd->add_option("--driver", f->driver, "Only subchannels bound to this driver, e.g. vfio_ccw")->type_name("NAME");
    cmd->add_option("--state", f->state, "Only subchannels in this state")
        ->type_name("STATE")
        ->check(CLI::IsMember(StateWords()));
    AddOutputFlag(*cmd, &f->output, kMessageFormats);
    cmd->callback([&online, f] { RunList(online, *f); });
  }
  {
    auto f = std::make_shared<GetFlags>();
    CLI::App* cmd = app.add_subcommand("get", "Show one subchannel; or its QEMU argument or libvirt <hostdev>");
    cmd->add_option("SCHID", f->schid, "Subchannel, e.g. 0.0.0100")->required();
    AddOutputFlag(*cmd, &f->output, {"table", "json", "yaml", "qemu", "libvirt"});
    cmd->add_option("--sysfs-root", f->sysfs_root, "sysfs root of the host that runs QEMU (for -o qemu)")
        ->type_name("DIR")
        ->capture_default_str();
    cmd->callback([&online, f] { RunGet(online, *f); });
  }
  {
    auto f = std::make_shared<AttachFlags>();
    CLI::App* cmd = app.add_subcommand(
        "attach", "Bind SCHID to vfio_ccw and create its mdev; in agent mode (default) also open it for I/O");
    cmd->add_option("SCHID", f->schid, "Subchannel, e.g. 0.0.0100")->required();
    cmd->add_flag("--handoff", f->handoff, "Leave the VFIO device closed for a VM or container");
    cmd->add_option("--uuid", f->uuid, "The mdev UUID to create (default: the agent's stable choice)")
        ->type_name("UUID");
    cmd->add_option("--owner", f->owner,
                    "Attach for this owner (uid:1001, cert:NAME): it may then run I/O on it (docs/security.md)")
        ->type_name("OWNER");
    AddOutputFlag(*cmd, &f->output, kMessageFormats);
    cmd->callback([&online, f] { RunAttach(online, *f); });
  }
  {
    auto f = std::make_shared<DetachFlags>();
    CLI::App* cmd = app.add_subcommand("detach", "Close, remove the mdev and give SCHID back to io_subchannel");
    cmd->add_option("SCHID", f->schid, "Subchannel, e.g. 0.0.0100")->required();
    cmd->add_flag("--force", f->force, "Also detach a subchannel someone else bound to vfio_ccw (state foreign)");
    AddOutputFlag(*cmd, &f->output, kMessageFormats);
    cmd->callback([&online, f] { RunDetach(online, *f); });
  }
  {
    auto f = std::make_shared<ResetFlags>();
    CLI::App* cmd = app.add_subcommand("reset", "Reset an agent-mode subchannel's VFIO device (VFIO_DEVICE_RESET)");
    cmd->add_option("SCHID", f->schid, "Subchannel, e.g. 0.0.0100")->required();
    AddOutputFlag(*cmd, &f->output, kMessageFormats);
    cmd->callback([&online, f] { RunReset(online, *f); });
  }
}

}  // namespace ccwpass::ctl
