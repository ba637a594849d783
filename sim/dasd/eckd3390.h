// A 3390 ECKD DASD behind a 3990 storage control, stored in a Hercules CKD
// image (ckd_image.h): the device model the simulated channel subsystem runs
// channel programs against.
//
// Command set (docs/dasd-3390.md lists each command with its errors):
// SENSE, SENSE ID, READ DEVICE CHARACTERISTICS, READ CONFIGURATION DATA, SENSE /
// SET PATH GROUP ID, RESERVE / RELEASE / UNCONDITIONAL RESERVE, NOOP, DEFINE
// EXTENT, LOCATE RECORD, SET FILE MASK, SEEK (cyl/head, cyl, head), SEARCH ID
// EQUAL, READ HOME ADDRESS / RECORD ZERO / COUNT / DATA / KEY AND DATA / COUNT
// KEY AND DATA (and their multitrack forms), READ MULTIPLE CKD, READ TRACK, READ
// IPL, WRITE DATA, WRITE UPDATE DATA, WRITE (UPDATE) KEY AND DATA, WRITE CKD,
// WRITE CKD NEXT TRACK, WRITE RECORD ZERO, ERASE. PERFORM SUBSYSTEM FUNCTION and
// READ SUBSYSTEM DATA are rejected (format 0 message 4) so that Linux treats
// the features as absent and uses DEFINE EXTENT + LOCATE RECORD command mode.
// Not modelled: PREFIX (0xE7), LOCATE RECORD EXTENDED (0x4B), transport mode,
// caching and fast write (accepted and ignored in DEFINE EXTENT), track overflow.
//
// Unit checks carry 32 bytes of sense in the 24-byte-compatible format
// (byte 27 = 0x80): byte 0 and 1 flags, byte 3 residual locate-record count (on
// an incomplete domain), bytes 5-6 cylinder/head (0xFFFF above 4095 cylinders),
// byte 7 = format << 4 | message, bytes 29-30 cylinder, 31 head of the track
// the device was on.
//
// Sources: reference/dasd-3390.md §2-§4 (IBM GA32-0274 3990/9390 Storage
// Control Reference; Hercules ckddasd.c and dasdtab.c as the behavioural model;
// Linux drivers/s390/block/dasd_eckd.c and drivers/s390/cio/device_pgid.c as
// the main client).
#ifndef CCWPASS_SIM_DASD_ECKD3390_H_
#define CCWPASS_SIM_DASD_ECKD3390_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "sim/dasd/ckd_image.h"
#include "sim/device.h"

