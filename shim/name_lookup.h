// The order in which the shim answers a name (glibc's resolver cannot be used: it calls
// its own internal socket functions, which interposition cannot see): a numeric address,
// then the hosts file, then DNS through the stack (dns_client.h).
//
// DNS servers: the stack's (PYTCP_DNS, else learned from DHCP); when it has none, the
// IPv4 nameservers of /etc/resolv.conf (one on 127.0.0.0/8 is reached through the kernel,
// as every loopback socket is). Search domains: resolv.conf's "search" (or "domain") line,
// tried after the name itself when it has a dot, before it when it has none (ndots:1),
// never for a name with a trailing dot.
//
// The stack has no IPv6 yet, so a name looked up for AF_UNSPEC yields IPv4 addresses only,
// as glibc's AI_ADDRCONFIG does on a host without IPv6; AF_INET6 asks for AAAA records.
#pragma once

#include <netdb.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/net/ip4_address.h"
#include "stack/net/ip6_address.h"
#include "stack/net/ip_address.h"

namespace pytcp::shim {

struct NameResult {
  int error = 0;  // 0, or EAI_NONAME (no such name), EAI_NODATA (no address of that
                  // family), EAI_AGAIN (no server answered; try again later)
  std::string canonical;
  std::vector<std::string> aliases;
  std::vector<Ip4Address> v4;
  std::vector<Ip6Address> v6;
  uint32_t scope_id = 0;  // of a numeric IPv6 address with a zone ("fe80::1%2")
};

// A numeric address: inet_aton's forms for IPv4 ("10.1", "0x7f.1"), RFC 4291 text for IPv6
// with an optional zone (interface name or number).
std::optional<Ip4Address> ParseNumeric4(const char* text);
std::optional<Ip6Address> ParseNumeric6(const char* text, uint32_t* scope_id);

// `family` is AF_INET or AF_INET6. numeric_only: AI_NUMERICHOST.
NameResult LookupName(const char* name, int family, bool numeric_only);

// Reverse: the hosts file's name for an address, if any.
std::optional<std::string> LookupAddress(bool v6, const Ip4Address& a4, const Ip6Address& a6);

// AI_ADDRCONFIG for AF_INET6: the stack has an IPv6 address beyond link-local (SLAAC or
// static), as glibc's check for a configured global IPv6 address.
bool StackHasIp6Address();

// RFC 6724 §6: the order in which getaddrinfo() returns `destinations` (indices into it),
// from the source address the stack would use for each (glibc sorts the same way with the
// kernel's choice of source).
std::vector<size_t> DestinationOrder(const std::vector<IpAddress>& destinations);

}  // namespace pytcp::shim
