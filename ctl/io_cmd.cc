#include "ctl/io_cmd.h"

#include <google/protobuf/util/time_util.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "ctl/decode.h"
#include "ctl/exit_codes.h"
#include "ctl/program_cmd.h"
#include "ctl/text_table.h"
#include "fmt/format.h"
#include "proto/ccw/v1/ccw.grpc.pb.h"
#include "translate/arch.h"
#include "translate/program_file.h"

namespace ccwpass::ctl {
namespace {

using ccw::v1::StartProgramResponse;

std::string_view Sv(absl::string_view s) { return {s.data(), s.size()}; }

using KeyValue = std::vector<std::pair<std::string, std::string>>;

std::string KeyValues(const KeyValue& kv, const std::string& indent = "") {
  size_t w = 0;
  for (const auto& [k, v] : kv) w = std::max(w, k.size() + 1);
  std::string out;
  for (const auto& [k, v] : kv) out += fmt::format("{}{:<{}}  {}\n", indent, k + ":", w, v);
  return out;
}

std::string Capitalized(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

KeyValue ScswKeyValues(const ccw::v1::Scsw& s) {
  KeyValue kv;
  for (auto& [k, v] : ScswFields(s)) kv.emplace_back(Capitalized(k), v);
  return kv;
}

std::string DurationText(const google::protobuf::Duration& d) {
  return absl::FormatDuration(absl::Microseconds(google::protobuf::util::TimeUtil::DurationToMicroseconds(d)));
}

std::string YesNo(bool b) { return b ? "yes" : "no"; }

// The data the first CCW read, or empty.
std::string FirstReadData(const StartProgramResponse& r) {
  for (const auto& t : r.transfers()) {
    if (t.data_in()) return t.data();
  }
  return "";
}

// One-CCW programs of `io sense-id` and `io rdc`: the command with SLI, `count` bytes.
ccw::v1::StartProgramRequest OneReadCcw(const std::string& schid, uint8_t cmd, uint32_t count) {
  ccw::v1::StartProgramRequest req;
  req.set_schid(schid);
  auto* ccw = req.mutable_structural()->add_ccws();
  ccw->set_cmd(cmd);
  ccw->set_flags(translate::ccw_flag::kSli);
  ccw->set_count(count);
  return req;
}

using Channel = std::shared_ptr<grpc::Channel>;

// Sends `req`; prints the result as `view` (table) or the message; sets the exit code.
void RunProgram(Online& o, const ccw::v1::StartProgramRequest& req, const std::string& output,
                const std::function<std::string(const StartProgramResponse&)>& view) {
  StartProgramResponse resp;
  if (!o.Unary(req.schid(), true, [&](Channel ch, grpc::ClientContext* ctx) {
        return ccw::v1::Io::NewStub(ch)->StartProgram(ctx, req, &resp);
      })) {
    return;
  }
  const bool device_error = ScswReportsError(resp.irb().scsw());
  o.Emit(resp, output, [&] { return device_error ? ProgramResultText(resp, false) : view(resp); });
  if (device_error) {
    o.Fail(kExitDeviceError,
           fmt::format("{}: the device or channel reported an error: {}", req.schid(),
                       resp.summary().empty() ? "see the SCSW" : resp.summary()));
  }
}

struct SchidFlags {
  std::string schid;
  std::string output;
};

struct RunFlags {
  std::string schid;
  std::string file;
  bool data = false;
  std::string output;
};

void RunFile(Online& o, const RunFlags& f) {
  const auto schid = o.Schid(f.schid);
  if (!schid) return;
  auto text = ReadProgramText(f.file);
  if (!text.ok()) return o.Fail(kExitBadInput, std::string(Sv(text.status().message())));
  // The agent parses it too; parsing here first names the file and exits 2.
  if (auto pf = translate::ParseProgramFile(*text); !pf.ok()) {
    return o.Fail(kExitBadInput, fmt::format("{}: {}", f.file == "-" ? "<stdin>" : f.file, Sv(pf.status().message())));
  }
  ccw::v1::StartProgramRequest req;
  req.set_schid(*schid);
  req.set_program_json(*text);
  const bool data = f.data;
  RunProgram(o, req, f.output, [data](const StartProgramResponse& r) { return ProgramResultText(r, data); });
}

// HALT or CLEAR: the same shape of request and response.
template <typename Request, typename Response>
void RunAsync(Online& o, const SchidFlags& f, const char* what,
              grpc::Status (ccw::v1::Io::Stub::*rpc)(grpc::ClientContext*, const Request&, Response*)) {
  const auto schid = o.Schid(f.schid);
  if (!schid) return;
  Request req;
  req.set_schid(*schid);
  Response resp;
  if (!o.Unary(*schid, true, [&](Channel ch, grpc::ClientContext* ctx) {
        return (ccw::v1::Io::NewStub(ch).get()->*rpc)(ctx, req, &resp);
      })) {
    return;
  }
  o.Emit(resp, f.output, [&] { return fmt::format("{}: {} done\n", *schid, what) + IrbText(resp.irb()); });
}

void RunSchib(Online& o, const SchidFlags& f) {
  const auto schid = o.Schid(f.schid);
  if (!schid) return;
  ccw::v1::StoreSubchannelRequest req;
  req.set_schid(*schid);
  ccw::v1::StoreSubchannelResponse resp;
  if (!o.Unary(*schid, true, [&](Channel ch, grpc::ClientContext* ctx) {
        return ccw::v1::Io::NewStub(ch)->StoreSubchannel(ctx, req, &resp);
      })) {
    return;
  }
  o.Emit(resp, f.output, [&] { return SchibText(resp); });
}

const std::vector<std::string> kFormats = {"table", "json", "yaml"};

CLI::App* SchidCommand(CLI::App& parent, const char* name, const char* help, SchidFlags* f) {
  CLI::App* cmd = parent.add_subcommand(name, help);
  cmd->add_option("SCHID", f->schid, "Subchannel, attached in agent mode, e.g. 0.0.0100")->required();
  AddOutputFlag(*cmd, &f->output, kFormats);
  return cmd;
}

}  // namespace

std::string ProgramResultText(const StartProgramResponse& r, bool show_data) {
  KeyValue kv = {{"Summary", r.summary().empty() ? "-" : r.summary()}};
  for (auto& p : ScswKeyValues(r.irb().scsw())) kv.push_back(std::move(p));
  kv.emplace_back("Last CCW", r.last_ccw_index() < 0 ? "none" : fmt::format("{}", r.last_ccw_index()));
  kv.emplace_back("Bytes read", fmt::format("{}", r.bytes_read()));
  kv.emplace_back("Bytes written", fmt::format("{}", r.bytes_written()));
  if (r.has_duration()) kv.emplace_back("Duration", DurationText(r.duration()));
  if (r.retries() > 0) kv.emplace_back("Retries", fmt::format("{}", r.retries()));
  for (const std::string& w : r.warnings()) kv.emplace_back("Warning", w);
  if (!r.sense().empty()) kv.emplace_back("Sense", HexWords(Bytes(r.sense())));
  if (r.irb().concurrent_sense()) kv.emplace_back("Concurrent sense", HexWords(Bytes(r.irb().ecw())));
  std::string out = KeyValues(kv);
  if (r.transfers_size() > 0) {
    TextTable t({"CCW", "Address", "Cmd", "Name", "Dir", "Bytes"});
    for (const auto& x : r.transfers()) {
      const std::string_view name = translate::CommandName(static_cast<uint8_t>(x.cmd()));
      t.AddRow({fmt::format("{}", x.index()), fmt::format("0x{:08x}", x.ccw_addr()), fmt::format("0x{:02x}", x.cmd()),
                name.empty() ? "-" : std::string(name), x.data_in() ? "read" : "write", fmt::format("{}", x.bytes())});
    }
    out += "\n" + t.Render();
  }
  bool hidden = false;
  for (const auto& x : r.transfers()) {
    if (!x.data_in() || x.data().empty()) continue;
    if (!show_data) {
      hidden = true;
      continue;
    }
    out += fmt::format("\nData read by CCW {} ({} bytes):\n", x.index(), x.data().size());
    out += HexDump(Bytes(x.data()));
  }
  if (hidden) out += fmt::format("\n({} bytes read; --data shows them)\n", r.bytes_read());
  return out;
}

std::string SenseIdText(const StartProgramResponse& r) {
  const std::string data = FirstReadData(r);
  auto id = DecodeSenseId(Bytes(data));
  KeyValue kv;
  if (!id.ok()) {
    kv.emplace_back("Not SENSE ID data", std::string(Sv(id.status().message())));
  } else {
    kv.emplace_back("CU type", fmt::format("{:04x}/{:02x}", id->cu_type, id->cu_model));
    kv.emplace_back("Device type", data.size() >= 7 ? fmt::format("{:04x}/{:02x}", id->dev_type, id->dev_model)
                                                    : std::string("n/a"));
    if (id->ciws.empty()) kv.emplace_back("CIWs", "none");
    for (size_t i = 0; i < id->ciws.size(); ++i) {
      const Ciw& c = id->ciws[i];
      kv.emplace_back(fmt::format("CIW {}", i),
                      fmt::format("{}: command 0x{:02x}, count {}", CiwTypeName(c.type), c.command, c.count));
    }
  }
  kv.emplace_back("Bytes", fmt::format("{} ({})", data.size(), data.empty() ? "-" : HexWords(Bytes(data))));
  return KeyValues(kv);
}

std::string RdcText(const StartProgramResponse& r) {
  const std::string data = FirstReadData(r);
  std::string out = fmt::format("READ DEVICE CHARACTERISTICS: {} bytes\n", data.size());
  out += HexDump(Bytes(data), /*ebcdic=*/false);
  auto rdc = DecodeRdc(Bytes(data));
  KeyValue kv;
  if (!rdc.ok()) {
    kv.emplace_back("Not 3390 characteristics", std::string(Sv(rdc.status().message())));
  } else {
    kv = {
        {"CU type", fmt::format("{:04x}/{:02x}", rdc->cu_type, rdc->cu_model)},
        {"Device type", fmt::format("{:04x}/{:02x}", rdc->dev_type, rdc->dev_model)},
        {"Cylinders", fmt::format("{}", rdc->cylinders)},
        {"Heads", fmt::format("{}", rdc->heads)},
        {"Track length", fmt::format("{} bytes", rdc->track_length)},
    };
  }
  return out + "\n" + KeyValues(kv);
}

std::string IrbText(const ccw::v1::Irb& irb) {
  KeyValue kv = ScswKeyValues(irb.scsw());
  kv.emplace_back("Last path used", fmt::format("{:02x}", irb.lpum()));
  if (irb.concurrent_sense()) kv.emplace_back("Concurrent sense", HexWords(Bytes(irb.ecw())));
  return KeyValues(kv);
}

std::string SchibText(const ccw::v1::StoreSubchannelResponse& r) {
  const ccw::v1::Pmcw& p = r.pmcw();
  const KeyValue pmcw = {
      {"Interruption parameter", fmt::format("0x{:08x}", p.intparm())},
      {"ISC", fmt::format("{}", p.isc())},
      {"Enabled", YesNo(p.ena())},
      {"Device number", fmt::format("{:04x}{}", p.dev(), p.dnv() ? "" : " (not valid)")},
      {"LPM PNOM LPUM", fmt::format("{:02x} {:02x} {:02x}", p.lpm(), p.pnom(), p.lpum())},
      {"PIM PAM POM", fmt::format("{:02x} {:02x} {:02x}", p.pim(), p.pam(), p.pom())},
      {"CHPIDs", ChpidsText(p.chpids())},
      {"Multipath mode", YesNo(p.mp())},
      {"Limit mode", fmt::format("{}", p.lm())},
      {"Measurement mode", fmt::format("{} (block index {}, format-1 {})", p.mme(), p.mbi(), YesNo(p.mbfc()))},
      {"Timing facility", YesNo(p.tf())},
      {"Concurrent sense", YesNo(p.csense())},
      {"QDIO active", YesNo(p.qf())},
      {"Subchannel type", fmt::format("{}", p.st())},
  };
  std::string out = "PMCW\n" + KeyValues(pmcw, "  ");
  out += "SCSW (CCW address as stored, not mapped back)\n" + KeyValues(ScswKeyValues(r.scsw()), "  ");
  out += KeyValues({{"Measurement-block address", fmt::format("0x{:x}", r.mba())},
                    {"Raw", r.raw().empty() ? "-" : HexWords(Bytes(r.raw()))}});
  return out;
}

void AddIoCommands(CLI::App& app, Online& online) {
  CLI::App* io = app.add_subcommand("io", "Run channel programs on an agent-mode subchannel");
  io->require_subcommand(1);
  {
    auto f = std::make_shared<SchidFlags>();
    CLI::App* cmd =
        SchidCommand(*io, "sense-id", "SENSE ID (0xE4): control-unit and device type and model, and the CIWs", f.get());
    cmd->callback([&online, f] {
      const auto schid = online.Schid(f->schid);
      if (!schid) return;
      RunProgram(online, OneReadCcw(*schid, kCmdSenseId, kSenseIdBytes), f->output, SenseIdText);
    });
  }
  {
    auto f = std::make_shared<SchidFlags>();
    CLI::App* cmd = SchidCommand(
        *io, "rdc", "READ DEVICE CHARACTERISTICS (0x64): the 64 bytes and the 3390 geometry", f.get());
    cmd->callback([&online, f] {
      const auto schid = online.Schid(f->schid);
      if (!schid) return;
      RunProgram(online, OneReadCcw(*schid, kCmdReadDeviceCharacteristics, kRdcBytes), f->output, RdcText);
    });
  }
  {
    auto f = std::make_shared<RunFlags>();
    CLI::App* cmd = io->add_subcommand("run", "Run a channel-program file (docs/program-files.md) and show its result");
    cmd->add_option("SCHID", f->schid, "Subchannel, attached in agent mode, e.g. 0.0.0100")->required();
    cmd->add_option("FILE", f->file, "Program file (JSON); - reads standard input")->required();
    cmd->add_flag("--data", f->data, "Show the data read as hex dumps (with EBCDIC text)");
    AddOutputFlag(*cmd, &f->output, kFormats);
    cmd->callback([&online, f] { RunFile(online, *f); });
  }
  {
    auto f = std::make_shared<SchidFlags>();
    CLI::App* cmd =
        SchidCommand(app, "halt", "HALT SUBCHANNEL: end the program running on the subchannel", f.get());
    cmd->callback([&online, f] { RunAsync(online, *f, "halt", &ccw::v1::Io::Stub::Halt); });
  }
  {
    auto f = std::make_shared<SchidFlags>();
    CLI::App* cmd = SchidCommand(
        app, "clear", "CLEAR SUBCHANNEL: end whatever the subchannel does, reset its path state", f.get());
    cmd->callback([&online, f] { RunAsync(online, *f, "clear", &ccw::v1::Io::Stub::Clear); });
  }
  {
    auto f = std::make_shared<SchidFlags>();
    CLI::App* cmd = SchidCommand(app, "schib", "STORE SUBCHANNEL: the PMCW and SCSW decoded", f.get());
    cmd->callback([&online, f] { RunSchib(online, *f); });
  }
}

}  // namespace ccwpass::ctl
