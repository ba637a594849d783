#include "agent/deviceplugin/device_class.h"

#include <uuid/uuid.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/absl_view.h"
#include "agent/busid.h"
#include "yaml-cpp/yaml.h"

namespace ccwpass::agent::deviceplugin {
namespace {

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// A Kubernetes qualified name's name part: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63.
std::string QualifiedNameProblem(std::string_view n) {
  if (n.empty()) return "is empty";
  if (n.size() > 63) return absl::StrCat("has ", n.size(), " characters, more than 63");
  if (!IsAlnum(n.front()) || !IsAlnum(n.back())) return "must start and end with a letter or digit";
  for (char c : n) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') {
      return absl::StrCat("has '", std::string(1, c), "'; only letters, digits, '-', '_' and '.' are allowed");
    }
  }
  return "";
}

}  // namespace

std::optional<TypeSelector> ParseTypeSelector(std::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(AbslView(text), '/');
  if (parts.size() > 2 || parts[0].empty() || parts[0].size() > 4) return std::nullopt;
  uint32_t type = 0;
  if (!absl::SimpleHexAtoi(parts[0], &type) || type > 0xffff) return std::nullopt;
  TypeSelector s{static_cast<uint16_t>(type), std::nullopt};
  if (parts.size() == 2) {
    uint32_t model = 0;
    if (parts[1].empty() || parts[1].size() > 2 || !absl::SimpleHexAtoi(parts[1], &model)) return std::nullopt;
    s.model = static_cast<uint8_t>(model);
  }
  return s;
}

namespace {

// "0.0.0100-0.0.01ff" or "0.0.0100".
absl::StatusOr<DevnoRange> ParseDevnoRange(std::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(AbslView(text), '-');
  if (parts.size() > 2) return absl::InvalidArgumentError("more than one '-'");
  absl::StatusOr<std::pair<uint8_t, uint16_t>> first = ParseBusId(std::string_view(parts[0].data(), parts[0].size()));
  if (!first.ok()) return first.status();
  DevnoRange r{first->first, first->second, first->second};
  if (parts.size() == 2) {
    absl::StatusOr<std::pair<uint8_t, uint16_t>> last = ParseBusId(std::string_view(parts[1].data(), parts[1].size()));
    if (!last.ok()) return last.status();
    if (last->first != r.ssid) return absl::InvalidArgumentError("both ends must be in the same subchannel set");
    if (last->second < r.first) return absl::InvalidArgumentError("the range ends before it starts");
    r.last = last->second;
  }
  return r;
}

absl::Status Bad(std::string_view source, size_t index, const std::string& name, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(AbslView(source), ": classes[", index, "]",
                                                 name.empty() ? "" : absl::StrCat(" (", name, ")"), ": ", what));
}

// The strings of a list-valued key; errors name the key.
absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& n, const std::string& key) {
  if (!n.IsSequence()) return absl::InvalidArgumentError(absl::StrCat(key, ": must be a list of strings"));
  std::vector<std::string> out;
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) return absl::InvalidArgumentError(absl::StrCat(key, "[", i, "]: must be a string"));
    out.push_back(n[i].as<std::string>());
  }
  return out;
}

}  // namespace

bool TypeSelector::Matches(const std::pair<uint16_t, uint8_t>& tm) const {
  return tm.first == type && (!model || *model == tm.second);
}

bool DevnoRange::Contains(uint8_t s, uint16_t devno) const { return s == ssid && devno >= first && devno <= last; }

