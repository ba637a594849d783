#include "sim/kernel.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include <algorithm>
#include <cerrno>
#include <deque>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "agent/absl_view.h"
#include "agent/busid.h"
#include "sim/console.h"
#include "nlohmann/json.hpp"
#include "sim/dasd/eckd3390.h"
#include "spdlog/spdlog.h"

namespace ccwpass::sim {

using agent::DeviceAction;
using agent::DeviceEvent;

namespace {

constexpr std::string_view kIoSubchannel = "io_subchannel";
constexpr std::string_view kVfioCcw = "vfio_ccw";
constexpr std::string_view kMdevDriver = "vfio_ccw_mdev";
constexpr std::string_view kMdevTypeName = "vfio_ccw-io";
constexpr size_t kMaxOverride = 4095;      // PAGE_SIZE - 1
constexpr size_t kEventQueueLimit = 65536;  // a monitor's receive buffer, in events

// "on"/"1\n"...: sysfs store input without one trailing newline.
std::string_view Chomp(std::string_view v) {
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  return v;
}

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isxdigit(c); });
}

// guid_parse(): 8-4-4-4-12 hex digits in the first 36 bytes; lower-cased as
// the kernel prints it (%pUl).
bool ParseUuid(std::string_view text, std::string* out) {
  if (text.size() < 36) return false;
  text = text.substr(0, 36);
  for (size_t i = 0; i < 36; ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !absl::ascii_isxdigit(text[i])) return false;
  }
  *out = absl::AsciiStrToLower(AbslView(text));
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------
// Model.

struct SimKernel::Container {
  Iommu iommu;
  bool iommu_set = false;
  std::set<int> groups;
  std::vector<std::weak_ptr<VfioCcwDevice>> devices;
};

struct SimKernel::Group {
  int number = 0;
  bool open = false;
  bool gone = false;
  std::shared_ptr<Container> container;
  int device_fd = -1;
};

struct SimKernel::Mdev {
  std::string uuid;
  int group = 0;
  std::shared_ptr<VfioCcwDevice> dev;
  std::shared_ptr<Group> grp;
};

struct SimKernel::Sch {
  uint32_t index = 0;
  std::string name;  // 0.0.0100
  SubchannelConfig cfg;
  bool present = true;
  std::string driver;
  std::optional<std::string> override_;
  std::string busid;  // ccw device name, "" without a device number
  bool has_device = false;
  DeviceIdentity ident;
  std::string ccw_driver;
  bool ccw_online = false;
  bool cmb_enable = false;
  bool operational = true;
  bool busy = false;
  std::unique_ptr<Mdev> mdev;

  // QDIO subchannels stand for an OSA (1731/01): nothing answers I/O, but the
  // ccw device exists as it would under qeth.
  bool has_ccwdev() const { return driver == kIoSubchannel && !busid.empty() && (has_device || cfg.qdio); }
  uint8_t MaskOf(uint8_t chpid) const {
    uint8_t m = 0;
    for (int i = 0; i < 8; ++i) {
      if ((cfg.pim & (0x80 >> i)) && cfg.chpids[i] == chpid) m |= 0x80 >> i;
    }
    return m;
  }
};

struct SimKernel::FdEntry {
  enum Kind { kContainer, kGroup, kDevice } kind = kContainer;
  std::shared_ptr<Container> container;
  std::shared_ptr<Group> group;
  std::shared_ptr<VfioCcwDevice> dev;
};

// A device-event monitor: a bounded queue and an eventfd that is readable
// while the queue is not empty.
class SimKernel::EventSource final : public agent::DeviceEventSource {
 public:
  EventSource(SimKernel* k, std::vector<std::string> subsystems)
      : k_(k), subsystems_(std::move(subsystems)), fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~EventSource() override {
    {
      absl::MutexLock l(&k_->ev_mu_);
      auto& v = k_->sources_;
      v.erase(std::remove(v.begin(), v.end(), this), v.end());
    }
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const override { return fd_; }
  int Receive(std::vector<DeviceEvent>* out, size_t max) override {
    absl::MutexLock l(&mu_);
    if (overflow_) {
      overflow_ = false;
      return ENOBUFS;
    }
    while (max-- > 0 && !q_.empty()) {
      out->push_back(std::move(q_.front()));
      q_.pop_front();
    }
    if (q_.empty()) {
      uint64_t v;
      ssize_t n = ::read(fd_, &v, sizeof v);
      (void)n;
    }
    return 0;
  }
  void Push(const DeviceEvent& e) {
    if (!subsystems_.empty() &&
        std::find(subsystems_.begin(), subsystems_.end(), e.subsystem) == subsystems_.end()) {
      return;
    }
    absl::MutexLock l(&mu_);
    if (q_.size() >= kEventQueueLimit) {
      overflow_ = true;
      q_.clear();
    }
    const bool was_empty = q_.empty();
    q_.push_back(e);
    if (was_empty) {
      const uint64_t one = 1;
      ssize_t n = ::write(fd_, &one, sizeof one);
      (void)n;
    }
  }

 private:
  SimKernel* k_;
  const std::vector<std::string> subsystems_;
  const int fd_;
  absl::Mutex mu_;
  std::deque<DeviceEvent> q_ ABSL_GUARDED_BY(mu_);
  bool overflow_ ABSL_GUARDED_BY(mu_) = false;
};

// ---------------------------------------------------------------------------
// Construction.

SimKernel::SimKernel(SimKernelOptions options)
    : options_(std::move(options)), css_(std::make_unique<ChannelSubsystem>()) {}

SimKernel::~SimKernel() {
  css_->SetInterruptHandler(nullptr);
  {
    // Devices still open (a user that outlives the kernel) are closed while
    // the channel subsystem they quiesce still exists.
    absl::MutexLock l(&mu_);
    for (auto& s : schs_) {
      if (s->mdev && s->mdev->dev->is_open()) s->mdev->dev->Close();
    }
  }
  css_.reset();  // stops the CSS thread before devices go
}

absl::StatusOr<std::unique_ptr<SimKernel>> SimKernel::Create(const HostConfig& host, SimKernelOptions options) {
  std::unique_ptr<SimKernel> k(new SimKernel(std::move(options)));
  absl::MutexLock l(&k->mu_);
  for (const ChannelPathConfig& c : host.channel_paths) {
    k->chps_[c.chpid] = c;
    k->css_->SetPathOnline(c.chpid, c.online);
  }
  k->schs_.reserve(host.subchannels.size());
  k->by_name_.reserve(host.subchannels.size());
  for (const SubchannelConfig& c : host.subchannels) {
    auto s = std::make_unique<Sch>();
    s->name = FormatSchid(c.ssid, c.schno);
    s->cfg = c;
    s->cfg.device.input.clear();
    if (c.has_devno) s->busid = FormatDevBusid(c.ssid, c.devno);

    std::unique_ptr<Device> dev;
    switch (c.device.kind) {
      case DeviceKind::kNone:
        break;
      case DeviceKind::kConsole:
        dev = std::make_unique<Console>(c.device.input);
        s->ccw_driver = "3215";
        break;
      case DeviceKind::kDasd3390: {
        absl::StatusOr<std::unique_ptr<dasd::CkdImage>> img =
            c.device.image.empty()
                ? dasd::CkdImage::CreateInMemory(c.device.cylinders ? c.device.cylinders : kDefaultCylinders)
                : dasd::CkdImage::Open(c.device.image, c.device.read_only);
        if (!img.ok()) {
          return absl::Status(img.status().code(),
                              absl::StrCat("subchannel ", s->name, ": ", img.status().message()));
        }
        dasd::Eckd3390Options o;
        o.devno = c.devno;
        o.read_only = c.device.read_only;
        switch (c.device.cu_model) {
          case 0xC2: o.control_unit = dasd::ControlUnit3990::k3990; break;
          case 0xEC: o.control_unit = dasd::ControlUnit3990::k3990_3; break;
          default: o.control_unit = dasd::ControlUnit3990::k3990_6; break;
        }
        if (!c.device.model.empty()) {
          std::optional<uint32_t> cyl = Dasd3390ModelCylinders(c.device.model);
          if (cyl) {
            absl::StatusOr<dasd::Model3390> m = dasd::ModelForCylinders(*cyl);
            if (m.ok()) o.model = *m;
          }
        }
        absl::StatusOr<std::unique_ptr<dasd::Eckd3390>> d = dasd::Eckd3390::Create(std::move(*img), o);
        if (!d.ok()) {
          return absl::Status(d.status().code(),
                              absl::StrCat("subchannel ", s->name, ": ", d.status().message()));
        }
        dev = std::move(*d);
        s->ccw_driver = "dasd-eckd";
        break;
      }
    }
    s->has_device = dev != nullptr;
    if (dev) s->ident = dev->identity();
    if (c.qdio && !dev) {
      s->ident = DeviceIdentity{.cu_type = 0x1731, .cu_model = 0x01, .dev_type = 0x1732, .dev_model = 0x01};
      s->ccw_driver = "qeth";
    }

    SubchannelSetup setup;
    setup.ssid = c.ssid;
    setup.schno = c.schno;
    setup.type = c.type;
    setup.dnv = c.has_devno;
    setup.devno = c.devno;
    setup.chpids = c.chpids;
    setup.pim = c.pim;
    setup.pam = c.pam;
    setup.pom = c.pom;
    setup.qdio = c.qdio;
    setup.concurrent_sense = c.concurrent_sense;
    setup.latency_us = c.latency_us;
    setup.device = std::move(dev);
    s->index = k->css_->Add(std::move(setup));
    if (c.faults.not_operational) {
      k->css_->SetDeviceOperational(s->index, false);
      s->operational = false;
    }
    if (!c.faults.unit_check_sense.empty()) k->css_->InjectUnitCheck(s->index, c.faults.unit_check_sense);
    // At boot every I/O subchannel is bound to io_subchannel.
    if (c.type == 0) s->driver = std::string(kIoSubchannel);
    k->by_name_[s->name] = s.get();
    if (!s->busid.empty()) k->by_busid_[s->busid] = s.get();
    k->schs_.push_back(std::move(s));
  }
  {
    absl::MutexLock il(&k->irq_mu_);
    k->irq_route_.resize(k->schs_.size());
  }
  SimKernel* raw = k.get();
  k->css_->SetInterruptHandler([raw](uint32_t index) { raw->OnInterrupt(index); });
  if (!k->options_.state_file.empty()) {
    std::ifstream in(k->options_.state_file);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      if (absl::Status st = k->RestoreStateLocked(ss.str()); !st.ok()) return st;
    }
  }
  return k;
}

