// ARP (RFC 826) with the NUD neighbour cache, and IPv4 Address Conflict Detection
// (RFC 5227).
//
// RFCs to read: RFC 826 (packet reception algorithm, "merge"), RFC 1122 §2.3.2 (cache
// timeouts, queueing), RFC 5227 (probe, announce, defend), RFC 5944 §4.6 (gratuitous ARP).
//
// Conflict detection modes (AcdMode):
//  - kStrict: RFC 5227 as written. The address is unused until probing ends (a random
//    0-1 s wait, three probes 1-2 s apart, then 2 s of silence: 4-8 s in all).
//  - kOptimistic (default): the address is usable at once while the same probes run; a
//    conflict found during probing withdraws the address (sockets using it then fail).
//    A short-lived preloaded program (a curl) cannot wait seconds for its address, and
//    on the networks this stack runs on a conflict is rare and is still detected and
//    logged; the trade-off is that for up to a few seconds we may answer ARP for an
//    address that turns out to be taken, as the analogous IPv6 Optimistic DAD (RFC 4429)
//    accepts.
//  - kOff: no probing; addresses are preferred at once (the Linux default).
// After probing, conflicts are defended per RFC 5227 §2.4(b): one announcement per
// DEFEND_INTERVAL, and a second conflict within it makes us give the address up.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "stack/base/address_hash.h"
#include "stack/base/clock.h"
#include "stack/base/counters.h"
#include "stack/base/random.h"
#include "stack/iface/interface.h"
#include "stack/ip4/ip4_address_table.h"
#include "stack/neigh/neighbour_cache.h"
#include "stack/wire/arp.h"

namespace pytcp {

enum class AcdMode : uint8_t { kStrict, kOptimistic, kOff };
std::string_view ToString(AcdMode m);
bool ParseAcdMode(std::string_view text, AcdMode* mode);

PYTCP_COUNTERS(ArpCounter,
  kRxPackets,
  kRxDropMalformed,
  kRxDropNotForUs,
  kRxRequests,
  kRxReplies,
  kTxRequests,
  kTxReplies,
  kTxProbes,
  kTxAnnouncements,
  kResolutionFailures,
  kConflicts,
);

struct ArpConfig {
  // The stack's interface this engine serves, by position (Ip4AddressEntry::iface): the
  // addresses on it are the ones it speaks from first and defends.
  uint8_t iface_index = 0;
  AcdMode acd_mode = AcdMode::kOptimistic;
  NeighbourCacheConfig cache;
  // RFC 5227 §1.1 constants.
  Duration probe_wait = 1s;
  int probe_num = 3;
  Duration probe_min = 1s;
  Duration probe_max = 2s;
  int announce_num = 2;
  Duration announce_interval = 2s;
  Duration announce_wait = 2s;
  Duration defend_interval = 10s;
};

class ArpEngine final : public L3Handler, private NeighbourCache<Ip4Address>::Actions {
 public:
  using Packet = NeighbourCache<Ip4Address>::Packet;
  using ResolveResult = NeighbourCache<Ip4Address>::ResolveResult;
  // Told which queued IPv4 packets were dropped because `target` did not answer.
  using FailureHandler =
      std::function<void(Ip4Address target, std::vector<Packet> dropped, Instant now)>;
  // Told that an address of ours is in use by another host (`mac`).
  using ConflictHandler = std::function<void(Ip4Address address, MacAddress mac)>;

  ArpEngine(Interface* iface, Ip4AddressTable* addresses, Random* random, ArpConfig config);

  void ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo& rx) override;

  // IPv4 send path: the MAC of `next_hop`, or the packet is queued while it is resolved.
  ResolveResult Resolve(Ip4Address next_hop, Instant now, MacAddress* mac, Packet* packet) {
    return cache_.Resolve(next_hop, now, mac, packet);
  }
  void ConfirmReachable(Ip4Address neighbour, Instant now) {
    cache_.ConfirmReachable(neighbour, now);
  }

  // Starts conflict detection for an address just added to the table (its state is set
  // here according to the mode).
  void StartConflictDetection(Ip4Address address, Instant now);
  void StopConflictDetection(Ip4Address address) { acd_.erase(address); }

  void set_failure_handler(FailureHandler h) { on_failure_ = std::move(h); }
  void set_conflict_handler(ConflictHandler h) { on_conflict_ = std::move(h); }

  void Poll(Instant now);
  Instant NextDeadline() const;

  const NeighbourCache<Ip4Address>& cache() const { return cache_; }
  NeighbourCache<Ip4Address>& cache() { return cache_; }
  const Counters<ArpCounter>& counters() const { return counters_; }
  const ArpConfig& config() const { return config_; }

 private:
  enum class AcdPhase : uint8_t { kWaiting, kProbing, kAnnouncing, kDefending };
  struct AcdState {
    AcdPhase phase = AcdPhase::kWaiting;
    int sent = 0;             // probes or announcements sent in the current phase
    Instant next = Instant::Infinite();
    Instant last_defence = Instant::Infinite();  // Infinite: never defended
  };

  // NeighbourCache::Actions
  void SendSolicitation(const Ip4Address& target, std::optional<MacAddress> unicast,
                        Instant now) override;
  void TransmitQueued(const Ip4Address& target, const MacAddress& mac, Packet packet) override;
  void ResolutionFailed(const Ip4Address& target, std::vector<Packet> dropped,
                        Instant now) override;

  void Send(const MacAddress& dst, const ArpPacket& packet);
  // RFC 5227 §2.1.1 / §2.4: does this packet show someone else using one of our addresses?
  void CheckConflict(const ArpView& arp, Instant now);
  void Conflict(Ip4Address address, MacAddress mac, Instant now);
  Duration RandomBetween(Duration lo, Duration hi);

  Interface* iface_;
  Ip4AddressTable* addresses_;
  Random* random_;
  ArpConfig config_;
  NeighbourCache<Ip4Address> cache_;
  absl::flat_hash_map<Ip4Address, AcdState, AddressHash> acd_;
  FailureHandler on_failure_;
  ConflictHandler on_conflict_;
  Counters<ArpCounter> counters_;
};

}  // namespace pytcp
