// What the IPv4 and IPv6 engines keep alike, with the address family as a parameter: the
// interface they send on, the queue of packets to our own addresses, the multicast groups
// joined and the path MTU cache (RFC 1191, RFC 8201; stack/net/path_mtu_cache.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/hash/hash.h"
#include "stack/base/clock.h"
#include "stack/base/counters.h"
#include "stack/base/log.h"
#include "stack/iface/interface.h"
#include "stack/iface/ip_groups.h"
#include "stack/iface/loopback_queue.h"
#include "stack/net/path_mtu_cache.h"

namespace pytcp {

// The counters of both engines, under "ip4." and "ip6." (only counters that moved are
// shown, so a family's own ones never appear under the other's prefix).
PYTCP_COUNTERS(IpCounter,
  kRxPackets,
  kRxDropMalformed,       // integrity failures (IPv6: fixed header or extension chain)
  kRxDropInvalid,         // sanity failures (RFC rules)
  kRxDropBadSource,       // IPv4, RFC 1122 §3.2.1.3: source is ours, broadcast or
                          // multicast; IPv6: our own address as source from the wire
  kRxDropNotForUs,
  kRxDropOptions,         // IPv4: options present and the drop-options setting is on
  kRxDropTentative,       // IPv6, RFC 4862 §5.4: to a tentative address, not ND
  kRxDropDisabled,        // IPv6, RFC 4862 §5.4.5: IPv6 disabled on the interface
  kRxDropOption,          // IPv6: unknown option whose action bits say discard
  kRxDropRoutingHeader,   // IPv6, RFC 5095 / RFC 8200 §4.4: routing header, segments left
  kRxDropUnknownProtocol,
  kRxFragments,
  kRxAtomicFragments,     // IPv6, RFC 6946
  kRxReassembled,
  kRxReassemblyFailed,    // overlaps (RFC 5722), bad lengths, memory cap
  kRxReassemblyTimeout,
  kRxDelivered,
  kTxPackets,
  kTxFragments,
  kTxDropNoRoute,
  kTxDropNoSource,
  kTxDropTooBig,
  kTxDropLinkError,
  kTxQueuedForArp,        // IPv4: waiting for ARP
  kTxDropArpQueueFull,
  kTxQueuedForNd,         // IPv6: waiting for Neighbour Discovery
  kTxDropNdQueueFull,
  kPmtuUpdates,           // IPv6: a Packet Too Big lowered a path MTU (RFC 8201)
  kFwdForwarded,          // forwarding on (PYTCP_FORWARDING): sent on toward its destination
  kFwdDropMartian,        // RFC 1812 §5.3.7, RFC 4291 §2.5.6: not to be forwarded
  kFwdDropHopLimit,       // TTL / hop limit used up: Time Exceeded (RFC 1812 §5.3.1)
  kFwdDropNoRoute,        // Destination Unreachable (RFC 1812 §5.2.7.1)
  kFwdDropTooBig,         // Fragmentation Needed / Packet Too Big
  kFwdRedirects,          // out by the interface it came in on (RFC 1812 §5.2.7.2)
);

template <typename Addr, typename Hash = absl::Hash<Addr>>
class IpEngineCommon {
 public:
  // Packets to our own addresses wait here until the event loop delivers them, so that a
  // send never re-enters the receive path of the same stack.
  bool HasLoopbackPending() const { return !loopback_.empty(); }
  // Called when a packet to one of our own addresses is queued: a packet sent from an
  // application thread must wake the event loop that delivers the loopback queue.
  void set_loopback_listener(std::function<void()> l) { loopback_.set_listener(std::move(l)); }

  bool IsMemberOf(const Addr& group) const { return groups_.Contains(group); }

  // Moves whenever some destination's path MTU changed (PathMtuCache::generation).
  uint64_t pmtu_generation() const { return pmtu_.generation(); }
  // The largest TCP datagram the link segments itself (TSO/GSO); 0 = none. Send() lets a
  // TCP datagram with DF set through up to this size (DESIGN.md "Performance").
  uint32_t tso_max_size() const { return iface_->link()->features().tso_max_size; }
  // The MTU the device itself cuts TSO segments at.
  uint32_t device_mtu() const { return iface_->link()->mtu(); }
  const Counters<IpCounter>& counters() const { return counters_; }

 protected:
  // A packet that did not parse (the error of Ip4View::Parse, Ip6View::Parse or the
  // extension chain's): integrity failures (length, checksum) and sanity failures (RFC
  // rules) are counted apart.
  template <typename ParseError>
  void CountUnparsed(ParseError e) {
    counters_.Inc(IsIntegrityError(e) ? IpCounter::kRxDropMalformed : IpCounter::kRxDropInvalid);
  }

  // Parses a received packet with View::Parse (Ip4View, Ip6View); one that does not parse
  // is counted, logged on `log` as a dropped `what`, and std::nullopt returned.
  template <typename View>
  std::optional<View> ParseReceived(ByteSpan data, const LogChannel& log, std::string_view what) {
    auto parsed = View::Parse(data);
    if (parsed.ok()) return *parsed;
    CountUnparsed(parsed.error());
    PYTCP_LOG(log, kDebug, "drop {}: {}", what, ToString(parsed.error()));
    return std::nullopt;
  }

  IpEngineCommon(Interface* iface, typename IpGroups<Addr>::MacOf group_mac,
                 Duration pmtu_timeout)
      : iface_(iface), groups_(iface, group_mac), pmtu_(pmtu_timeout) {}

  Interface* iface_;
  LoopbackQueue loopback_;
  IpGroups<Addr> groups_;
  PathMtuCache<Addr, Hash> pmtu_;
  Counters<IpCounter> counters_;
};

}  // namespace pytcp