// ---------------------------------------------------------------------------
// Persistent bus state (SimKernelOptions::state_file).

std::string SimKernel::StateTextLocked() {
  nlohmann::json schs = nlohmann::json::array();
  for (const auto& s : schs_) {
    if (!s->present) continue;
    nlohmann::json j = {{"schid", s->name}, {"driver", s->driver}};
    if (s->override_) j["driver_override"] = *s->override_;
    if (s->mdev) j["mdev"] = s->mdev->uuid;
    schs.push_back(std::move(j));
  }
  nlohmann::json chps = nlohmann::json::array();
  for (const auto& [chpid, c] : chps_) {
    auto v = vary_.find(chpid);
    chps.push_back({{"chpid", chpid}, {"online", c.online}, {"varied_off", v != vary_.end() && v->second}});
  }
  return nlohmann::json({{"version", 1}, {"subchannels", schs}, {"channel_paths", chps}}).dump(1) + "\n";
}

absl::Status SimKernel::RestoreStateLocked(const std::string& text) {
  const std::string& where = options_.state_file;
  auto bad = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat("simulated kernel state ", where, ": ", why));
  };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not valid JSON");
  if (j.value("version", 0) != 1) return bad("no \"version\": 1");
  if (!j.contains("subchannels") || !j["subchannels"].is_array()) return bad("no \"subchannels\" array");
  for (const nlohmann::json& e : j["subchannels"]) {
    if (!e.is_object() || !e.contains("schid") || !e["schid"].is_string()) return bad("a subchannel without \"schid\"");
    Sch* s = FindSch(e["schid"].get<std::string>());
    if (!s) continue;  // no longer in the host description
    const std::string driver = e.value("driver", "");
    if (driver != "" && driver != kIoSubchannel && driver != kVfioCcw) return bad("unknown driver " + driver);
    if (e.contains("driver_override") && e["driver_override"].is_string()) {
      s->override_ = e["driver_override"].get<std::string>();
    } else {
      s->override_.reset();
    }
    if (driver != s->driver) {
      Unbind(*s);
      if (!driver.empty() && Bind(*s, driver) != 0) return bad(absl::StrCat(s->name, ": cannot bind ", driver));
    }
    if (e.contains("mdev") && e["mdev"].is_string()) {
      if (CreateMdev(*s, e["mdev"].get<std::string>()) != 0) return bad(absl::StrCat(s->name, ": cannot create its mdev"));
    }
  }
  if (j.contains("channel_paths") && j["channel_paths"].is_array()) {
    for (const nlohmann::json& e : j["channel_paths"]) {
      if (!e.is_object() || !e.contains("chpid") || !e["chpid"].is_number_unsigned()) continue;
      const auto chpid = e["chpid"].get<unsigned>();
      auto it = chps_.find(static_cast<uint8_t>(chpid));
      if (chpid > 0xff || it == chps_.end()) continue;
      it->second.online = e.value("online", true);
      css_->SetPathOnline(it->first, it->second.online);
      vary_[it->first] = e.value("varied_off", false);
    }
  }
  return absl::OkStatus();
}

absl::Status SimKernel::SaveStateLocked(const std::string& path) {
  const std::string text = StateTextLocked();
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("create ", tmp, ": ", std::strerror(errno)));
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("write ", tmp, ": ", std::strerror(err)));
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  // No fsync: the file stands for kernel memory, which survives the death of
  // a process (SIGKILL), not of the machine.
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("rename over ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status SimKernel::SaveState(const std::string& path) {
  absl::ReaderMutexLock l(&mu_);
  return SaveStateLocked(path);
}

void SimKernel::CrashPoint(std::string_view where) {
  const uint64_t n = ++crash_points_;
  if (options_.crash_at_point == 0 || n != options_.crash_at_point) return;
  const std::string msg = absl::StrCat("sim kernel: crash point ", n, " (", AbslView(where), "): SIGKILL\n");
  ssize_t w = ::write(2, msg.data(), msg.size());
  (void)w;
  ::kill(::getpid(), SIGKILL);
}

// ---------------------------------------------------------------------------
// Events.

std::unique_ptr<agent::DeviceEventSource> SimKernel::NewEventSource(std::vector<std::string> subsystems) {
  auto src = std::make_unique<EventSource>(this, std::move(subsystems));
  absl::MutexLock l(&ev_mu_);
  sources_.push_back(src.get());
  return src;
}

