// Checked-in sysfs trees for tests: a text manifest, materialized into a
// temporary directory with real directories, attribute files and relative
// symbolic links.
//
// Why a manifest and not the tree itself: a sysfs tree is full of links to
// directories that form cycles (devices/css0/0.0.0000/driver ->
// bus/css/drivers/io_subchannel, whose 0.0.0000 entry links back), and Bazel
// 4 globs follow links to directories (infinite expansion), refuse dangling
// ones and copy rather than link into runfiles. A manifest carries the exact
// bytes and link targets through Bazel and git unchanged.
//
// Manifest format (tests/fixtures/sysfs/README.md), one entry a line, fields
// separated by one space; '#' starts a comment line; blank lines are skipped:
//   d PATH              a directory (mode 0755); parents of every entry are
//                       made implicitly, so `d` is needed only for empty ones
//   f PATH "CONTENT"    an attribute file (mode 0644) holding CONTENT, a C
//                       string literal body (\n, \t, \\, \", \xNN): the bytes
//                       the kernel's show function prints, newline included
//   w PATH              a write-only attribute (bind, unbind, create, remove,
//                       drivers_probe): an empty file of mode 0200
//   l PATH TARGET       a symbolic link whose target is TARGET, as stored
// PATH is relative ('/'-separated, no leading '/', no "." or ".." component)
// and must not lie below a link entry; each PATH appears once.
#ifndef CCWPASS_AGENT_SYSFS_TESTING_FIXTURE_TREE_H_
#define CCWPASS_AGENT_SYSFS_TESTING_FIXTURE_TREE_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ccwpass::agent::testing {

struct TreeEntry {
  enum Kind { kDir, kFile, kWriteOnly, kLink } kind = kFile;
  std::string path;
  std::string content;  // kFile: the unescaped bytes; kLink: the target
  bool operator==(const TreeEntry&) const = default;
};

// Parses a manifest. `source` names it in messages. Errors: kInvalidArgument
// "<source>:<line>: <what>" for an unknown kind, a missing field, a bad
// escape or quote, an unsafe or repeated path, a path below a link entry.
absl::StatusOr<std::vector<TreeEntry>> ParseTreeManifest(std::string_view text, std::string_view source);

// Creates the entries under the existing directory `dir`, in manifest order.
// Errors: kInternal naming the path and the failing system call's errno.
absl::Status MaterializeTree(const std::vector<TreeEntry>& entries, const std::string& dir);

// A materialized manifest in a fresh directory under $TEST_TMPDIR (or
// /tmp), removed with everything in it when the object is destroyed.
class FixtureTree {
 public:
  // Reads the manifest file at `manifest_path` (relative paths are taken from
  // the working directory: a test's runfiles root, so
  // "tests/fixtures/sysfs/qemu-guest/tree.txt"), parses and materializes it.
  // Errors: kNotFound when the file cannot be read; ParseTreeManifest's and
  // MaterializeTree's errors.
  static absl::StatusOr<std::unique_ptr<FixtureTree>> Load(const std::string& manifest_path);
  // The same from manifest text.
  static absl::StatusOr<std::unique_ptr<FixtureTree>> FromText(std::string_view text, std::string_view source);
  ~FixtureTree();
  FixtureTree(const FixtureTree&) = delete;
  FixtureTree& operator=(const FixtureTree&) = delete;

  // The directory that stands for /sys.
  const std::string& root() const { return root_; }
  const std::vector<TreeEntry>& entries() const { return entries_; }

 private:
  FixtureTree(std::string root, std::vector<TreeEntry> entries)
      : root_(std::move(root)), entries_(std::move(entries)) {}
  std::string root_;
  std::vector<TreeEntry> entries_;
};

}  // namespace ccwpass::agent::testing

#endif  // CCWPASS_AGENT_SYSFS_TESTING_FIXTURE_TREE_H_
