#include "agent/sysfs/testing/fixture_tree.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "agent/absl_view.h"

namespace ccwpass::agent::testing {
namespace {

std::string_view S(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// Relative, '/'-separated, no empty, "." or ".." component.
bool IsCleanPath(std::string_view p) {
  if (p.empty() || p.front() == '/' || p.back() == '/') return false;
  for (absl::string_view c : absl::StrSplit(AbslView(p), '/')) {
    if (c.empty() || c == "." || c == "..") return false;
  }
  return p.find('\0') == std::string_view::npos;
}

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(AbslView(what), " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::vector<TreeEntry>> ParseTreeManifest(std::string_view text, std::string_view source) {
  std::vector<TreeEntry> out;
  std::set<std::string> seen;
  std::vector<std::string> links;
  int lineno = 0;
  for (absl::string_view raw : absl::StrSplit(AbslView(text), '\n')) {
    ++lineno;
    const std::string_view line = S(raw);
    auto bad = [&](std::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat(AbslView(source), ":", lineno, ": ", AbslView(what)));
    };
    if (line.empty() || line.front() == '#') continue;
    if (line.size() < 3 || line[1] != ' ') return bad("expected '<kind> <path> ...'");
    TreeEntry e;
    std::string_view rest = line.substr(2);
    const size_t sp = rest.find(' ');
    e.path = std::string(rest.substr(0, sp));
    const std::string_view arg = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    const bool has_arg = sp != std::string_view::npos;
    switch (line[0]) {
      case 'd':
      case 'w':
        e.kind = line[0] == 'd' ? TreeEntry::kDir : TreeEntry::kWriteOnly;
        if (has_arg) return bad(absl::StrCat("unexpected text after the path: '", AbslView(arg), "'"));
        break;
      case 'f': {
        e.kind = TreeEntry::kFile;
        if (!has_arg || arg.size() < 2 || arg.front() != '"' || arg.back() != '"') {
          return bad("expected the content as a double-quoted C string");
        }
        std::string err;
        if (!absl::CUnescape(AbslView(arg.substr(1, arg.size() - 2)), &e.content, &err)) {
          return bad(absl::StrCat("bad escape in the content: ", err));
        }
        break;
      }
      case 'l':
        e.kind = TreeEntry::kLink;
        if (!has_arg || arg.empty() || arg.find(' ') != std::string_view::npos) {
          return bad("expected one link target");
        }
        e.content = std::string(arg);
        break;
      default:
        return bad(absl::StrCat("unknown kind '", AbslView(line.substr(0, 1)), "' (d, f, w or l)"));
    }
    if (!IsCleanPath(e.path)) return bad(absl::StrCat("bad path '", e.path, "'"));
    if (!seen.insert(e.path).second) return bad(absl::StrCat("repeated path '", e.path, "'"));
    for (const std::string& l : links) {
      if (e.path.size() > l.size() && e.path.compare(0, l.size(), l) == 0 && e.path[l.size()] == '/') {
        return bad(absl::StrCat("path '", e.path, "' lies below the link '", l, "'"));
      }
    }
    if (e.kind == TreeEntry::kLink) links.push_back(e.path);
    out.push_back(std::move(e));
  }
  return out;
}

absl::Status MaterializeTree(const std::vector<TreeEntry>& entries, const std::string& dir) {
  for (const TreeEntry& e : entries) {
    const std::string full = absl::StrCat(dir, "/", e.path);
    std::error_code ec;
    const std::filesystem::path parent = std::filesystem::path(full).parent_path();
    std::filesystem::create_directories(parent, ec);
    if (ec) return absl::InternalError(absl::StrCat("mkdir ", parent.string(), ": ", ec.message()));
    switch (e.kind) {
      case TreeEntry::kDir:
        if (::mkdir(full.c_str(), 0755) != 0 && errno != EEXIST) return Errno("mkdir", full);
        break;
      case TreeEntry::kFile:
      case TreeEntry::kWriteOnly: {
        const mode_t mode = e.kind == TreeEntry::kFile ? 0644 : 0200;
        const int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0) return Errno("create", full);
        size_t done = 0;
        while (done < e.content.size()) {
          const ssize_t n = ::write(fd, e.content.data() + done, e.content.size() - done);
          if (n < 0) {
            const absl::Status s = Errno("write", full);
            ::close(fd);
            return s;
          }
          done += static_cast<size_t>(n);
        }
        ::close(fd);
        if (::chmod(full.c_str(), mode) != 0) return Errno("chmod", full);  // umask
        break;
      }
      case TreeEntry::kLink:
        if (::symlink(e.content.c_str(), full.c_str()) != 0) return Errno("symlink", full);
        break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FixtureTree>> FixtureTree::Load(const std::string& manifest_path) {
  std::ifstream in(manifest_path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", manifest_path, ": ", std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return FromText(ss.str(), manifest_path);
}

absl::StatusOr<std::unique_ptr<FixtureTree>> FixtureTree::FromText(std::string_view text, std::string_view source) {
  absl::StatusOr<std::vector<TreeEntry>> entries = ParseTreeManifest(text, source);
  if (!entries.ok()) return entries.status();
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string templ = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/sysfs-fixture-XXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) return Errno("mkdtemp", templ);
  std::unique_ptr<FixtureTree> t(new FixtureTree(templ, std::move(*entries)));
  absl::Status s = MaterializeTree(t->entries_, t->root_);
  if (!s.ok()) return s;
  return t;
}

FixtureTree::~FixtureTree() {
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

}  // namespace ccwpass::agent::testing
