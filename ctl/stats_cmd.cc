#include "ctl/stats_cmd.h"

#include <google/protobuf/util/time_util.h>

#include <map>
#include <memory>
#include <thread>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ctl/exit_codes.h"
#include "ctl/text_table.h"
#include "fmt/format.h"
#include "proto/ccw/v1/ccw.grpc.pb.h"

namespace ccwpass::ctl {
namespace {

using google::protobuf::util::TimeUtil;

struct StatsFlags {
  std::string schid;
  std::string output;
  bool watch = false;
  std::string interval = "2s";
  int count = 0;  // 0: until interrupted
};

std::string Dur(const google::protobuf::Duration& d) {
  return absl::FormatDuration(absl::Nanoseconds(TimeUtil::DurationToNanoseconds(d)));
}

std::string Mode(ccw::v1::AttachMode m) {
  switch (m) {
    case ccw::v1::ATTACH_MODE_AGENT: return "agent";
    case ccw::v1::ATTACH_MODE_HANDOFF: return "hand-off";
    default: return "detached";
  }
}

std::string AgentLine(const ccw::v1::AgentStats& a) {
  return fmt::format(
      "agent {} up since {}: {} attached ({} agent, {} hand-off); attach {} ok / {} failed; detach {} ok / {} "
      "failed; events {} published, {} dropped\n",
      a.version(), TimeUtil::ToString(a.started_at()), a.attached_agent() + a.attached_handoff(), a.attached_agent(),
      a.attached_handoff(), a.attach_ok(), a.attach_error(), a.detach_ok(), a.detach_error(), a.events_published(),
      a.event_drops());
}

// "deadline 1, policed 1" in reason order of the map (alphabetical).
std::string Reasons(const google::protobuf::Map<std::string, uint64_t>& m) {
  const std::map<std::string, uint64_t> sorted(m.begin(), m.end());
  std::vector<std::string> parts;
  for (const auto& [reason, n] : sorted) parts.push_back(fmt::format("{} {}", reason, n));
  return absl::StrJoin(parts, ", ");
}

uint64_t CrwTotal(const ccw::v1::SubchannelStats& s) {
  uint64_t n = 0;
  for (const auto& c : s.crws()) n += c.count();
  return n;
}

void RunStats(Online& o, const StatsFlags& f) {
  ccw::v1::GetStatsRequest req;
  if (!f.schid.empty()) {
    const auto schid = o.Schid(f.schid);
    if (!schid) return;
    req.set_schid(*schid);
  }
  auto sample = [&](ccw::v1::GetStatsResponse* resp) {
    // No schid for the error report: the agent's NOT_FOUND message says
    // why (not attached since it started), which "no subchannel" would not.
    return o.Unary("", false, [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx) {
      return ccw::v1::Stats::NewStub(ch)->GetStats(ctx, req, resp);
    });
  };
  const OutputFormat fmt = ParseOutputFormat(f.output);
  ccw::v1::GetStatsResponse prev;
  if (!sample(&prev)) return;
  if (!f.watch) {
    o.Emit(prev, f.output, [&] { return StatsTable(prev); });
    return;
  }
  const absl::Duration every = ParseDurationOr(f.interval, absl::Seconds(2));
  auto print_sample = [&](const ccw::v1::GetStatsResponse& r) {
    if (fmt == OutputFormat::kJson) o.out() << MessageToJson(r, /*pretty=*/false) << '\n';
    if (fmt == OutputFormat::kYaml) o.out() << "---\n" << FormatMessage(r, OutputFormat::kYaml);
    o.out().flush();
  };
  print_sample(prev);
  for (int printed = 0; f.count == 0 || printed < f.count; ++printed) {
    absl::SleepFor(every);
    ccw::v1::GetStatsResponse now;
    if (!sample(&now)) return;
    if (fmt == OutputFormat::kTable) {
      o.out() << StatsRateTable(prev, now) << '\n';
      o.out().flush();
    } else {
      print_sample(now);
    }
    prev = std::move(now);
  }
  o.SetExitCode(kExitOk);
}

}  // namespace

std::string HumanBytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (bytes >= 1024 && u < 5) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, kUnits[u]);
}

