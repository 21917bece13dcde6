// IPv6 fixed header.
//
// To read: RFC 8200 §3 (header format), §8.1 (upper-layer checksums and the pseudo-header),
// RFC 4291 §2.7 (a multicast address is never a source), RFC 2474 and RFC 3168 (the DSCP
// and ECN halves of the Traffic Class), RFC 6437 (flow label), RFC 2675 (jumbograms, which
// this stack does not support: a zero Payload Length means an empty payload).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/net/ip6_address.h"

namespace pytcp {

// Wire enum: IANA "Assigned Internet Protocol Numbers" as they appear in an IPv6 Next
// Header field (RFC 8200 §4, RFC 7045). Any value may appear.
enum class Ip6NextHeader : uint8_t {
  kHopByHop = 0,
  kTcp = 6,
  kUdp = 17,
  kIp6 = 41,
  kRouting = 43,
  kFragment = 44,
  kEsp = 50,
  kAh = 51,
  kIcmp6 = 58,
  kNoNextHeader = 59,
  kDestinationOptions = 60,
};

PYTCP_NAMED_ENUM(Ip6ParseError, uint8_t,
  // Integrity: is the packet safe to read?
  kTooShort,          // fewer than the 40 bytes of the fixed header
  kBadVersion,        // version != 6
  kBadPayloadLength,  // Payload Length runs past the bytes received
  // Sanity: does it follow the RFC rules?
  kMulticastSource,  // RFC 4291 §2.7: multicast addresses must not be used as a source
);
constexpr bool IsIntegrityError(Ip6ParseError e) { return e < Ip6ParseError::kMulticastSource; }

inline constexpr size_t kIp6HeaderSize = 40;
inline constexpr size_t kIp6MaxPayloadSize = 65535;
// RFC 8200 §5: every link carries at least this; ICMPv6 errors are cut to fit it.
inline constexpr size_t kIp6MinMtu = 1280;

struct Ip6Header;

class Ip6View {
 public:
  // `data` is the link payload. Bytes after 40 + Payload Length (Ethernet padding) are
  // excluded from payload() and packet().
  static Result<Ip6View, Ip6ParseError> Parse(ByteSpan data);

  uint8_t version() const { return data_[0] >> 4; }
  uint8_t traffic_class() const { return static_cast<uint8_t>((LoadBe16(data_, 0) >> 4) & 0xff); }
  uint8_t dscp() const { return traffic_class() >> 2; }
  uint8_t ecn() const { return traffic_class() & 0x03; }
  uint32_t flow_label() const { return LoadBe32(data_, 0) & 0xfffffu; }
  uint16_t payload_length() const { return LoadBe16(data_, 4); }
  Ip6NextHeader next_header() const { return static_cast<Ip6NextHeader>(data_[6]); }
  uint8_t hop_limit() const { return data_[7]; }
  Ip6Address src() const { return Ip6Address::FromBytes(data_.data() + 8); }
  Ip6Address dst() const { return Ip6Address::FromBytes(data_.data() + 24); }

  ByteSpan header() const { return data_.first(kIp6HeaderSize); }
  // Extension headers and upper-layer data: exactly Payload Length bytes.
  ByteSpan payload() const { return data_.subspan(kIp6HeaderSize); }
  // Header + payload, without link padding.
  ByteSpan packet() const { return data_; }

  // RFC 8200 §8.1 pseudo-header partial sum for an upper-layer message of `upper_length`
  // bytes carried in this packet (after any extension headers). With a Routing header the
  // pseudo-header uses the final destination, which only the caller knows.
  uint32_t PseudoHeaderSum(Ip6NextHeader upper, size_t upper_length) const;

  Ip6Header ToHeader() const;

 private:
  explicit Ip6View(ByteSpan data) : data_(data) {}
  ByteSpan data_;  // exactly 40 + payload_length bytes
};

struct Ip6Header {
  Ip6Address src;
  Ip6Address dst;
  Ip6NextHeader next_header = Ip6NextHeader::kUdp;
  uint8_t hop_limit = 64;
  uint8_t dscp = 0;         // 6 bits
  uint8_t ecn = 0;          // 2 bits
  uint32_t flow_label = 0;  // 20 bits

  static constexpr size_t header_size() { return kIp6HeaderSize; }
  // Writes the fixed header into out[0, 40) with Payload Length = payload_size (extension
  // headers included), which must fit 16 bits.
  void Emit(MutableByteSpan out, size_t payload_size) const;

  bool operator==(const Ip6Header&) const = default;
};

}  // namespace pytcp
