// `ccwctl stats`: the agent's I/O statistics (Stats.GetStats), the same
// numbers its Prometheus endpoint serves (docs/metrics.md).
//
//   stats [SCHID] [-o table|json|yaml] [--watch [--interval DURATION] [--count N]]
//
// Without --watch: one table of the totals (a line for the agent, a row per
// subchannel, and the failures by reason under it), or the GetStatsResponse
// as JSON/YAML. With --watch: every --interval (default 2s) a table of rates
// over the last interval (programs, bytes and failures per second, from the
// difference of two samples and the agent's own timestamps), until
// interrupted or --count tables were printed; json prints each sample as one
// line (JSON Lines), yaml as one document.
#ifndef CCWPASS_CTL_STATS_CMD_H_
#define CCWPASS_CTL_STATS_CMD_H_

#include <cstdint>
#include <string>

#include "CLI/CLI.hpp"
#include "ctl/online.h"
#include "proto/ccw/v1/ccw.pb.h"

namespace ccwpass::ctl {

// 1023 -> "1023 B", 8192 -> "8.0 KiB", 1572864 -> "1.5 MiB" (IEC units, one decimal).
std::string HumanBytes(double bytes);

// The totals table of one response (each line ends in '\n').
std::string StatsTable(const ccw::v1::GetStatsResponse& r);
// The rates between two responses of the same agent, `before` first.
std::string StatsRateTable(const ccw::v1::GetStatsResponse& before, const ccw::v1::GetStatsResponse& after);

void AddStatsCommand(CLI::App& app, Online& online);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_STATS_CMD_H_
