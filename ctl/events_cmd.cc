#include "ctl/events_cmd.h"

#include <google/protobuf/util/time_util.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ctl/decode.h"
#include "ctl/exit_codes.h"
#include "fmt/format.h"
#include "proto/ccw/v1/ccw.grpc.pb.h"

namespace ccwpass::ctl {
namespace {

using ccw::v1::Event;

struct EventsFlags {
  bool watch = false;
  std::string for_text = kDefaultEventsFor;
  std::vector<std::string> kinds;
  std::vector<std::string> schids;
  std::string output;
};

std::string Detail(const Event& e) {
  switch (e.kind()) {
    case Event::HOTPLUG:
      return fmt::format("[{} {}]", e.subsystem().empty() ? "-" : e.subsystem(), e.action().empty() ? "-" : e.action());
    case Event::ATTACHED:
    case Event::DETACHED:
    case Event::STATE_CHANGED:
      return fmt::format("[{} -> {}]", StateWord(e.previous_state()), StateWord(e.state()));
    case Event::CRW:
      return fmt::format("[rsc {} erc {} rsid 0x{:02x}{}{}]", e.crw().rsc(), e.crw().erc(), e.crw().rsid(),
                         e.crw().text().empty() ? "" : ": ", e.crw().text());
    case Event::UNSOLICITED: {
      const auto f = ScswFields(e.irb().scsw());
      return fmt::format("[device status {}, subchannel status {}]", f[2].second, f[3].second);
    }
    case Event::OVERFLOW:
      return fmt::format("[{} events dropped]", e.dropped());
    default:
      return "";
  }
}

void RunEvents(Online& o, const EventsFlags& f) {
  ccw::v1::WatchRequest req;
  for (const std::string& k : f.kinds) req.add_kinds(ParseEventKindWord(k).value_or(Event::KIND_UNSPECIFIED));
  for (const std::string& s : f.schids) {
    const auto schid = o.Schid(s);
    if (!schid) return;
    req.add_schids(*schid);
  }
  auto channel = o.Channel();
  if (channel == nullptr) return;
  grpc::ClientContext ctx;
  if (!f.watch) ctx.set_deadline(absl::ToChronoTime(absl::Now() + ParseDurationOr(f.for_text, absl::Seconds(2))));
  auto reader = ccw::v1::Events::NewStub(channel)->Watch(&ctx, req);
  const OutputFormat fmt = ParseOutputFormat(f.output);
  Event e;
  while (reader->Read(&e)) {
    switch (fmt) {
      case OutputFormat::kTable:
        o.out() << EventLine(e);
        break;
      case OutputFormat::kJson:
        o.out() << MessageToJson(e, /*pretty=*/false) << '\n';
        break;
      case OutputFormat::kYaml:
        o.out() << "---\n" << FormatMessage(e, OutputFormat::kYaml);
        break;
    }
    o.out().flush();
  }
  const grpc::Status st = reader->Finish();
  // Without --watch the deadline is how the listening ends.
  if (st.ok() || (!f.watch && st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
    o.SetExitCode(kExitOk);
    return;
  }
  o.FailRpc(st, "", false);
}

}  // namespace

std::string EventLine(const Event& e) {
  std::string line = fmt::format("{}  #{}  {}  {}  {}", google::protobuf::util::TimeUtil::ToString(e.time()), e.seq(),
                                 EventKindWord(e.kind()), e.schid().empty() ? "-" : e.schid(), e.message());
  const std::string d = Detail(e);
  if (!d.empty()) line += "  " + d;
  return line + "\n";
}

void AddEventsCommand(CLI::App& app, Online& online) {
  auto f = std::make_shared<EventsFlags>();
  CLI::App* cmd = app.add_subcommand("events", "Print the agent's events (hotplug, attach/detach, CRWs, ...)");
  cmd->add_flag("-w,--watch", f->watch, "Stream until the agent ends the stream or ccwctl is interrupted");
  cmd->add_option("--for", f->for_text, "Without --watch: how long to listen")
      ->type_name("DURATION")
      ->check(DurationValidator())
      ->capture_default_str();
  cmd->add_option("--kind", f->kinds, "Only events of these kinds (repeat, or separate with commas)")
      ->type_name("KIND")
      ->delimiter(',')
      ->check(CLI::IsMember(EventKindWords()));
  cmd->add_option("--schid", f->schids, "Only events of these subchannels (repeat, or separate with commas)")
      ->type_name("SCHID")
      ->delimiter(',');
  AddOutputFlag(*cmd, &f->output, {"table", "json", "yaml"});
  cmd->footer("Without --watch, ccwctl listens for --for (2s) and exits 0; json prints one event per line.");
  cmd->callback([&online, f] { RunEvents(online, *f); });
}

}  // namespace ccwpass::ctl
