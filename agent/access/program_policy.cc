#include "agent/access/program_policy.h"

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/absl_view.h"
#include "translate/errors.h"
#include "yaml-cpp/yaml.h"

namespace ccwpass::agent::access {
namespace {

// "0xb4", "b4"? no: "0xb4" or decimal "180".
std::optional<uint8_t> ParseCommand(const std::string& s) {
  uint32_t v = 0;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    if (!absl::SimpleHexAtoi(absl::string_view(s).substr(2), &v)) return std::nullopt;
  } else if (!absl::SimpleAtoi(s, &v)) {
    return std::nullopt;
  }
  if (v > 0xff) return std::nullopt;
  return static_cast<uint8_t>(v);
}

absl::StatusOr<std::set<uint8_t>> Commands(const YAML::Node& n, const std::string& key) {
  if (!n.IsSequence()) return absl::InvalidArgumentError(absl::StrCat(key, ": must be a list of command codes"));
  std::set<uint8_t> out;
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string s = n[i].IsScalar() ? n[i].Scalar() : "";
    std::optional<uint8_t> c = ParseCommand(s);
    if (!c) {
      return absl::InvalidArgumentError(absl::StrCat(key, "[", i, "] \"", s, "\": not a command code 0x00..0xff"));
    }
    out.insert(*c);
  }
  return out;
}

template <typename T>
absl::StatusOr<T> Number(const YAML::Node& n, const std::string& key) {
  try {
    T v = n.as<T>();
    if (v < 0) return absl::InvalidArgumentError(absl::StrCat(key, ": must not be negative"));
    return v;
  } catch (const YAML::Exception&) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": must be a number"));
  }
}

absl::StatusOr<std::vector<deviceplugin::TypeSelector>> Types(const YAML::Node& n, const std::string& key) {
  if (!n.IsSequence()) return absl::InvalidArgumentError(absl::StrCat(key, ": must be a list"));
  std::vector<deviceplugin::TypeSelector> out;
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string s = n[i].IsScalar() ? n[i].Scalar() : "";
    std::optional<deviceplugin::TypeSelector> t = deviceplugin::ParseTypeSelector(s);
    if (!t) return absl::InvalidArgumentError(absl::StrCat(key, "[", i, "] \"", s, "\": not a hex type like 3990 or 3990/e9"));
    out.push_back(*t);
  }
  return out;
}

absl::Status ParseClass(const YAML::Node& n, ProgramClass* c) {
  std::optional<std::set<uint8_t>> deny, allow;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (key == "class") {
      c->name = v.Scalar();
    } else if (key == "cu_types" || key == "dev_types") {
      auto t = Types(v, key);
      if (!t.ok()) return t.status();
      (key == "cu_types" ? c->cu_types : c->dev_types) = std::move(*t);
    } else if (key == "deny_commands" || key == "allow_commands") {
      auto s = Commands(v, key);
      if (!s.ok()) return s.status();
      (key == "deny_commands" ? deny : allow) = std::move(*s);
    } else if (key == "max_program_bytes") {
      auto x = Number<int64_t>(v, key);
      if (!x.ok()) return x.status();
      c->max_program_bytes = static_cast<uint64_t>(*x);
    } else if (key == "max_ccw_bytes") {
      auto x = Number<int64_t>(v, key);
      if (!x.ok()) return x.status();
      if (*x > 0xffff) return absl::InvalidArgumentError("max_ccw_bytes: a CCW moves at most 65535 bytes");
      c->max_ccw_bytes = static_cast<uint32_t>(*x);
    } else if (key == "max_in_flight_per_client") {
      auto x = Number<int>(v, key);
      if (!x.ok()) return x.status();
      c->max_in_flight_per_client = *x;
    } else if (key == "rate") {
      if (!v.IsMap()) return absl::InvalidArgumentError("rate: must be {per_second: N, burst: M}");
      for (const auto& r : v) {
        const std::string k = r.first.Scalar();
        if (k != "per_second" && k != "burst") {
          return absl::InvalidArgumentError(absl::StrCat("rate: unknown key \"", k, "\" (known: per_second, burst)"));
        }
        auto x = Number<double>(r.second, "rate." + k);
        if (!x.ok()) return x.status();
        (k == "per_second" ? c->rate_per_second : c->burst) = *x;
      }
      if (c->rate_per_second <= 0) return absl::InvalidArgumentError("rate.per_second: must be more than 0");
      c->burst = std::max(1.0, c->burst);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown key \"", key,
          "\" (known: class, cu_types, dev_types, deny_commands, allow_commands, max_program_bytes, max_ccw_bytes, "
          "max_in_flight_per_client, rate)"));
    }
  }
  if (deny) c->denied = *deny;
  if (allow) {
    for (uint8_t a : *allow) c->denied.erase(a);
  }
  return absl::OkStatus();
}

bool AnyMatches(const std::vector<deviceplugin::TypeSelector>& sel,
                const std::optional<std::pair<uint16_t, uint8_t>>& t) {
  if (sel.empty()) return true;
  if (!t) return false;
  return std::any_of(sel.begin(), sel.end(), [&](const deviceplugin::TypeSelector& s) { return s.Matches(*t); });
}

}  // namespace

const char* CommandName(uint8_t cmd) {
  switch (cmd) {
    case 0xB4: return "RESERVE";
    case 0x94: return "RELEASE";
    case 0x14: return "UNCONDITIONAL RESERVE";
    case 0xAF: return "SET PATH GROUP ID";
    case 0x34: return "SENSE PATH GROUP ID";
    default: return "";
  }
}

