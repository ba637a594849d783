#include "sim/dasd/eckd3390.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ccwpass::sim::dasd {

// One 3990 model's identification (Hercules dasdtab.c ckdcutab; RDC fields
// per reference §2).
struct Eckd3390::CuInfo {
  ControlUnit3990 id;
  const char* name;
  uint8_t model;          // SENSE ID byte 3, RDC byte 2
  uint8_t code;           // RDC byte 42: CU type code
  uint8_t functions;      // RDC byte 54
  uint8_t real_type;      // RDC byte 56
  uint32_t facilities;    // RDC bytes 6-9
  uint8_t buffer_low;     // RDC byte 51 (feature buffer lower limit)
  uint8_t buffer_high;    // RDC byte 53 (feature buffer upper limit)
  std::array<uint32_t, 3> ciws;  // SENSE ID CIWs, 0 = none
};

namespace {

using CuInfo = Eckd3390::CuInfo;

constexpr uint16_t kCuType = 0x3990;
constexpr uint16_t kDevType = 0x3390;

// 3390 device geometry (reference §2; RDC bytes 14-27, 44-50).
constexpr uint16_t kSectors = 224;
constexpr uint16_t kTrackLength = 58786;
constexpr uint16_t kHaR0Length = 1428;
constexpr uint16_t kMaxR0 = 57326;
constexpr uint8_t kFormula = 2;
constexpr std::array<uint8_t, 5> kFactors = {34, 19, 9, 6, 116};  // f1..f5
constexpr uint8_t kFactor6 = 6;
constexpr uint16_t kRpsFactor = 0x7708;
constexpr uint8_t kDeviceClassDasd = 0x20;

constexpr ModelInfo kModels[] = {
    {Model3390::k1, "3390-1", 0x02, 0x26, 1113, 1},
    {Model3390::k2, "3390-2", 0x06, 0x27, 2226, 1},
    {Model3390::k3, "3390-3", 0x0A, 0x24, 3339, 1},
    {Model3390::k9, "3390-9", 0x0C, 0x32, 10017, 3},
    {Model3390::k27, "3390-27", 0x0C, 0x32, 32760, 3},
    {Model3390::k54, "3390-54", 0x0C, 0x32, 65520, 3},
};

// Facilities of the plain "3990" row are the reference's RDC bytes 6-9 (D2000000).
constexpr CuInfo kControlUnits[] = {
    {ControlUnit3990::k3990, "3990", 0xC2, 0x10, 0x00, 0x00, 0xD2000000, 0x00, 0x00,
     {0x40FA0100, 0, 0}},
    {ControlUnit3990::k3990_3, "3990-3", 0xEC, 0x06, 0x00, 0x00, 0xD0001010, 0x0F, 0x3F,
     {0x40FA0100, 0x41270004, 0x423E0040}},
    {ControlUnit3990::k3990_6, "3990-6", 0xE9, 0x15, 0x48, 0x15, 0x50001010, 0x0F, 0x7F,
     {0x40FA0100, 0x41270004, 0x423E0060}},
};

// DEFINE EXTENT file mask (reference §3, GA32-0274 "Define Extent").
constexpr uint8_t kMaskWriteControl = 0xC0;
constexpr uint8_t kMaskInhibitAllWrites = 0x40;
constexpr uint8_t kMaskUpdateOnly = 0x80;
constexpr uint8_t kMaskAllowAllWrites = 0xC0;
constexpr uint8_t kMaskReserved = 0x20;
constexpr uint8_t kMaskSeekControl = 0x18;
constexpr uint8_t kMaskSeekHeadOnly = 0x10;
constexpr uint8_t kMaskInhibitSeek = 0x18;
constexpr uint8_t kGlobalArchitecture = 0xC0;  // must be 11 = ECKD
constexpr uint8_t kGlobalExtendedParams = 0x02;  // DE byte 7: 32-byte parameters

// LOCATE RECORD operation byte: orientation and operation code.
constexpr uint8_t kOrientMask = 0xC0;
constexpr uint8_t kOrientHome = 0x40;
constexpr uint8_t kOrientData = 0x80;
constexpr uint8_t kOrientIndex = 0xC0;
constexpr uint8_t kOpOrient = 0x00;
constexpr uint8_t kOpWriteData = 0x01;
constexpr uint8_t kOpFormatWrite = 0x03;
constexpr uint8_t kOpReadData = 0x06;
constexpr uint8_t kOpWriteTrack = 0x0B;
constexpr uint8_t kOpReadTracks = 0x0C;
constexpr uint8_t kOpRead = 0x16;
constexpr uint8_t kAuxTlfValid = 0x80;
constexpr uint8_t kAuxReserved = 0x7E;

// SET PATH GROUP ID function byte and SENSE PATH GROUP ID state byte.
constexpr uint8_t kSpidMultipath = 0x80;
constexpr uint8_t kSpidCommand = 0x60;
constexpr uint8_t kSpidEstablish = 0x00;
constexpr uint8_t kSpidDisband = 0x20;
constexpr uint8_t kSpidResign = 0x40;
constexpr uint8_t kSpidReserved = 0x1F;
constexpr uint8_t kPathGrouped = 0xC0;
constexpr uint8_t kPathMultipath = 0x08;
constexpr uint8_t kPathReservedHere = 0x30;

constexpr size_t kPgidSize = 11;
constexpr size_t kSearchArgSize = 5;  // CCHHR

uint16_t Be16(absl::Span<const uint8_t> d, size_t at) {
  return static_cast<uint16_t>(d[at] << 8 | d[at + 1]);
}
template <size_t N>
void Put16(std::array<uint8_t, N>& d, size_t at, uint32_t v) {
  d[at] = static_cast<uint8_t>(v >> 8);
  d[at + 1] = static_cast<uint8_t>(v);
}
template <size_t N>
void Put32(std::array<uint8_t, N>& d, size_t at, uint32_t v) {
  Put16(d, at, v >> 16);
  Put16(d, at + 2, v & 0xFFFF);
}

// Copies what the device transfers for a read: min(length, buffer) bytes.
void CopyOut(absl::Span<uint8_t> data, const uint8_t* src, size_t length) {
  std::memcpy(data.data(), src, std::min(length, data.size()));
}

// EBCDIC (CP037) of the characters RCD node descriptors use: digits, A-Z, blank.
uint8_t ToEbcdic(char c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(0xF0 + (c - '0'));
  if (c >= 'A' && c <= 'I') return static_cast<uint8_t>(0xC1 + (c - 'A'));
  if (c >= 'J' && c <= 'R') return static_cast<uint8_t>(0xD1 + (c - 'J'));
  if (c >= 'S' && c <= 'Z') return static_cast<uint8_t>(0xE2 + (c - 'S'));
  return 0x40;
}

// A node-element descriptor's 26 identification bytes (RCD NED bytes 4-29):
// type (6), model (3), manufacturer (3), plant (2), sequence number (12).
void PutNedId(std::array<uint8_t, 256>& d, size_t at, const std::string& type,
              const std::string& model, const std::string& sequence) {
  std::string id = absl::StrCat(type, model, "HRC", "ZZ", sequence);
  for (size_t i = 0; i < 26 && i < id.size(); ++i) d[at + i] = ToEbcdic(id[i]);
}

// Rule: a command code is a multitrack read, write or search (bit 0 of the
// code set, GA32-0274 "Multitrack Operations"); READ TRACK and WRITE CKD NEXT
// TRACK move between tracks by their own rules.
bool IsMultitrack(uint8_t code) {
  return (code & 0x80) != 0 && code != cmd::kReadTrack && code != cmd::kWriteCkdNextTrack;
}

// Rule: the commands each LOCATE RECORD operation admits into its domain
// (reference §3, GA32-0274 "Locate Record" operation codes).
bool AllowedInDomain(uint8_t op, uint8_t code) {
  switch (op) {
    case kOpReadData:
    case kOpRead:
      switch (code) {
        case cmd::kReadData: case cmd::kReadDataMt:
        case cmd::kReadKeyData: case cmd::kReadKeyDataMt:
        case cmd::kReadCkd: case cmd::kReadCkdMt:
        case cmd::kReadCount: case cmd::kReadCountMt:
        case cmd::kReadHomeAddress: case cmd::kReadHomeAddressMt:
        case cmd::kReadR0: case cmd::kReadR0Mt:
          return true;
        default:
          return false;
      }
    case kOpReadTracks:
      return code == cmd::kReadTrack;
    case kOpWriteData:
      return code == cmd::kWriteData || code == cmd::kUpdateData ||
             code == cmd::kWriteKeyData || code == cmd::kUpdateKeyData;
    case kOpFormatWrite:
      return code == cmd::kWriteR0 || code == cmd::kWriteCkd || code == cmd::kErase;
    case kOpWriteTrack:
      return code == cmd::kWriteCkd || code == cmd::kWriteCkdNextTrack || code == cmd::kErase;
    default:
      return false;
  }
}

bool IsSupportedLocateOp(uint8_t op) {
  switch (op) {
    case kOpOrient: case kOpWriteData: case kOpFormatWrite: case kOpReadData:
    case kOpWriteTrack: case kOpReadTracks: case kOpRead:
      return true;
    default:
      return false;
  }
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

const ModelInfo& InfoFor(Model3390 model) {
  for (const ModelInfo& m : kModels) {
    if (m.model == model) return m;
  }
  return kModels[0];
}

absl::StatusOr<Model3390> ModelForCylinders(uint32_t cylinders) {
  for (const ModelInfo& m : kModels) {
    if (cylinders <= m.cylinders + m.alt_cylinders) return m.model;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "%u cylinders is more than a 3390-54 holds (65520 + 3 alternates)", cylinders));
}

absl::StatusOr<std::unique_ptr<Eckd3390>> Eckd3390::Create(std::unique_ptr<CkdImage> image,
                                                           const Eckd3390Options& options) {
  if (image == nullptr) return absl::InvalidArgumentError("Eckd3390: no image");
  if (image->heads() != kHeads3390 || image->track_size() != kTrackSize3390) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Eckd3390: image %s has %u heads x %u-byte tracks; a 3390 has 15 x 56832",
        image->path(), image->heads(), image->track_size()));
  }
  Model3390 model;
  if (options.model.has_value()) {
    model = *options.model;
    const ModelInfo& info = InfoFor(model);
    if (image->cylinders() > info.cylinders + info.alt_cylinders) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "Eckd3390: image %s has %u cylinders; a %s holds at most %u", image->path(),
          image->cylinders(), info.name, info.cylinders + info.alt_cylinders));
    }
  } else {
    absl::StatusOr<Model3390> m = ModelForCylinders(image->cylinders());
    if (!m.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("Eckd3390: image ", image->path(), ": ",
                                                     m.status().message()));
    }
    model = *m;
  }
  const CuInfo* cu = &kControlUnits[0];
  for (const CuInfo& c : kControlUnits) {
    if (c.id == options.control_unit) cu = &c;
  }
  return std::unique_ptr<Eckd3390>(
      new Eckd3390(std::move(image), InfoFor(model), *cu, options));
}

