// Host descriptions: YAML text -> HostConfig. See host_config.h and
// docs/host-description.md for the format.
//
// yaml-cpp throws on syntax errors (and on too-deep nesting); the one place
// that may throw is the load, which turns the exception into a Status with the
// line and column. Everything after it walks the node tree with type checks
// first (IsMap / IsSequence / IsScalar) and reads scalars as text, which the
// small parsers here turn into numbers; a last catch guards that promise.
#include "sim/host_config.h"

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/busid.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace ccwpass::sim {
namespace {

using Yaml = YAML::Node;

// The path of the document itself in messages.
constexpr char kTopLevel[] = "(top level)";

// The largest host file LoadHostConfig reads.
constexpr uintmax_t kMaxFileSize = 16u << 20;

struct Dasd3390Model {
  const char* name;
  uint32_t cylinders;
};
// Hercules dasdtab: the primary cylinders of each 3390 model.
constexpr Dasd3390Model kDasd3390Models[] = {
    {"3390-1", 1113}, {"3390-2", 2226}, {"3390-3", 3339}, {"3390-9", 10017}, {"3390-27", 32760}, {"3390-54", 65520},
};

constexpr const char* kSubchannelTypeNames[] = {"io", "chsc", "message", "eadm"};

// Abseil here has its own absl::string_view, which a std::string_view does not
// convert to; messages take std::string.
std::string Str(std::string_view v) { return std::string(v); }


// Text from the input as it appears in messages: quoted, cut short, C-escaped.
std::string Quoted(std::string_view text) {
  const std::string_view shown = text.substr(0, 40);
  return absl::StrCat("\"", absl::CHexEscape(absl::string_view(shown.data(), shown.size())),
                      text.size() > shown.size() ? "..." : "", "\"");
}

// Whether every character of `s` passes `pred` (absl::ascii_isxdigit, ...).
bool AllOf(std::string_view s, bool (*pred)(unsigned char)) {
  return std::all_of(s.begin(), s.end(), [pred](char c) { return pred(static_cast<unsigned char>(c)); });
}

std::string CharText(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return absl::StrFormat("'%c'", c);
  return absl::StrFormat("'\\x%02x'", u);
}

// What a node is, for "expected X, got Y".
std::string Kind(const Yaml& v) {
  switch (v.Type()) {
    case YAML::NodeType::Null:
      return "nothing (null)";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return Quoted(v.Scalar());
    default:
      return "nothing";
  }
}

std::string Child(std::string_view path, std::string_view key) {
  if (path == kTopLevel) return Str(key);
  return absl::StrCat(Str(path), ".", Str(key));
}

std::string Elem(std::string_view path, size_t i) { return absl::StrCat(Str(path), "[", i, "]"); }

// One key: value pair of a mapping.
struct Field {
  std::string key;
  Yaml value;
};

const Field* Find(const std::vector<Field>& fields, std::string_view key) {
  for (const Field& f : fields) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

// Records where each document starts; ignores the rest.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> marks;

  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Where one subchannel entry of the file went.
struct Entry {
  size_t index = 0;    // subchannels[index]
  uint32_t count = 1;
  uint8_t ssid = 0;
  uint16_t first_schno = 0;
  bool has_devno = false;
  uint16_t first_devno = 0;
  YAML::Mark schid_mark;
  YAML::Mark devno_mark;
};

class Parser {
 public:
  Parser(std::string_view source, std::string_view base_dir, bool check_images)
      : source_(source), base_dir_(base_dir), check_images_(check_images) {}

  absl::StatusOr<HostConfig> Parse(std::string_view text);

 private:
  absl::Status Err(const YAML::Mark& mark, std::string_view path, std::string_view what) const {
    std::string where = source_;
    if (mark.line >= 0) {
      absl::StrAppend(&where, where.empty() ? "" : ":", mark.line + 1, ":", mark.column + 1);
    }
    return absl::InvalidArgumentError(absl::StrCat(where, where.empty() ? "" : ": ", Str(path), ": ", Str(what)));
  }
  absl::Status Err(const Yaml& node, std::string_view path, std::string_view what) const {
    return Err(node.Mark(), path, what);
  }

  absl::StatusOr<std::vector<Field>> Fields(const Yaml& v, std::string_view path,
                                            std::initializer_list<const char*> allowed) const;
  absl::StatusOr<std::string> Text(const Yaml& v, std::string_view path, std::string_view expected) const;
  absl::StatusOr<bool> Bool(const Yaml& v, std::string_view path) const;
  absl::StatusOr<uint32_t> Hex(const Yaml& v, std::string_view path, int max_digits) const;
  absl::StatusOr<uint64_t> Decimal(const Yaml& v, std::string_view path, uint64_t min, uint64_t max,
                                   std::string_view why) const;
  absl::StatusOr<std::vector<uint8_t>> HexBytes(const Yaml& v, std::string_view path) const;
  // Set `out` from the field `key` of `fields` under `path`; leave it when absent.
  absl::Status OptBool(const std::vector<Field>& fields, const char* key, std::string_view path, bool& out) const;
  absl::Status OptHex8(const std::vector<Field>& fields, const char* key, std::string_view path,
                       uint8_t& out) const;

  absl::Status ParseChannelPaths(const Yaml& v, std::vector<ChannelPathConfig>& out);
  absl::Status ParseChannelPath(const Yaml& v, const std::string& path, ChannelPathConfig& out) const;
  absl::Status ParseSubchannel(const Yaml& v, size_t index, Entry& entry, SubchannelConfig& out) const;
  absl::Status ParseChpids(const Yaml& v, const std::string& path, SubchannelConfig& out, size_t& listed) const;
  absl::Status ParseMask(const Yaml& v, const std::string& path, size_t listed, uint8_t& out) const;
  absl::Status ParseDevice(const Yaml& v, const std::string& path, SubchannelConfig& sch, uint32_t count) const;
  absl::Status ParseFaults(const Yaml& v, const std::string& path, FaultConfig& out) const;
  absl::Status CheckDuplicates(const std::vector<Entry>& entries, const std::vector<SubchannelConfig>& subs) const;

  std::string DefinedChpids() const;

  std::string source_;
  std::string base_dir_;
  bool check_images_;
  // Which CHPIDs channel_paths defines, and where (index into channel_paths).
  std::array<int, 256> chp_index_{};
};

absl::StatusOr<std::vector<Field>> Parser::Fields(const Yaml& v, std::string_view path,
                                                  std::initializer_list<const char*> allowed) const {
  if (!v.IsMap()) {
    return Err(v, path,
               absl::StrFormat("expected a mapping with keys %s; got %s", absl::StrJoin(allowed, ", "), Kind(v)));
  }
  std::vector<Field> fields;
  for (const auto& pair : v) {
    const Yaml key = pair.first;  // copies: the iterator's pair is a temporary
    if (!key.IsScalar()) return Err(key, path, absl::StrFormat("a key must be a plain name, got %s", Kind(key)));
    const std::string& name = key.Scalar();
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return name == a; }) == allowed.end()) {
      return Err(key, Child(path, name), absl::StrFormat("unknown key (expected %s)", absl::StrJoin(allowed, ", ")));
    }
    if (Find(fields, name) != nullptr) {
      return Err(key, Child(path, name), "the key appears twice in this mapping");
    }
    fields.push_back({name, pair.second});
  }
  return fields;
}

