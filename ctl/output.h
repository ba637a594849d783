// ccwctl's machine-readable output: proto messages in their canonical JSON
// mapping (proto field names in snake_case, every primitive field printed, so
// scripts never miss a key that holds its default), and YAML made from that JSON.
#ifndef CCWPASS_CTL_OUTPUT_H_
#define CCWPASS_CTL_OUTPUT_H_

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ccwpass::ctl {

enum class OutputFormat { kTable, kJson, kYaml };

// "table", "json", "yaml" -> the format; anything else is kTable (the flag's
// CLI11 validator admits only those words).
OutputFormat ParseOutputFormat(std::string_view word);

// The message as JSON (google::protobuf::util::MessageToJsonString with
// preserve_proto_field_names and always_print_primitive_fields). `pretty`:
// indented with two spaces and ending in a newline; otherwise one line without
// a newline. Enums are their names, 64-bit integers strings, bytes base64,
// Timestamps RFC 3339 — the proto3 JSON mapping.
std::string MessageToJson(const google::protobuf::Message& m, bool pretty);

// A JSON document as YAML (block style; strings quoted where YAML would read
// them as another type, e.g. "1", "true", "", "0x10"). Ends in a newline.
// Errors: kInvalidArgument when `json` does not parse.
absl::StatusOr<std::string> JsonToYaml(std::string_view json);

// The message in `format` (kJson: pretty JSON; kYaml: YAML). kTable is not
// handled here and returns the pretty JSON.
std::string FormatMessage(const google::protobuf::Message& m, OutputFormat format);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_OUTPUT_H_
