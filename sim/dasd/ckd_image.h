// CKD DASD images in the Hercules uncompressed format ("CKD_P370"), the format
// `dasdinit` writes without -z/-bz2, and the record layout inside one track.
//
// File layout (all integers in the header little-endian, all inside a track
// big-endian):
//   offset 0, 512 bytes: device header: "CKD_P370", heads (LE32), track image
//     size (LE32), low byte of the device type (0x90 for 3390), file sequence
//     (0 = only file), highest cylinder in this file (LE16; 0 = last file).
//   offset 512 + (cyl * heads + head) * track_size: one track image: home
//     address (5 bytes: bin 0, CC, HH), then records back to back, each a count
//     field (8 bytes: CC HH R KL DL), KL key bytes and DL data bytes, no gaps;
//     R0 first; end of track = 8 x 0xFF; the rest of the image is zeros.
// The cylinder count is not stored: it is (file size - 512) / track_size / heads,
// and the file size must be exactly 512 + tracks * track_size.
//
// Sources: Hercules cckd.h / dasdutil.c / ckddasd.c (SDL-Hercules-390/hyperion)
// as summarised in reference/dasd-3390.md §1; GA32-0274 (3990/9390 Storage
// Control Reference) for the count field and home address.
#ifndef CCWPASS_SIM_DASD_CKD_IMAGE_H_
#define CCWPASS_SIM_DASD_CKD_IMAGE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ccwpass::sim::dasd {

inline constexpr size_t kDevHeaderSize = 512;        // CKD_DEVHDR
inline constexpr size_t kHomeAddressSize = 5;        // bin, CC, HH
inline constexpr size_t kCountSize = 8;              // CC HH R KL DL
inline constexpr uint32_t kTrackSize3390 = 56832;    // 0xDE00, ROUND_UP(..., 512)
inline constexpr uint32_t kHeads3390 = 15;
inline constexpr uint8_t kDevTypeByte3390 = 0x90;    // header byte 16

// A count field (GA32-0274 "Count Area"): cylinder, head, record, key length,
// data length. The high bit of the cylinder is the track-overflow flag in
// Hercules images; it is kept as stored.
struct CountField {
  uint16_t cyl = 0;
  uint16_t head = 0;
  uint8_t record = 0;
  uint8_t key_length = 0;
  uint16_t data_length = 0;

  static CountField Decode(absl::Span<const uint8_t> b);  // b.size() >= 8
  std::array<uint8_t, kCountSize> Encode() const;
  bool operator==(const CountField&) const = default;
};

// True if the 8 bytes at b are the end-of-track marker (8 x 0xFF).
bool IsEndOfTrack(absl::Span<const uint8_t> b);

// One record found on a track image: its count and where it starts (offset of
// the count field from the start of the track image, in bytes).
struct RecordRef {
  CountField count;
  uint32_t offset = 0;
  uint32_t key_offset() const { return offset + kCountSize; }
  uint32_t data_offset() const { return key_offset() + count.key_length; }
  uint32_t end_offset() const { return data_offset() + count.data_length; }
};

// The records of one track image, R0 first, and where the EOT marker is.
struct TrackLayout {
  std::vector<RecordRef> records;
  uint32_t eot_offset = 0;
};

// Parses a track image of track (cyl, head). Validates the home address as
// Hercules does (bin 0, CC and HH equal to the track's address) and that every
// record and the EOT marker lie inside the image.
// Errors: kDataLoss ("invalid track format: ...") naming the track and what is
// wrong; the device turns it into sense byte 1 bit 1 (invalid track format).
absl::StatusOr<TrackLayout> ParseTrack(absl::Span<const uint8_t> track, uint32_t cyl,
                                       uint32_t head);

// Writes a null-formatted track image as dasdinit's default: HA (0, CC, HH),
// R0 (CC HH 0, KL 0, DL 8, eight zero bytes), EOT, zeros. track.size() >= 29.
void FormatNullTrack(absl::Span<uint8_t> track, uint32_t cyl, uint32_t head);