void SimKernel::Emit(DeviceAction action, std::string_view subsystem, std::string devpath,
                     std::string_view driver) {
  DeviceEvent e;
  e.action = action;
  e.subsystem = std::string(subsystem);
  e.sysname = devpath.substr(devpath.rfind('/') + 1);
  e.devpath = std::move(devpath);
  e.driver = std::string(driver);
  e.seqnum = ++seqnum_;
  absl::MutexLock l(&ev_mu_);
  for (EventSource* s : sources_) s->Push(e);
}

// ---------------------------------------------------------------------------
// Interrupts.

void SimKernel::OnInterrupt(uint32_t index) {
  std::shared_ptr<VfioCcwDevice> dev;
  {
    absl::ReaderMutexLock l(&irq_mu_);
    if (index < irq_route_.size()) dev = irq_route_[index];
  }
  if (dev) {
    dev->OnInterrupt();
  } else {
    translate::Irb irb;  // io_subchannel's handler: nothing else to do here
    css_->Tsch(index, &irb);
  }
}

// ---------------------------------------------------------------------------
// Bus model.

SimKernel::Sch* SimKernel::FindSch(std::string_view name) {
  auto it = by_name_.find(AbslView(name));
  return it == by_name_.end() ? nullptr : it->second;
}

// Indexed lookups: at 65,536 subchannels a scan of all of them per sysfs
// path or VFIO open made attaching cost O(n) each.
SimKernel::Sch* SimKernel::FindSchByDevBusid(std::string_view busid) {
  // dev_busid 0.<ssid>.<devno>: devnos are unique within a subchannel set.
  auto it = by_busid_.find(AbslView(busid));
  return it != by_busid_.end() && it->second->present ? it->second : nullptr;
}

SimKernel::Sch* SimKernel::FindSchByMdev(std::string_view uuid) {
  auto it = by_mdev_.find(AbslView(uuid));
  if (it == by_mdev_.end()) return nullptr;
  Sch* s = it->second;
  return s->present && s->mdev && s->mdev->uuid == uuid ? s : nullptr;
}

SimKernel::Sch* SimKernel::FindSchByGroup(int group) {
  auto it = by_group_.find(group);
  if (it == by_group_.end()) return nullptr;
  Sch* s = it->second;
  return s->present && s->mdev && s->mdev->group == group ? s : nullptr;
}

int SimKernel::Bind(Sch& s, std::string_view driver) {
  if (!s.driver.empty()) return ENODEV;
  if (s.override_ && *s.override_ != driver) return ENODEV;  // css_bus_match
  if (driver != kIoSubchannel && driver != kVfioCcw) return ENODEV;
  if (s.cfg.type != 0) return ENODEV;  // both drivers take I/O subchannels only
  if (driver == kVfioCcw && s.cfg.qdio) {
    spdlog::debug("sim kernel: vfio_ccw {}: QDIO subchannels are not supported", s.name);
    return ENODEV;  // vfio_ccw_sch_probe fails; bind_store turns that into ENODEV
  }
  s.driver = std::string(driver);
  Emit(DeviceAction::kBind, "css", absl::StrCat("devices/css0/", s.name), driver);
  AddCcwDevice(s);
  return 0;
}

void SimKernel::AddCcwDevice(Sch& s) {
  if (!s.has_ccwdev()) return;
  const std::string ccwpath = absl::StrCat("devices/css0/", s.name, "/", s.busid);
  Emit(DeviceAction::kAdd, "ccw", ccwpath, "");
  Emit(DeviceAction::kBind, "ccw", ccwpath, s.ccw_driver);
}

int SimKernel::Probe(Sch& s) {
  if (!s.driver.empty()) return 0;
  if (s.override_) return Bind(s, *s.override_);
  return Bind(s, kIoSubchannel);
}

void SimKernel::Unbind(Sch& s) {
  if (s.driver.empty()) return;
  const std::string devpath = absl::StrCat("devices/css0/", s.name);
  if (s.driver == kVfioCcw) {
    if (s.mdev) RemoveMdev(s, absl::Seconds(30));
  } else if (s.has_ccwdev()) {
    const std::string ccwpath = absl::StrCat(devpath, "/", s.busid);
    Emit(DeviceAction::kUnbind, "ccw", ccwpath, "");
    Emit(DeviceAction::kRemove, "ccw", ccwpath, "");
    s.ccw_online = false;
  }
  s.driver.clear();
  Emit(DeviceAction::kUnbind, "css", devpath, "");
}

int SimKernel::CreateMdev(Sch& s, std::string_view uuid_text) {
  std::string uuid;
  if (!ParseUuid(uuid_text, &uuid)) return EINVAL;
  if (FindSchByMdev(uuid)) return EEXIST;
  if (s.mdev) return EUSERS;  // available_instances is 0
  // The lowest free group number (as before), without walking every group in use.
  int group;
  if (!groups_freed_.empty()) {
    group = *groups_freed_.begin();
    groups_freed_.erase(groups_freed_.begin());
  } else {
    group = groups_next_++;
  }
  groups_in_use_.insert(group);
  auto m = std::make_unique<Mdev>();
  m->uuid = uuid;
  m->group = group;
  m->dev = std::make_shared<VfioCcwDevice>(css_.get(), s.index, s.name, options_.features,
                                           options_.kernel_arena_bytes);
  if (!s.operational) m->dev->NotOperational();
  m->grp = std::make_shared<Group>();
  m->grp->number = group;
  {
    absl::MutexLock il(&irq_mu_);
    irq_route_[s.index] = m->dev;
  }
  s.mdev = std::move(m);
  by_mdev_[uuid] = &s;
  by_group_[group] = &s;
  const std::string path = absl::StrCat("devices/css0/", s.name, "/", uuid);
  Emit(DeviceAction::kAdd, "mdev", path, "");
  Emit(DeviceAction::kBind, "mdev", path, kMdevDriver);
  Emit(DeviceAction::kAdd, "vfio", absl::StrCat("devices/virtual/vfio/", group), "");
  return 0;
}

void SimKernel::RemoveMdev(Sch& s, absl::Duration wait) {
  Mdev& m = *s.mdev;
  std::shared_ptr<VfioCcwDevice> dev = m.dev;
  if (dev->is_open()) {
    // vfio_unregister_group_dev(): ask the user to release the device and wait.
    const absl::Time deadline = absl::Now() + wait;
    auto closed = [&dev]() { return !dev->is_open(); };
    while (dev->is_open() && absl::Now() < deadline) {
      if (!dev->Request()) {
        spdlog::info("sim kernel: {}: device {} is in use and has no REQ IRQ; waiting", s.name, m.uuid);
      }
      mu_.AwaitWithTimeout(absl::Condition(&closed), std::min(options_.request_interval, deadline - absl::Now()));
    }
    if (dev->is_open()) {
      spdlog::warn("sim kernel: {}: device {} still open after {}; closing it by force", s.name, m.uuid,
                   absl::FormatDuration(wait));
      for (auto& [fd, e] : fds_) {
        if (e->dev == dev) e->dev = nullptr;
      }
      dev->Close();
    }
  }
  {
    absl::MutexLock il(&irq_mu_);
    irq_route_[s.index] = nullptr;
  }
  m.grp->gone = true;
  if (m.grp->container) m.grp->container->groups.erase(m.group);
  const std::string path = absl::StrCat("devices/css0/", s.name, "/", m.uuid);
  Emit(DeviceAction::kUnbind, "mdev", path, "");
  Emit(DeviceAction::kRemove, "mdev", path, "");
  Emit(DeviceAction::kRemove, "vfio", absl::StrCat("devices/virtual/vfio/", m.group), "");
  groups_in_use_.erase(m.group);
  groups_freed_.insert(m.group);
  by_mdev_.erase(m.uuid);
  by_group_.erase(m.group);
  s.mdev.reset();
}

