// ccwctl's subchannel commands, over the agent's Subchannels service:
//   list [--attached] [--io] [--cu PREFIX] [--driver NAME] [--state STATE] [-o table|json|yaml]
//   get SCHID [-o table|json|yaml|qemu|libvirt] [--sysfs-root DIR]
//   attach SCHID [--handoff] [--uuid UUID] [-o ...]
//   detach SCHID [--force] [-o ...]
//   reset SCHID [-o ...]
// docs/ccwctl.md shows each output. The formatting functions are public for tests.
#ifndef CCWPASS_CTL_SUBCHANNEL_CMD_H_
#define CCWPASS_CTL_SUBCHANNEL_CMD_H_

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "ctl/online.h"
#include "proto/ccw/v1/ccw.pb.h"

namespace ccwpass::ctl {

// The default of `get --sysfs-root`: where the host that runs QEMU mounts sysfs.
inline constexpr char kDefaultSysfsRoot[] = "/sys";

// The lscss-like table: Device, Subchan., DevType, CU Type, Use (the agent's
// state), PIM PAM POM, CHPIDs, Driver, mdev UUID, and Notes (why a subchannel
// cannot be attached) when any has a note; a line of dashes under the header.
std::string SubchannelTable(const ccw::v1::ListSubchannelsResponse& list);

// `get`'s key/value view of one subchannel.
std::string SubchannelDetails(const ccw::v1::Subchannel& s);

// `-device vfio-ccw,sysfsdev=<root>/bus/mdev/devices/<uuid>,devno=fe.<ssid>.<devno>`
// (QEMU docs/system/s390x/vfio-ccw.rst; the guest sees the device at the host's devno
// in the virtual channel subsystem 0xfe). Errors: kFailedPrecondition when the
// subchannel has no mdev or no devno.
absl::StatusOr<std::string> QemuDeviceArg(const ccw::v1::Subchannel& s, const std::string& sysfs_root);

// The libvirt <hostdev mode='subsystem' type='mdev' model='vfio-ccw'> element
// (libvirt formatdomain, "Host device assignment": mdev source by UUID, guest
// address type='ccw' cssid='0xfe'). Errors as QemuDeviceArg.
absl::StatusOr<std::string> LibvirtHostdev(const ccw::v1::Subchannel& s);

// Registers list, get, attach, detach and reset on `app`.
void AddSubchannelCommands(CLI::App& app, Online& online);

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_SUBCHANNEL_CMD_H_
