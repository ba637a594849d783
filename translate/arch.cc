#include "translate/arch.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace ccwpass::translate {
namespace {

// Big-endian load/store of an unsigned integer at byte offset `off`.
template <typename T>
T LoadBe(std::span<const uint8_t> b, size_t off) {
  static_assert(std::is_unsigned_v<T>);
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | b[off + i]);
  return v;
}

template <typename T>
void StoreBe(std::span<uint8_t> b, size_t off, T v) {
  static_assert(std::is_unsigned_v<T>);
  for (size_t i = sizeof(T); i-- > 0;) {
    b[off + i] = static_cast<uint8_t>(v & 0xFF);
    v = static_cast<T>(v >> 8);
  }
}

// IBM-numbered bit fields of a 32-bit word: bit 0 is the MSB, `first` <= `last`.
constexpr uint32_t FieldMask(int first, int last) {
  const int width = last - first + 1;
  return width >= 32 ? ~uint32_t{0} : (uint32_t{1} << width) - 1;
}
constexpr uint32_t GetBits(uint32_t word, int first, int last) {
  return (word >> (31 - last)) & FieldMask(first, last);
}
constexpr uint32_t PutBits(uint32_t value, int first, int last) {
  return (value & FieldMask(first, last)) << (31 - last);
}

static_assert(GetBits(0x80000000u, 0, 0) == 1);
static_assert(GetBits(0x00000001u, 31, 31) == 1);
static_assert(GetBits(0x00007000u, 17, 19) == 7);
static_assert(GetBits(0xDEADBEEFu, 0, 31) == 0xDEADBEEFu);
static_assert(PutBits(0x7F, 20, 26) == 0x00000FE0u);
static_assert(PutBits(0x1F, 0, 3) == 0xF0000000u);  // value masked to the field width

// A layout function lists a struct's fields once, as (IBM bit range, member) per
// 32-bit word, and runs with a Reader (decode) or a Writer (encode):
//   template <typename Io, typename S> void Layout(Io& io, S& s);
// S is T for decoding and const T for encoding.

// Decodes fields from a big-endian image. Bits no field names are ignored.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}

  void Word(size_t index) { word_ = LoadBe<uint32_t>(b_, 4 * index); }

  template <typename T>
  void operator()(int first, int last, T& field) const {
    const uint32_t v = GetBits(word_, first, last);
    if constexpr (std::is_same_v<T, bool>) {
      field = v != 0;
    } else {
      field = static_cast<T>(v);
    }
  }
  void operator()(int bit, bool& field) const { (*this)(bit, bit, field); }

  void U64(size_t off, uint64_t& field) const { field = LoadBe<uint64_t>(b_, off); }
  template <size_t N>
  void Bytes(size_t off, std::array<uint8_t, N>& field) const {
    std::copy_n(b_.begin() + static_cast<std::ptrdiff_t>(off), N, field.begin());
  }

 private:
  std::span<const uint8_t> b_;
  uint32_t word_ = 0;
};

// Encodes fields into a big-endian image. The image is zeroed first, so bits
// no field names (reserved bits) encode as zero.
class Writer {
 public:
  explicit Writer(std::span<uint8_t> b) : b_(b) { std::fill(b_.begin(), b_.end(), uint8_t{0}); }

  void Word(size_t index) { off_ = 4 * index; }

  template <typename T>
  void operator()(int first, int last, const T& field) {
    const uint32_t word = LoadBe<uint32_t>(b_, off_) | PutBits(static_cast<uint32_t>(field), first, last);
    StoreBe<uint32_t>(b_, off_, word);
  }
  void operator()(int bit, bool field) { (*this)(bit, bit, field); }

  void U64(size_t off, uint64_t field) { StoreBe<uint64_t>(b_, off, field); }
  template <size_t N>
  void Bytes(size_t off, const std::array<uint8_t, N>& field) {
    std::copy_n(field.begin(), N, b_.begin() + static_cast<std::ptrdiff_t>(off));
  }

 private:
  std::span<uint8_t> b_;
  size_t off_ = 0;
};

template <typename Io, typename S>
void Ccw1Layout(Io& io, S& c) {
  io.Word(0);
  io(0, 7, c.cmd);
  io(8, 15, c.flags);
  io(16, 31, c.count);
  io.Word(1);
  io(0, 31, c.cda);
}

template <typename Io, typename S>
void Ccw0Layout(Io& io, S& c) {
  io.Word(0);
  io(0, 7, c.cmd);
  io(8, 31, c.cda);
  io.Word(1);
  io(0, 7, c.flags);
  io(8, 15, c.reserved);
  io(16, 31, c.count);
}