void SimKernel::ChpEvent(uint8_t chpid, int kind) {
  for (auto& s : schs_) {
    if (!s->present) continue;
    const uint8_t mask = s->MaskOf(chpid);
    if (mask && s->mdev) s->mdev->dev->ChpEvent(static_cast<VfioCcwDevice::ChpEventKind>(kind), mask, chpid);
  }
}

int SimKernel::WriteChp(uint8_t chpid, std::string_view attr, std::string_view value) {
  ChannelPathConfig& c = chps_[chpid];
  value = Chomp(value);
  if (attr == "status") {
    bool on;
    if (value == "on" || value == "online") {
      on = true;
    } else if (value == "off" || value == "offline") {
      on = false;
    } else {
      return EINVAL;
    }
    vary_[chpid] = !on;
    ChpEvent(chpid, static_cast<int>(on ? VfioCcwDevice::ChpEventKind::kVaryOn
                                        : VfioCcwDevice::ChpEventKind::kVaryOff));
    return 0;
  }
  if (attr == "configure") {
    bool on;
    if (value == "1") {
      on = true;
    } else if (value == "0") {
      on = false;
    } else {
      return EINVAL;
    }
    if (c.online == on) return 0;
    c.online = on;
    css_->SetPathOnline(chpid, on);
    ChpEvent(chpid, static_cast<int>(on ? VfioCcwDevice::ChpEventKind::kOnline
                                        : VfioCcwDevice::ChpEventKind::kOffline));
    return 0;
  }
  return EACCES;
}

// ---------------------------------------------------------------------------
// Path resolution.

struct SimKernel::Node {
  enum Kind { kNone, kDir, kAttr, kLink } kind = kNone;
  enum Place {
    kRoot, kBus, kBusCss, kBusCssDevices, kBusCssDrivers, kCssDriver, kBusCcw, kBusCcwDevices, kBusMdev,
    kBusMdevDevices, kDevices, kCss0, kSch, kCcwDev, kMdevTypes, kMdevType, kMdevTypeDevices, kMdev, kChp,
    kKernel, kIommuGroups, kIommuGroup, kIommuGroupDevices, kOpaque,
  } place = kRoot;  // for kAttr: the directory it is in
  Sch* sch = nullptr;
  uint8_t chpid = 0;
  int group = -1;
  std::string name;    // attribute name, or driver name for kCssDriver
  std::string target;  // link target
  bool readable = true;
  bool writable = false;
  std::unique_ptr<Node> follow;  // for a link: the node it designates (null: opaque)
};