Eckd3390::Eckd3390(std::unique_ptr<CkdImage> image, const ModelInfo& model, const CuInfo& cu,
                   const Eckd3390Options& options)
    : image_(std::move(image)),
      model_(model),
      cu_(cu),
      options_(options),
      read_only_(options.read_only || image_->read_only()) {}

DeviceIdentity Eckd3390::identity() const {
  return DeviceIdentity{kCuType, cu_.model, kDevType, model_.model_byte};
}

std::string Eckd3390::Describe() const {
  return absl::StrFormat("%s (%s)%s", model_.name,
                         image_->path().empty() ? "memory" : BaseName(image_->path()),
                         read_only_ ? " ro" : "");
}

void Eckd3390::BeginChain() { chain_ = ChainState{}; }

void Eckd3390::EndChain() { chain_ = ChainState{}; }

std::vector<uint8_t> Eckd3390::Sense() const {
  return std::vector<uint8_t>(sense_.begin(), sense_.end());
}

// ---------------------------------------------------------------------------
// Identification data.

std::vector<uint8_t> Eckd3390::SenseIdData() const {
  std::vector<uint8_t> d = {0xFF,
                            static_cast<uint8_t>(kCuType >> 8),
                            static_cast<uint8_t>(kCuType & 0xFF),
                            cu_.model,
                            static_cast<uint8_t>(kDevType >> 8),
                            static_cast<uint8_t>(kDevType & 0xFF),
                            model_.model_byte,
                            0x00};
  for (uint32_t ciw : cu_.ciws) {
    if (ciw == 0) break;
    for (int shift = 24; shift >= 0; shift -= 8) d.push_back(static_cast<uint8_t>(ciw >> shift));
  }
  return d;
}

