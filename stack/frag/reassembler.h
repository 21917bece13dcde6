// Fragment reassembly shared by IPv4 (RFC 791 §3.2, RFC 815) and IPv6 (RFC 8200 §4.5).
//
// Robustness rules, the same for both versions:
//  - fragments may arrive in any order; exact duplicates are ignored;
//  - a fragment that overlaps data already held discards the whole datagram, and the
//    datagram stays discarded until its timer runs out (RFC 5722 §4, applied to IPv4 as
//    well, since overlapping fragments are only ever an attack or a broken sender);
//  - every fragment but the last carries a multiple of 8 bytes; a datagram may not grow
//    past 65535 bytes of payload (RFC 8200 §4.5, RFC 791);
//  - each datagram has a timer (RFC 791: at least 15 s; Linux uses 30 s; RFC 8200: 60 s);
//  - all buffered fragments together stay under a memory cap; when a new fragment would
//    exceed it, the oldest datagrams are dropped first (they are the least likely to
//    complete), so that a flood cannot exhaust memory or starve fresh traffic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "stack/base/clock.h"

namespace pytcp {

struct ReassemblyConfig {
  Duration timeout = 30s;
  size_t memory_cap = 4 * 1024 * 1024;  // bytes of fragment payload held at once
  size_t max_datagrams = 1024;
  size_t max_payload = 65535;  // IPv4: 65535 - header; IPv6: 65535 - 8
};

enum class ReassemblyOutcome : uint8_t {
  kHeld,        // fragment kept, datagram incomplete
  kComplete,    // datagram complete: see the returned payload
  kDuplicate,   // an exact copy of a fragment already held
  kOverlap,     // overlapped held data: datagram discarded
  kDiscarded,   // the datagram was already discarded for an overlap
  kBadLength,   // non-final fragment not a multiple of 8, or too large, or after the end
  kNoMemory,    // could not be held even after evicting older datagrams
};

// The outcomes that discard a datagram (an owner counts them as failures); kHeld and
// kDuplicate only wait for more.
constexpr bool IsReassemblyFailure(ReassemblyOutcome o) {
  return o != ReassemblyOutcome::kHeld && o != ReassemblyOutcome::kDuplicate &&
         o != ReassemblyOutcome::kComplete;
}

// What Time Exceeded (code 1) quotes of a datagram whose reassembly timed out: the first
// fragment's header and the first 64 bits of its data (RFC 792, RFC 1122 §3.2.1.4, RFC 8200
// §4.5), as Reassembler::Poll hands them over.
inline std::vector<uint8_t> ReassemblyTimeoutQuote(std::span<const uint8_t> first_header,
                                                   std::span<const uint8_t> first_data) {
  std::vector<uint8_t> quote(first_header.begin(), first_header.end());
  quote.insert(quote.end(), first_data.begin(), first_data.end());
  return quote;
}

// Statistics the owner turns into counters.
struct ReassemblyStats {
  uint64_t timeouts = 0;
  uint64_t evicted = 0;
};

// Which datagram a fragment belongs to: source, destination, protocol and identification
// for IPv4 (RFC 791 §3.2), source, destination and identification for IPv6 (RFC 8200 §4.5;
// protocol stays 0).
template <typename Addr>
struct FragmentKey {
  Addr src;
  Addr dst;
  uint32_t id = 0;
  uint8_t protocol = 0;
  bool operator==(const FragmentKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const FragmentKey& k) {
    return H::combine(std::move(h), k.src, k.dst, k.id, k.protocol);
  }
};

template <typename Key>
class Reassembler {
 public:
  struct Result {
    ReassemblyOutcome outcome;
    std::vector<uint8_t> payload;  // the whole datagram payload when kComplete
    // For kComplete: the header bytes of the fragment at offset 0 (IPv6 needs its
    // unfragmentable part, IPv4 its options).
    std::vector<uint8_t> first_header;

    // For kComplete: the whole datagram as its sender built it, the first fragment's header
    // bytes followed by the payload (the caller fixes the header's length and fragment
    // fields).
    std::vector<uint8_t> Datagram() const {
      std::vector<uint8_t> whole(first_header);
      whole.insert(whole.end(), payload.begin(), payload.end());
      return whole;
    }
  };

  explicit Reassembler(ReassemblyConfig config) : config_(config) {}

  // `offset` is in bytes; `more` is the MF / M flag; `header` is kept if offset == 0.
  Result Add(const Key& key, size_t offset, bool more, std::span<const uint8_t> data,
             std::span<const uint8_t> header, Instant now);

  // Expires datagrams whose timer ran out; for each, `on_timeout(key, first_header,
  // first_data)` is called (both empty when the first fragment never came; first_data is
  // the payload held from offset 0, at most 8 bytes) so that the owner can send ICMP Time
  // Exceeded (code 1) quoting the header and 64 bits of data (RFC 792, RFC 8200 §4.5).
  template <typename Fn>
  void Poll(Instant now, Fn&& on_timeout);
  void Poll(Instant now) {
    Poll(now, [](const Key&, std::span<const uint8_t>, std::span<const uint8_t>) {});
  }
  Instant NextDeadline() const;

  size_t memory_used() const { return memory_used_; }
  size_t datagram_count() const { return datagrams_.size(); }
  const ReassemblyStats& stats() const { return stats_; }

 private:
  struct Piece {
    size_t begin;
    size_t end;  // exclusive
  };
  struct Datagram {
    Instant created;
    Instant deadline;
    bool discarded = false;
    std::optional<size_t> total;  // known once the last fragment arrives
    std::vector<Piece> pieces;    // sorted by begin, never overlapping
    std::vector<uint8_t> buffer;  // payload bytes at their offsets
    std::vector<uint8_t> first_header;
    size_t held = 0;              // bytes of payload held
  };

  void Erase(typename absl::flat_hash_map<Key, Datagram>::iterator it) {
    memory_used_ -= it->second.held;
    datagrams_.erase(it);
  }
  bool MakeRoom(size_t bytes, const Key& keep);

  ReassemblyConfig config_;
  absl::flat_hash_map<Key, Datagram> datagrams_;
  size_t memory_used_ = 0;
  ReassemblyStats stats_;
};

}  // namespace pytcp

#include "stack/frag/reassembler_impl.h"  // IWYU pragma: export
