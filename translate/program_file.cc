// Program files: JSON text -> ProgramFile. See program_file.h for the format.
//
// nlohmann::json throws on syntax errors; the one place that can throw is
// ParseProgramFile's parse call, which catches and turns the exception into a
// Status with the line and column. Everything after it uses type-checked
// accessors only (is_*() before get*()), and a last catch of json::exception
// guards that promise.
#include "translate/program_file.h"

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "translate/errors.h"

namespace ccwpass::translate {
namespace {

using Json = nlohmann::json;

// The path of the document itself in messages.
constexpr absl::string_view kTopLevel = "(top level)";

constexpr absl::string_view kNumberForms = "a JSON unsigned integer or a \"0x...\" hex string";

absl::Status Err(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// "orb" + "lpm" -> "orb.lpm"; a key of the document itself is its own path.
std::string Child(absl::string_view path, absl::string_view key) {
  if (path == kTopLevel) return std::string(key);
  return absl::StrCat(path, ".", key);
}

// "ccws" + 2 -> "ccws[2]".
std::string Elem(absl::string_view path, size_t i) { return absl::StrCat(path, "[", i, "]"); }

// A JSON value as it appears in the file, cut short for messages.
std::string Shown(const Json& v) {
  std::string s = v.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

// "0..255" for small limits, "0..0x7fffffff" for addresses and sizes.
std::string RangeText(uint64_t max) {
  return max <= 0xFFFF ? absl::StrFormat("0..%d", max) : absl::StrFormat("0..0x%x", max);
}

// A character of the input for messages: itself when printable, else \xNN.
std::string CharText(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7F) return absl::StrFormat("'%c'", c);
  return absl::StrFormat("'\\x%02x'", u);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A number: a JSON unsigned integer, or a string "0x" followed by hex digits.
// `max` bounds it; `why` (may be empty) explains the bound in the message.
absl::StatusOr<uint64_t> Number(const Json& v, absl::string_view path, uint64_t max,
                                absl::string_view why = "") {
  uint64_t x = 0;
  if (v.is_number_unsigned()) {
    x = v.get<uint64_t>();
  } else if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
      return Err(path, absl::StrFormat("%s is not a number: write %s (decimal strings are not accepted)",
                                       Shown(v), kNumberForms));
    }
    if (s.size() == 2) return Err(path, absl::StrFormat("%s has no hex digits after 0x", Shown(v)));
    for (size_t i = 2; i < s.size(); ++i) {
      const int d = HexDigit(s[i]);
      if (d < 0) {
        return Err(path, absl::StrFormat("%s is not a hex number: %s is not a hex digit", Shown(v),
                                         CharText(s[i])));
      }
      if (x > (std::numeric_limits<uint64_t>::max() >> 4)) {
        return Err(path, absl::StrFormat("%s is out of range %s%s", Shown(v), RangeText(max), why));
      }
      x = (x << 4) | static_cast<uint64_t>(d);
    }
  } else if (v.is_number_integer()) {
    return Err(path, absl::StrFormat("%s is negative: expected %s", Shown(v), kNumberForms));
  } else if (v.is_number_float()) {
    return Err(path, absl::StrFormat("%s is not an unsigned integer: expected %s", Shown(v), kNumberForms));
  } else {
    return Err(path, absl::StrFormat("expected %s, got %s %s", kNumberForms, v.type_name(), Shown(v)));
  }
  if (x > max) return Err(path, absl::StrFormat("%s is out of range %s%s", Shown(v), RangeText(max), why));
  return x;
}

absl::StatusOr<bool> Bool(const Json& v, absl::string_view path) {
  if (!v.is_boolean()) return Err(path, absl::StrFormat("expected true or false, got %s", Shown(v)));
  return v.get<bool>();
}

// Hex data: pairs of hex digits of either case; whitespace anywhere.
absl::StatusOr<std::vector<uint8_t>> HexData(const Json& v, absl::string_view path) {
  if (!v.is_string()) {
    return Err(path, absl::StrFormat("expected a string of hex digits, got %s %s", v.type_name(), Shown(v)));
  }
  const std::string& s = v.get_ref<const std::string&>();
  std::vector<uint8_t> out;
  out.reserve(s.size() / 2);
  int high = -1;  // the first digit of a pair, while waiting for the second
  size_t digits = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    const int d = HexDigit(c);
    if (d < 0) {
      return Err(path, absl::StrFormat("%s at offset %d is not a hex digit (hex data is pairs of "
                                       "0-9, a-f, A-F, with optional whitespace)",
                                       CharText(c), i));
    }
    ++digits;
    if (high < 0) {
      high = d;
    } else {
      out.push_back(static_cast<uint8_t>((high << 4) | d));
      high = -1;
    }
  }
  if (high >= 0) {
    return Err(path, absl::StrFormat("odd number of hex digits (%d): each byte takes two", digits));
  }
  return out;
}

// Checks that `v` is an object whose keys are all in `allowed`.
absl::Status CheckObject(const Json& v, absl::string_view path, std::initializer_list<absl::string_view> allowed,
                         absl::string_view note = "") {
  if (!v.is_object()) {
    return Err(path, absl::StrFormat("expected a JSON object, got %s %s", v.type_name(), Shown(v)));
  }
  for (const auto& [key, value] : v.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Err(Child(path, key),
                 absl::StrFormat("unknown key (expected %s)%s", absl::StrJoin(allowed, ", "), note));
    }
  }
  return absl::OkStatus();
}

