// A neighbour cache: the Neighbor Unreachability Detection state machine of RFC 4861 §7.3,
// shared by ARP (IPv4; Linux runs the same NUD states for ARP) and IPv6 Neighbour
// Discovery. `Addr` is Ip4Address or Ip6Address.
//
// RFCs to read: RFC 4861 §7.2 (address resolution), §7.3 (NUD), Appendix C (state
// table); RFC 826 (ARP merge rule); RFC 1122 §2.3.2.2 (queue at least one packet per
// unresolved neighbour).
//
// The cache is a pure state machine: callers pass `now`, it calls back through `Actions`
// to send solicitations, flush queued packets and report failures, and NextDeadline()
// tells the event loop when Poll() must run next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "stack/base/address_hash.h"
#include "stack/base/clock.h"
#include "stack/base/named_enum.h"
#include "stack/net/mac_address.h"

namespace pytcp {

// ToString: RFC 4861 §7.3.2's names, "INCOMPLETE" .. "PERMANENT" (as ip-neighbour prints).
PYTCP_NAMED_ENUM_UPPER(NeighbourState, uint8_t,
  kIncomplete,
  kReachable,
  kStale,
  kDelay,
  kProbe,
  kPermanent,
);

struct NeighbourCacheConfig {
  size_t max_entries = 512;
  // RFC 1122 §2.3.2.2 asks for at least one; Linux keeps a small queue (unres_qlen).
  size_t max_queued_per_entry = 4;
  int max_multicast_solicit = 3;  // RFC 4861 §10 MAX_MULTICAST_SOLICIT
  int max_unicast_solicit = 3;    // MAX_UNICAST_SOLICIT
  Duration retrans_timer = 1s;    // RETRANS_TIMER
  Duration reachable_time = 30s;  // REACHABLE_TIME (randomised by the owner if desired)
  Duration delay_first_probe_time = 5s;
  Duration stale_gc_time = 600s;  // STALE entries unused this long are removed
};

template <typename Addr>
class NeighbourCache {
 public:
  // A packet waiting for resolution: the network-layer bytes, sent once the MAC is known.
  using Packet = std::vector<uint8_t>;

  class Actions {
   public:
    virtual ~Actions() = default;
    // Send a solicitation for `target`: broadcast/multicast when `unicast_mac` is empty
    // (INCOMPLETE), unicast to the cached MAC when probing (PROBE).
    virtual void SendSolicitation(const Addr& target, std::optional<MacAddress> unicast_mac,
                                  Instant now) = 0;
    // Resolution succeeded: transmit a packet that was waiting for it.
    virtual void TransmitQueued(const Addr& target, const MacAddress& mac, Packet packet) = 0;
    // Resolution failed (no answer after the retries); packets that waited are handed
    // back so that their senders can be told (EHOSTUNREACH).
    virtual void ResolutionFailed(const Addr& target, std::vector<Packet> dropped, Instant now) = 0;
  };

  struct Entry {
    NeighbourState state = NeighbourState::kIncomplete;
    MacAddress mac;
    Instant deadline = Instant::Infinite();  // next timer for this entry
    Instant last_used;
    Instant last_updated;
    int probes_sent = 0;
    bool is_router = false;
    std::deque<Packet> queue;
  };

  enum class ResolveResult : uint8_t { kResolved, kQueued, kDropped };

  NeighbourCache(NeighbourCacheConfig config, Actions* actions)
      : config_(config), actions_(actions) {}

  // Send path. Returns kResolved with *mac set when the packet may go now; otherwise the
  // packet (if given) is queued while resolution runs, or dropped when the queue or the
  // cache is full.
  ResolveResult Resolve(const Addr& addr, Instant now, MacAddress* mac, Packet* packet);

  // A solicited answer (ARP reply to our request; NA with S=1). RFC 4861 §7.2.5.
  void OnAdvertisement(const Addr& addr, const MacAddress& mac, bool solicited, bool override_flag,
                       bool is_router, Instant now);
  // The neighbour announced or revealed its address in a request or solicitation aimed at
  // us (ARP request; NS with a source link-layer option): RFC 4861 §7.2.3, RFC 826.
  void OnSolicitationFrom(const Addr& addr, const MacAddress& mac, Instant now);
  // An ARP packet from a neighbour we already know (RFC 826 "merge"): update, never create.
  void MergeIfPresent(const Addr& addr, const MacAddress& mac, Instant now);
  // Forward progress seen by an upper layer (e.g. TCP acknowledged new data): RFC 4861 §7.3.1.
  void ConfirmReachable(const Addr& addr, Instant now);

  void AddPermanent(const Addr& addr, const MacAddress& mac);
  // An administrator's entry (Linux's SIOCSARP and `ip neigh replace`: neigh_update with
  // NEIGH_UPDATE_F_ADMIN|NEIGH_UPDATE_F_OVERRIDE): `mac` (or, when none is given, the MAC
  // the entry already has) in STALE, whatever the entry was; waiting packets go out.
  // False, with nothing changed, when no MAC is given and the entry has none (EINVAL).
  bool SetByAdmin(const Addr& addr, std::optional<MacAddress> mac, Instant now);
  void Remove(const Addr& addr);
  void Clear() { entries_.clear(); }

  // Runs every expired timer.
  void Poll(Instant now);
  Instant NextDeadline() const;

  const Entry* Find(const Addr& addr) const {
    auto it = entries_.find(addr);
    return it == entries_.end() ? nullptr : &it->second;
  }
  template <typename Fn>  // fn(const Addr&, const Entry&)
  void ForEach(Fn&& fn) const {
    for (const auto& [addr, entry] : entries_) fn(addr, entry);
  }
  size_t size() const { return entries_.size(); }
  const NeighbourCacheConfig& config() const { return config_; }
  void set_reachable_time(Duration d) { config_.reachable_time = d; }
  void set_retrans_timer(Duration d) { config_.retrans_timer = d; }

 private:
  Entry* CreateEntry(const Addr& addr, Instant now);
  void EnterReachable(Entry& e, Instant now);
  void EnterStale(Entry& e, Instant now);
  void Flush(const Addr& addr, Entry& e);

  NeighbourCacheConfig config_;
  Actions* actions_;
  absl::flat_hash_map<Addr, Entry, AddressHash> entries_;
};

}  // namespace pytcp

#include "stack/neigh/neighbour_cache_impl.h"  // IWYU pragma: export
