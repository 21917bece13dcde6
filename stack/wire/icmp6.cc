#include "stack/wire/icmp6.h"

#include "stack/wire/icmp6_mld.h"
#include "stack/wire/icmp6_nd.h"

namespace pytcp {

Result<Icmp6View, Icmp6ParseError> Icmp6View::Parse(ByteSpan data, uint32_t pseudo_sum,
                                                    ChecksumPolicy checksum) {
  // Integrity checks, each making the next read safe.
  if (data.size() < 4) return Err{Icmp6ParseError::kTooShort};
  // RFC 4443 §2.3: the checksum covers the pseudo-header and the whole message; unlike
  // UDP over IPv4 it is mandatory, so a zero field is just a wrong checksum.
  if (checksum == ChecksumPolicy::kVerify && ChecksumFold(ChecksumSum(data, pseudo_sum)) != 0) {
    return Err{Icmp6ParseError::kBadChecksum};
  }
  switch (static_cast<Icmp6Type>(data[0])) {
    case Icmp6Type::kDestinationUnreachable:
    case Icmp6Type::kPacketTooBig:
    case Icmp6Type::kTimeExceeded:
    case Icmp6Type::kParameterProblem:
      // RFC 4443 §2.4 (c): an error carries as much of the invoking packet as fits. The
      // engine needs at least its IPv6 header to find the flow the error is about, and
      // Linux's icmpv6_notify drops errors without one as well.
      if (data.size() < kIcmp6MinErrorSize) return Err{Icmp6ParseError::kTooShortForType};
      if ((data[kIcmp6HeaderSize] >> 4) != 6) return Err{Icmp6ParseError::kBadInvokingPacket};
      break;
    case Icmp6Type::kEchoRequest:
    case Icmp6Type::kEchoReply:
      // RFC 4443 §4.1/§4.2: identifier and sequence number. The code is "0" but receivers
      // are not told to check it, and Linux does not.
      if (data.size() < kIcmp6HeaderSize) return Err{Icmp6ParseError::kTooShortForType};
      break;
    case Icmp6Type::kRouterSolicitation:
    case Icmp6Type::kRouterAdvertisement:
    case Icmp6Type::kNeighborSolicitation:
    case Icmp6Type::kNeighborAdvertisement:
    case Icmp6Type::kRedirect:
      if (auto e = icmp6_internal::CheckNd(data)) return Err{*e};
      break;
    case Icmp6Type::kMldQuery:
    case Icmp6Type::kMldV1Report:
    case Icmp6Type::kMldV1Done:
    case Icmp6Type::kMldV2Report:
      if (auto e = icmp6_internal::CheckMld(data)) return Err{*e};
      break;
    default:
      // RFC 4443 §2.4 (a)/(b): unknown types are passed up or discarded by the engine.
      break;
  }
  return Icmp6View(data);
}

Icmp6Header Icmp6View::ToHeader() const {
  return Icmp6Header{type(), code(), data_.size() >= kIcmp6HeaderSize ? rest_of_header() : 0};
}

void Icmp6FillChecksum(MutableByteSpan message, uint32_t pseudo_sum) {
  assert(message.size() >= 4);
  message[2] = 0;
  message[3] = 0;
  StoreBe16(message.data() + 2, ChecksumFold(ChecksumSum(message, pseudo_sum)));
}

}  // namespace pytcp
