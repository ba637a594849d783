#include "ctl/program_cmd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "ctl/exit_codes.h"
#include "ctl/text_table.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "translate/arch.h"
#include "translate/arena.h"
#include "translate/errors.h"
#include "translate/guest_memory.h"
#include "translate/program_file.h"
#include "translate/rules.h"
#include "translate/translator.h"

namespace ccwpass::ctl {
namespace {

using translate::Ccw0;
using translate::Ccw1;
using translate::CcwLocation;
using translate::DmaArena;
using translate::GuestMemory;
using translate::Orb;
using translate::Program;
using translate::ProgramFile;

constexpr uint64_t kMaxFileBytes = 64ull << 20;
// Rows the rejected view decodes at most: one past the kernel's chain limit,
// so that a chain refused for its length shows the CCW that broke it.
constexpr int kMaxWalkedCcws = translate::kMaxCcwsPerChain + 1;

std::string Hex(uint64_t v) { return fmt::format("0x{:x}", v); }

// Debian's Abseil has its own string_view, which fmt does not know.
std::string_view Sv(absl::string_view s) { return {s.data(), s.size()}; }

// The file parsed, or the message for `err` naming the file.
absl::StatusOr<ProgramFile> Load(absl::string_view name, absl::string_view text, std::ostream& err) {
  auto pf = translate::ParseProgramFile(text);
  if (!pf.ok()) err << fmt::format("ccwctl: {}: {}\n", Sv(name), Sv(pf.status().message()));
  return pf;
}

// A fresh arena for one offline translation.
absl::StatusOr<std::unique_ptr<DmaArena>> MakeArena(const OfflineArena& a, std::ostream& err) {
  auto arena = DmaArena::CreateOwned(a.bytes, a.iova_base);
  if (!arena.ok()) err << fmt::format("ccwctl: cannot set up the DMA arena: {}\n", Sv(arena.status().message()));
  return arena;
}

// The index of the CCW at `loc` as the user should see it: the list index for
// the structural form (-1 if it is not a listed CCW), the translator's otherwise.
int DisplayIndex(const ProgramFile& pf, const CcwLocation& loc) {
  return pf.form == ProgramFile::Form::kStructural ? pf.ListIndexOf(loc.addr) : loc.index;
}

// One line of JSON; invalid UTF-8 (there should be none) is replaced, not thrown.
std::string Dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string RejectionJson(const ProgramFile& pf, const absl::Status& s) {
  nlohmann::ordered_json j;
  j["verdict"] = "rejected";
  if (auto e = translate::ErrnoOf(s)) j["errno"] = translate::ErrnoName(*e);
  if (auto r = translate::RuleOf(s)) j["rule"] = *r;
  j["reason"] = std::string(s.message());
  if (auto loc = translate::CcwLocationOf(s)) {
    j["ccw_addr"] = Hex(loc->addr);
    if (const int i = DisplayIndex(pf, *loc); i >= 0) j["ccw_index"] = i;
  }
  return Dump(j);
}

std::string AcceptedJson(const Program& p) {
  nlohmann::ordered_json j;
  j["verdict"] = "accepted";
  j["chains"] = p.stats().chains;
  j["ccws"] = p.stats().ccws;
  j["idaws"] = p.stats().idaws;
  j["bytes"] = p.stats().bytes;
  if (!p.warnings().empty()) j["warnings"] = p.warnings();
  return Dump(j);
}

// --- show ---

std::string OrbLine(const Orb& o) {
  return fmt::format("orb: fmt={} key={} lpm=0x{:02x} pfch={} c64={} i2k={} intparm=0x{:08x} cpa=0x{:x}",
                     o.fmt ? 1 : 0, o.key, o.lpm, o.pfch ? 1 : 0, o.c64 ? 1 : 0, o.i2k ? 1 : 0, o.intparm,
                     o.cpa);
}

// Up to the first 8 data bytes of a write or control CCW that moves data, read
// from the client's memory (through its IDAWs for an IDA CCW), as hex in groups
// of 4 bytes; "-" for any other CCW or when the bytes cannot be read.
std::string Preview(const Orb& orb, const GuestMemory& m, const Ccw1& c) {
  if (!translate::DoesDataTransfer(c) || translate::IsDataIn(c) || translate::IsMidal(c)) return "-";
  const size_t want = std::min<size_t>(c.count, 8);
  std::vector<uint8_t> bytes(want);
  if (!translate::IsIdal(c)) {
    if (!m.Read(c.cda, bytes).ok()) return "-";
  } else {
    // 8 bytes span at most two IDAW blocks (blocks are 2 KiB or 4 KiB).
    const auto f = orb.c64 ? translate::IdawFormat::kFormat2 : translate::IdawFormat::kFormat1;
    const size_t isz = translate::IdawSize(f);
    const uint32_t block = translate::IdawBlockSize(f, orb.i2k);
    size_t done = 0;
    for (uint64_t k = 0; done < want; ++k) {
      std::array<uint8_t, translate::kIdaw2Size> w{};
      const std::span<uint8_t> idaw(w.data(), isz);
      if (!m.Read(c.cda + k * isz, idaw).ok()) return "-";
      const uint64_t addr = translate::DecodeIdaw(f, idaw);
      const size_t n = std::min<uint64_t>(want - done, block - addr % block);
      if (!m.Read(addr, std::span<uint8_t>(bytes.data() + done, n)).ok()) return "-";
      done += n;
    }
  }
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += ' ';
    out += fmt::format("{:02x}", bytes[i]);
  }
  return out;
}

// One table row. `index` and `tic_index` are display indexes (-1: unknown).
std::vector<std::string> Row(const ProgramFile& pf, int index, uint64_t addr, const Ccw1& c, int tic_index) {
  const std::string_view name = translate::CommandName(c.cmd);
  const std::string flags = translate::FlagsText(c.flags);
  std::string data = "-";
  std::string preview;
  if (translate::IsTic(c)) {
    preview = tic_index >= 0 ? fmt::format("→ ccw {} ({})", tic_index, Hex(c.cda))
                             : fmt::format("→ {}", Hex(c.cda));
  } else {
    if (translate::DoesDataTransfer(c)) data = Hex(c.cda);
    preview = Preview(pf.orb, *pf.memory, c);
  }
  return {index >= 0 ? std::to_string(index) : "?",
          Hex(addr),
          fmt::format("0x{:02x}", c.cmd),
          name.empty() ? "-" : std::string(name),
          flags.empty() ? "-" : flags,
          std::to_string(c.count),
          data,
          preview};
}

TextTable NewCcwTable() {
  return TextTable({"INDEX", "ADDRESS", "CMD", "NAME", "FLAGS", "COUNT", "DATA", "PREVIEW"});
}

// The translated program's CCWs, chain by chain.
void FillFromProgram(const ProgramFile& pf, const Program& p, TextTable& t) {
  const auto& ccws = p.ccws();
  // Display index of the CCW at a client address (first occurrence), -1 if none.
  auto index_of_addr = [&](uint64_t addr) {
    if (pf.form == ProgramFile::Form::kStructural) return pf.ListIndexOf(addr);
    for (size_t i = 0; i < ccws.size(); ++i) {
      if (ccws[i].guest_addr == addr) return static_cast<int>(i);
    }
    return -1;
  };
  for (size_t ch = 0; ch < p.chains().size(); ++ch) {
    const translate::ChainInfo& chain = p.chains()[ch];
    t.AddNote(fmt::format("chain {} at {}", ch, Hex(chain.guest_addr)));
    for (int k = 0; k < chain.len; ++k) {
      const int i = chain.first_index + k;
      const translate::CcwInfo& info = ccws[i];
      const int shown = pf.form == ProgramFile::Form::kStructural ? pf.ListIndexOf(info.guest_addr) : i;
      const int tic = translate::IsTic(info.guest) ? index_of_addr(info.guest.cda) : -1;
      t.AddRow(Row(pf, shown, info.guest_addr, info.guest, tic));
    }
  }
}

// What can be decoded of a refused program: from the CPA, CCWs while they chain.
void FillFromWalk(const ProgramFile& pf, TextTable& t) {
  std::vector<std::pair<uint64_t, Ccw1>> walked;
  for (uint64_t a = pf.orb.cpa; static_cast<int>(walked.size()) < kMaxWalkedCcws; a += translate::kCcwSize) {
    std::array<uint8_t, translate::kCcwSize> raw{};
    if (!pf.memory->Read(a, raw).ok()) break;
    const Ccw1 c = pf.orb.fmt ? Ccw1::Decode(raw) : Ccw0::Decode(raw).ToFormat1();
    walked.emplace_back(a, c);
    if (!translate::IsChaining(c)) break;
  }
  if (walked.empty()) return;
  auto index_of_addr = [&](uint64_t addr) {
    if (pf.form == ProgramFile::Form::kStructural) return pf.ListIndexOf(addr);
    for (size_t i = 0; i < walked.size(); ++i) {
      if (walked[i].first == addr) return static_cast<int>(i);
    }
    return -1;
  };
  t.AddNote(fmt::format("chain 0 at {}", Hex(pf.orb.cpa)));
  for (size_t i = 0; i < walked.size(); ++i) {
    const auto& [addr, c] = walked[i];
    const int shown = pf.form == ProgramFile::Form::kStructural ? pf.ListIndexOf(addr) : static_cast<int>(i);
    t.AddRow(Row(pf, shown, addr, c, translate::IsTic(c) ? index_of_addr(c.cda) : -1));
  }
}

std::string RejectionText(const ProgramFile& pf, const absl::Status& s) {
  std::string line2;
  if (auto r = translate::RuleOf(s)) line2 += fmt::format("rule {}", *r);
  if (auto e = translate::ErrnoOf(s)) {
    line2 += fmt::format("{}errno {}", line2.empty() ? "" : ", ", translate::ErrnoName(*e));
  }
  if (auto loc = translate::CcwLocationOf(s); loc && pf.form == ProgramFile::Form::kStructural) {
    if (const int i = pf.ListIndexOf(loc->addr); i >= 0) {
      line2 += fmt::format("{}ccws[{}] in the file", line2.empty() ? "" : ", ", i);
    }
  }
  std::string out = fmt::format("rejected: {}\n", Sv(s.message()));
  if (!line2.empty()) out += fmt::format("  {}\n", line2);
  return out;
}

// A program file translated into a private arena. The arena is declared first so
// that it outlives the program, which returns its pages on destruction.
struct Translated {
  ProgramFile pf;
  std::unique_ptr<DmaArena> arena;
  absl::StatusOr<translate::Program> program;
};

// Loads `text` and translates it. Problems with the file or the arena are written
// to `err` and give nullopt (bad input); a refused program is in `program`.
std::optional<Translated> LoadAndTranslate(absl::string_view name, absl::string_view text, std::ostream& err,
                                           const OfflineArena& arena_options) {
  auto pf = Load(name, text, err);
  if (!pf.ok()) return std::nullopt;
  auto arena = MakeArena(arena_options, err);
  if (!arena.ok()) return std::nullopt;
  auto program = translate::Translate(pf->orb, *pf->memory, **arena);
  return Translated{std::move(*pf), std::move(*arena), std::move(program)};
}

}  // namespace

