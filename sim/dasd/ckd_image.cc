#include "sim/dasd/ckd_image.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ccwpass::sim::dasd {
namespace {

constexpr char kMagicPlain[] = "CKD_P370";
constexpr char kMagicCompressed[] = "CKD_C370";
constexpr char kMagicShadow[] = "CKD_S370";
constexpr size_t kMagicSize = 8;

uint32_t LoadLe32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

std::string Errno(int err) { return std::strerror(err); }

// The name Hercules gives the second file of a multi-file image: "_1" inserted
// before the first dot of the base name (dasdutil.c), e.g. t.3390 -> t_1.3390.
std::string SecondFileName(const std::string& path) {
  size_t base = path.rfind('/');
  base = base == std::string::npos ? 0 : base + 1;
  size_t dot = path.find('.', base);
  if (dot == std::string::npos) return path + "_1";
  return path.substr(0, dot) + "_1" + path.substr(dot);
}

}  // namespace

CountField CountField::Decode(absl::Span<const uint8_t> b) {
  CountField c;
  c.cyl = LoadBe16(&b[0]);
  c.head = LoadBe16(&b[2]);
  c.record = b[4];
  c.key_length = b[5];
  c.data_length = LoadBe16(&b[6]);
  return c;
}

std::array<uint8_t, kCountSize> CountField::Encode() const {
  return {static_cast<uint8_t>(cyl >> 8),  static_cast<uint8_t>(cyl),
          static_cast<uint8_t>(head >> 8), static_cast<uint8_t>(head),
          record,                          key_length,
          static_cast<uint8_t>(data_length >> 8), static_cast<uint8_t>(data_length)};
}

bool IsEndOfTrack(absl::Span<const uint8_t> b) {
  return b.size() >= kCountSize &&
         std::all_of(b.begin(), b.begin() + kCountSize, [](uint8_t x) { return x == 0xFF; });
}

absl::StatusOr<TrackLayout> ParseTrack(absl::Span<const uint8_t> track, uint32_t cyl,
                                       uint32_t head) {
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(
        absl::StrFormat("invalid track format: cyl %u head %u: %s", cyl, head, what));
  };
  if (track.size() < kHomeAddressSize + kCountSize) return bad("track image too short");
  if (track[0] != 0 || LoadBe16(&track[1]) != cyl || LoadBe16(&track[3]) != head) {
    return bad(absl::StrFormat("home address %02x %02x%02x %02x%02x does not match", track[0],
                               track[1], track[2], track[3], track[4]));
  }
  TrackLayout layout;
  size_t off = kHomeAddressSize;
  for (;;) {
    if (off + kCountSize > track.size()) return bad("no end-of-track marker");
    absl::Span<const uint8_t> count = track.subspan(off, kCountSize);
    if (IsEndOfTrack(count)) break;
    RecordRef r{CountField::Decode(count), static_cast<uint32_t>(off)};
    if (r.end_offset() + kCountSize > track.size()) {
      return bad(absl::StrFormat("record %u at offset %u runs past the end of the track",
                                 r.count.record, off));
    }
    layout.records.push_back(r);
    off = r.end_offset();
  }
  layout.eot_offset = static_cast<uint32_t>(off);
  return layout;
}

void FormatNullTrack(absl::Span<uint8_t> track, uint32_t cyl, uint32_t head) {
  std::fill(track.begin(), track.end(), 0);
  track[1] = static_cast<uint8_t>(cyl >> 8);
  track[2] = static_cast<uint8_t>(cyl);
  track[3] = static_cast<uint8_t>(head >> 8);
  track[4] = static_cast<uint8_t>(head);
  CountField r0{static_cast<uint16_t>(cyl), static_cast<uint16_t>(head), 0, 0, 8};
  auto c = r0.Encode();
  std::copy(c.begin(), c.end(), track.begin() + kHomeAddressSize);
  std::fill_n(track.begin() + kHomeAddressSize + kCountSize + 8, kCountSize, 0xFF);
}

