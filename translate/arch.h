// Architecture types of the s390 channel subsystem, with bit-exact encode/decode.
//
// Sources: z/Architecture Principles of Operation (SA22-7832), ch. 15 "Basic I/O
// Functions" (ORB, CCW, IDAW), ch. 16 "I/O Interruptions" (IRB, SCSW, ESW, ECW),
// ch. 15 "Subchannel-Information Block" (PMCW, SCHIB), ch. 17 "I/O Support
// Functions" (CRW); Linux arch/s390/include/asm/{orb,cio,scsw,crw,idals}.h and
// include/uapi/linux/vfio_ccw.h for the vfio-ccw region layouts.
//
// Bit numbering is IBM's: bit 0 is the most significant bit of a big-endian word.
// All wire images are big-endian byte arrays; the decoded structs hold host values.
// Encode(Decode(b)) == b for every field the architecture defines; reserved bits
// decode to nothing and encode as zero. Addresses the architecture defines as
// 31-bit (CCW data address, ORB and SCSW CPA, format-1 IDAW) are decoded as the
// whole 32-bit word, so that a set bit 0 can be seen and refused by the
// translator (rules.h Is31Bit) instead of being silently dropped.
#ifndef CCWPASS_TRANSLATE_ARCH_H_
#define CCWPASS_TRANSLATE_ARCH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ccwpass::translate {

// Wire sizes in bytes (UAPI include/uapi/linux/vfio_ccw.h and SA22-7832).
inline constexpr size_t kCcwSize = 8;
inline constexpr size_t kOrbSize = 12;    // ORB_AREA_SIZE
inline constexpr size_t kScswSize = 12;   // SCSW_AREA_SIZE
inline constexpr size_t kEswSize = 20;
inline constexpr size_t kEcwSize = 32;
inline constexpr size_t kEmwSize = 32;
inline constexpr size_t kIrbSize = 96;    // IRB_AREA_SIZE
inline constexpr size_t kPmcwSize = 28;
inline constexpr size_t kSchibSize = 52;  // SCHIB_AREA_SIZE
inline constexpr size_t kCrwSize = 4;
inline constexpr size_t kIdaw1Size = 4;
inline constexpr size_t kIdaw2Size = 8;

// CCW flag bits (byte 1 of a format-1 CCW, byte 4 of a format-0 CCW).
namespace ccw_flag {
inline constexpr uint8_t kCd = 0x80;       // chain data
inline constexpr uint8_t kCc = 0x40;       // chain command
inline constexpr uint8_t kSli = 0x20;      // suppress incorrect length
inline constexpr uint8_t kSkip = 0x10;     // skip: no data stored on read
inline constexpr uint8_t kPci = 0x08;      // program-controlled interruption
inline constexpr uint8_t kIda = 0x04;      // data address designates an IDAL
inline constexpr uint8_t kSuspend = 0x02;  // suspend before this CCW
inline constexpr uint8_t kMida = 0x01;     // data address designates a MIDAL
}  // namespace ccw_flag

// Command codes that the architecture (not a device) defines.
namespace ccw_cmd {
inline constexpr uint8_t kNoop = 0x03;     // control, no data
inline constexpr uint8_t kSense = 0x04;    // basic sense
inline constexpr uint8_t kTic = 0x08;      // transfer in channel
inline constexpr uint8_t kSenseId = 0xE4;  // SENSE ID (extended)
}  // namespace ccw_cmd

// Format-1 CCW (8 bytes): command, flags, count, 31-bit data address.
// SA22-7832 ch. 15 "Channel-Command Word".
struct Ccw1 {
  uint8_t cmd = 0;
  uint8_t flags = 0;
  uint16_t count = 0;
  uint32_t cda = 0;  // data address (or IDAL/MIDAL address, or TIC target)

