// Whether two sockets' bound addresses overlap, decided as Linux decides it for bind()
// and listen() conflicts of TCP and UDP: inet_rcv_saddr_equal(sk, sk2, match_wildcard)
// with ipv4_rcv_saddr_equal / ipv6_rcv_saddr_equal (net/ipv4/inet_connection_sock.c).
//
// It covers AF_INET against AF_INET6 sockets, v4-mapped binds (RFC 4291 §2.5.5.2),
// IPV6_V6ONLY, `::` against `0.0.0.0`, and LOOPBACK4_IPV6: an AF_INET6 socket whose local
// address is a non-mapped, specific IPv6 address carries 127.0.0.6 as its IPv4 address
// in these comparisons (__inet6_bind, tcp_v6_connect). The reuse options
// (SO_REUSEADDR, SO_REUSEPORT) are the callers' business.
//
// Checked against Linux 6.18 on loopback (every pair of 0.0.0.0, 127.0.0.1, 127.0.0.6,
// `::` with and without IPV6_V6ONLY, ::1, ::ffff:127.0.0.1, ::ffff:0.0.0.0, for TCP and
// UDP; tests/net/bind_overlap_test.cc holds that table). One difference: since Linux 6.1
// looks conflicts up by address (bhash2), a new AF_INET socket binding exactly 127.0.0.6
// beside an AF_INET6 *connection* on that port succeeds there; here it is refused, as
// inet_rcv_saddr_equal says.
#pragma once

#include "stack/net/ip_address.h"

namespace pytcp {

// A socket's local address as the bind rules see it.
struct BindKey {
  // As bound (IPv4 as v4-mapped). For an AF_INET socket the IPv6 unspecified address
  // `::` means 0.0.0.0 as well (an unbound socket's default).
  IpAddress ip;
  bool ipv6 = false;    // an AF_INET6 socket
  // IPV6_V6ONLY. Linux also sets it when an AF_INET6 socket binds a specific,
  // non-mapped IPv6 address (__inet6_bind); the caller passes the effective value.
  bool v6only = false;
};

// inet_rcv_saddr_equal(sk = `a` (the new user), sk2 = `b` (an existing one),
// match_wildcard). Not symmetric: only `b`'s IPV6_V6ONLY counts when `a` is AF_INET.
bool BindAddressesOverlap(const BindKey& a, const BindKey& b, bool match_wildcard = true);

// The IPV6_V6ONLY an AF_INET6 socket has once bound to `ip`: __inet6_bind sets it for
// any address but `::` and the v4-mapped ones. For AF_INET sockets false.
bool EffectiveV6only(const BindKey& key);

}  // namespace pytcp
