// Helpers shared by the IPv6, ICMPv6, DHCPv4 and DNS wire tests.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/net/ip4_address.h"
#include "stack/net/ip6_address.h"
#include "stack/net/mac_address.h"
#include "stack/wire/checksum.h"
#include "stack/wire/icmp6.h"
#include "stack/wire/ip6.h"
#include "stack/wire/ip6_ext.h"

namespace pytcp::wire_testing {

using Bytes = std::vector<uint8_t>;

inline Ip6Address A6(std::string_view text) { return Ip6Address::Parse(text).value(); }
inline Ip4Address A4(std::string_view text) { return Ip4Address::Parse(text).value(); }
inline MacAddress Mac(std::string_view text) { return MacAddress::Parse(text).value(); }

template <size_t N>
Bytes ToBytes(const uint8_t (&a)[N]) {
  return Bytes(a, a + N);
}
inline Bytes Concat(std::initializer_list<ByteSpan> parts) {
  Bytes out;
  for (ByteSpan p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The ICMPv6 message of an IPv6 packet (after its extension headers) and the pseudo-header
// sum that goes with it.
struct IcmpInPacket {
  ByteSpan message;
  uint32_t pseudo_sum;
};
inline IcmpInPacket IcmpOf(ByteSpan packet) {
  auto ip = Ip6View::Parse(packet);
  auto chain = Ip6ExtChain::Parse(*ip);
  const ByteSpan m = chain->upper_payload();
  return {m, Icmp6PseudoHeaderSum(ip->src(), ip->dst(), m.size())};
}
inline Result<Icmp6View, Icmp6ParseError> ParseIcmp(ByteSpan packet) {
  const IcmpInPacket p = IcmpOf(packet);
  return Icmp6View::Parse(p.message, p.pseudo_sum);
}

// Recomputes the checksum of an ICMPv6 message held in `message` for src/dst.
inline void FixIcmpChecksum(Bytes& message, const Ip6Address& src, const Ip6Address& dst) {
  Icmp6FillChecksum(message, Icmp6PseudoHeaderSum(src, dst, message.size()));
}

}  // namespace pytcp::wire_testing