  static Ccw1 Decode(std::span<const uint8_t, kCcwSize> b);
  void EncodeTo(std::span<uint8_t, kCcwSize> b) const;
  std::array<uint8_t, kCcwSize> Encode() const;
  bool operator==(const Ccw1&) const = default;
};

// Format-0 CCW (8 bytes): command, 24-bit data address, flags, reserved, count.
// SA22-7832 ch. 15 "Channel-Command Word".
struct Ccw0 {
  uint8_t cmd = 0;
  uint32_t cda = 0;  // 24-bit data address
  uint8_t flags = 0;
  uint8_t reserved = 0;  // byte 5; must be zero or the channel program-checks
  uint16_t count = 0;

  static Ccw0 Decode(std::span<const uint8_t, kCcwSize> b);
  void EncodeTo(std::span<uint8_t, kCcwSize> b) const;
  std::array<uint8_t, kCcwSize> Encode() const;
  bool operator==(const Ccw0&) const = default;

  // The format-1 equivalent, as the kernel converts it (vfio_ccw_cp.c
  // convert_ccw0_to_ccw1): a TIC (command low nibble 0x8) becomes command 0x08
  // with flags and count zero; every other CCW keeps command, flags, count and address.
  Ccw1 ToFormat1() const;
};

// Command-mode operation-request block (12 bytes in the I/O region).
// SA22-7832 ch. 15 "Operation-Request Block"; Linux asm/orb.h `struct cmd_orb`.
struct Orb {
  uint32_t intparm = 0;  // word 0: interruption parameter
  uint8_t key = 0;       // bits 0-3: subchannel key
  bool spnd = false;     // bit 4 S: suspend control
  bool str = false;      // bit 5 C: streaming mode
  bool mod = false;      // bit 6 M: modification control
  bool sync = false;     // bit 7 Y: synchronization control
  bool fmt = false;      // bit 8 F: format-1 CCWs
  bool pfch = false;     // bit 9 P: prefetch control
  bool isic = false;     // bit 10 I: initial-status-interruption control
  bool alcc = false;     // bit 11 A: address-limit-checking control
  bool ssic = false;     // bit 12 U: suppress-suspended-interruption control
  bool tm = false;       // bit 13 B: transport mode (refused by vfio-ccw)
  bool c64 = false;      // bit 14 H: format-2 IDAWs
  bool i2k = false;      // bit 15 T: 2K-byte IDAW blocks (format-2 only)
  uint8_t lpm = 0;       // bits 16-23: logical-path mask
  bool ils = false;      // bit 24 L: incorrect-length-suppression mode
  bool midaw = false;    // bit 25 D: MIDAW control
  bool orbx = false;     // bit 31 X: ORB extension
  uint32_t cpa = 0;      // word 2: channel-program address (31-bit)

  static Orb Decode(std::span<const uint8_t, kOrbSize> b);
  void EncodeTo(std::span<uint8_t, kOrbSize> b) const;
  std::array<uint8_t, kOrbSize> Encode() const;
  bool operator==(const Orb&) const = default;
};

// SCSW function control (bits 17-19).
namespace scsw_fctl {
inline constexpr uint8_t kStart = 0x4;
inline constexpr uint8_t kHalt = 0x2;
inline constexpr uint8_t kClear = 0x1;
}  // namespace scsw_fctl

// SCSW activity control (bits 20-26).
namespace scsw_actl {
inline constexpr uint8_t kResumePending = 0x40;
inline constexpr uint8_t kStartPending = 0x20;
inline constexpr uint8_t kHaltPending = 0x10;
inline constexpr uint8_t kClearPending = 0x08;
inline constexpr uint8_t kSubchannelActive = 0x04;
inline constexpr uint8_t kDeviceActive = 0x02;
inline constexpr uint8_t kSuspended = 0x01;
}  // namespace scsw_actl