template <typename Io, typename S>
void OrbLayout(Io& io, S& o) {
  io.Word(0);
  io(0, 31, o.intparm);
  io.Word(1);
  io(0, 3, o.key);
  io(4, o.spnd);
  io(5, o.str);
  io(6, o.mod);
  io(7, o.sync);
  io(8, o.fmt);
  io(9, o.pfch);
  io(10, o.isic);
  io(11, o.alcc);
  io(12, o.ssic);
  io(13, o.tm);
  io(14, o.c64);
  io(15, o.i2k);
  io(16, 23, o.lpm);
  io(24, o.ils);
  io(25, o.midaw);
  io(31, o.orbx);
  io.Word(2);
  io(0, 31, o.cpa);
}

template <typename Io, typename S>
void ScswLayout(Io& io, S& s) {
  io.Word(0);
  io(0, 3, s.key);
  io(4, s.sctl);
  io(5, s.eswf);
  io(6, 7, s.cc);
  io(8, s.fmt);
  io(9, s.pfch);
  io(10, s.isic);
  io(11, s.alcc);
  io(12, s.ssi);
  io(13, s.zcc);
  io(14, s.ectl);
  io(15, s.pno);
  io(17, 19, s.fctl);
  io(20, 26, s.actl);
  io(27, 31, s.stctl);
  io.Word(1);
  io(0, 31, s.cpa);
  io.Word(2);
  io(0, 7, s.dstat);
  io(8, 15, s.cstat);
  io(16, 31, s.count);
}

template <typename Io, typename S>
void EswLayout(Io& io, S& e) {
  io.Word(0);
  io(1, 7, e.esf);
  io(8, 15, e.lpum);
  io(16, e.arep);
  io(17, 21, e.fvf);
  io(22, 23, e.sacc);
  io(24, 25, e.termc);
  io(26, e.devsc);
  io(27, e.serr);
  io(28, e.ioerr);
  io(29, 31, e.seqc);
  io.Word(1);
  io(1, e.erw_l);
  io(2, e.erw_e);
  io(3, e.erw_a);
  io(4, e.erw_p);
  io(5, e.erw_t);
  io(6, e.erw_f);
  io(7, e.erw_s);
  io(8, e.erw_c);
  io(9, e.erw_r);
  io(10, 15, e.erw_scnt);
  io.U64(8, e.faddr);
  io.Word(4);
  io(0, 31, e.saddr);
}

template <typename Io, typename S>
void PmcwLayout(Io& io, S& p) {
  io.Word(0);
  io(0, 31, p.intparm);
  io.Word(1);
  io(0, p.qf);
  io(1, p.w);
  io(2, 4, p.isc);
  io(8, p.ena);
  io(9, 10, p.lm);
  io(11, 12, p.mme);
  io(13, p.mp);
  io(14, p.tf);
  io(15, p.dnv);
  io(16, 31, p.dev);
  io.Word(2);
  io(0, 7, p.lpm);
  io(8, 15, p.pnom);
  io(16, 23, p.lpum);
  io(24, 31, p.pim);
  io.Word(3);
  io(0, 15, p.mbi);
  io(16, 23, p.pom);
  io(24, 31, p.pam);
  io.Bytes(16, p.chpid);
  io.Word(6);
  io(8, 10, p.st);
  io(29, p.mbfc);
  io(30, p.xmwme);
  io(31, p.csense);
}

template <typename Io, typename S>
void CrwLayout(Io& io, S& c) {
  io.Word(0);
  io(1, c.slct);
  io(2, c.oflw);
  io(3, c.chn);
  io(4, 7, c.rsc);
  io(8, c.anc);
  io(10, 15, c.erc);
  io(16, 31, c.rsid);
}

// The wire image of `t` as an array.
template <size_t N, typename T>
std::array<uint8_t, N> EncodeToArray(const T& t) {
  std::array<uint8_t, N> b;
  t.EncodeTo(b);
  return b;
}

// Offsets inside the IRB and SCHIB images.
constexpr size_t kIrbEswOff = kScswSize;
constexpr size_t kIrbEcwOff = kIrbEswOff + kEswSize;
constexpr size_t kIrbEmwOff = kIrbEcwOff + kEcwSize;
static_assert(kIrbEmwOff + kEmwSize == kIrbSize);
constexpr size_t kSchibScswOff = kPmcwSize;
constexpr size_t kSchibMbaOff = kSchibScswOff + kScswSize;
constexpr size_t kSchibMdaOff = kSchibMbaOff + 8;
static_assert(kSchibMdaOff + 4 == kSchibSize);