SimKernel::Node SimKernel::Resolve(std::string_view path) {
  Node cur;
  cur.kind = Node::kDir;
  cur.place = Node::kRoot;
  std::vector<absl::string_view> absl_parts = absl::StrSplit(AbslView(path), '/', absl::SkipEmpty());
  std::vector<std::string_view> parts;
  parts.reserve(absl_parts.size());
  for (absl::string_view a : absl_parts) parts.emplace_back(a.data(), a.size());
  auto dir = [](Node::Place p, Sch* s = nullptr) {
    Node n;
    n.kind = Node::kDir;
    n.place = p;
    n.sch = s;
    return n;
  };
  auto attr = [](Node::Place p, Sch* s, std::string_view name, bool r, bool w) {
    Node n;
    n.kind = Node::kAttr;
    n.place = p;
    n.sch = s;
    n.name = std::string(name);
    n.readable = r;
    n.writable = w;
    return n;
  };
  auto link = [](std::string target, Node follow) {
    Node n;
    n.kind = Node::kLink;
    n.target = std::move(target);
    n.follow = std::make_unique<Node>(std::move(follow));
    return n;
  };
  auto none = []() { return Node{}; };

  for (size_t i = 0; i < parts.size(); ++i) {
    if (cur.kind == Node::kLink) {
      if (!cur.follow) return none();
      Node f = std::move(*cur.follow);
      cur = std::move(f);
    }
    if (cur.kind != Node::kDir) return none();
    const std::string_view p = parts[i];
    Sch* s = cur.sch;
    Node next;
    switch (cur.place) {
      case Node::kRoot:
        if (p == "bus") next = dir(Node::kBus);
        else if (p == "devices") next = dir(Node::kDevices);
        else if (p == "kernel") next = dir(Node::kKernel);
        break;
      case Node::kBus:
        if (p == "css") next = dir(Node::kBusCss);
        else if (p == "ccw") next = dir(Node::kBusCcw);
        else if (p == "mdev") next = dir(Node::kBusMdev);
        break;
      case Node::kBusCss:
        if (p == "devices") next = dir(Node::kBusCssDevices);
        else if (p == "drivers") next = dir(Node::kBusCssDrivers);
        else if (p == "drivers_probe") next = attr(Node::kBusCss, nullptr, p, false, true);
        break;
      case Node::kBusCssDevices:
        if (Sch* t = FindSch(p)) next = link(absl::StrCat("../../../devices/css0/", t->name), dir(Node::kSch, t));
        break;
      case Node::kBusCssDrivers:
        if (p == kIoSubchannel || p == kVfioCcw) {
          next = dir(Node::kCssDriver);
          next.name = std::string(p);
        }
        break;
      case Node::kCssDriver:
        if (p == "bind" || p == "unbind") {
          next = attr(Node::kCssDriver, nullptr, p, false, true);
          next.target = cur.name;  // the driver
        } else if (Sch* t = FindSch(p); t && t->driver == cur.name) {
          next = link(absl::StrCat("../../../../devices/css0/", t->name), dir(Node::kSch, t));
        }
        break;
      case Node::kBusCcw:
        if (p == "devices") next = dir(Node::kBusCcwDevices);
        break;
      case Node::kBusCcwDevices:
        if (Sch* t = FindSchByDevBusid(p); t && t->has_ccwdev()) {
          next = link(absl::StrCat("../../../devices/css0/", t->name, "/", t->busid), dir(Node::kCcwDev, t));
        }
        break;
      case Node::kBusMdev:
        if (p == "devices") next = dir(Node::kBusMdevDevices);
        break;
      case Node::kBusMdevDevices:
        if (Sch* t = FindSchByMdev(p)) {
          next = link(absl::StrCat("../../../devices/css0/", t->name, "/", t->mdev->uuid), dir(Node::kMdev, t));
        }
        break;
      case Node::kDevices:
        if (p == "css0") next = dir(Node::kCss0);
        break;
      case Node::kCss0:
        if (Sch* t = FindSch(p)) {
          next = dir(Node::kSch, t);
        } else if (p.size() == 7 && absl::StartsWith(AbslView(p), "chp0.") && IsHex(p.substr(5))) {
          int v;
          if (absl::SimpleHexAtoi(AbslView(p.substr(5)), &v) && chps_.count(static_cast<uint8_t>(v)) &&
              p.substr(5) == absl::StrFormat("%02x", v)) {
            next = dir(Node::kChp);
            next.chpid = static_cast<uint8_t>(v);
          }
        }
        break;
      case Node::kSch:
        // css_register_subchannel() adds chpids, pimpampom and dev_busid to I/O subchannels only.
        if (p == "type" || p == "modalias" ||
            (s->cfg.type == 0 && (p == "chpids" || p == "pimpampom" || p == "dev_busid"))) {
          next = attr(Node::kSch, s, p, true, false);
        } else if (p == "driver_override") {
          next = attr(Node::kSch, s, p, true, true);
        } else if (p == "driver" && !s->driver.empty()) {
          Node d = dir(Node::kCssDriver);
          d.name = s->driver;
          next = link(absl::StrCat("../../../bus/css/drivers/", s->driver), std::move(d));
        } else if (p == "subsystem") {
          next = link("../../../bus/css", dir(Node::kBusCss));
        } else if (s->has_ccwdev() && p == s->busid) {
          next = dir(Node::kCcwDev, s);
        } else if (s->driver == kVfioCcw && p == "mdev_supported_types") {
          next = dir(Node::kMdevTypes, s);
        } else if (s->mdev && p == s->mdev->uuid) {
          next = dir(Node::kMdev, s);
        }
        break;
      case Node::kCcwDev:
        if (p == "cutype" || p == "devtype" || p == "availability") {
          next = attr(Node::kCcwDev, s, p, true, false);
        } else if (p == "online" || p == "cmb_enable") {
          next = attr(Node::kCcwDev, s, p, true, true);
        } else if (p == "driver" && !s->ccw_driver.empty()) {
          Node o;
          o.kind = Node::kDir;
          o.place = Node::kOpaque;
          next = link(absl::StrCat("../../../../bus/ccw/drivers/", s->ccw_driver), std::move(o));
        } else if (p == "subsystem") {
          next = link("../../../../bus/ccw", dir(Node::kBusCcw));
        }
        break;
      case Node::kMdevTypes:
        if (p == kMdevTypeName) next = dir(Node::kMdevType, s);
        break;
      case Node::kMdevType:
        if (p == "create") next = attr(Node::kMdevType, s, p, false, true);
        else if (p == "available_instances" || p == "name" || p == "device_api")
          next = attr(Node::kMdevType, s, p, true, false);
        else if (p == "devices") next = dir(Node::kMdevTypeDevices, s);
        break;
      case Node::kMdevTypeDevices:
        if (s->mdev && p == s->mdev->uuid) next = link(absl::StrCat("../../../", s->mdev->uuid), dir(Node::kMdev, s));
        break;
      case Node::kMdev:
        if (p == "remove") {
          next = attr(Node::kMdev, s, p, false, true);
        } else if (p == "iommu_group") {
          Node g = dir(Node::kIommuGroup);
          g.group = s->mdev->group;
          next = link(absl::StrCat("../../../../kernel/iommu_groups/", s->mdev->group), std::move(g));
        } else if (p == "mdev_type") {
          next = link(absl::StrCat("../mdev_supported_types/", AbslView(kMdevTypeName)), dir(Node::kMdevType, s));
        } else if (p == "driver") {
          Node o;
          o.kind = Node::kDir;
          o.place = Node::kOpaque;
          next = link(absl::StrCat("../../../../bus/mdev/drivers/", AbslView(kMdevDriver)), std::move(o));
        } else if (p == "subsystem") {
          next = link("../../../../bus/mdev", dir(Node::kBusMdev));
        }
        break;
      case Node::kChp:
        if (p == "status" || p == "configure") {
          next = attr(Node::kChp, nullptr, p, true, true);
          next.chpid = cur.chpid;
        } else if (p == "type" || p == "cmg" || p == "shared" || p == "chid") {
          next = attr(Node::kChp, nullptr, p, true, false);
          next.chpid = cur.chpid;
        }
        break;
      case Node::kKernel:
        if (p == "iommu_groups") next = dir(Node::kIommuGroups);
        break;
      case Node::kIommuGroups: {
        int g;
        if (absl::SimpleAtoi(AbslView(p), &g) && groups_in_use_.count(g) && p == absl::StrCat(g)) {
          next = dir(Node::kIommuGroup);
          next.group = g;
        }
        break;
      }
      case Node::kIommuGroup:
        if (p == "devices") {
          next = dir(Node::kIommuGroupDevices);
          next.group = cur.group;
        }
        break;
      case Node::kIommuGroupDevices:
        if (Sch* t = FindSchByGroup(cur.group); t && p == t->mdev->uuid) {
          next = link(absl::StrCat("../../../../devices/css0/", t->name, "/", t->mdev->uuid), dir(Node::kMdev, t));
        }
        break;
      case Node::kOpaque:
        break;
    }
    if (next.kind == Node::kNone) return none();
    cur = std::move(next);
  }
  return cur;
}

// ---------------------------------------------------------------------------
// SysfsOps.

std::string SimKernel::Describe(std::string_view path) const {
  return absl::StrCat(options_.sysfs_root_name, "/", AbslView(path));
}

bool SimKernel::Exists(std::string_view path) {
  absl::ReaderMutexLock l(&mu_);
  return Resolve(path).kind != Node::kNone;
}

int SimKernel::ReadLink(std::string_view path, std::string* target) {
  absl::ReaderMutexLock l(&mu_);
  Node n = Resolve(path);
  if (n.kind == Node::kNone) return ENOENT;
  if (n.kind != Node::kLink) return EINVAL;
  *target = n.target;
  return 0;
}

int SimKernel::List(std::string_view path, std::vector<std::string>* names) {
  absl::ReaderMutexLock l(&mu_);
  Node n = Resolve(path);
  if (n.kind == Node::kLink) {
    if (!n.follow) return ENOENT;
    Node f = std::move(*n.follow);
    n = std::move(f);
  }
  if (n.kind == Node::kNone) return ENOENT;
  if (n.kind != Node::kDir) return ENOTDIR;
  std::vector<std::string>& v = *names;
  v.clear();
  Sch* s = n.sch;
  switch (n.place) {
    case Node::kRoot: v = {"bus", "devices", "kernel"}; break;
    case Node::kBus: v = {"ccw", "css", "mdev"}; break;
    case Node::kBusCss: v = {"devices", "drivers", "drivers_probe"}; break;
    case Node::kBusCssDevices:
      for (auto& t : schs_) if (t->present) v.push_back(t->name);
      break;
    case Node::kBusCssDrivers: v = {std::string(kIoSubchannel), std::string(kVfioCcw)}; break;
    case Node::kCssDriver:
      v = {"bind", "unbind"};
      for (auto& t : schs_) if (t->present && t->driver == n.name) v.push_back(t->name);
      break;
    case Node::kBusCcw: v = {"devices"}; break;
    case Node::kBusCcwDevices:
      for (auto& t : schs_) if (t->present && t->has_ccwdev()) v.push_back(t->busid);
      break;
    case Node::kBusMdev: v = {"devices"}; break;
    case Node::kBusMdevDevices:
      for (auto& t : schs_) if (t->present && t->mdev) v.push_back(t->mdev->uuid);
      break;
    case Node::kDevices: v = {"css0"}; break;
    case Node::kCss0:
      for (auto& t : schs_) if (t->present) v.push_back(t->name);
      for (auto& [id, c] : chps_) v.push_back(absl::StrFormat("chp0.%02x", id));
      break;
    case Node::kSch:
      v = {"driver_override", "modalias", "subsystem", "type"};
      if (s->cfg.type == 0) v.insert(v.end(), {"chpids", "dev_busid", "pimpampom"});
      if (!s->driver.empty()) v.push_back("driver");
      if (s->has_ccwdev()) v.push_back(s->busid);
      if (s->driver == kVfioCcw) v.push_back("mdev_supported_types");
      if (s->mdev) v.push_back(s->mdev->uuid);
      break;
    case Node::kCcwDev:
      v = {"availability", "cmb_enable", "cutype", "devtype", "online", "subsystem"};
      if (!s->ccw_driver.empty()) v.push_back("driver");
      break;
    case Node::kMdevTypes: v = {std::string(kMdevTypeName)}; break;
    case Node::kMdevType: v = {"available_instances", "create", "device_api", "devices", "name"}; break;
    case Node::kMdevTypeDevices:
      if (s->mdev) v.push_back(s->mdev->uuid);
      break;
    case Node::kMdev: v = {"driver", "iommu_group", "mdev_type", "remove", "subsystem"}; break;
    case Node::kChp: v = {"chid", "cmg", "configure", "shared", "status", "type"}; break;
    case Node::kKernel: v = {"iommu_groups"}; break;
    case Node::kIommuGroups:
      for (int g : groups_in_use_) v.push_back(absl::StrCat(g));
      break;
    case Node::kIommuGroup: v = {"devices"}; break;
    case Node::kIommuGroupDevices:
      if (Sch* t = FindSchByGroup(n.group)) v.push_back(t->mdev->uuid);
      break;
    case Node::kOpaque: break;
  }
  std::sort(v.begin(), v.end());
  return 0;
}

