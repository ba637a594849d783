#include "agent/sysfs/css.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "agent/absl_view.h"
#include "agent/busid.h"
#include "translate/errors.h"

namespace ccwpass::agent {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

absl::Status Malformed(std::string_view what, std::string_view text, std::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(AbslView(what), ": \"", absl::CHexEscape(AbslView(text)), "\" is not ", AbslView(expected)));
}

// Exactly two hex digits.
bool HexByte(std::string_view s, uint8_t* out) {
  if (s.size() != 2 || !absl::ascii_isxdigit(s[0]) || !absl::ascii_isxdigit(s[1])) return false;
  int v = 0;
  if (!absl::SimpleHexAtoi(AbslView(s), &v)) return false;
  *out = static_cast<uint8_t>(v);
  return true;
}

std::vector<std::string_view> Fields(std::string_view text) {
  std::vector<std::string_view> out;
  for (absl::string_view f : absl::StrSplit(AbslView(text), absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    out.emplace_back(f.data(), f.size());
  }
  return out;
}

}  // namespace

absl::StatusOr<uint8_t> ParseSubchannelType(std::string_view text) {
  const std::string_view t = Trim(text);
  int v = 0;
  if (t.size() != 1 || !absl::ascii_isxdigit(t[0]) || !absl::SimpleHexAtoi(AbslView(t), &v)) {
    return Malformed("type", text, "one hex digit");
  }
  return static_cast<uint8_t>(v);
}

absl::StatusOr<std::array<uint8_t, 8>> ParseChpids(std::string_view text) {
  const std::vector<std::string_view> f = Fields(text);
  std::array<uint8_t, 8> out{};
  if (f.size() != 8) return Malformed("chpids", text, "eight two-digit hex CHPIDs");
  for (size_t i = 0; i < 8; ++i) {
    if (!HexByte(f[i], &out[i])) return Malformed("chpids", text, "eight two-digit hex CHPIDs");
  }
  return out;
}

absl::StatusOr<std::array<uint8_t, 3>> ParsePimPamPom(std::string_view text) {
  const std::vector<std::string_view> f = Fields(text);
  std::array<uint8_t, 3> out{};
  if (f.size() != 3) return Malformed("pimpampom", text, "three two-digit hex masks");
  for (size_t i = 0; i < 3; ++i) {
    if (!HexByte(f[i], &out[i])) return Malformed("pimpampom", text, "three two-digit hex masks");
  }
  return out;
}

absl::StatusOr<std::optional<uint16_t>> ParseDevBusid(std::string_view text) {
  const std::string_view t = Trim(text);
  if (t == "none") return std::optional<uint16_t>();
  absl::StatusOr<std::pair<uint8_t, uint16_t>> id = ParseBusId(t);
  if (!id.ok()) return Malformed("dev_busid", text, "0.<ssid>.<devno> or none");
  return std::optional<uint16_t>(id->second);
}

std::optional<std::string> ParseDriverOverride(std::string_view text) {
  const std::string_view t = Trim(text);
  if (t.empty() || t == "(null)") return std::nullopt;
  return std::string(t);
}

absl::StatusOr<std::optional<std::pair<uint16_t, uint8_t>>> ParseCcwType(std::string_view text) {
  const std::string_view t = Trim(text);
  if (t == "n/a") return std::optional<std::pair<uint16_t, uint8_t>>();
  int type = 0, model = 0;
  if (t.size() != 7 || t[4] != '/' || !std::all_of(t.begin(), t.begin() + 4, absl::ascii_isxdigit) ||
      !std::all_of(t.begin() + 5, t.end(), absl::ascii_isxdigit) || !absl::SimpleHexAtoi(AbslView(t.substr(0, 4)), &type) ||
      !absl::SimpleHexAtoi(AbslView(t.substr(5)), &model)) {
    return Malformed("cu/device type", text, "tttt/mm or n/a");
  }
  return std::optional<std::pair<uint16_t, uint8_t>>(
      std::pair<uint16_t, uint8_t>(static_cast<uint16_t>(type), static_cast<uint8_t>(model)));
}

