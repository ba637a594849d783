#include "sim/dasd/test_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "gtest/gtest.h"

namespace ccwpass::sim::dasd::testing {
namespace {

bool IsReadType(uint8_t code) {
  // SA22-7832: write-type commands have code bits 6-7 = 01 (and control = 11
  // with data sent to the device); reads (10), read backward (1100), sense (0100).
  switch (code & 0x03) {
    case 0x01:
      return false;  // write
    case 0x03:
      return false;  // control: data goes to the device (DE, LR, SEEK, SPID ...)
    default:
      return true;   // read, sense
  }
}

}  // namespace

int RunCommand(const std::string& command, std::string* output) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = ::fread(buf, 1, sizeof buf, p)) > 0) {
    if (output != nullptr) output->append(buf, n);
  }
  int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string Dasdinit(const std::string& args) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = tmp != nullptr ? tmp : "/tmp";
  std::string file;
  std::istringstream in(args);
  for (std::string w; in >> w;) {
    if (w[0] != '-') {
      file = w;
      break;
    }
  }
  std::string out;
  int rc = RunCommand("cd '" + dir + "' && rm -f '" + file + "' && dasdinit " + args + " 2>&1",
                      &out);
  if (rc != 0) {
    ADD_FAILURE() << "dasdinit " << args << " exited " << rc << ": " << out;
    return "";
  }
  return dir + "/" + file;
}

std::vector<StepResult> RunChain(Device& device, const std::vector<Step>& steps) {
  std::vector<StepResult> results;
  device.BeginChain();
  size_t i = 0;
  bool first = true;
  for (int guard = 0; i < steps.size() && guard < 10000; ++guard) {
    const Step& s = steps[i];
    if (s.code == 0x08) {  // TIC
      i = s.tic_to;
      continue;
    }
    StepResult r;
    r.index = i;
    r.data.assign(s.count, 0);
    if (!IsReadType(s.code)) {
      std::copy_n(s.data.begin(), std::min<size_t>(s.data.size(), s.count), r.data.begin());
    }
    Command c{s.code, s.count, s.chained, first};
    first = false;
    CommandResult cr = device.Execute(c, absl::MakeSpan(r.data));
    r.status = cr.status;
    r.length = cr.length;
    results.push_back(r);
    if ((cr.status & (kDevUnitCheck | kDevUnitException)) != 0 || !s.chained) break;
    i += (cr.status & kDevStatusModifier) != 0 ? 2 : 1;
  }
  device.EndChain();
  return results;
}

namespace {
void AppendBe16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
}  // namespace

std::vector<uint8_t> DefineExtentData(uint8_t mask, uint8_t global, uint16_t begin_cyl,
                                      uint16_t begin_head, uint16_t end_cyl, uint16_t end_head) {
  std::vector<uint8_t> d = {mask, global, 0, 0, 0, 0, 0, 0};
  for (uint16_t x : {begin_cyl, begin_head, end_cyl, end_head}) AppendBe16(d, x);
  return d;
}

std::vector<uint8_t> Cchhr(uint16_t cyl, uint16_t head, uint8_t record) {
  std::vector<uint8_t> d;
  AppendBe16(d, cyl);
  AppendBe16(d, head);
  d.push_back(record);
  return d;
}

std::vector<uint8_t> Bbcchh(uint16_t cyl, uint16_t head) {
  std::vector<uint8_t> d = {0, 0};
  AppendBe16(d, cyl);
  AppendBe16(d, head);
  return d;
}

std::vector<uint8_t> LocateRecordData(uint8_t operation, uint8_t aux, uint8_t count,
                                      uint16_t cyl, uint16_t head, uint8_t record,
                                      uint8_t sector, uint16_t tlf) {
  std::vector<uint8_t> d = {operation, aux, 0, count};
  AppendBe16(d, cyl);
  AppendBe16(d, head);
  std::vector<uint8_t> search = Cchhr(cyl, head, record);
  d.insert(d.end(), search.begin(), search.end());
  d.push_back(sector);
  AppendBe16(d, tlf);
  return d;
}

std::vector<uint8_t> ReadFileBytes(const std::string& path, uint64_t offset, size_t length) {
  std::vector<uint8_t> out(length);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ADD_FAILURE() << "open " << path;
    return {};
  }
  ssize_t n = ::pread(fd, out.data(), length, static_cast<off_t>(offset));
  ::close(fd);
  if (n != static_cast<ssize_t>(length)) ADD_FAILURE() << "pread " << path;
  return out;
}

void WriteFileBytes(const std::string& path, uint64_t offset, const std::vector<uint8_t>& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    ADD_FAILURE() << "open " << path;
    return;
  }
  ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
  ::close(fd);
  if (n != static_cast<ssize_t>(bytes.size())) ADD_FAILURE() << "pwrite " << path;
}

std::vector<uint8_t> Ebcdic(const std::string& text) {
  std::vector<uint8_t> out;
  for (char c : text) {
    if (c >= '0' && c <= '9') out.push_back(static_cast<uint8_t>(0xF0 + (c - '0')));
    else if (c >= 'A' && c <= 'I') out.push_back(static_cast<uint8_t>(0xC1 + (c - 'A')));
    else if (c >= 'J' && c <= 'R') out.push_back(static_cast<uint8_t>(0xD1 + (c - 'J')));
    else if (c >= 'S' && c <= 'Z') out.push_back(static_cast<uint8_t>(0xE2 + (c - 'S')));
    else out.push_back(0x40);
  }
  return out;
}

}  // namespace ccwpass::sim::dasd::testing
