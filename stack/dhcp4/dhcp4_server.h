// A small DHCPv4 server for one interface of a router (issue 18): hosts behind it take an
// address from a pool, the router as their gateway, and its DNS servers.
//
// RFCs to read: RFC 2131 (§4.3 the server's side: DHCPDISCOVER, DHCPREQUEST in each client
// state, DHCPDECLINE, DHCPRELEASE, DHCPINFORM; §4.1 where a reply goes; §3.1 "the server
// SHOULD probe" is left out: the pool is the operator's), RFC 2132 (options).
//
// Pure state: messages in, replies out, time passed in. The server is authoritative for
// its network (a request for an address not leased to the client there is NAKed, as
// dnsmasq's dhcp-authoritative). Relays (giaddr) are not served.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "stack/base/clock.h"
#include "stack/base/counters.h"
#include "stack/net/ip4_address.h"
#include "stack/net/ip4_network.h"
#include "stack/net/mac_address.h"
#include "stack/wire/dhcp4.h"

namespace pytcp {

PYTCP_COUNTERS(Dhcp4ServerCounter,
  kRxMessages,
  kRxDropInvalid,   // not a request, relayed, or no client hardware address
  kTxOffers,
  kTxAcks,
  kTxNaks,
  kPoolExhausted,   // a DHCPDISCOVER no free address could answer
  kDeclines,
  kReleases,
);

struct Dhcp4ServerConfig {
  Ip4Interface server;  // the interface's address: server identifier, router, subnet mask
  Ip4Address first;     // the pool, inclusive
  Ip4Address last;
  Duration lease_time = std::chrono::hours(1);
  Duration offer_hold = std::chrono::seconds(30);  // how long an offered address is kept
  std::vector<Ip4Address> dns;
};

class Dhcp4Server {
 public:
  struct Reply {
    std::vector<uint8_t> message;
    Ip4Address to;     // the IP destination: limited broadcast, ciaddr or yiaddr
    MacAddress to_mac;  // for a unicast to yiaddr: the client's MAC (no ARP: it has no address yet)
    bool broadcast = false;
  };

  explicit Dhcp4Server(Dhcp4ServerConfig config) : config_(std::move(config)) {}

  std::optional<Reply> Receive(ByteSpan message, Instant now);

  struct Lease {
    std::vector<uint8_t> client;  // client identifier (option 61), else htype + chaddr
    MacAddress mac;
    Ip4Address address;
    Instant expires;
    bool bound = false;     // ACKed (else offered, or declined when `client` is empty)
  };
  const std::vector<Lease>& leases() const { return leases_; }
  const Dhcp4ServerConfig& config() const { return config_; }
  const Counters<Dhcp4ServerCounter>& counters() const { return counters_; }

 private:
  Lease* FindByClient(ByteSpan client, Instant now);
  Lease* FindByAddress(Ip4Address address, Instant now);
  bool InPool(Ip4Address a) const {
    return a.value() >= config_.first.value() && a.value() <= config_.last.value();
  }
  // The address for a DISCOVER: the client's own, the one it asks for if free, the first free.
  std::optional<Ip4Address> Choose(ByteSpan client, std::optional<Ip4Address> requested, Instant now);
  Reply Answer(const Dhcp4View& request, Dhcp4MessageType type, Ip4Address yiaddr, bool with_lease);
  Reply Nak(const Dhcp4View& request);

  Dhcp4ServerConfig config_;
  std::vector<Lease> leases_;
  Counters<Dhcp4ServerCounter> counters_;
};

}  // namespace pytcp
