// libFuzzer target: the sysfs attribute parsers of agent/sysfs/css.h on
// arbitrary text (sysfs is the kernel's, but a wrong --sysfs-root, a foreign
// driver or a future kernel can put anything there). The first byte picks the
// parser, the rest is the attribute's text. Each parser returns a value or
// INVALID_ARGUMENT with a message quoting the text; a value printed back in the
// kernel's format parses to the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"
#include "agent/sysfs/css.h"
#include "translate/fuzz/fuzz_check.h"

namespace {

using namespace ccwpass::agent;

template <typename T>
void CheckError(const absl::StatusOr<T>& r) {
  if (!r.ok()) {
    FUZZ_CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!r.status().message().empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0: {
      auto r = ParseSubchannelType(text);
      CheckError(r);
      if (r.ok()) {
        auto again = ParseSubchannelType(absl::StrFormat("%x\n", *r));
        FUZZ_CHECK(again.ok() && *again == *r);
      }
      break;
    }
    case 1: {
      auto r = ParseChpids(text);
      CheckError(r);
      if (r.ok()) {
        std::string s;
        for (uint8_t c : *r) s += absl::StrFormat("%02x ", c);
        auto again = ParseChpids(s + "\n");
        FUZZ_CHECK(again.ok() && *again == *r);
      }
      break;
    }
    case 2: {
      auto r = ParsePimPamPom(text);
      CheckError(r);
      if (r.ok()) {
        auto again = ParsePimPamPom(absl::StrFormat("%02x %02x %02x\n", (*r)[0], (*r)[1], (*r)[2]));
        FUZZ_CHECK(again.ok() && *again == *r);
      }
      break;
    }
    case 3: {
      auto r = ParseDevBusid(text);
      CheckError(r);
      if (r.ok() && r->has_value()) {
        // The ssid is not kept; 0.0.<devno> must give the same devno.
        auto again = ParseDevBusid(absl::StrFormat("0.0.%04x\n", **r));
        FUZZ_CHECK(again.ok() && again->has_value() && **again == **r);
      }
      break;
    }
    case 4: {
      auto r = ParseCcwType(text);
      CheckError(r);
      if (r.ok() && r->has_value()) {
        auto again = ParseCcwType(absl::StrFormat("%04x/%02x\n", (*r)->first, (*r)->second));
        FUZZ_CHECK(again.ok() && again->has_value() && **again == **r);
      }
      break;
    }
    case 5: {
      auto r = ParseDecimal(text);
      CheckError(r);
      if (r.ok()) {
        auto again = ParseDecimal(absl::StrFormat("%d\n", *r));
        FUZZ_CHECK(again.ok() && *again == *r);
      }
      break;
    }
    case 6: {
      std::optional<std::string> o = ParseDriverOverride(text);
      if (o) FUZZ_CHECK(!o->empty() && *o != "(null)");
      break;
    }
    default: {
      const std::string_view b = LinkBasename(text);
      FUZZ_CHECK(b.find('/') == std::string_view::npos);
      FUZZ_CHECK(b.size() <= text.size());
      FUZZ_CHECK(b.empty() || text.find(b) != std::string_view::npos);
      FUZZ_CHECK(!IsQdioControlUnit(0x3990));
      break;
    }
  }
  return 0;
}