absl::StatusOr<std::string> Parser::Text(const Yaml& v, std::string_view path, std::string_view expected) const {
  if (!v.IsScalar()) return Err(v, path, absl::StrFormat("expected %s, got %s", Str(expected), Kind(v)));
  return v.Scalar();
}

absl::StatusOr<bool> Parser::Bool(const Yaml& v, std::string_view path) const {
  auto t = Text(v, path, "true or false");
  if (!t.ok()) return t.status();
  if (*t == "true" || *t == "True" || *t == "TRUE") return true;
  if (*t == "false" || *t == "False" || *t == "FALSE") return false;
  return Err(v, path, absl::StrFormat("expected true or false, got %s", Quoted(*t)));
}

// A hex number of at most `max_digits` digits, with an optional 0x prefix:
// "15", "0x15", "1B". The fields that sysfs shows in hex are hex here too.
absl::StatusOr<uint32_t> Parser::Hex(const Yaml& v, std::string_view path, int max_digits) const {
  const std::string range = max_digits == 2 ? "00..ff" : "0000..ffff";
  const std::string expected = absl::StrFormat("a hex number %s (1 to %d hex digits, optional 0x prefix)", range,
                                               max_digits);
  auto t = Text(v, path, expected);
  if (!t.ok()) return t.status();
  std::string_view s = *t;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  uint32_t x = 0;
  if (s.empty() || s.size() > static_cast<size_t>(max_digits) || !AllOf(s, absl::ascii_isxdigit) ||
      !absl::SimpleHexAtoi(absl::string_view(s.data(), s.size()), &x)) {
    return Err(v, path, absl::StrFormat("%s is not %s", Quoted(*t), expected));
  }
  return x;
}

// A decimal number (or 0x hex) in min..max; `why` explains the bound.
absl::StatusOr<uint64_t> Parser::Decimal(const Yaml& v, std::string_view path, uint64_t min, uint64_t max,
                                         std::string_view why) const {
  auto t = Text(v, path, "a decimal number");
  if (!t.ok()) return t.status();
  std::string_view s = *t;
  const std::string range = absl::StrFormat("%d..%d%s", min, max, Str(why));
  if (!s.empty() && s[0] == '-') {
    return Err(v, path, absl::StrFormat("%s is negative: expected a number in %s", Quoted(*t), range));
  }
  const bool hex = s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  if (hex) s.remove_prefix(2);
  if (s.empty() || !AllOf(s, hex ? absl::ascii_isxdigit : absl::ascii_isdigit)) {
    return Err(v, path, absl::StrFormat("%s is not a number: expected decimal digits (or 0x and hex digits) in %s",
                                        Quoted(*t), range));
  }
  // All digits: the conversion fails only on overflow.
  uint64_t x = 0;
  const absl::string_view digits(s.data(), s.size());
  const bool fits = hex ? absl::SimpleHexAtoi(digits, &x) : absl::SimpleAtoi(digits, &x);
  if (!fits || x < min || x > max) return Err(v, path, absl::StrFormat("%s is out of range %s", Quoted(*t), range));
  return x;
}