namespace ccwpass::sim::dasd {

// CCW command codes of the 3390/3990 (GA32-0274 ch. 4; reference §3).
namespace cmd {
inline constexpr uint8_t kReadIpl = 0x02;
inline constexpr uint8_t kNoop = 0x03;
inline constexpr uint8_t kSense = 0x04;
inline constexpr uint8_t kWriteData = 0x05;
inline constexpr uint8_t kReadData = 0x06;
inline constexpr uint8_t kSeek = 0x07;
inline constexpr uint8_t kSeekCylinder = 0x0B;
inline constexpr uint8_t kWriteKeyData = 0x0D;
inline constexpr uint8_t kReadKeyData = 0x0E;
inline constexpr uint8_t kErase = 0x11;
inline constexpr uint8_t kReadCount = 0x12;
inline constexpr uint8_t kUnconditionalReserve = 0x14;
inline constexpr uint8_t kWriteR0 = 0x15;
inline constexpr uint8_t kReadR0 = 0x16;
inline constexpr uint8_t kReadHomeAddress = 0x1A;
inline constexpr uint8_t kSeekHead = 0x1B;
inline constexpr uint8_t kWriteCkd = 0x1D;
inline constexpr uint8_t kReadCkd = 0x1E;
inline constexpr uint8_t kSetFileMask = 0x1F;
inline constexpr uint8_t kPerformSubsystemFunction = 0x27;
inline constexpr uint8_t kSearchIdEqual = 0x31;
inline constexpr uint8_t kSensePathGroupId = 0x34;
inline constexpr uint8_t kReadSubsystemData = 0x3E;
inline constexpr uint8_t kLocateRecord = 0x47;
inline constexpr uint8_t kLocateRecordExtended = 0x4B;
inline constexpr uint8_t kReadMultipleCkd = 0x5E;
inline constexpr uint8_t kDefineExtent = 0x63;
inline constexpr uint8_t kReadDeviceCharacteristics = 0x64;
inline constexpr uint8_t kUpdateData = 0x85;  // WRITE UPDATE DATA (multitrack)
inline constexpr uint8_t kReadDataMt = 0x86;
inline constexpr uint8_t kUpdateKeyData = 0x8D;
inline constexpr uint8_t kReadKeyDataMt = 0x8E;
inline constexpr uint8_t kReadCountMt = 0x92;
inline constexpr uint8_t kRelease = 0x94;
inline constexpr uint8_t kReadR0Mt = 0x96;
inline constexpr uint8_t kReadHomeAddressMt = 0x9A;
inline constexpr uint8_t kWriteCkdNextTrack = 0x9D;
inline constexpr uint8_t kReadCkdMt = 0x9E;
inline constexpr uint8_t kSetPathGroupId = 0xAF;
inline constexpr uint8_t kSearchIdEqualMt = 0xB1;
inline constexpr uint8_t kReserve = 0xB4;
inline constexpr uint8_t kReadTrack = 0xDE;
inline constexpr uint8_t kSenseId = 0xE4;
inline constexpr uint8_t kPrefix = 0xE7;
inline constexpr uint8_t kReadConfigurationData = 0xFA;
}  // namespace cmd

// Sense bytes (reference §3 "Sense (32 bytes)").
namespace sense {
inline constexpr size_t kSize = 32;
// Byte 0.
inline constexpr uint8_t kCommandReject = 0x80;
inline constexpr uint8_t kInterventionRequired = 0x40;
inline constexpr uint8_t kEquipmentCheck = 0x10;
inline constexpr uint8_t kDataCheck = 0x08;
inline constexpr uint8_t kOperationIncomplete = 0x01;
// Byte 1.
inline constexpr uint8_t kInvalidTrackFormat = 0x40;
inline constexpr uint8_t kEndOfCylinder = 0x20;
inline constexpr uint8_t kNoRecordFound = 0x08;
inline constexpr uint8_t kFileProtected = 0x04;
inline constexpr uint8_t kWriteInhibited = 0x02;
// Byte 7, format 0 (program or system checks) messages.
inline constexpr uint8_t kMsgInvalidCommand = 0x01;   // invalid command code
inline constexpr uint8_t kMsgInvalidSequence = 0x02;  // invalid command sequence
inline constexpr uint8_t kMsgCountTooSmall = 0x03;    // CCW count less than required
inline constexpr uint8_t kMsgInvalidParameter = 0x04; // invalid parameter / unsupported
// Byte 7, format 1 message 0: equipment check on the image file.
inline constexpr uint8_t kMsgEquipment = 0x10;
// Byte 27 bit 0: 24-byte compatible sense.
inline constexpr uint8_t kByte27Compat24 = 0x80;
}  // namespace sense

// 3390 models (reference §2; Hercules dasdtab.c).
enum class Model3390 : uint8_t { k1, k2, k3, k9, k27, k54 };

struct ModelInfo {
  Model3390 model;
  const char* name;        // "3390-3"
  uint8_t model_byte;      // SENSE ID byte 6 / RDC byte 5
  uint8_t type_code;       // RDC byte 11, 40, 41
  uint32_t cylinders;      // primary cylinders
  uint32_t alt_cylinders;  // alternate cylinders the model may carry
};
const ModelInfo& InfoFor(Model3390 model);

// The smallest model whose cylinders + alternates hold `cylinders`
// (Hercules' dasd_lookup rule). Errors: kInvalidArgument above 3390-54 (65523).
absl::StatusOr<Model3390> ModelForCylinders(uint32_t cylinders);

// 3990 storage control models (SENSE ID bytes 1-3; Hercules dasdtab.c).
//   k3990   model 0xC2, one CIW (RCD): what Hercules configures for a 3390 by
//           default; its RDC matches reference §2 byte for byte. The default.
//   k3990_3 model 0xEC, CIWs RCD, PSF, RSSD.
//   k3990_6 model 0xE9 (enhanced mode), CIWs RCD, PSF, RSSD (count 0x60).
// PSF/RSSD are command-rejected on every model (see above).
enum class ControlUnit3990 : uint8_t { k3990, k3990_3, k3990_6 };

struct Eckd3390Options {
  std::optional<Model3390> model;  // default: ModelForCylinders(image cylinders)
  ControlUnit3990 control_unit = ControlUnit3990::k3990;
  uint16_t devno = 0;      // RCD NED bytes 30-31, unit address, serial
  bool read_only = false;  // also implied by a read-only image
};

class Eckd3390 final : public Device {
 public:
  // Errors: kInvalidArgument if image is null, its geometry is not 15 heads x
  // 56832 bytes, or it has more cylinders than the (given or derived) model
  // holds (cylinders + alternates).
  static absl::StatusOr<std::unique_ptr<Eckd3390>> Create(std::unique_ptr<CkdImage> image,
                                                          const Eckd3390Options& options = {});

  DeviceIdentity identity() const override;
  std::string Describe() const override;
  void BeginChain() override;
  CommandResult Execute(const Command& command, absl::Span<uint8_t> data) override;
  void EndChain() override;
  std::vector<uint8_t> Sense() const override;

  // The data of the identification commands (what SENSE ID, RDC and RCD
  // transfer), built from the model and control-unit tables.
  std::vector<uint8_t> SenseIdData() const;              // 7 + 4 per CIW bytes
  std::array<uint8_t, 64> DeviceCharacteristics() const;  // RDC, 64 bytes
  std::array<uint8_t, 256> ConfigurationData() const;     // RCD, 256 bytes

