// The IPv6 routing table (stack/ip6/ip6_routing_table.h): RFC 4861 §5.2 next-hop
// determination, the lowest metric among routes of one prefix length, the Default Router
// List by reachability then RFC 4191 preference.
#include "stack/ip6/ip6_routing_table.h"

#include <gtest/gtest.h>

namespace pytcp {
namespace {

// The address part of a next hop (the interface is the first in these tests).
std::optional<Ip6Address> HopAddress(const std::optional<Ip6NextHop>& hop) {
  if (!hop) return std::nullopt;
  return hop->address;
}

Ip6Address A(const char* text) { return *Ip6Address::Parse(text); }

Ip6Route Route(const char* net, const char* gw, uint32_t metric) {
  Ip6Route r{*Ip6Network::Parse(net), A(gw), Ip6RouteOrigin::kStatic};
  r.metric = metric;
  return r;
}

TEST(Ip6RoutingTableTest, LongestPrefixThenLowestMetric) {
  Ip6RoutingTable t;
  t.Add(Route("fd77::/64", "::", 0));
  t.Add(Route("fd78::/48", "fd77::1", 0));
  t.Add(Route("fd78::/64", "fd77::3", 9));
  t.Add(Route("fd78::/64", "fd77::4", 5));
  const auto up = [](const Ip6NextHop&) { return true; };
  EXPECT_EQ(HopAddress(t.NextHop(A("fd77::9"), up)), A("fd77::9"));      // on-link
  EXPECT_EQ(HopAddress(t.NextHop(A("fd78:0:0:1::1"), up)), A("fd77::1"));  // the /48
  EXPECT_EQ(HopAddress(t.NextHop(A("fd78::1"), up)), A("fd77::4"));        // the /64 with metric 5
  EXPECT_FALSE(t.NextHop(A("fd79::1"), up).has_value());       // RFC 5942: no route
}

TEST(Ip6RoutingTableTest, DefaultRoutersByReachabilityThenPreference) {
  Ip6RoutingTable t;
  t.AddRouter(Ip6DefaultRouter{A("fe80::1"), Instant::Infinite(), 0, Ip6RouteOrigin::kStatic});
  t.AddRouter(Ip6DefaultRouter{A("fe80::2"), Instant::Infinite(), 1, Ip6RouteOrigin::kRouterAdvert});
  const auto all = [](const Ip6NextHop&) { return true; };
  EXPECT_EQ(HopAddress(t.NextHop(A("2001:db8::1"), all)), A("fe80::2"));
  const auto only_first = [](const Ip6NextHop& h) { return h.address == *Ip6Address::Parse("fe80::1"); };
  EXPECT_EQ(HopAddress(t.NextHop(A("2001:db8::1"), only_first)), A("fe80::1"));
}

TEST(Ip6RoutingTableTest, RemoveWhereTakesOnlyWhatItSelects) {
  Ip6RoutingTable t;
  t.Add(Route("fd78::/64", "fd77::3", 9));
  t.Add(Route("fd78::/64", "fd77::4", 5));
  EXPECT_EQ(t.RemoveWhere([](const Ip6Route& r) { return r.metric == 5; }), 1u);
  const auto up = [](const Ip6NextHop&) { return true; };
  EXPECT_EQ(HopAddress(t.NextHop(A("fd78::1"), up)), A("fd77::3"));
}

}  // namespace
}  // namespace pytcp
