// ccwctl's I/O commands, over the agent's Io service. Each needs the
// subchannel attached in agent mode and runs with the --timeout deadline
// (when it passes, the agent halts or clears the program).
//   io sense-id SCHID       SENSE ID (0xE4, SLI, 256 bytes): CU and device type/model, CIWs
//   io rdc SCHID            READ DEVICE CHARACTERISTICS (0x64, SLI, 64 bytes): hex + 3390 geometry
//   io run SCHID FILE       a program file (docs/program-files.md) sent as program_json
//   halt SCHID, clear SCHID HALT / CLEAR SUBCHANNEL: the IRB that ended it
//   schib SCHID             STORE SUBCHANNEL: the PMCW and SCSW decoded
// A program that ends with unit check, unit exception or any subchannel
// status other than PCI exits with kExitDeviceError after printing the result.
#ifndef CCWPASS_CTL_IO_CMD_H_
#define CCWPASS_CTL_IO_CMD_H_

#include <string>

#include "CLI/CLI.hpp"
#include "ctl/online.h"
#include "proto/ccw/v1/ccw.pb.h"

namespace ccwpass::ctl {

// The table view of a program's result: summary, SCSW in words, the bytes
// each CCW moved, sense; with `show_data` the data read as hex dumps (one per CCW).
std::string ProgramResultText(const ccw::v1::StartProgramResponse& r, bool show_data);

// `io sense-id`'s view (decoded fields and the bytes), or the error for data
// that is not SENSE ID data.
std::string SenseIdText(const ccw::v1::StartProgramResponse& r);
// `io rdc`'s view: the bytes in hex, then the decoded 3390 fields.
std::string RdcText(const ccw::v1::StartProgramResponse& r);
// `schib`'s view.
std::string SchibText(const ccw::v1::StoreSubchannelResponse& r);
// `halt`'s and `clear`'s view: the SCSW of the IRB in words.
std::string IrbText(const ccw::v1::Irb& irb);

// Registers `io` (sense-id, rdc, run), halt, clear and schib on `app`.
void AddIoCommands(CLI::App& app, Online& online);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_IO_CMD_H_
