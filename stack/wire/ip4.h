// IPv4 headers.
//
// To read: RFC 791 §3.1 (header format), RFC 1122 §3.2.1 (what a host checks on receive),
// RFC 2474 and RFC 3168 (the DSCP and ECN fields that replaced Type of Service), RFC 6864
// (the Identification field), RFC 894 (Ethernet padding after the datagram).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/net/ip4_address.h"
#include "stack/wire/checksum.h"
#include "stack/wire/ip4_options.h"

namespace pytcp {

// Wire enum: IANA "Assigned Internet Protocol Numbers", shared by the IPv4 protocol field
// and the IPv6 next-header field. Any value may appear.
enum class IpProto : uint8_t {
  kIp6HopByHop = 0,
  kIcmp4 = 1,
  kIgmp = 2,
  kTcp = 6,
  kUdp = 17,
  kIp6 = 41,
  kIp6Routing = 43,
  kIp6Fragment = 44,
  kIcmp6 = 58,
  kIp6NoNext = 59,
  kIp6DestOpts = 60,
};

PYTCP_NAMED_ENUM(Ip4ParseError, uint8_t,
  // Integrity: is the datagram safe to read?
  kTooShort,          // fewer than 20 bytes
  kBadVersion,        // version != 4
  kBadHeaderLength,   // IHL < 5 or the header runs past the buffer
  kBadTotalLength,    // total length < header length or > the bytes received
  kBadChecksum,       // header checksum does not verify
  kOptionBadLength,   // an option length byte below 2
  kOptionOverrun,     // an option running past the header
  // Sanity: does it follow the RFC rules?
  kReservedFlag,      // the reserved flag bit is set
  kBadSource,         // multicast or limited-broadcast source address
  kFragmentTooLong,   // fragment offset + payload beyond 65535 bytes
);
constexpr bool IsIntegrityError(Ip4ParseError e) { return e < Ip4ParseError::kReservedFlag; }

inline constexpr size_t kIp4MinHeaderSize = 20;
inline constexpr size_t kIp4MaxHeaderSize = 60;
inline constexpr size_t kIp4MaxDatagramSize = 65535;

struct Ip4Header;

class Ip4View {
 public:
  // `data` is the link payload; bytes after total_length (Ethernet padding) are excluded
  // from payload(). With ChecksumPolicy::kSkip the header checksum is not verified.
  static Result<Ip4View, Ip4ParseError> Parse(ByteSpan data,
                                              ChecksumPolicy checksum = ChecksumPolicy::kVerify);

  size_t header_size() const { return static_cast<size_t>(data_[0] & 0x0f) * 4; }
  uint8_t dscp() const { return data_[1] >> 2; }
  uint8_t ecn() const { return data_[1] & 0x03; }
  uint16_t total_length() const { return LoadBe16(data_, 2); }
  uint16_t id() const { return LoadBe16(data_, 4); }
  bool dont_fragment() const { return (data_[6] & 0x40) != 0; }
  bool more_fragments() const { return (data_[6] & 0x20) != 0; }
  // In bytes (the wire field counts 8-byte units).
  uint32_t fragment_offset() const { return uint32_t{LoadBe16(data_, 6) & 0x1fffu} * 8; }
  // RFC 791 §3.2: a datagram is a fragment unless it is both first (offset 0) and last (!MF).
  bool is_fragment() const { return more_fragments() || fragment_offset() != 0; }
  uint8_t ttl() const { return data_[8]; }
  IpProto protocol() const { return static_cast<IpProto>(data_[9]); }
  uint16_t checksum() const { return LoadBe16(data_, 10); }
  Ip4Address src() const { return Ip4Address::FromBytes(data_.data() + 12); }
  Ip4Address dst() const { return Ip4Address::FromBytes(data_.data() + 16); }
  // Validated at Parse; iterate with a range-for.
  Ip4OptionsView options() const;

  ByteSpan header() const { return data_.first(header_size()); }
  ByteSpan payload() const { return data_.subspan(header_size(), total_length() - header_size()); }
  // The datagram (header + payload), without link padding.
  ByteSpan datagram() const { return data_.first(total_length()); }

  // The TCP/UDP pseudo-header partial sum (RFC 9293 §3.1, RFC 768) for this datagram's
  // addresses, protocol and payload length.
  uint32_t pseudo_header_sum() const;

  // The header as plain values; its `options` span points into this view's buffer.
  Ip4Header ToHeader() const;

 private:
  explicit Ip4View(ByteSpan data) : data_(data) {}
  ByteSpan data_;  // exactly total_length bytes
};

struct Ip4Header {
  Ip4Address src;
  Ip4Address dst;
  IpProto protocol = IpProto::kUdp;
  uint8_t ttl = 64;
  uint8_t dscp = 0;  // 6 bits
  uint8_t ecn = 0;   // 2 bits
  uint16_t id = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint32_t fragment_offset = 0;  // bytes; a multiple of 8, below 65536
  // Encoded options (see Ip4OptionsBuilder), at most 40 bytes; Emit pads them with EOL to
  // a multiple of 4 (RFC 791 §3.1 "the internet header padding").
  ByteSpan options;

  size_t header_size() const { return kIp4MinHeaderSize + ((options.size() + 3) & ~size_t{3}); }
  // Writes the header into out[0, header_size()) with total length header_size() +
  // payload_size and the header checksum computed.
  void Emit(MutableByteSpan out, size_t payload_size) const;
};

}  // namespace pytcp