// One name per bit of a status or control byte, in output order.
struct BitName {
  uint8_t mask;
  std::string_view name;
};

// Names of the bits set in `value` (bits not in `names` are ignored), joined by
// `sep`; `none` when no named bit is set.
std::string BitsText(uint8_t value, std::span<const BitName> names, std::string_view sep,
                     std::string_view none) {
  std::string out;
  for (const BitName& n : names) {
    if ((value & n.mask) == 0) continue;
    if (!out.empty()) out.append(sep);
    out.append(n.name);
  }
  return out.empty() ? std::string(none) : out;
}

constexpr BitName kDeviceStatusNames[] = {
    {dev_stat::kAttention, "ATTN"},    {dev_stat::kStatusModifier, "SM"},
    {dev_stat::kControlUnitEnd, "CUE"}, {dev_stat::kBusy, "BUSY"},
    {dev_stat::kChannelEnd, "CE"},     {dev_stat::kDeviceEnd, "DE"},
    {dev_stat::kUnitCheck, "UC"},      {dev_stat::kUnitException, "UE"},
};
constexpr BitName kSubchannelStatusNames[] = {
    {sch_stat::kPci, "PCI"},
    {sch_stat::kIncorrectLength, "IL"},
    {sch_stat::kProgramCheck, "PGM-CHK"},
    {sch_stat::kProtectionCheck, "PROT-CHK"},
    {sch_stat::kChannelDataCheck, "CDC"},
    {sch_stat::kChannelControlCheck, "CCC"},
    {sch_stat::kInterfaceControlCheck, "ICC"},
    {sch_stat::kChainingCheck, "CHAIN-CHK"},
};
constexpr BitName kFunctionControlNames[] = {
    {scsw_fctl::kStart, "start"},
    {scsw_fctl::kHalt, "halt"},
    {scsw_fctl::kClear, "clear"},
};
constexpr BitName kStatusControlNames[] = {
    {scsw_stctl::kAlert, "alert"},
    {scsw_stctl::kIntermediate, "intermediate"},
    {scsw_stctl::kPrimary, "primary"},
    {scsw_stctl::kSecondary, "secondary"},
    {scsw_stctl::kStatusPending, "status-pending"},
};
constexpr BitName kActivityControlNames[] = {
    {scsw_actl::kResumePending, "resume-pending"},
    {scsw_actl::kStartPending, "start-pending"},
    {scsw_actl::kHaltPending, "halt-pending"},
    {scsw_actl::kClearPending, "clear-pending"},
    {scsw_actl::kSubchannelActive, "subchannel-active"},
    {scsw_actl::kDeviceActive, "device-active"},
    {scsw_actl::kSuspended, "suspended"},
};
constexpr BitName kFlagNames[] = {
    {ccw_flag::kCd, "CD"},   {ccw_flag::kCc, "CC"},   {ccw_flag::kSli, "SLI"},
    {ccw_flag::kSkip, "SKIP"}, {ccw_flag::kPci, "PCI"}, {ccw_flag::kIda, "IDA"},
    {ccw_flag::kSuspend, "SUSPEND"}, {ccw_flag::kMida, "MIDA"},
};

// Command names: architecture commands and the 3990/3390 ECKD set (reference/dasd-3390.md).
struct CommandEntry {
  uint8_t code;
  std::string_view name;
};
constexpr CommandEntry kCommands[] = {
    {0x02, "READ IPL"},
    {0x03, "NOOP"},
    {0x04, "SENSE"},
    {0x05, "WRITE DATA"},
    {0x06, "READ DATA"},
    {0x07, "SEEK"},
    {0x08, "TIC"},
    {0x0D, "WRITE KEY AND DATA"},
    {0x0E, "READ KEY AND DATA"},
    {0x11, "ERASE"},
    {0x12, "READ COUNT"},
    {0x14, "UNCONDITIONAL RESERVE"},
    {0x15, "WRITE RECORD ZERO"},
    {0x16, "READ RECORD ZERO"},
    {0x1A, "READ HOME ADDRESS"},
    {0x1D, "WRITE CKD"},
    {0x1E, "READ CKD"},
    {0x1F, "SET FILE MASK"},
    {0x27, "PERFORM SUBSYSTEM FUNCTION"},
    {0x31, "SEARCH ID EQUAL"},
    {0x34, "SENSE PATH GROUP ID"},
    {0x3E, "READ SUBSYSTEM DATA"},
    {0x47, "LOCATE RECORD"},
    {0x4B, "LOCATE RECORD EXTENDED"},
    {0x5E, "READ MULTIPLE CKD"},
    {0x63, "DEFINE EXTENT"},
    {0x64, "READ DEVICE CHARACTERISTICS"},
    {0x85, "WRITE UPDATE DATA"},
    {0x86, "READ DATA MT"},
    {0x8D, "WRITE UPDATE KEY AND DATA"},
    {0x8E, "READ KEY AND DATA MT"},
    {0x94, "RELEASE"},
    {0x9D, "WRITE CKD NEXT TRACK"},
    {0x9E, "READ CKD MT"},
    {0xAF, "SET PATH GROUP ID"},
    {0xB4, "RESERVE"},
    {0xDE, "READ TRACK"},
    {0xE4, "SENSE ID"},
    {0xE7, "PREFIX"},
    {0xFA, "READ CONFIGURATION DATA"},
};
static_assert(
    [] {
      for (size_t i = 1; i < std::size(kCommands); ++i) {
        if (kCommands[i - 1].code >= kCommands[i].code) return false;
      }
      return true;
    }(),
    "kCommands must be strictly ascending (no duplicates)");

