#include "ctl/bench_cmd.h"

#include <memory>

#include "ctl/exit_codes.h"
#include "ctl/text_table.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace ccwpass::ctl {

namespace {

struct BenchFlags {
  std::vector<std::string> schids;
  std::string mode = "both";
  int clients = 1;
  int window = 64;
  std::string duration = "5s";
  std::string warmup = "500ms";
  std::string program = "sense-id";
  std::string output;
};

void RunBench(Online& online, const BenchFlags& f) {
  absl::StatusOr<BenchProgram> program = ParseBenchProgram(f.program);
  if (!program.ok()) {
    online.Fail(kExitBadInput, std::string(program.status().message()));
    return;
  }
  IoLoadOptions o;
  for (const std::string& s : f.schids) {
    const auto schid = online.Schid(s);
    if (!schid) return;
    o.schids.push_back(*schid);
  }
  o.program = *program;
  o.clients = f.clients;
  o.window = f.window;
  o.timing.duration = ParseDurationOr(f.duration, absl::Seconds(5));
  o.timing.warmup = ParseDurationOr(f.warmup, absl::Milliseconds(500));
  std::shared_ptr<grpc::Channel> channel = online.Channel();
  if (!channel) return;
  auto stub = ccw::v1::Io::NewStub(channel);
  std::vector<BenchRow> rows;
  auto run = [&](const std::string& mode, int concurrency, absl::StatusOr<LoadResult> r) {
    if (!r.ok()) {
      online.FailRpc(grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), std::string(r.status().message())),
                     o.schids.size() == 1 ? o.schids[0] : "", true);
      return false;
    }
    rows.push_back(BenchRow{mode, concurrency, *r});
    return true;
  };
  if (f.mode == "unary" || f.mode == "both") {
    if (!run("unary", o.clients, RunUnaryIo(*stub, o))) return;
  }
  if (f.mode == "stream" || f.mode == "both") {
    if (!run("stream", o.window, RunStreamIo(*stub, o))) return;
  }
  if (f.output == "json") {
    online.out() << BenchJson(rows, o) << "\n";
  } else {
    online.out() << BenchTable(rows);
  }
  online.SetExitCode(kExitOk);
  for (const BenchRow& r : rows) {
    if (r.result.failed > 0) {
      online.Fail(kExitDeviceError, fmt::format("{}: {} of {} programs failed; the first: {}", r.mode, r.result.failed,
                                                r.result.ops, r.result.first_error));
    }
  }
}

}  // namespace

std::string BenchTable(const std::vector<BenchRow>& rows) {
  TextTable t({"MODE", "IN FLIGHT", "OPS", "FAILED", "OPS/S", "P50 us", "P90 us", "P99 us", "P99.9 us", "MAX us"});
  for (const BenchRow& r : rows) {
    const LatencySummary& l = r.result.latency;
    t.AddRow({r.mode, fmt::format("{} {}", r.concurrency, r.mode != "unary" ? "window" : r.concurrency == 1 ? "client" : "clients"),
              fmt::format("{}", r.result.ops), fmt::format("{}", r.result.failed),
              fmt::format("{:.0f}", r.result.ops_per_sec), fmt::format("{:.1f}", l.p50_us),
              fmt::format("{:.1f}", l.p90_us), fmt::format("{:.1f}", l.p99_us), fmt::format("{:.1f}", l.p999_us),
              fmt::format("{:.1f}", l.max_us)});
  }
  return t.Render();
}

std::string BenchJson(const std::vector<BenchRow>& rows, const IoLoadOptions& o) {
  nlohmann::json j;
  j["program"] = std::string(BenchProgramName(o.program));
  j["subchannels"] = o.schids;
  j["duration_s"] = absl::ToDoubleSeconds(o.timing.duration);
  j["results"] = nlohmann::json::array();
  for (const BenchRow& r : rows) {
    const LatencySummary& l = r.result.latency;
    nlohmann::json x;
    x["mode"] = r.mode;
    x[r.mode == "unary" ? "clients" : "window"] = r.concurrency;
    x["ops"] = r.result.ops;
    x["failed"] = r.result.failed;
    x["ops_per_sec"] = r.result.ops_per_sec;
    x["latency_us"] = {{"p50", l.p50_us}, {"p90", l.p90_us},   {"p99", l.p99_us},
                       {"p999", l.p999_us}, {"max", l.max_us}, {"mean", l.mean_us}};
    if (!r.result.first_error.empty()) x["first_error"] = r.result.first_error;
    j["results"].push_back(x);
  }
  return j.dump(2);
}

void AddBenchCommand(CLI::App& app, Online& online) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Measure the agent's I/O path: programs per second and latency, unary and streaming");
  cmd->add_option("SCHID", f->schids, "Subchannels attached in agent mode, e.g. 0.0.0100 0.0.0101")->required();
  cmd->add_option("--mode", f->mode, "unary (StartProgram), stream (StreamPrograms) or both")
      ->check(CLI::IsMember({"unary", "stream", "both"}))
      ->capture_default_str();
  cmd->add_option("--clients", f->clients, "unary: concurrent synchronous callers")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--window", f->window, "stream: requests outstanding (at most the agent's window)")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  cmd->add_option("--duration", f->duration, "how long to measure each mode")
      ->check(DurationValidator())
      ->capture_default_str();
  cmd->add_option("--warmup", f->warmup, "how long to run before measuring")
      ->check(DurationValidator())
      ->capture_default_str();
  cmd->add_option("--program", f->program, "sense-id, noop or read-4k (a volume made by dasdinit -linux)")
      ->capture_default_str();
  AddOutputFlag(*cmd, &f->output, {"table", "json"});
  cmd->callback([&online, f] { RunBench(online, *f); });
}

}  // namespace ccwpass::ctl
