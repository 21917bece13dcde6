// Static routes in `ip route`'s words (stack/stack_routes.h): what PYTCP_ROUTES and the
// console's `route add`/`route del` accept, and what they refuse with which reason.
#include "stack/stack_routes.h"

#include <gtest/gtest.h>

#include <string>

namespace pytcp {
namespace {

TEST(StaticRouteTest, ViaAGatewayWithAMetric) {
  auto r = ParseStaticRoute("10.78.0.0/24 via 10.77.0.1 metric 5");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->ip6);
  EXPECT_EQ(r->destination4, *Ip4Network::Parse("10.78.0.0/24"));
  EXPECT_EQ(r->gateway, IpAddress(Ip4Address(10, 77, 0, 1)));
  EXPECT_EQ(r->metric, 5u);
  EXPECT_EQ(r->device, "");
  EXPECT_EQ(r->DestinationText(), "10.78.0.0/24");
}

TEST(StaticRouteTest, OnLinkThroughADevice) {
  auto r = ParseStaticRoute("  10.79.0.0/16   dev tap7 ");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->gateway.has_value());
  EXPECT_EQ(r->device, "tap7");
  EXPECT_EQ(r->metric, 0u);
}

TEST(StaticRouteTest, DefaultTakesTheGatewaysFamily) {
  auto v4 = ParseStaticRoute("default via 10.77.0.1");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_FALSE(v4->ip6);
  EXPECT_EQ(v4->destination4.prefix_length(), 0);
  EXPECT_EQ(v4->DestinationText(), "default");
  auto v6 = ParseStaticRoute("default via fe80::1 dev tap7");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_TRUE(v6->ip6);
  EXPECT_EQ(v6->destination6.prefix_length(), 0);
  // Without a gateway "default" is IPv4; ::/0 says IPv6.
  EXPECT_FALSE(ParseStaticRoute("default dev tap7")->ip6);
  EXPECT_TRUE(ParseStaticRoute("::/0 dev tap7")->ip6);
}

TEST(StaticRouteTest, IPv6PrefixesAndHostRoutes) {
  auto r = ParseStaticRoute("fd78::/64 via fd77::1 metric 1024");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ip6);
  EXPECT_EQ(r->destination6, *Ip6Network::Parse("fd78::/64"));
  EXPECT_EQ(r->metric, 1024u);
  // Without a metric, what ip route gives: 1024 for IPv6, 0 for IPv4.
  EXPECT_EQ(ParseStaticRoute("fd78::/64 via fd77::1")->metric, 1024u);
  EXPECT_FALSE(ParseStaticRoute("fd78::/64 via fd77::1")->metric_given);
  EXPECT_EQ(ParseStaticRoute("10.78.0.0/24 via 10.77.0.1")->metric, 0u);
  // A bare address is a host route, as ip route takes it.
  EXPECT_EQ(ParseStaticRoute("10.78.0.2 via 10.77.0.1")->destination4.prefix_length(), 32);
  EXPECT_EQ(ParseStaticRoute("fd78::2 via fd77::1")->destination6.prefix_length(), 128);
}

TEST(StaticRouteTest, RefusalsSayWhy) {
  auto has = [](std::string_view text, std::string_view why) {
    auto r = ParseStaticRoute(text);
    if (r.ok()) return ::testing::AssertionFailure() << "'" << text << "' was accepted";
    const std::string msg(r.status().message());
    if (msg.find(why) == std::string::npos) {
      return ::testing::AssertionFailure() << "'" << text << "': " << msg;
    }
    return ::testing::AssertionSuccess();
  };
  EXPECT_TRUE(has("10.78.0.1/24 via 10.77.0.1", "bits set beyond its prefix length"));
  EXPECT_TRUE(has("10.78.0/24 via 10.77.0.1", "is not a prefix"));
  EXPECT_TRUE(has("10.78.0.0/33 via 10.77.0.1", "prefix length '33' is not a number from 0 to 32"));
  EXPECT_TRUE(has("fd78::/129 via fd77::1", "prefix length '129' is not a number from 0 to 128"));
  EXPECT_TRUE(has("fd78::1/64 via fd77::1", "bits set beyond its prefix length"));
  EXPECT_TRUE(has("10.78.0.0/24", "needs 'via GATEWAY' or 'dev IFACE'"));
  EXPECT_TRUE(has("10.78.0.0/24 via", "'via' needs a value"));
  EXPECT_TRUE(has("10.78.0.0/24 via fd77::1", "not of the prefix's family"));
  EXPECT_TRUE(has("fd78::/64 via 10.77.0.1", "not of the prefix's family"));
  EXPECT_TRUE(has("10.78.0.0/24 via 224.0.0.1", "not a unicast address"));
  EXPECT_TRUE(has("10.78.0.0/24 via 0.0.0.0", "not a unicast address"));
  EXPECT_TRUE(has("10.78.0.0/24 via gw", "not an IPv4 or IPv6 address"));
  EXPECT_TRUE(has("10.78.0.0/24 via 10.77.0.1 metric -1", "metric '-1' is not an integer"));
  EXPECT_TRUE(has("10.78.0.0/24 via 10.77.0.1 metric 4294967296", "is not an integer"));
  EXPECT_TRUE(has("10.78.0.0/24 via 10.77.0.1 via 10.77.0.2", "two gateways"));
  EXPECT_TRUE(has("10.78.0.0/24 via 10.77.0.1 table 5", "unknown word 'table'"));
  EXPECT_TRUE(has("", "an empty route"));
}

TEST(StaticRouteTest, ADeletionMayLeaveTheGatewayOut) {
  auto r = ParseStaticRouteToDelete("10.78.0.0/24");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->gateway.has_value());
  EXPECT_FALSE(ParseStaticRoute("10.78.0.0/24").ok());
}

TEST(StaticRouteTest, ACommaSeparatedList) {
  auto list = ParseStaticRoutes("10.78.0.0/24 via 10.77.0.1, fd78::/64 via fd77::1 metric 7");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_FALSE((*list)[0].ip6);
  EXPECT_TRUE((*list)[1].ip6);
  EXPECT_EQ((*list)[1].metric, 7u);
  auto bad = ParseStaticRoutes("10.78.0.0/24 via 10.77.0.1,,");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("an empty route"), std::string::npos)
      << bad.status();
  auto named = ParseStaticRoutes("10.78.0.0/24 via 10.77.0.1, 10.79.0.0/24 via x");
  ASSERT_FALSE(named.ok());
  EXPECT_NE(std::string(named.status().message()).find("route '10.79.0.0/24 via x'"),
            std::string::npos)
      << named.status();
}

}  // namespace
}  // namespace pytcp