// Indexed by command code; empty for codes without a name.
constexpr std::array<std::string_view, 256> kCommandNames = [] {
  std::array<std::string_view, 256> t{};
  for (const CommandEntry& e : kCommands) t[e.code] = e.name;
  return t;
}();

}  // namespace

// --- Ccw1 ---
Ccw1 Ccw1::Decode(std::span<const uint8_t, kCcwSize> b) {
  Ccw1 c;
  Reader in(b);
  Ccw1Layout(in, c);
  return c;
}
void Ccw1::EncodeTo(std::span<uint8_t, kCcwSize> b) const {
  Writer out(b);
  Ccw1Layout(out, *this);
}
std::array<uint8_t, kCcwSize> Ccw1::Encode() const {
  return EncodeToArray<kCcwSize>(*this);
}

// --- Ccw0 ---
Ccw0 Ccw0::Decode(std::span<const uint8_t, kCcwSize> b) {
  Ccw0 c;
  Reader in(b);
  Ccw0Layout(in, c);
  return c;
}
void Ccw0::EncodeTo(std::span<uint8_t, kCcwSize> b) const {
  Writer out(b);
  Ccw0Layout(out, *this);
}
std::array<uint8_t, kCcwSize> Ccw0::Encode() const {
  return EncodeToArray<kCcwSize>(*this);
}
Ccw1 Ccw0::ToFormat1() const {
  if ((cmd & 0x0F) == ccw_cmd::kTic) return Ccw1{.cmd = ccw_cmd::kTic, .flags = 0, .count = 0, .cda = cda};
  return Ccw1{.cmd = cmd, .flags = flags, .count = count, .cda = cda};
}

// --- Orb ---
Orb Orb::Decode(std::span<const uint8_t, kOrbSize> b) {
  Orb o;
  Reader in(b);
  OrbLayout(in, o);
  return o;
}
void Orb::EncodeTo(std::span<uint8_t, kOrbSize> b) const {
  Writer out(b);
  OrbLayout(out, *this);
}
std::array<uint8_t, kOrbSize> Orb::Encode() const {
  return EncodeToArray<kOrbSize>(*this);
}

// --- Scsw ---
Scsw Scsw::Decode(std::span<const uint8_t, kScswSize> b) {
  Scsw s;
  Reader in(b);
  ScswLayout(in, s);
  return s;
}
void Scsw::EncodeTo(std::span<uint8_t, kScswSize> b) const {
  Writer out(b);
  ScswLayout(out, *this);
}
std::array<uint8_t, kScswSize> Scsw::Encode() const {
  return EncodeToArray<kScswSize>(*this);
}
bool Scsw::IsFinal() const {
  return (actl & (scsw_actl::kSubchannelActive | scsw_actl::kDeviceActive)) == 0;
}

// --- Esw ---
Esw Esw::Decode(std::span<const uint8_t, kEswSize> b) {
  Esw e;
  Reader in(b);
  EswLayout(in, e);
  return e;
}
void Esw::EncodeTo(std::span<uint8_t, kEswSize> b) const {
  Writer out(b);
  EswLayout(out, *this);
}