absl::StatusOr<std::vector<DeviceClass>> ParseDeviceClasses(std::string_view yaml, std::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(source), ": not YAML: ", e.what()));
  }
  if (!root.IsMap() || !root["classes"]) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(source), ": expected a map with the key \"classes\""));
  }
  for (const auto& kv : root) {
    if (kv.first.as<std::string>() != "classes") {
      return absl::InvalidArgumentError(
          absl::StrCat(AbslView(source), ": unknown key \"", kv.first.as<std::string>(), "\" (known: classes)"));
    }
  }
  const YAML::Node list = root["classes"];
  if (!list.IsSequence()) return absl::InvalidArgumentError(absl::StrCat(AbslView(source), ": classes: must be a list"));
  std::vector<DeviceClass> out;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node c = list[i];
    if (!c.IsMap()) return Bad(source, i, "", "must be a map");
    DeviceClass dc;
    if (c["name"] && c["name"].IsScalar()) dc.name = c["name"].as<std::string>();
    for (const auto& kv : c) {
      const std::string key = kv.first.as<std::string>();
      if (key != "name" && key != "cu_types" && key != "dev_types" && key != "devnos") {
        return Bad(source, i, dc.name, absl::StrCat("unknown key \"", key, "\" (known: name, cu_types, dev_types, devnos)"));
      }
    }
    if (!c["name"]) return Bad(source, i, "", "name is missing");
    if (std::string p = QualifiedNameProblem(dc.name); !p.empty()) {
      return Bad(source, i, dc.name, absl::StrCat("name \"", dc.name, "\" ", p));
    }
    if (!names.insert(dc.name).second) return Bad(source, i, dc.name, "a class of this name is defined already");
    for (const char* key : {"cu_types", "dev_types"}) {
      if (!c[key]) continue;
      absl::StatusOr<std::vector<std::string>> items = StringList(c[key], key);
      if (!items.ok()) return Bad(source, i, dc.name, std::string(items.status().message()));
      for (size_t j = 0; j < items->size(); ++j) {
        std::optional<TypeSelector> s = ParseTypeSelector((*items)[j]);
        if (!s) {
          return Bad(source, i, dc.name,
                     absl::StrCat(key, "[", j, "] \"", (*items)[j], "\": not a hex type like 3990 or 3990/e9"));
        }
        (std::string(key) == "cu_types" ? dc.cu_types : dc.dev_types).push_back(*s);
      }
    }
    if (c["devnos"]) {
      absl::StatusOr<std::vector<std::string>> items = StringList(c["devnos"], "devnos");
      if (!items.ok()) return Bad(source, i, dc.name, std::string(items.status().message()));
      for (size_t j = 0; j < items->size(); ++j) {
        absl::StatusOr<DevnoRange> r = ParseDevnoRange((*items)[j]);
        if (!r.ok()) {
          return Bad(source, i, dc.name,
                     absl::StrCat("devnos[", j, "] \"", (*items)[j], "\": ", r.status().message(),
                                  " (a range looks like 0.0.0100-0.0.01ff)"));
        }
        dc.devnos.push_back(*r);
      }
    }
    if (dc.cu_types.empty() && dc.dev_types.empty() && dc.devnos.empty()) {
      return Bad(source, i, dc.name, "selects every subchannel: give cu_types, dev_types or devnos");
    }
    out.push_back(std::move(dc));
  }
  return out;
}

absl::StatusOr<std::vector<DeviceClass>> LoadDeviceClasses(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    const int err = errno;
    const std::string what = absl::StrCat("device classes file ", path, ": cannot read: ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(what)
           : err == EACCES ? absl::PermissionDeniedError(what)
                           : absl::UnavailableError(what);
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseDeviceClasses(text.str(), path);
}

absl::Status ValidateResourceDomain(std::string_view domain) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("resource domain \"", AbslView(domain), "\": ", why));
  };
  if (domain.empty()) return bad("is empty");
  if (domain.size() > 253) return bad("is longer than 253 characters");
  for (absl::string_view label : absl::StrSplit(AbslView(domain), '.')) {
    if (label.empty() || label.size() > 63) return bad("each dot-separated label must have 1 to 63 characters");
    const auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!lower_alnum(label.front()) || !lower_alnum(label.back())) {
      return bad("labels must start and end with a lower-case letter or digit");
    }
    for (char c : label) {
      if (!lower_alnum(c) && c != '-') return bad("only lower-case letters, digits, '-' and '.' are allowed");
    }
  }
  if (domain == "kubernetes.io" || absl::EndsWith(AbslView(domain), ".kubernetes.io")) {
    return bad("the kubernetes.io domain is reserved; extended resources need a domain of their own");
  }
  return absl::OkStatus();
}

bool Matches(const DeviceClass& c, const Candidate& s) {
  auto any_type = [](const std::vector<TypeSelector>& sel, const std::optional<std::pair<uint16_t, uint8_t>>& t) {
    if (sel.empty()) return true;
    if (!t) return false;
    for (const TypeSelector& x : sel) {
      if (x.Matches(*t)) return true;
    }
    return false;
  };
  if (!any_type(c.cu_types, s.cu_type) || !any_type(c.dev_types, s.dev_type)) return false;
  if (c.devnos.empty()) return true;
  if (!s.devno) return false;
  for (const DevnoRange& r : c.devnos) {
    if (r.Contains(s.ssid, *s.devno)) return true;
  }
  return false;
}

std::string DeviceUuid(uint8_t ssid, uint16_t devno) {
  // ccwpass' UUID namespace (itself a fixed random UUID; never change it: IDs
  // and mdev UUIDs of allocated devices derive from it).
  // 5c8e2b0e-917a-4f3d-a61c-2f440bd37e19
  static const uuid_t kNamespace = {0x5c, 0x8e, 0x2b, 0x0e, 0x91, 0x7a, 0x4f, 0x3d,
                                    0xa6, 0x1c, 0x2f, 0x44, 0x0b, 0xd3, 0x7e, 0x19};
  const std::string name = "ccw:" + FormatDevBusid(ssid, devno);
  uuid_t u;
  uuid_generate_sha1(u, kNamespace, name.data(), name.size());
  char text[37];
  uuid_unparse_lower(u, text);
  return text;
}

std::string EnvStem(std::string_view class_name) {
  std::string out(class_name);
  for (char& c : out) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '_';
  }
  return out;
}

}  // namespace ccwpass::agent::deviceplugin