// SCSW status control (bits 27-31).
namespace scsw_stctl {
inline constexpr uint8_t kAlert = 0x10;
inline constexpr uint8_t kIntermediate = 0x08;
inline constexpr uint8_t kPrimary = 0x04;
inline constexpr uint8_t kSecondary = 0x02;
inline constexpr uint8_t kStatusPending = 0x01;
}  // namespace scsw_stctl

// Device status (SCSW word 2 bits 0-7).
namespace dev_stat {
inline constexpr uint8_t kAttention = 0x80;
inline constexpr uint8_t kStatusModifier = 0x40;
inline constexpr uint8_t kControlUnitEnd = 0x20;
inline constexpr uint8_t kBusy = 0x10;
inline constexpr uint8_t kChannelEnd = 0x08;
inline constexpr uint8_t kDeviceEnd = 0x04;
inline constexpr uint8_t kUnitCheck = 0x02;
inline constexpr uint8_t kUnitException = 0x01;
}  // namespace dev_stat

// Subchannel status (SCSW word 2 bits 8-15).
namespace sch_stat {
inline constexpr uint8_t kPci = 0x80;
inline constexpr uint8_t kIncorrectLength = 0x40;
inline constexpr uint8_t kProgramCheck = 0x20;
inline constexpr uint8_t kProtectionCheck = 0x10;
inline constexpr uint8_t kChannelDataCheck = 0x08;
inline constexpr uint8_t kChannelControlCheck = 0x04;
inline constexpr uint8_t kInterfaceControlCheck = 0x02;
inline constexpr uint8_t kChainingCheck = 0x01;
}  // namespace sch_stat

// Command-mode subchannel-status word (12 bytes).
// SA22-7832 ch. 16 "Subchannel-Status Word"; Linux asm/scsw.h `struct cmd_scsw`.
struct Scsw {
  uint8_t key = 0;      // bits 0-3
  bool sctl = false;    // bit 4 S: suspend control
  bool eswf = false;    // bit 5 L: ESW format (extended status stored)
  uint8_t cc = 0;       // bits 6-7: deferred condition code
  bool fmt = false;     // bit 8 F: CCW format
  bool pfch = false;    // bit 9 P: prefetch
  bool isic = false;    // bit 10 I: initial-status-interruption control
  bool alcc = false;    // bit 11 A: address-limit-checking control
  bool ssi = false;     // bit 12 U: suppress-suspended interruption
  bool zcc = false;     // bit 13 Z: zero condition code
  bool ectl = false;    // bit 14 E: extended control (ECW stored)
  bool pno = false;     // bit 15 N: path not operational
  uint8_t fctl = 0;     // bits 17-19: function control (scsw_fctl)
  uint8_t actl = 0;     // bits 20-26: activity control (scsw_actl)
  uint8_t stctl = 0;    // bits 27-31: status control (scsw_stctl)
  uint32_t cpa = 0;     // word 1: CCW address
  uint8_t dstat = 0;    // word 2 bits 0-7: device status (dev_stat)
  uint8_t cstat = 0;    // word 2 bits 8-15: subchannel status (sch_stat)
  uint16_t count = 0;   // word 2 bits 16-31: residual count

  static Scsw Decode(std::span<const uint8_t, kScswSize> b);
  void EncodeTo(std::span<uint8_t, kScswSize> b) const;
  std::array<uint8_t, kScswSize> Encode() const;
  bool operator==(const Scsw&) const = default;

  // True when the interruption ends the operation: neither "subchannel active"
  // nor "device active" is set (Documentation/s390/vfio-ccw.rst, vfio_ccw_fsm.c).
  bool IsFinal() const;
};

