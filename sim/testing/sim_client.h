// A minimal user of the three seams for tests and benchmarks of the simulated
// host: attaches one subchannel the way driverctl + mdevctl + a VFIO program
// do (driver_override, unbind, bind to vfio_ccw, mdev create, container,
// group, device, DMA map of an arena, eventfds), then runs channel programs:
// translate into the arena → I/O region write → wait on the I/O eventfd →
// read the IRB → back-translate. No retries, no rollback: it is not the agent.
#ifndef CCWPASS_SIM_TESTING_SIM_CLIENT_H_
#define CCWPASS_SIM_TESTING_SIM_CLIENT_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sim/kernel.h"
#include "translate/arch.h"
#include "translate/arena.h"
#include "translate/builder.h"
#include "translate/translator.h"

namespace ccwpass::sim::testing {

inline constexpr uint64_t kArenaIova = 0x100000;  // where the client's arena is mapped

struct RunResult {
  translate::Irb irb;               // as read from the I/O region (CPA in arena space)
  translate::Completion completion;  // back-translated into the program's memory
};

class SimClient {
 public:
  // Attaches `schid`: every step's failure is an error naming the step and
  // the errno. `arena_bytes` of DMA memory are mapped at kArenaIova.
  static absl::StatusOr<std::unique_ptr<SimClient>> Attach(SimKernel& k, const std::string& schid,
                                                           const std::string& uuid,
                                                           uint64_t arena_bytes = 1 << 20);
  ~SimClient();  // closes the device, group and container (the mdev stays)

  int device_fd() const { return device_; }
  int container_fd() const { return container_; }
  int group() const { return group_; }
  // The eventfd of IRQ `index` (0 I/O, 1 CRW, 2 REQ), for an epoll set.
  int irq_fd(int index) const { return irq_[index]; }
  translate::DmaArena& arena() { return *arena_; }
  uint8_t* arena_memory() { return mem_; }

  // Writes ORB + SCSW (start function) to the I/O region: bytes written or -errno.
  ssize_t Start(const translate::Orb& orb);
  // Writes a raw I/O region image (124 bytes) at offset 0.
  ssize_t WriteIoRegion(const translate::CcwIoRegion& r);
  // Waits for IRQ `index` (0 I/O, 1 CRW, 2 REQ) to fire; false on timeout.
  bool WaitIrq(int index, absl::Duration timeout = absl::Seconds(5));
  // Reads the IRB from the I/O region.
  absl::StatusOr<translate::Irb> ReadIrb();
  // WaitIrq(0) + ReadIrb.
  absl::StatusOr<translate::Irb> WaitIrb(absl::Duration timeout = absl::Seconds(5));
  // HSCH / CSCH through the async region: bytes written or -errno.
  ssize_t AsyncCommand(uint32_t command);
  absl::StatusOr<translate::Schib> ReadSchib();
  // Pops one CRW (zero when none).
  absl::StatusOr<uint32_t> ReadCrw();

  // Translates `p` into the arena, starts it, waits for the final interrupt
  // and back-translates. Errors: translation errors; kFailedPrecondition with
  // the errno when the start is refused; kDeadlineExceeded.
  absl::StatusOr<RunResult> Run(const translate::BuiltProgram& p, absl::Duration timeout = absl::Seconds(5));

  uint64_t RegionOffset(uint32_t subtype) const;  // 0 for the I/O region

 private:
  SimClient() = default;
  SimKernel* k_ = nullptr;
  int container_ = -1, group_fd_ = -1, device_ = -1, group_ = -1;
  int irq_[3] = {-1, -1, -1};
  uint8_t* mem_ = nullptr;
  uint64_t mem_bytes_ = 0;
  std::unique_ptr<translate::DmaArena> arena_;
  uint64_t offsets_[4] = {0, 0, 0, 0};  // by subtype
};

}  // namespace ccwpass::sim::testing

#endif  // CCWPASS_SIM_TESTING_SIM_CLIENT_H_