// Hex data: pairs of hex digits of either case, whitespace anywhere; 1..32 bytes.
absl::StatusOr<std::vector<uint8_t>> Parser::HexBytes(const Yaml& v, std::string_view path) const {
  auto t = Text(v, path, "a string of hex digits (1 to 32 bytes)");
  if (!t.ok()) return t.status();
  std::string digits;
  for (size_t i = 0; i < t->size(); ++i) {
    const char c = (*t)[i];
    if (c == ' ' || c == '\t') continue;
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return Err(v, path, absl::StrFormat("%s at offset %d is not a hex digit (sense bytes are pairs of 0-9, a-f, "
                                          "A-F, spaces allowed, no 0x)",
                                          CharText(c), i));
    }
    digits.push_back(c);
  }
  if (digits.size() % 2 != 0) {
    return Err(v, path, absl::StrFormat("odd number of hex digits (%d): each byte takes two", digits.size()));
  }
  const std::string bytes = absl::HexStringToBytes(digits);
  if (bytes.empty() || bytes.size() > kMaxSenseBytes) {
    return Err(v, path, absl::StrFormat("%d bytes: expected 1 to %d sense bytes", bytes.size(), kMaxSenseBytes));
  }
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

absl::Status Parser::OptBool(const std::vector<Field>& fields, const char* key, std::string_view path,
                             bool& out) const {
  const Field* f = Find(fields, key);
  if (f == nullptr) return absl::OkStatus();
  auto b = Bool(f->value, Child(path, key));
  if (!b.ok()) return b.status();
  out = *b;
  return absl::OkStatus();
}

absl::Status Parser::OptHex8(const std::vector<Field>& fields, const char* key, std::string_view path,
                             uint8_t& out) const {
  const Field* f = Find(fields, key);
  if (f == nullptr) return absl::OkStatus();
  auto h = Hex(f->value, Child(path, key), 2);
  if (!h.ok()) return h.status();
  out = static_cast<uint8_t>(*h);
  return absl::OkStatus();
}

std::string Parser::DefinedChpids() const {
  std::vector<std::string> ids;
  for (int c = 0; c < 256; ++c) {
    if (chp_index_[c] >= 0) ids.push_back(absl::StrFormat("%02x", c));
  }
  if (ids.empty()) return "none defined";
  if (ids.size() > 16) {
    ids.resize(16);
    ids.push_back("...");
  }
  return absl::StrCat("defined: ", absl::StrJoin(ids, ", "));
}