// Format-0 extended-status word (20 bytes) of an I/O subchannel:
// subchannel logout, extended-report word, failing-storage address, secondary CCW address.
// SA22-7832 ch. 16 "Extended-Status Word"; Linux asm/cio.h `struct esw0`.
struct Esw {
  // Subchannel logout (word 0).
  uint8_t esf = 0;     // bits 1-7: extended-status flags
  uint8_t lpum = 0;    // bits 8-15: last-path-used mask
  bool arep = false;   // bit 16: ancillary report
  uint8_t fvf = 0;     // bits 17-21: field-validity flags
  uint8_t sacc = 0;    // bits 22-23: storage access code
  uint8_t termc = 0;   // bits 24-25: termination code
  bool devsc = false;  // bit 26: device-status check
  bool serr = false;   // bit 27: secondary error
  bool ioerr = false;  // bit 28: I/O-error alert
  uint8_t seqc = 0;    // bits 29-31: sequence code
  // Extended-report word (word 1).
  bool erw_l = false;    // bit 1 L: request logging only
  bool erw_e = false;    // bit 2 E: eventual information
  bool erw_a = false;    // bit 3 A: authorization check
  bool erw_p = false;    // bit 4 P: path verification required
  bool erw_t = false;    // bit 5 T: channel-path timeout
  bool erw_f = false;    // bit 6 F: failing-storage-address validity
  bool erw_s = false;    // bit 7 S: concurrent sense (sense data in the ECW)
  bool erw_c = false;    // bit 8 C: secondary-CCW-address validity
  bool erw_r = false;    // bit 9 R: failing-storage-address format
  uint8_t erw_scnt = 0;  // bits 10-15: sense count (bytes of sense in the ECW)
  uint64_t faddr = 0;    // words 2-3: failing-storage address
  uint32_t saddr = 0;    // word 4: secondary CCW address

  static Esw Decode(std::span<const uint8_t, kEswSize> b);
  void EncodeTo(std::span<uint8_t, kEswSize> b) const;
  bool operator==(const Esw&) const = default;
};

// Interruption-response block as the vfio-ccw I/O region holds it (96 bytes):
// SCSW 12, ESW 20, ECW 32, EMW 32. SA22-7832 ch. 16 "Interruption-Response Block".
struct Irb {
  Scsw scsw;
  Esw esw;
  std::array<uint8_t, kEcwSize> ecw{};  // extended-control word: concurrent sense
  std::array<uint8_t, kEmwSize> emw{};  // extended-measurement word

  static Irb Decode(std::span<const uint8_t, kIrbSize> b);
  void EncodeTo(std::span<uint8_t, kIrbSize> b) const;
  std::array<uint8_t, kIrbSize> Encode() const;
  bool operator==(const Irb&) const = default;
};

// Path-management-control word (28 bytes).
// SA22-7832 ch. 15 "Path-Management-Control Word"; Linux asm/cio.h `struct pmcw`.
struct Pmcw {
  uint32_t intparm = 0;  // word 0
  bool qf = false;       // word 1 bit 0 Q: QDIO facility active
  bool w = false;        // bit 1 W
  uint8_t isc = 0;       // bits 2-4: interruption subclass
  bool ena = false;      // bit 8 E: enabled
  uint8_t lm = 0;        // bits 9-10: limit mode
  uint8_t mme = 0;       // bits 11-12: measurement-mode enable
  bool mp = false;       // bit 13 D: multipath mode
  bool tf = false;       // bit 14 T: timing facility
  bool dnv = false;      // bit 15 V: device number valid
  uint16_t dev = 0;      // bits 16-31: device number
  uint8_t lpm = 0;       // word 2: logical-path mask
  uint8_t pnom = 0;      //         path-not-operational mask
  uint8_t lpum = 0;      //         last-path-used mask
  uint8_t pim = 0;       //         path-installed mask
  uint16_t mbi = 0;      // word 3: measurement-block index
  uint8_t pom = 0;       //         path-operational mask
  uint8_t pam = 0;       //         path-available mask
  std::array<uint8_t, 8> chpid{};  // words 4-5: channel-path identifiers
  uint8_t st = 0;        // word 6 bits 8-10: subchannel type (0 = I/O)
  bool mbfc = false;     // bit 29 F: measurement-block-format control
  bool xmwme = false;    // bit 30 X: extended-measurement-word mode enable
  bool csense = false;   // bit 31 S: concurrent sense