std::array<uint8_t, 64> Eckd3390::DeviceCharacteristics() const {
  std::array<uint8_t, 64> d{};
  const uint32_t cyls = image_->cylinders();
  const uint32_t alt = cyls > model_.cylinders ? cyls - model_.cylinders : 0;
  const uint32_t primary = cyls - alt;
  Put16(d, 0, kCuType);
  d[2] = cu_.model;
  Put16(d, 3, kDevType);
  d[5] = model_.model_byte;
  Put32(d, 6, cu_.facilities);
  d[10] = kDeviceClassDasd;
  d[11] = model_.type_code;
  Put16(d, 12, primary);
  Put16(d, 14, image_->heads());
  d[16] = static_cast<uint8_t>(kSectors);
  Put16(d, 18, kTrackLength);  // bytes 17-19, byte 17 zero
  Put16(d, 20, kHaR0Length);
  d[22] = kFormula;
  std::copy(kFactors.begin(), kFactors.end(), d.begin() + 23);
  if (alt > 0) {
    Put16(d, 28, primary);                   // first alternate cylinder
    Put16(d, 30, alt * image_->heads());     // alternate tracks
  }
  d[40] = model_.type_code;  // MDR record id
  d[41] = model_.type_code;  // OBR record id
  d[42] = cu_.code;
  d[43] = 0x02;  // parameter length
  Put16(d, 44, kMaxR0);
  d[47] = 0x01;  // track set
  d[48] = kFactor6;
  Put16(d, 49, kRpsFactor);
  d[51] = cu_.buffer_low;
  d[53] = cu_.buffer_high;
  d[54] = cu_.functions;
  d[56] = cu_.real_type;
  d[57] = 0xFF;  // real device type: "array", no alternate tracks to inspect
  Put32(d, 60, primary);
  return d;
}

std::array<uint8_t, 256> Eckd3390::ConfigurationData() const {
  std::array<uint8_t, 256> d{};
  const uint16_t devno = options_.devno;
  const uint8_t unit = static_cast<uint8_t>(devno & 0xFF);
  const std::string dev_type = absl::StrFormat("00%04X", kDevType);
  const std::string dev_model = absl::StrFormat("0%02X", model_.model_byte);
  const std::string cu_type = absl::StrFormat("00%04X", kCuType);
  const std::string cu_model = absl::StrFormat("0%02X", cu_.model);
  // NED 1: the device (byte 0 bits 0-1 = 11 NED, byte 1 = 01 device).
  Put32(d, 0, 0xDC010100);
  PutNedId(d, 4, dev_type, dev_model, absl::StrFormat("00000000%04X", devno));
  Put16(d, 30, devno);
  // NED 2: the string.
  Put32(d, 32, 0xD4020000);
  PutNedId(d, 36, dev_type, dev_model, "000000000003");
  // NED 3: the storage director.
  Put32(d, 64, 0xD0000000);
  PutNedId(d, 68, cu_type, cu_model, "000000000002");
  d[95] = static_cast<uint8_t>(devno >> 8);
  // NED 4: the subsystem.
  Put32(d, 96, 0xF0000001);
  PutNedId(d, 100, cu_type, "   ", "000000000001");
  // General NEQ (byte 224 bits 0-1 = 10).
  d[224] = 0x80;
  d[230] = 0x1E;  // missing-interrupt time, seconds
  Put16(d, 232, devno & 0xFF00);  // subsystem ID
  d[234] = 0x80;  // path/cluster
  d[235] = unit;  // unit address
  d[236] = unit;  // physical device id
  d[237] = unit;  // physical device address
  d[241] = 0x80;  // interface protocol: parallel
  d[242] = 0x80;
  d[243] = unit;  // logical device address
  return d;
}

// ---------------------------------------------------------------------------
// Sense and track access.

CommandResult Eckd3390::UnitCheck(uint8_t byte0, uint8_t byte1, uint8_t byte7) {
  sense_.fill(0);
  sense_[0] = byte0;
  sense_[1] = byte1;
  if (image_->cylinders() > 4095) {
    sense_[5] = 0xFF;
    sense_[6] = 0xFF;
  } else {
    sense_[5] = static_cast<uint8_t>(cur_cyl_ & 0xFF);
    sense_[6] = static_cast<uint8_t>(((cur_cyl_ >> 4) & 0xF0) | (cur_head_ & 0x0F));
  }
  sense_[7] = byte7;
  sense_[27] = sense::kByte27Compat24;
  sense_[29] = static_cast<uint8_t>(cur_cyl_ >> 8);
  sense_[30] = static_cast<uint8_t>(cur_cyl_ & 0xFF);
  sense_[31] = static_cast<uint8_t>(cur_head_ & 0xFF);
  return CommandResult{kDevChannelEnd | kDevDeviceEnd | kDevUnitCheck, 0};
}

bool Eckd3390::InExtent(uint32_t cyl, uint32_t head) const {
  if (!chain_.extent_defined) return cyl < image_->cylinders() && head < image_->heads();
  auto before = [](uint32_t c1, uint32_t h1, uint32_t c2, uint32_t h2) {
    return c1 < c2 || (c1 == c2 && h1 < h2);
  };
  return !before(cyl, head, chain_.begin_cyl, chain_.begin_head) &&
         !before(chain_.end_cyl, chain_.end_head, cyl, head);
}

