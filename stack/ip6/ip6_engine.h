// IPv6 (RFC 8200) for a host: receive checks, the extension header chain, reassembly,
// source address selection, routing, path MTU, fragmentation, and the send path through
// Neighbour Discovery.
//
// RFCs to read: RFC 8200 (§4 extension headers and their order, §4.2 options and the action
// bits of unknown ones, §4.4 routing, §4.5 fragmentation, §5 packet size), RFC 5095 (type 0
// routing headers are not processed), RFC 5722 (overlapping fragments), RFC 6946 (atomic
// fragments), RFC 8021 (no atomic fragments sent), RFC 7739 (unpredictable fragment ids),
// RFC 8201 (path MTU discovery), RFC 6724 (source address selection), RFC 4861 §5.2
// (next-hop determination), RFC 4443 §2.4 (which errors the engine may cause).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
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
#include "stack/ip6/ip6_address_table.h"
#include "stack/ip6/ip6_routing_table.h"
#include "stack/net/path_mtu_cache.h"
#include "stack/wire/icmp6.h"
#include "stack/wire/ip6.h"
#include "stack/wire/ip6_ext.h"

namespace pytcp {

class NdEngine;

// What a transport learns about a received packet.
struct Ip6PacketInfo {
  Ip6Address src;
  Ip6Address dst;
  uint8_t next_header = 0;  // the upper-layer protocol
  uint8_t hop_limit = 0;
  uint8_t traffic_class = 0;
  bool to_multicast = false;
  bool dst_tentative = false;  // to one of our tentative addresses (only ND may use it)
  bool router_alert = false;   // a Hop-by-Hop Router Alert option was present (MLD)
  ByteSpan packet;             // the whole packet (reassembled), for errors that quote it
  // The link vouches for the transport checksum (RxFrameInfo::l4_checksum_valid); never
  // set for a reassembled packet.
  bool l4_checksum_valid = false;
  uint8_t iface = 0;  // the interface it came in on (the stack's, by position)
};

using Ip6ErrorInfo = IpErrorInfo<Ip6Address>;
using Ip6Transport = IpTransport<Ip6PacketInfo, Ip6ErrorInfo>;

// The ICMPv6 side the IP layer needs (implemented by Icmp6Engine), which applies the rules
// of RFC 4443 §2.4 (e) and (f) itself.
class Ip6ErrorSender {
 public:
  virtual ~Ip6ErrorSender() = default;
  // `packet` is the offending packet from its IPv6 header; `to_multicast` says how it was
  // addressed; `allow_multicast` marks the exceptions of §2.4 (e.3) (Packet Too Big,
  // Parameter Problem code 2 for an option whose action bits are 10).
  virtual void SendError(const Icmp6Header& header, ByteSpan packet, bool to_multicast,
                         bool allow_multicast, Instant now) = 0;
};

struct Ip6Config {
  ReassemblyConfig reassembly{60s, 4 * 1024 * 1024, 1024, 65535 - 8};  // RFC 8200 §4.5: 60 s
  uint8_t default_hop_limit = 64;
  Duration pmtu_timeout = 600s;  // RFC 8201 §4: at least 5 minutes, 10 recommended
  // PYTCP_FORWARDING: forward packets to addresses not ours (RFC 8200 §1 "router"), else
  // drop them as a host does (RFC 8504).
  bool forwarding = false;
};

struct Ip6SendParams {
  Ip6Address src;  // :: chooses by RFC 6724 (or stays :: with allow_unspecified_source)
  Ip6Address dst;
  uint8_t next_header = 17;
  uint8_t hop_limit = 0;  // 0: the default (RA's Cur Hop Limit or 64)
  uint8_t traffic_class = 0;
  bool router_alert = false;             // MLD: Hop-by-Hop Router Alert (RFC 3810 §5)
  bool allow_unspecified_source = false; // RS and MLD before an address exists
  bool force_unspecified_source = false; // DAD probes (RFC 4862 §5.4.2): always from ::
  bool dont_fragment = false;            // EMSGSIZE instead of fragmenting
  // Link-local and link-scope multicast destinations: the zone (the interface's scope id,
  // Interface::scope_id; 0: the first interface).
  uint32_t scope_id = 0;
  int out_iface = -1;  // >= 0: leave by this interface (ND's messages on their link)
};

struct Ip6RouteResult {
  Ip6Address src;
  Ip6Address next_hop;
  bool multicast = false;
  bool local = false;  // to one of our own addresses: delivered through loopback
  uint8_t iface = 0;   // the interface it leaves by (the stack's, by position)
};

class Ip6Engine final : public L3Handler, public IpEngineCommon<Ip6Address, AddressHash> {
 public:
  using GroupListener = std::function<void(const Ip6Address& group, bool joined, Instant now)>;

