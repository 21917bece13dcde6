#include "stack/net/bind_overlap.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace pytcp {
namespace {

IpAddress V6(std::string_view text) { return IpAddress(Ip6Address::Parse(text).value()); }
IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return IpAddress(Ip4Address(a, b, c, d)); }

// A socket as bind() leaves it: __inet6_bind makes a specific IPv6 bind IPV6_V6ONLY.
BindKey Bound(IpAddress ip, bool ipv6, bool v6only) {
  BindKey k{ip, ipv6, v6only};
  k.v6only = EffectiveV6only(k);
  return k;
}

struct Named {
  const char* name;
  BindKey key;
};

// The sockets of the table, in its row and column order.
const std::array<Named, 9> kSockets = {{
    {"AF_INET 0.0.0.0", Bound(V4(0, 0, 0, 0), false, false)},
    {"AF_INET 127.0.0.1", Bound(V4(127, 0, 0, 1), false, false)},
    {"AF_INET 127.0.0.6", Bound(V4(127, 0, 0, 6), false, false)},
    {"AF_INET6 ::", Bound(IpAddress(), true, false)},
    {"AF_INET6 :: V6ONLY", Bound(IpAddress(), true, true)},
    {"AF_INET6 ::1", Bound(V6("::1"), true, false)},
    {"AF_INET6 ::ffff:127.0.0.1", Bound(V4(127, 0, 0, 1), true, false)},
    {"AF_INET6 ::ffff:0.0.0.0", Bound(V4(0, 0, 0, 0), true, false)},
    {"AF_INET6 ::ffff:127.0.0.6", Bound(V4(127, 0, 0, 6), true, false)},
}};

// Linux 6.18 on loopback, TCP and UDP alike (the same table), no reuse options: row = the
// socket bound first, column = the socket bound second; 'X' = EADDRINUSE.
const std::array<std::string, 9> kLinux = {
    "XXXX..XXX",  // AF_INET 0.0.0.0
    "XX.X..XX.",  // AF_INET 127.0.0.1
    "X.XX...XX",  // AF_INET 127.0.0.6
    "XXXXXXXXX",  // AF_INET6 ::
    "...XXX...",  // AF_INET6 :: V6ONLY
    "...XXX...",  // AF_INET6 ::1
    "XX.X..XX.",  // AF_INET6 ::ffff:127.0.0.1
    "XXXX..XXX",  // AF_INET6 ::ffff:0.0.0.0
    "X.XX...XX",  // AF_INET6 ::ffff:127.0.0.6
};

TEST(BindAddressesOverlap, MatchesLinuxTable) {
  for (size_t old = 0; old < kSockets.size(); ++old) {
    for (size_t now = 0; now < kSockets.size(); ++now) {
      SCOPED_TRACE(std::string("existing ") + kSockets[old].name + ", new " + kSockets[now].name);
      EXPECT_EQ(BindAddressesOverlap(kSockets[now].key, kSockets[old].key), kLinux[old][now] == 'X');
    }
  }
}

TEST(BindAddressesOverlap, SpecificIpv6BindIsV6only) {
  EXPECT_TRUE(EffectiveV6only({V6("fd77::1"), true, false}));
  EXPECT_FALSE(EffectiveV6only({IpAddress(), true, false}));
  EXPECT_FALSE(EffectiveV6only({V4(10, 77, 0, 1), true, false}));
  EXPECT_TRUE(EffectiveV6only({IpAddress(), true, true}));
  EXPECT_FALSE(EffectiveV6only({V4(10, 77, 0, 1), false, false}));
}

TEST(BindAddressesOverlap, AfInetUnspecifiedIpv6MeansAny) {
  // An AF_INET socket's default address `::` is its wildcard.
  const BindKey any4{IpAddress(), false, false};
  EXPECT_TRUE(BindAddressesOverlap(any4, {V4(10, 77, 0, 1), false, false}));
  EXPECT_FALSE(BindAddressesOverlap(any4, {IpAddress(), true, true}));
}

// An AF_INET6 connection over IPv6 (from a socket without IPV6_V6ONLY) carries
// LOOPBACK4_IPV6; checked on Linux 6.18 against binds on the connection's port.
TEST(BindAddressesOverlap, Ipv6ConnectionCarriesLoopback4Ipv6) {
  const BindKey conn{V6("::1"), true, false};
  EXPECT_TRUE(BindAddressesOverlap({V4(0, 0, 0, 0), false, false}, conn));   // EADDRINUSE
  EXPECT_FALSE(BindAddressesOverlap({V4(127, 0, 0, 1), false, false}, conn));  // bound
  EXPECT_TRUE(BindAddressesOverlap({IpAddress(), true, true}, conn));        // EADDRINUSE
  EXPECT_TRUE(BindAddressesOverlap({IpAddress(), true, false}, conn));       // EADDRINUSE
  // inet_rcv_saddr_equal: 127.0.0.6 equals LOOPBACK4_IPV6 (Linux 6.18's bhash2 lookup
  // lets this bind succeed; see bind_overlap.h).
  EXPECT_TRUE(BindAddressesOverlap({V4(127, 0, 0, 6), false, false}, conn));
}

TEST(BindAddressesOverlap, WithoutWildcardMatch) {
  const BindKey any4{V4(0, 0, 0, 0), false, false};
  const BindKey one4{V4(10, 77, 0, 1), false, false};
  EXPECT_FALSE(BindAddressesOverlap(any4, one4, false));
  EXPECT_TRUE(BindAddressesOverlap(one4, one4, false));
  // ipv6_rcv_saddr_equal: two `::` always match.
  EXPECT_TRUE(BindAddressesOverlap({IpAddress(), true, false}, {IpAddress(), true, true}, false));
  EXPECT_FALSE(BindAddressesOverlap({IpAddress(), true, false}, one4, false));
}

}  // namespace
}  // namespace pytcp