// The member `key` of object `obj`, or nullptr.
const Json* Member(const Json& obj, absl::string_view key) {
  auto it = obj.find(std::string(key));
  return it == obj.end() ? nullptr : &*it;
}

// --- raw form ---

struct OrbBit {
  absl::string_view name;
  bool Orb::*field;
};
constexpr OrbBit kOrbBits[] = {
    {"spnd", &Orb::spnd}, {"str", &Orb::str},   {"mod", &Orb::mod},     {"sync", &Orb::sync},
    {"pfch", &Orb::pfch}, {"isic", &Orb::isic}, {"alcc", &Orb::alcc},   {"ssic", &Orb::ssic},
    {"tm", &Orb::tm},     {"c64", &Orb::c64},   {"i2k", &Orb::i2k},     {"ils", &Orb::ils},
    {"midaw", &Orb::midaw}, {"orbx", &Orb::orbx},
};

absl::StatusOr<Orb> ParseRawOrb(const Json& v, absl::string_view path) {
  if (auto s = CheckObject(v, path,
                           {"intparm", "key", "spnd", "str", "mod", "sync", "fmt", "pfch", "isic", "alcc",
                            "ssic", "tm", "c64", "i2k", "lpm", "ils", "midaw", "orbx", "cpa"});
      !s.ok()) {
    return s;
  }
  Orb orb;
  orb.lpm = 0xFF;
  for (const OrbBit& bit : kOrbBits) {
    if (const Json* m = Member(v, bit.name)) {
      auto b = Bool(*m, Child(path, bit.name));
      if (!b.ok()) return b.status();
      orb.*bit.field = *b;
    }
  }
  if (const Json* m = Member(v, "fmt")) {
    auto x = Number(*m, Child(path, "fmt"), 1, " (0: format-0 CCWs, 1: format-1 CCWs)");
    if (!x.ok()) return x.status();
    orb.fmt = *x == 1;
  }
  if (const Json* m = Member(v, "key")) {
    auto x = Number(*m, Child(path, "key"), 0xF);
    if (!x.ok()) return x.status();
    orb.key = static_cast<uint8_t>(*x);
  }
  if (const Json* m = Member(v, "lpm")) {
    auto x = Number(*m, Child(path, "lpm"), 0xFF);
    if (!x.ok()) return x.status();
    orb.lpm = static_cast<uint8_t>(*x);
  }
  if (const Json* m = Member(v, "intparm")) {
    auto x = Number(*m, Child(path, "intparm"), 0xFFFFFFFF);
    if (!x.ok()) return x.status();
    orb.intparm = static_cast<uint32_t>(*x);
  }
  // The CPA is a 32-bit word; whether it is a valid 31-bit, aligned address is
  // the translator's rule to police (cpa-invalid, EINVAL), not a syntax error.
  if (const Json* m = Member(v, "cpa")) {
    auto x = Number(*m, Child(path, "cpa"), 0xFFFFFFFF);
    if (!x.ok()) return x.status();
    orb.cpa = static_cast<uint32_t>(*x);
  }
  return orb;
}

