// The protocol side of ICMPv4 sockets, as Linux has them: "ping sockets" (SOCK_DGRAM,
// IPPROTO_ICMP; the echo identifier is the socket's local "port") and raw sockets
// (SOCK_RAW, IPPROTO_ICMP; every ICMP message, the IPv4 header included).
//
// RFCs to read: RFC 792 ("Echo or Echo Reply Message": identifier and sequence number),
// RFC 1122 §3.2.2.6 (echo request/reply), §3.2.2 (errors go to the sender's transport),
// RFC 6056 (ephemeral identifiers are picked like ports). Linux: net/ipv4/ping.c, raw.c.
//
// The table hooks the Icmp4Engine's message listener: echo replies go to the ping socket
// bound to their identifier; errors about an echo request we sent go to that ping socket;
// a copy of every message goes to every raw endpoint (which filters it, ICMP_FILTER).
// Echo requests are still answered by the engine, as the kernel answers them.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/packet_buffer.h"
#include "stack/base/random.h"
#include "stack/base/result.h"
#include "stack/icmp4/icmp4_engine.h"
#include "stack/ip4/ip4_engine.h"
#include "stack/net/icmp_endpoint_table.h"
#include "stack/net/ip_address.h"
#include "stack/wire/icmp4.h"

namespace pytcp {

class Icmp4Endpoint : public IcmpBinding {
 public:
  virtual ~Icmp4Endpoint() = default;
  // A message for this endpoint: ping sockets get echo replies carrying their identifier,
  // raw endpoints every message.
  virtual void OnIcmpMessage(const Ip4PacketInfo& info, const Icmp4View& icmp, Instant now) = 0;
  // An ICMP error about an echo request (ping) or ICMP message (raw) this endpoint sent.
  virtual void OnIcmpError(const Ip4ErrorInfo& error, Instant now) = 0;
};

struct Icmp4SendOptions {
  uint8_t ttl = 64;
  uint8_t tos = 0;
  bool allow_broadcast = false;
  bool dont_fragment = false;
};

class Icmp4Sockets {
 public:
  Icmp4Sockets(Icmp4Engine* icmp, Ip4Engine* ip4, Random* random);
  ~Icmp4Sockets();
  Icmp4Sockets(const Icmp4Sockets&) = delete;
  Icmp4Sockets& operator=(const Icmp4Sockets&) = delete;

  // Ping sockets: binds `ep` to `local` (port = identifier; 0 picks a free one). Errors as
  // errno: EADDRINUSE, EADDRNOTAVAIL, EINVAL (already bound).
  Result<bool, int> BindPing(Icmp4Endpoint* ep, SocketAddress local);
  // Raw endpoints see every message; binding only fixes their source address.
  void AddRaw(Icmp4Endpoint* ep) { endpoints_.AddRaw(ep); }
  void Remove(Icmp4Endpoint* ep) { endpoints_.Remove(ep); }

  // Ping socket send (ping_common_sendmsg): `message` is an echo request; its identifier
  // becomes the socket's and the checksum is computed. EINVAL for anything but an echo
  // request with code 0, EMSGSIZE when too long.
  Result<bool, int> SendPing(Icmp4Endpoint* ep, Ip4Address dst, ByteSpan message,
                             const Icmp4SendOptions& options, Instant now);
  // Raw send: `message` leaves as given (the sender computes the checksum, as on Linux).
  Result<bool, int> SendRaw(Icmp4Endpoint* ep, Ip4Address dst, ByteSpan message,
                            const Icmp4SendOptions& options, Instant now);

  // The MTU a datagram toward a destination meets (the link's: no IPv4 path MTU cache),
  // for the EMSGSIZE a too-long message with DF gets.
  uint32_t Mtu() const { return ip4_->mtu(); }
  // The local address a message to `dst` would leave from (for connect()).
  Result<Ip4Address, int> SourceFor(Ip4Address dst, Ip4Address hint) const;

  template <typename Fn>  // fn(const Icmp4Endpoint&, bool raw)
  void ForEachEndpoint(Fn&& fn) const {
    endpoints_.ForEachEndpoint(fn);
  }

 private:
  bool OnMessage(const Ip4PacketInfo& info, const Icmp4View& icmp, Instant now);
  void OnError(const Ip4PacketInfo& info, const Icmp4View& icmp, Instant now);
  void DeliverError(const Ip4ErrorInfo& e, Instant now);
  Result<bool, int> Transmit(Icmp4Endpoint* ep, Ip4Address dst, const Icmp4SendOptions& options,
                             Instant now);

  Icmp4Engine* icmp_;
  Ip4Engine* ip4_;
  Random* random_;
  IcmpEndpointTable<Icmp4Endpoint> endpoints_;
  PacketBuffer tx_{65536 + 64};
};

}  // namespace pytcp
