// IPv4 (RFC 791) for a host: receive checks and dispatch, reassembly, routing and
// source address selection, fragmentation, and the send path through ARP.
//
// RFCs to read: RFC 791, RFC 1122 §3.2.1 and §3.3 (host requirements), RFC 815
// (reassembly), RFC 5722 (overlaps; applied to IPv4 too), RFC 919/922 (broadcasts),
// RFC 1191 (DF and fragmentation needed), RFC 6864 (identification).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "stack/arp/arp_engine.h"
#include "stack/base/address_hash.h"
#include "stack/base/clock.h"
#include "stack/base/counters.h"
#include "stack/base/packet_buffer.h"
#include "stack/base/random.h"
#include "stack/base/result.h"
#include "stack/frag/reassembler.h"
#include "stack/iface/interface.h"
#include "stack/iface/ip_engine_common.h"
#include "stack/iface/ip_link_output.h"
#include "stack/iface/ip_send_error.h"
#include "stack/iface/ip_transport.h"
#include "stack/iface/redirect_limiter.h"
#include "stack/ip4/ip4_address_table.h"
#include "stack/ip4/ip4_routing_table.h"
#include "stack/net/path_mtu_cache.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/ip4.h"

namespace pytcp {

// What a transport learns about a received datagram.
struct Ip4PacketInfo {
  Ip4Address src;
  Ip4Address dst;
  IpProto protocol;
  uint8_t ttl;
  uint8_t tos;
  bool to_broadcast;  // limited or directed broadcast
  bool to_multicast;
  ByteSpan header;    // the IPv4 header (options included)
  ByteSpan datagram;  // header and payload (for ICMP errors that quote it)
  // The link vouches for the transport checksum (RxFrameInfo::l4_checksum_valid); never
  // set for a reassembled datagram.
  bool l4_checksum_valid = false;
  uint8_t iface = 0;  // the interface it came in on (the stack's, by position)
};

using Ip4ErrorInfo = IpErrorInfo<Ip4Address>;
using Ip4Transport = IpTransport<Ip4PacketInfo, Ip4ErrorInfo>;

// The ICMP side the IP layer needs (implemented by Icmp4Engine).
class Ip4ErrorSender {
 public:
  virtual ~Ip4ErrorSender() = default;
  // RFC 1122 §3.2.2: protocol/port unreachable and friends, about `datagram`.
  virtual void SendUnreachable(const Ip4PacketInfo& info, ByteSpan datagram, uint8_t code,
                               Instant now) = 0;
  virtual void SendTimeExceeded(ByteSpan datagram, uint8_t code, Instant now) = 0;
  // A router's message to the source of a datagram it forwards or refuses to (RFC 1812
  // §5.2.7): Destination Unreachable (net, or fragmentation needed with the next hop's
  // MTU, RFC 1191 §4) or Redirect. Rate-limited with the other errors (§4.3.2.8).
  virtual void SendForwardingError(const Icmp4Header& header, ByteSpan datagram, Instant now) = 0;
};

struct Ip4Config {
  bool drop_options = false;
  // How long a path MTU learned from "fragmentation needed" lasts (Linux's
  // net.ipv4.route.mtu_expires, RFC 1191 §6.3).
  Duration pmtu_timeout = PathMtuCache<Ip4Address>::kDefaultExpiry;
  ReassemblyConfig reassembly;
  uint8_t default_ttl = 64;
  // PYTCP_FORWARDING: forward datagrams to addresses not ours (RFC 1812), else drop them
  // as a host does (RFC 1122 §3.3.1.7).
  bool forwarding = false;
};

struct Ip4SendParams {
  Ip4Address src;   // must be one of ours (see Route) or unspecified for DHCP's 0.0.0.0
  Ip4Address dst;
  IpProto protocol = IpProto::kUdp;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  bool dont_fragment = false;
  bool allow_broadcast = false;
  // RFC 2113 Router Alert option (IGMP, RFC 3376 §4: every IGMPv3 message carries it).
  bool router_alert = false;
  // Identification 0 for an atomic datagram (DF set, never fragmented), which RFC 6864
  // §4.1 allows and Linux does for datagrams without a connected socket (IGMP).
  bool zero_id = false;
  // The interface a broadcast or multicast leaves by (the stack's, by position; -1: the
  // first), as IP_PKTINFO's ipi_ifindex or SO_BINDTODEVICE choose it.
  int out_iface = -1;
};

// The outcome of routing a destination: where the packet goes and from which address.
struct Ip4RouteResult {
  Ip4Address src;
  Ip4Address next_hop;  // == dst when on-link
  bool broadcast = false;
  bool multicast = false;
  bool local = false;   // dst is one of our own addresses: delivered through loopback
  uint8_t iface = 0;    // the interface it leaves by (the stack's, by position)
};

class Ip4Engine final : public L3Handler, public IpEngineCommon<Ip4Address> {
 public:
  // `iface` and `arp` are the first interface's (position 0); AddInterface adds more.
  Ip4Engine(Interface* iface, ArpEngine* arp, Ip4AddressTable* addresses,
            Ip4RoutingTable* routes, Random* random, Ip4Config config);

  // A further interface (a router's, issue 18) with its own ARP engine: returns its
  // position and the handler to register on it for EtherType IPv4.
  uint8_t AddInterface(Interface* iface, ArpEngine* arp);
  L3Handler* handler(uint8_t iface) { return ports_[iface].get(); }
  size_t interface_count() const { return ports_.size(); }
  Interface& interface(uint8_t iface) const { return *ports_[iface]->iface; }

