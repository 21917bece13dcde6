// DHCPv4 client (RFC 2131, RFC 2132) as a pure state machine: messages and `now` in,
// messages and lease events out through Actions, the next deadline reported.
//
// RFCs to read: RFC 2131 §3.1 (the DORA exchange), §3.2 (INIT-REBOOT with a remembered
// address), §4.1 (retransmission: 4 s doubling to 64 s, ±1 s), §4.3.2 (what the server does
// with each kind of DHCPREQUEST), §4.4 and Figure 5 (the client states), §4.4.1 (building
// messages, the lease timer base, DECLINE), §4.4.5 (T1/T2, RENEWING and REBINDING
// retransmission), §4.4.6 (RELEASE), Table 5 (fields and options per message); RFC 2132
// §9.6 (message type), §9.14 (client identifier); RFC 5227 (the conflict check the stack
// runs on an acquired address).
//
// Choices made here, and why:
//  - No initial delay. RFC 2131 §4.4.1 asks for a random 1-10 s wait before the first
//    DISCOVER, to spread a site-wide power-on storm. A preloaded program (curl) starts the
//    stack on its first socket and cannot wait seconds for an address; a single host
//    starting is not a storm. DISCOVER goes out in Start().
//  - Faster retransmission. §4.1 suggests 4 s, 8 s, ... 64 s. The first timeout here is
//    Config::initial_timeout (1 s), doubling to 64 s: 1, 2, 4, 8, 16, 32, 64, 64 ... A lost
//    first DISCOVER on a lab bridge would otherwise cost a preloaded program 4 s. The
//    randomisation is §4.1's ±1 s, scaled down to ±25% while the timeout is under 4 s (±1 s
//    around 1 s would allow a 0 s retransmission).
//  - The broadcast flag is set on DISCOVER and on REQUESTs sent without an address
//    (SELECTING, INIT-REBOOT). §4.1 lets a client that can take unicast before it is
//    configured leave it clear, and the stack can accept any unicast while DHCP runs; but
//    the flag also makes the exchange work through relays and servers that would otherwise
//    unicast to an address the stack does not yet answer ARP for, and it costs nothing on
//    a LAN. RENEWING/REBINDING have an address and leave it clear.
//  - REQUESTING gives up after Config::request_attempts transmissions and INIT-REBOOT after
//    Config::reboot_attempts (§3.1.5, §3.2: "after employing the retransmission algorithm"),
//    then restart from INIT. After INIT-REBOOT times out the remembered address is not used
//    (§3.2 makes that a MAY): it may belong to another network now. DISCOVER then asks for it
//    (option 50), and an OFFER of it is preferred for Config::offer_wait over a first other
//    OFFER -- unless that OFFER shows another network than the remembered lease's (another
//    subnet or router, or a server outside the remembered subnet): then the remembered
//    lease is forgotten (its cache too, Actions::OnCachedLeaseStale) and the OFFER taken at
//    once.
//  - INIT-REBOOT is short: 2 REQUESTs, Config::reboot_initial_timeout (300 ms) apart and
//    doubling (±25%), so DISCOVER follows after 0.9 s (at most 1.125 s). On another network
//    than the remembered one the servers stay silent (§4.3.2: a server with no record of
//    the client "MUST remain silent"), and §3.2/§4.4.2 let the client then restart in INIT;
//    an authoritative server on the same network answers a local broadcast within
//    milliseconds, and §4.1 asks for a delay fitted to "the characteristics of the
//    internetwork". A preloaded program waits at most 5 s for an address at start-up, so a
//    stale cache must cost well under that: INIT-REBOOT + DORA + optimistic ACD fit in 2 s.
//    A NAK to INIT-REBOOT (§3.2 step 3: the address is wrong for this network) forgets the
//    cache at once; the next lease replaces it.
//  - Timers run from the first transmission of the REQUEST that got the ACK (§4.4.1 "the
//    time at which the original request was sent"): never later than the server's own
//    lease start. See Dhcp4Lease::requested.
//  - Consecutive NAKs back off (0 s, then 1 s doubling to 60 s) so a server that NAKs its
//    own offers does not make us loop at network speed; a bound lease resets the count.
//  - Every received message is checked strictly (op, xid, chaddr, message type, yiaddr,
//    server id, lease time, mask) and dropped with a counter per reason otherwise.
//
// Contract with the stack: Actions are called at the end of each transition, with the
// client's state already updated, and must not call back into the client. OnLeaseAcquired
// may come for an address that is already configured when a renewal changed the
// configuration (router, DNS, MTU, domain, prefix): update it, do not re-run conflict
// detection. The stack runs conflict detection on a new address and reports a conflict with
// OnAddressConflict(), which DECLINEs (§4.4.1) and restarts INIT after Config::decline_wait.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/clock.h"
#include "stack/base/counters.h"
#include "stack/base/random.h"
#include "stack/dhcp4/dhcp4_lease.h"
#include "stack/dhcp4/dhcp4_lease_file.h"
#include "stack/net/ip4_address.h"
#include "stack/net/mac_address.h"
#include "stack/wire/dhcp4.h"