int SimKernel::Read(std::string_view path, std::string* value) {
  absl::ReaderMutexLock l(&mu_);
  Node n = Resolve(path);
  if (n.kind == Node::kNone) return ENOENT;
  if (n.kind != Node::kAttr) return EISDIR;
  if (!n.readable) return EACCES;
  const Sch* s = n.sch;
  std::string& out = *value;
  switch (n.place) {
    case Node::kSch:
      if (n.name == "type") {
        out = absl::StrFormat("%01x\n", s->cfg.type);
      } else if (n.name == "modalias") {
        out = absl::StrFormat("css:t%01X\n", s->cfg.type);
      } else if (n.name == "chpids") {
        out.clear();
        for (int i = 0; i < 8; ++i) {
          absl::StrAppendFormat(&out, "%02x ", (s->cfg.pim & (0x80 >> i)) ? s->cfg.chpids[i] : 0);
        }
        out += "\n";
      } else if (n.name == "pimpampom") {
        translate::Schib schib;
        css_->Stsch(s->index, &schib);
        out = absl::StrFormat("%02x %02x %02x\n", schib.pmcw.pim, schib.pmcw.pam, schib.pmcw.pom);
      } else if (n.name == "dev_busid") {
        out = s->busid.empty() ? "none\n" : absl::StrCat(s->busid, "\n");
      } else if (n.name == "driver_override") {
        out = s->override_ ? absl::StrCat(*s->override_, "\n") : "(null)\n";
      }
      return 0;
    case Node::kCcwDev:
      if (n.name == "cutype") {
        out = absl::StrFormat("%04x/%02x\n", s->ident.cu_type, s->ident.cu_model);
      } else if (n.name == "devtype") {
        out = s->ident.dev_type == 0 ? "n/a\n" : absl::StrFormat("%04x/%02x\n", s->ident.dev_type, s->ident.dev_model);
      } else if (n.name == "online") {
        out = s->ccw_online ? "1\n" : "0\n";
      } else if (n.name == "cmb_enable") {
        out = s->cmb_enable ? "1\n" : "0\n";
      } else if (n.name == "availability") {
        translate::Schib schib;
        css_->Stsch(s->index, &schib);
        const uint8_t usable = schib.pmcw.pim & schib.pmcw.pam & schib.pmcw.pom;
        out = !s->operational ? "no device\n" : usable == 0 ? "no path\n" : "good\n";
      }
      return 0;
    case Node::kMdevType:
      if (n.name == "available_instances") {
        out = s->mdev ? "0\n" : "1\n";
      } else if (n.name == "name") {
        out = "I/O subchannel (Non-QDIO)\n";
      } else if (n.name == "device_api") {
        out = "vfio-ccw\n";
      }
      return 0;
    case Node::kChp: {
      auto it = chps_.find(n.chpid);
      const ChannelPathConfig& c = it->second;
      if (n.name == "status") {
        out = vary_.count(n.chpid) && vary_.at(n.chpid) ? "offline\n" : "online\n";
      } else if (n.name == "configure") {
        out = c.online ? "1\n" : "0\n";
      } else if (n.name == "type") {
        out = absl::StrFormat("%x\n", c.type);
      } else if (n.name == "cmg") {
        out = "unknown\n";
      } else if (n.name == "shared") {
        out = c.shared ? "1\n" : "0\n";
      } else if (n.name == "chid") {
        out = c.chid.empty() ? "" : absl::StrCat(c.chid, "\n");
      }
      return 0;
    }
    default:
      return EACCES;
  }
}

int SimKernel::Write(std::string_view path, std::string_view value) {
  CrashPoint(absl::StrCat("before writing ", AbslView(path)));
  int rc;
  {
    absl::MutexLock l(&mu_);
    rc = WriteLocked(path, value);
    if (!options_.state_file.empty()) {
      if (absl::Status st = SaveStateLocked(options_.state_file); !st.ok()) {
        spdlog::error("sim kernel: {}", st.ToString());
      }
    }
  }
  CrashPoint(absl::StrCat("after writing ", AbslView(path)));
  return rc;
}

int SimKernel::WriteLocked(std::string_view path, std::string_view value) {
  Node n = Resolve(path);
  if (n.kind == Node::kNone) return ENOENT;
  if (n.kind != Node::kAttr) return EISDIR;
  if (!n.writable) return EACCES;
  Sch* s = n.sch;
  // One change at a time per subchannel (the kernel's device_lock).
  auto wait_idle = [this](Sch* t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto idle = [t]() { return !t->busy; };
    mu_.Await(absl::Condition(&idle));
    t->busy = true;
  };
  switch (n.place) {
    case Node::kBusCss: {  // drivers_probe
      Sch* t = FindSch(Chomp(value));
      if (!t) return ENODEV;
      wait_idle(t);
      Probe(*t);
      t->busy = false;
      return 0;
    }
    case Node::kCssDriver: {  // bind / unbind; n.target is the driver
      Sch* t = FindSch(Chomp(value));
      if (!t) return ENODEV;
      wait_idle(t);
      int rc = 0;
      if (n.name == "bind") {
        rc = Bind(*t, n.target);
      } else if (t->driver == n.target) {
        Unbind(*t);
      } else {
        rc = ENODEV;
      }
      t->busy = false;
      return rc;
    }
    case Node::kSch: {  // driver_override
      if (value.size() > kMaxOverride) return EINVAL;
      std::string_view v = value.substr(0, value.find('\n'));
      if (v.empty()) {
        s->override_.reset();
      } else {
        s->override_ = std::string(v);
      }
      return 0;
    }
    case Node::kCcwDev: {
      std::string_view v = Chomp(value);
      if (v != "0" && v != "1") return EINVAL;
      (n.name == "online" ? s->ccw_online : s->cmb_enable) = v == "1";
      return 0;
    }
    case Node::kMdevType: {  // create
      wait_idle(s);
      const int rc = (s->driver == kVfioCcw && s->present) ? CreateMdev(*s, value) : ENODEV;
      s->busy = false;
      return rc;
    }
    case Node::kMdev: {  // remove
      uint64_t v;
      if (!absl::SimpleAtoi(AbslView(Chomp(value)), &v)) return EINVAL;
      if (v == 0) return 0;
      wait_idle(s);
      if (s->mdev) RemoveMdev(*s, absl::Seconds(30));
      s->busy = false;
      return 0;
    }
    case Node::kChp:
      return WriteChp(n.chpid, n.name, value);
    default:
      return EACCES;
  }
}

