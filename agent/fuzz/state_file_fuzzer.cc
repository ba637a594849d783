// libFuzzer target: StateStore::Parse() on arbitrary text (state.json is read
// from disk at start: a torn, hand-edited or hostile file is outside input).
// Any text gets the desired state or DATA_LOSS with a message, never a crash,
// a leak, undefined behaviour or an exception out of nlohmann::json; parsed
// state serializes and parses back to the same entries, each with a schid in
// canonical form and a lower-case UUID.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/state/state_store.h"
#include "translate/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ccwpass::agent::StateStore;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto r = StateStore::Parse(text, "state.json");
  if (!r.ok()) {
    FUZZ_CHECK(r.status().code() == absl::StatusCode::kDataLoss);
    FUZZ_CHECK(r.status().message().find("state.json: ") == 0);
    return 0;
  }
  for (const auto& [schid, a] : *r) {
    FUZZ_CHECK(schid == a.schid);
    FUZZ_CHECK(schid.size() == 8 && schid[1] == '.' && schid[3] == '.');
    FUZZ_CHECK(ccwpass::agent::IsMdevUuid(a.mdev_uuid));
  }
  auto again = StateStore::Parse(StateStore::Serialize(*r), "again");
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *r);
  return 0;
}
