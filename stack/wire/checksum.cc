#include "stack/wire/checksum.h"

#include <bit>
#include <cstring>

namespace pytcp {

// The sum is computed on native-endian 64-bit loads into a 64-bit accumulator with
// end-around carry, then folded and byte-swapped to network order once at the end: the
// one's-complement sum is byte-order independent (RFC 1071 §2(B)).
uint32_t ChecksumSum(std::span<const uint8_t> data, uint32_t initial) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint64_t acc = 0;
  while (n >= 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    for (uint64_t x : w) {
      acc += x;
      acc += (acc < x);  // end-around carry
    }
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    acc += x;
    acc += (acc < x);
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  if (n > 0) {
    std::memcpy(&tail, p, n);  // zero padding of an odd byte falls out naturally
    acc += tail;
    acc += (acc < tail);
  }
  // Fold 64 -> 16 bits (native order).
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  uint16_t folded = static_cast<uint16_t>(acc);
  if constexpr (std::endian::native == std::endian::little) {
    folded = static_cast<uint16_t>((folded >> 8) | (folded << 8));
  }
  uint64_t total = uint64_t{initial} + folded;
  while (total >> 32) total = (total & 0xffffffff) + (total >> 32);
  return static_cast<uint32_t>(total);
}

uint32_t PseudoHeaderSum4(Ip4Address src, Ip4Address dst, uint8_t protocol, uint32_t length) {
  uint64_t sum = (src.value() >> 16) + (src.value() & 0xffff) + (dst.value() >> 16) +
                 (dst.value() & 0xffff) + protocol + (length >> 16) + (length & 0xffff);
  while (sum >> 32) sum = (sum & 0xffffffff) + (sum >> 32);
  return static_cast<uint32_t>(sum);
}

uint32_t PseudoHeaderSum6(const Ip6Address& src, const Ip6Address& dst, uint8_t next_header,
                          uint32_t length) {
  uint64_t sum = 0;
  for (size_t i = 0; i < 8; ++i) sum += src.group(i) + dst.group(i);
  sum += (length >> 16) + (length & 0xffff) + next_header;
  while (sum >> 32) sum = (sum & 0xffffffff) + (sum >> 32);
  return static_cast<uint32_t>(sum);
}

}  // namespace pytcp