int ProgramCheck(absl::string_view name, absl::string_view text, std::ostream& out, std::ostream& err,
                 const OfflineArena& arena_options) {
  std::optional<Translated> t = LoadAndTranslate(name, text, err, arena_options);
  if (!t.has_value()) return kExitBadInput;
  if (!t->program.ok()) {
    out << RejectionJson(t->pf, t->program.status()) << '\n';
    return kExitRejected;
  }
  out << AcceptedJson(*t->program) << '\n';
  return kExitOk;
}

int ProgramShow(absl::string_view name, absl::string_view text, std::ostream& out, std::ostream& err,
                const OfflineArena& arena_options) {
  std::optional<Translated> t = LoadAndTranslate(name, text, err, arena_options);
  if (!t.has_value()) return kExitBadInput;
  const ProgramFile& pf = t->pf;
  const absl::StatusOr<translate::Program>& program = t->program;
  TextTable table = NewCcwTable();
  std::string verdict;
  int code = kExitOk;
  if (program.ok()) {
    FillFromProgram(pf, *program, table);
    const translate::ProgramStats& st = program->stats();
    verdict = fmt::format("accepted: chains {}, ccws {}, idaws {}, bytes {}\n", st.chains, st.ccws, st.idaws,
                          st.bytes);
    for (const std::string& w : program->warnings()) verdict += fmt::format("warning: {}\n", w);
  } else {
    FillFromWalk(pf, table);
    verdict = RejectionText(pf, program.status());
    code = kExitRejected;
  }
  out << OrbLine(pf.orb) << '\n' << table.Render() << verdict;
  return code;
}