// ---------------------------------------------------------------------------
// Faults.

absl::Status SimKernel::VaryPath(uint8_t chpid, bool on) {
  absl::MutexLock l(&mu_);
  if (!chps_.count(chpid)) return absl::NotFoundError(absl::StrFormat("no channel path %02x", chpid));
  WriteChp(chpid, "status", on ? "on" : "off");
  return absl::OkStatus();
}

absl::Status SimKernel::ConfigurePath(uint8_t chpid, bool online) {
  absl::MutexLock l(&mu_);
  if (!chps_.count(chpid)) return absl::NotFoundError(absl::StrFormat("no channel path %02x", chpid));
  WriteChp(chpid, "configure", online ? "1" : "0");
  return absl::OkStatus();
}

absl::Status SimKernel::SetDeviceOperational(std::string_view schid, bool operational, absl::Duration wait) {
  absl::MutexLock l(&mu_);
  Sch* s = FindSch(schid);
  if (!s) {
    auto it = unregistered_.find(AbslView(schid));
    if (it == unregistered_.end()) return absl::NotFoundError(absl::StrCat("no subchannel ", AbslView(schid)));
    if (operational) {
      s = it->second;
      unregistered_.erase(it);
      s->operational = s->has_device;
      css_->SetDeviceOperational(s->index, s->operational);
      Register(*s);
    }
    return absl::OkStatus();
  }
  s->operational = operational && s->has_device;
  css_->SetDeviceOperational(s->index, s->operational);
  if (s->mdev) {
    if (s->operational) {
      s->mdev->dev->Operational();
    } else {
      s->mdev->dev->NotOperational();
    }
  }
  if (!operational && s->driver == kVfioCcw) {
    // vfio_ccw's fsm_notoper(): css_sched_sch_todo(SCH_TODO_UNREG). The
    // subchannel comes back as a new registration when its device does.
    Unregister(*s, wait);
    if (s->operational) {
      Register(*s);  // operational again while its user was letting go
    } else {
      unregistered_[s->name] = s;
    }
  }
  return absl::OkStatus();
}

absl::Status SimKernel::RemoveSubchannel(std::string_view schid, absl::Duration wait) {
  absl::MutexLock l(&mu_);
  Sch* s = FindSch(schid);
  if (!s) {
    // Unregistered already (its device is not operational): now it never comes back.
    if (unregistered_.erase(AbslView(schid)) > 0) return absl::OkStatus();
    return absl::NotFoundError(absl::StrCat("no subchannel ", AbslView(schid)));
  }
  s->operational = false;
  css_->SetDeviceOperational(s->index, false);
  Unregister(*s, wait);
  unregistered_.erase(s->name);  // if a not-operational unregistration came first
  return absl::OkStatus();
}

void SimKernel::Unregister(Sch& s, absl::Duration wait) {
  auto idle = [&s]() { return !s.busy; };
  mu_.Await(absl::Condition(&idle));
  if (!s.present) return;  // another unregistration came first
  s.busy = true;
  // The driver lets go first (vfio_ccw removes the mdev, which asks its user
  // for the device and waits), then the subchannel leaves the bus.
  if (s.mdev) RemoveMdev(s, wait);
  Unbind(s);
  Emit(DeviceAction::kRemove, "css", absl::StrCat("devices/css0/", s.name), "");
  s.present = false;
  s.busy = false;
  by_name_.erase(s.name);
}

void SimKernel::Register(Sch& s) {
  // css_probe_device(): a new struct subchannel, so no driver_override and no
  // mdev; io_subchannel takes it, its bind uevent suppressed until device
  // recognition announces the subchannel ("add"), then the ccw device.
  s.present = true;
  s.override_.reset();
  s.ccw_online = false;
  s.cmb_enable = false;
  by_name_[s.name] = &s;
  s.driver = std::string(kIoSubchannel);
  Emit(DeviceAction::kAdd, "css", absl::StrCat("devices/css0/", s.name), "");
  AddCcwDevice(s);
}

absl::Status SimKernel::WithCssIndex(std::string_view schid, absl::FunctionRef<void(uint32_t)> f) {
  absl::MutexLock l(&mu_);
  Sch* s = FindSch(schid);
  if (!s) return absl::NotFoundError(absl::StrCat("no subchannel ", AbslView(schid)));
  f(s->index);
  return absl::OkStatus();
}

absl::Status SimKernel::InjectUnitCheck(std::string_view schid, std::vector<uint8_t> sense) {
  return WithCssIndex(schid, [&](uint32_t i) { css_->InjectUnitCheck(i, std::move(sense)); });
}

absl::Status SimKernel::SetLatency(std::string_view schid, uint32_t latency_us) {
  return WithCssIndex(schid, [&](uint32_t i) { css_->SetLatency(i, latency_us); });
}

absl::Status SimKernel::SetHaltLatency(std::string_view schid, uint32_t latency_us) {
  return WithCssIndex(schid, [&](uint32_t i) { css_->SetHaltLatency(i, latency_us); });
}

Device* SimKernel::DeviceOf(std::string_view schid) {
  absl::ReaderMutexLock l(&mu_);
  Sch* s = FindSch(schid);
  return s ? css_->device(s->index) : nullptr;
}

std::shared_ptr<VfioCcwDevice> SimKernel::VfioDeviceOf(std::string_view schid) {
  absl::ReaderMutexLock l(&mu_);
  Sch* s = FindSch(schid);
  return s && s->mdev ? s->mdev->dev : nullptr;
}

// ---------------------------------------------------------------------------
// VfioOps.

int SimKernel::NewFd(std::shared_ptr<FdEntry> e) {
  const int fd = next_fd_++;
  fds_[fd] = std::move(e);
  return fd;
}

std::shared_ptr<SimKernel::FdEntry> SimKernel::Fd(int fd) {
  auto it = fds_.find(fd);
  return it == fds_.end() ? nullptr : it->second;
}

std::shared_ptr<VfioCcwDevice> SimKernel::DeviceFd(int fd) {
  absl::ReaderMutexLock l(&mu_);
  auto it = fds_.find(fd);
  if (it == fds_.end() || it->second->kind != FdEntry::kDevice) return nullptr;
  return it->second->dev;
}

int SimKernel::OpenContainer() {
  absl::MutexLock l(&mu_);
  auto e = std::make_shared<FdEntry>();
  e->kind = FdEntry::kContainer;
  e->container = std::make_shared<Container>();
  return NewFd(std::move(e));
}

int SimKernel::GetApiVersion(int container) {
  absl::ReaderMutexLock l(&mu_);
  auto e = Fd(container);
  if (!e) return -EBADF;
  if (e->kind != FdEntry::kContainer) return -ENOTTY;
  return VFIO_API_VERSION;
}

int SimKernel::CheckExtension(int container, uint32_t extension) {
  absl::ReaderMutexLock l(&mu_);
  auto e = Fd(container);
  if (!e) return -EBADF;
  if (e->kind != FdEntry::kContainer) return -ENOTTY;
  return (extension == VFIO_TYPE1_IOMMU || extension == VFIO_TYPE1v2_IOMMU) ? 1 : 0;
}

