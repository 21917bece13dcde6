// Sending one ICMPv6 message that the stack itself makes (ND, MLD): the message is written
// into a fresh buffer with its checksum over the pseudo-header of `params`' addresses
// (RFC 4443 §2.3) and handed to the IP layer.
#pragma once

#include "stack/base/clock.h"
#include "stack/base/packet_buffer.h"
#include "stack/ip6/ip6_engine.h"
#include "stack/wire/icmp6.h"

namespace pytcp {

// `Message` has size() and Emit(out, pseudo_sum) (stack/wire/icmp6_nd.h, icmp6_mld.h).
// `params` says everything but the protocol, which is ICMPv6. True when the IP layer took it.
template <typename Message>
bool SendIcmp6Message(Ip6Engine& ip6, const Message& m, Ip6SendParams params, Instant now) {
  PacketBuffer buf(m.size() + 64, 128);
  m.Emit(buf.Append(m.size()), Icmp6PseudoHeaderSum(params.src, params.dst, m.size()));
  params.next_header = static_cast<uint8_t>(Ip6NextHeader::kIcmp6);
  return ip6.Send(params, buf, now).ok();
}

}  // namespace pytcp