bool Eckd3390::LoadTrack(uint32_t cyl, uint32_t head, CommandResult* fail) {
  if (track_valid_ && cyl == cur_cyl_ && head == cur_head_) return true;
  track_valid_ = false;
  cur_cyl_ = cyl;
  cur_head_ = head;
  track_.resize(image_->track_size());  // allocated on first use: idle devices stay small
  if (absl::Status s = image_->ReadTrack(cyl, head, absl::MakeSpan(track_)); !s.ok()) {
    *fail = UnitCheck(sense::kEquipmentCheck, 0, sense::kMsgEquipment);
    return false;
  }
  absl::StatusOr<TrackLayout> layout = ParseTrack(track_, cyl, head);
  if (!layout.ok()) {
    *fail = UnitCheck(0, sense::kInvalidTrackFormat, 0);
    return false;
  }
  layout_ = *std::move(layout);
  track_valid_ = true;
  return true;
}

bool Eckd3390::EnsureTrack(CommandResult* fail) {
  if (track_valid_) return true;
  if (!LoadTrack(cur_cyl_, cur_head_, fail)) return false;
  chain_.orient = Orient::kIndex;  // the layout may have changed
  return true;
}

bool Eckd3390::MultitrackAdvance(bool in_domain, CommandResult* fail) {
  if (!in_domain && (chain_.file_mask & kMaskSeekControl) == kMaskInhibitSeek) {
    *fail = UnitCheck(0, sense::kFileProtected, 0);
    return false;
  }
  if (!in_domain && cur_head_ + 1 >= image_->heads()) {
    *fail = UnitCheck(0, sense::kEndOfCylinder, 0);
    return false;
  }
  uint32_t cyl = cur_cyl_;
  uint32_t head = cur_head_ + 1;
  if (head >= image_->heads()) {
    head = 0;
    ++cyl;
  }
  if (cyl >= image_->cylinders() || !InExtent(cyl, head)) {
    *fail = UnitCheck(0, sense::kFileProtected, 0);
    return false;
  }
  if (!LoadTrack(cyl, head, fail)) return false;
  chain_.orient = Orient::kIndex;
  return true;
}

bool Eckd3390::NextCount(uint8_t code, bool in_domain, CommandResult* fail) {
  const uint8_t base = code & 0x7F;
  // Rule: R0 is skipped except by READ TRACK, READ R0, SEARCH ID EQUAL, LOCATE
  // RECORD's search and WRITE CKD NEXT TRACK (Hercules ckd_read_count).
  const bool skip_r0 = !(code == cmd::kReadTrack || base == cmd::kReadR0 ||
                         base == cmd::kSearchIdEqual || code == cmd::kLocateRecord ||
                         code == cmd::kWriteCkdNextTrack);
  const bool multitrack = IsMultitrack(code);
  for (;;) {
    size_t next;
    switch (chain_.orient) {
      case Orient::kNone:
      case Orient::kIndex:
        next = 0;
        break;
      case Orient::kEot:
        next = layout_.records.size();
        break;
      default:
        next = chain_.rec + 1;
        break;
    }
    if (next < layout_.records.size()) {
      chain_.rec = next;
      chain_.orient = Orient::kCount;
      if (skip_r0 && layout_.records[next].count.record == 0) continue;
      return true;
    }
    chain_.orient = Orient::kEot;
    // Rule: the second index point without an intervening data access is "no
    // record found", except for multitrack commands outside a domain (which
    // end at the cylinder end instead); LOCATE RECORD's search never wraps.
    if (code == cmd::kLocateRecord || code == cmd::kWriteCkdNextTrack ||
        (chain_.index_passed && (in_domain || !multitrack))) {
      *fail = UnitCheck(0, sense::kNoRecordFound, 0);
      return false;
    }
    if (!multitrack) {
      chain_.orient = Orient::kIndex;
      chain_.index_passed = true;
    } else {
      if (!MultitrackAdvance(in_domain, fail)) return false;
      if (base != cmd::kSearchIdEqual) chain_.index_passed = true;
    }
  }
}

bool Eckd3390::WriteBytes(uint32_t offset, absl::Span<const uint8_t> bytes,
                          CommandResult* fail) {
  std::memcpy(track_.data() + offset, bytes.data(), bytes.size());
  if (absl::Status s = image_->WriteTrack(cur_cyl_, cur_head_, offset, bytes); !s.ok()) {
    track_valid_ = false;
    *fail = UnitCheck(sense::kEquipmentCheck, 0, sense::kMsgEquipment);
    return false;
  }
  return true;
}

