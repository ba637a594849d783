// The input format of translate_fuzzer, shared with the seed generator
// (make_seeds.cc) so that the checked-in seeds are exactly what the fuzzer reads.
//
//   bytes  0-11  ORB (Orb::Decode)
//   byte   12    control bits (kCtl*)
//   byte   13    chain selector: the SCSW CPA is taken in chain (sel % chains)
//   byte   14    CCW selector: ... at CCW (sel % (len + 2)) of it; len is one past
//                the end (a program that ran to the end), len + 1 maps nowhere
//   bytes 15-26  SCSW (Scsw::Decode); its CPA is replaced as above unless
//                kCtlRawScswCpa; its count is the residual
//   bytes 27-    the client's memory image (FlatGuestMemory), at most
//                kMaxImage bytes; the ORB CPA is taken modulo its size
#ifndef CCWPASS_TRANSLATE_FUZZ_TRANSLATE_INPUT_H_
#define CCWPASS_TRANSLATE_FUZZ_TRANSLATE_INPUT_H_

#include <cstddef>
#include <cstdint>

namespace ccwpass::translate::fuzz {

inline constexpr size_t kInOrb = 0;
inline constexpr size_t kInCtl = 12;
inline constexpr size_t kInChainSel = 13;
inline constexpr size_t kInCcwSel = 14;
inline constexpr size_t kInScsw = 15;
inline constexpr size_t kInImage = 27;
inline constexpr size_t kMaxImage = 64 * 1024;

inline constexpr uint8_t kCtlClearTm = 0x01;       // force a command-mode ORB
inline constexpr uint8_t kCtlAlignCpa = 0x02;      // doubleword-align the ORB CPA
inline constexpr uint8_t kCtlTinyArena = 0x04;     // translate into a 4-page arena
inline constexpr uint8_t kCtlRelease = 0x08;       // Release() instead of Complete()
inline constexpr uint8_t kCtlDrop = 0x10;          // let the destructor return the pages
inline constexpr uint8_t kCtlRawScswCpa = 0x20;    // keep the SCSW's own CPA
inline constexpr uint8_t kCtlPlayDevice = 0x40;    // fill the arena buffers before Complete
inline constexpr uint8_t kCtlTwice = 0x80;         // translate a second copy while the first is active

}  // namespace ccwpass::translate::fuzz

#endif  // CCWPASS_TRANSLATE_FUZZ_TRANSLATE_INPUT_H_
