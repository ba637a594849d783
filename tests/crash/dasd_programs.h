// Channel programs for the crash and load tests: a format write of one
// record on a null-formatted (in-memory) 3390 track and its read-back
// (DESIGN.md: 3390 command set in docs/dasd-3390.md).
#ifndef CCWPASS_TESTS_CRASH_DASD_PROGRAMS_H_
#define CCWPASS_TESTS_CRASH_DASD_PROGRAMS_H_

#include <cstdint>
#include <string>

#include "proto/ccw/v1/ccw.pb.h"

namespace ccwpass::testing {

// DEFINE EXTENT (format permitted), LOCATE RECORD format write of 2 records
// on cylinder `cyl` head `head`, WRITE R0 (8 zero bytes), WRITE CKD R1 with
// `data` (1 .. 8192 bytes). 16 + 16 + 16 + 8 + data.size() bytes go out.
ccw::v1::StartProgramRequest WriteRecordProgram(const std::string& schid, uint16_t cyl, uint16_t head,
                                                const std::string& data);
// DEFINE EXTENT (read), LOCATE RECORD read data of R1 on cylinder `cyl` head
// `head`, READ DATA of `length` bytes (the transfer of CCW 2 holds them).
ccw::v1::StartProgramRequest ReadRecordProgram(const std::string& schid, uint16_t cyl, uint16_t head,
                                               uint32_t length);

}  // namespace ccwpass::testing

#endif  // CCWPASS_TESTS_CRASH_DASD_PROGRAMS_H_
