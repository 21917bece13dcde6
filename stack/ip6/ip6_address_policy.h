// Default address selection for IPv6 (RFC 6724): the scope of an address, the default
// policy table (precedence and label), common prefix length, and the destination address
// ordering that getaddrinfo() applies to a name's answers.
//
// RFCs to read: RFC 6724 §2.1 (the default policy table), §3.1-§3.2 (scopes, IPv4
// addresses seen as IPv4-mapped), §6 (destination address selection rules 1-10), §10.2
// (worked examples).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "stack/net/ip6_address.h"
#include "stack/net/ip_address.h"

namespace pytcp {

// RFC 6724 §3.1 (multicast: the scope field) and §3.2 (an IPv4 address, as v4-mapped:
// loopback and 169.254/16 link-local, everything else global).
int AddressScope(const Ip6Address& a);
// RFC 6724 §2.1 default policy table.
int PolicyPrecedence(const Ip6Address& a);
int PolicyLabel(const Ip6Address& a);
// Leading bits `a` and `b` have in common (0-128).
int CommonPrefixLength(const Ip6Address& a, const Ip6Address& b);

// One answer to order: the destination and the source address this host would use to reach
// it (nullopt: none, the destination is unusable, rule 1).
struct DestinationCandidate {
  IpAddress destination;
  std::optional<IpAddress> source;
  bool source_deprecated = false;  // rule 3
  int source_prefix_length = 64;   // rule 9 compares no further than the source's prefix
};

// Sorts `candidates` by RFC 6724 §6 rules 1, 2, 3, 5, 6, 8, 9 and 10 (a stable sort: rule
// 10 keeps the original order). Rules 4 (home addresses) and 7 (native transport) do not
// apply to a host without Mobile IPv6 or tunnels.
void SortDestinations(std::span<DestinationCandidate> candidates);

}  // namespace pytcp