std::string StatsTable(const ccw::v1::GetStatsResponse& r) {
  std::string out = AgentLine(r.agent());
  if (r.subchannels().empty()) return out + "no subchannel has statistics yet (they start with an attach)\n";
  TextTable t({"SCHID", "DEVNO", "MODE", "STARTED", "COMPLETED", "FAILED", "IN-FLIGHT", "READ", "WRITTEN", "P50",
               "P99", "HALTS", "CLEARS", "CRWS"});
  for (const ccw::v1::SubchannelStats& s : r.subchannels()) {
    t.AddRow({s.schid(), s.devno().empty() ? "-" : s.devno(), Mode(s.mode()), std::to_string(s.programs_started()),
              std::to_string(s.programs_completed()), std::to_string(s.programs_failed()),
              std::to_string(s.in_flight()), HumanBytes(static_cast<double>(s.bytes_read())),
              HumanBytes(static_cast<double>(s.bytes_written())),
              s.latency().count() ? Dur(s.latency().p50()) : "-", s.latency().count() ? Dur(s.latency().p99()) : "-",
              std::to_string(s.halts()), std::to_string(s.clears()), std::to_string(CrwTotal(s))});
    if (!s.failed_by_reason().empty()) t.AddNote("  " + s.schid() + " failed: " + Reasons(s.failed_by_reason()));
  }
  return out + t.Render();
}

std::string StatsRateTable(const ccw::v1::GetStatsResponse& before, const ccw::v1::GetStatsResponse& after) {
  const double secs =
      static_cast<double>(TimeUtil::TimestampToNanoseconds(after.time()) - TimeUtil::TimestampToNanoseconds(before.time())) *
      1e-9;
  std::map<std::string, const ccw::v1::SubchannelStats*> old;
  for (const auto& s : before.subchannels()) old[s.schid()] = &s;
  std::string out = fmt::format("{}  over {}\n", TimeUtil::ToString(after.time()),
                                absl::FormatDuration(absl::Seconds(secs)));
  TextTable t({"SCHID", "DEVNO", "MODE", "IO/S", "READ/S", "WRITTEN/S", "FAILED/S", "IN-FLIGHT", "P50", "P99"});
  auto rate = [secs](uint64_t now, uint64_t then) {
    return secs > 0 && now >= then ? static_cast<double>(now - then) / secs : 0.0;
  };
  for (const ccw::v1::SubchannelStats& s : after.subchannels()) {
    const ccw::v1::SubchannelStats zero;
    const ccw::v1::SubchannelStats& p = old.count(s.schid()) ? *old[s.schid()] : zero;
    t.AddRow({s.schid(), s.devno().empty() ? "-" : s.devno(), Mode(s.mode()),
              fmt::format("{:.1f}", rate(s.programs_completed() + s.programs_failed(),
                                          p.programs_completed() + p.programs_failed())),
              HumanBytes(rate(s.bytes_read(), p.bytes_read())) + "/s",
              HumanBytes(rate(s.bytes_written(), p.bytes_written())) + "/s",
              fmt::format("{:.1f}", rate(s.programs_failed(), p.programs_failed())), std::to_string(s.in_flight()),
              s.latency().count() ? Dur(s.latency().p50()) : "-", s.latency().count() ? Dur(s.latency().p99()) : "-"});
  }
  return out + t.Render();
}

void AddStatsCommand(CLI::App& app, Online& online) {
  auto f = std::make_shared<StatsFlags>();
  CLI::App* cmd = app.add_subcommand("stats", "Print I/O statistics of attached subchannels and of the agent");
  cmd->add_option("schid", f->schid, "Only this subchannel (0.0.0100)")->type_name("SCHID");
  AddOutputFlag(*cmd, &f->output, {"table", "json", "yaml"});
  cmd->add_flag("-w,--watch", f->watch, "Print rates every --interval until interrupted");
  cmd->add_option("--interval", f->interval, "With --watch: the sampling interval")
      ->type_name("DURATION")
      ->check(DurationValidator())
      ->capture_default_str();
  cmd->add_option("--count", f->count, "With --watch: stop after this many samples (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->footer(
      "Programs: started = accepted by the I/O region; completed = channel end + device end without error status;\n"
      "failed = everything else, by reason. Latency quantiles are estimated from the 10us..10s histogram.");
  cmd->callback([&online, f] { RunStats(online, *f); });
}

}  // namespace ccwpass::ctl