absl::Status Parser::ParseChannelPath(const Yaml& v, const std::string& path, ChannelPathConfig& out) const {
  auto fields = Fields(v, path, {"chpid", "type", "online", "shared", "chid"});
  if (!fields.ok()) return fields.status();
  const Field* chpid = Find(*fields, "chpid");
  if (chpid == nullptr) return Err(v, path, "chpid is required (a hex CHPID like 0x15)");
  auto c = Hex(chpid->value, Child(path, "chpid"), 2);
  if (!c.ok()) return c.status();
  out.chpid = static_cast<uint8_t>(*c);
  if (auto s = OptHex8(*fields, "type", path, out.type); !s.ok()) return s;
  if (auto s = OptBool(*fields, "online", path, out.online); !s.ok()) return s;
  if (auto s = OptBool(*fields, "shared", path, out.shared); !s.ok()) return s;
  if (const Field* f = Find(*fields, "chid")) {
    auto h = Hex(f->value, Child(path, "chid"), 4);
    if (!h.ok()) return h.status();
    out.chid = absl::StrFormat("%04x", *h);
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseChannelPaths(const Yaml& v, std::vector<ChannelPathConfig>& out) {
  const std::string path = "channel_paths";
  if (!v.IsSequence()) return Err(v, path, absl::StrFormat("expected a sequence of channel paths, got %s", Kind(v)));
  for (size_t i = 0; i < v.size(); ++i) {
    const Yaml item = v[i];
    ChannelPathConfig chp;
    if (auto s = ParseChannelPath(item, Elem(path, i), chp); !s.ok()) return s;
    if (chp_index_[chp.chpid] >= 0) {
      return Err(item, Child(Elem(path, i), "chpid"),
                 absl::StrFormat("CHPID 0x%02x is already defined by channel_paths[%d]", chp.chpid,
                                 chp_index_[chp.chpid]));
    }
    chp_index_[chp.chpid] = static_cast<int>(i);
    out.push_back(std::move(chp));
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseChpids(const Yaml& v, const std::string& path, SubchannelConfig& out,
                                 size_t& listed) const {
  if (!v.IsSequence()) {
    return Err(v, path, absl::StrFormat("expected a sequence of up to 8 hex CHPIDs like [0x15, 0x16], got %s", Kind(v)));
  }
  if (v.size() > out.chpids.size()) {
    return Err(v, path, absl::StrFormat("%d CHPIDs listed: a subchannel has at most 8 (PMCW CHPID 0..7)", v.size()));
  }
  listed = v.size();
  for (size_t i = 0; i < v.size(); ++i) {
    const Yaml item = v[i];
    auto c = Hex(item, Elem(path, i), 2);
    if (!c.ok()) return c.status();
    if (chp_index_[*c] < 0) {
      return Err(item, Elem(path, i),
                 absl::StrFormat("CHPID 0x%02x is not in channel_paths (%s)", *c, DefinedChpids()));
    }
    for (size_t j = 0; j < i; ++j) {
      if (out.chpids[j] == *c) {
        return Err(item, Elem(path, i), absl::StrFormat("CHPID 0x%02x is already in slot %d", *c, j));
      }
    }
    out.chpids[i] = static_cast<uint8_t>(*c);
    out.pim |= static_cast<uint8_t>(0x80u >> i);
  }
  return absl::OkStatus();
}

// A path mask (PIM, PAM or POM): hex 00..ff, bit 0x80 >> i for slot i; no bit
// for a slot beyond the `listed` CHPIDs.
absl::Status Parser::ParseMask(const Yaml& v, const std::string& path, size_t listed, uint8_t& out) const {
  auto m = Hex(v, path, 2);
  if (!m.ok()) return m.status();
  for (size_t slot = listed; slot < 8; ++slot) {
    const uint32_t bit = 0x80u >> slot;
    if ((*m & bit) != 0) {
      return Err(v, path,
                 absl::StrFormat("0x%02x has bit 0x%02x for slot %d, which has no CHPID (chpids lists %d)", *m, bit,
                                 slot, listed));
    }
  }
  out = static_cast<uint8_t>(*m);
  return absl::OkStatus();
}

absl::Status Parser::ParseDevice(const Yaml& v, const std::string& path, SubchannelConfig& sch,
                                 uint32_t count) const {
  auto fields = Fields(v, path, {"kind", "image", "cylinders", "model", "cu_model", "read_only", "input"});
  if (!fields.ok()) return fields.status();
  DeviceConfig& dev = sch.device;
  const Field* kind = Find(*fields, "kind");
  if (kind == nullptr) return Err(v, path, "kind is required (none, dasd3390 or console)");
  auto k = Text(kind->value, Child(path, "kind"), "none, dasd3390 or console");
  if (!k.ok()) return k.status();
  std::vector<const char*> keys;
  if (*k == "none") {
    dev.kind = DeviceKind::kNone;
    keys = {"kind"};
  } else if (*k == "dasd3390") {
    dev.kind = DeviceKind::kDasd3390;
    keys = {"kind", "image", "cylinders", "model", "cu_model", "read_only"};
  } else if (*k == "console") {
    dev.kind = DeviceKind::kConsole;
    keys = {"kind", "input"};
  } else {
    return Err(kind->value, Child(path, "kind"),
               absl::StrFormat("unknown device kind %s (expected none, dasd3390 or console)", Quoted(*k)));
  }
  for (const Field& f : *fields) {
    if (std::find_if(keys.begin(), keys.end(), [&](const char* a) { return f.key == a; }) == keys.end()) {
      return Err(f.value, Child(path, f.key),
                 absl::StrFormat("not a key of kind %s (its keys: %s)", *k, absl::StrJoin(keys, ", ")));
    }
  }
  if (dev.kind == DeviceKind::kDasd3390) {
    if (const Field* f = Find(*fields, "image")) {
      auto image = Text(f->value, Child(path, "image"), "the path of a Hercules CKD image");
      if (!image.ok()) return image.status();
      if (image->empty()) {
        return Err(f->value, Child(path, "image"), "empty path (leave image out for an in-memory image)");
      }
      if (count > 1) {
        return Err(f->value, Child(path, "image"),
                   absl::StrFormat("an image file serves one device: with count %d, leave image out (each device "
                                   "gets an in-memory image)",
                                   count));
      }
      dev.image = (*image)[0] == '/' || base_dir_.empty() ? *image : absl::StrCat(base_dir_, "/", *image);
      if (check_images_) {
        std::error_code ec;
        const auto st = std::filesystem::status(dev.image, ec);
        if (!std::filesystem::exists(st)) {
          return Err(f->value, Child(path, "image"),
                     absl::StrFormat("image file %s does not exist (create it with dasdinit; see "
                                     "docs/host-description.md)",
                                     dev.image));
        }
        if (!std::filesystem::is_regular_file(st)) {
          return Err(f->value, Child(path, "image"), absl::StrFormat("image file %s is not a regular file", dev.image));
        }
      }
    }
    if (const Field* f = Find(*fields, "cylinders")) {
      if (!dev.image.empty()) {
        return Err(f->value, Child(path, "cylinders"),
                   "only for in-memory images: an image file has its own size (leave cylinders out)");
      }
      auto c = Decimal(f->value, Child(path, "cylinders"), 1, kMaxCylinders, " (a 3390-54)");
      if (!c.ok()) return c.status();
      dev.cylinders = static_cast<uint32_t>(*c);
    } else if (dev.image.empty()) {
      dev.cylinders = kDefaultCylinders;
    }
    if (const Field* f = Find(*fields, "model")) {
      auto m = Text(f->value, Child(path, "model"), "a 3390 model");
      if (!m.ok()) return m.status();
      const std::optional<uint32_t> cyls = Dasd3390ModelCylinders(*m);
      if (!cyls) {
        return Err(f->value, Child(path, "model"),
                   absl::StrFormat("%s is not a 3390 model (expected 3390-1, 3390-2, 3390-3, 3390-9, 3390-27 or "
                                   "3390-54)",
                                   Quoted(*m)));
      }
      if (dev.cylinders > *cyls) {
        return Err(f->value, Child(path, "model"),
                   absl::StrFormat("%d cylinders do not fit a %s (%d cylinders)", dev.cylinders, *m, *cyls));
      }
      dev.model = *m;
    }
    if (auto s = OptHex8(*fields, "cu_model", path, dev.cu_model); !s.ok()) return s;
    if (dev.cu_model != 0xC2 && dev.cu_model != 0xE9 && dev.cu_model != 0xEC) {
      return Err(Find(*fields, "cu_model")->value, Child(path, "cu_model"),
                 absl::StrFormat("0x%02x is not a 3990 model the simulated DASD has (expected c2, e9 or ec)",
                                 dev.cu_model));
    }
    if (auto s = OptBool(*fields, "read_only", path, dev.read_only); !s.ok()) return s;
  }
  if (dev.kind == DeviceKind::kConsole) {
    if (const Field* f = Find(*fields, "input")) {
      const std::string ipath = Child(path, "input");
      if (!f->value.IsSequence()) {
        return Err(f->value, ipath, absl::StrFormat("expected a sequence of lines, got %s", Kind(f->value)));
      }
      for (size_t i = 0; i < f->value.size(); ++i) {
        const Yaml item = f->value[i];
        auto line = Text(item, Elem(ipath, i), "a line of text");
        if (!line.ok()) return line.status();
        if (line->size() > kMaxConsoleLine) {
          return Err(item, Elem(ipath, i),
                     absl::StrFormat("a line of %d bytes: at most %d", line->size(), kMaxConsoleLine));
        }
        for (size_t j = 0; j < line->size(); ++j) {
          const auto u = static_cast<unsigned char>((*line)[j]);
          if (u < 0x20 || u > 0x7e) {
            return Err(item, Elem(ipath, i),
                       absl::StrFormat("%s at offset %d is not printable ASCII (a console line is 0x20..0x7e)",
                                       CharText((*line)[j]), j));
          }
        }
        dev.input.push_back(std::move(*line));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseFaults(const Yaml& v, const std::string& path, FaultConfig& out) const {
  auto fields = Fields(v, path, {"not_operational", "unit_check_sense"});
  if (!fields.ok()) return fields.status();
  if (auto s = OptBool(*fields, "not_operational", path, out.not_operational); !s.ok()) return s;
  if (const Field* f = Find(*fields, "unit_check_sense")) {
    auto bytes = HexBytes(f->value, Child(path, "unit_check_sense"));
    if (!bytes.ok()) return bytes.status();
    out.unit_check_sense = std::move(*bytes);
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseSubchannel(const Yaml& v, size_t index, Entry& entry, SubchannelConfig& out) const {
  const std::string path = Elem("subchannels", index);
  auto fields = Fields(v, path,
                       {"schid", "count", "type", "devno", "chpids", "pim", "pam", "pom", "qdio", "concurrent_sense",
                        "latency_us", "device", "faults"});
  if (!fields.ok()) return fields.status();
  entry.index = index;

  const Field* schid = Find(*fields, "schid");
  if (schid == nullptr) return Err(v, path, "schid is required (like 0.0.0100)");
  {
    auto t = Text(schid->value, Child(path, "schid"), "a subchannel ID like 0.0.0100");
    if (!t.ok()) return t.status();
    auto id = ParseBusId(*t);
    if (!id.ok()) return Err(schid->value, Child(path, "schid"), std::string(id.status().message()));
    out.ssid = id->first;
    out.schno = id->second;
    entry.ssid = out.ssid;
    entry.first_schno = out.schno;
    entry.schid_mark = schid->value.Mark();
  }

  if (const Field* f = Find(*fields, "type")) {
    auto t = Text(f->value, Child(path, "type"), "io, chsc, message or eadm");
    if (!t.ok()) return t.status();
    bool found = false;
    for (uint8_t i = 0; i < 4; ++i) {
      if (*t == kSubchannelTypeNames[i] || *t == std::to_string(i)) {
        out.type = i;
        found = true;
      }
    }
    if (!found) {
      return Err(f->value, Child(path, "type"),
                 absl::StrFormat("unknown subchannel type %s (expected io, chsc, message, eadm or 0..3)", Quoted(*t)));
    }
  }
  const char* type_name = kSubchannelTypeNames[out.type];

  const Field* devno = Find(*fields, "devno");
  if (devno != nullptr) {
    auto t = Text(devno->value, Child(path, "devno"), "a device bus ID like 0.0.e000, or none");
    if (!t.ok()) return t.status();
    if (*t == "none") {
      out.has_devno = false;
    } else {
      if (out.type != 0) {
        return Err(devno->value, Child(path, "devno"),
                   absl::StrFormat("a %s subchannel has no device number (only type io has one): write none or "
                                   "leave devno out",
                                   type_name));
      }
      auto id = ParseBusId(*t);
      if (!id.ok()) return Err(devno->value, Child(path, "devno"), std::string(id.status().message()));
      if (id->first != out.ssid) {
        return Err(devno->value, Child(path, "devno"),
                   absl::StrFormat("device number %s is in subchannel set %d, but subchannel %s is in set %d (a "
                                   "device number belongs to its subchannel's set)",
                                   FormatDevBusid(id->first, id->second), id->first,
                                   FormatSchid(out.ssid, out.schno), out.ssid));
      }
      out.has_devno = true;
      out.devno = id->second;
      entry.has_devno = true;
      entry.first_devno = out.devno;
      entry.devno_mark = devno->value.Mark();
    }
  } else if (out.type == 0) {
    return Err(v, path, "devno is required for an I/O subchannel (a device bus ID like 0.0.e000, or none)");
  } else {
    out.has_devno = false;
  }

  size_t listed = 0;
  if (const Field* f = Find(*fields, "chpids")) {
    if (auto s = ParseChpids(f->value, Child(path, "chpids"), out, listed); !s.ok()) return s;
  }
  if (const Field* f = Find(*fields, "pim")) {
    if (auto s = ParseMask(f->value, Child(path, "pim"), listed, out.pim); !s.ok()) return s;
  }
  out.pam = out.pim;
  if (const Field* f = Find(*fields, "pam")) {
    if (auto s = ParseMask(f->value, Child(path, "pam"), listed, out.pam); !s.ok()) return s;
    if ((out.pam & ~out.pim) != 0) {
      const unsigned extra = out.pam & ~out.pim & 0xffu;
      const unsigned bit = 0x80u >> __builtin_clz(extra << 24);
      return Err(f->value, Child(path, "pam"),
                 absl::StrFormat("0x%02x has bit 0x%02x, which the pim 0x%02x lacks (an available path must be "
                                 "installed)",
                                 out.pam, bit, out.pim));
    }
  }
  if (const Field* f = Find(*fields, "pom")) {
    if (auto s = ParseMask(f->value, Child(path, "pom"), listed, out.pom); !s.ok()) return s;
  }
  if (auto s = OptBool(*fields, "qdio", path, out.qdio); !s.ok()) return s;
  if (out.qdio && out.type != 0) {
    return Err(Find(*fields, "qdio")->value, Child(path, "qdio"),
               absl::StrFormat("a %s subchannel cannot be QDIO (only type io)", type_name));
  }
  if (auto s = OptBool(*fields, "concurrent_sense", path, out.concurrent_sense); !s.ok()) return s;
  if (const Field* f = Find(*fields, "latency_us")) {
    auto l = Decimal(f->value, Child(path, "latency_us"), 0, kMaxLatencyUs, " (at most 10 s)");
    if (!l.ok()) return l.status();
    out.latency_us = static_cast<uint32_t>(*l);
  }

  if (const Field* f = Find(*fields, "count")) {
    auto c = Decimal(f->value, Child(path, "count"), 1, kMaxCount, "");
    if (!c.ok()) return c.status();
    entry.count = static_cast<uint32_t>(*c);
    const uint32_t schno_room = 0x10000u - out.schno;
    if (entry.count > schno_room) {
      return Err(f->value, Child(path, "count"),
                 absl::StrFormat("%d subchannels from %s run past %s (at most %d fit)", entry.count,
                                 FormatSchid(out.ssid, out.schno), FormatSchid(out.ssid, 0xffff), schno_room));
    }
    const uint32_t devno_room = 0x10000u - out.devno;
    if (out.has_devno && entry.count > devno_room) {
      return Err(f->value, Child(path, "count"),
                 absl::StrFormat("%d device numbers from %s run past %s (at most %d fit)", entry.count,
                                 FormatDevBusid(out.ssid, out.devno), FormatDevBusid(out.ssid, 0xffff), devno_room));
    }
  }

  if (const Field* f = Find(*fields, "device")) {
    const std::string dpath = Child(path, "device");
    if (auto s = ParseDevice(f->value, dpath, out, entry.count); !s.ok()) return s;
    if (out.device.kind != DeviceKind::kNone) {
      if (out.type != 0) {
        return Err(f->value, dpath,
                   absl::StrFormat("a %s subchannel has no device (only type io has one): leave device out", type_name));
      }
      if (!out.has_devno) {
        return Err(f->value, dpath, "a device needs a device number, but devno is none");
      }
      if (out.qdio) {
        return Err(f->value, Child(dpath, "kind"),
                   "a QDIO subchannel has no device model here: the simulator does not model QDIO devices, the "
                   "subchannel stands for one that vfio_ccw refuses (use kind none)");
      }
    }
  }
  if (const Field* f = Find(*fields, "faults")) {
    const std::string fpath = Child(path, "faults");
    if (auto s = ParseFaults(f->value, fpath, out.faults); !s.ok()) return s;
    if (!out.faults.unit_check_sense.empty() && out.device.kind == DeviceKind::kNone) {
      return Err(f->value, Child(fpath, "unit_check_sense"),
                 "a unit check comes from a device, and this subchannel has none (device.kind is none)");
    }
  }
  return absl::OkStatus();
}

// "subchannels[2]" or "subchannels[2] (count 4 from 0.0.0100)".
std::string EntryName(const Entry& e) {
  std::string s = Elem("subchannels", e.index);
  if (e.count > 1) absl::StrAppendFormat(&s, " (count %d from %s)", e.count, FormatSchid(e.ssid, e.first_schno));
  return s;
}

absl::Status Parser::CheckDuplicates(const std::vector<Entry>& entries,
                                     const std::vector<SubchannelConfig>& subs) const {
  // (ssid << 16 | number, entry) per subchannel, in file order; sorted by key
  // the entries stay in file order (stable), so of two equal keys the second is
  // the later definition. The error is the first such in file order.
  struct Key {
    uint32_t key;
    uint32_t entry;
    uint32_t pos;  // position in `subs`, which is in file order
  };
  std::vector<Key> schids;
  std::vector<Key> devnos;
  schids.reserve(subs.size());
  devnos.reserve(subs.size());
  uint32_t pos = 0;
  for (uint32_t e = 0; e < entries.size(); ++e) {
    for (uint32_t i = 0; i < entries[e].count; ++i, ++pos) {
      const SubchannelConfig& s = subs[pos];
      schids.push_back({static_cast<uint32_t>(s.ssid) << 16 | s.schno, e, pos});
      if (s.has_devno) devnos.push_back({static_cast<uint32_t>(s.ssid) << 16 | s.devno, e, pos});
    }
  }
  // The earliest (in file order) definition that repeats an earlier one.
  auto first_repeat = [](std::vector<Key>& keys) -> std::optional<std::pair<Key, Key>> {
    std::stable_sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) { return a.key < b.key; });
    std::optional<std::pair<Key, Key>> found;
    for (size_t i = 1; i < keys.size(); ++i) {
      if (keys[i].key == keys[i - 1].key && (!found || keys[i].pos < found->second.pos)) {
        found = std::make_pair(keys[i - 1], keys[i]);
      }
    }
    return found;
  };
  if (auto dup = first_repeat(schids)) {
    const Entry& later = entries[dup->second.entry];
    const std::string id = FormatSchid(static_cast<uint8_t>(dup->second.key >> 16), dup->second.key & 0xffff);
    return Err(later.schid_mark, Child(Elem("subchannels", later.index), "schid"),
               absl::StrFormat("schid %s%s is already defined by %s", id,
                               later.count > 1 ? absl::StrFormat(" (from count %d)", later.count) : "",
                               EntryName(entries[dup->first.entry])));
  }
  if (auto dup = first_repeat(devnos)) {
    const Entry& later = entries[dup->second.entry];
    const SubchannelConfig& first = subs[dup->first.pos];
    const std::string id = FormatDevBusid(static_cast<uint8_t>(dup->second.key >> 16), dup->second.key & 0xffff);
    return Err(later.devno_mark, Child(Elem("subchannels", later.index), "devno"),
               absl::StrFormat("device number %s%s is already used by %s (schid %s)", id,
                               later.count > 1 ? absl::StrFormat(" (from count %d)", later.count) : "",
                               EntryName(entries[dup->first.entry]), FormatSchid(first.ssid, first.schno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<HostConfig> Parser::Parse(std::string_view text) {
  chp_index_.fill(-1);
  // How many documents, by a bounded walk over the parser's events: yaml-cpp
  // 0.7's LoadAll never returns on some inputs (",s": the parser makes no
  // progress and hands out the same empty document forever, growing memory).
  DocumentStarts starts;
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    while (starts.marks.size() < 2 && parser.HandleNextDocument(starts)) {
    }
  } catch (const YAML::Exception& e) {
    return Err(e.mark, kTopLevel, absl::StrCat("YAML syntax error: ", e.msg));
  }
  if (starts.marks.size() == 2) {
    const YAML::Mark& second = starts.marks[1];
    if (second.pos == starts.marks[0].pos) {
      const size_t at = static_cast<size_t>(std::max(second.pos, 0));
      return Err(second, kTopLevel,
                 absl::StrFormat("YAML syntax error: unexpected %s",
                                 at < text.size() ? CharText(text[at]) : std::string("end of input")));
    }
    return Err(second, kTopLevel, "a host description is one YAML document, found a second one");
  }
  Yaml doc;
  try {
    doc = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Err(e.mark, kTopLevel, absl::StrCat("YAML syntax error: ", e.msg));
  }
  if (doc.IsNull()) {
    return Err(YAML::Mark(), kTopLevel, "empty document: expected a mapping with keys channel_paths, subchannels");
  }
  HostConfig config;
  try {
    auto fields = Fields(doc, kTopLevel, {"channel_paths", "subchannels"});
    if (!fields.ok()) return fields.status();
    if (const Field* f = Find(*fields, "channel_paths")) {
      if (auto s = ParseChannelPaths(f->value, config.channel_paths); !s.ok()) return s;
    }
    const Field* subs = Find(*fields, "subchannels");
    if (subs == nullptr) return config;
    if (!subs->value.IsSequence()) {
      return Err(subs->value, "subchannels",
                 absl::StrFormat("expected a sequence of subchannels, got %s", Kind(subs->value)));
    }
    std::vector<Entry> entries(subs->value.size());
    for (size_t i = 0; i < subs->value.size(); ++i) {
      SubchannelConfig sch;
      Entry& entry = entries[i];
      if (auto s = ParseSubchannel(subs->value[i], i, entry, sch); !s.ok()) return s;
      // 4 sets of 65,536 subchannels at most; more must repeat a schid, which
      // CheckDuplicates reports. Stop growing well before memory is at risk.
      if (config.subchannels.size() + entry.count > 4u * 0x10000u + 0x10000u) {
        return Err(entry.schid_mark, Child(Elem("subchannels", i), "schid"),
                   "more subchannels than the 4 subchannel sets hold (262,144)");
      }
      config.subchannels.reserve(config.subchannels.size() + entry.count);
      for (uint32_t n = 0; n < entry.count; ++n) {
        config.subchannels.push_back(sch);
        SubchannelConfig& added = config.subchannels.back();
        added.schno = static_cast<uint16_t>(sch.schno + n);
        if (sch.has_devno) added.devno = static_cast<uint16_t>(sch.devno + n);
      }
    }
    if (auto s = CheckDuplicates(entries, config.subchannels); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    // Not expected: every access above is type-checked first.
    return Err(e.mark, kTopLevel, absl::StrCat("YAML error: ", e.msg));
  }
  auto by_schid = [](const SubchannelConfig& a, const SubchannelConfig& b) {
    return a.ssid != b.ssid ? a.ssid < b.ssid : a.schno < b.schno;
  };
  if (!std::is_sorted(config.subchannels.begin(), config.subchannels.end(), by_schid)) {
    std::sort(config.subchannels.begin(), config.subchannels.end(), by_schid);
  }
  return config;
}

}  // namespace

std::optional<uint32_t> Dasd3390ModelCylinders(std::string_view model) {
  for (const Dasd3390Model& m : kDasd3390Models) {
    if (model == m.name) return m.cylinders;
  }
  return std::nullopt;
}

std::optional<std::string> Dasd3390ModelFor(uint32_t cylinders) {
  for (const Dasd3390Model& m : kDasd3390Models) {
    if (cylinders <= m.cylinders) return std::string(m.name);
  }
  return std::nullopt;
}

absl::StatusOr<HostConfig> ParseHostConfig(std::string_view yaml, std::string_view source,
                                           std::string_view base_dir) {
  return Parser(source, base_dir, /*check_images=*/false).Parse(yaml);
}

absl::StatusOr<HostConfig> LoadHostConfig(const std::string& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) {
    return absl::NotFoundError(absl::StrFormat("host description %s does not exist", path));
  }
  if (!std::filesystem::is_regular_file(st)) {
    return absl::InvalidArgumentError(absl::StrFormat("host description %s is not a regular file", path));
  }
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxFileSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("host description %s is %d bytes: at most %d", path, size, kMaxFileSize));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return absl::PermissionDeniedError(absl::StrFormat("cannot read host description %s", path));
  }
  if (!in.is_open()) {
    return absl::PermissionDeniedError(absl::StrFormat("cannot open host description %s", path));
  }
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  auto config = Parser(path, base_dir, /*check_images=*/true).Parse(text.str());
  if (!config.ok()) return config.status();
  config->path = path;
  return config;
}

}  // namespace ccwpass::sim
