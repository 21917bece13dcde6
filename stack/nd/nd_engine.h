// IPv6 Neighbour Discovery and stateless address autoconfiguration for a host: address
// resolution and NUD through the shared NeighbourCache, duplicate address detection (also
// optimistic), link-local addresses (EUI-64 or RFC 7217 stable-privacy interface ids),
// router solicitation with backoff, router advertisement processing (default routers,
// on-link prefixes, SLAAC with lifetimes, MTU, hop limit, timers, RDNSS) and Redirect.
//
// RFCs to read: RFC 4861 (§6.3.4 RA processing, §6.3.7 RS, §7.1 validation, §7.2 address
// resolution, §7.2.4/§7.2.5 NS and NA, §8.3 Redirect), RFC 4862 (§5.3 link-local, §5.4 DAD,
// §5.5.3 prefix processing with the two-hour rule), RFC 4429 (optimistic DAD), RFC 7217
// (stable-privacy interface ids), RFC 7559 (RS backoff), RFC 8106 (RDNSS), RFC 4191 (router
// preference), RFC 2464 §4 (EUI-64 from an Ethernet MAC).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/counters.h"
#include "stack/base/random.h"
#include "stack/ip6/ip6_engine.h"
#include "stack/neigh/neighbour_cache.h"
#include "stack/wire/icmp6_nd.h"

namespace pytcp {

PYTCP_COUNTERS(NdCounter,
  kRxMessages,
  kRxDropInvalid,  // hop limit not 255, bad source, options against the RFC rules
  kRxNs,
  kRxNa,
  kRxRa,
  kRxRedirect,
  kTxNs,
  kTxNa,
  kTxRs,
  kDadProbes,
  kDadSucceeded,
  kDadFailed,
  kIp6Disabled,  // RFC 4862 §5.4.5: our hardware-derived link-local address is duplicated
  kSlaacAddresses,
  kTxRedirect,     // a router's Redirect (RFC 4861 §8.2)
  kRxRs,           // a router's: Router Solicitations (RFC 4861 §6.2.6)
  kTxRa,           // a router's Router Advertisements (RFC 4861 §6.2.4)
);

// RFC 4861 §6.1, §7.1: every ND message is sent with 255, the proof of on-link origin.
inline constexpr uint8_t kNdHopLimit = 255;

struct NdConfig {
  bool slaac = true;           // form addresses from RA prefixes with the A flag
  bool router = false;         // PYTCP_FORWARDING: NAs carry the R flag (RFC 4861 §7.2.4)
  // PYTCP_RA (a router only): Router Advertisements (RFC 4861 §6.2) with the /64 prefixes
  // of the static addresses, the link MTU and `rdnss` (RFC 8106), unsolicited and in
  // answer to Router Solicitations, as radvd's defaults.
  bool advertise = false;
  std::vector<Ip6Address> rdnss;
  Duration max_rtr_adv_interval = std::chrono::seconds(600);  // RFC 4861 §6.2.1 defaults
  Duration min_rtr_adv_interval = std::chrono::seconds(198);  // 0.33 * Max
  bool send_rs = true;         // RFC 4861 §6.3.7
  bool optimistic_dad = true;  // RFC 4429 for link-local and SLAAC addresses
  int dad_transmits = 1;       // RFC 4862 §5.1 DupAddrDetectTransmits
  Duration retrans_timer = 1s;  // RFC 4861 §10 RETRANS_TIMER
  Duration max_rtr_solicitation_delay = 1s;
  Duration rtr_solicitation_interval = 4s;
  int max_rtr_solicitations = 3;
  Duration max_rtr_solicitation_interval = 3600s;  // RFC 7559 §2 MRT
  // RFC 7217: when set, interface ids are F(prefix, interface, DAD counter, secret) instead
  // of the EUI-64 of the MAC.
  std::optional<std::array<uint8_t, 16>> stable_secret;
  NeighbourCacheConfig cache;
};

class NdEngine final : public NeighbourCache<Ip6Address>::Actions {
 public:
  using Packet = NeighbourCache<Ip6Address>::Packet;
  // Reports an address whose DAD failed (RFC 4862 §5.4.5).
  using ConflictHandler = std::function<void(const Ip6Address&)>;

  // ND on interface `iface` of `ip6` (the stack's, by position); each interface has one.
  NdEngine(Ip6Engine* ip6, Random* random, NdConfig config = {}, uint8_t iface = 0);
  uint8_t iface_index() const { return index_; }

  NeighbourCache<Ip6Address>& cache() { return cache_; }
  const NeighbourCache<Ip6Address>& cache() const { return cache_; }
  const NdConfig& config() const { return config_; }
  void set_conflict_handler(ConflictHandler h) { on_conflict_ = std::move(h); }

