// Writes the seed corpora of translate_fuzzer and decoders_fuzzer: real channel
// programs (SENSE ID, Linux's 4 KiB DASD read, the QEMU BIOS ECKD IPL sequence in
// format 0 and 1, a data-chained write over a client IDAL, a 255-CCW chain, TIC
// segments) as the bytes translate_fuzzer reads (translate_input.h), each with the
// final SCSW of a run to the end; and wire images (ORB, IRB, SCHIB, CRW) for the
// decoders. Built with the normal toolchain:
//   bazel run //translate/fuzz:make_seeds -- $PWD/translate/fuzz/corpus
// The output is deterministic; the checked-in corpus is its output.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "translate/arch.h"
#include "translate/builder.h"
#include "translate/fuzz/translate_input.h"
#include "translate/guest_memory.h"

namespace ccwpass::translate::fuzz {
namespace {

using Bytes = std::vector<uint8_t>;

void WriteFile(const std::string& path, const Bytes& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::printf("%s (%zu bytes)\n", path.c_str(), b.size());
}

Scsw FinalScsw() {
  Scsw s;
  s.fmt = true;
  s.fctl = scsw_fctl::kStart;
  s.stctl = scsw_stctl::kPrimary | scsw_stctl::kSecondary | scsw_stctl::kStatusPending;
  s.dstat = dev_stat::kChannelEnd | dev_stat::kDeviceEnd;
  return s;
}

// One translate_fuzzer input: the SCSW CPA one past the end of chain `chain`
// (whose length is `len`), residual `residual`.
Bytes TranslateInput(const Orb& orb, std::span<const uint8_t> image, uint8_t ctl, uint8_t chain,
                     int len, uint16_t residual) {
  Bytes b(kInImage, 0);
  const auto o = orb.Encode();
  std::copy(o.begin(), o.end(), b.begin() + kInOrb);
  b[kInCtl] = ctl;
  b[kInChainSel] = chain;
  b[kInCcwSel] = static_cast<uint8_t>(len);
  Scsw s = FinalScsw();
  s.count = residual;
  const auto e = s.Encode();
  std::copy(e.begin(), e.end(), b.begin() + kInScsw);
  if (image.size() > kMaxImage) std::abort();
  b.insert(b.end(), image.begin(), image.end());
  return b;
}

Bytes FromBuilt(const std::vector<CcwSpec>& ccws, uint8_t ctl, uint16_t residual = 0) {
  auto built = BuildProgram(ccws);
  if (!built.ok()) {
    std::fprintf(stderr, "%s\n", built.status().ToString().c_str());
    std::exit(1);
  }
  return TranslateInput(built->orb, built->memory->Bytes(), ctl, 0, static_cast<int>(ccws.size()), residual);
}

Orb Format1Orb(uint32_t cpa, bool fmt1) {
  Orb o;
  o.fmt = fmt1;
  o.pfch = true;
  o.c64 = true;
  o.lpm = 0xFF;
  o.cpa = cpa;
  return o;
}

void PutCcw(FlatGuestMemory& m, bool fmt1, uint64_t at, uint8_t cmd, uint8_t flags, uint16_t count, uint32_t cda) {
  if (!WriteCcw(m, at, Ccw1{cmd, flags, count, cda}, fmt1).ok()) std::abort();
}

void TranslateSeeds(const std::string& dir) {
  constexpr uint8_t kCtl = kCtlClearTm | kCtlAlignCpa | kCtlPlayDevice;
  // SENSE ID (reference/qemu-s390x.md): the device answers 12 of 256 bytes.
  WriteFile(dir + "/sense-id", FromBuilt({{.cmd = ccw_cmd::kSenseId, .flags = ccw_flag::kSli, .count = 256}}, kCtl, 244));
  // Linux's read of one 4 KiB block (translator_test LinuxDasdBlockRead).
  const Bytes de = {0x40, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08};
  const Bytes lr = {0x06, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x05, 0x4D, 0x10, 0x00};
  WriteFile(dir + "/dasd-read-4k", FromBuilt({{.cmd = 0x63, .flags = ccw_flag::kCc, .data = de},
                                              {.cmd = 0x47, .flags = ccw_flag::kCc, .data = lr},
                                              {.cmd = 0x86, .count = 4096}},
                                             kCtl));
  // A write of 8 KiB over a client IDAL, data-chained to a 100-byte read backward.
  Bytes data(8192);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  WriteFile(dir + "/write-8k-ida", FromBuilt({{.cmd = 0x05, .flags = ccw_flag::kIda | ccw_flag::kCd, .data = data},
                                              {.cmd = 0x0C, .count = 100}},
                                             kCtl, 40));
  // A 255-CCW chain of 64-byte READ DATA.
  std::vector<CcwSpec> chain;
  for (int i = 0; i < 255; ++i) {
    chain.push_back({.cmd = 0x86, .flags = i + 1 < 255 ? ccw_flag::kCc : uint8_t{0}, .count = 64});
  }
  WriteFile(dir + "/chain-255", FromBuilt(chain, kCtl | kCtlTwice));

  // The QEMU BIOS ECKD IPL (dasd-ipl.c): READ IPL into address 0, then SEEK /
  // SEARCH ID EQUAL / TIC back / READ, as in translator_test QemuBiosEckdIplSequence.
  for (bool fmt1 : {false, true}) {
    FlatGuestMemory m(0x5000);
    PutCcw(m, fmt1, 0x2000, 0x02, 0, 0x18, 0x000000);
    WriteFile(dir + (fmt1 ? "/ipl1-read-ipl-fmt1" : "/ipl1-read-ipl-fmt0"),
              TranslateInput(Format1Orb(0x2000, fmt1), m.Bytes(), kCtl, 0, 1, 0));
    const Bytes search = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
    if (!m.Write(0x3000, search).ok()) std::abort();
    PutCcw(m, fmt1, 0x2100, 0x07, ccw_flag::kCc, 6, 0x3000);
    PutCcw(m, fmt1, 0x2108, 0x31, ccw_flag::kCc, 5, 0x3006);
    PutCcw(m, fmt1, 0x2110, ccw_cmd::kTic, 0, 0, 0x2108);
    PutCcw(m, fmt1, 0x2118, 0x06, 0, 144, 0x4000);
    WriteFile(dir + (fmt1 ? "/ipl2-tic-loop-fmt1" : "/ipl2-tic-loop-fmt0"),
              TranslateInput(Format1Orb(0x2100, fmt1), m.Bytes(), kCtl, 0, 4, 0));
  }

  // Three segments linked by TICs (READ, TIC) and a format-2 client IDAL in the last.
  {
    FlatGuestMemory m(0x8000);
    PutCcw(m, true, 0x1000, 0x06, ccw_flag::kCc, 16, 0x5000);
    PutCcw(m, true, 0x1008, ccw_cmd::kTic, 0, 0, 0x1100);
    PutCcw(m, true, 0x1100, 0x06, ccw_flag::kCc, 16, 0x5100);
    PutCcw(m, true, 0x1108, ccw_cmd::kTic, 0, 0, 0x1200);
    PutCcw(m, true, 0x1200, 0x06, ccw_flag::kIda, 3000, 0x1300);
    std::array<uint8_t, kIdaw2Size> w{};
    EncodeIdaw(IdawFormat::kFormat2, 0x5E00, w);
    if (!m.Write(0x1300, w).ok()) std::abort();
    EncodeIdaw(IdawFormat::kFormat2, 0x6000, w);
    if (!m.Write(0x1308, w).ok()) std::abort();
    WriteFile(dir + "/tic-segments-idal", TranslateInput(Format1Orb(0x1000, true), m.Bytes(), kCtl, 2, 1, 1000));
  }
  // 16 chain segments (accepted) and 17 (ENOMEM), each a READ and a TIC to the next.
  for (int n : {16, 17}) {
    FlatGuestMemory m(0x9000);
    for (int i = 0; i < n; ++i) {
      const uint64_t at = 0x1000 + i * 0x100;
      PutCcw(m, true, at, 0x06, i + 1 < n ? ccw_flag::kCc : uint8_t{0}, 8, 0x8000 + i * 8);
      if (i + 1 < n) PutCcw(m, true, at + 8, ccw_cmd::kTic, 0, 0, static_cast<uint32_t>(at + 0x100));
    }
    WriteFile(dir + "/segments-" + std::to_string(n),
              TranslateInput(Format1Orb(0x1000, true), m.Bytes(), kCtl, static_cast<uint8_t>(n - 1), 1, 0));
  }
  // Regression: a chain that runs off the end of a 12-byte memory (a chaining NOOP,
  // then 4 bytes), translated twice. The translator took the second CCW from the
  // unfilled part of its fetch buffer (stack garbage) instead of refusing it with
  // EFAULT, so the two translations disagreed (translate_fuzzer, 2026-11-21).
  {
    FlatGuestMemory m(12);
    PutCcw(m, true, 0, ccw_cmd::kNoop, ccw_flag::kCc, 0, 0);
    WriteFile(dir + "/regress-chain-runs-off-memory-end",
              TranslateInput(Format1Orb(0, true), m.Bytes(), kCtl | kCtlTwice, 0, 0, 0));
  }
  // Format-1 IDAWs (2 KiB blocks): ORB without the H bit.
  {
    FlatGuestMemory m(0x4000);
    PutCcw(m, true, 0x1000, 0x05, ccw_flag::kIda, 5000, 0x1100);
    for (uint32_t k = 0; k < 3; ++k) {
      std::array<uint8_t, kIdaw1Size> w{};
      EncodeIdaw(IdawFormat::kFormat1, k == 0 ? 0x1C00 : 0x2000 + (k - 1) * 2048, w);
      if (!m.Write(0x1100 + k * kIdaw1Size, w).ok()) std::abort();
    }
    Orb o = Format1Orb(0x1000, true);
    o.c64 = false;
    WriteFile(dir + "/write-idaw-format1", TranslateInput(o, m.Bytes(), kCtl, 0, 1, 0));
  }
}

void DecoderSeeds(const std::string& dir) {
  auto built = BuildProgram(std::vector<CcwSpec>{{.cmd = ccw_cmd::kSenseId, .flags = ccw_flag::kSli, .count = 256}});
  const auto orb = built->orb.Encode();
  WriteFile(dir + "/orb-sense-id", Bytes(orb.begin(), orb.end()));
  Irb irb;
  irb.scsw = FinalScsw();
  irb.scsw.cpa = 0x1008;
  irb.scsw.dstat |= dev_stat::kUnitCheck;
  irb.scsw.eswf = true;
  irb.esw.lpum = 0x80;
  irb.esw.erw_s = true;
  irb.esw.erw_scnt = 24;
  irb.ecw[0] = 0x10;  // sense byte 0: equipment check
  const auto ib = irb.Encode();
  WriteFile(dir + "/irb-unit-check", Bytes(ib.begin(), ib.end()));
  Schib schib;
  schib.pmcw.ena = true;
  schib.pmcw.dnv = true;
  schib.pmcw.dev = 0x0100;
  schib.pmcw.lpm = schib.pmcw.pim = schib.pmcw.pam = schib.pmcw.pom = 0x80;
  schib.pmcw.chpid[0] = 0x50;
  const auto sb = schib.Encode();
  WriteFile(dir + "/schib-0100", Bytes(sb.begin(), sb.end()));
  Crw crw;
  crw.rsc = crw_rsc::kChannelPath;
  crw.erc = crw_erc::kPerrn;
  crw.rsid = 0x50;
  std::array<uint8_t, kCrwSize> cb{};
  crw.EncodeTo(cb);
  WriteFile(dir + "/crw-chpid-lost", Bytes(cb.begin(), cb.end()));
}

}  // namespace
}  // namespace ccwpass::translate::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds CORPUS_DIR (writes CORPUS_DIR/{translate,decoders}_fuzzer/)\n");
    return 2;
  }
  const std::string root = argv[1];
  ccwpass::translate::fuzz::TranslateSeeds(root + "/translate_fuzzer");
  ccwpass::translate::fuzz::DecoderSeeds(root + "/decoders_fuzzer");
  return 0;
}
