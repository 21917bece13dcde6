// What IGMPv3 and MLDv2 share on the wire (MLDv2, RFC 3810, is IGMPv3, RFC 3376, for IPv6).
#pragma once

#include <cstdint>

namespace pytcp {

// The multicast address record types of their reports: RFC 3810 §5.2.12 takes RFC 3376
// §4.2.12's six values unchanged (IgmpRecordType and MldRecordType name this enum). Wire
// enum: unknown record types are ignored by receivers.
enum class GroupRecordType : uint8_t {
  kModeIsInclude = 1,
  kModeIsExclude = 2,
  kChangeToInclude = 3,
  kChangeToExclude = 4,
  kAllowNewSources = 5,
  kBlockOldSources = 6,
};

// The floating-point codes they carry times in (RFC 3376 §4.1.1 and §4.1.7, RFC 3810
// §5.1.3 and §5.1.9): one form with a mantissa of M bits. A code below 1 << (M + 3) is the
// value itself; above, 1|exp (3 bits)|mant (M bits) stands for (mant | 1 << M) << (exp + 3).
// IGMP's Max Resp Code and QQIC and MLD's QQIC are one byte (M = 4), MLD's Maximum
// Response Code two (M = 12).
template <unsigned kMantBits>
constexpr uint32_t DecodeFloatCode(uint32_t code) {
  constexpr uint32_t kFloatFlag = 1u << (kMantBits + 3);
  if (code < kFloatFlag) return code;
  const uint32_t exp = (code >> kMantBits) & 0x7;
  const uint32_t mant = code & ((1u << kMantBits) - 1);
  return (mant | (1u << kMantBits)) << (exp + 3);
}

// The inverse, rounding down to a representable value; a value above the largest one
// saturates (all bits set).
template <unsigned kMantBits>
constexpr uint32_t EncodeFloatCode(uint32_t value) {
  constexpr uint32_t kFloatFlag = 1u << (kMantBits + 3);
  if (value < kFloatFlag) return value;
  // The exponent that puts the mantissa's hidden bit at 1 << M.
  for (uint32_t exp = 0; exp < 8; ++exp) {
    const uint32_t m = value >> (exp + 3);
    if (m < (2u << kMantBits)) {
      return kFloatFlag | (exp << kMantBits) | (m & ((1u << kMantBits) - 1));
    }
  }
  return (kFloatFlag << 1) - 1;
}

}  // namespace pytcp