  // `iface` is the first interface (position 0); AddInterface adds more.
  Ip6Engine(Interface* iface, Ip6AddressTable* addresses, Ip6RoutingTable* routes,
            Random* random, Ip6Config config = {});

  // A further interface (fe80::/64 on-link there when IPv6 runs on it); its position.
  uint8_t AddInterface(Interface* iface, bool enabled = true);
  L3Handler* handler(uint8_t iface) { return ports_[iface].get(); }
  size_t interface_count() const { return ports_.size(); }
  Interface& interface(uint8_t iface) const { return *ports_[iface]->iface; }
  // The position of the interface whose scope id (Interface::scope_id) is `scope_id`;
  // 0 (no zone given) and unknown ids are the first interface.
  uint8_t InterfaceOfScope(uint32_t scope_id) const;
  // Neighbour Discovery of an interface (each has its own).
  void set_nd(NdEngine* nd, uint8_t iface = 0) { ports_[iface]->nd = nd; }
  NdEngine* nd(uint8_t iface = 0) const { return ports_[iface]->nd; }
  void RegisterTransport(uint8_t protocol, Ip6Transport* transport) {
    transports_[protocol] = transport;
  }
  Ip6Transport* transport(uint8_t protocol) const { return transports_[protocol]; }
  void set_error_sender(Ip6ErrorSender* sender) { errors_ = sender; }
  Ip6ErrorSender* error_sender() const { return errors_; }
  void set_group_listener(GroupListener l) { group_listener_ = std::move(l); }

  // RFC 4861 §5.2 and RFC 6724 §5: where a packet to `dst` goes and from which address.
  // `scope_id` names a link-local destination's zone, `out_iface` (>= 0) the interface.
  Result<Ip6RouteResult, IpSendError> Route(const Ip6Address& dst, const Ip6Address& src_hint,
                                            uint32_t scope_id = 0, int out_iface = -1) const;
  // RFC 6724 §5 source address selection among our usable addresses (:: if none), for a
  // packet leaving by interface `out_iface`.
  Ip6Address SelectSource(const Ip6Address& dst, uint8_t out_iface = 0) const;
  // The source a packet to `dst` gets: SelectSource for the interface its route leaves by.
  Ip6Address SourceToward(const Ip6Address& dst) const;

  // Sends the upper-layer packet in `packet` (checksums done); the IPv6 header (and any
  // Hop-by-Hop or Fragment header) is prepended in place or fragments are built.
  Result<void, IpSendError> Send(const Ip6SendParams& params, PacketBuffer& packet, Instant now);

  void ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo& rx) override;
  // `rx`: what the link knows of it (RxFrameInfo: the transport checksum vouched for or
  // left partial, the segment size of a coalesced TCP frame); `iface`: the interface it
  // came in on.
  void ReceivePacket(ByteSpan packet, Instant now, bool from_loopback, const RxFrameInfo& rx = {},
                     uint8_t iface = 0);

  // Hands the packets to our own addresses (IpEngineCommon's loopback queue) to the
  // receive path.
  void DeliverLoopback(Instant now);

  // Multicast membership, reference counted; each first join and last leave is reported to
  // the group listener (MLD) and changes the interface's MAC filter.
  // Sockets join on the first interface, where MLD reports (a router's further interfaces
  // join only the groups ND needs: JoinGroupOn).
  void JoinGroup(const Ip6Address& group, Instant now);
  void LeaveGroup(const Ip6Address& group, Instant now);
  void JoinGroupOn(uint8_t iface, const Ip6Address& group, Instant now);
  void LeaveGroupOn(uint8_t iface, const Ip6Address& group, Instant now);
  std::vector<Ip6Address> groups() const;  // the first interface's
  std::vector<Ip6Address> groups_on(uint8_t iface) const;

  // RFC 8201 §4: a Packet Too Big lowers the path MTU to `dst` (never below 1280).
  void UpdatePathMtu(const Ip6Address& dst, uint32_t mtu, Instant now);
  uint32_t PathMtu(const Ip6Address& dst) const;
  // RFC 4861 §8.3: a Redirect sets the next hop for a destination.
  void SetRedirect(const Ip6Address& dst, const Ip6NextHop& next_hop) { redirects_[dst] = next_hop; }
  // The next hop we currently use for `dst` (nullopt: no route); a link-local or
  // multicast destination is on interface `zone`.
  std::optional<Ip6NextHop> NextHop(const Ip6Address& dst, uint8_t zone = 0) const;