namespace pytcp {

// RFC 2131 Figure 5. kInit is observable only while waiting to restart (after a DECLINE or
// repeated NAKs); kInitReboot is passed through inside Start().
enum class Dhcp4State : uint8_t {
  kInit,
  kSelecting,
  kRequesting,
  kInitReboot,
  kRebooting,
  kBound,
  kRenewing,
  kRebinding,
  kStopped,
};
std::string_view ToString(Dhcp4State s);

PYTCP_COUNTERS(Dhcp4Counter,
  kRxMessages,
  kRxDropMalformed,   // Dhcp4View::Parse failed
  kRxDropNotReply,    // op is BOOTREQUEST (another client's message)
  kRxDropUnexpected,  // not waiting for a reply, or a message type this state does not take
  kRxDropBadXid,
  kRxDropBadChaddr,   // not our MAC (or not Ethernet)
  kRxDropBadAddress,  // yiaddr unusable, or not the address we asked for
  kRxDropBadMask,
  kRxDropNoServerId,
  kRxDropBadServerId,
  kRxDropWrongServer,  // REQUESTING: an ACK/NAK from a server we did not select
  kRxDropNoLeaseTime,
  kRxDropBadLeaseTime,
  kRxOffers,         // valid OFFERs
  kRxOffersIgnored,  // valid OFFERs not selected (a second server, or a non-preferred one)
  kRxAcks,           // valid ACKs
  kRxNaks,
  kTxDiscovers,
  kTxRequests,
  kTxDeclines,
  kTxReleases,
  kTxRetransmissions,  // DISCOVERs and REQUESTs after the first of their exchange
  kRequestTimeouts,    // REQUESTING or INIT-REBOOT gave up and went back to INIT
  kLeasesAcquired,     // OnLeaseAcquired calls
  kLeasesRenewed,      // OnLeaseRenewed calls
  kLeasesLost,         // OnLeaseLost calls
  kConflicts,          // OnAddressConflict with a lease (DECLINE sent)
);

// Largest DHCP message (IP datagram) we accept, sent as option 57 (RFC 2132 §9.10): a
// 1500-byte Ethernet MTU.
inline constexpr uint16_t kDhcp4ClientMaxMessageSize = 1500;

struct Dhcp4ClientConfig {
  std::string hostname;  // option 12 in DISCOVER and REQUEST when not empty
  // Option 61 (RFC 2132 §9.14). Empty: hardware type 1 followed by the MAC. Otherwise type
  // 0 ("not a hardware address") followed by these bytes. Sent in every message (RFC 2131
  // §4.2: a client that uses one MUST use it in all).
  std::string client_id;
  Duration initial_timeout = 1s;      // first retransmission timeout (see the file comment)
  Duration max_timeout = 64s;         // RFC 2131 §4.1
  bool randomize = true;              // §4.1 ±1 s; tests turn it off to assert exact timings
  int request_attempts = 4;           // REQUESTING transmissions before INIT (1+2+4+8 = 15 s)
  int reboot_attempts = 2;            // INIT-REBOOT transmissions before INIT (0.3+0.6 s)
  Duration reboot_initial_timeout = 300ms;  // INIT-REBOOT's first timeout (file comment)
  Duration offer_wait = 500ms;        // how long a non-preferred first OFFER waits (see above)
  Duration decline_wait = 10s;        // RFC 2131 §3.1.5: "wait a minimum of ten seconds"
  Duration renew_min_interval = 60s;  // RFC 2131 §4.4.5: "down to a minimum of 60 seconds"
};

class Dhcp4Client {
 public:
  class Actions {
   public:
    virtual ~Actions() = default;
    // Send a DHCP message (the UDP payload) from port 68 to port 67. src is 0.0.0.0 or the
    // leased address; dst is 255.255.255.255 or the server (unicast RENEWING and RELEASE).
    virtual void SendDhcp(ByteSpan message, Ip4Address src, Ip4Address dst) = 0;
    // New or changed lease: the stack adds the address (ACD runs), routes, DNS.
    virtual void OnLeaseAcquired(const Dhcp4Lease& lease) = 0;
    // Same configuration, new timers.
    virtual void OnLeaseRenewed(const Dhcp4Lease& lease) = 0;
    // Expired, NAK'd, declined or released: the stack removes the address.
    virtual void OnLeaseLost(const Dhcp4Lease& lease) = 0;
    // The lease given to Start() belongs to another network (a NAK to INIT-REBOOT, or an
    // OFFER from another subnet, server or router): the stack forgets its cache.
    virtual void OnCachedLeaseStale() {}
  };
  using Config = Dhcp4ClientConfig;

