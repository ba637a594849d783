// libFuzzer target: ParseProgramFile() on arbitrary text. Any text gets a program
// or a Status, never a crash, a leak or undefined behaviour. A parsed program is
// consistent (its memory exists; the structural form lists its CCWs and their
// addresses) and goes through Translate() into a small arena and back out, as
// `ccwctl program` and the agent would take it.
// Seeds: corpus/program_file_fuzzer/ (the examples of docs/examples/).
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "absl/strings/string_view.h"
#include "translate/fuzz/fuzz_check.h"
#include "translate/arena.h"
#include "translate/program_file.h"
#include "translate/translator.h"

namespace {


ccwpass::translate::DmaArena& Arena() {
  static auto* arena = ccwpass::translate::DmaArena::CreateOwned(64 * 4096, 0x100000)->release();
  return *arena;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ccwpass::translate;
  auto f = ParseProgramFile(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!f.ok()) {
    FUZZ_CHECK(!f.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(f->memory != nullptr);
  FUZZ_CHECK(f->memory->Size() <= kMaxRawMemorySize || f->form == ProgramFile::Form::kStructural);
  if (f->form == ProgramFile::Form::kStructural) {
    FUZZ_CHECK(!f->ccws.empty());
    FUZZ_CHECK(f->ccw_addrs.size() == f->ccws.size());
    for (size_t i = 0; i < f->ccw_addrs.size(); ++i) {
      FUZZ_CHECK(f->ListIndexOf(f->ccw_addrs[i]) == static_cast<int>(i));
    }
  } else {
    FUZZ_CHECK(f->ccws.empty());
  }
  DmaArena& arena = Arena();
  const uint32_t total = arena.TotalPages();
  {
    auto p = Translate(f->orb, *f->memory, arena);
    if (p.ok()) FUZZ_CHECK(arena.FreePageCount() == total - p->stats().pages);
  }
  FUZZ_CHECK(arena.FreePageCount() == total);
  return 0;
}