std::optional<CommandResult> Eckd3390::CheckWrite(uint8_t code) {
  if (read_only_) return UnitCheck(0, sense::kWriteInhibited, 0);
  const uint8_t wr = chain_.file_mask & kMaskWriteControl;
  bool allowed = true;
  switch (code) {
    case cmd::kWriteR0:
      allowed = wr == kMaskAllowAllWrites;
      break;
    case cmd::kWriteCkd:
    case cmd::kWriteCkdNextTrack:
    case cmd::kErase:
      allowed = wr != kMaskInhibitAllWrites && wr != kMaskUpdateOnly;
      break;
    default:  // update writes: WRITE DATA, WRITE KEY AND DATA and their update forms
      allowed = wr != kMaskInhibitAllWrites;
      break;
  }
  if (!allowed) return UnitCheck(0, sense::kFileProtected, 0);
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Command execution.

CommandResult Eckd3390::Execute(const Command& c, absl::Span<uint8_t> data) {
  const bool in_domain = chain_.lr_count > 0;
  CommandResult r = Dispatch(c, data, in_domain);
  const bool normal = (r.status & (kDevUnitCheck | kDevUnitException)) == 0;
  if (normal && in_domain && chain_.lr_count > 0) --chain_.lr_count;
  // Rule: a chain that ends with commands left in the locate-record domain is
  // an incomplete domain: command reject + operation incomplete (sense 0 0x81).
  if (normal && !c.command_chained && chain_.lr_count > 0) {
    uint32_t left = chain_.lr_count;
    uint32_t length = r.length;
    r = UnitCheck(sense::kCommandReject | sense::kOperationIncomplete, 0, 0);
    sense_[3] = static_cast<uint8_t>(std::min<uint32_t>(left, 0xFF));
    r.length = length;
  }
  chain_.search_matched =
      (c.code & 0x7F) == cmd::kSearchIdEqual && (r.status & kDevStatusModifier) != 0;
  chain_.prev_code = c.code;
  ++chain_.commands;
  return r;
}

CommandResult Eckd3390::Dispatch(const Command& c, absl::Span<uint8_t> data, bool in_domain) {
  // Rule: inside a locate-record domain only the commands of its operation run.
  if (in_domain && !AllowedInDomain(chain_.lr_op, c.code)) {
    return Reject(sense::kMsgInvalidSequence);
  }
  switch (c.code) {
    case cmd::kNoop:
      return CommandResult{kDevChannelEnd | kDevDeviceEnd, 0};
    case cmd::kSense: {
      CopyOut(data, sense_.data(), sense_.size());
      sense_.fill(0);
      return CommandResult{kDevChannelEnd | kDevDeviceEnd, sense::kSize};
    }
    case cmd::kSenseId: {
      std::vector<uint8_t> id = SenseIdData();
      CopyOut(data, id.data(), id.size());
      return CommandResult{kDevChannelEnd | kDevDeviceEnd, static_cast<uint32_t>(id.size())};
    }
    case cmd::kReadDeviceCharacteristics: {
      std::array<uint8_t, 64> rdc = DeviceCharacteristics();
      CopyOut(data, rdc.data(), rdc.size());
      return CommandResult{kDevChannelEnd | kDevDeviceEnd, 64};
    }
    case cmd::kReadConfigurationData: {
      std::array<uint8_t, 256> rcd = ConfigurationData();
      CopyOut(data, rcd.data(), rcd.size());
      return CommandResult{kDevChannelEnd | kDevDeviceEnd, 256};
    }
    case cmd::kSensePathGroupId:
      return SensePathGroupId(c, data);
    case cmd::kSetPathGroupId:
      return SetPathGroupId(c, data);
    case cmd::kReserve:
    case cmd::kRelease:
    case cmd::kUnconditionalReserve:
      return ReserveRelease(c, data);
    case cmd::kDefineExtent:
      return DefineExtent(c, data);
    case cmd::kLocateRecord:
      return LocateRecord(c, data);
    case cmd::kSetFileMask:
      return SetFileMask(c, data);
    case cmd::kSeek:
    case cmd::kSeekCylinder:
    case cmd::kSeekHead:
      return Seek(c, data);
    case cmd::kSearchIdEqual:
    case cmd::kSearchIdEqualMt:
      return SearchIdEqual(c, data);
    case cmd::kReadData:
    case cmd::kReadDataMt:
    case cmd::kReadKeyData:
    case cmd::kReadKeyDataMt:
    case cmd::kReadCkd:
    case cmd::kReadCkdMt:
    case cmd::kReadCount:
    case cmd::kReadCountMt:
      return ReadRecord(c, data);
    case cmd::kReadHomeAddress:
    case cmd::kReadHomeAddressMt:
    case cmd::kReadR0:
    case cmd::kReadR0Mt:
      return ReadHomeAddressOrR0(c, data);
    case cmd::kReadMultipleCkd:
      return ReadMultipleCkd(c, data);
    case cmd::kReadTrack:
      return ReadTrack(c, data);
    case cmd::kReadIpl:
      return ReadIpl(c, data);
    case cmd::kWriteData:
    case cmd::kUpdateData:
    case cmd::kWriteKeyData:
    case cmd::kUpdateKeyData:
      return WriteData(c, data);
    case cmd::kWriteCkd:
    case cmd::kWriteCkdNextTrack:
    case cmd::kErase:
    case cmd::kWriteR0:
      return FormatWrite(c, data);
    case cmd::kPerformSubsystemFunction:
    case cmd::kReadSubsystemData:
      // No subsystem functions: Linux reads "unsupported" and uses command mode.
      return Reject(sense::kMsgInvalidParameter);
    default:  // includes LOCATE RECORD EXTENDED and PREFIX
      return Reject(sense::kMsgInvalidCommand);
  }
}

CommandResult Eckd3390::DefineExtent(const Command& c, absl::Span<uint8_t> d) {
  // Rule: one DEFINE EXTENT per chain, before SET FILE MASK and READ IPL.
  if (chain_.extent_defined || chain_.file_mask_set || chain_.read_ipl) {
    return Reject(sense::kMsgInvalidSequence);
  }
  if (d.size() < 16) return Reject(sense::kMsgCountTooSmall);
  const uint8_t mask = d[0];
  const uint8_t global = d[1];
  const uint16_t blksize = Be16(d, 2);
  const uint32_t bc = Be16(d, 8), bh = Be16(d, 10), ec = Be16(d, 12), eh = Be16(d, 14);
  const uint32_t cyls = image_->cylinders(), heads = image_->heads();
  if ((mask & kMaskReserved) != 0 || (global & kGlobalArchitecture) != kGlobalArchitecture ||
      blksize > kMaxR0 + kCountSize || bc >= cyls || ec >= cyls || bh >= heads || eh >= heads ||
      bc > ec || (bc == ec && bh > eh)) {
    return Reject(sense::kMsgInvalidParameter);
  }
  chain_.extent_defined = true;
  chain_.file_mask = mask;
  chain_.global_attributes = global;
  chain_.begin_cyl = bc;
  chain_.begin_head = bh;
  chain_.end_cyl = ec;
  chain_.end_head = eh;
  const uint32_t length = (d[7] & kGlobalExtendedParams) != 0 && d.size() >= 32 ? 32 : 16;
  return CommandResult{kDevChannelEnd | kDevDeviceEnd, length};
}

CommandResult Eckd3390::LocateRecord(const Command& c, absl::Span<uint8_t> d) {
  // Rule: LOCATE RECORD needs a DEFINE EXTENT (or READ IPL) earlier in the chain.
  if (!chain_.extent_defined && !chain_.read_ipl) return Reject(sense::kMsgInvalidSequence);
  if (d.size() < 16) return Reject(sense::kMsgCountTooSmall);
  const uint8_t orientation = d[0] & kOrientMask;
  const uint8_t op = d[0] & 0x3F;
  const uint8_t aux = d[1];
  const uint8_t count = d[3];
  const uint32_t cyl = Be16(d, 4), head = Be16(d, 6);
  const uint8_t sector = d[13];
  if (d[2] != 0 || (aux & kAuxReserved) != 0 || !IsSupportedLocateOp(op) ||
      (op != kOpOrient && count == 0) || (sector != 0xFF && sector >= kSectors) ||
      (op == kOpWriteData && (aux & kAuxTlfValid) == 0) || cyl >= image_->cylinders() ||
      head >= image_->heads()) {
    return Reject(sense::kMsgInvalidParameter);
  }
  if (!InExtent(cyl, head)) return UnitCheck(0, sense::kFileProtected, 0);
  CommandResult fail;
  if (!LoadTrack(cyl, head, &fail)) return fail;
  chain_.positioned = true;
  chain_.orient = Orient::kIndex;
  chain_.index_passed = false;
  chain_.lr_op = op;
  chain_.lr_aux = aux;
  chain_.lr_tlf = Be16(d, 14);
  chain_.lr_tracks_done = 0;
  chain_.lr_count = 0;
  // Home and index orientation (and Read Tracks) leave the device after the
  // home address; count and data orientation search for the record whose
  // count's CCHHR equals bytes 8-12 (R0 included) and stop after its count
  // (count) or its key (data), so that the next data command transfers it.
  const bool search = op != kOpReadTracks && orientation != kOrientHome &&
                      orientation != kOrientIndex;
  if (search) {
    const absl::Span<const uint8_t> arg = d.subspan(8, kSearchArgSize);
    for (;;) {
      if (!NextCount(cmd::kLocateRecord, false, &fail)) return fail;
      const uint8_t* count_field = track_.data() + layout_.records[chain_.rec].offset;
      if (std::equal(arg.begin(), arg.end(), count_field)) break;
    }
    chain_.orient = orientation == kOrientData ? Orient::kKey : Orient::kCount;
  }
  chain_.lr_count = count;
  return CommandResult{kDevChannelEnd | kDevDeviceEnd, 16};
}

CommandResult Eckd3390::SetFileMask(const Command& c, absl::Span<uint8_t> d) {
  // Rule: SET FILE MASK only once per chain and not after DEFINE EXTENT.
  if (chain_.extent_defined || chain_.file_mask_set) return Reject(sense::kMsgInvalidSequence);
  if (d.empty()) return Reject(sense::kMsgCountTooSmall);
  if ((d[0] & kMaskReserved) != 0) return Reject(sense::kMsgInvalidParameter);
  chain_.file_mask = d[0];
  chain_.file_mask_set = true;
  return CommandResult{kDevChannelEnd | kDevDeviceEnd, 1};
}

CommandResult Eckd3390::Seek(const Command& c, absl::Span<uint8_t> d) {
  if (d.size() < 6) return Reject(sense::kMsgCountTooSmall);
  const uint32_t cyl = Be16(d, 2), head = Be16(d, 4);
  if (Be16(d, 0) != 0 || cyl >= image_->cylinders() || head >= image_->heads() ||
      (c.code == cmd::kSeekHead && cyl != cur_cyl_)) {
    return Reject(sense::kMsgInvalidParameter);
  }
  const uint8_t seek = chain_.file_mask & kMaskSeekControl;
  // Rule: the file mask's seek control and the extent limit where SEEK may go.
  if (seek == kMaskInhibitSeek || (seek == kMaskSeekHeadOnly && cyl != cur_cyl_) ||
      !InExtent(cyl, head)) {
    return UnitCheck(0, sense::kFileProtected, 0);
  }
  CommandResult fail;
  if (!LoadTrack(cyl, head, &fail)) return fail;
  chain_.positioned = true;
  chain_.orient = Orient::kIndex;
  chain_.index_passed = false;
  return CommandResult{kDevChannelEnd | kDevDeviceEnd, 6};
}

CommandResult Eckd3390::SearchIdEqual(const Command& c, absl::Span<uint8_t> d) {
  // Rule: outside a domain the 3990 needs a SEEK, LOCATE RECORD or READ IPL first.
  if (!chain_.positioned) return Reject(sense::kMsgInvalidSequence);
  CommandResult fail;
  if (!EnsureTrack(&fail)) return fail;
  if (!NextCount(c.code, false, &fail)) return fail;
  const uint8_t* count_field = track_.data() + layout_.records[chain_.rec].offset;
  const size_t n = std::min(d.size(), kSearchArgSize);
  CommandResult r{kDevChannelEnd | kDevDeviceEnd, kSearchArgSize};
  if (std::equal(d.begin(), d.begin() + n, count_field)) r.status |= kDevStatusModifier;
  return r;
}

CommandResult Eckd3390::ReadRecord(const Command& c, absl::Span<uint8_t> data) {
  const bool in_domain = chain_.lr_count > 0;
  if (!in_domain && !chain_.positioned) return Reject(sense::kMsgInvalidSequence);
  CommandResult fail;
  if (!EnsureTrack(&fail)) return fail;
  const uint8_t base = c.code & 0x7F;
  bool need_count = true;
  if (base == cmd::kReadData) {
    need_count = chain_.orient != Orient::kCount && chain_.orient != Orient::kKey;
  } else if (base == cmd::kReadKeyData) {
    need_count = chain_.orient != Orient::kCount;
  }
  if (need_count && !NextCount(c.code, in_domain, &fail)) return fail;
  const RecordRef& rec = layout_.records[chain_.rec];
  uint32_t offset = rec.offset;
  uint32_t length = 0;
  switch (base) {
    case cmd::kReadCount:
      length = kCountSize;
      break;
    case cmd::kReadData:
      offset = rec.data_offset();
      length = rec.count.data_length;
      break;
    case cmd::kReadKeyData:
      offset = rec.key_offset();
      length = rec.count.key_length + rec.count.data_length;
      break;
    default:  // READ COUNT KEY AND DATA
      length = kCountSize + rec.count.key_length + rec.count.data_length;
      break;
  }
  CopyOut(data, track_.data() + offset, length);
  CommandResult r{kDevChannelEnd | kDevDeviceEnd, length};
  if (base != cmd::kReadCount) {
    chain_.orient = Orient::kData;
    chain_.index_passed = false;
    // Rule: reading the data of a record with DL 0 (end of file) is unit exception.
    if (rec.count.data_length == 0) r.status |= kDevUnitException;
  }
  return r;
}

CommandResult Eckd3390::ReadHomeAddressOrR0(const Command& c, absl::Span<uint8_t> data) {
  const bool in_domain = chain_.lr_count > 0;
  if (!in_domain && !chain_.positioned) return Reject(sense::kMsgInvalidSequence);
  CommandResult fail;
  if (!EnsureTrack(&fail)) return fail;
  chain_.index_passed = false;
  if ((c.code & 0x7F) == cmd::kReadHomeAddress) {
    CopyOut(data, track_.data(), kHomeAddressSize);
    chain_.orient = Orient::kIndex;
    return CommandResult{kDevChannelEnd | kDevDeviceEnd, kHomeAddressSize};
  }
  if (layout_.records.empty() || layout_.records[0].count.record != 0) {
    return UnitCheck(0, sense::kNoRecordFound, 0);
  }
  const RecordRef& r0 = layout_.records[0];
  const uint32_t length = r0.end_offset() - r0.offset;
  CopyOut(data, track_.data() + r0.offset, length);
  chain_.rec = 0;
  chain_.orient = Orient::kData;
  return CommandResult{kDevChannelEnd | kDevDeviceEnd, length};
}

CommandResult Eckd3390::ReadMultipleCkd(const Command& c, absl::Span<uint8_t> data) {
  if (!chain_.positioned) return Reject(sense::kMsgInvalidSequence);
  CommandResult fail;
  if (!EnsureTrack(&fail)) return fail;
  uint32_t length = 0;
  for (const RecordRef& rec : layout_.records) {
    if (rec.count.record == 0) continue;
    const uint32_t n = rec.end_offset() - rec.offset;
    if (length < data.size()) {
      CopyOut(data.subspan(length), track_.data() + rec.offset, n);
    }
    length += n;
  }
  chain_.orient = Orient::kEot;
  chain_.index_passed = false;
  return CommandResult{kDevChannelEnd | kDevDeviceEnd, length};
}

CommandResult Eckd3390::ReadTrack(const Command& c, absl::Span<uint8_t> data) {
  // Rule: READ TRACK runs only in a Read Tracks (0x0C) domain.
  if (chain_.lr_count == 0) return Reject(sense::kMsgInvalidSequence);
  CommandResult fail;
  if (chain_.lr_tracks_done > 0 && !MultitrackAdvance(true, &fail)) return fail;
  if (!EnsureTrack(&fail)) return fail;
  ++chain_.lr_tracks_done;
  // The whole track: every record from R0 to the end-of-track marker.
  const uint32_t begin = layout_.records.empty() ? layout_.eot_offset : layout_.records[0].offset;
  const uint32_t length = layout_.eot_offset - begin;
  CopyOut(data, track_.data() + begin, length);
  chain_.orient = Orient::kEot;
  chain_.index_passed = false;
  return CommandResult{kDevChannelEnd | kDevDeviceEnd, length};
}

CommandResult Eckd3390::ReadIpl(const Command& c, absl::Span<uint8_t> data) {
  // Rule: READ IPL comes before any DEFINE EXTENT or SET FILE MASK.
  if (chain_.extent_defined || chain_.file_mask_set) return Reject(sense::kMsgInvalidSequence);
  CommandResult fail;
  if (!LoadTrack(0, 0, &fail)) return fail;
  chain_.read_ipl = true;
  chain_.positioned = true;
  chain_.orient = Orient::kIndex;
  chain_.index_passed = false;
  if (!NextCount(c.code, false, &fail)) return fail;
  const RecordRef& rec = layout_.records[chain_.rec];
  CopyOut(data, track_.data() + rec.data_offset(), rec.count.data_length);
  chain_.orient = Orient::kData;
  CommandResult r{kDevChannelEnd | kDevDeviceEnd, rec.count.data_length};
  if (rec.count.data_length == 0) r.status |= kDevUnitException;
  return r;
}

CommandResult Eckd3390::WriteData(const Command& c, absl::Span<uint8_t> data) {
  const bool in_domain = chain_.lr_count > 0;
  const uint8_t base = c.code & 0x7F;
  // Rule: outside a Write Data domain, only WRITE DATA / WRITE KEY AND DATA and
  // only right after a matching SEARCH ID EQUAL.
  if (!in_domain && ((c.code & 0x80) != 0 || !chain_.search_matched)) {
    return Reject(sense::kMsgInvalidSequence);
  }
  if (std::optional<CommandResult> f = CheckWrite(c.code)) return *f;
  CommandResult fail;
  if (!EnsureTrack(&fail)) return fail;
  const bool at_record = base == cmd::kWriteData
                             ? chain_.orient == Orient::kCount || chain_.orient == Orient::kKey
                             : chain_.orient == Orient::kCount;
  if (!at_record && !NextCount(c.code, in_domain, &fail)) return fail;
  const RecordRef rec = layout_.records[chain_.rec];
  const uint32_t offset = base == cmd::kWriteData ? rec.data_offset() : rec.key_offset();
  const uint32_t length = rec.end_offset() - offset;
  // Rule: an update write must fill the record exactly: the transfer length
  // factor (when valid) and the CCW count may not be short of the record.
  if ((in_domain && (chain_.lr_aux & kAuxTlfValid) != 0 && chain_.lr_tlf != length) ||
      data.size() < length) {
    return UnitCheck(0, sense::kInvalidTrackFormat, 0);
  }
  if (!WriteBytes(offset, data.first(length), &fail)) return fail;
  chain_.orient = Orient::kData;
  chain_.index_passed = false;
  return CommandResult{kDevChannelEnd | kDevDeviceEnd, length};
}

CommandResult Eckd3390::FormatWrite(const Command& c, absl::Span<uint8_t> data) {
  const bool in_domain = chain_.lr_count > 0;
  if (!in_domain && (c.code == cmd::kWriteCkdNextTrack || !chain_.positioned)) {
    return Reject(sense::kMsgInvalidSequence);
  }
  if (std::optional<CommandResult> f = CheckWrite(c.code)) return *f;
  if (data.size() < kCountSize) return Reject(sense::kMsgCountTooSmall);
  CommandResult fail;
  if (c.code == cmd::kWriteCkdNextTrack) {
    if (!MultitrackAdvance(in_domain, &fail)) return fail;
    if (layout_.records.empty()) return UnitCheck(0, sense::kNoRecordFound, 0);
    chain_.rec = 0;
    chain_.orient = Orient::kData;
  } else if (!EnsureTrack(&fail)) {
    return fail;
  }
  const CountField count = CountField::Decode(data);
  const uint32_t length = kCountSize + count.key_length + count.data_length;
  // Where the record (or the end-of-track marker) goes.
  uint32_t at = 0;
  if (c.code == cmd::kWriteR0) {
    // Rule: WRITE R0 needs home-address (index) orientation.
    if (chain_.orient != Orient::kIndex) return Reject(sense::kMsgInvalidSequence);
    at = kHomeAddressSize;
  } else {
    switch (chain_.orient) {
      case Orient::kIndex:
        at = layout_.records.empty() ? kHomeAddressSize : layout_.records[0].end_offset();
        break;
      case Orient::kCount:
      case Orient::kKey:
      case Orient::kData:
        at = layout_.records[chain_.rec].end_offset();
        break;
      default:
        return Reject(sense::kMsgInvalidSequence);
    }
  }
  const bool erase = c.code == cmd::kErase;
  const uint32_t new_end = at + (erase ? 0 : length) + kCountSize;
  // Rule: a record that does not fit on the track is invalid track format.
  if (new_end > image_->track_size()) return UnitCheck(0, sense::kInvalidTrackFormat, 0);
  const uint32_t old_end = layout_.eot_offset + kCountSize;
  std::vector<uint8_t> bytes(std::max(new_end, old_end) - at, 0);
  if (!erase) {
    std::memcpy(bytes.data(), data.data(), std::min<size_t>(length, data.size()));
  }
  std::fill_n(bytes.begin() + (new_end - kCountSize - at), kCountSize, 0xFF);
  if (!WriteBytes(at, bytes, &fail)) return fail;
  absl::StatusOr<TrackLayout> layout = ParseTrack(track_, cur_cyl_, cur_head_);
  if (!layout.ok()) {
    track_valid_ = false;
    return UnitCheck(0, sense::kInvalidTrackFormat, 0);
  }
  layout_ = *std::move(layout);
  chain_.index_passed = false;
  if (erase) {
    chain_.orient = Orient::kEot;
  } else {
    chain_.rec = layout_.records.size() - 1;
    chain_.orient = Orient::kData;
  }
  return CommandResult{kDevChannelEnd | kDevDeviceEnd, length};
}

CommandResult Eckd3390::SensePathGroupId(const Command& c, absl::Span<uint8_t> data) {
  // Rule: SENSE PATH GROUP ID must be the only command of its chain.
  if (!c.first_in_chain || c.command_chained) return Reject(sense::kMsgInvalidSequence);
  std::array<uint8_t, 1 + kPgidSize> d{};
  d[0] = static_cast<uint8_t>(path_state_ | (reserved_ ? kPathReservedHere : 0));
  std::copy(pgid_.begin(), pgid_.end(), d.begin() + 1);
  CopyOut(data, d.data(), d.size());
  return CommandResult{kDevChannelEnd | kDevDeviceEnd, static_cast<uint32_t>(d.size())};
}

CommandResult Eckd3390::SetPathGroupId(const Command& c, absl::Span<uint8_t> d) {
  if (d.size() < 1 + kPgidSize) return Reject(sense::kMsgCountTooSmall);
  const uint8_t fn = d[0];
  const absl::Span<const uint8_t> pgid = d.subspan(1, kPgidSize);
  const bool zero = std::all_of(pgid.begin(), pgid.end(), [](uint8_t b) { return b == 0; });
  const bool grouped = (path_state_ & kPathGrouped) == kPathGrouped;
  const uint8_t command = fn & kSpidCommand;
  if ((fn & kSpidReserved) != 0 || command == kSpidCommand || zero ||
      (command == kSpidEstablish && grouped && !std::equal(pgid.begin(), pgid.end(), pgid_.begin()))) {
    return Reject(sense::kMsgInvalidParameter);
  }
  if (command == kSpidEstablish) {
    std::copy(pgid.begin(), pgid.end(), pgid_.begin());
    path_state_ = static_cast<uint8_t>(kPathGrouped | ((fn & kSpidMultipath) ? kPathMultipath : 0));
  } else if (command == kSpidResign || command == kSpidDisband) {
    // With one path, resigning and disbanding both leave the device reset.
    pgid_.fill(0);
    path_state_ = 0;
  }
  return CommandResult{kDevChannelEnd | kDevDeviceEnd, 1 + kPgidSize};
}

CommandResult Eckd3390::ReserveRelease(const Command& c, absl::Span<uint8_t> data) {
  // Rule: RESERVE and RELEASE must be the first command of the chain.
  if (!c.first_in_chain) return Reject(sense::kMsgInvalidSequence);
  CopyOut(data, sense_.data(), sense_.size());
  reserved_ = c.code != cmd::kRelease;
  return CommandResult{kDevChannelEnd | kDevDeviceEnd, sense::kSize};
}

}  // namespace ccwpass::sim::dasd
