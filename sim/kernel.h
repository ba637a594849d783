// The simulated kernel: the agent's three seams over a simulated host.
//
// SimKernel implements agent::SysfsOps (the css bus, ccw devices, vfio_ccw mdev
// types and mdevs, channel paths, IOMMU groups, with the attribute formats of
// ../shared/reference/sysfs-and-peers.md and of the real guest kernel,
// reference/qemu-s390x.md), device events (NewEventSource: the uevents the
// kernel sends for each change, in its order), and agent::VfioOps (containers,
// groups, and vfio-ccw devices in front of the simulated channel subsystem).
// Writes act as the kernel's store functions do, with its errnos:
//   driver_override     any string up to 4095 bytes; empty or "\n" clears it
//   drivers/X/bind      ENODEV unless the subchannel exists, has no driver,
//                       matches X (driver_override, subchannel type) and X's
//                       probe succeeds (vfio_ccw refuses QDIO subchannels)
//   drivers/X/unbind    ENODEV unless the subchannel is bound to X
//   drivers_probe       ENODEV for an unknown subchannel; otherwise binds the
//                       matching driver if there is one and returns success
//   mdev create         EINVAL bad UUID, EEXIST UUID in use, EUSERS no instance
//                       left (one per subchannel)
//   mdev remove         EINVAL unless a number; 0 does nothing
//   chp status/configure  vary on/off (OS-level) / configure (CRWs)
// Removing an mdev whose VFIO device is open signals the REQ IRQ and waits for
// the user to close the device, re-signalling every second, as
// vfio_unregister_group_dev() does.
//
// A subchannel bound to vfio_ccw whose device turns not operational is
// unregistered, as vfio_ccw's fsm_notoper() has it (the mdev's user is asked
// for the device first), and registered anew when the device is operational
// again; other subchannels stay, their device not operational.
//
// Difference from the real kernel, on purpose: the kernel's translation of
// channel programs is ccwpass' own translate library with the kernel's rules.
#ifndef CCWPASS_SIM_KERNEL_H_
#define CCWPASS_SIM_KERNEL_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/sysfs/sysfs_ops.h"
#include "agent/udev/device_events.h"
#include "agent/vfio/vfio_ops.h"
#include "sim/channel_subsystem.h"
#include "sim/host_config.h"
#include "sim/iommu.h"
#include "sim/vfio_ccw.h"

namespace ccwpass::sim {

struct SimKernelOptions {
  VfioCcwFeatures features;                   // which optional regions/IRQs the kernel has
  uint64_t kernel_arena_bytes = 256 * 1024;   // per open device, for translated programs
  absl::Duration request_interval = absl::Seconds(1);  // REQ re-signal period while waiting
  std::string sysfs_root_name = "/sys";       // how Describe() names the root
  // Kernel state that outlives the process using it (docs/simulator.md,
  // "Crash consistency"). When set, the bus state a real kernel keeps while
  // its user dies -- each subchannel's driver, driver_override and mdev, and
  // each channel path's vary/configure state -- is restored from this file at
  // Create (absent: boot state) and written to it (a temporary file renamed
  // over it) before every state-changing sysfs write returns, so a process
  // killed at any point leaves the file as the kernel would be. Open VFIO
  // devices are not kept: a dead process's file descriptors are closed.
  std::string state_file;
  // Test hook for crash tests: the process kills itself with SIGKILL at the
  // N-th crash point (1-based; 0: never). Crash points: before and after each
  // sysfs write (after: the change is in `state_file`), and after each I/O
  // region write that started a channel program or a halt/clear.
  uint64_t crash_at_point = 0;
};

class SimKernel final : public agent::SysfsOps, public agent::VfioOps {
 public:
  // Builds the host: channel paths, subchannels bound to io_subchannel with
  // their ccw devices, device models (opening DASD images). Errors: an image
  // that cannot be opened or is invalid (the message names the subchannel and
  // the file), a CHPID out of range.
  static absl::StatusOr<std::unique_ptr<SimKernel>> Create(const HostConfig& host,
                                                           SimKernelOptions options = {});
  ~SimKernel() override;

  // ---- Device events: a new monitor of `subsystems` ("css", "ccw", "mdev",
  // "vfio"; empty = all), seeing events from now on.
  std::unique_ptr<agent::DeviceEventSource> NewEventSource(std::vector<std::string> subsystems);

