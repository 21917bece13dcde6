// The DNS names under which an address's PTR record lives, and the text of a PTR target.
//
// RFC 1035 §3.5: an IPv4 address a.b.c.d is asked as "d.c.b.a.in-addr.arpa".
// RFC 3596 §2.5: an IPv6 address as its 32 nibbles, least significant first, each a
// lowercase hexadecimal digit, under "ip6.arpa".
#pragma once

#include <string>

#include "stack/net/ip4_address.h"
#include "stack/net/ip6_address.h"
#include "stack/wire/dns.h"

namespace pytcp::shim {

std::string ReverseName(const Ip4Address& a);
std::string ReverseName(const Ip6Address& a);

// A name from a record as glibc's ns_name_ntop writes it (RFC 1035 §5.1 master-file
// escapes): '.' '\' '"' ';' '(' ')' '@' '$' inside a label are preceded by '\', bytes
// outside the printable ASCII range become "\DDD". A PTR target with a dot or a NUL byte
// inside a label cannot then pass for another name.
std::string DnsNameText(const DnsNameView& name);

}  // namespace pytcp::shim
