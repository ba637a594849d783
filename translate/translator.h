// Channel-program policing and translation, with the semantics of Linux's
// vfio_ccw (drivers/s390/cio/vfio_ccw_cp.c, Documentation/s390/vfio-ccw.rst).
//
// Translate() takes a client's ORB and the memory its program addresses, polices
// the program with the kernel's rules (same errno) and the agent's own, and lays
// it out in the device's DMA arena as a program a real vfio_ccw accepts:
//   - chains segmented at TICs that leave the chain (at most 256 CCWs per chain,
//     16 segments), TICs retargeted to the arena copies;
//   - format-0 CCWs converted to format 1;
//   - every CCW that moves data turned into a format-2 IDAL CCW over arena pages
//     (4 KiB blocks), write and control data copied in, read buffers pre-filled
//     with the client's current bytes;
//   - guest IDALs of format 1 and 2, with 2 KiB or 4 KiB blocks, read once.
// The client's memory is read exactly once for each CCW, IDAL and data byte:
// every check and every use work on that one copy (no double fetch).
//
// Program::Complete() is the way back for the final interruption: the SCSW's CPA
// is mapped from the arena to the client's address space (one past the end of a
// chain counts as inside it), read data are copied back for the bytes the device
// moved, and the arena pages are returned.
#ifndef CCWPASS_TRANSLATE_TRANSLATOR_H_
#define CCWPASS_TRANSLATE_TRANSLATOR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "translate/arch.h"
#include "translate/arena.h"
#include "translate/errors.h"
#include "translate/guest_memory.h"
#include "translate/rules.h"

namespace ccwpass::translate {

struct TranslateOptions {
  // Longest chain accepted; the kernel's limit (a chain of 257 or more is -EINVAL).
  int max_ccws_per_chain = kMaxCcwsPerChain;
  // Most chain segments accepted; the kernel's limit (-ENOMEM beyond).
  int max_segments = kMaxChainSegments;
};

// Counts of a translated program.
struct ProgramStats {
  int chains = 0;     // chain segments
  int ccws = 0;       // CCWs in all segments
  int idaws = 0;      // IDAWs the arena program uses
  uint64_t bytes = 0; // data bytes the CCWs that move data may move (sum of counts)
  uint32_t pages = 0; // arena pages taken
};

// One chain segment.
struct ChainInfo {
  uint64_t guest_addr = 0;  // address of its first CCW in the client's memory
  uint32_t host_iova = 0;   // address of its first CCW in the arena
  int len = 0;              // CCWs
  int first_index = 0;      // translation-order index of its first CCW
};

// One CCW as the client wrote it (after format-0 conversion), with what the
// translation made of it.
struct CcwInfo {
  uint64_t guest_addr = 0;  // where the CCW is in the client's memory
  Ccw1 guest;               // the CCW as read (format 1)
  Ccw1 host;                // the CCW as placed in the arena
  bool moves_data = false;  // DoesDataTransfer()
  bool data_in = false;     // device to memory (read, read backward, sense)
  int tic_chain = -1;       // for a TIC: the chain its target is in
  int tic_offset = -1;      //            and the byte offset of the target in that chain
  uint32_t frag_begin = 0;  // guest data fragments [frag_begin, frag_end)
  uint32_t frag_end = 0;
  uint32_t stream_off = 0;  // offset of its buffer in the program's data stream
};

// The data one CCW moved, reported at completion.
struct CcwTransfer {
  int index = 0;            // translation-order index of the CCW
  uint64_t ccw_addr = 0;    // guest address of the CCW
  uint8_t cmd = 0;
  bool data_in = false;     // true: device to memory
  uint32_t bytes = 0;       // bytes moved (count minus residual for the last CCW)
  bool operator==(const CcwTransfer&) const = default;
};

// What Program::Complete() found.
struct Completion {
  // User-provided, as Program's: a value-initialised Completion (StatusOr's
  // in-place construction) would first be zero-filled, and the reads that follow
  // stall on those string stores.
  Completion() {}

  Scsw scsw;                              // the SCSW with the CPA in the client's address space
  std::optional<CcwLocation> last_ccw;    // the last CCW executed, when the CPA says so
  uint64_t bytes_in = 0;                  // bytes copied back into the client's memory
  uint64_t bytes_out = 0;                 // bytes the device was sent
  // Executed CCWs that move data, in index order (inline up to 4: no heap
  // allocation for the usual programs).
  absl::InlinedVector<CcwTransfer, 4> transfers;
};

// A translated channel program: owns its arena pages until Complete() or destruction.
// Move-only. The arena must outlive the program.
class Program {
 public:
  // An empty, inactive program. User-provided (not `= default`) so that a
  // value-initialised Program (StatusOr's in-place construction) is not first
  // zero-filled, inline storage and all (~1 KiB a request).
  Program() {}
  Program(Program&& o) noexcept;
  Program& operator=(Program&& o) noexcept;
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;
  ~Program();