  // ---- SysfsOps.
  int Read(std::string_view path, std::string* value) override;
  int Write(std::string_view path, std::string_view value) override;
  int List(std::string_view dir, std::vector<std::string>* names) override;
  int ReadLink(std::string_view path, std::string* target) override;
  bool Exists(std::string_view path) override;
  std::string Describe(std::string_view path) const override;

  // ---- VfioOps.
  int OpenContainer() override;
  int GetApiVersion(int container) override;
  int CheckExtension(int container, uint32_t extension) override;
  int SetIommu(int container, uint32_t type) override;
  int MapDma(int container, uint64_t vaddr, uint64_t iova, uint64_t size, uint32_t flags) override;
  int64_t UnmapDma(int container, uint64_t iova, uint64_t size) override;
  int OpenGroup(int group) override;
  int GetGroupStatus(int group_fd, uint32_t* flags) override;
  int SetContainer(int group_fd, int container) override;
  int UnsetContainer(int group_fd) override;
  int GetDeviceFd(int group_fd, std::string_view name) override;
  int GetDeviceInfo(int device_fd, vfio_device_info* info) override;
  int GetRegionInfo(int device_fd, uint32_t index, std::vector<uint8_t>* info) override;
  int GetIrqInfo(int device_fd, uint32_t index, vfio_irq_info* info) override;
  int SetIrqEventfd(int device_fd, uint32_t index, int eventfd) override;
  int Reset(int device_fd) override;
  ssize_t Pread(int device_fd, void* buf, size_t len, uint64_t offset) override;
  ssize_t Pwrite(int device_fd, const void* buf, size_t len, uint64_t offset) override;
  int Close(int fd) override;

  // ---- Fault injection (tests, the host description, ccw-agent --sim).
  // Errors: kNotFound for an unknown schid or CHPID.
  // Vary a channel path off/on (Linux `chchp -v`): the kernel's path masks
  // change; I/O running on the path is halted. No CRW.
  absl::Status VaryPath(uint8_t chpid, bool on);
  // Configure a channel path offline/online (SCLP): PAM bits change and each
  // open vfio-ccw device with the path queues CRW(RSC 4, ERC 6 or 2, CHPID).
  absl::Status ConfigurePath(uint8_t chpid, bool online);
  // The device behind a subchannel turns not operational (SSCH cc 3) or
  // operational again. Not operational while bound to vfio_ccw: the vfio-ccw
  // device goes to NOT_OPER (a program in flight is dropped) and the
  // subchannel is unregistered, as hot-unplug does (RemoveSubchannel: the
  // mdev's user is asked for the device and awaited, at most `wait`), with its
  // events; operational again, it is registered anew: same schid, devno,
  // device and CHPIDs, on io_subchannel, no driver_override, no mdev, with
  // "add" events (css_evaluate_new_subchannel). Other subchannels stay, their
  // ccw device's availability "no device". kNotFound: an unknown schid (an
  // unregistered one counts as known here).
  absl::Status SetDeviceOperational(std::string_view schid, bool operational,
                                    absl::Duration wait = absl::Seconds(30));
  // Hot-unplug: the device goes away; an open vfio-ccw device gets the REQ IRQ
  // and the removal waits for it to be closed (at most `wait`, then the device
  // is closed by force); then the mdev, the driver binding and the subchannel
  // disappear, with their events. A subchannel unregistered because its
  // device is not operational no longer comes back.
  absl::Status RemoveSubchannel(std::string_view schid, absl::Duration wait = absl::Seconds(30));
  absl::Status InjectUnitCheck(std::string_view schid, std::vector<uint8_t> sense);
  absl::Status SetLatency(std::string_view schid, uint32_t latency_us);
  // The device answers HSCH after `latency_us` (ChannelSubsystem::SetHaltLatency):
  // a halt that does not end the program within the agent's halt wait.
  absl::Status SetHaltLatency(std::string_view schid, uint32_t latency_us);

  // Writes the persistent bus state (see SimKernelOptions::state_file) to
  // `path` now. Errors: kInternal naming the file and errno.
  absl::Status SaveState(const std::string& path);
  // The crash points passed so far (SimKernelOptions::crash_at_point).
  uint64_t crash_points() const { return crash_points_.load(); }

  ChannelSubsystem& css() { return *css_; }
  // The device model behind a subchannel, or null.
  Device* DeviceOf(std::string_view schid);
  // The simulated vfio-ccw device of a subchannel's mdev, or null.
  std::shared_ptr<VfioCcwDevice> VfioDeviceOf(std::string_view schid);

