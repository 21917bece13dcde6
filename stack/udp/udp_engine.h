// UDP (RFC 768): the port table, demultiplexing, checksums, and ICMP errors to endpoints.
//
// RFCs to read: RFC 768, RFC 1122 §4.1 (UDP host requirements: checksums on by default,
// port unreachable, passing ICMP errors up), RFC 6056 (ephemeral port selection),
// RFC 8085 (UDP usage guidelines).
//
// Endpoints are the protocol side of UDP sockets; the socket layer derives from
// UdpEndpoint and adds queues, blocking and options.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "stack/base/counters.h"
#include "stack/base/random.h"
#include "stack/base/result.h"
#include "stack/igmp/igmp_engine.h"
#include "stack/ip4/ip4_engine.h"
#include "stack/ip6/ip6_engine.h"
#include "stack/net/ip_address.h"
#include "stack/wire/udp.h"

namespace pytcp {

PYTCP_COUNTERS(UdpCounter,
  kRxDatagrams,
  kRxDropMalformed,
  kRxDropInvalid,
  kRxDropNoPort,
  kRxDelivered,
  kRxIcmpErrors,
  kTxDatagrams,
  kTxDropError,
);

// Linux's default ephemeral range (net.ipv4.ip_local_port_range).

// What the IP header said about a received datagram, for the control messages a socket
// may ask for (ip(7) IP_PKTINFO, IP_RECVTTL, IP_RECVTOS; ipv6(7) IPV6_RECVPKTINFO,
// IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS).
struct UdpRxMeta {
  uint8_t ttl = 0;  // TTL or hop limit
  uint8_t tos = 0;  // TOS byte or traffic class
  // ip(7) in_pktinfo.ipi_spec_dst: the local address a reply would come from (the
  // destination itself for unicast, the interface's address for a broadcast or multicast,
  // as Linux's fib_compute_spec_dst).
  IpAddress spec_dst;
  uint8_t iface = 0;  // the interface it came in on (the stack's, by position)
};

class UdpEndpoint {
 public:
  virtual ~UdpEndpoint() = default;
  // A datagram for this endpoint: `from` is the sender, `to` the local address it was sent to.
  virtual void OnDatagram(const SocketAddress& from, const IpAddress& to, ByteSpan payload,
                          const UdpRxMeta& meta, Instant now) = 0;
  // An ICMP error about a datagram this endpoint sent (RFC 1122 §4.1.3.3).
  virtual void OnIcmpError(const Ip4ErrorInfo& error, Instant now) = 0;
  // An ICMPv6 error; by default reported like an ICMPv4 one carrying the same errno.
  virtual void OnIcmp6Error(const Ip6ErrorInfo& error, Instant now) {
    Ip4ErrorInfo e{error.icmp_type, error.icmp_code, Ip4Address(), Ip4Address(), Ip4Address(),
                   IpProto::kUdp, error.orig_l4, error.mtu, error.error, error.local};
    OnIcmpError(e, now);
  }

  // Binding state, owned by the UdpEngine.
  SocketAddress local;                  // ip unspecified: wildcard; port 0: unbound
  std::optional<SocketAddress> remote;  // set by connect()
  bool reuse_addr = false;
  bool reuse_port = false;
  bool bound = false;
  // An AF_INET6 socket (receives IPv6, and IPv4 as v4-mapped unless v6only: IPV6_V6ONLY).
  bool ipv6 = false;
  bool v6only = false;
  uint8_t hop_limit = 0;  // IPV6_UNICAST_HOPS (0: the route's default)
  // IPV6_MULTICAST_HOPS and IPV6_MULTICAST_LOOP (ipv6(7): 1 and on by default). Hop limit 0
  // keeps a datagram on this host (looped back only).
  uint8_t multicast_hops = 1;
  bool multicast_loop = true;
  // SO_BINDTODEVICE: only datagrams that came in by this interface (the stack's, by
  // position; -1: any), as Linux's compute_score skips a socket bound to another device.
  int bound_device = -1;
};

struct UdpSendOptions {
  uint8_t ttl = 64;
  uint8_t tos = 0;
  bool allow_broadcast = false;
  bool dont_fragment = false;
  // ip(7) IP_PKTINFO ipi_spec_dst / ipv6(7) IPV6_PKTINFO ipi6_addr of this send: the
  // source address (unspecified: the binding's or the route's). Not ours: ENETUNREACH
  // (IPv4, the route lookup's error) or EINVAL (IPv6, ip6_datagram_send_ctl).
  IpAddress src;
  int hop_limit = -1;  // IPV6_HOPLIMIT of this send (-1: the socket's)
  // ip(7) IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_MULTICAST_IF (its address, or 0.0.0.0).
  uint8_t multicast_ttl = 1;
  bool multicast_loop = true;
  Ip4Address multicast_if;
  int out_iface = -1;  // Ip4SendParams::out_iface
};

class UdpEngine final : public Ip4Transport, public Ip6Transport {
 public:
  UdpEngine(Ip4Engine* ip4, Random* random);
  // IPv6 (RFC 8200 §8.1 pseudo-header checksums, mandatory for UDP over IPv6).
  void set_ip6(Ip6Engine* ip6);

  // Binds `ep` to `local` (port 0: an ephemeral port). Errors as errno: EADDRINUSE,
  // EADDRNOTAVAIL (an address that is not ours), EINVAL (already bound).
  Result<void, int> Bind(UdpEndpoint* ep, SocketAddress local);
  void Unbind(UdpEndpoint* ep);