  // The ORB to start the program with: format-1 CCWs, format-2 IDAWs with 4 KiB
  // blocks, key 0, CPA = the arena copy of the first CCW; the client's other bits
  // (intparm, LPM, prefetch, suspend, ...) as given.
  const Orb& orb() const { return orb_; }
  const ProgramStats& stats() const { return stats_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  const absl::InlinedVector<ChainInfo, 4>& chains() const { return chains_; }
  const absl::InlinedVector<CcwInfo, 8>& ccws() const { return ccws_; }
  // True while the program holds arena pages (before Complete / Release).
  bool active() const { return arena_ != nullptr; }

  // Maps an arena CCW address to the client's: the address within, or one past
  // the end of, a chain. Errors: kOutOfRange when it maps to no chain.
  absl::StatusOr<uint64_t> GuestCpa(uint64_t host_cpa) const;

  // Finishes the program on its final interruption (Scsw::IsFinal). When the SCSW
  // designates a CCW (start function, not clear, primary/alert/intermediate
  // status, deferred cc 0), the CCWs on the path from the first CCW to the last
  // executed one are taken as executed (the path follows chaining, TICs, and the
  // status-modifier skip over a TIC after a CCW such as SEARCH): read data of each are copied back to
  // `guest`, the full count for all but the last, count minus the residual count
  // for the last (its tail for read backward). The arena pages are then returned
  // whatever the outcome.
  // Errors: kFailedPrecondition when the program is not active; kOutOfRange when
  // the CPA maps to no chain; kDataLoss when the residual count exceeds the last
  // CCW's count; a guest write error (kOutOfRange) if `guest` shrank.
  absl::StatusOr<Completion> Complete(const Scsw& scsw, GuestMemory& guest);

  // True when the program, while active, uses any byte of the client's
  // [addr, addr + len): one of its CCWs or data buffers (the IDALs it read are
  // copied and not counted). The kernel's cp_iova_pinned(): unmapping DMA that
  // a pending program uses resets the device (drivers/s390/cio/vfio_ccw_cp.c).
  bool UsesGuestRange(uint64_t addr, uint64_t len) const;

  // Returns the arena pages without copying anything back (a program that was
  // never started, or one abandoned after a clear).
  void Release();

 private:
  friend class Translator;

  struct Fragment {
    uint64_t guest_addr;
    uint32_t len;
  };
  // Calls copy(arena bytes, guest address, length) -> absl::Status for each
  // piece of bytes [skip, skip + len) of the buffer at stream offset `off`, whose
  // client side is `frags` in order: a piece lies within one fragment and one
  // run of consecutive arena pages (contiguous memory). Stops at the first
  // error and returns it.
  template <typename Copy>
  absl::Status ForEachPiece(uint32_t off, const Fragment* frags, uint32_t nfrags, uint32_t skip, uint32_t len,
                            Copy copy);
  // The chain an arena CCW address is within or one past the end of, or null.
  const ChainInfo* ChainOfHostCpa(uint64_t host_cpa) const;
  // Complete() after the activity check, into `out`; the pages are returned.
  absl::Status CompleteInto(const Scsw& scsw, GuestMemory& guest, Completion& out);
  // Marks in `seen` the CCWs on a path from the first CCW to `last` (see Complete).
  void MarkExecuted(int last, uint8_t* seen) const;

  DmaArena* arena_ = nullptr;
  PageList pages_;
  uint32_t meta_pages_ = 0;  // pages_[0, meta_pages_) hold chains and IDALs; the rest data
  bool has_tic_ = false;     // some CCW is a TIC (else: one chain, executed in order)
  Orb orb_;
  ProgramStats stats_;
  std::vector<std::string> warnings_;
  absl::InlinedVector<ChainInfo, 4> chains_;
  absl::InlinedVector<CcwInfo, 8> ccws_;
  absl::InlinedVector<Fragment, 8> frags_;
};

// Translates the channel program that `orb` designates in `guest` into `arena`.
// Errors (kInvalidArgument unless said otherwise; each carries the errno, the
// rule and, where there is one, the CCW — see errors.h):
//   EOPNOTSUPP  transport-mode ORB; a MIDA CCW that moves data
//   EINVAL      CPA not doubleword-aligned or above 2 GiB; chain of more than 256
//               CCWs; IDAL not aligned; a later IDAW not on a block boundary;
//               a format-1 IDAW or data address above 2 GiB
//   EFAULT      a CCW, IDAL or data byte outside the client's memory
//   ENOMEM      more than 16 chain segments; kResourceExhausted: the arena is full
absl::StatusOr<Program> Translate(const Orb& orb, const GuestMemory& guest, DmaArena& arena,
                                  const TranslateOptions& options = {});

}  // namespace ccwpass::translate

#endif  // CCWPASS_TRANSLATE_TRANSLATOR_H_