  const ModelInfo& model() const { return model_; }
  bool read_only() const { return read_only_; }
  CkdImage& image() { return *image_; }

  // The path-group state SENSE PATH GROUP ID reports (byte 0) and the PGID.
  uint8_t path_state() const { return path_state_; }
  bool reserved() const { return reserved_; }

  struct CuInfo;  // control-unit table row (eckd3390.cc)

 private:
  // Where the device is on the current track (Hercules' CKDORIENT_*).
  enum class Orient : uint8_t { kNone, kIndex, kCount, kKey, kData, kEot };

  // State that lives for one channel program (reset by BeginChain/EndChain).
  struct ChainState {
    bool extent_defined = false;
    uint32_t begin_cyl = 0, begin_head = 0, end_cyl = 0, end_head = 0;
    uint8_t file_mask = 0;
    uint8_t global_attributes = 0;
    bool file_mask_set = false;  // SET FILE MASK seen
    bool read_ipl = false;       // READ IPL seen
    bool positioned = false;     // SEEK, LOCATE RECORD or READ IPL seen
    // Locate record.
    uint32_t lr_count = 0;  // commands left in the domain
    uint8_t lr_op = 0;
    uint8_t lr_aux = 0;
    uint16_t lr_tlf = 0;
    uint32_t lr_tracks_done = 0;  // READ TRACK / WRITE TRACK progress
    // Orientation.
    Orient orient = Orient::kNone;
    size_t rec = 0;  // index into layout_.records when orient is kCount/kKey/kData
    bool index_passed = false;   // an EOT was passed since the last data access
    bool search_matched = false;  // the previous command was a matching search
    uint8_t prev_code = 0;
    uint32_t commands = 0;
  };

  Eckd3390(std::unique_ptr<CkdImage> image, const ModelInfo& model, const CuInfo& cu,
           const Eckd3390Options& options);

  CommandResult Dispatch(const Command& c, absl::Span<uint8_t> data, bool in_domain);

  // Result builders: prepare sense and return CE|DE|UC.
  CommandResult UnitCheck(uint8_t byte0, uint8_t byte1, uint8_t byte7);
  CommandResult Reject(uint8_t message) {
    return UnitCheck(sense::kCommandReject, 0, message);
  }

  // Command groups.
  CommandResult DefineExtent(const Command& c, absl::Span<uint8_t> data);
  CommandResult LocateRecord(const Command& c, absl::Span<uint8_t> data);
  CommandResult SetFileMask(const Command& c, absl::Span<uint8_t> data);
  CommandResult Seek(const Command& c, absl::Span<uint8_t> data);
  CommandResult SearchIdEqual(const Command& c, absl::Span<uint8_t> data);
  CommandResult ReadRecord(const Command& c, absl::Span<uint8_t> data);
  CommandResult ReadHomeAddressOrR0(const Command& c, absl::Span<uint8_t> data);
  CommandResult ReadMultipleCkd(const Command& c, absl::Span<uint8_t> data);
  CommandResult ReadTrack(const Command& c, absl::Span<uint8_t> data);
  CommandResult ReadIpl(const Command& c, absl::Span<uint8_t> data);
  CommandResult WriteData(const Command& c, absl::Span<uint8_t> data);
  CommandResult FormatWrite(const Command& c, absl::Span<uint8_t> data);
  CommandResult SensePathGroupId(const Command& c, absl::Span<uint8_t> data);
  CommandResult SetPathGroupId(const Command& c, absl::Span<uint8_t> data);
  CommandResult ReserveRelease(const Command& c, absl::Span<uint8_t> data);

  // Track access. On failure these return false with *fail holding the unit check.
  bool LoadTrack(uint32_t cyl, uint32_t head, CommandResult* fail);
  // Reloads the current track if a failed write dropped it (orientation: index).
  bool EnsureTrack(CommandResult* fail);
  bool MultitrackAdvance(bool in_domain, CommandResult* fail);
  bool NextCount(uint8_t code, bool in_domain, CommandResult* fail);
  bool WriteBytes(uint32_t offset, absl::Span<const uint8_t> bytes, CommandResult* fail);
  bool InExtent(uint32_t cyl, uint32_t head) const;
  // Write permission checks shared by every write: read-only volume, file mask.
  std::optional<CommandResult> CheckWrite(uint8_t code);

  std::unique_ptr<CkdImage> image_;
  const ModelInfo& model_;
  const CuInfo& cu_;
  Eckd3390Options options_;
  bool read_only_;

  std::array<uint8_t, sense::kSize> sense_{};
  uint8_t path_state_ = 0;
  std::array<uint8_t, 11> pgid_{};
  bool reserved_ = false;

  // The current track: its image and parsed layout (cached across chains).
  std::vector<uint8_t> track_;
  TrackLayout layout_;
  bool track_valid_ = false;
  uint32_t cur_cyl_ = 0;
  uint32_t cur_head_ = 0;

  ChainState chain_;
};

}  // namespace ccwpass::sim::dasd

#endif  // CCWPASS_SIM_DASD_ECKD3390_H_
