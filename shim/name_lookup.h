// How the shim answers a name or an address (glibc's resolver cannot be used: it calls
// its own internal socket functions, which interposition cannot see), in glibc's order:
// a numeric address, then the sources of nsswitch.conf's "hosts" line (nsswitch_conf.h:
// "files" is /etc/hosts, "dns" is DNS through the stack, other sources are skipped), with
// its [STATUS=ACTION] criteria.
//
// DNS servers: the stack's (PYTCP_DNS, else learned from DHCP and router advertisements);
// when it has none, the nameservers of /etc/resolv.conf, IPv4 or IPv6 (one on 127.0.0.0/8
// is reached through the kernel, as every loopback socket is, unless PYTCP_LOOPBACK=stack);
// with none there either, 127.0.0.1 as glibc. resolv.conf's search list and options
// (ndots, timeout, attempts, rotate, edns0) apply to every server (resolv_conf.h).
//
// Errors are glibc's h_errno values, set as its nss "dns" and "files" modules set them
// (the last source asked decides): HOST_NOT_FOUND (NXDOMAIN, not in the file), NO_DATA
// (the name exists without records of that type), TRY_AGAIN (no server answered, or every
// one failed), NO_RECOVERY (FORMERR and the like; or no source at all could be asked).
// getaddrinfo's EAI_ codes follow from them as in glibc's gaih_inet.
//
// Reverse lookups ask DNS for the PTR record (RFC 1035 §3.5, RFC 3596 §2.5; reverse_name.h)
// of the address, an IPv4-mapped or -compatible IPv6 address as its IPv4 address (glibc);
// the first PTR record of the name, CNAMEs followed, is the answer, as glibc takes it.
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
  int error = 0;   // 0, or EAI_NONAME (no such name), EAI_NODATA (no address of that
                   // family), EAI_AGAIN (no server answered; try again later)
  int herrno = 0;  // 0, or the h_errno value of the failure (see above)
  bool unavailable = false;  // the last source could not ask (nss status UNAVAIL)
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

// `family` is AF_INET, AF_INET6 or AF_UNSPEC (both, in one pass over the sources, as glibc's
// gethostbyname4_r). numeric_only: AI_NUMERICHOST.
NameResult LookupName(const char* name, int family, bool numeric_only);

// Reverse: the name of an address (hosts file, PTR record) and, from the hosts file, its
// aliases.
struct AddressResult {
  int herrno = 0;  // 0: found
  bool unavailable = false;  // as in NameResult
  std::string name;
  std::vector<std::string> aliases;
};
AddressResult LookupAddress(bool v6, const Ip4Address& a4, const Ip6Address& a6);

// getaddrinfo's code for a failure (glibc 2.36's gaih_inet, checked in the lab): NO_DATA is
// EAI_NODATA; TRY_AGAIN is EAI_AGAIN, except on the path where glibc asks gethostbyname2_r
// (AF_INET without AI_CANONNAME) and that returned "not found" because the last query had
// an answer (a search list's NXDOMAIN after a REFUSED); the rest is EAI_NONAME.
int EaiFor(int herrno, bool unavailable, bool by_gethostbyname2);

// AI_ADDRCONFIG's test for IPv6, as glibc's (__check_pf): the stack has an IPv6 address
// other than ::1 (a link-local one counts). With the shared stack (pytcpd) the program
// does not see the daemon's addresses, and this is false.
bool StackHasIp6Address();

// RFC 6724 §6: the order in which getaddrinfo() returns `destinations` (indices into it),
// from the source address the stack would use for each (glibc sorts the same way with the
// kernel's choice of source).
std::vector<size_t> DestinationOrder(const std::vector<IpAddress>& destinations);

}  // namespace pytcp::shim
