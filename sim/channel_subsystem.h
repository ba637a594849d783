// The simulated channel subsystem: subchannels, channel paths, and the
// execution of channel programs against device models on a thread of its own.
//
// The simulated kernel (sim/vfio_ccw.h) uses it the way Linux's cio layer uses
// the machine: it issues the I/O instructions (MSCH, SSCH, HSCH, CSCH, STSCH,
// TSCH) and receives I/O interruptions through a handler. The start function
// runs asynchronously: SSCH queues it; the CSS thread, after the subchannel's
// configured latency, fetches the CCWs from storage (the kernel's translated
// program in its arena), drives the device, stores read data, and makes the
// subchannel status pending with the final SCSW; the handler then runs on the
// CSS thread.
//
// Modelled (SA22-7832 ch. 14 "I/O Instructions", ch. 15 "Basic I/O
// Functions", ch. 16 "I/O Interruptions"): format-0 and format-1 CCWs; command
// and data chaining; TIC (TIC to TIC and misaligned targets are program
// checks); direct and indirect data addressing (format-1 and format-2 IDAWs, 2K
// and 4K blocks); SLI and incorrect length; SKIP; PCI intermediate
// interruptions; the status-modifier skip; program check for invalid CCWs and
// addresses; final status with CPA and residual count; halt and clear; path
// selection from LPM & PIM & PAM & POM with the last-path-used mask; cc 3 when
// no path is left or the device is not operational; concurrent sense in the ECW.
// Not modelled: suspend/resume (SUSPEND is a program check unless the ORB
// allows it, and then still unsupported), MIDAWs, transport mode,
// channel-measurement data.
#ifndef CCWPASS_SIM_CHANNEL_SUBSYSTEM_H_
#define CCWPASS_SIM_CHANNEL_SUBSYSTEM_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "sim/device.h"
#include "translate/arch.h"
#include "translate/guest_memory.h"

namespace ccwpass::sim {

struct SubchannelSetup {
  uint8_t ssid = 0;
  uint16_t schno = 0;
  uint8_t type = 0;  // PMCW ST: 0 I/O
  bool dnv = true;   // device number valid
  uint16_t devno = 0;
  std::array<uint8_t, 8> chpids{};
  uint8_t pim = 0, pam = 0, pom = 0xff;
  bool qdio = false;
  bool concurrent_sense = false;
  uint32_t latency_us = 0;
  std::unique_ptr<Device> device;  // null: no device answers (cc 3 on SSCH)
};

// Counters of the whole channel subsystem (monotonic).
struct CssStats {
  uint64_t start_functions = 0;   // programs run to their end (or check)
  uint64_t ccws = 0;              // commands sent to devices
  uint64_t halts = 0;
  uint64_t clears = 0;
  uint64_t interruptions = 0;     // I/O interruptions made pending
};

class ChannelSubsystem {
 public:
  // Called on the CSS thread, without any CSS lock held, each time subchannel
  // `index` becomes status pending (I/O interruption). The handler usually
  // issues TSCH.
  using InterruptHandler = std::function<void(uint32_t index)>;

  ChannelSubsystem();
  ~ChannelSubsystem();  // stops the thread; queued start functions are dropped
  ChannelSubsystem(const ChannelSubsystem&) = delete;
  ChannelSubsystem& operator=(const ChannelSubsystem&) = delete;

  // Adds a subchannel (before or after Start()); returns its index.
  uint32_t Add(SubchannelSetup setup);
  size_t size() const;
  void SetInterruptHandler(InterruptHandler h);

  // ---- I/O instructions (SA22-7832 ch. 14). Each returns the condition code.
  // MODIFY SUBCHANNEL limited to the enable bit and the interruption parameter:
  // cc 0; 1 status pending; 2 a function is in progress; 3 not operational.
  int Msch(uint32_t index, bool enable, uint32_t intparm);
  // START SUBCHANNEL with a command-mode ORB whose program is in `storage`
  // (which must outlive the start function): cc 0 started; 1 status pending;
  // 2 a function is in progress; 3 no path in ORB LPM & PIM & PAM & POM is
  // usable, the device is not operational, or the subchannel is disabled.
  int Ssch(uint32_t index, const translate::Orb& orb, translate::GuestMemory* storage);
  // HALT SUBCHANNEL: cc 0 halt initiated; 1 status pending; 2 halt or clear in
  // progress; 3 not operational.
  int Hsch(uint32_t index);
  // CLEAR SUBCHANNEL: cc 0 (always initiated on an operational subchannel); 3.
  int Csch(uint32_t index);
  // STORE SUBCHANNEL: cc 0, or 3 when the index names no subchannel.
  int Stsch(uint32_t index, translate::Schib* out);
  // TEST SUBCHANNEL: cc 0 status was pending and is stored (and cleared);
  // 1 not status pending; 3 not operational.
  int Tsch(uint32_t index, translate::Irb* out);

