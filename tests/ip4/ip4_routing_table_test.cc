// The IPv4 routing table (stack/ip4/ip4_routing_table.h): RFC 1812 §5.2.4.3 longest match,
// then the lowest metric; removal by predicate (the console's `route del`).
#include "stack/ip4/ip4_routing_table.h"

#include <gtest/gtest.h>

namespace pytcp {
namespace {

Ip4Route Via(const char* net, Ip4Address gw, uint32_t metric, RouteOrigin origin = RouteOrigin::kStatic) {
  return Ip4Route{*Ip4Network::Parse(net), gw, Ip4Address(), metric, origin};
}

TEST(Ip4RoutingTableTest, LongestPrefixThenLowestMetric) {
  Ip4RoutingTable t;
  const Ip4Address a(10, 77, 0, 1), b(10, 77, 0, 3), c(10, 77, 0, 4);
  t.Add(Via("0.0.0.0/0", a, 0));
  t.Add(Via("10.78.0.0/16", b, 9));
  t.Add(Via("10.78.0.0/24", b, 9));
  t.Add(Via("10.78.0.0/24", c, 5));
  EXPECT_EQ(t.Lookup(Ip4Address(8, 8, 8, 8))->gateway, a);
  EXPECT_EQ(t.Lookup(Ip4Address(10, 78, 1, 1))->gateway, b);   // the /16
  EXPECT_EQ(t.Lookup(Ip4Address(10, 78, 0, 1))->gateway, c);   // the /24 with metric 5
  EXPECT_EQ(t.Lookup(Ip4Address(10, 78, 0, 1))->metric, 5u);
}

TEST(Ip4RoutingTableTest, NoRouteWithoutADefault) {
  Ip4RoutingTable t;
  t.Add(Via("10.78.0.0/24", Ip4Address(10, 77, 0, 1), 0));
  EXPECT_FALSE(t.Lookup(Ip4Address(10, 79, 0, 1)).has_value());
}

TEST(Ip4RoutingTableTest, RemoveWhereTakesOnlyWhatItSelects) {
  Ip4RoutingTable t;
  t.Add(Via("10.77.0.0/24", Ip4Address(), 0, RouteOrigin::kConnected));
  t.Add(Via("10.78.0.0/24", Ip4Address(10, 77, 0, 1), 5));
  t.Add(Via("10.78.0.0/24", Ip4Address(10, 77, 0, 3), 9));
  EXPECT_EQ(t.RemoveWhere([](const Ip4Route& r) { return r.metric == 5; }), 1u);
  EXPECT_EQ(t.Lookup(Ip4Address(10, 78, 0, 1))->gateway, Ip4Address(10, 77, 0, 3));
  EXPECT_EQ(t.RemoveWhere([](const Ip4Route& r) { return r.origin == RouteOrigin::kStatic; }), 1u);
  ASSERT_EQ(t.routes().size(), 1u);
  EXPECT_TRUE(t.routes()[0].on_link());
}

}  // namespace
}  // namespace pytcp
