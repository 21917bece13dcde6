// The protocol side of ICMP sockets, one table for ICMPv4 and ICMPv6 (Linux serves both
// families' ping sockets from net/ipv4/ping.c): "ping sockets" (SOCK_DGRAM; the echo
// identifier is the socket's local "port") and raw sockets (SOCK_RAW; every message).
//
// RFCs to read: RFC 792 and RFC 4443 §4 (echo: identifier and sequence number), RFC 1122
// §3.2.2 and RFC 4443 §2.4 (d) (errors go to the process that sent the offending packet),
// RFC 6056 (identifiers are picked like ephemeral ports).
//
// The table hooks its ICMP engine's listeners: echo replies go to the ping socket bound to
// their identifier; errors about an echo request we sent go to that ping socket; a copy of
// every message goes to every raw endpoint (which filters it). Echo requests are still
// answered by the engine, as the kernel answers them.
//
// `Family` (Icmp4Family in icmp4/icmp4_sockets.h, Icmp6Family in icmp6/icmp6_sockets.h)
// names the family's types and limits and holds what the two families do differently: how
// a message leaves (Transmit: the IP header's fields, where the checksum comes from), which
// received messages are echo replies, and where errors about our messages come from.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "stack/base/bytes.h"
#include "stack/base/clock.h"
#include "stack/base/packet_buffer.h"
#include "stack/base/random.h"
#include "stack/base/result.h"
#include "stack/iface/ip_send_error.h"
#include "stack/iface/ip_transport.h"
#include "stack/net/icmp_endpoint_table.h"
#include "stack/net/ip_address.h"

namespace pytcp {

// A ping or raw socket as its family's table sees it.
template <typename Family>
class IcmpEndpoint : public IcmpBinding {
 public:
  using PacketInfo = typename Family::PacketInfo;
  using ErrorInfo = IpErrorInfo<typename Family::Address>;

  virtual ~IcmpEndpoint() = default;
  // A message for this endpoint: ping sockets get echo replies carrying their identifier,
  // raw endpoints every message.
  virtual void OnIcmpMessage(const PacketInfo& info, const typename Family::View& icmp,
                             Instant now) = 0;
  // An ICMP error about an echo request (ping) or ICMP message (raw) this endpoint sent.
  virtual void OnIcmpError(const ErrorInfo& error, Instant now) = 0;
};

template <typename Family>
class IcmpSockets {
 public:
  using Address = typename Family::Address;
  using Endpoint = IcmpEndpoint<Family>;
  using SendOptions = typename Family::SendOptions;
  using PacketInfo = typename Endpoint::PacketInfo;
  using ErrorInfo = typename Endpoint::ErrorInfo;

  IcmpSockets(typename Family::Engine* icmp, typename Family::IpEngine* ip, Random* random)
      : icmp_(icmp), ip_(ip), random_(random) {
    icmp_->set_listener([this](const PacketInfo& info, const typename Family::View& message,
                               Instant now) { return OnMessage(info, message, now); });
    Family::SetErrorListener(*icmp_, [this](const ErrorInfo& e, Instant now) { OnError(e, now); });
  }
  ~IcmpSockets() {
    icmp_->set_listener(nullptr);
    Family::SetErrorListener(*icmp_, nullptr);
  }
  IcmpSockets(const IcmpSockets&) = delete;
  IcmpSockets& operator=(const IcmpSockets&) = delete;

  // Ping sockets: binds `ep` to `local` (port = identifier; 0 picks a free one). Errors as
  // errno: EADDRINUSE, EADDRNOTAVAIL (not ours, or of the other family), EINVAL (already
  // bound).
  Result<void, int> BindPing(Endpoint* ep, SocketAddress local) {
    if (!local.ip.is_unspecified() &&
        (!Family::Holds(local.ip) || !IsOurs(Family::AddressOf(local.ip)))) {
      return Err{EADDRNOTAVAIL};
    }
    return endpoints_.BindPing(ep, local, *random_);
  }
  // Raw endpoints see every message; binding only fixes their source address.
  void AddRaw(Endpoint* ep) { endpoints_.AddRaw(ep); }
  void Remove(Endpoint* ep) { endpoints_.Remove(ep); }

