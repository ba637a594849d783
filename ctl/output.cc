#include "ctl/output.h"

#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "nlohmann/json.hpp"
#include "yaml-cpp/yaml.h"

namespace ccwpass::ctl {
namespace {

using Json = nlohmann::ordered_json;

// A plain YAML scalar that a YAML 1.1/1.2 reader would take for something
// other than this string.
bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  const std::string lower = absl::AsciiStrToLower(s);
  static constexpr const char* kWords[] = {"true", "false", "yes", "no",  "on",   "off", "y",
                                           "n",    "null", "~",   ".nan", ".inf", "-.inf"};
  for (const char* w : kWords) {
    if (lower == w) return true;
  }
  double d = 0;
  if (absl::SimpleAtod(s, &d)) return true;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) return true;
  // Leading/trailing spaces, indicators and ": " are handled by yaml-cpp itself.
  return false;
}

void Emit(YAML::Emitter& e, const Json& j) {
  switch (j.type()) {
    case Json::value_t::object:
      if (j.empty()) e << YAML::Flow;  // "{}" on the key's line
      e << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        e << YAML::Key << k << YAML::Value;
        Emit(e, v);
      }
      e << YAML::EndMap;
      break;
    case Json::value_t::array:
      if (j.empty()) e << YAML::Flow;  // "[]" on the key's line
      e << YAML::BeginSeq;
      for (const Json& v : j) Emit(e, v);
      e << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const std::string s = j.get<std::string>();
      if (NeedsQuotes(s)) e << YAML::DoubleQuoted;
      e << s;
      break;
    }
    case Json::value_t::boolean:
      e << (j.get<bool>() ? "true" : "false");
      break;
    case Json::value_t::number_integer:
      e << j.get<int64_t>();
      break;
    case Json::value_t::number_unsigned:
      e << j.get<uint64_t>();
      break;
    case Json::value_t::number_float:
      e << j.get<double>();
      break;
    default:
      e << YAML::Null;
      break;
  }
}

}  // namespace

OutputFormat ParseOutputFormat(std::string_view word) {
  if (word == "json") return OutputFormat::kJson;
  if (word == "yaml") return OutputFormat::kYaml;
  return OutputFormat::kTable;
}

std::string MessageToJson(const google::protobuf::Message& m, bool pretty) {
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  std::string s;
  // Fails only for Any fields with unknown types; the API has none.
  (void)google::protobuf::util::MessageToJsonString(m, &s, o);
  if (!pretty) return s;
  // protobuf indents by one space; re-indent by two, keeping the field order.
  const Json j = Json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) s = j.dump(2);
  if (s.empty() || s.back() != '\n') s += '\n';
  return s;
}

absl::StatusOr<std::string> JsonToYaml(std::string_view json) {
  Json j = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("not JSON");
  YAML::Emitter e;
  e.SetIndent(2);
  Emit(e, j);
  std::string s = e.c_str();
  s += '\n';
  return s;
}

std::string FormatMessage(const google::protobuf::Message& m, OutputFormat format) {
  const std::string json = MessageToJson(m, true);
  if (format != OutputFormat::kYaml) return json;
  auto yaml = JsonToYaml(json);
  return yaml.ok() ? *yaml : json;
}

}  // namespace ccwpass::ctl
