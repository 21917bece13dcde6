#include "stack/wire/icmp4.h"

namespace pytcp {

Result<Icmp4View, Icmp4ParseError> Icmp4View::Parse(ByteSpan data, ChecksumPolicy checksum) {
  // Integrity. Every ICMPv4 message starts with type, code, checksum and four type-specific
  // octets (RFC 792); Linux's icmp_rcv likewise drops anything shorter than 8 bytes.
  if (data.size() < kIcmp4HeaderSize) return Err{Icmp4ParseError::kTooShort};
  // RFC 792: the checksum covers the whole ICMP message, starting with the type.
  if (checksum == ChecksumPolicy::kVerify && InternetChecksum(data) != 0) {
    return Err{Icmp4ParseError::kBadChecksum};
  }
  const auto type = static_cast<Icmp4Type>(data[0]);
  if (Icmp4IsError(type)) {
    // RFC 792 / RFC 1122 §3.2.2: an error quotes the original IPv4 header (and at least
    // 8 octets of its data, unless the datagram had fewer): without the header the error
    // cannot be matched to anything.
    if (data.size() < kIcmp4MinErrorSize) return Err{Icmp4ParseError::kTooShortForType};
    // Sanity: the quote must be an IPv4 header to be demultiplexed.
    if ((data[kIcmp4HeaderSize] >> 4) != 4) return Err{Icmp4ParseError::kBadOriginalDatagram};
  }
  return Icmp4View(data);
}

Icmp4Header Icmp4View::ToHeader() const { return {type(), code(), rest_of_header()}; }

}  // namespace pytcp
