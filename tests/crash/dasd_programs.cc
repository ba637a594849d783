#include "tests/crash/dasd_programs.h"

#include <vector>

#include "sim/dasd/test_util.h"

namespace ccwpass::testing {
namespace {

std::string Str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

void Add(ccw::v1::StartProgramRequest& req, uint32_t cmd, uint32_t flags, const std::string& data, uint32_t count) {
  auto* c = req.mutable_structural()->add_ccws();
  c->set_cmd(cmd);
  c->set_flags(flags);
  if (!data.empty()) {
    c->set_data(data);
  } else {
    c->set_count(count);
  }
}

constexpr uint32_t kCc = 0x40;
constexpr uint32_t kIda = 0x04;

}  // namespace

ccw::v1::StartProgramRequest WriteRecordProgram(const std::string& schid, uint16_t cyl, uint16_t head,
                                                const std::string& data) {
  using sim::dasd::testing::DefineExtentData;
  using sim::dasd::testing::LocateRecordData;
  ccw::v1::StartProgramRequest req;
  req.set_schid(schid);
  Add(req, 0x63, kCc, Str(DefineExtentData(0xC0, 0xC0, cyl, head, cyl, head)), 0);
  Add(req, 0x47, kCc, Str(LocateRecordData(0x43, 0x00, 2, cyl, head, 0, 0, 0)), 0);
  std::string r0 = {static_cast<char>(cyl >> 8), static_cast<char>(cyl), static_cast<char>(head >> 8),
                    static_cast<char>(head), 0, 0, 0, 8};
  r0.append(8, '\0');
  Add(req, 0x15, kCc, r0, 0);
  std::string r1 = {static_cast<char>(cyl >> 8), static_cast<char>(cyl), static_cast<char>(head >> 8),
                    static_cast<char>(head), 1, 0, static_cast<char>(data.size() >> 8), static_cast<char>(data.size())};
  r1 += data;
  Add(req, 0x1D, kIda, r1, 0);
  return req;
}

ccw::v1::StartProgramRequest ReadRecordProgram(const std::string& schid, uint16_t cyl, uint16_t head,
                                               uint32_t length) {
  using sim::dasd::testing::DefineExtentData;
  using sim::dasd::testing::LocateRecordData;
  ccw::v1::StartProgramRequest req;
  req.set_schid(schid);
  Add(req, 0x63, kCc, Str(DefineExtentData(0x40, 0xC0, cyl, head, cyl, head)), 0);
  Add(req, 0x47, kCc, Str(LocateRecordData(0x06, 0x00, 1, cyl, head, 1, 0, static_cast<uint16_t>(length))), 0);
  Add(req, 0x06, kIda, "", length);
  return req;
}

}  // namespace ccwpass::testing
