// The sysfs seam: the four operations the agent performs on sysfs.
//
// Everything the agent knows about subchannels, drivers and mdevs it learns and
// changes through this interface. Two implementations: files under a root
// directory given by a flag (agent/sysfs/file_sysfs.h, the real kernel) and the
// simulated kernel's css bus (sim/kernel.h), whose writes act like the kernel's
// store functions.
//
// Convention (DESIGN.md, "the syscall layer returns the result together with
// errno"): each operation returns 0 or a positive errno exactly as the kernel
// would give it (ENOENT, EINVAL, EBUSY, ENODEV, EPERM, ...); the caller one layer
// up turns it into an absl::Status that names the subchannel.
//
// Paths are relative to the sysfs root, '/'-separated, without a leading '/':
// "bus/css/devices/0.0.0100/driver_override". Sources: Linux
// Documentation/ABI/testing/sysfs-bus-css, drivers/s390/cio/{css,device}.c,
// drivers/vfio/mdev/mdev_sysfs.c; ../shared/reference/sysfs-and-peers.md.
#ifndef CCWPASS_AGENT_SYSFS_SYSFS_OPS_H_
#define CCWPASS_AGENT_SYSFS_SYSFS_OPS_H_

#include <string>
#include <string_view>
#include <vector>

namespace ccwpass::agent {

class SysfsOps {
 public:
  virtual ~SysfsOps() = default;

  // Reads a whole attribute as the kernel's show function prints it (trailing
  // newline included). Returns 0, or ENOENT (no such attribute), EISDIR, EACCES
  // (write-only attribute such as `unbind`), ENODEV, EIO.
  virtual int Read(std::string_view path, std::string* value) = 0;

  // Writes `value` to an attribute in one write(2), as `echo -n` does (callers
  // add no newline; the kernel tolerates one). Returns 0, or the errno of the
  // kernel's store function: EINVAL (bad input), ENODEV, EBUSY, ENOENT,
  // EACCES (read-only attribute), ENOSPC (no mdev instance left), ...
  virtual int Write(std::string_view path, std::string_view value) = 0;

  // Lists a directory: entry names sorted by name, without "." and "..".
  // Returns 0, ENOENT or ENOTDIR.
  virtual int List(std::string_view dir, std::vector<std::string>* names) = 0;

  // Reads a symbolic link's target as stored (usually relative, e.g.
  // "../../../bus/css/drivers/io_subchannel"). Returns 0, ENOENT or EINVAL (not
  // a link).
  virtual int ReadLink(std::string_view path, std::string* target) = 0;

  // True when the path exists (attribute, directory or link).
  virtual bool Exists(std::string_view path) = 0;

  // The path as a user should see it in a message ("/sys/bus/css/..." for the
  // real root, "sim:/sys/bus/css/..." for the simulated kernel).
  virtual std::string Describe(std::string_view path) const = 0;
};

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_SYSFS_SYSFS_OPS_H_