  // Sends one datagram from `ep` (auto-binding it to an ephemeral port first if needed).
  // Errors as errno (ENETUNREACH, EMSGSIZE, EACCES for broadcast without SO_BROADCAST...).
  Result<void, int> Send(UdpEndpoint* ep, const SocketAddress& dst, ByteSpan payload,
                         const UdpSendOptions& options, Instant now);

  // IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP of a socket: the interface's membership is counted
  // per socket (Ip6Engine), so MLD reports the first join and the last leave.
  void JoinGroup6(const Ip6Address& group, Instant now);
  void LeaveGroup6(const Ip6Address& group, Instant now);
  // IPv4 memberships (ip(7) IP_ADD_MEMBERSHIP and friends): RFC 3376 §2's
  // IPMulticastListen for the socket `owner`; INCLUDE with no sources is a leave.
  void set_igmp(IgmpEngine* igmp) { igmp_ = igmp; }
  void Listen4(const void* owner, Ip4Address group, McFilterMode mode,
               std::span<const Ip4Address> sources, Instant now);
  // Whether `a` is one of our IPv4 addresses (IP_MULTICAST_IF, ip_mreq's interface).
  bool IsOurIp4(Ip4Address a) const { return ip4_->addresses().IsOurs(a); }

  // The local address a datagram to `dst` would leave from (for connect()).
  Result<IpAddress, int> SourceFor(const IpAddress& dst, const IpAddress& hint) const;

  void Receive(const Ip4PacketInfo& info, ByteSpan payload, Instant now) override;
  void ReceiveError(const Ip4ErrorInfo& error, Instant now) override;
  void Receive(const Ip6PacketInfo& info, ByteSpan payload, Instant now) override;
  void ReceiveError(const Ip6ErrorInfo& error, Instant now) override;

  const Counters<UdpCounter>& counters() const { return counters_; }
  template <typename Fn>  // fn(const UdpEndpoint&)
  void ForEachEndpoint(Fn&& fn) const {
    for (const auto& [port, eps] : ports_) {
      for (const UdpEndpoint* ep : eps) fn(*ep);
    }
  }

 private:
  bool Conflicts(const UdpEndpoint& a, const UdpEndpoint& b) const;
  Result<uint16_t, int> PickEphemeral(UdpEndpoint* ep);
  Result<void, int> Send6(UdpEndpoint* ep, const SocketAddress& dst, ByteSpan payload,
                          const UdpSendOptions& options, Instant now);
  // RFC 3493 §5.2 / ipv6(7) IPV6_MULTICAST_LOOP: a copy of a datagram sent to a group
  // this host listens to, for the local sockets bound to its port.
  void LoopBackMulticast6(const Ip6Address& src, uint16_t src_port, const Ip6Address& group,
                          uint16_t dst_port, ByteSpan payload, uint8_t tclass, Instant now);
  // ip(7) IP_MULTICAST_LOOP: a copy of a datagram sent to a group this host is in, for
  // the local sockets bound to its port (Linux ip_mc_output's loopback).
  void LoopBackMulticast4(Ip4Address src, uint16_t src_port, Ip4Address group, uint16_t dst_port,
                          ByteSpan payload, const UdpRxMeta& meta, Instant now);

  // tx_ = a UDP header (checksum over `pseudo`, the pseudo-header's sum) and `payload`.
  void FillTx(uint16_t src_port, uint16_t dst_port, ByteSpan payload, uint32_t pseudo);
  // Counts what the IP engine did with tx_ and turns its error into an errno.
  Result<void, int> Sent(Result<void, IpSendError> sent);
  // The endpoints on `port` of the datagram's family (`takes`) whose binding takes `local`
  // and whose connection, if any, is to `remote`: fn(UdpEndpoint*) for each.
  template <typename Takes, typename Fn>
  void ForEachMatch(uint16_t port, Takes&& takes, const IpAddress& local,
                    const SocketAddress& remote, Fn&& fn);
  // A received datagram to its endpoints: to every match when `fan_out` (broadcast,
  // multicast), else to the most specific. False: no endpoint took it.
  template <typename Takes>
  bool Deliver(uint16_t port, Takes&& takes, const SocketAddress& from, const IpAddress& to,
               ByteSpan payload, const UdpRxMeta& meta, bool fan_out, Instant now);
  // An ICMP error to the endpoints that sent what it quotes: report(UdpEndpoint*).
  template <typename Addr, typename Takes, typename Report>
  void DeliverError(const IpErrorInfo<Addr>& error, Takes&& takes, Report&& report);
  // A multicast datagram we sent, looped back to the local endpoints of its group and port;
  // each gets the control data meta_for(endpoint).
  template <typename Takes, typename MetaFor>
  void LoopBack(uint16_t dst_port, Takes&& takes, const SocketAddress& from, const IpAddress& to,
                ByteSpan payload, MetaFor&& meta_for, Instant now);

  Ip4Engine* ip4_;
  Ip6Engine* ip6_ = nullptr;
  IgmpEngine* igmp_ = nullptr;
  Random* random_;
  absl::flat_hash_map<uint16_t, std::vector<UdpEndpoint*>> ports_;
  PacketBuffer tx_{65536 + 64};
  Counters<UdpCounter> counters_;
};

}  // namespace pytcp
