// ICMPv4 messages.
//
// To read: RFC 792 (message formats), RFC 1122 §3.2.2 (host requirements: which messages
// to answer, pass up or ignore), RFC 1191 §4 (next-hop MTU in "fragmentation needed"),
// RFC 1812 §4.3.2.3 (how much of the original datagram an error quotes), RFC 4884
// (extension structures; the length octet is exposed raw, not interpreted).
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/net/ip4_address.h"
#include "stack/wire/checksum.h"
#include "stack/wire/icmp_common.h"

namespace pytcp {

// Wire enum: any value may appear; unknown types parse with their raw body.
enum class Icmp4Type : uint8_t {
  kEchoReply = 0,
  kDestinationUnreachable = 3,
  kSourceQuench = 4,
  kRedirect = 5,
  kEchoRequest = 8,
  kRouterAdvertisement = 9,
  kRouterSolicitation = 10,
  kTimeExceeded = 11,
  kParameterProblem = 12,
  kTimestamp = 13,
  kTimestampReply = 14,
};

// RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1.
enum class Icmp4UnreachableCode : uint8_t {
  kNet = 0,
  kHost = 1,
  kProtocol = 2,
  kPort = 3,
  kFragmentationNeeded = 4,
  kSourceRouteFailed = 5,
  kNetUnknown = 6,
  kHostUnknown = 7,
  kSourceHostIsolated = 8,
  kNetProhibited = 9,
  kHostProhibited = 10,
  kNetTos = 11,
  kHostTos = 12,
  kAdminProhibited = 13,
  kHostPrecedence = 14,
  kPrecedenceCutoff = 15,
};

enum class Icmp4TimeExceededCode : uint8_t {
  kTtl = 0,
  kReassembly = 1,
};

PYTCP_NAMED_ENUM(Icmp4ParseError, uint8_t,
  // Integrity.
  kTooShort,             // fewer than the 8-byte header every ICMPv4 message has
  kBadChecksum,          // the checksum over the whole message does not verify
  kTooShortForType,      // an error message without room for the quoted IPv4 header
  // Sanity.
  kBadOriginalDatagram,  // an error message whose quoted datagram is not IPv4
);
constexpr bool IsIntegrityError(Icmp4ParseError e) { return e < Icmp4ParseError::kBadOriginalDatagram; }

inline constexpr size_t kIcmp4HeaderSize = kIcmpHeaderSize;
// Error messages quote at least the original IPv4 header (RFC 792, RFC 1122 §3.2.2).
inline constexpr size_t kIcmp4MinErrorSize = kIcmp4HeaderSize + 20;
// RFC 1812 §4.3.2.3: an error datagram should not exceed 576 bytes, so at most this much of
// the original datagram is quoted behind a 20-byte IPv4 and an 8-byte ICMPv4 header.
inline constexpr size_t kIcmp4MaxQuoteSize = 576 - 20 - kIcmp4HeaderSize;

// RFC 1122 §3.2.2: the five error types (everything else is a query or unknown).
constexpr bool Icmp4IsError(Icmp4Type t) {
  return t == Icmp4Type::kDestinationUnreachable || t == Icmp4Type::kSourceQuench ||
         t == Icmp4Type::kRedirect || t == Icmp4Type::kTimeExceeded ||
         t == Icmp4Type::kParameterProblem;
}

struct Icmp4Header;

class Icmp4View : public IcmpMessageView<Icmp4Type> {
 public:
  // `data` is the IPv4 payload: the whole message, which the checksum covers.
  static Result<Icmp4View, Icmp4ParseError> Parse(ByteSpan data,
                                                  ChecksumPolicy checksum = ChecksumPolicy::kVerify);

  // type(), code(), checksum(), rest_of_header(), message() and the echo fields (RFC 792
  // "Echo or Echo Reply Message"): IcmpMessageView.
  // Everything after the 8-byte header: echo data, the quoted datagram, or an unknown
  // type's raw body.
  ByteSpan body() const { return data_.subspan(kIcmp4HeaderSize); }
  bool is_error() const { return Icmp4IsError(type()); }
  // Destination unreachable, code 4 (RFC 1191 §4): the MTU of the next hop, or 0 from a
  // router that predates RFC 1191.
  uint16_t next_hop_mtu() const {
    assert(type() == Icmp4Type::kDestinationUnreachable);
    return LoadBe16(data_, 6);
  }
  // Parameter problem: the octet of the original header where the error was found.
  uint8_t pointer() const {
    assert(type() == Icmp4Type::kParameterProblem);
    return data_[4];
  }
  // Redirect: the gateway to use.
  Ip4Address gateway() const {
    assert(type() == Icmp4Type::kRedirect);
    return Ip4Address::FromBytes(data_.data() + 4);
  }
  // Error messages: the quoted original datagram (its IPv4 header, which Parse checked to
  // be there and to be version 4, and some of its payload). Possibly truncated: parse it
  // leniently.
  ByteSpan original_datagram() const {
    assert(is_error());
    return body();
  }

  // The 8-byte header as plain values; Emit(out, body()) reproduces the message.
  Icmp4Header ToHeader() const;

 private:
  explicit Icmp4View(ByteSpan data) : IcmpMessageView(data) {}
};

// {type, code, rest_of_header}; EchoRequest(id, seq) and EchoReply(id, seq) as for ICMPv6.
struct Icmp4Header : IcmpHeaderFields<Icmp4Header, Icmp4Type> {
  // RFC 1191 §4: next_hop_mtu only with kFragmentationNeeded.
  static Icmp4Header DestinationUnreachable(Icmp4UnreachableCode code, uint16_t next_hop_mtu = 0) {
    return {Icmp4Type::kDestinationUnreachable, static_cast<uint8_t>(code), next_hop_mtu};
  }
  static Icmp4Header TimeExceeded(Icmp4TimeExceededCode code) {
    return {Icmp4Type::kTimeExceeded, static_cast<uint8_t>(code), 0};
  }
  static Icmp4Header ParameterProblem(uint8_t pointer) {
    return {Icmp4Type::kParameterProblem, 0, uint32_t{pointer} << 24};
  }

  static constexpr size_t header_size() { return kIcmp4HeaderSize; }
  // Writes the 8-byte header into out[0, 8) with the checksum over it and `payload` (echo
  // data or the quoted datagram), which the caller places after the header itself.
  void Emit(MutableByteSpan out, ByteSpan payload) const { EmitWithSum(out, payload, 0); }

  bool operator==(const Icmp4Header&) const = default;
};

// The part of an offending datagram an error message quotes (RFC 1812 §4.3.2.3).
inline ByteSpan Icmp4Quote(ByteSpan original_datagram) {
  return original_datagram.first(std::min(original_datagram.size(), kIcmp4MaxQuoteSize));
}

}  // namespace pytcp