  // Ends whatever the subchannel does and disables it, at once and without an
  // interruption: what Linux's cio_disable_subchannel() with
  // vfio_ccw_sch_quiesce() (cancel, halt, clear, wait, disable) achieves, as the
  // user of the device sees it (the interruptions it waits for are never
  // delivered to the user). A start function already executing finishes first.
  void Quiesce(uint32_t index);

  // ---- Channel paths. Configure a CHPID online/offline (the PAM bit of every
  // subchannel that has it installed follows), as SCLP channel-path configure
  // does. Channel paths start online.
  void SetPathOnline(uint8_t chpid, bool online);
  bool PathOnline(uint8_t chpid) const;

  // ---- Faults.
  // Device not operational: SSCH gives cc 3 (with all paths), the SCHIB's
  // PMCW keeps its device number; a function queued or under way is dropped
  // without an interruption (the subchannel is left idle).
  void SetDeviceOperational(uint32_t index, bool operational);
  // The next start function's first command ends with unit check; the next
  // SENSE (0x04) returns `sense` (the ECW also holds it when concurrent sense
  // is on).
  void InjectUnitCheck(uint32_t index, std::vector<uint8_t> sense);
  void SetLatency(uint32_t index, uint32_t latency_us);
  uint32_t Latency(uint32_t index) const;
  // A device slow to answer the halt signal: HSCH's interruption comes
  // `latency_us` after it (0: at once). CSCH is not delayed: the clear
  // function is performed by the channel subsystem whether or not the device
  // answers (SA22-7832 ch. 14 "CLEAR SUBCHANNEL", "HALT SUBCHANNEL").
  void SetHaltLatency(uint32_t index, uint32_t latency_us);
  // The device model (owned by the CSS), for tests and the host listing.
  Device* device(uint32_t index);

  CssStats stats() const;

 private:
  struct Subchannel;
  struct WorkItem {
    std::chrono::steady_clock::time_point due;
    uint32_t index;
    uint64_t gen;
    bool operator>(const WorkItem& o) const { return due > o.due; }
  };

  void Run();
  void Enqueue(WorkItem w);
  void Process(const WorkItem& w);
  // Executes the start function of `s` (its lock held); may release the lock to
  // deliver a PCI intermediate interruption. Returns false if the function was
  // cancelled meanwhile (halt/clear).
  bool ExecuteProgram(Subchannel& s, uint32_t index) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Slot mask of the installed CHPIDs whose channel path is configured online.
  uint8_t OnlineMask(const Subchannel& s) const;
  uint8_t UsablePaths(const Subchannel& s, uint8_t lpm) const;
  void Deliver(uint32_t index);

  mutable absl::Mutex subs_mu_;  // guards the vector itself (growth)
  std::deque<std::unique_ptr<Subchannel>> subs_ ABSL_GUARDED_BY(subs_mu_);
  Subchannel* Get(uint32_t index) const;

  std::array<std::atomic<bool>, 256> path_online_;
  absl::Mutex handler_mu_;  // held (shared) while the handler runs
  InterruptHandler handler_ ABSL_GUARDED_BY(handler_mu_);

  absl::Mutex q_mu_;
  std::priority_queue<WorkItem, std::vector<WorkItem>, std::greater<WorkItem>> timed_ ABSL_GUARDED_BY(q_mu_);
  std::vector<WorkItem> ready_ ABSL_GUARDED_BY(q_mu_);
  uint64_t timed_pushes_ ABSL_GUARDED_BY(q_mu_) = 0;
  std::atomic<size_t> n_ready_{0};  // ready_.size(), read without the lock while polling  // wakes the thread for an earlier deadline
  bool stop_ ABSL_GUARDED_BY(q_mu_) = false;
  std::thread thread_;

  std::atomic<uint64_t> n_start_{0}, n_ccw_{0}, n_halt_{0}, n_clear_{0}, n_irq_{0};
};

}  // namespace ccwpass::sim

#endif  // CCWPASS_SIM_CHANNEL_SUBSYSTEM_H_