absl::StatusOr<std::vector<ProgramClass>> ParseProgramClasses(std::string_view yaml, std::string_view source) {
  const std::string src(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(src, ": not YAML: ", e.what()));
  }
  std::vector<ProgramClass> out;
  if (!root.IsDefined() || root.IsNull() || !root.IsMap()) return out;
  const YAML::Node list = root["programs"];
  if (!list.IsDefined() || list.IsNull()) return out;
  if (!list.IsSequence()) return absl::InvalidArgumentError(absl::StrCat(src, ": programs: must be a list of classes"));
  for (size_t i = 0; i < list.size(); ++i) {
    ProgramClass c;
    c.name = absl::StrCat("programs[", i, "]");
    const YAML::Node n = list[i];
    if (!n.IsMap()) return absl::InvalidArgumentError(absl::StrCat(src, ": programs[", i, "]: must be a map"));
    if (n["class"] && n["class"].IsScalar()) c.name = n["class"].Scalar();
    if (absl::Status st = ParseClass(n, &c); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(src, ": programs[", i, "] (", c.name, "): ", st.message()));
    }
    out.push_back(std::move(c));
  }
  return out;
}

absl::Status CheckProgram(const ProgramClass& c, const translate::Program& p) {
  const auto& ccws = p.ccws();
  for (size_t i = 0; i < ccws.size(); ++i) {
    const translate::CcwInfo& ci = ccws[i];
    if (translate::IsTic(ci.guest)) continue;
    const translate::CcwLocation at{ci.guest_addr, static_cast<int>(i)};
    const uint8_t cmd = ci.guest.cmd;
    if (c.denied.count(cmd) != 0) {
      const char* name = CommandName(cmd);
      return translate::CcwError(
          absl::StatusCode::kInvalidArgument, EPERM, "deny-command",
          absl::StrFormat("policy deny-command: command 0x%02x%s is denied on class %s", cmd,
                          *name ? absl::StrCat(" (", name, ")") : "", c.name),
          at);
    }
    if (c.max_ccw_bytes != 0 && ci.moves_data && ci.guest.count > c.max_ccw_bytes) {
      return translate::CcwError(absl::StatusCode::kInvalidArgument, EPERM, "max-ccw-bytes",
                                 absl::StrFormat("policy max-ccw-bytes: command 0x%02x moves %u bytes; class %s "
                                                 "allows %u per CCW",
                                                 cmd, ci.guest.count, c.name, c.max_ccw_bytes),
                                 at);
    }
  }
  if (c.max_program_bytes != 0 && p.stats().bytes > c.max_program_bytes) {
    // The CCW at which the running total passes the limit.
    uint64_t total = 0;
    for (size_t i = 0; i < ccws.size(); ++i) {
      if (!ccws[i].moves_data) continue;
      total += ccws[i].guest.count;
      if (total > c.max_program_bytes) {
        return translate::CcwError(
            absl::StatusCode::kInvalidArgument, EPERM, "max-program-bytes",
            absl::StrFormat("policy max-program-bytes: command 0x%02x brings the program to %u bytes; class %s "
                            "allows %u per program",
                            ccws[i].guest.cmd, total, c.name, c.max_program_bytes),
            translate::CcwLocation{ccws[i].guest_addr, static_cast<int>(i)});
      }
    }
  }
  return absl::OkStatus();
}

ProgramPolicy::ProgramPolicy(std::vector<ProgramClass> classes, Clock clock)
    : classes_(std::move(classes)), clock_(std::move(clock)) {}

const ProgramClass& ProgramPolicy::ClassFor(const std::optional<std::pair<uint16_t, uint8_t>>& cu_type,
                                            const std::optional<std::pair<uint16_t, uint8_t>>& dev_type) const {
  for (const ProgramClass& c : classes_) {
    if (AnyMatches(c.cu_types, cu_type) && AnyMatches(c.dev_types, dev_type)) return c;
  }
  return default_;
}

ProgramPolicy::Admission::~Admission() {
  if (p_ == nullptr) return;
  absl::MutexLock l(&p_->mu_);
  auto it = p_->in_flight_.find(client_);
  if (it != p_->in_flight_.end() && --it->second <= 0) p_->in_flight_.erase(it);
}

absl::StatusOr<ProgramPolicy::Admission> ProgramPolicy::Admit(const ProgramClass& c, const std::string& client,
                                                              const std::string& schid) {
  absl::MutexLock l(&mu_);
  const int now_in_flight = in_flight_.count(client) ? in_flight_[client] : 0;
  if (c.max_in_flight_per_client > 0 && now_in_flight >= c.max_in_flight_per_client) {
    return absl::ResourceExhaustedError(absl::StrCat(schid, ": policy max-in-flight: ", client, " has ",
                                                     now_in_flight, " programs in flight; class ", c.name, " allows ",
                                                     c.max_in_flight_per_client));
  }
  if (c.rate_per_second > 0) {
    const absl::Time now = clock_();
    auto [it, fresh] = buckets_.try_emplace({client, schid}, Bucket{c.burst, now});
    Bucket& b = it->second;
    if (!fresh) {
      b.tokens = std::min(c.burst, b.tokens + absl::ToDoubleSeconds(now - b.last) * c.rate_per_second);
      b.last = now;
    }
    if (b.tokens < 1.0) {
      const absl::Duration wait = absl::Seconds((1.0 - b.tokens) / c.rate_per_second);
      return absl::ResourceExhaustedError(absl::StrCat(
          schid, ": policy rate: ", client, " may start ", c.rate_per_second, " programs a second (burst ", c.burst,
          ") on class ", c.name, "; try again in ", absl::FormatDuration(absl::Ceil(wait, absl::Milliseconds(1)))));
    }
    b.tokens -= 1.0;
  }
  ++in_flight_[client];
  return Admission(this, client);
}

}  // namespace ccwpass::agent::access
