// A DHCPv4 lease: the configuration a client learned from a DHCPACK and the timers that
// govern it.
//
// RFCs to read: RFC 2131 §3.3 (lease times, 0xffffffff is infinity), §4.4.1 (the lease runs
// from the time the request was sent), §4.4.5 (T1 and T2 and their defaults); RFC 2132 §3.3
// (subnet mask), §3.5 (routers), §3.8 (DNS servers), §3.17 (domain name), §5.1 (interface
// MTU), §9.2 (lease time), §9.7 (server identifier), §9.11/§9.12 (T1/T2); RFC 1122 §3.2.2.9
// (no mask known: assume no subnetting) with RFC 791 §2.3 (the class of an address).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/clock.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/net/ip4_address.h"
#include "stack/net/ip4_network.h"
#include "stack/wire/dhcp4.h"

namespace pytcp {

// RFC 2131 §3.3: a lease time of 0xffffffff seconds means "infinity".
inline constexpr uint32_t kDhcp4InfiniteLease = 0xffffffffu;

struct Dhcp4Lease {
  // yiaddr with the prefix of option 1; without option 1, the class mask of the address
  // (RFC 1122 §3.2.2.9: a host that learns no mask assumes no subnetting). A fixed /24
  // would be wrong for 10/8 and 172.16/12 networks that are not subnetted.
  Ip4Interface address;
  Ip4Address server_id;              // option 54
  std::optional<Ip4Address> router;  // the first usable address of option 3
  std::vector<Ip4Address> dns;       // option 6, unusable entries dropped
  std::optional<uint16_t> mtu;       // option 26
  std::string domain;                // option 15, "" when absent or not a domain name
  // Options 51/58/59, whole seconds. T1 defaults to 0.5 and T2 to 0.875 of the lease
  // (RFC 2131 §4.4.5), rounded down to a second; out-of-order values fall back to them.
  Duration lease_time{0};
  Duration t1{0};
  Duration t2{0};
  // RFC 2131 §4.4.1: "the client records the lease expiration time as the sum of the time
  // at which the original request was sent and the duration of the lease". `requested` is
  // when the first transmission of the DHCPREQUEST that got this ACK was sent; T1, T2 and
  // the expiry count from it, so our view of the lease never outlives the server's.
  Instant requested;
  Instant acquired;  // when the ACK arrived (informational)

  bool infinite() const { return lease_time == std::chrono::seconds(kDhcp4InfiniteLease); }
  // Instant::Infinite() for an infinite lease.
  Instant renew_at() const { return infinite() ? Instant::Infinite() : requested + t1; }
  Instant rebind_at() const { return infinite() ? Instant::Infinite() : requested + t2; }
  Instant expires_at() const { return infinite() ? Instant::Infinite() : requested + lease_time; }

  // Same configuration for the stack (address, prefix, router, DNS, MTU, domain); the timers
  // and the server may differ.
  bool SameConfiguration(const Dhcp4Lease& o) const {
    return address == o.address && router == o.router && dns == o.dns && mtu == o.mtu &&
           domain == o.domain;
  }
  bool operator==(const Dhcp4Lease&) const = default;
};

// Why a DHCPOFFER or DHCPACK is unusable. The client counts each reason separately.
PYTCP_NAMED_ENUM(Dhcp4LeaseError, uint8_t,
  kBadAddress,    // yiaddr is 0/8, loopback, multicast, class E, broadcast, or the subnet's
                  // network or broadcast address
  kBadMask,       // option 1 is not a contiguous mask, or is 0.0.0.0
  kNoServerId,    // RFC 2131 Table 3: option 54 MUST be in DHCPOFFER and DHCPACK
  kBadServerId,   // option 54 is not a unicast address
  kNoLeaseTime,   // RFC 2131 Table 3: option 51 MUST be in a DHCPACK to a DHCPREQUEST
  kBadLeaseTime,  // option 51 is zero
);

// The class mask prefix of an address (RFC 791 §2.3): A /8, B /16, C /24; D and E have none.
std::optional<uint8_t> Ip4ClassPrefix(Ip4Address a);

// A usable unicast address: not 0/8, loopback, multicast, class E or 255.255.255.255.
bool IsUsableUnicast(Ip4Address a);

// The interface address offered in `reply` (yiaddr + mask, see Dhcp4Lease::address).
Result<Ip4Interface, Dhcp4LeaseError> OfferedInterface(const Dhcp4View& reply);
// The server identifier of `reply` (present and unicast).
Result<Ip4Address, Dhcp4LeaseError> ReplyServerId(const Dhcp4View& reply);

// The lease a DHCPACK grants. `requested` is the timer base (see Dhcp4Lease::requested).
Result<Dhcp4Lease, Dhcp4LeaseError> LeaseFromAck(const Dhcp4View& ack, Instant requested,
                                                 Instant now);

// A domain name as option 15 may carry it: letters, digits, '-', '_' and '.', at most 253
// characters; trailing NULs (some servers count a terminator) and one trailing dot are
// removed. Anything else gives "" so the name can go into resolver state and text files.
std::string CleanDomainName(std::string_view raw);

}  // namespace pytcp
