#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/bench.h"

namespace ccwpass::bench {

namespace {



std::string RateText(double r) {
  if (r < 0) return "-";
  if (r >= 1e6) return absl::StrFormat("%.2f M/s", r / 1e6);
  if (r >= 1e3) return absl::StrFormat("%.1f k/s", r / 1e3);
  return absl::StrFormat("%.1f /s", r);
}

std::string UsText(double us) {
  if (us < 0) return "-";
  if (us >= 10000) return absl::StrFormat("%.1f ms", us / 1000);
  if (us >= 100) return absl::StrFormat("%.0f µs", us);
  return absl::StrFormat("%.2f µs", us);
}

// Display width: UTF-8 continuation bytes take no column.
size_t Width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xc0) != 0x80;
  return w;
}

}  // namespace

void Report::Add(Row r) {
  if (tsv_) {
    std::printf("ROW\t%s\t%s\t%.6g\t%.6g\t%.6g\t%.6g\t%s\n", r.section.c_str(), r.what.c_str(), r.rate, r.p50_us,
                r.p99_us, r.p999_us, r.detail.c_str());
    std::fflush(stdout);
    return;
  }
  std::printf("  %-9s %-52s %10s  p50 %9s  p99 %9s  p99.9 %9s  %s\n", r.section.c_str(), r.what.c_str(),
              RateText(r.rate).c_str(), UsText(r.p50_us).c_str(), UsText(r.p99_us).c_str(), UsText(r.p999_us).c_str(),
              r.detail.c_str());
  std::fflush(stdout);
  rows_.push_back(std::move(r));
}

void Report::AddTsvLine(const std::string& line) {
  std::vector<std::string> f = absl::StrSplit(line, '\t');
  if (f.size() == 2 && f[0] == "NOTE") {
    Note(f[1]);
  } else if (f.size() == 8 && f[0] == "ROW") {
    Add(Row{f[1], f[2], std::stod(f[3]), std::stod(f[4]), std::stod(f[5]), std::stod(f[6]), f[7]});
  } else if (!line.empty()) {
    std::printf("  %s\n", line.c_str());
  }
}

void Report::Note(std::string line) {
  if (tsv_) {
    std::printf("NOTE\t%s\n", line.c_str());
    std::fflush(stdout);
    return;
  }
  std::printf("  note: %s\n", line.c_str());
  std::fflush(stdout);
  notes_.push_back(std::move(line));
}

std::string Report::MachineLine() {
  std::string model = "unknown CPU";
  std::ifstream cpu("/proc/cpuinfo");
  for (std::string line; std::getline(cpu, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = std::string(absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)));
      break;
    }
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return absl::StrFormat("%s, %d cores (nproc), %.0f GiB memory; %s", model, std::thread::hardware_concurrency(),
                         static_cast<double>(pages) * page / (1 << 30),
                         absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::Now(), absl::UTCTimeZone()));
}

std::string Report::LoadLine() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return absl::StrFormat("load average %s %s %s (1/5/15 min)", a, b, c);
}

std::string Report::Table() const {
  std::vector<std::vector<std::string>> cells = {{"section", "what", "rate", "p50", "p99", "p99.9", "compared / target"}};
  for (const Row& r : rows_) {
    cells.push_back({r.section, r.what, RateText(r.rate), UsText(r.p50_us), UsText(r.p99_us), UsText(r.p999_us), r.detail});
  }
  std::vector<size_t> w(cells[0].size(), 0);
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], Width(row[i]));
  }
  std::ostringstream out;
  for (const auto& row : cells) {
    std::string line = "| ";
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i] + std::string(w[i] - Width(row[i]), ' ') + (i + 1 < row.size() ? " | " : " |");
    }
    out << line << "\n";
    if (&row == &cells[0]) {
      std::string sep = "|";
      for (size_t i = 0; i < row.size(); ++i) sep += std::string(w[i] + 2, '-') + "|";
      out << sep << "\n";
    }
  }
  for (const std::string& n : notes_) out << "\n- " << n;
  if (!notes_.empty()) out << "\n";
  return out.str();
}

Row FromLoad(std::string section, std::string what, const ctl::LoadResult& r) {
  Row row{std::move(section), std::move(what), r.ops_per_sec, r.latency.p50_us, r.latency.p99_us, r.latency.p999_us, ""};
  if (r.failed > 0) row.detail = absl::StrFormat("%d of %d FAILED: %s", r.failed, r.ops, r.first_error);
  return row;
}

uint64_t ResidentBytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace ccwpass::bench
