// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//
// Sum() accumulates the one's-complement sum of a byte run into a 32-bit partial sum
// (a word at a time, 8 bytes per step); Fold() reduces a partial sum to the 16-bit
// checksum value. Pseudo-headers are added with the same Sum over their fields, so a
// caller checks a TCP segment with
//   Fold(Sum(segment, PseudoHeaderSum4(src, dst, kProtoTcp, len))) == 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "stack/net/ip4_address.h"
#include "stack/net/ip6_address.h"

namespace pytcp {

// Whether a parser verifies a checksum. kSkip is for frames whose checksum the TAP device
// has already verified or will fill in (virtio_net_hdr VIRTIO_NET_HDR_F_DATA_VALID /
// NEEDS_CSUM offloads), so the stack does not sum the same bytes twice.
enum class ChecksumPolicy : uint8_t { kVerify, kSkip };

// Adds the bytes to `initial` (a partial sum from earlier runs). An odd-length run is
// padded with a zero byte, so only the last run of a message may have odd length.
uint32_t ChecksumSum(std::span<const uint8_t> data, uint32_t initial = 0);

// Folds a partial sum to 16 bits and takes the one's complement: the value to store in a
// checksum field, or 0 when verifying a message that includes its checksum.
constexpr uint16_t ChecksumFold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

// Convenience: the checksum of one contiguous run.
inline uint16_t InternetChecksum(std::span<const uint8_t> data, uint32_t initial = 0) {
  return ChecksumFold(ChecksumSum(data, initial));
}

// A TCP or UDP segment whose sender left the checksum to the device (virtio NEEDS_CSUM:
// the field holds the pseudo-header sum only), completed as skb_checksum_help() does by
// whoever sends it on without offload (a router). A UDP sum of 0 is sent as 0xffff (RFC
// 768, RFC 8200 §8.1). A segment too short for its checksum field is left as it is.
inline void CompletePartialChecksum(std::span<uint8_t> segment, bool tcp) {
  const size_t field = tcp ? 16 : 6;
  if (segment.size() < field + 2) return;
  uint16_t sum = InternetChecksum(segment);
  if (!tcp && sum == 0) sum = 0xffff;
  segment[field] = static_cast<uint8_t>(sum >> 8);
  segment[field + 1] = static_cast<uint8_t>(sum);
}

// Partial sums of the pseudo-headers of RFC 9293 §3.1 / RFC 768 (IPv4) and RFC 8200 §8.1
// (IPv6). `length` is the upper-layer length (header + payload).
uint32_t PseudoHeaderSum4(Ip4Address src, Ip4Address dst, uint8_t protocol, uint32_t length);
uint32_t PseudoHeaderSum6(const Ip6Address& src, const Ip6Address& dst, uint8_t next_header,
                          uint32_t length);

// RFC 1624 eqn. 3: the new checksum after a 16-bit field changed from old_word to new_word,
// HC' = ~(~HC + ~m + m').
constexpr uint16_t ChecksumUpdate16(uint16_t checksum, uint16_t old_word, uint16_t new_word) {
  uint32_t sum = static_cast<uint16_t>(~checksum) + static_cast<uint32_t>(static_cast<uint16_t>(~old_word)) +
                 new_word;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}
constexpr uint16_t ChecksumUpdate32(uint16_t checksum, uint32_t old_value, uint32_t new_value) {
  checksum = ChecksumUpdate16(checksum, static_cast<uint16_t>(old_value >> 16),
                              static_cast<uint16_t>(new_value >> 16));
  return ChecksumUpdate16(checksum, static_cast<uint16_t>(old_value),
                          static_cast<uint16_t>(new_value));
}

}  // namespace pytcp