  void RegisterTransport(IpProto protocol, Ip4Transport* transport) {
    transports_[static_cast<uint8_t>(protocol)] = transport;
  }
  Ip4Transport* transport(IpProto protocol) const {
    return transports_[static_cast<uint8_t>(protocol)];
  }
  void set_error_sender(Ip4ErrorSender* sender) { errors_ = sender; }
  Ip4ErrorSender* error_sender() const { return errors_; }

  // RFC 1122 §3.3.4.3: route `dst` and pick the source address (`src_hint` when it is
  // given and usable).
  // `out_iface`: Ip4SendParams::out_iface.
  Result<Ip4RouteResult, IpSendError> Route(Ip4Address dst, Ip4Address src_hint,
                                            int out_iface = -1) const;

  // Sends the transport packet in `packet` (header and payload, checksums done). The IPv4
  // header is prepended in place; fragments are built when it exceeds the MTU.
  Result<void, IpSendError> Send(const Ip4SendParams& params, PacketBuffer& packet, Instant now);

  void ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo& rx) override;
  // A datagram from the link (`rx`: what the link knows of it, such as a transport
  // checksum it vouches for or left partial) or, from_loopback, to one of our own
  // addresses. `iface`: the interface it came in on (a router redirects only toward it).
  void ReceiveDatagram(ByteSpan datagram, Instant now, bool from_loopback,
                       const RxFrameInfo& rx = {}, uint8_t iface = 0);

  // Hands the packets to our own addresses (IpEngineCommon's loopback queue) to the
  // receive path.
  void DeliverLoopback(Instant now);

  void Poll(Instant now);
  Instant NextDeadline() const;

  uint32_t mtu() const { return iface_->mtu(); }  // the first interface's
  // The MTU of the interface the route to `dst` leaves by (the first's without a route).
  uint32_t LinkMtuToward(Ip4Address dst) const;
  // The path MTU toward `dst` (RFC 1191): the link's, or lower after a "fragmentation
  // needed" that a transport believed and reported with UpdatePathMtu (TCP after its RFC
  // 5927 check; the value clamped as tcp_pmtu.h). Shared by every socket to `dst`; aged
  // back to the link's after pmtu_timeout (stack/net/path_mtu_cache.h).
  uint32_t PathMtu(Ip4Address dst) const { return pmtu_.Get(dst, LinkMtuToward(dst)); }
  void UpdatePathMtu(Ip4Address dst, uint32_t mtu, Instant now) {
    pmtu_.Lower(dst, mtu, LinkMtuToward(dst), now);
  }
  const Ip4AddressTable& addresses() const { return *addresses_; }
  const Ip4RoutingTable& routes() const { return *routes_; }
  // Multicast groups joined (224.0.0.1 always), reference counted: the interface's MAC
  // filter and the receive check. The IGMP engine (stack/igmp) joins a group while its
  // interface state is not INCLUDE({}) (RFC 3376 §3.2).
  void JoinGroup(Ip4Address group);
  void LeaveGroup(Ip4Address group);

  // Accept unicast datagrams to any address (a DHCP client without an address yet whose
  // server answers by unicast, RFC 2131 §4.1).
  void set_accept_any_unicast(bool on, uint8_t iface = 0) { ports_[iface]->accept_any_unicast = on; }

 private:
  using FragKey = FragmentKey<Ip4Address>;

  // One interface IPv4 runs on: what receives its frames, and its way out through ARP.
  struct Port final : L3Handler {
    Port(Ip4Engine* owner, uint8_t position, Interface* on, ArpEngine* resolver);
    void ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo& rx) override;
    Ip4Engine* engine;
    uint8_t index;
    Interface* iface;
    ArpEngine* arp;
    IpLinkOutput<Ip4Address, IpCounter> link;
    bool accept_any_unicast = false;  // its DHCP client is acquiring (RFC 2131 §4.1)
  };
  Port& PortOf(const Ip4RouteResult& route) const { return *ports_[route.iface]; }

  void Deliver(const Ip4PacketInfo& info, ByteSpan datagram, ByteSpan payload, Instant now);
  Result<void, IpSendError> Transmit(const Ip4RouteResult& route, PacketBuffer& packet,
                                      Instant now);
  Result<void, IpSendError> Fragment(const Ip4RouteResult& route, const Ip4Header& header,
                                      ByteSpan payload, Instant now);
  // RFC 1812 §5.2-5.3 (ip4_forwarding.cc): a datagram to an address not ours.
  void Forward(const Ip4View& ip, const RxFrameInfo& rx, uint8_t in_iface, Instant now);
  void OnArpFailure(Ip4Address target, std::vector<ArpEngine::Packet> dropped, Instant now);
  void OnAddressChange(const Ip4AddressEntry& entry);
  uint16_t NextId(Ip4Address dst);

  std::vector<std::unique_ptr<Port>> ports_;  // [0]: the first interface
  Ip4AddressTable* addresses_;
  Ip4RoutingTable* routes_;
  Random* random_;
  Ip4Config config_;
  Ip4ErrorSender* errors_ = nullptr;
  std::array<Ip4Transport*, 256> transports_{};
  Reassembler<FragKey> reassembler_;
  uint16_t id_counter_;
  std::unique_ptr<PacketBuffer> forward_buf_;  // Forward's, made once: no allocation per datagram
  RedirectLimiter<Ip4Address, AddressHash> redirects_;  // per source host
};

}  // namespace pytcp
