// libFuzzer target: arbitrary bytes as an IPv6 packet. On success every accessor is read,
// the header is re-emitted (it must reproduce the bytes), and the packet is followed through
// its extension headers into ICMPv6 when that is the upper layer.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "stack/wire/icmp6.h"
#include "stack/wire/ip6.h"
#include "stack/wire/ip6_ext.h"

using namespace pytcp;  // NOLINT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto ip = Ip6View::Parse(ByteSpan(data, size));
  if (!ip.ok()) return 0;
  volatile uint64_t sink = 0;
  sink = sink + ip->version() + ip->traffic_class() + ip->dscp() + ip->ecn() + ip->flow_label() +
         ip->payload_length() + static_cast<uint8_t>(ip->next_header()) + ip->hop_limit() +
         ip->src().bytes()[15] + ip->dst().bytes()[0] + ip->header().size() + ip->payload().size() +
         ip->packet().size();
  if (ip->packet().size() != kIp6HeaderSize + ip->payload_length()) __builtin_trap();
  uint8_t out[kIp6HeaderSize];
  ip->ToHeader().Emit(out, ip->payload_length());
  if (std::memcmp(out, data, kIp6HeaderSize) != 0) __builtin_trap();

  auto chain = Ip6ExtChain::Parse(*ip);
  if (!chain.ok()) return 0;
  if (chain->upper_protocol() == Ip6NextHeader::kIcmp6 && !chain->fragment()) {
    const ByteSpan m = chain->upper_payload();
    auto icmp = Icmp6View::Parse(m, ip->PseudoHeaderSum(Ip6NextHeader::kIcmp6, m.size()));
    if (icmp.ok()) sink = sink + icmp->code();
  }
  return 0;
}