  static Pmcw Decode(std::span<const uint8_t, kPmcwSize> b);
  void EncodeTo(std::span<uint8_t, kPmcwSize> b) const;
  bool operator==(const Pmcw&) const = default;
};

// Subchannel-information block (52 bytes, as the vfio-ccw SCHIB region holds it):
// PMCW 28, SCSW 12, model-dependent area 12 (measurement-block address 8, 4 more).
// SA22-7832 ch. 15 "Subchannel-Information Block".
struct Schib {
  Pmcw pmcw;
  Scsw scsw;
  uint64_t mba = 0;                 // measurement-block address
  std::array<uint8_t, 4> mda{};     // model-dependent

  static Schib Decode(std::span<const uint8_t, kSchibSize> b);
  void EncodeTo(std::span<uint8_t, kSchibSize> b) const;
  std::array<uint8_t, kSchibSize> Encode() const;
  bool operator==(const Schib&) const = default;
};

// CRW reporting-source codes and error-recovery codes (SA22-7832 ch. 17; asm/crw.h).
namespace crw_rsc {
inline constexpr uint8_t kSubchannel = 0x3;
inline constexpr uint8_t kChannelPath = 0x4;
inline constexpr uint8_t kConfig = 0x9;
inline constexpr uint8_t kCss = 0xB;
}  // namespace crw_rsc
namespace crw_erc {
inline constexpr uint8_t kEvent = 0x00;      // event information pending
inline constexpr uint8_t kAvail = 0x01;      // available
inline constexpr uint8_t kInit = 0x02;       // initialized (path online)
inline constexpr uint8_t kTerror = 0x03;     // temporary error
inline constexpr uint8_t kIpi = 0x04;        // installed parameters initialized
inline constexpr uint8_t kTerm = 0x05;       // terminal
inline constexpr uint8_t kPerrn = 0x06;      // permanent error, facility not initialized (path lost)
inline constexpr uint8_t kPerri = 0x07;      // permanent error, facility initialized
inline constexpr uint8_t kPmod = 0x08;       // installed parameters modified
}  // namespace crw_erc

// Channel-report word (4 bytes). The vfio-ccw CRW region holds it as a host u32
// whose bit 0 is the most significant bit (`struct ccw_crw_region`); FromWord/ToWord
// convert that form. SA22-7832 ch. 17 "Channel-Report Word".
struct Crw {
  bool slct = false;  // bit 1 S: solicited
  bool oflw = false;  // bit 2 R: overflow (CRWs were lost)
  bool chn = false;   // bit 3 C: chaining (more CRWs of this report follow)
  uint8_t rsc = 0;    // bits 4-7: reporting-source code (crw_rsc)
  bool anc = false;   // bit 8 A: ancillary report
  uint8_t erc = 0;    // bits 10-15: error-recovery code (crw_erc)
  uint16_t rsid = 0;  // bits 16-31: reporting-source ID (CHPID, subchannel number, ...)

  static Crw Decode(std::span<const uint8_t, kCrwSize> b);
  void EncodeTo(std::span<uint8_t, kCrwSize> b) const;
  static Crw FromWord(uint32_t w);
  uint32_t ToWord() const;
  bool operator==(const Crw&) const = default;
};

// IDAW formats (SA22-7832 ch. 15 "Indirect Data Addressing").
// Format 1: 4 bytes, 31-bit address, 2 KiB blocks. Format 2: 8 bytes, 64-bit
// address, 4 KiB blocks, or 2 KiB when the ORB's T bit is set. The first IDAW may
// start anywhere in a block; every later IDAW must designate a block boundary.
enum class IdawFormat : uint8_t { kFormat1 = 1, kFormat2 = 2 };

// Size of one IDAW in bytes: 4 (format 1) or 8 (format 2).
constexpr size_t IdawSize(IdawFormat f) { return f == IdawFormat::kFormat1 ? kIdaw1Size : kIdaw2Size; }