absl::StatusOr<std::unique_ptr<SparseGuestMemory>> ParseMemory(const Json& v, absl::string_view path) {
  if (auto s = CheckObject(v, path, {"size", "segments"}); !s.ok()) return s;
  const Json* size_json = Member(v, "size");
  if (size_json == nullptr) return Err(path, "missing \"size\" (the memory size in bytes)");
  auto size = Number(*size_json, Child(path, "size"), kMaxRawMemorySize, " (the 31-bit addressing limit)");
  if (!size.ok()) return size.status();
  auto memory = std::make_unique<SparseGuestMemory>(*size);

  const Json* segs = Member(v, "segments");
  if (segs == nullptr) return memory;
  const std::string segs_path = Child(path, "segments");
  if (!segs->is_array()) {
    return Err(segs_path, absl::StrFormat("expected an array of {\"addr\", \"hex\"} objects, got %s %s",
                                          segs->type_name(), Shown(*segs)));
  }
  struct Extent {
    uint64_t begin;
    uint64_t end;  // exclusive
    size_t index;
  };
  std::vector<Extent> extents;
  for (size_t i = 0; i < segs->size(); ++i) {
    const Json& seg = (*segs)[i];
    const std::string p = Elem(segs_path, i);
    if (auto s = CheckObject(seg, p, {"addr", "hex"}); !s.ok()) return s;
    const Json* addr_json = Member(seg, "addr");
    const Json* hex_json = Member(seg, "hex");
    if (addr_json == nullptr) return Err(p, "missing \"addr\" (the address of the segment's first byte)");
    if (hex_json == nullptr) return Err(p, "missing \"hex\" (the segment's bytes in hex)");
    auto addr = Number(*addr_json, Child(p, "addr"), std::numeric_limits<uint64_t>::max());
    if (!addr.ok()) return addr.status();
    auto bytes = HexData(*hex_json, Child(p, "hex"));
    if (!bytes.ok()) return bytes.status();
    if (bytes->empty()) return Err(Child(p, "hex"), "no hex digits: a segment holds at least one byte");
    if (!memory->Contains(*addr, bytes->size())) {
      return Err(p, absl::StrFormat("%d bytes at 0x%x lie outside memory.size 0x%x", bytes->size(), *addr,
                                    *size));
    }
    if (auto s = memory->Write(*addr, *bytes); !s.ok()) return Err(p, s.message());
    extents.push_back({*addr, *addr + bytes->size(), i});
  }
  // Overlaps: after sorting by start, only neighbours can overlap first.
  std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.index < b.index;
  });
  for (size_t k = 1; k < extents.size(); ++k) {
    const Extent& a = extents[k - 1];
    const Extent& b = extents[k];
    if (b.begin < a.end) {
      const Extent& first = a.index < b.index ? a : b;
      const Extent& second = a.index < b.index ? b : a;
      return Err(Elem(segs_path, second.index),
                 absl::StrFormat("bytes 0x%x..0x%x overlap %s (0x%x..0x%x)", second.begin, second.end - 1,
                                 Elem(segs_path, first.index), first.begin, first.end - 1));
    }
  }
  return memory;
}

absl::StatusOr<ProgramFile> ParseRaw(const Json& doc) {
  ProgramFile out;
  out.form = ProgramFile::Form::kRaw;
  const Json* orb = Member(doc, "orb");
  if (orb == nullptr) {
    return Err(kTopLevel, "the raw form (\"memory\") needs an \"orb\" with at least \"cpa\"");
  }
  auto parsed_orb = ParseRawOrb(*orb, "orb");
  if (!parsed_orb.ok()) return parsed_orb.status();
  out.orb = *parsed_orb;
  auto memory = ParseMemory(*Member(doc, "memory"), "memory");
  if (!memory.ok()) return memory.status();
  out.memory = *std::move(memory);
  return out;
}

// --- structural form ---

struct FlagName {
  absl::string_view name;
  uint8_t bit;
};
constexpr FlagName kFlagNames[] = {
    {"CD", ccw_flag::kCd},     {"CC", ccw_flag::kCc},   {"SLI", ccw_flag::kSli},
    {"SKIP", ccw_flag::kSkip}, {"PCI", ccw_flag::kPci}, {"IDA", ccw_flag::kIda},
    {"SUSPEND", ccw_flag::kSuspend}, {"MIDA", ccw_flag::kMida},
};
constexpr absl::string_view kFlagList = "CD, CC, SLI, SKIP, PCI, IDA, SUSPEND, MIDA";

absl::StatusOr<uint8_t> ParseFlags(const Json& v, absl::string_view path) {
  if (!v.is_array()) {
    return Err(path, absl::StrFormat("expected an array of flag names (%s), got %s", kFlagList, Shown(v)));
  }
  uint8_t flags = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const Json& f = v[i];
    const std::string p = Elem(path, i);
    if (!f.is_string()) return Err(p, absl::StrFormat("expected a flag name (%s), got %s", kFlagList, Shown(f)));
    const std::string& name = f.get_ref<const std::string&>();
    const FlagName* found = nullptr;
    for (const FlagName& fn : kFlagNames) {
      if (fn.name == name) found = &fn;
    }
    if (found == nullptr) {
      return Err(p, absl::StrFormat("unknown flag %s (expected %s)", Shown(f), kFlagList));
    }
    if (flags & found->bit) return Err(p, absl::StrFormat("duplicate flag %s", Shown(f)));
    flags |= found->bit;
  }
  return flags;
}

