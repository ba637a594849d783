#include "translate/builder.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "translate/rules.h"

namespace ccwpass::translate {
namespace {

constexpr uint32_t kMaxCount = 0xFFFF;
constexpr size_t kMaxCcws = 65536;  // far beyond any chain the translator accepts; bounds the image

uint64_t RoundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

absl::Status SpecError(size_t i, const std::string& words) {
  return absl::InvalidArgumentError(absl::StrFormat("ccws[%d]: %s", i, words));
}

}  // namespace

absl::Status WriteCcw(GuestMemory& m, uint64_t addr, const Ccw1& c, bool format1) {
  if (format1) return m.Write(addr, c.Encode());
  if (c.cda > 0xFFFFFF) {
    return absl::InvalidArgumentError(
        absl::StrFormat("data address 0x%x does not fit a format-0 CCW (24 bits)", c.cda));
  }
  Ccw0 c0;
  c0.cmd = c.cmd;
  c0.cda = c.cda;
  c0.flags = c.flags;
  c0.count = c.count;
  return m.Write(addr, c0.Encode());
}

int BuiltProgram::IndexOfAddress(uint64_t addr) const {
  auto it = std::find(ccw_addrs.begin(), ccw_addrs.end(), addr);
  return it == ccw_addrs.end() ? -1 : static_cast<int>(it - ccw_addrs.begin());
}

absl::StatusOr<BuiltProgram> BuildProgram(std::span<const CcwSpec> ccws, const BuildOptions& options) {
  if (ccws.empty()) return absl::InvalidArgumentError("a channel program needs at least one CCW");
  if (ccws.size() > kMaxCcws) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d CCWs: a program may list at most %d", ccws.size(), kMaxCcws));
  }
  // First pass: check every spec and work out the counts.
  std::vector<uint32_t> counts(ccws.size(), 0);
  for (size_t i = 0; i < ccws.size(); ++i) {
    const CcwSpec& s = ccws[i];
    if (s.tic.has_value()) {
      if (*s.tic < 0 || static_cast<size_t>(*s.tic) >= ccws.size()) {
        return SpecError(i, absl::StrFormat("TIC target %d is not a CCW index (0..%d)", *s.tic,
                                            ccws.size() - 1));
      }
      if (s.cmd != 0 || s.flags != 0 || s.count.has_value() || s.data.has_value()) {
        return SpecError(i, "a TIC takes only its target: no cmd, flags, count or data");
      }
      continue;
    }
    if (s.cmd == ccw_cmd::kTic) {
      return SpecError(i, "command 0x08 is a TIC: write it as a TIC to a CCW index");
    }
    if (s.flags & ccw_flag::kMida) {
      return SpecError(i, "MIDA: the builder does not build modified IDALs; use the raw form");
    }
    const Ccw1 probe{s.cmd, s.flags, 0, 0};
    if (s.data.has_value() && IsDataIn(probe)) {
      return SpecError(i, absl::StrFormat("data given for command 0x%02x, which reads from the device",
                                          s.cmd));
    }
    if (s.count.has_value() && *s.count > kMaxCount) {
      return SpecError(i, absl::StrFormat("count %d exceeds 65535", *s.count));
    }
    if (s.data.has_value() && s.data->size() > kMaxCount) {
      return SpecError(i, absl::StrFormat("%d bytes of data exceed 65535", s.data->size()));
    }
    if (s.data.has_value() && s.count.has_value() && *s.count != s.data->size()) {
      return SpecError(i, absl::StrFormat("count %d does not match the %d bytes of data", *s.count,
                                          s.data->size()));
    }
    counts[i] = s.count.has_value() ? *s.count : (s.data.has_value() ? s.data->size() : 0);
  }

  // Second pass: addresses.
  BuiltProgram out;
  out.ccw_addrs.resize(ccws.size());
  out.data_addrs.assign(ccws.size(), 0);
  for (size_t i = 0; i < ccws.size(); ++i) out.ccw_addrs[i] = kBuilderCcwBase + i * kCcwSize;
  uint64_t next = kBuilderCcwBase + ccws.size() * kCcwSize;
  std::vector<uint64_t> idal_addrs(ccws.size(), 0);
  for (size_t i = 0; i < ccws.size(); ++i) {
    if (!ccws[i].tic.has_value() && (ccws[i].flags & ccw_flag::kIda)) {
      idal_addrs[i] = next;
      next += uint64_t{IdawCount(0, std::max<uint32_t>(counts[i], 1), 4096)} * kIdaw2Size;
    }
  }
  for (size_t i = 0; i < ccws.size(); ++i) {
    if (ccws[i].tic.has_value() || counts[i] == 0) continue;
    // Buffers start on a page boundary when they use an IDAL, so its IDAWs after
    // the first are block-aligned by construction.
    next = RoundUp(next, (ccws[i].flags & ccw_flag::kIda) ? 4096 : 8);
    out.data_addrs[i] = next;
    next += counts[i];
  }
  if (RoundUp(next, 4096) > kMaxBuilderImage) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the program's image would be %d bytes (CCWs, IDALs and buffers): at most %d", RoundUp(next, 4096),
        kMaxBuilderImage));
  }
  out.memory = std::make_unique<FlatGuestMemory>(RoundUp(next, 4096));

  // Third pass: write CCWs, IDALs and data.
  for (size_t i = 0; i < ccws.size(); ++i) {
    const CcwSpec& s = ccws[i];
    Ccw1 c;
    if (s.tic.has_value()) {
      c.cmd = ccw_cmd::kTic;
      c.cda = static_cast<uint32_t>(out.ccw_addrs[*s.tic]);
    } else {
      c.cmd = s.cmd;
      c.flags = s.flags;
      c.count = static_cast<uint16_t>(counts[i]);
      c.cda = static_cast<uint32_t>(out.data_addrs[i]);
      if (s.flags & ccw_flag::kIda) {
        const uint32_t n = IdawCount(out.data_addrs[i], std::max<uint32_t>(counts[i], 1), 4096);
        for (uint32_t k = 0; k < n; ++k) {
          std::array<uint8_t, kIdaw2Size> w{};
          EncodeIdaw(IdawFormat::kFormat2, out.data_addrs[i] + uint64_t{k} * 4096, w);
          if (auto st = out.memory->Write(idal_addrs[i] + k * kIdaw2Size, w); !st.ok()) return st;
        }
        c.cda = static_cast<uint32_t>(idal_addrs[i]);
      }
      if (s.data.has_value() && !s.data->empty()) {
        if (auto st = out.memory->Write(out.data_addrs[i], *s.data); !st.ok()) return st;
      }
    }
    if (auto st = out.memory->Write(out.ccw_addrs[i], c.Encode()); !st.ok()) return st;
  }

  out.orb.intparm = options.intparm;
  out.orb.key = options.key;
  out.orb.fmt = true;
  out.orb.pfch = options.pfch;
  out.orb.isic = options.isic;
  out.orb.c64 = true;
  out.orb.lpm = options.lpm;
  out.orb.ils = options.ils;
  out.orb.cpa = static_cast<uint32_t>(kBuilderCcwBase);
  return out;
}

}  // namespace ccwpass::translate