// Block size in bytes of the IDAWs an ORB selects: 2048 for format 1 or for
// format 2 with T, else 4096.
constexpr uint32_t IdawBlockSize(IdawFormat f, bool i2k) {
  return (f == IdawFormat::kFormat1 || i2k) ? 2048u : 4096u;
}

// Number of IDAWs a transfer of `bytes` starting at `first` needs with
// `block`-byte blocks (a power of two: 2048 or 4096): one per block boundary
// crossed, plus one. A count of 0 counts as 1 byte, as the kernel does.
constexpr uint32_t IdawCount(uint64_t first, uint32_t bytes, uint32_t block) {
  const uint64_t start_in_block = first & (block - 1);
  return static_cast<uint32_t>((start_in_block + (bytes == 0 ? 1 : bytes) + block - 1) / block);
}

// Decode/encode of one IDAW (big-endian). Format 1 keeps bit 0 as read (it
// must be zero; the translator checks that).
uint64_t DecodeIdaw(IdawFormat f, std::span<const uint8_t> b);
void EncodeIdaw(IdawFormat f, uint64_t addr, std::span<uint8_t> b);

// The vfio-ccw regions (include/uapi/linux/vfio_ccw.h). Byte arrays are wire
// images (big-endian); ret_code and the command/CRW words are host-endian u32,
// as the kernel defines them.
#pragma pack(push, 1)
struct CcwIoRegion {
  uint8_t orb_area[kOrbSize];
  uint8_t scsw_area[kScswSize];
  uint8_t irb_area[kIrbSize];
  uint32_t ret_code;
};
struct CcwCmdRegion {
  uint32_t command;  // kAsyncCmdHsch or kAsyncCmdCsch
  uint32_t ret_code;
};
struct CcwSchibRegion {
  uint8_t schib_area[kSchibSize];
};
struct CcwCrwRegion {
  uint32_t crw;  // one CRW as a host u32 (Crw::FromWord), zero when none is queued
  uint32_t pad;
};
#pragma pack(pop)
static_assert(sizeof(CcwIoRegion) == 124, "vfio_ccw io region is 124 bytes");
static_assert(sizeof(CcwCmdRegion) == 8, "vfio_ccw async command region is 8 bytes");
static_assert(sizeof(CcwSchibRegion) == 52, "vfio_ccw schib region is 52 bytes");
static_assert(sizeof(CcwCrwRegion) == 8, "vfio_ccw crw region is 8 bytes");
inline constexpr uint32_t kAsyncCmdHsch = 1u << 0;  // VFIO_CCW_ASYNC_CMD_HSCH
inline constexpr uint32_t kAsyncCmdCsch = 1u << 1;  // VFIO_CCW_ASYNC_CMD_CSCH

// Words: "CE DE", "UC", "PCI IL" ... for device and subchannel status bytes
// (abbreviations as in SA22-7832 ch. 16); empty string for 0.
std::string DeviceStatusText(uint8_t dstat);
std::string SubchannelStatusText(uint8_t cstat);
// "start", "halt", "clear", combinations joined by '|', or "none".
std::string FunctionControlText(uint8_t fctl);
// Status-control and activity-control words joined by '|' ("primary|secondary|status-pending").
std::string StatusControlText(uint8_t stctl);
std::string ActivityControlText(uint8_t actl);

// The name of a command code for the common architecture and 3990/3390 ECKD
// commands ("SENSE ID", "READ DATA", "DEFINE EXTENT", ...), or an empty string.
// Command codes are device-specific; these names follow reference/dasd-3390.md.
std::string_view CommandName(uint8_t cmd);

// Flag names in architecture order ("CC", "SLI", ...) for a CCW flag byte.
std::string FlagsText(uint8_t flags);

}  // namespace ccwpass::translate

#endif  // CCWPASS_TRANSLATE_ARCH_H_
