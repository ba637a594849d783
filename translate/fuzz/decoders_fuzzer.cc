// libFuzzer target: the wire decoders of arch.h. For each of IRB, SCHIB, CRW,
// ORB, SCSW, CCW format 0 and 1 and the IDAW formats, the input (zero-padded to
// the wire size) is decoded, encoded and decoded again: the second decode must
// equal the first, and the second encode the first (round-trip stability;
// reserved bits drop out once and stay out). Under UBSan no shift, conversion or
// index may be undefined. The text helpers run on the decoded status bytes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>

#include "translate/arch.h"
#include "translate/fuzz/fuzz_check.h"

namespace {

using namespace ccwpass::translate;


// The first N input bytes, zero-padded.
template <size_t N>
std::array<uint8_t, N> Take(const uint8_t* data, size_t size) {
  std::array<uint8_t, N> b{};
  std::memcpy(b.data(), data, size < N ? size : N);
  return b;
}

// Decode -> Encode -> Decode for a type with a static Decode and an array Encode.
template <typename T, size_t N>
void RoundTrip(const uint8_t* data, size_t size) {
  const auto raw = Take<N>(data, size);
  const T a = T::Decode(std::span<const uint8_t, N>(raw));
  const std::array<uint8_t, N> enc = a.Encode();
  const T b = T::Decode(std::span<const uint8_t, N>(enc));
  FUZZ_CHECK(a == b);
  FUZZ_CHECK(b.Encode() == enc);
  // EncodeTo writes the same bytes as Encode, over whatever the buffer held.
  std::array<uint8_t, N> over;
  over.fill(0xA5);
  a.EncodeTo(std::span<uint8_t, N>(over));
  FUZZ_CHECK(over == enc);
}

// The same for the types that only have EncodeTo.
template <typename T, size_t N>
void RoundTripTo(const uint8_t* data, size_t size) {
  const auto raw = Take<N>(data, size);
  const T a = T::Decode(std::span<const uint8_t, N>(raw));
  std::array<uint8_t, N> enc;
  enc.fill(0x5A);
  a.EncodeTo(std::span<uint8_t, N>(enc));
  const T b = T::Decode(std::span<const uint8_t, N>(enc));
  FUZZ_CHECK(a == b);
  std::array<uint8_t, N> enc2{};
  b.EncodeTo(std::span<uint8_t, N>(enc2));
  FUZZ_CHECK(enc2 == enc);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RoundTrip<Irb, kIrbSize>(data, size);
  RoundTrip<Schib, kSchibSize>(data, size);
  RoundTripTo<Crw, kCrwSize>(data, size);
  RoundTrip<Orb, kOrbSize>(data, size);
  RoundTrip<Scsw, kScswSize>(data, size);
  RoundTrip<Ccw0, kCcwSize>(data, size);
  RoundTrip<Ccw1, kCcwSize>(data, size);
  RoundTripTo<Esw, kEswSize>(data, size);
  RoundTripTo<Pmcw, kPmcwSize>(data, size);

  // Every bit of a CCW is a field: its image comes back unchanged.
  {
    const auto raw = Take<kCcwSize>(data, size);
    FUZZ_CHECK(Ccw1::Decode(std::span<const uint8_t, kCcwSize>(raw)).Encode() == raw);
    FUZZ_CHECK(Ccw0::Decode(std::span<const uint8_t, kCcwSize>(raw)).Encode() == raw);
    const Ccw1 f1 = Ccw0::Decode(std::span<const uint8_t, kCcwSize>(raw)).ToFormat1();
    FUZZ_CHECK(f1.cda <= 0xFFFFFFu);  // format 0 addresses are 24-bit
  }

  // CRW as the vfio-ccw CRW region holds it (a host u32).
  {
    const auto raw = Take<kCrwSize>(data, size);
    const Crw c = Crw::Decode(std::span<const uint8_t, kCrwSize>(raw));
    FUZZ_CHECK(Crw::FromWord(c.ToWord()) == c);
    uint32_t w = 0;
    for (uint8_t byte : raw) w = (w << 8) | byte;
    FUZZ_CHECK(Crw::FromWord(w) == c);
  }

  // IDAWs: format 2 is all address; format 1 keeps bit 0 as read.
  {
    const auto raw = Take<kIdaw2Size>(data, size);
    for (IdawFormat f : {IdawFormat::kFormat1, IdawFormat::kFormat2}) {
      const uint64_t a = DecodeIdaw(f, raw);
      std::array<uint8_t, kIdaw2Size> enc{};
      EncodeIdaw(f, a, enc);
      FUZZ_CHECK(std::memcmp(enc.data(), raw.data(), IdawSize(f)) == 0);
      FUZZ_CHECK(DecodeIdaw(f, enc) == a);
    }
    // A buffer shorter than the IDAW is not read past (ASan would say so).
    (void)DecodeIdaw(IdawFormat::kFormat2, std::span<const uint8_t>(raw.data(), 4));
  }

  // Text helpers: any byte has a rendering.
  {
    const auto raw = Take<kScswSize>(data, size);
    const Scsw s = Scsw::Decode(std::span<const uint8_t, kScswSize>(raw));
    (void)DeviceStatusText(s.dstat);
    (void)SubchannelStatusText(s.cstat);
    (void)FunctionControlText(s.fctl);
    (void)StatusControlText(s.stctl);
    (void)ActivityControlText(s.actl);
    (void)CommandName(raw[0]);
    (void)FlagsText(raw[1]);
    (void)s.IsFinal();
  }
  return 0;
}
