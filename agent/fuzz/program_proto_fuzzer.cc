// libFuzzer target: ProgramFromProto() on a serialized StartProgramRequest
// (what any gRPC client can send). Any bytes that protobuf accepts get a
// ProgramRequest or INVALID_ARGUMENT with a message naming the field, never a
// crash, a leak or undefined behaviour. A converted program then goes through
// Translate() into a 64-page arena, which gets every page back.
#include <cstddef>
#include <cstdint>

#include "agent/service/service.h"
#include "translate/arena.h"
#include "translate/fuzz/fuzz_check.h"
#include "translate/translator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ccw::v1::StartProgramRequest req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return 0;
  std::vector<uint64_t> addrs;
  auto p = ccwpass::agent::ProgramFromProto(req, &addrs);
  if (!p.ok()) {
    FUZZ_CHECK(p.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!p.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(p->memory != nullptr);
  static auto arena = ccwpass::translate::DmaArena::CreateOwned(64 * 4096, 0x100000);
  FUZZ_CHECK(arena.ok());
  {
    auto prog = ccwpass::translate::Translate(p->orb, *p->memory, **arena);
    if (!prog.ok()) FUZZ_CHECK(!prog.status().message().empty());
  }
  FUZZ_CHECK((*arena)->FreePageCount() == (*arena)->TotalPages());
  return 0;
}