  // Brings the interface up: the link-local address (RFC 4862 §5.3) and, if configured,
  // router solicitation.
  void Start(Instant now);
  // An address to configure: it is tentative (optimistic when allowed) until DAD ends.
  void AddAddress(const Ip6Interface& ifaddr, Ip6AddressSource source, Instant now,
                  Instant preferred_until = Instant::Infinite(),
                  Instant valid_until = Instant::Infinite());
  // The interface id for `prefix`: EUI-64 or RFC 7217.
  Ip6Address::InterfaceId InterfaceIdFor(const Ip6Address& prefix, int dad_counter) const;

  // ICMPv6 types 133..137, from Icmp6Engine.
  void Receive(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now);

  // A router's Redirect (RFC 4861 §8.2) to `to`, a neighbour that sent `packet` toward
  // `destination` through us: `target` is the better first hop (a router's link-local
  // address, or the destination itself when it is on the link).
  void SendRedirect(const Ip6Address& to, const Ip6Address& target, const Ip6Address& destination,
                    ByteSpan packet, Instant now);

  // DNS servers from RDNSS options (RFC 8106), in the order received, while valid.
  std::vector<Ip6Address> dns_servers() const;

  void Poll(Instant now);
  Instant NextDeadline() const;

  const Counters<NdCounter>& counters() const { return counters_; }

  // NeighbourCache::Actions
  void SendSolicitation(const Ip6Address& target, std::optional<MacAddress> unicast_mac,
                        Instant now) override;
  void TransmitQueued(const Ip6Address& target, const MacAddress& mac, Packet packet) override;
  void ResolutionFailed(const Ip6Address& target, std::vector<Packet> dropped,
                        Instant now) override;

 private:
  struct Dad {
    Ip6Address address;
    int probes_left;
    Instant next;
    int dad_counter;  // RFC 7217 §6 retries
    Ip6Address prefix;
  };
  struct Rdnss {
    Ip6Address address;
    Instant expires;
  };

  void ReceiveNs(const Ip6PacketInfo& info, const NdNeighborSolicitView& ns, Instant now);
  void ReceiveNa(const Ip6PacketInfo& info, const NdNeighborAdvertView& na, Instant now);
  void ReceiveRa(const Ip6PacketInfo& info, const NdRouterAdvertView& ra, Instant now);
  void ReceiveRedirect(const Ip6PacketInfo& info, const NdRedirectView& rd, Instant now);
  void ProcessPrefix(const NdPrefixInfo& pi, Instant now);
  void StartDad(const Ip6Address& address, int dad_counter, const Ip6Address& prefix, Instant now);
  void DadFailed(const Ip6Address& address, Instant now);
  void SendNs(const Ip6Address& src, const Ip6Address& dst, const Ip6Address& target,
              bool with_slla, Instant now);
  void SendNa(const Ip6Address& dst, const Ip6Address& target, bool solicited, bool override_flag,
              Instant now);
  void SendRs(Instant now);
  // A router's side (nd_router.cc): RS in, RAs out.
  void ReceiveRs(const Ip6PacketInfo& info, const NdRouterSolicitView& rs, Instant now);
  void SendRa(Instant now);
  void PollAdvertising(Instant now);
  // Any ND message (hop limit 255, RFC 4861 §7.1), from :: when `src` is unspecified (DAD's
  // probes, a solicitation before any address). True when the IP layer took it.
  template <typename Message>
  bool SendNd(const Message& m, const Ip6Address& src, const Ip6Address& dst, Instant now);

  Ip6Engine* ip6_;
  uint8_t index_;
  Interface* iface_;
  Random* random_;
  NdConfig config_;
  NeighbourCache<Ip6Address> cache_;
  ConflictHandler on_conflict_;
  std::vector<Dad> dad_;
  std::vector<Rdnss> rdnss_;
  int rs_sent_ = 0;
  Duration rs_interval_{};
  Instant rs_next_ = Instant::Infinite();
  // RFC 4861 §6.3.2 BaseReachableTime (REACHABLE_TIME until an RA gives one) and when the
  // random ReachableTime drawn from it is drawn again (§6.3.4: "at least every few hours").
  static constexpr Duration kReachableTimeRedrawInterval = std::chrono::hours(2);
  void RandomizeReachableTime(Instant now);
  Duration base_reachable_time_ = std::chrono::seconds(30);
  Instant reachable_redraw_at_ = Instant::Infinite();
  bool rs_done_ = false;
  // A router's advertisements: the next unsolicited one (or the answer to a solicitation),
  // how many initial ones were sent (RFC 4861 §6.2.4), and the last multicast one.
  Instant ra_next_ = Instant::Infinite();
  int ra_initial_sent_ = 0;
  Instant ra_last_sent_ = Instant::Infinite();
  Counters<NdCounter> counters_;
};

}  // namespace pytcp