 private:
  struct Sch;
  struct Mdev;
  struct Container;
  struct Group;
  struct FdEntry;
  class EventSource;
  struct Node;

  explicit SimKernel(SimKernelOptions options);
  void OnInterrupt(uint32_t index);
  int WriteLocked(std::string_view path, std::string_view value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The persistent bus state as text, and its restoration (at Create).
  std::string StateTextLocked() ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status RestoreStateLocked(const std::string& text) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveStateLocked(const std::string& path) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Counts a crash point; SIGKILLs the process at options_.crash_at_point.
  void CrashPoint(std::string_view where);

  // Event emission (mu_ held so that events keep the kernel's order).
  void Emit(agent::DeviceAction action, std::string_view subsystem, std::string devpath,
            std::string_view driver) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The bus model.
  Sch* FindSch(std::string_view name) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The fault setters' common part: `f(css index)` with mu_ held. Errors:
  // kNotFound "no subchannel SCHID".
  absl::Status WithCssIndex(std::string_view schid, absl::FunctionRef<void(uint32_t)> f);
  Sch* FindSchByDevBusid(std::string_view busid) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  Sch* FindSchByMdev(std::string_view uuid) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  Sch* FindSchByGroup(int group) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  int Bind(Sch& s, std::string_view driver) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int Probe(Sch& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unbind(Sch& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The ccw device of a subchannel io_subchannel just took, with its events.
  void AddCcwDevice(Sch& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // css_sch_device_unregister(): the driver lets go (an open mdev's user is
  // asked for the device and awaited, at most `wait`), the subchannel leaves
  // the bus. Register: a new registration of an unregistered subchannel.
  void Unregister(Sch& s, absl::Duration wait) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Register(Sch& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int CreateMdev(Sch& s, std::string_view uuid_text) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveMdev(Sch& s, absl::Duration wait) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int WriteChp(uint8_t chpid, std::string_view attr, std::string_view value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ChpEvent(uint8_t chpid, int kind) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Path resolution: a path to a node, following the links sysfs has.
  Node Resolve(std::string_view path) ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // File descriptors.
  int NewFd(std::shared_ptr<FdEntry> e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<FdEntry> Fd(int fd) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  std::shared_ptr<VfioCcwDevice> DeviceFd(int fd);

  const SimKernelOptions options_;
  std::unique_ptr<ChannelSubsystem> css_;
  std::atomic<uint64_t> crash_points_{0};

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Sch>> schs_ ABSL_GUARDED_BY(mu_);   // by CSS index
  absl::flat_hash_map<std::string, Sch*> by_name_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Sch*> by_busid_ ABSL_GUARDED_BY(mu_);  // dev_busid -> subchannel
  absl::flat_hash_map<std::string, Sch*> by_mdev_ ABSL_GUARDED_BY(mu_);   // mdev UUID -> subchannel
  absl::flat_hash_map<int, Sch*> by_group_ ABSL_GUARDED_BY(mu_);          // IOMMU group -> subchannel
  // Unregistered because their device is not operational: registered again
  // when it is (SetDeviceOperational).
  absl::flat_hash_map<std::string, Sch*> unregistered_ ABSL_GUARDED_BY(mu_);
  std::map<uint8_t, ChannelPathConfig> chps_ ABSL_GUARDED_BY(mu_);
  std::map<uint8_t, bool> vary_ ABSL_GUARDED_BY(mu_);  // true: varied off (chp status "offline")
  std::set<int> groups_in_use_ ABSL_GUARDED_BY(mu_);
  // Every number below groups_next_ is in use or in groups_freed_.
  std::set<int> groups_freed_ ABSL_GUARDED_BY(mu_);
  int groups_next_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<int, std::shared_ptr<FdEntry>> fds_ ABSL_GUARDED_BY(mu_);
  int next_fd_ ABSL_GUARDED_BY(mu_) = 1 << 20;
  uint64_t seqnum_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Mutex ev_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::vector<EventSource*> sources_ ABSL_GUARDED_BY(ev_mu_);

  // Interrupt routing, read on the CSS thread without mu_.
  absl::Mutex irq_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::vector<std::shared_ptr<VfioCcwDevice>> irq_route_ ABSL_GUARDED_BY(irq_mu_);
};

}  // namespace ccwpass::sim

#endif  // CCWPASS_SIM_KERNEL_H_