  // Ping socket send (ping_common_sendmsg, ping_v4/v6_sendmsg): `message` is an echo
  // request; its identifier becomes the socket's and the checksum is computed. EINVAL for
  // anything but an echo request with code 0, EMSGSIZE when too long.
  Result<void, int> SendPing(Endpoint* ep, const Address& dst, ByteSpan message,
                             const SendOptions& options, Instant now) {
    if (message.size() > 0xffff) return Err{EMSGSIZE};
    if (message.size() < Family::kHeaderSize) return Err{EINVAL};
    if (message[0] != Family::kEchoRequest || message[1] != 0) return Err{EINVAL};
    if (message.size() > Family::kMaxMessage) return Err{EMSGSIZE};
    if (!ep->bound) {
      auto r = BindPing(ep, SocketAddress{ep->local.ip, 0, 0});
      if (!r.ok()) return r;
    }
    tx_.Reset();
    tx_.Append(message);
    // RFC 792, RFC 4443 §4.1: the identifier is the socket's; the checksum (at offset 2)
    // is computed for it.
    StoreBe16(tx_.data().data() + 4, ep->local.port);
    SendOptions ping = options;
    ping.checksum_offset = 2;
    return Transmit(ep, dst, ping, now);
  }
  // Raw send: `message` leaves as given, but for a checksum at options.checksum_offset
  // (rawv6_push_pending_frames: EINVAL unless it lies inside the message).
  Result<void, int> SendRaw(Endpoint* ep, const Address& dst, ByteSpan message,
                            const SendOptions& options, Instant now) {
    if (message.size() > Family::kMaxMessage) return Err{EMSGSIZE};
    if (options.checksum_offset >= 0 &&
        static_cast<size_t>(options.checksum_offset) + 2 > message.size()) {
      return Err{EINVAL};
    }
    tx_.Reset();
    tx_.Append(message);
    return Transmit(ep, dst, options, now);
  }

  // The local address a message to `dst` would leave from (for connect()).
  Result<Address, int> SourceFor(const Address& dst, const Address& hint) const {
    auto route = ip_->Route(dst, hint);
    if (!route.ok()) return Err{ToErrno(route.error())};
    if (Family::kNeedsSource && route->src.is_unspecified()) return Err{EADDRNOTAVAIL};
    return route->src;
  }
  bool IsOurs(const Address& a) const { return a.is_loopback() || ip_->addresses().IsOurs(a); }
  // The MTU a message toward `dst` meets, for the EMSGSIZE a too-long message gets.
  uint32_t PathMtu(const Address& dst) const { return Family::PathMtu(*ip_, dst); }

  template <typename Fn>  // fn(const Endpoint&, bool raw)
  void ForEachEndpoint(Fn&& fn) const {
    endpoints_.ForEachEndpoint(fn);
  }

 private:
  // raw(7), RFC 3542 §3: every raw socket gets a copy of every message (its filter is
  // applied by the socket); an echo reply goes to the ping socket it names.
  bool OnMessage(const PacketInfo& info, const typename Family::View& icmp, Instant now) {
    const bool taken =
        endpoints_.DeliverMessage(IpAddress(info.dst), Family::EchoReplyId(icmp),
                                  [&](Endpoint* ep) { ep->OnIcmpMessage(info, icmp, now); });
    if (auto e = Family::ErrorAboutOurMessage(info, icmp)) DeliverError(*e, now);
    return taken;
  }
  // The family's Transmit from the socket's bound address (unspecified: any).
  Result<void, int> Transmit(Endpoint* ep, const Address& dst, const SendOptions& options,
                             Instant now) {
    const Address bound = ep->local.ip.is_unspecified() || !Family::Holds(ep->local.ip)
                              ? Address()
                              : Family::AddressOf(ep->local.ip);
    return Family::Transmit(*icmp_, *ip_, bound, dst, tx_, options, now);
  }

  // An error about an ICMP message we sent. A local one (an ARP or ND failure about a
  // queued echo request) is reported, as Linux reports it, from our own address: "From
  // <us> ... Destination Host Unreachable" (ip_local_error / icmpv6_send from
  // ip6_link_failure).
  void OnError(const ErrorInfo& e, Instant now) {
    if (e.orig_l4.size() < Family::kHeaderSize) return;
    if (!e.local) {
      DeliverError(e, now);
      return;
    }
    ErrorInfo local = e;
    local.reporter = e.orig_src;
    DeliverError(local, now);
  }
  void DeliverError(const ErrorInfo& e, Instant now) {
    endpoints_.DeliverError(IpAddress(e.orig_src), e.orig_l4, Family::kEchoRequest,
                            [&](Endpoint* ep) { ep->OnIcmpError(e, now); });
  }

  typename Family::Engine* icmp_;
  typename Family::IpEngine* ip_;
  Random* random_;
  IcmpEndpointTable<Endpoint> endpoints_;
  PacketBuffer tx_{65536 + 64};
};

}  // namespace pytcp
