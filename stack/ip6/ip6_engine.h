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
  uint32_t scope_id = 0;                 // link-local zone (one interface: ignored)
};

struct Ip6RouteResult {
  Ip6Address src;
  Ip6Address next_hop;
  bool multicast = false;
  bool local = false;  // to one of our own addresses: delivered through loopback
};

class Ip6Engine final : public L3Handler, public IpEngineCommon<Ip6Address, AddressHash> {
 public:
  using GroupListener = std::function<void(const Ip6Address& group, bool joined, Instant now)>;

  Ip6Engine(Interface* iface, Ip6AddressTable* addresses, Ip6RoutingTable* routes,
            Random* random, Ip6Config config = {});

  void set_nd(NdEngine* nd) { nd_ = nd; }
  void RegisterTransport(uint8_t protocol, Ip6Transport* transport) {
    transports_[protocol] = transport;
  }
  Ip6Transport* transport(uint8_t protocol) const { return transports_[protocol]; }
  void set_error_sender(Ip6ErrorSender* sender) { errors_ = sender; }
  Ip6ErrorSender* error_sender() const { return errors_; }
  void set_group_listener(GroupListener l) { group_listener_ = std::move(l); }

  // RFC 4861 §5.2 and RFC 6724 §5: where a packet to `dst` goes and from which address.
  Result<Ip6RouteResult, IpSendError> Route(const Ip6Address& dst, const Ip6Address& src_hint) const;
  // RFC 6724 §5 source address selection among our usable addresses (:: if none).
  Ip6Address SelectSource(const Ip6Address& dst) const;

  // Sends the upper-layer packet in `packet` (checksums done); the IPv6 header (and any
  // Hop-by-Hop or Fragment header) is prepended in place or fragments are built.
  Result<void, IpSendError> Send(const Ip6SendParams& params, PacketBuffer& packet, Instant now);

  void ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo& rx) override;
  // l4_checksum_valid: the link vouches for the transport checksum (RxFrameInfo).
  // l4_checksum_partial: its checksum field holds the pseudo-header sum only (a router
  // completes it before sending the packet on).
  void ReceivePacket(ByteSpan packet, Instant now, bool from_loopback,
                     bool l4_checksum_valid = false, bool l4_checksum_partial = false);

  // Hands the packets to our own addresses (IpEngineCommon's loopback queue) to the
  // receive path.
  void DeliverLoopback(Instant now);

  // Multicast membership, reference counted; each first join and last leave is reported to
  // the group listener (MLD) and changes the interface's MAC filter.
  void JoinGroup(const Ip6Address& group, Instant now);
  void LeaveGroup(const Ip6Address& group, Instant now);
  std::vector<Ip6Address> groups() const;

  // RFC 8201 §4: a Packet Too Big lowers the path MTU to `dst` (never below 1280).
  void UpdatePathMtu(const Ip6Address& dst, uint32_t mtu, Instant now);
  uint32_t PathMtu(const Ip6Address& dst) const;
  // RFC 4861 §8.3: a Redirect sets the next hop for a destination.
  void SetRedirect(const Ip6Address& dst, const Ip6Address& next_hop) { redirects_[dst] = next_hop; }
  // The next hop we currently use for `dst` (nullopt: no route).
  std::optional<Ip6Address> NextHop(const Ip6Address& dst) const;

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

  uint32_t link_mtu() const { return link_mtu_ != 0 ? link_mtu_ : iface_->mtu(); }
  // RFC 4861 §6.3.4: an RA's MTU option (ignored unless 1280..interface MTU).
  void set_link_mtu(uint32_t mtu) { link_mtu_ = mtu; }
  uint8_t default_hop_limit() const { return hop_limit_; }
  void set_default_hop_limit(uint8_t h) { hop_limit_ = h; }
  Interface* iface() const { return iface_; }
  Ip6AddressTable& addresses() const { return *addresses_; }
  Ip6RoutingTable& routes() const { return *routes_; }

 private:
  using FragKey = FragmentKey<Ip6Address>;

  // Walks the headers of `chain`: options by their action bits, routing headers. False:
  // the packet was dropped (and an error maybe sent).
  bool ProcessChain(const Ip6ExtChain& chain, const Ip6View& ip, Ip6PacketInfo& info, Instant now);
  void Reassemble(const Ip6View& ip, const Ip6ExtChain& chain, bool from_loopback, Instant now);
  void Deliver(const Ip6PacketInfo& info, const Ip6ExtChain& chain, Instant now);
  void SendError(const Icmp6Header& h, const Ip6View& ip, bool to_multicast, bool allow_multicast,
                 Instant now);
  Result<void, IpSendError> Transmit(const Ip6RouteResult& route, PacketBuffer& packet,
                                      Instant now);
  Result<void, IpSendError> Fragment(const Ip6RouteResult& route, const Ip6Header& header,
                                      ByteSpan payload, uint32_t mtu, Instant now);
  void OnAddressChange(const Ip6AddressEntry& e, Instant now);
  // RFC 8200, RFC 4443 (ip6_forwarding.cc): a packet to an address not ours.
  void Forward(const Ip6View& ip, bool l4_checksum_partial, Instant now);

  Ip6AddressTable* addresses_;
  Ip6RoutingTable* routes_;
  Random* random_;
  Ip6Config config_;
  NdEngine* nd_ = nullptr;
  Ip6ErrorSender* errors_ = nullptr;
  GroupListener group_listener_;
  std::array<Ip6Transport*, 256> transports_{};
  Reassembler<FragKey> reassembler_;
  std::vector<Ip6Address> solicited_joined_;  // addresses whose solicited-node group we joined
  absl::flat_hash_map<Ip6Address, Ip6Address, AddressHash> redirects_;
  uint32_t link_mtu_ = 0;
  uint8_t hop_limit_;
  bool disabled_ = false;
  std::unique_ptr<PacketBuffer> forward_buf_;  // Forward's, made once
  RedirectLimiter<Ip6Address, AddressHash> redirect_limiter_;  // per source host
  IpLinkOutput<Ip6Address, IpCounter> link_;
};

}  // namespace pytcp