// A CKD volume image: a file in the Hercules uncompressed format, or an
// anonymous in-memory image. Not thread-safe (the owning device calls it from
// the channel subsystem's thread only).
class CkdImage {
 public:
  // Opens an existing uncompressed image. Shapes: heads and track size from the
  // header; cylinders = (file size - 512) / track_size / heads.
  // Errors, each naming the file:
  //   kNotFound            the file does not exist;
  //   kFailedPrecondition  a compressed "CKD_C370"/"CKD_S370" image ("compressed
  //                        CCKD images are not supported; convert with cckd2ckd"),
  //                        a multi-file image (file sequence != 0 or a _1 file);
  //   kInvalidArgument     no "CKD_P370" magic, device type byte not 0x90 (3390),
  //                        heads/track size out of range, or a file size that is
  //                        not 512 + tracks * track_size;
  //   kPermissionDenied    open(2) refused (EACCES/EROFS), with strerror;
  //   kInternal            other open/read/fstat failures, with strerror.
  static absl::StatusOr<std::unique_ptr<CkdImage>> Open(const std::string& path, bool read_only);

  // An anonymous image of `cylinders` x `heads` tracks of kTrackSize3390 bytes,
  // every track null-formatted (HA, R0 with 8 zero bytes, EOT). Memory is used
  // only for tracks that have been written (a hash map of track number to
  // image), so an unwritten 3390-3 costs a few hundred bytes.
  // Errors: kInvalidArgument if cylinders is 0 or > 65535 or heads is 0 or > 255.
  static absl::StatusOr<std::unique_ptr<CkdImage>> CreateInMemory(uint32_t cylinders,
                                                                   uint32_t heads = kHeads3390);

  ~CkdImage();
  CkdImage(const CkdImage&) = delete;
  CkdImage& operator=(const CkdImage&) = delete;

  uint32_t cylinders() const { return cylinders_; }
  uint32_t heads() const { return heads_; }
  uint32_t track_size() const { return track_size_; }
  uint64_t tracks() const { return uint64_t{cylinders_} * heads_; }
  bool read_only() const { return read_only_; }
  // The file path, or "" for an in-memory image.
  const std::string& path() const { return path_; }
  // Tracks holding memory in an in-memory image (0 for a file image).
  size_t materialized_tracks() const { return memory_tracks_.size(); }

  // File offset of track (cyl, head): 512 + (cyl * heads + head) * track_size.
  uint64_t TrackOffset(uint32_t cyl, uint32_t head) const;

  // Reads the track image of (cyl, head) into out (out.size() == track_size()),
  // with one pread. Does not parse it (see ParseTrack).
  // Errors: kOutOfRange if (cyl, head) is outside the volume; kInvalidArgument
  // if out has the wrong size; kInternal for a failed or short pread.
  absl::Status ReadTrack(uint32_t cyl, uint32_t head, absl::Span<uint8_t> out) const;

  // Writes `bytes` at byte `offset` of track (cyl, head) in place (one pwrite at
  // TrackOffset + offset); the write is in the file when this returns (in the
  // page cache; call Flush for the disk).
  // Errors: kFailedPrecondition for a read-only image; kOutOfRange if the track
  // or offset + bytes.size() > track_size() is outside the volume/track;
  // kInternal for a failed or short pwrite.
  absl::Status WriteTrack(uint32_t cyl, uint32_t head, uint32_t offset,
                          absl::Span<const uint8_t> bytes);

  // fdatasync(2) for a file image; nothing for an in-memory image.
  // Errors: kInternal with strerror.
  absl::Status Flush();

 private:
  CkdImage() = default;
  absl::Status CheckTrack(uint32_t cyl, uint32_t head) const;

  std::string path_;
  int fd_ = -1;
  bool read_only_ = false;
  uint32_t cylinders_ = 0;
  uint32_t heads_ = 0;
  uint32_t track_size_ = 0;
  // In-memory image: track number -> track image, only for written tracks.
  absl::flat_hash_map<uint64_t, std::unique_ptr<uint8_t[]>> memory_tracks_;
};

}  // namespace ccwpass::sim::dasd

#endif  // CCWPASS_SIM_DASD_CKD_IMAGE_H_