int SimKernel::SetIommu(int container, uint32_t type) {
  absl::MutexLock l(&mu_);
  auto e = Fd(container);
  if (!e) return -EBADF;
  if (e->kind != FdEntry::kContainer) return -ENOTTY;
  Container& c = *e->container;
  if (c.groups.empty()) return -EINVAL;
  if (c.iommu_set) return -EBUSY;
  if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU) return -ENODEV;
  c.iommu_set = true;
  return 0;
}

int SimKernel::MapDma(int container, uint64_t vaddr, uint64_t iova, uint64_t size, uint32_t flags) {
  std::shared_ptr<Container> c;
  {
    absl::ReaderMutexLock l(&mu_);
    auto e = Fd(container);
    if (!e) return -EBADF;
    if (e->kind != FdEntry::kContainer) return -ENOTTY;
    c = e->container;
  }
  if (!c->iommu_set) return -EINVAL;
  if (!(flags & (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))) return -EINVAL;
  return c->iommu.Map(vaddr, iova, size);
}

int64_t SimKernel::UnmapDma(int container, uint64_t iova, uint64_t size) {
  std::shared_ptr<Container> c;
  std::vector<std::shared_ptr<VfioCcwDevice>> devs;
  {
    absl::ReaderMutexLock l(&mu_);
    auto e = Fd(container);
    if (!e) return -EBADF;
    if (e->kind != FdEntry::kContainer) return -ENOTTY;
    c = e->container;
    for (auto& w : c->devices) {
      if (auto d = w.lock()) devs.push_back(std::move(d));
    }
  }
  if (!c->iommu_set) return -EINVAL;
  // vfio_ccw_dma_unmap(): a pending program that uses the range resets the device.
  for (auto& d : devs) {
    if (d->is_open() && d->UsesIova(iova, size)) d->Reset();
  }
  return c->iommu.Unmap(iova, size);
}

int SimKernel::OpenGroup(int group) {
  absl::MutexLock l(&mu_);
  Sch* s = FindSchByGroup(group);
  if (!s) return -ENOENT;
  std::shared_ptr<Group> g = s->mdev->grp;
  if (g->open) return -EBUSY;
  g->open = true;
  auto e = std::make_shared<FdEntry>();
  e->kind = FdEntry::kGroup;
  e->group = g;
  return NewFd(std::move(e));
}

int SimKernel::GetGroupStatus(int group_fd, uint32_t* flags) {
  absl::ReaderMutexLock l(&mu_);
  auto e = Fd(group_fd);
  if (!e) return -EBADF;
  if (e->kind != FdEntry::kGroup) return -ENOTTY;
  if (e->group->gone) return -ENODEV;
  *flags = VFIO_GROUP_FLAGS_VIABLE | (e->group->container ? VFIO_GROUP_FLAGS_CONTAINER_SET : 0);
  return 0;
}

int SimKernel::SetContainer(int group_fd, int container) {
  absl::MutexLock l(&mu_);
  auto e = Fd(group_fd);
  if (!e) return -EBADF;
  if (e->kind != FdEntry::kGroup) return -ENOTTY;
  if (e->group->gone) return -ENODEV;
  if (e->group->container) return -EINVAL;  // vfio_group_ioctl_set_container (6.1)
  auto c = Fd(container);
  if (!c) return -EBADF;
  if (c->kind != FdEntry::kContainer) return -EINVAL;
  e->group->container = c->container;
  c->container->groups.insert(e->group->number);
  return 0;
}

int SimKernel::UnsetContainer(int group_fd) {
  absl::MutexLock l(&mu_);
  auto e = Fd(group_fd);
  if (!e) return -EBADF;
  if (e->kind != FdEntry::kGroup) return -ENOTTY;
  Group& g = *e->group;
  if (!g.container) return -EINVAL;
  if (g.device_fd >= 0) return -EBUSY;
  g.container->groups.erase(g.number);
  if (g.container->groups.empty()) g.container->iommu_set = false;
  g.container = nullptr;
  return 0;
}

int SimKernel::GetDeviceFd(int group_fd, std::string_view name) {
  absl::MutexLock l(&mu_);
  auto e = Fd(group_fd);
  if (!e) return -EBADF;
  if (e->kind != FdEntry::kGroup) return -ENOTTY;
  Group& g = *e->group;
  if (g.gone) return -ENODEV;
  if (!g.container || !g.container->iommu_set) return -EINVAL;
  Sch* s = FindSchByGroup(g.number);
  if (!s || s->mdev->uuid != name) return -ENODEV;
  if (g.device_fd >= 0) return -EBUSY;
  std::shared_ptr<VfioCcwDevice> dev = s->mdev->dev;
  const int rc = dev->Open(&g.container->iommu);
  if (rc != 0) return rc;
  g.container->devices.push_back(dev);
  auto d = std::make_shared<FdEntry>();
  d->kind = FdEntry::kDevice;
  d->dev = dev;
  d->group = e->group;
  d->container = g.container;
  g.device_fd = NewFd(d);
  return g.device_fd;
}

int SimKernel::GetDeviceInfo(int device_fd, vfio_device_info* info) {
  auto d = DeviceFd(device_fd);
  return d ? d->GetDeviceInfo(info) : -EBADF;
}

int SimKernel::GetRegionInfo(int device_fd, uint32_t index, std::vector<uint8_t>* info) {
  auto d = DeviceFd(device_fd);
  return d ? d->GetRegionInfo(index, info) : -EBADF;
}

int SimKernel::GetIrqInfo(int device_fd, uint32_t index, vfio_irq_info* info) {
  auto d = DeviceFd(device_fd);
  return d ? d->GetIrqInfo(index, info) : -EBADF;
}

int SimKernel::SetIrqEventfd(int device_fd, uint32_t index, int eventfd) {
  auto d = DeviceFd(device_fd);
  return d ? d->SetIrqEventfd(index, eventfd) : -EBADF;
}

int SimKernel::Reset(int device_fd) {
  auto d = DeviceFd(device_fd);
  return d ? d->Reset() : -EBADF;
}

ssize_t SimKernel::Pread(int device_fd, void* buf, size_t len, uint64_t offset) {
  auto d = DeviceFd(device_fd);
  return d ? d->Read(buf, len, offset) : -EBADF;
}

ssize_t SimKernel::Pwrite(int device_fd, const void* buf, size_t len, uint64_t offset) {
  auto d = DeviceFd(device_fd);
  const ssize_t n = d ? d->Write(buf, len, offset) : -EBADF;
  if (n > 0) CrashPoint("after an I/O region write");
  return n;
}

int SimKernel::Close(int fd) {
  absl::MutexLock l(&mu_);
  auto it = fds_.find(fd);
  if (it == fds_.end()) return -EBADF;
  std::shared_ptr<FdEntry> e = it->second;
  fds_.erase(it);
  switch (e->kind) {
    case FdEntry::kContainer:
      break;
    case FdEntry::kGroup: {
      Group& g = *e->group;
      g.open = false;
      if (g.container && g.device_fd < 0) {
        g.container->groups.erase(g.number);
        if (g.container->groups.empty()) g.container->iommu_set = false;
        g.container = nullptr;
      }
      break;
    }
    case FdEntry::kDevice:
      if (e->dev) e->dev->Close();
      if (e->group) e->group->device_fd = -1;
      break;
  }
  return 0;
}

}  // namespace ccwpass::sim