absl::StatusOr<std::unique_ptr<CkdImage>> CkdImage::Open(const std::string& path,
                                                         bool read_only) {
  int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg = absl::StrCat("CKD image ", path, ": open: ", Errno(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES || err == EROFS || err == EPERM) return absl::PermissionDeniedError(msg);
    return absl::InternalError(msg);
  }
  std::unique_ptr<CkdImage> image(new CkdImage);
  image->fd_ = fd;  // closed by the destructor from here on
  image->path_ = path;
  image->read_only_ = read_only;

  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return absl::InternalError(absl::StrCat("CKD image ", path, ": fstat: ", Errno(errno)));
  }
  uint8_t hdr[kDevHeaderSize];
  ssize_t n = ::pread(fd, hdr, sizeof hdr, 0);
  if (n < 0) return absl::InternalError(absl::StrCat("CKD image ", path, ": read: ", Errno(errno)));
  if (static_cast<size_t>(n) < sizeof hdr) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "CKD image %s: %d bytes is shorter than the 512-byte device header", path, n));
  }
  const std::string magic(reinterpret_cast<const char*>(hdr), kMagicSize);
  if (magic == kMagicCompressed || magic == kMagicShadow) {
    return absl::FailedPreconditionError(absl::StrCat(
        "CKD image ", path, ": header \"", magic,
        "\": compressed CCKD images are not supported; convert with cckd2ckd"));
  }
  if (magic != kMagicPlain) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CKD image ", path, ": not a Hercules CKD image (header does not start with CKD_P370)"));
  }
  uint32_t heads = LoadLe32(&hdr[8]);
  uint32_t track_size = LoadLe32(&hdr[12]);
  uint8_t devtype = hdr[16];
  uint8_t fileseq = hdr[17];
  if (devtype != kDevTypeByte3390) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "CKD image %s: device type byte 0x%02x is not 0x90 (3390)", path, devtype));
  }
  if (heads == 0 || heads > 255) {
    return absl::InvalidArgumentError(
        absl::StrFormat("CKD image %s: %u heads per cylinder is out of range 1..255", path, heads));
  }
  if (track_size != kTrackSize3390) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "CKD image %s: track size %u is not %u (3390)", path, track_size, kTrackSize3390));
  }
  if (fileseq != 0 || ::access(SecondFileName(path).c_str(), F_OK) == 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "CKD image %s: multi-file images are not supported (file sequence %u, or %s exists); "
        "make a single file with dasdinit -lfs",
        path, fileseq, SecondFileName(path)));
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t cyl_bytes = uint64_t{heads} * track_size;
  uint64_t cylinders = size > kDevHeaderSize ? (size - kDevHeaderSize) / cyl_bytes : 0;
  if (cylinders == 0 || kDevHeaderSize + cylinders * cyl_bytes != size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "CKD image %s: file size %u is not 512 + a whole number of cylinders of %u tracks x %u "
        "bytes",
        path, size, heads, track_size));
  }
  if (cylinders > 65535) {
    return absl::InvalidArgumentError(
        absl::StrFormat("CKD image %s: %u cylinders is more than 65535", path, cylinders));
  }
  image->heads_ = heads;
  image->track_size_ = track_size;
  image->cylinders_ = static_cast<uint32_t>(cylinders);
  return image;
}

absl::StatusOr<std::unique_ptr<CkdImage>> CkdImage::CreateInMemory(uint32_t cylinders,
                                                                   uint32_t heads) {
  if (cylinders == 0 || cylinders > 65535) {
    return absl::InvalidArgumentError(
        absl::StrFormat("in-memory CKD image: %u cylinders is out of range 1..65535", cylinders));
  }
  if (heads == 0 || heads > 255) {
    return absl::InvalidArgumentError(
        absl::StrFormat("in-memory CKD image: %u heads is out of range 1..255", heads));
  }
  std::unique_ptr<CkdImage> image(new CkdImage);
  image->cylinders_ = cylinders;
  image->heads_ = heads;
  image->track_size_ = kTrackSize3390;
  return image;
}