  // ND gave up on `target`: the packets that waited are reported to their transports.
  void OnResolutionFailed(const Ip6Address& target, const std::vector<std::vector<uint8_t>>& dropped,
                          Instant now);

  void Poll(Instant now);
  Instant NextDeadline() const;

  // The time address-table listeners see: callers that change the table outside Send,
  // ReceivePacket and Poll set it first.
  // RFC 4862 §5.4.5: a duplicated hardware-derived link-local address makes the interface
  // stop IPv6 altogether (nothing sent, nothing received) until the stack restarts.
  void Disable() { disabled_ = true; }
  bool disabled() const { return disabled_; }

  uint32_t link_mtu(uint8_t iface = 0) const {
    const Port& p = *ports_[iface];
    return p.link_mtu != 0 ? p.link_mtu : p.iface->mtu();
  }
  // RFC 4861 §6.3.4: an RA's MTU option (ignored unless 1280..interface MTU).
  void set_link_mtu(uint32_t mtu, uint8_t iface = 0) { ports_[iface]->link_mtu = mtu; }
  // The MTU of the link a packet to `dst` leaves by.
  uint32_t LinkMtuToward(const Ip6Address& dst) const;
  uint8_t default_hop_limit() const { return hop_limit_; }
  void set_default_hop_limit(uint8_t h) { hop_limit_ = h; }
  Interface* iface() const { return iface_; }
  Ip6AddressTable& addresses() const { return *addresses_; }
  Ip6RoutingTable& routes() const { return *routes_; }

 private:
  using FragKey = FragmentKey<Ip6Address>;

  // One interface IPv6 runs on: what receives its frames, its Neighbour Discovery, its
  // MTU and the groups its MAC filter takes (the first interface's are IpEngineCommon's).
  struct Port final : L3Handler {
    Port(Ip6Engine* owner, uint8_t position, Interface* on);
    void ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo& rx) override;
    Ip6Engine* engine;
    uint8_t index;
    Interface* iface;
    NdEngine* nd = nullptr;
    uint32_t link_mtu = 0;  // an RA's (0: the interface's)
    IpLinkOutput<Ip6Address, IpCounter> link;
    std::unique_ptr<IpGroups<Ip6Address>> own_groups;  // further interfaces
    IpGroups<Ip6Address>* groups;
  };

  // Walks the headers of `chain`: options by their action bits, routing headers. False:
  // the packet was dropped (and an error maybe sent).
  bool ProcessChain(const Ip6ExtChain& chain, const Ip6View& ip, Ip6PacketInfo& info, Instant now);
  void Reassemble(const Ip6View& ip, const Ip6ExtChain& chain, bool from_loopback, uint8_t iface,
                  Instant now);
  void Deliver(const Ip6PacketInfo& info, const Ip6ExtChain& chain, Instant now);
  void SendError(const Icmp6Header& h, const Ip6View& ip, bool to_multicast, bool allow_multicast,
                 Instant now);
  Result<void, IpSendError> Transmit(const Ip6RouteResult& route, PacketBuffer& packet,
                                      Instant now);
  Result<void, IpSendError> Fragment(const Ip6RouteResult& route, const Ip6Header& header,
                                      ByteSpan payload, uint32_t mtu, Instant now);
  void OnAddressChange(const Ip6AddressEntry& e, Instant now);
  // RFC 8200, RFC 4443 (ip6_forwarding.cc): a packet to an address not ours, in on
  // interface `in_iface`.
  void Forward(const Ip6View& ip, const RxFrameInfo& rx, uint8_t in_iface, Instant now);

  Ip6AddressTable* addresses_;
  Ip6RoutingTable* routes_;
  Random* random_;
  Ip6Config config_;
  std::vector<std::unique_ptr<Port>> ports_;  // [0]: the first interface
  Ip6ErrorSender* errors_ = nullptr;
  GroupListener group_listener_;
  std::array<Ip6Transport*, 256> transports_{};
  Reassembler<FragKey> reassembler_;
  // Addresses whose solicited-node group we joined, with the interface joined on.
  std::vector<std::pair<Ip6Address, uint8_t>> solicited_joined_;
  absl::flat_hash_map<Ip6Address, Ip6NextHop, AddressHash> redirects_;
  uint8_t hop_limit_;
  bool disabled_ = false;
  std::unique_ptr<PacketBuffer> forward_buf_;  // Forward's, made once
  RedirectLimiter<Ip6Address, AddressHash> redirect_limiter_;  // per source host
};

}  // namespace pytcp