absl::StatusOr<CcwSpec> ParseCcw(const Json& v, absl::string_view path) {
  if (auto s = CheckObject(v, path, {"cmd", "flags", "count", "data", "tic"}); !s.ok()) return s;
  CcwSpec spec;
  if (const Json* tic = Member(v, "tic")) {
    for (absl::string_view other : {"cmd", "flags", "count", "data"}) {
      if (Member(v, other) != nullptr) {
        return Err(path, absl::StrFormat("a TIC takes only \"tic\" (its target's index); remove \"%s\"", other));
      }
    }
    auto target = Number(*tic, Child(path, "tic"), 0xFFFF, " (a CCW index)");
    if (!target.ok()) return target.status();
    spec.tic = static_cast<int>(*target);
    return spec;
  }
  const Json* cmd = Member(v, "cmd");
  if (cmd == nullptr) return Err(path, "missing \"cmd\" (or \"tic\" for a TIC)");
  auto code = Number(*cmd, Child(path, "cmd"), 0xFF);
  if (!code.ok()) return code.status();
  if (*code == ccw_cmd::kTic) {
    return Err(Child(path, "cmd"), "0x08 is TIC: write {\"tic\": <index of the target CCW>} instead");
  }
  spec.cmd = static_cast<uint8_t>(*code);
  if (const Json* flags = Member(v, "flags")) {
    auto f = ParseFlags(*flags, Child(path, "flags"));
    if (!f.ok()) return f.status();
    spec.flags = *f;
  }
  if (const Json* count = Member(v, "count")) {
    auto c = Number(*count, Child(path, "count"), 0xFFFF);
    if (!c.ok()) return c.status();
    spec.count = static_cast<uint32_t>(*c);
  }
  if (const Json* data = Member(v, "data")) {
    auto d = HexData(*data, Child(path, "data"));
    if (!d.ok()) return d.status();
    spec.data = *std::move(d);
  }
  return spec;
}

absl::StatusOr<BuildOptions> ParseBuildOptions(const Json& v, absl::string_view path) {
  if (auto s = CheckObject(v, path, {"lpm", "intparm", "pfch", "ils", "isic", "key"},
                           "; the builder sets fmt, c64 and cpa itself");
      !s.ok()) {
    return s;
  }
  BuildOptions o;
  if (const Json* m = Member(v, "lpm")) {
    auto x = Number(*m, Child(path, "lpm"), 0xFF);
    if (!x.ok()) return x.status();
    o.lpm = static_cast<uint8_t>(*x);
  }
  if (const Json* m = Member(v, "intparm")) {
    auto x = Number(*m, Child(path, "intparm"), 0xFFFFFFFF);
    if (!x.ok()) return x.status();
    o.intparm = static_cast<uint32_t>(*x);
  }
  if (const Json* m = Member(v, "key")) {
    auto x = Number(*m, Child(path, "key"), 0xF);
    if (!x.ok()) return x.status();
    o.key = static_cast<uint8_t>(*x);
  }
  for (auto [name, field] : {std::pair<absl::string_view, bool BuildOptions::*>{"pfch", &BuildOptions::pfch},
                             {"ils", &BuildOptions::ils},
                             {"isic", &BuildOptions::isic}}) {
    if (const Json* m = Member(v, name)) {
      auto b = Bool(*m, Child(path, name));
      if (!b.ok()) return b.status();
      o.*field = *b;
    }
  }
  return o;
}

absl::StatusOr<ProgramFile> ParseStructural(const Json& doc) {
  const Json& list = *Member(doc, "ccws");
  if (!list.is_array()) {
    return Err("ccws", absl::StrFormat("expected an array of CCW objects, got %s %s", list.type_name(),
                                       Shown(list)));
  }
  if (list.empty()) return Err("ccws", "empty: a channel program needs at least one CCW");
  std::vector<CcwSpec> specs;
  specs.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    auto spec = ParseCcw(list[i], Elem("ccws", i));
    if (!spec.ok()) return spec.status();
    specs.push_back(*std::move(spec));
  }
  BuildOptions options;
  if (const Json* orb = Member(doc, "orb")) {
    auto o = ParseBuildOptions(*orb, "orb");
    if (!o.ok()) return o.status();
    options = *o;
  }
  auto built = BuildProgram(specs, options);
  if (!built.ok()) return built.status();
  ProgramFile out;
  out.form = ProgramFile::Form::kStructural;
  out.orb = built->orb;
  out.memory = std::move(built->memory);
  out.ccws = std::move(specs);
  out.ccw_addrs = std::move(built->ccw_addrs);
  return out;
}

