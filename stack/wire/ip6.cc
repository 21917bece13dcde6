#include "stack/wire/ip6.h"

#include <cassert>

#include "stack/wire/checksum.h"

namespace pytcp {

Result<Ip6View, Ip6ParseError> Ip6View::Parse(ByteSpan data) {
  // Integrity checks, each making the next read safe.
  if (data.size() < kIp6HeaderSize) return Err{Ip6ParseError::kTooShort};
  if ((data[0] >> 4) != 6) return Err{Ip6ParseError::kBadVersion};
  // RFC 8200 §3: Payload Length counts everything after the fixed header. Bytes beyond it
  // are link padding (a 60-byte minimum Ethernet frame); fewer bytes mean truncation.
  const size_t payload_length = LoadBe16(data, 4);
  if (kIp6HeaderSize + payload_length > data.size()) return Err{Ip6ParseError::kBadPayloadLength};

  // Sanity checks.
  // RFC 4291 §2.7: "Multicast addresses must not be used as source addresses in IPv6
  // packets"; Linux drops these in ip6_rcv_core as well.
  if (data[8] == 0xff) return Err{Ip6ParseError::kMulticastSource};
  return Ip6View(data.first(kIp6HeaderSize + payload_length));
}

uint32_t Ip6View::PseudoHeaderSum(Ip6NextHeader upper, size_t upper_length) const {
  return PseudoHeaderSum6(src(), dst(), static_cast<uint8_t>(upper),
                          static_cast<uint32_t>(upper_length));
}

Ip6Header Ip6View::ToHeader() const {
  Ip6Header h;
  h.src = src();
  h.dst = dst();
  h.next_header = next_header();
  h.hop_limit = hop_limit();
  h.dscp = dscp();
  h.ecn = ecn();
  h.flow_label = flow_label();
  return h;
}

void Ip6Header::Emit(MutableByteSpan out, size_t payload_size) const {
  assert(out.size() >= kIp6HeaderSize);
  assert(payload_size <= kIp6MaxPayloadSize);
  assert(dscp < 64 && ecn < 4 && flow_label < (1u << 20));
  const uint32_t traffic_class = (uint32_t{dscp} << 2) | (ecn & 0x03u);
  StoreBe32(out.data(), (6u << 28) | (traffic_class << 20) | (flow_label & 0xfffffu));
  StoreBe16(out.data() + 4, static_cast<uint16_t>(payload_size));
  out[6] = static_cast<uint8_t>(next_header);
  out[7] = hop_limit;
  src.CopyTo(out.data() + 8);
  dst.CopyTo(out.data() + 24);
}

}  // namespace pytcp
