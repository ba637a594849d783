#include "agent/vfio/region_info.h"

#include <linux/vfio.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ccwpass::agent {

absl::StatusOr<RegionInfo> ParseRegionInfo(std::span<const uint8_t> buf) {
  vfio_region_info ri;
  if (buf.size() < sizeof ri) {
    return absl::InvalidArgumentError(absl::StrCat("region info: ", buf.size(),
                                                   " bytes, shorter than struct vfio_region_info (",
                                                   sizeof ri, ")"));
  }
  std::memcpy(&ri, buf.data(), sizeof ri);
  const std::string where = absl::StrCat("region ", ri.index, " info: ");
  if (ri.argsz < sizeof ri) {
    return absl::InvalidArgumentError(absl::StrCat(where, "argsz ", ri.argsz, " is smaller than the struct"));
  }
  RegionInfo out;
  out.index = ri.index;
  out.flags = ri.flags;
  out.size = ri.size;
  out.offset = ri.offset;
  if (!(ri.flags & VFIO_REGION_INFO_FLAG_CAPS) || ri.cap_offset == 0) return out;

  const size_t end = std::min<size_t>(buf.size(), ri.argsz);
  size_t off = ri.cap_offset;
  size_t prev = 0;
  for (int n = 0; off != 0; ++n) {
    if (off < sizeof ri || off <= prev || n >= 64) {
      return absl::InvalidArgumentError(absl::StrCat(where, "capability chain does not move forward at offset ", off));
    }
    vfio_info_cap_header hdr;
    if (off + sizeof hdr > end) {
      return absl::InvalidArgumentError(absl::StrCat(where, "capability header at offset ", off,
                                                     " runs past the end (", end, " bytes)"));
    }
    std::memcpy(&hdr, buf.data() + off, sizeof hdr);
    if (hdr.id == VFIO_REGION_INFO_CAP_TYPE) {
      vfio_region_info_cap_type ct;
      if (off + sizeof ct > end) {
        return absl::InvalidArgumentError(absl::StrCat(where, "type capability at offset ", off,
                                                       " runs past the end (", end, " bytes)"));
      }
      std::memcpy(&ct, buf.data() + off, sizeof ct);
      out.type = RegionType{ct.type, ct.subtype};
    }
    prev = off;
    off = hdr.next;
  }
  return out;
}

std::vector<uint8_t> EncodeRegionInfo(const RegionInfo& info) {
  vfio_region_info ri{};
  ri.argsz = sizeof ri;
  ri.flags = info.flags;
  ri.index = info.index;
  ri.size = info.size;
  ri.offset = info.offset;
  vfio_region_info_cap_type ct{};
  if (info.type) {
    ri.flags |= VFIO_REGION_INFO_FLAG_CAPS;
    ri.cap_offset = sizeof ri;
    ri.argsz += sizeof ct;
    ct.header.id = VFIO_REGION_INFO_CAP_TYPE;
    ct.header.version = 1;
    ct.header.next = 0;
    ct.type = info.type->type;
    ct.subtype = info.type->subtype;
  }
  std::vector<uint8_t> out(ri.argsz);
  std::memcpy(out.data(), &ri, sizeof ri);
  if (info.type) std::memcpy(out.data() + sizeof ri, &ct, sizeof ct);
  return out;
}

}  // namespace ccwpass::agent