// --- the document ---

// Finds the first key that occurs twice in one object (nlohmann keeps the last
// silently), with its JSON path, through the parser's callback.
class DuplicateKeyFinder {
 public:
  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        StartElement();
        frames_.push_back(Frame{event == Json::parse_event_t::array_start});
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!frames_.empty() && parsed.is_string()) {
          Frame& top = frames_.back();
          top.key = parsed.get<std::string>();
          if (!top.keys.insert(top.key).second && !error_.has_value()) {
            error_ = Err(Child(PathOfTop(), top.key), "duplicate key (each key may appear once in an object)");
          }
        }
        break;
      case Json::parse_event_t::value:
        StartElement();
        break;
    }
    return true;
  }

  const std::optional<absl::Status>& error() const { return error_; }

 private:
  struct Frame {
    bool array = false;
    bool started = false;  // arrays: an element has begun
    size_t index = 0;      // arrays: the current element
    std::string key;       // objects: the current key
    absl::flat_hash_set<std::string> keys;
  };

  // A value begins: in an array it is the next element.
  void StartElement() {
    if (frames_.empty() || !frames_.back().array) return;
    Frame& top = frames_.back();
    top.index = top.started ? top.index + 1 : 0;
    top.started = true;
  }

  std::string PathOfTop() const {
    std::string p(kTopLevel);
    for (size_t i = 0; i + 1 < frames_.size(); ++i) {
      p = frames_[i].array ? Elem(p, frames_[i].index) : Child(p, frames_[i].key);
    }
    return p;
  }

  std::vector<Frame> frames_;
  std::optional<absl::Status> error_;
};

// Line and column (1-based) of the 0-based byte offset `pos` in `text`.
std::pair<size_t, size_t> LineColumn(absl::string_view text, size_t pos) {
  pos = std::min(pos, text.size());
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, pos - line_start + 1};
}

absl::StatusOr<ProgramFile> ParseDocument(absl::string_view text) {
  DuplicateKeyFinder dups;
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end(), std::ref(dups));
  } catch (const Json::parse_error& e) {
    // e.byte: 1-based index of the last character read (size + 1 at the end).
    const auto [line, column] = LineColumn(text, e.byte == 0 ? 0 : e.byte - 1);
    // e.what(): "[json.exception.parse_error.101] parse error at line 1, column 4: <detail>".
    std::string detail = e.what();
    if (size_t colon = detail.find(": "); colon != std::string::npos) detail = detail.substr(colon + 2);
    return absl::InvalidArgumentError(
        absl::StrFormat("line %d column %d: JSON syntax error: %s", line, column, detail));
  }
  if (dups.error().has_value()) return *dups.error();

  if (!doc.is_object()) {
    return Err(kTopLevel, absl::StrFormat("expected a JSON object with \"ccws\" (structural form) or "
                                          "\"orb\" and \"memory\" (raw form), got %s",
                                          doc.type_name()));
  }
  const bool structural = Member(doc, "ccws") != nullptr;
  const bool raw = Member(doc, "memory") != nullptr;
  if (structural && raw) {
    return Err(kTopLevel, "both \"ccws\" (structural form) and \"memory\" (raw form): a file has one form");
  }
  if (!structural && !raw) {
    return Err(kTopLevel, "neither \"ccws\" (structural form) nor \"memory\" (raw form)");
  }
  if (structural) {
    if (auto s = CheckObject(doc, kTopLevel, {"ccws", "orb"}, " for the structural form"); !s.ok()) return s;
    return ParseStructural(doc);
  }
  if (auto s = CheckObject(doc, kTopLevel, {"orb", "memory"}, " for the raw form"); !s.ok()) return s;
  return ParseRaw(doc);
}

}  // namespace

int ProgramFile::ListIndexOf(uint64_t addr) const {
  if (form != Form::kStructural) return -1;
  auto it = std::find(ccw_addrs.begin(), ccw_addrs.end(), addr);
  return it == ccw_addrs.end() ? -1 : static_cast<int>(it - ccw_addrs.begin());
}

absl::StatusOr<ProgramFile> ParseProgramFile(absl::string_view text) {
  try {
    return ParseDocument(text);
  } catch (const nlohmann::json::exception& e) {
    // Not expected: every access above is type-checked first.
    return absl::InternalError(absl::StrCat("program file: unexpected JSON library error: ", e.what()));
  }
}

}  // namespace ccwpass::translate
