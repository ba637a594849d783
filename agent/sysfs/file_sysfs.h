// The real sysfs seam: SysfsOps over the files under a root directory.
//
// The root is what the agent's --sysfs_root flag names ("/sys" on a host, a
// temporary directory in tests, a checked-in fixture tree materialized by
// agent/sysfs/testing/fixture_tree.h). Each operation is one or two system
// calls on "<root>/<path>" and returns 0 or the positive errno the kernel gave
// (sysfs_ops.h: the layer above turns it into an absl::Status naming the
// subchannel).
//
// Paths are relative to the root. A path that starts with '/', contains a ".."
// component or a NUL byte is refused with EINVAL before any system call: paths
// may come from a gRPC request and must not leave the root. ("." components
// and repeated '/' are harmless and passed through.)
//
// Sources: Linux fs/kernfs/file.c (kernfs_fop_open: EACCES for a read of an
// attribute without a show function, even for root; kernfs_fop_read_iter: one
// read returns the whole attribute, at most PAGE_SIZE), fs/sysfs/file.c
// (sysfs_kf_write: a write of 0 bytes never reaches the store function; the
// store function's negative return is the write(2) errno),
// Documentation/filesystems/sysfs.rst.
#ifndef CCWPASS_AGENT_SYSFS_FILE_SYSFS_H_
#define CCWPASS_AGENT_SYSFS_FILE_SYSFS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sysfs/sysfs_ops.h"

namespace ccwpass::agent {

class FileSysfs final : public SysfsOps {
 public:
  // A read returning more than this is refused with EFBIG (sysfs attributes
  // are at most a page; binary attributes the agent never reads).
  static constexpr size_t kMaxReadBytes = 1 << 20;

  // `root`: the directory that stands for /sys, e.g. "/sys" or a test's temp
  // dir. Trailing '/' are dropped ("/" itself stays usable: Describe gives
  // "/bus/..."). The root is not opened or checked here: a missing root makes
  // every operation return ENOENT.
  explicit FileSysfs(std::string root);

  // open(O_RDONLY) + read(2) until end of file. Returns 0 and the whole
  // content (the kernel's trailing newline included), or the errno of open or
  // read: ENOENT, EISDIR (a directory), EACCES (a write-only attribute such as
  // `unbind`), ENODEV/EIO/EINVAL (the show function failed, e.g. a
  // channel-path attribute the machine cannot report), EFBIG (over
  // kMaxReadBytes), ENOTDIR, ELOOP; EINVAL for a refused path. EINTR is retried.
  int Read(std::string_view path, std::string* value) override;

  // open(O_WRONLY|O_TRUNC) + exactly one write(2) of `value` (as `echo -n`; the
  // kernel's store functions get the bytes as given). An empty value is sent as
  // "\n": sysfs drops a 0-byte write before the store function, while every
  // store function the agent uses (driver_override, ...) reads "\n" as empty.
  // O_TRUNC is what shells use on sysfs (`echo 1 > online`); on a plain file it
  // makes the file hold exactly the value. Returns 0, or the errno of open or
  // write: ENOENT (no such attribute), EACCES (read-only attribute, for
  // non-root), EISDIR, and the store function's own errno: EINVAL, ENODEV,
  // EBUSY, EEXIST, ENOSPC, EUSERS, ...; EIO when write(2) moved fewer bytes
  // than asked (the kernel never does that to a sysfs store); EINVAL for a
  // refused path. The write is never retried (a store function has effects).
  int Write(std::string_view path, std::string_view value) override;

  // opendir(3)/readdir(3): entry names sorted by byte value, without "." and
  // "..". A link to a directory is followed. "" lists the root. Returns 0,
  // ENOENT, ENOTDIR, EACCES; EINVAL for a refused path. On error `names` is
  // left empty.
  int List(std::string_view dir, std::vector<std::string>* names) override;

  // readlink(2): the target as stored, e.g. "../../../bus/css/drivers/vfio_ccw".
  // Returns 0, ENOENT, EINVAL (not a link, or a refused path), ENOTDIR.
  int ReadLink(std::string_view path, std::string* target) override;

  // lstat(2) of the path: true when the entry exists, whatever it is. A link
  // counts as existing even when its target does not (sysfs has no dangling
  // links; in a test tree the entry is what the caller asked about). Links in
  // the middle of the path are followed, as the kernel resolves them. False
  // for a refused path.
  bool Exists(std::string_view path) override;

  // root + "/" + path: "/sys/bus/css/devices/0.0.0100/driver_override".
  std::string Describe(std::string_view path) const override;

  const std::string& root() const { return root_; }

 private:
  // "<root>/<path>" into *full, or false for a path that must be refused.
  bool FullPath(std::string_view path, std::string* full) const;

  std::string root_;
};

// True when `path` may be used under a root: relative (no leading '/'), no
// ".." component, no NUL byte. "" (the root itself) is allowed.
bool IsSafeRelativePath(std::string_view path);

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_SYSFS_FILE_SYSFS_H_
