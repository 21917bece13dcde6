// ICMPv6 messages: the common header and checksum, echo, and the four error messages. The
// Neighbor Discovery messages are in icmp6_nd.h and the MLD messages in icmp6_mld.h;
// Icmp6View::Parse validates all of them, so their views can be taken from a parsed message.
//
// To read: RFC 4443 §2 (message format, §2.3 checksum over the RFC 8200 §8.1 pseudo-header,
// §2.4 message processing rules), §3 (errors: Destination Unreachable, Packet Too Big, Time
// Exceeded, Parameter Problem), §4 (echo); RFC 4884 (extension structures are exposed raw as
// part of the invoking packet).
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/net/ip6_address.h"
#include "stack/wire/checksum.h"
#include "stack/wire/icmp_common.h"

namespace pytcp {

// Wire enum: IANA "ICMPv6 Parameters". Any value may appear.
enum class Icmp6Type : uint8_t {
  kDestinationUnreachable = 1,
  kPacketTooBig = 2,
  kTimeExceeded = 3,
  kParameterProblem = 4,
  kEchoRequest = 128,
  kEchoReply = 129,
  kMldQuery = 130,            // RFC 2710 §3 / RFC 3810 §5.1
  kMldV1Report = 131,         // RFC 2710 §3
  kMldV1Done = 132,           // RFC 2710 §3
  kRouterSolicitation = 133,  // RFC 4861 §4.1
  kRouterAdvertisement = 134,
  kNeighborSolicitation = 135,
  kNeighborAdvertisement = 136,
  kRedirect = 137,
  kMldV2Report = 143,  // RFC 3810 §5.2
};

// RFC 4443 §3.1, RFC 8754 §4.3.1.2 (code 7).
enum class Icmp6UnreachableCode : uint8_t {
  kNoRoute = 0,
  kAdminProhibited = 1,
  kBeyondScope = 2,
  kAddress = 3,
  kPort = 4,
  kSourcePolicy = 5,
  kRejectRoute = 6,
  kSourceRoutingHeader = 7,
};

// RFC 4443 §3.3.
enum class Icmp6TimeExceededCode : uint8_t {
  kHopLimit = 0,
  kReassembly = 1,
};

// RFC 4443 §3.4, RFC 7112 §3 (code 3).
enum class Icmp6ParamProblemCode : uint8_t {
  kHeaderField = 0,
  kNextHeader = 1,
  kOption = 2,
  kIncompleteChain = 3,
};

PYTCP_NAMED_ENUM(Icmp6ParseError, uint8_t,
  // Integrity: is the message safe to read?
  kTooShort,            // fewer than the 4-byte common header
  kBadChecksum,         // the checksum over pseudo-header + message does not verify
  kTooShortForType,     // shorter than the fixed part of its type (RFC 3810 §8.1: also a
                        // query of 25..27 bytes, neither MLDv1 nor MLDv2)
  kNdOptionTruncated,   // an ND option header or body runs past the message
  kNdOptionZeroLength,  // RFC 4861 §4.6: an ND option with length 0
  kMldSourcesOverrun,   // an MLDv2 query's Number of Sources runs past the message
  kMldRecordsOverrun,   // an MLDv2 report's records (count, sources, aux data) run past it
  // Sanity: does it follow the RFC rules?
  kBadInvokingPacket,       // an error message whose invoking packet is not IPv6
  kNdBadCode,               // RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1: ND code must be 0
  kNdBadOptionLength,       // a known ND option with a length its RFC forbids
  kNdBadPrefixLength,       // a Prefix Information option with prefix length > 128
  kNdMulticastTarget,       // RFC 4861 §7.1.1/§7.1.2: NS/NA target is multicast
  kNdMulticastDestination,  // RFC 4861 §8.1: Redirect destination is multicast
  kNdBadRedirectTarget,     // RFC 4861 §8.1: target neither link-local nor the destination
  kMldBadGroup,             // a query group neither :: nor multicast; an MLDv1 report/done
                            // group that is not multicast
  kMldSourcesInGeneralQuery,  // RFC 3810 §5.1.10: a general query lists no sources
);
constexpr bool IsIntegrityError(Icmp6ParseError e) {
  return e < Icmp6ParseError::kBadInvokingPacket;
}

inline constexpr size_t kIcmp6HeaderSize = kIcmpHeaderSize;
inline constexpr size_t kIcmp6MinErrorSize = kIcmp6HeaderSize + 40;
// RFC 4443 §2.4 (c): an error message must not make its packet exceed the minimum MTU
// (1280), so at most this much of the invoking packet fits behind 40 + 8 header bytes.
inline constexpr size_t kIcmp6MaxInvokingSize = 1280 - 40 - kIcmp6HeaderSize;

// RFC 4443 §2.1: types 0..127 are errors, 128..255 informational.
constexpr bool Icmp6IsError(Icmp6Type t) { return static_cast<uint8_t>(t) < 128; }

// RFC 4443 §2.3: the pseudo-header partial sum for a message of `length` bytes.
inline uint32_t Icmp6PseudoHeaderSum(const Ip6Address& src, const Ip6Address& dst, size_t length) {
  return PseudoHeaderSum6(src, dst, 58, static_cast<uint32_t>(length));
}

struct Icmp6Header;

class Icmp6View : public IcmpMessageView<Icmp6Type> {
 public:
  // `data` is the whole message (the upper-layer payload after any extension headers);
  // `pseudo_sum` is Icmp6PseudoHeaderSum(src, dst, data.size()). Validates the common
  // header, the checksum and then every type this stack knows (errors, echo, ND, MLD);
  // unknown types are accepted with their raw body.
  static Result<Icmp6View, Icmp6ParseError> Parse(
      ByteSpan data, uint32_t pseudo_sum, ChecksumPolicy checksum = ChecksumPolicy::kVerify);

