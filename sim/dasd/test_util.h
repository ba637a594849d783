// Test helpers for sim/dasd: images made by Hercules' own dasdinit, and a tiny
// channel that runs a list of commands against a Device the way the simulated
// channel subsystem does (command chaining, status-modifier skip, TIC, end of
// chain on unit check or unit exception).
#ifndef CCWPASS_SIM_DASD_TEST_UTIL_H_
#define CCWPASS_SIM_DASD_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sim/device.h"

namespace ccwpass::sim::dasd::testing {

// Runs `dasdinit <args>` in $TEST_TMPDIR (or /tmp) and returns the image's
// path (the first non-option argument, made absolute). Fails the test (ADD_FAILURE)
// and returns "" if dasdinit exits non-zero.
std::string Dasdinit(const std::string& args);

// Runs a shell command, returns its exit status and stdout.
int RunCommand(const std::string& command, std::string* output);

// One CCW for RunChain(): a command (or a TIC when code == 0x08: `tic_to` is the
// index of the target step). Write-type commands send `data` (padded or cut to
// `count`); read-type commands receive into a buffer of `count` bytes.
struct Step {
  uint8_t code = 0;
  uint32_t count = 0;
  bool chained = true;  // CC flag
  std::vector<uint8_t> data;
  size_t tic_to = 0;
};

struct StepResult {
  size_t index = 0;      // which step ran
  uint8_t status = 0;
  uint32_t length = 0;   // the device's record length
  std::vector<uint8_t> data;  // the buffer after the command (count bytes)
};

// Runs the steps as one channel program: BeginChain, Execute each command
// (first_in_chain on the first), skip the next step on status modifier, follow
// TICs, stop after a step without chaining or with unit check / exception, then
// EndChain. Returns one StepResult per executed command. At most 10000 commands.
std::vector<StepResult> RunChain(Device& device, const std::vector<Step>& steps);

// DEFINE EXTENT parameters (16 bytes): mask, global attributes, extent begin
// and end (cylinder, head); block size 0.
std::vector<uint8_t> DefineExtentData(uint8_t mask, uint8_t global, uint16_t begin_cyl,
                                      uint16_t begin_head, uint16_t end_cyl, uint16_t end_head);

// LOCATE RECORD parameters (16 bytes): operation byte (orientation | op),
// auxiliary, count, seek CCHH, search CCHHR, sector, transfer length factor.
std::vector<uint8_t> LocateRecordData(uint8_t operation, uint8_t aux, uint8_t count,
                                      uint16_t cyl, uint16_t head, uint8_t record,
                                      uint8_t sector, uint16_t tlf);

// A big-endian CCHHR / BBCCHH helper.
std::vector<uint8_t> Cchhr(uint16_t cyl, uint16_t head, uint8_t record);
std::vector<uint8_t> Bbcchh(uint16_t cyl, uint16_t head);

// Reads `length` bytes at `offset` of a file with pread (independent of the model).
std::vector<uint8_t> ReadFileBytes(const std::string& path, uint64_t offset, size_t length);
// Writes bytes at `offset` of a file with pwrite.
void WriteFileBytes(const std::string& path, uint64_t offset, const std::vector<uint8_t>& bytes);

// EBCDIC of upper-case letters, digits and blank.
std::vector<uint8_t> Ebcdic(const std::string& text);

}  // namespace ccwpass::sim::dasd::testing

#endif  // CCWPASS_SIM_DASD_TEST_UTIL_H_
