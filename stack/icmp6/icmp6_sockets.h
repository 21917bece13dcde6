// The protocol side of ICMPv6 sockets, as Linux has them: "ping sockets" (SOCK_DGRAM,
// IPPROTO_ICMPV6; the echo identifier is the socket's local "port") and raw sockets
// (SOCK_RAW, IPPROTO_ICMPV6; every ICMPv6 message, without the IPv6 header, as RFC 3542
// §3 says raw IPv6 sockets read).
//
// RFCs to read: RFC 4443 §4 (echo: identifier and sequence number), §2.4 (d) (errors go to
// the process that sent the offending packet), §2.3 (the checksum covers a pseudo-header,
// so the stack computes it: RFC 3542 §3.1, the kernel computes ICMPv6 checksums of raw
// sockets), RFC 3542 §3.2 (ICMP6_FILTER), RFC 6056 (identifiers picked like ports).
// Linux: net/ipv6/ping.c, net/ipv6/raw.c.
//
// The table hooks the Icmp6Engine's listeners: echo replies go to the ping socket bound to
// their identifier; errors about an echo request we sent go to that ping socket; a copy of
// every message (ND and MLD included) and of every error about an ICMPv6 message goes to
// every raw endpoint. Echo requests are still answered by the engine, as the kernel does.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/packet_buffer.h"
#include "stack/base/random.h"
#include "stack/base/result.h"
#include "stack/icmp6/icmp6_engine.h"
#include "stack/ip6/ip6_engine.h"
#include "stack/net/icmp_endpoint_table.h"
#include "stack/net/ip_address.h"
#include "stack/wire/icmp6.h"

namespace pytcp {

class Icmp6Endpoint : public IcmpBinding {
 public:
  virtual ~Icmp6Endpoint() = default;
  // A message for this endpoint: ping sockets get echo replies carrying their identifier,
  // raw endpoints every message.
  virtual void OnIcmp6Message(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now) = 0;
  // An ICMPv6 error about an echo request (ping) or ICMPv6 message (raw) this endpoint sent.
  virtual void OnIcmp6Error(const Ip6ErrorInfo& error, Instant now) = 0;
};

struct Icmp6SendOptions {
  uint8_t hop_limit = 0;  // 0: the route's default (IPV6_UNICAST_HOPS unset)
  uint8_t traffic_class = 0;
  bool dont_fragment = false;
  // Raw sockets: where the checksum goes (IPV6_CHECKSUM; 2 for ICMPv6), -1: none.
  int checksum_offset = 2;
  uint32_t scope_id = 0;
};

class Icmp6Sockets {
 public:
  Icmp6Sockets(Icmp6Engine* icmp, Ip6Engine* ip6, Random* random);
  ~Icmp6Sockets();
  Icmp6Sockets(const Icmp6Sockets&) = delete;
  Icmp6Sockets& operator=(const Icmp6Sockets&) = delete;

  // Ping sockets: binds `ep` to `local` (port = identifier; 0 picks a free one). Errors as
  // errno: EADDRINUSE, EADDRNOTAVAIL, EINVAL (already bound).
  Result<bool, int> BindPing(Icmp6Endpoint* ep, SocketAddress local);
  // Raw endpoints see every message; binding only fixes their source address.
  void AddRaw(Icmp6Endpoint* ep) { endpoints_.AddRaw(ep); }
  void Remove(Icmp6Endpoint* ep) { endpoints_.Remove(ep); }

  // Ping socket send (ping_v6_sendmsg): `message` is an echo request; its identifier
  // becomes the socket's and the checksum is computed. EINVAL for anything but an echo
  // request with code 0, EMSGSIZE when too long.
  Result<bool, int> SendPing(Icmp6Endpoint* ep, const Ip6Address& dst, ByteSpan message,
                             const Icmp6SendOptions& options, Instant now);
  // Raw send (rawv6_sendmsg): `message` leaves as given except for the checksum, which the
  // stack writes at options.checksum_offset (EINVAL when the message is too short for it).
  Result<bool, int> SendRaw(Icmp6Endpoint* ep, const Ip6Address& dst, ByteSpan message,
                            const Icmp6SendOptions& options, Instant now);

  // The local address a message to `dst` would leave from (for connect()).
  Result<Ip6Address, int> SourceFor(const Ip6Address& dst, const Ip6Address& hint) const;
  bool IsOurs(const Ip6Address& a) const;
  // The path MTU toward `dst` (RFC 8201), for the EMSGSIZE a too-long message gets.
  uint32_t PathMtu(const Ip6Address& dst) const { return ip6_->PathMtu(dst); }

  template <typename Fn>  // fn(const Icmp6Endpoint&, bool raw)
  void ForEachEndpoint(Fn&& fn) const {
    endpoints_.ForEachEndpoint(fn);
  }

 private:
  bool OnMessage(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now);
  void OnError(const Ip6ErrorInfo& e, Instant now);
  void LoopBackMulticast(const Ip6Address& src, const Ip6Address& group,
                         const Icmp6SendOptions& options, Instant now);
  Result<bool, int> Transmit(Icmp6Endpoint* ep, const Ip6Address& dst, int checksum_offset,
                             const Icmp6SendOptions& options, Instant now);

  Icmp6Engine* icmp_;
  Ip6Engine* ip6_;
  Random* random_;
  IcmpEndpointTable<Icmp6Endpoint> endpoints_;
  PacketBuffer tx_{65536 + 64};
};

}  // namespace pytcp
