#include "stack/wire/ip4.h"

#include <cassert>

namespace pytcp {

Result<Ip4View, Ip4ParseError> Ip4View::Parse(ByteSpan data, ChecksumPolicy checksum) {
  // Integrity checks, each making the next read safe.
  if (data.size() < kIp4MinHeaderSize) return Err{Ip4ParseError::kTooShort};
  if ((data[0] >> 4) != 4) return Err{Ip4ParseError::kBadVersion};
  // RFC 791 §3.1: IHL counts 32-bit words and is at least 5.
  const size_t header_size = static_cast<size_t>(data[0] & 0x0f) * 4;
  if (header_size < kIp4MinHeaderSize || header_size > data.size()) {
    return Err{Ip4ParseError::kBadHeaderLength};
  }
  // The total length bounds the datagram; anything after it is link padding (RFC 894),
  // anything missing means a truncated datagram.
  const size_t total_length = LoadBe16(data, 2);
  if (total_length < header_size || total_length > data.size()) {
    return Err{Ip4ParseError::kBadTotalLength};
  }
  const ByteSpan header = data.first(header_size);
  // RFC 1122 §3.2.1.2: a host MUST verify the header checksum and silently discard on
  // failure.
  if (checksum == ChecksumPolicy::kVerify && InternetChecksum(header) != 0) {
    return Err{Ip4ParseError::kBadChecksum};
  }
  auto options = Ip4OptionsView::Parse(header.subspan(kIp4MinHeaderSize));
  if (!options.ok()) {
    return Err{options.error() == Ip4OptionError::kOptionBadLength ? Ip4ParseError::kOptionBadLength
                                                                   : Ip4ParseError::kOptionOverrun};
  }

  // Sanity checks.
  // RFC 791 §3.1: bit 0 of the flags is reserved and must be zero.
  if ((data[6] & 0x80) != 0) return Err{Ip4ParseError::kReservedFlag};
  // RFC 1122 §3.2.1.3: a multicast or broadcast address is never a valid source; a host
  // SHOULD silently discard such datagrams.
  const Ip4Address src = Ip4Address::FromBytes(data.data() + 12);
  if (src.is_multicast() || src.is_limited_broadcast()) return Err{Ip4ParseError::kBadSource};
  // RFC 791 §3.2: a datagram is at most 65535 bytes; a fragment reaching past that could
  // only be reassembled into an oversized datagram (the "ping of death"). The bound uses
  // this fragment's header, as Linux's ip_frag_queue does.
  const size_t offset = size_t{LoadBe16(data, 6) & 0x1fffu} * 8;
  if (offset + total_length > kIp4MaxDatagramSize) {
    return Err{Ip4ParseError::kFragmentTooLong};
  }
  return Ip4View(data.first(total_length));
}

Ip4OptionsView Ip4View::options() const {
  // Parse succeeded on these bytes already, so this cannot fail.
  auto o = Ip4OptionsView::Parse(header().subspan(kIp4MinHeaderSize));
  assert(o.ok());
  return o.ok() ? *o : Ip4OptionsView();
}

uint32_t Ip4View::pseudo_header_sum() const {
  return PseudoHeaderSum4(src(), dst(), static_cast<uint8_t>(protocol()),
                          static_cast<uint32_t>(total_length() - header_size()));
}

Ip4Header Ip4View::ToHeader() const {
  Ip4Header h;
  h.src = src();
  h.dst = dst();
  h.protocol = protocol();
  h.ttl = ttl();
  h.dscp = dscp();
  h.ecn = ecn();
  h.id = id();
  h.dont_fragment = dont_fragment();
  h.more_fragments = more_fragments();
  h.fragment_offset = fragment_offset();
  h.options = header().subspan(kIp4MinHeaderSize);
  return h;
}

void Ip4Header::Emit(MutableByteSpan out, size_t payload_size) const {
  const size_t hs = header_size();
  assert(options.size() <= kIp4MaxOptionsSize);
  assert(out.size() >= hs);
  assert(hs + payload_size <= kIp4MaxDatagramSize);
  assert(fragment_offset % 8 == 0 && fragment_offset / 8 <= 0x1fff);
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(0x40 | (hs / 4));
  p[1] = static_cast<uint8_t>((dscp << 2) | (ecn & 0x03));
  StoreBe16(p + 2, static_cast<uint16_t>(hs + payload_size));
  StoreBe16(p + 4, id);
  StoreBe16(p + 6, static_cast<uint16_t>((dont_fragment ? 0x4000 : 0) | (more_fragments ? 0x2000 : 0) |
                                         ((fragment_offset / 8) & 0x1fff)));
  p[8] = ttl;
  p[9] = static_cast<uint8_t>(protocol);
  StoreBe16(p + 10, 0);
  src.CopyTo(p + 12);
  dst.CopyTo(p + 16);
  size_t i = kIp4MinHeaderSize;
  for (uint8_t b : options) p[i++] = b;
  while (i < hs) p[i++] = static_cast<uint8_t>(Ip4OptionType::kEol);
  StoreBe16(p + 10, InternetChecksum(ByteSpan(p, hs)));
}

}  // namespace pytcp