  Dhcp4Client(MacAddress mac, Random* random, Actions* actions, Config config = {});

  // INIT (a DISCOVER at once), or INIT-REBOOT (RFC 2131 §3.2) from a cached lease: only its
  // address is used (its timers are meaningless in this process); the caller decides
  // whether the cache is fresh enough (ParseLease gives its wall-clock expiry). Restarts
  // from scratch when called again; a lease held then is lost (OnLeaseLost).
  void Start(Instant now, std::optional<Dhcp4Lease> cached = std::nullopt);
  // The UDP payload of a datagram to port 68; `src` is its IPv4 source (for logs).
  void Receive(ByteSpan message, Ip4Address src, Instant now);
  // ACD found the leased address in use: DECLINE (broadcast), OnLeaseLost, and restart INIT
  // after Config::decline_wait (RFC 2131 §3.1.5, §4.4.1). Ignored without a lease.
  void OnAddressConflict(Instant now);
  // DHCPRELEASE (unicast to the server, RFC 2131 §4.4.6) when a lease is held, then stop.
  void Release(Instant now);
  void Poll(Instant now);
  Instant NextDeadline() const;

  Dhcp4State state() const { return state_; }
  const std::optional<Dhcp4Lease>& lease() const { return lease_; }
  // The transaction id of the current (or last) exchange.
  uint32_t xid() const { return xid_; }
  const Counters<Dhcp4Counter>& counters() const { return counters_; }
  const Config& config() const { return config_; }
  MacAddress mac() const { return mac_; }

 private:
  struct Offer {
    Ip4Address address;
    Ip4Address server;
  };

  void EnterInit(Instant now, Duration delay);
  void StartDiscover(Instant now);
  void SelectOffer(const Offer& offer, Instant now);
  void EnterRenewing(Instant now);
  void EnterRebinding(Instant now);
  void Expire(Instant now);
  // Sends (or resends) the message of the current state and arms the next timeout.
  void Transmit(Instant now);
  void Step(Instant now);

  void HandleOffer(const Dhcp4View& v, Instant now);
  void HandleAck(const Dhcp4View& v, Instant now);
  void HandleNak(const Dhcp4View& v, Instant now);
  bool AwaitingReply() const;
  void Drop(Dhcp4Counter c, std::string_view why = {});
  void DropLeaseError(Dhcp4LeaseError e);
  // Clears the lease and reports it lost.
  void LoseLease(std::string_view why);
  // The lease given to Start() is from another network: no longer asked for, cache dropped.
  void ForgetCached(std::string_view why);
  // Whether an OFFER shows another network than the cached lease (subnet, server, router).
  bool OtherNetworkThanCached(const Ip4Interface& offered, Ip4Address server,
                              std::optional<Ip4Address> router) const;

  Duration Backoff(int sent);
  Instant RenewRetryAt(Instant now, Instant end) const;
  uint32_t NewXid();
  uint16_t Secs(Instant now) const;
  // A client message with the options every message carries (client id).
  void Send(Dhcp4Message m, Ip4Address src, Ip4Address dst);
  void AddRequestOptions(Dhcp4Message* m) const;

  MacAddress mac_;
  Random* random_;
  Actions* actions_;
  Config config_;
  std::vector<uint8_t> client_id_;

  Dhcp4State state_ = Dhcp4State::kStopped;
  uint32_t xid_ = 0;
  int sent_ = 0;            // transmissions in the current exchange
  Instant exchange_start_;  // for the secs field (RFC 2131 §2)
  Instant first_request_;   // timer base of the lease being requested
  Instant next_tx_ = Instant::Infinite();
  std::optional<Offer> held_offer_;  // SELECTING: a first, non-preferred OFFER
  Instant offer_deadline_ = Instant::Infinite();
  Ip4Address requested_;                 // REQUESTING/REBOOTING: the address asked for
  Ip4Address server_;                    // REQUESTING: the selected server
  std::optional<Ip4Address> preferred_;  // an address to ask for again
  std::optional<Dhcp4Lease> cached_;     // the lease given to Start(), until known good or stale
  int naks_ = 0;                         // consecutive NAKs since the last bound lease
  std::optional<Dhcp4Lease> lease_;
  std::array<uint8_t, 1024> tx_{};
  Counters<Dhcp4Counter> counters_;
};

}  // namespace pytcp