absl::StatusOr<std::string> ReadProgramText(const std::string& path) {
  if (path == "-") {
    std::string text(std::istreambuf_iterator<char>(std::cin), {});
    if (std::cin.bad()) return absl::DataLossError("cannot read standard input");
    return text;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return absl::ErrnoToStatus(e, fmt::format("cannot read {}", path));
  }
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    return absl::ErrnoToStatus(e, fmt::format("cannot read {}", path));
  }
  if (S_ISDIR(st.st_mode)) return absl::InvalidArgumentError(fmt::format("cannot read {}: it is a directory", path));
  std::string text;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      return absl::ErrnoToStatus(e, fmt::format("cannot read {}", path));
    }
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > kMaxFileBytes) {
      return absl::InvalidArgumentError(
          fmt::format("cannot read {}: larger than {} MiB, too large for a program file", path, kMaxFileBytes >> 20));
    }
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

void AddProgramCommand(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  CLI::App* program = app.add_subcommand("program", "Channel-program files: police and view them offline");
  program->require_subcommand(1);
  program->footer(
      "A program file is JSON in the raw form (ORB + memory image) or the structural form\n"
      "(a list of CCWs); see docs/program-files.md and docs/examples/.\n"
      "Exit codes: 0 accepted, 1 rejected, 2 bad input or usage.");

  struct Spec {
    const char* name;
    const char* help;
    int (*run)(absl::string_view, absl::string_view, std::ostream&, std::ostream&, const OfflineArena&);
  };
  static constexpr Spec kSpecs[] = {
      {"check",
       "Police and translate FILE as the agent would for vfio-ccw; print the verdict as one JSON line",
       &ProgramCheck},
      {"show",
       "Print FILE's ORB and its CCWs as a table in translation order, then the verdict",
       &ProgramShow},
  };
  for (const Spec& spec : kSpecs) {
    CLI::App* sub = program->add_subcommand(spec.name, spec.help);
    auto file = std::make_shared<std::string>();
    sub->add_option("FILE", *file, "Program file (JSON); - reads standard input")->required();
    sub->callback([file, &out, &err, exit_code, run = spec.run] {
      auto text = ReadProgramText(*file);
      if (!text.ok()) {
        err << fmt::format("ccwctl: {}\n", Sv(text.status().message()));
        *exit_code = kExitBadInput;
        return;
      }
      *exit_code = run(*file == "-" ? "<stdin>" : *file, *text, out, err, OfflineArena{});
    });
  }
}

}  // namespace ccwpass::ctl
