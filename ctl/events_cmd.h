// `ccwctl events`: the agent's event stream (Events.Watch).
//
//   events [--watch] [--for DURATION] [--kind KIND]... [--schid SCHID]... [-o table|json|yaml]
//
// Without --watch it prints what arrives within --for (default 2s) and exits
// 0: a quick look at what is happening. With --watch it streams until the
// agent ends the stream or ccwctl is interrupted. Either way a stream the
// agent ends normally exits 0. One line per event in table mode
// ("TIME  SEQ  KIND  SCHID  MESSAGE" plus kind-specific detail), one JSON
// object per line in json mode (JSON Lines), a YAML document per event in yaml mode.
#ifndef CCWPASS_CTL_EVENTS_CMD_H_
#define CCWPASS_CTL_EVENTS_CMD_H_

#include <string>

#include "CLI/CLI.hpp"
#include "ctl/online.h"
#include "proto/ccw/v1/ccw.pb.h"

namespace ccwpass::ctl {

// How long `events` listens without --watch.
inline constexpr char kDefaultEventsFor[] = "2s";

// One event as a table-mode line (ends in '\n'):
//   2024-05-01T12:00:02Z  #43  crw  0.0.0100  0.0.0100: channel path 15 lost  [rsc 4 erc 6 rsid 0x15: ...]
std::string EventLine(const ccw::v1::Event& e);

void AddEventsCommand(CLI::App& app, Online& online);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_EVENTS_CMD_H_