// --- Irb ---
Irb Irb::Decode(std::span<const uint8_t, kIrbSize> b) {
  Irb irb;
  irb.scsw = Scsw::Decode(b.subspan<0, kScswSize>());
  irb.esw = Esw::Decode(b.subspan<kIrbEswOff, kEswSize>());
  std::ranges::copy(b.subspan<kIrbEcwOff, kEcwSize>(), irb.ecw.begin());
  std::ranges::copy(b.subspan<kIrbEmwOff, kEmwSize>(), irb.emw.begin());
  return irb;
}
void Irb::EncodeTo(std::span<uint8_t, kIrbSize> b) const {
  scsw.EncodeTo(b.subspan<0, kScswSize>());
  esw.EncodeTo(b.subspan<kIrbEswOff, kEswSize>());
  std::ranges::copy(ecw, b.begin() + kIrbEcwOff);
  std::ranges::copy(emw, b.begin() + kIrbEmwOff);
}
std::array<uint8_t, kIrbSize> Irb::Encode() const {
  return EncodeToArray<kIrbSize>(*this);
}

// --- Pmcw ---
Pmcw Pmcw::Decode(std::span<const uint8_t, kPmcwSize> b) {
  Pmcw p;
  Reader in(b);
  PmcwLayout(in, p);
  return p;
}
void Pmcw::EncodeTo(std::span<uint8_t, kPmcwSize> b) const {
  Writer out(b);
  PmcwLayout(out, *this);
}

// --- Schib ---
Schib Schib::Decode(std::span<const uint8_t, kSchibSize> b) {
  Schib s;
  s.pmcw = Pmcw::Decode(b.subspan<0, kPmcwSize>());
  s.scsw = Scsw::Decode(b.subspan<kSchibScswOff, kScswSize>());
  s.mba = LoadBe<uint64_t>(b, kSchibMbaOff);
  std::ranges::copy(b.subspan<kSchibMdaOff, 4>(), s.mda.begin());
  return s;
}
void Schib::EncodeTo(std::span<uint8_t, kSchibSize> b) const {
  pmcw.EncodeTo(b.subspan<0, kPmcwSize>());
  scsw.EncodeTo(b.subspan<kSchibScswOff, kScswSize>());
  StoreBe<uint64_t>(b, kSchibMbaOff, mba);
  std::ranges::copy(mda, b.begin() + kSchibMdaOff);
}
std::array<uint8_t, kSchibSize> Schib::Encode() const {
  return EncodeToArray<kSchibSize>(*this);
}

// --- Crw ---
Crw Crw::Decode(std::span<const uint8_t, kCrwSize> b) {
  Crw c;
  Reader in(b);
  CrwLayout(in, c);
  return c;
}
void Crw::EncodeTo(std::span<uint8_t, kCrwSize> b) const {
  Writer out(b);
  CrwLayout(out, *this);
}
Crw Crw::FromWord(uint32_t w) {
  std::array<uint8_t, kCrwSize> b;
  StoreBe<uint32_t>(b, 0, w);
  return Decode(b);
}
uint32_t Crw::ToWord() const {
  std::array<uint8_t, kCrwSize> b;
  EncodeTo(b);
  return LoadBe<uint32_t>(b, 0);
}

// --- IDAW ---
uint64_t DecodeIdaw(IdawFormat f, std::span<const uint8_t> b) {
  if (b.size() < IdawSize(f)) return 0;  // caller bug; see arch.h
  return f == IdawFormat::kFormat1 ? LoadBe<uint32_t>(b, 0) : LoadBe<uint64_t>(b, 0);
}
void EncodeIdaw(IdawFormat f, uint64_t addr, std::span<uint8_t> b) {
  if (b.size() < IdawSize(f)) return;  // caller bug; see arch.h
  if (f == IdawFormat::kFormat1) {
    StoreBe<uint32_t>(b, 0, static_cast<uint32_t>(addr));
  } else {
    StoreBe<uint64_t>(b, 0, addr);
  }
}

// --- Text ---
std::string DeviceStatusText(uint8_t dstat) { return BitsText(dstat, kDeviceStatusNames, " ", ""); }
std::string SubchannelStatusText(uint8_t cstat) { return BitsText(cstat, kSubchannelStatusNames, " ", ""); }
std::string FunctionControlText(uint8_t fctl) { return BitsText(fctl, kFunctionControlNames, "|", "none"); }
std::string StatusControlText(uint8_t stctl) { return BitsText(stctl, kStatusControlNames, "|", "none"); }
std::string ActivityControlText(uint8_t actl) { return BitsText(actl, kActivityControlNames, "|", "none"); }
std::string FlagsText(uint8_t flags) { return BitsText(flags, kFlagNames, " ", ""); }
std::string_view CommandName(uint8_t cmd) { return kCommandNames[cmd]; }

}  // namespace ccwpass::translate