  // type(), code(), checksum(), rest_of_header() (every known type has bytes 4..7),
  // message() and the echo fields (RFC 4443 §4): IcmpMessageView.
  // Everything after the 4-byte common header.
  ByteSpan body() const { return data_.subspan(4); }
  bool is_error() const { return Icmp6IsError(type()); }
  // Packet Too Big (RFC 4443 §3.2): the next-hop MTU.
  uint32_t mtu() const {
    assert(type() == Icmp6Type::kPacketTooBig);
    return LoadBe32(data_, 4);
  }
  // Parameter Problem (RFC 4443 §3.4): offset of the error in the invoking packet.
  uint32_t pointer() const {
    assert(type() == Icmp6Type::kParameterProblem);
    return LoadBe32(data_, 4);
  }
  // Error messages: as much of the invoking packet as fitted, starting with its IPv6
  // header (checked to be there). Possibly truncated: parse it leniently.
  ByteSpan invoking_packet() const {
    assert(is_error());
    return data_.subspan(kIcmp6HeaderSize);
  }

  // The 8-byte header as plain values; Emit(out, message().subspan(8), sum) reproduces
  // echo and error messages.
  Icmp6Header ToHeader() const;

 private:
  explicit Icmp6View(ByteSpan data) : IcmpMessageView(data) {}
};

// Echo and error messages: an 8-byte header and a payload the caller places after it.
// {type, code, rest_of_header}; EchoRequest(id, seq) and EchoReply(id, seq) as for ICMPv4.
struct Icmp6Header : IcmpHeaderFields<Icmp6Header, Icmp6Type> {
  static Icmp6Header DestinationUnreachable(Icmp6UnreachableCode code) {
    return {Icmp6Type::kDestinationUnreachable, static_cast<uint8_t>(code), 0};
  }
  static Icmp6Header PacketTooBig(uint32_t mtu) { return {Icmp6Type::kPacketTooBig, 0, mtu}; }
  static Icmp6Header TimeExceeded(Icmp6TimeExceededCode code) {
    return {Icmp6Type::kTimeExceeded, static_cast<uint8_t>(code), 0};
  }
  static Icmp6Header ParameterProblem(Icmp6ParamProblemCode code, uint32_t pointer) {
    return {Icmp6Type::kParameterProblem, static_cast<uint8_t>(code), pointer};
  }

  static constexpr size_t header_size() { return kIcmp6HeaderSize; }
  // Writes the header into out[0, 8) with the checksum over the pseudo-header (`pseudo_sum`
  // = Icmp6PseudoHeaderSum(src, dst, 8 + payload.size())), the header and `payload` (echo
  // data or the invoking packet), which the caller places after the header itself.
  void Emit(MutableByteSpan out, ByteSpan payload, uint32_t pseudo_sum) const {
    EmitWithSum(out, payload, pseudo_sum);
  }

  bool operator==(const Icmp6Header&) const = default;
};

// The part of an invoking packet an error message quotes (RFC 4443 §2.4 (c)).
inline ByteSpan Icmp6Quote(ByteSpan invoking_packet) {
  return invoking_packet.first(std::min(invoking_packet.size(), kIcmp6MaxInvokingSize));
}

// Fills in the checksum field (bytes 2..3) of a complete message in `message`.
void Icmp6FillChecksum(MutableByteSpan message, uint32_t pseudo_sum);

}  // namespace pytcp
