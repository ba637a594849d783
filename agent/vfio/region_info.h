// VFIO region information with its capability chain, decoded and encoded.
//
// VFIO_DEVICE_GET_REGION_INFO fills a struct vfio_region_info followed by a
// chain of capabilities: cap_offset (when VFIO_REGION_INFO_FLAG_CAPS is set)
// is the offset of the first capability from the start of the buffer; each
// capability starts with struct vfio_info_cap_header {id, version, next}, next
// being the offset of the following one (0 ends the chain). vfio-ccw marks its
// optional regions with a VFIO_REGION_INFO_CAP_TYPE capability (type
// VFIO_REGION_TYPE_CCW, subtype ASYNC_CMD / SCHIB / CRW): the agent finds them
// by that capability, never by a fixed index.
//
// Sources: include/uapi/linux/vfio.h ("Capability chain", struct
// vfio_region_info_cap_type), drivers/vfio/vfio_main.c (vfio_info_cap_add),
// drivers/s390/cio/vfio_ccw_ops.c (vfio_ccw_mdev_get_region_info).
#ifndef CCWPASS_AGENT_VFIO_REGION_INFO_H_
#define CCWPASS_AGENT_VFIO_REGION_INFO_H_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace ccwpass::agent {

struct RegionType {
  uint32_t type = 0;     // VFIO_REGION_TYPE_CCW (2) for vfio-ccw's optional regions
  uint32_t subtype = 0;  // VFIO_REGION_SUBTYPE_CCW_{ASYNC_CMD 1, SCHIB 2, CRW 3}
  bool operator==(const RegionType&) const = default;
};

struct RegionInfo {
  uint32_t index = 0;
  uint32_t flags = 0;   // VFIO_REGION_INFO_FLAG_{READ,WRITE,MMAP,CAPS}
  uint64_t size = 0;    // bytes
  uint64_t offset = 0;  // byte offset of the region in the device descriptor
  std::optional<RegionType> type;  // from a VFIO_REGION_INFO_CAP_TYPE capability
  bool operator==(const RegionInfo&) const = default;
};

// Decodes a buffer VFIO_DEVICE_GET_REGION_INFO filled (host byte order).
// Capabilities other than CAP_TYPE are skipped. Errors (kInvalidArgument,
// message names the region index and the offset): buffer shorter than the
// struct; argsz smaller than the struct; a capability header or CAP_TYPE body
// past the end of the buffer or before the struct's end; a chain that does not
// move forward (a loop).
absl::StatusOr<RegionInfo> ParseRegionInfo(std::span<const uint8_t> buf);

// Encodes what the kernel would return for `info`: the struct, then one
// CAP_TYPE capability (version 1) when info.type is set, with argsz = the
// whole length and VFIO_REGION_INFO_FLAG_CAPS added. For the simulated kernel
// and tests.
std::vector<uint8_t> EncodeRegionInfo(const RegionInfo& info);

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_VFIO_REGION_INFO_H_
