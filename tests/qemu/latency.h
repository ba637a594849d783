// Latency samples and their summary line, shared by the SENSE ID benchmarks of
// the QEMU end-to-end test (vfio_sense_id, agent_bench, sense_id_bench), so the
// three print the same shape that tests/qemu/e2e.sh parses:
//   latency <label> n=<N> min_us=<x> median_us=<x> p90_us=<x> max_us=<x> mean_us=<x>
#ifndef CCWPASS_TESTS_QEMU_LATENCY_H_
#define CCWPASS_TESTS_QEMU_LATENCY_H_

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

namespace ccwpass::qemu_e2e {

// CLOCK_MONOTONIC in microseconds.
inline double NowUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// Prints the summary line of `us` (microseconds, one per request; not empty).
inline void PrintLatency(const std::string& label, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  const auto at = [&](double q) { return us[static_cast<size_t>(q * (us.size() - 1))]; };
  const double mean = std::accumulate(us.begin(), us.end(), 0.0) / us.size();
  std::printf("latency %s n=%zu min_us=%.1f median_us=%.1f p90_us=%.1f max_us=%.1f mean_us=%.1f\n", label.c_str(),
              us.size(), us.front(), at(0.5), at(0.9), us.back(), mean);
  std::fflush(stdout);
}

}  // namespace ccwpass::qemu_e2e

#endif  // CCWPASS_TESTS_QEMU_LATENCY_H_