absl::StatusOr<int> ParseDecimal(std::string_view text) {
  const std::string_view t = Trim(text);
  int v = 0;
  if (t.empty() || t.size() > 9 || !std::all_of(t.begin(), t.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(AbslView(t), &v)) {
    return Malformed("attribute", text, "a decimal number");
  }
  return v;
}

std::string_view LinkBasename(std::string_view target) {
  while (!target.empty() && target.back() == '/') target.remove_suffix(1);
  const size_t slash = target.rfind('/');
  return slash == std::string_view::npos ? target : target.substr(slash + 1);
}

bool IsQdioControlUnit(uint16_t cu_type) { return cu_type == 0x1731; }

std::vector<uint8_t> SubchannelInfo::ChpidsOf(uint8_t path_mask) const {
  std::vector<uint8_t> out;
  for (int i = 0; i < 8; ++i) {
    if (path_mask & (0x80 >> i)) out.push_back(chpids[i]);
  }
  return out;
}

std::string SubchannelInfo::DevnoText() const {
  return devno ? FormatDevBusid(ssid, *devno) : std::string();
}

std::string SubchannelInfo::CuTypeText() const {
  return cu_type ? absl::StrFormat("%04x/%02x", cu_type->first, cu_type->second) : std::string();
}

std::string SubchannelInfo::DevTypeText() const {
  if (dev_type) return absl::StrFormat("%04x/%02x", dev_type->first, dev_type->second);
  return has_ccwdev ? "n/a" : "";
}

std::string SubchannelInfo::UnavailableReason() const {
  if (type != 0) {
    static constexpr const char* kNames[] = {"I/O", "CHSC", "message", "EADM"};
    return absl::StrCat(type < 4 ? kNames[type] : "unknown-type",
                        " subchannel: only I/O subchannels can be passed through");
  }
  if (!devno) return "no device number: no device behind the subchannel";
  if (qdio()) return "QDIO device: vfio_ccw does not support QDIO subchannels";
  return "";
}

// ---------------------------------------------------------------------------

absl::Status SysfsError(std::string_view schid, std::string_view step, const std::string& where, int err) {
  absl::StatusCode code;
  switch (err) {
    case ENOENT: code = absl::StatusCode::kNotFound; break;
    case ENODEV:
    case EUSERS:
    case ENOSPC: code = absl::StatusCode::kFailedPrecondition; break;
    case EBUSY:
    case EAGAIN: code = absl::StatusCode::kUnavailable; break;
    case EEXIST: code = absl::StatusCode::kAlreadyExists; break;
    case EACCES:
    case EPERM: code = absl::StatusCode::kPermissionDenied; break;
    default: code = absl::StatusCode::kInternal; break;
  }
  return translate::WithErrno(
      absl::Status(code, absl::StrCat(AbslView(schid), ": ", AbslView(step), ": ", where, ": ", translate::ErrnoName(err), " (",
                                      std::strerror(err), ")")),
      err);
}

absl::StatusOr<std::vector<std::string>> Css::ListSchids() {
  std::vector<std::string> names;
  const int err = sysfs_.List("bus/css/devices", &names);
  if (err != 0) {
    return translate::WithErrno(
        absl::UnavailableError(absl::StrCat("cannot list ", sysfs_.Describe("bus/css/devices"), ": ",
                                            std::strerror(err), " (no css bus: not an s390 host, or a wrong sysfs root?)")),
        err);
  }
  std::vector<std::string> out;
  out.reserve(names.size());
  for (std::string& n : names) {
    if (ParseBusId(n).ok()) out.push_back(std::move(n));
  }
  return out;
}

absl::StatusOr<SubchannelInfo> Css::Read(std::string_view schid) {
  absl::StatusOr<std::pair<uint8_t, uint16_t>> id = ParseBusId(schid);
  if (!id.ok()) return absl::InvalidArgumentError(absl::StrCat("schid ", id.status().message()));
  SubchannelInfo s;
  s.schid = FormatSchid(id->first, id->second);
  s.ssid = id->first;
  s.schno = id->second;
  const std::string dir = absl::StrCat("bus/css/devices/", s.schid, "/");
  std::string v;
  auto read = [&](const std::string& attr, bool required) -> absl::Status {
    const int err = sysfs_.Read(dir + attr, &v);
    if (err == 0) return absl::OkStatus();
    if (err == ENOENT && !sysfs_.Exists(absl::StrCat("bus/css/devices/", s.schid))) {
      return absl::NotFoundError(absl::StrCat("no subchannel ", s.schid));
    }
    if (!required && err == ENOENT) {
      v.clear();
      return absl::OkStatus();
    }
    return SysfsError(s.schid, "read", sysfs_.Describe(dir + attr), err);
  };
  auto bad = [&](const std::string& attr, const absl::Status& st) {
    return absl::InternalError(absl::StrCat(sysfs_.Describe(dir + attr), ": ", st.message()));
  };
  if (absl::Status st = read("type", true); !st.ok()) return st;
  absl::StatusOr<uint8_t> type = ParseSubchannelType(v);
  if (!type.ok()) return bad("type", type.status());
  s.type = *type;
  if (s.type == 0) {
    if (absl::Status st = read("chpids", true); !st.ok()) return st;
    absl::StatusOr<std::array<uint8_t, 8>> chp = ParseChpids(v);
    if (!chp.ok()) return bad("chpids", chp.status());
    s.chpids = *chp;
    if (absl::Status st = read("pimpampom", true); !st.ok()) return st;
    absl::StatusOr<std::array<uint8_t, 3>> ppp = ParsePimPamPom(v);
    if (!ppp.ok()) return bad("pimpampom", ppp.status());
    s.pim = (*ppp)[0];
    s.pam = (*ppp)[1];
    s.pom = (*ppp)[2];
  }
  if (absl::Status st = read("dev_busid", false); !st.ok()) return st;
  if (!v.empty()) {
    absl::StatusOr<std::optional<uint16_t>> devno = ParseDevBusid(v);
    if (!devno.ok()) return bad("dev_busid", devno.status());
    s.devno = *devno;
  }
  if (absl::Status st = read("driver_override", false); !st.ok()) return st;
  s.driver_override = ParseDriverOverride(v);
  std::string link;
  if (sysfs_.ReadLink(dir + "driver", &link) == 0) s.driver = std::string(LinkBasename(link));

  if (s.devno) {
    const std::string ccw = absl::StrCat(dir, s.DevnoText(), "/");
    if (sysfs_.Read(ccw + "cutype", &v) == 0) {
      s.has_ccwdev = true;
      absl::StatusOr<std::optional<std::pair<uint16_t, uint8_t>>> cu = ParseCcwType(v);
      if (!cu.ok()) return bad(s.DevnoText() + "/cutype", cu.status());
      s.cu_type = *cu;
      if (sysfs_.Read(ccw + "devtype", &v) == 0) {
        absl::StatusOr<std::optional<std::pair<uint16_t, uint8_t>>> dt = ParseCcwType(v);
        if (!dt.ok()) return bad(s.DevnoText() + "/devtype", dt.status());
        s.dev_type = *dt;
      }
      if (sysfs_.Read(ccw + "online", &v) == 0) s.online = ParseDecimal(v).value_or(0) == 1;
      if (sysfs_.Read(ccw + "availability", &v) == 0) s.availability = std::string(Trim(v));
    }
  }
  if (s.driver == kVfioCcwDriver) {
    std::vector<std::string> uuids;
    if (sysfs_.List(absl::StrCat(dir, "mdev_supported_types/", AbslView(kMdevType), "/devices"), &uuids) == 0 &&
        !uuids.empty()) {
      s.mdev_uuid = uuids.front();
      if (sysfs_.ReadLink(absl::StrCat(dir, s.mdev_uuid, "/iommu_group"), &link) == 0) {
        s.iommu_group = ParseDecimal(LinkBasename(link)).value_or(-1);
      }
    }
  }
  return s;
}

absl::StatusOr<std::vector<SubchannelInfo>> Css::ReadAll() {
  absl::StatusOr<std::vector<std::string>> names = ListSchids();
  if (!names.ok()) return names.status();
  std::vector<SubchannelInfo> out;
  out.reserve(names->size());
  for (const std::string& n : *names) {
    absl::StatusOr<SubchannelInfo> s = Read(n);
    if (absl::IsNotFound(s.status())) continue;  // went away during the scan
    if (!s.ok()) return s.status();
    out.push_back(std::move(*s));
  }
  return out;
}

absl::Status Css::WriteStep(std::string_view schid, std::string_view step, const std::string& path,
                            std::string_view value) {
  const int err = sysfs_.Write(path, value);
  if (err == 0) return absl::OkStatus();
  return SysfsError(schid, step, absl::StrCat("write \"", AbslView(value), "\" to ", sysfs_.Describe(path)), err);
}

absl::Status Css::SetDriverOverride(std::string_view schid, std::string_view driver) {
  return WriteStep(schid, driver.empty() ? "clear driver_override" : "set driver_override",
                   absl::StrCat("bus/css/devices/", AbslView(schid), "/driver_override"), driver.empty() ? "\n" : driver);
}

absl::Status Css::Unbind(std::string_view schid, std::string_view driver) {
  return WriteStep(schid, absl::StrCat("unbind from ", AbslView(driver)),
                   absl::StrCat("bus/css/drivers/", AbslView(driver), "/unbind"), schid);
}

absl::Status Css::Bind(std::string_view schid, std::string_view driver) {
  return WriteStep(schid, absl::StrCat("bind to ", AbslView(driver)), absl::StrCat("bus/css/drivers/", AbslView(driver), "/bind"),
                   schid);
}

absl::Status Css::DriversProbe(std::string_view schid) {
  return WriteStep(schid, "drivers_probe", "bus/css/drivers_probe", schid);
}

absl::Status Css::CreateMdev(std::string_view schid, std::string_view uuid) {
  return WriteStep(schid, "create mdev",
                   absl::StrCat("bus/css/devices/", AbslView(schid), "/mdev_supported_types/", AbslView(kMdevType), "/create"),
                   uuid);
}

absl::Status Css::RemoveMdev(std::string_view schid, std::string_view uuid) {
  return WriteStep(schid, "remove mdev", absl::StrCat("bus/css/devices/", AbslView(schid), "/", AbslView(uuid), "/remove"), "1");
}

absl::StatusOr<int> Css::IommuGroup(std::string_view schid, std::string_view uuid) {
  std::string link;
  const std::string path = absl::StrCat("bus/css/devices/", AbslView(schid), "/", AbslView(uuid), "/iommu_group");
  const int err = sysfs_.ReadLink(path, &link);
  if (err != 0) return SysfsError(schid, "read iommu_group", sysfs_.Describe(path), err);
  absl::StatusOr<int> g = ParseDecimal(LinkBasename(link));
  if (!g.ok()) return absl::InternalError(absl::StrCat(sysfs_.Describe(path), " -> ", link, ": not a group number"));
  return g;
}

absl::StatusOr<std::string> Css::Driver(std::string_view schid) {
  std::string link;
  const std::string path = absl::StrCat("bus/css/devices/", AbslView(schid), "/driver");
  const int err = sysfs_.ReadLink(path, &link);
  if (err == ENOENT) {
    if (!sysfs_.Exists(absl::StrCat("bus/css/devices/", AbslView(schid)))) {
      return absl::NotFoundError(absl::StrCat("no subchannel ", AbslView(schid)));
    }
    return std::string();
  }
  if (err != 0) return SysfsError(schid, "read driver", sysfs_.Describe(path), err);
  return std::string(LinkBasename(link));
}

absl::StatusOr<uint8_t> Css::VariedOnPaths(const SubchannelInfo& info) {
  uint8_t mask = 0;
  for (int i = 0; i < 8; ++i) {
    const uint8_t bit = static_cast<uint8_t>(0x80 >> i);
    if (!(info.pim & bit)) continue;
    const std::string path = absl::StrFormat("devices/css0/chp0.%02x/status", info.chpids[i]);
    std::string text;
    const int err = sysfs_.Read(path, &text);
    if (err == ENOENT) {
      mask |= bit;
      continue;
    }
    if (err != 0) return SysfsError(info.schid, "read channel-path status", sysfs_.Describe(path), err);
    const std::string_view v = Trim(text);
    if (v == "online") {
      mask |= bit;
    } else if (v != "offline") {
      return absl::InternalError(absl::StrCat(info.schid, ": ", Malformed(sysfs_.Describe(path), text, "online or offline").message()));
    }
  }
  return mask;
}

}  // namespace ccwpass::agent