CkdImage::~CkdImage() {
  if (fd_ >= 0) ::close(fd_);
}

uint64_t CkdImage::TrackOffset(uint32_t cyl, uint32_t head) const {
  return kDevHeaderSize + (uint64_t{cyl} * heads_ + head) * track_size_;
}

absl::Status CkdImage::CheckTrack(uint32_t cyl, uint32_t head) const {
  if (cyl >= cylinders_ || head >= heads_) {
    return absl::OutOfRangeError(absl::StrFormat(
        "CKD image %s: track cyl %u head %u is outside the volume (%u cylinders x %u heads)",
        path_.empty() ? "(memory)" : path_, cyl, head, cylinders_, heads_));
  }
  return absl::OkStatus();
}

absl::Status CkdImage::ReadTrack(uint32_t cyl, uint32_t head, absl::Span<uint8_t> out) const {
  if (absl::Status s = CheckTrack(cyl, head); !s.ok()) return s;
  if (out.size() != track_size_) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ReadTrack: buffer of %u bytes, track size is %u", out.size(), track_size_));
  }
  if (fd_ < 0) {
    auto it = memory_tracks_.find(uint64_t{cyl} * heads_ + head);
    if (it == memory_tracks_.end()) {
      FormatNullTrack(out, cyl, head);
    } else {
      std::memcpy(out.data(), it->second.get(), track_size_);
    }
    return absl::OkStatus();
  }
  ssize_t n = ::pread(fd_, out.data(), out.size(), static_cast<off_t>(TrackOffset(cyl, head)));
  if (n < 0 || static_cast<size_t>(n) != out.size()) {
    return absl::InternalError(absl::StrFormat("CKD image %s: pread track cyl %u head %u: %s",
                                               path_, cyl, head,
                                               n < 0 ? Errno(errno) : std::string("short read")));
  }
  return absl::OkStatus();
}

absl::Status CkdImage::WriteTrack(uint32_t cyl, uint32_t head, uint32_t offset,
                                  absl::Span<const uint8_t> bytes) {
  if (read_only_) {
    return absl::FailedPreconditionError(
        absl::StrCat("CKD image ", path_.empty() ? "(memory)" : path_, " is read-only"));
  }
  if (absl::Status s = CheckTrack(cyl, head); !s.ok()) return s;
  if (uint64_t{offset} + bytes.size() > track_size_) {
    return absl::OutOfRangeError(absl::StrFormat(
        "WriteTrack: %u bytes at offset %u pass the end of the %u-byte track", bytes.size(),
        offset, track_size_));
  }
  if (fd_ < 0) {
    auto& slot = memory_tracks_[uint64_t{cyl} * heads_ + head];
    if (slot == nullptr) {
      slot = std::make_unique<uint8_t[]>(track_size_);
      FormatNullTrack(absl::MakeSpan(slot.get(), track_size_), cyl, head);
    }
    std::memcpy(slot.get() + offset, bytes.data(), bytes.size());
    return absl::OkStatus();
  }
  ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(),
                       static_cast<off_t>(TrackOffset(cyl, head) + offset));
  if (n < 0 || static_cast<size_t>(n) != bytes.size()) {
    return absl::InternalError(absl::StrFormat("CKD image %s: pwrite track cyl %u head %u: %s",
                                               path_, cyl, head,
                                               n < 0 ? Errno(errno) : std::string("short write")));
  }
  return absl::OkStatus();
}

absl::Status CkdImage::Flush() {
  if (fd_ < 0 || read_only_) return absl::OkStatus();
  if (::fdatasync(fd_) != 0) {
    return absl::InternalError(absl::StrCat("CKD image ", path_, ": fdatasync: ", Errno(errno)));
  }
  return absl::OkStatus();
}

}  // namespace ccwpass::sim::dasd
