#include "stack/stack_config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace pytcp {
namespace {

absl::StatusOr<StackConfig> FromEnv(const std::map<std::string, std::string>& env) {
  return StackConfig::FromEnvironment([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(StackConfigTest, Defaults) {
  auto c = FromEnv({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->interface, "tap7");
  EXPECT_EQ(c->ip4_mode, Ip4Mode::kDhcp);
  EXPECT_EQ(c->ip6_mode, Ip6Mode::kAuto);
  EXPECT_EQ(c->mtu, 1500u);
  EXPECT_EQ(c->loopback, LoopbackMode::kKernel);
  EXPECT_EQ(c->acd, AcdMode::kOptimistic);
  const MacAddress mac = c->EffectiveMac();
  EXPECT_TRUE(mac.is_unicast());
  EXPECT_TRUE(mac.is_locally_administered());
  // Stable per interface name, different between names.
  auto other = FromEnv({{"PYTCP_IFACE", "tap8"}});
  EXPECT_EQ(FromEnv({})->EffectiveMac(), mac);
  EXPECT_NE(other->EffectiveMac(), mac);
}

TEST(StackConfigTest, ParsesEveryVariable) {
  auto c = FromEnv({{"PYTCP_IFACE", "tap9"},
                    {"PYTCP_MAC", "02:00:00:77:00:02"},
                    {"PYTCP_IP4", "10.77.0.2/24, 10.77.0.3/24"},
                    {"PYTCP_GW4", "10.77.0.1"},
                    {"PYTCP_IP6", "fd77::2/64"},
                    {"PYTCP_GW6", "fe80::1"},
                    {"PYTCP_DNS", "10.77.0.1,fd77::1"},
                    {"PYTCP_MTU", "1400"},
                    {"PYTCP_LOG", "info,tcp=trace"},
                    {"PYTCP_PCAP", "/tmp/x.pcap"},
                    {"PYTCP_LOOPBACK", "stack"},
                    {"PYTCP_ACD", "strict"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->interface, "tap9");
  EXPECT_EQ(c->EffectiveMac().ToString(), "02:00:00:77:00:02");
  ASSERT_EQ(c->ip4_addresses.size(), 2u);
  EXPECT_EQ(c->ip4_addresses[1].ToString(), "10.77.0.3/24");
  EXPECT_EQ(c->ip4_gateway->ToString(), "10.77.0.1");
  EXPECT_EQ(c->ip6_mode, Ip6Mode::kStatic);
  EXPECT_EQ(c->ip6_addresses[0].ToString(), "fd77::2/64");
  EXPECT_EQ(c->dns4.size(), 1u);
  EXPECT_EQ(c->dns6.size(), 1u);
  EXPECT_EQ(c->mtu, 1400u);
  EXPECT_EQ(c->pcap, "/tmp/x.pcap");
  EXPECT_EQ(c->loopback, LoopbackMode::kStack);
  EXPECT_EQ(c->acd, AcdMode::kStrict);
}

TEST(StackConfigTest, BadValuesNameTheVariable) {
  const std::map<std::string, std::string> bad[] = {
      {{"PYTCP_IP4", "10.77.0.300/24"}}, {{"PYTCP_IP4", "dhcpp"}},
      {{"PYTCP_GW4", "gateway"}},         {{"PYTCP_MAC", "01:00:5e:00:00:01"}},
      {{"PYTCP_IP6", "fd77:::2/64"}},     {{"PYTCP_DNS", "10.77.0.1,x"}},
      {{"PYTCP_MTU", "15000"}},           {{"PYTCP_MTU", "abc"}},
      {{"PYTCP_LOG", "loud"}},            {{"PYTCP_LOOPBACK", "both"}},
      {{"PYTCP_IFACE", ""}},              {{"PYTCP_ACD", "maybe"}},
      {{"PYTCP_TAP_OFFLOAD", "yes"}},     {{"PYTCP_BUSY_POLL", "50us"}},
      {{"PYTCP_BUSY_POLL", "100001"}},    {{"PYTCP_BUSY_POLL", "-1"}},
      {{"PYTCP_BUSY_POLL", ""}},          {{"PYTCP_TCP_ECN", "on"}},
      {{"PYTCP_TCP_ECN", "3"}},           {{"PYTCP_TCP_MAX_TW_BUCKETS", "-1"}},
      {{"PYTCP_TCP_MAX_TW_BUCKETS", "lots"}}, {{"PYTCP_TCP_MAX_ORPHANS", "99999999999"}},
      {{"PYTCP_TCP_MAX_ORPHANS", ""}},    {{"PYTCP_TCP_RFC1337", "yes"}},
      {{"PYTCP_ROUTES", "10.78.0.0/24"}}, {{"PYTCP_ROUTES", "10.78.0.0/24 via 10.77.0.1,"}},
      {{"PYTCP_ROUTES", "10.78.0.0/24 dev tap8"}}, {{"PYTCP_FORWARDING", "yes"}},
  };
  for (const auto& env : bad) {
    auto c = FromEnv(env);
    ASSERT_FALSE(c.ok()) << env.begin()->first << "=" << env.begin()->second;
    EXPECT_NE(c.status().message().find(env.begin()->first), std::string_view::npos)
        << c.status().message();
  }
}

TEST(StackConfigTest, ForwardingIsOffUnlessOne) {
  EXPECT_FALSE(FromEnv({})->forwarding);
  EXPECT_FALSE(FromEnv({{"PYTCP_FORWARDING", "0"}})->forwarding);
  EXPECT_TRUE(FromEnv({{"PYTCP_FORWARDING", "1"}})->forwarding);
}

TEST(StackConfigTest, RoutesAreIpRoutesWordsOnThisInterface) {
  EXPECT_TRUE(FromEnv({})->routes.empty());
  auto c = FromEnv({{"PYTCP_IFACE", "tap9"},
                    {"PYTCP_ROUTES", "10.78.0.0/24 via 10.77.0.1 metric 5, fd78::/64 dev tap9"}});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->routes.size(), 2u);
  EXPECT_EQ(c->routes[0].metric, 5u);
  EXPECT_TRUE(c->routes[1].ip6);
  EXPECT_EQ(c->routes[1].device, "tap9");
  // The message names the variable, the route and what is wrong, and what is accepted.
  auto bad = FromEnv({{"PYTCP_ROUTES", "10.78.0.0/24 via 10.77.0.1, 10.79.0.0/24 vai 10.77.0.1"}});
  ASSERT_FALSE(bad.ok());
  const std::string msg(bad.status().message());
  EXPECT_NE(msg.find("route '10.79.0.0/24 vai 10.77.0.1': unknown word 'vai'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'PREFIX via GATEWAY [metric N]'"), std::string::npos) << msg;
  auto other_dev = FromEnv({{"PYTCP_ROUTES", "10.78.0.0/24 dev tap8"}});
  ASSERT_FALSE(other_dev.ok());
  EXPECT_NE(std::string(other_dev.status().message()).find("(dev tap8 is not one)"), std::string::npos)
      << other_dev.status();
}

// PYTCP_IFACE=tap7,tap8 (issue 18): every further interface is configured by variables
// that carry its name, and must say what its IPv4 addresses are.
TEST(StackConfigTest, SeveralInterfacesEachWithItsOwnVariables) {
  auto c = FromEnv({{"PYTCP_IFACE", "tap7, tap8"},
                    {"PYTCP_IP4_tap8", "10.78.0.1/24,10.78.1.1/24"},
                    {"PYTCP_MTU_tap8", "1280"},
                    {"PYTCP_MAC_tap8", "02:00:00:78:00:01"},
                    {"PYTCP_ROUTES", "10.79.0.0/16 via 10.78.0.2 dev tap8"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->interface, "tap7");
  ASSERT_EQ(c->more_interfaces.size(), 1u);
  const InterfaceConfig& tap8 = c->more_interfaces[0];
  EXPECT_EQ(tap8.name, "tap8");
  EXPECT_EQ(tap8.mtu, 1280u);
  EXPECT_EQ(tap8.EffectiveMac(), *MacAddress::Parse("02:00:00:78:00:01"));
  ASSERT_EQ(tap8.ip4_addresses.size(), 2u);
  EXPECT_EQ(tap8.ip4_addresses[1], *Ip4Interface::Parse("10.78.1.1/24"));
  EXPECT_EQ(c->InterfaceIndex("tap8"), 1);
  EXPECT_EQ(c->InterfaceIndex("tap9"), std::nullopt);
  EXPECT_EQ(c->mtu, 1500u);  // the first interface keeps the unsuffixed variables
  // Without its own MAC, one derived from its name (not the first's).
  auto derived = FromEnv({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "none"}});
  ASSERT_TRUE(derived.ok()) << derived.status();
  EXPECT_TRUE(derived->more_interfaces[0].ip4_addresses.empty());
  EXPECT_NE(derived->more_interfaces[0].EffectiveMac(), derived->EffectiveMac());

  const auto message = [](const std::map<std::string, std::string>& env) {
    auto r = FromEnv(env);
    return r.ok() ? std::string("accepted") : std::string(r.status().message());
  };
  EXPECT_NE(message({{"PYTCP_IFACE", "tap7,tap8"}}).find("PYTCP_IP4_tap8 is not set"),
            std::string::npos);
  {
    auto dhcp = FromEnv({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "dhcp"}, {"PYTCP_DHCP_CACHE", "/tmp/x/lease"}});
    ASSERT_TRUE(dhcp.ok()) << dhcp.status();
    EXPECT_TRUE(dhcp->more_interfaces[0].ip4_dhcp);
    EXPECT_EQ(dhcp->more_interfaces[0].dhcp4_cache, "/tmp/x/dhcp4-tap8.lease");
  }
  EXPECT_NE(message({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "auto"}})
                .find("PYTCP_IP4_tap8='auto' is not valid: expected 'dhcp', 'none' or"),
            std::string::npos);
  EXPECT_NE(message({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "none"}, {"PYTCP_IP6_tap8", "dhcp"}})
                .find("PYTCP_IP6_tap8='dhcp' is not valid: expected 'auto', 'none' or"),
            std::string::npos);
  {
    auto slaac = FromEnv({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "none"}, {"PYTCP_IP6_tap8", "auto"}});
    ASSERT_TRUE(slaac.ok()) << slaac.status();
    EXPECT_TRUE(slaac->more_interfaces[0].ip6);
    EXPECT_TRUE(slaac->more_interfaces[0].ip6_auto);
  }
  {
    auto v6 = FromEnv({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "none"},
                       {"PYTCP_IP6_tap8", "fd78::1/64,fd78:0:0:1::1/64"}});
    ASSERT_TRUE(v6.ok()) << v6.status();
    EXPECT_TRUE(v6->more_interfaces[0].ip6);
    ASSERT_EQ(v6->more_interfaces[0].ip6_addresses.size(), 2u);
    EXPECT_EQ(fmt::format("{}", v6->more_interfaces[0].ip6_addresses[1]), "fd78:0:0:1::1/64");
    auto none = FromEnv({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "none"}, {"PYTCP_IP6_tap8", "none"}});
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->more_interfaces[0].ip6);
  }
  EXPECT_NE(message({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "none"}, {"PYTCP_MTU_tap8", "60"}})
                .find("PYTCP_MTU_tap8='60'"),
            std::string::npos);
  EXPECT_NE(message({{"PYTCP_IFACE", "tap7,tap7"}}).find("PYTCP_IFACE='tap7,tap7'"), std::string::npos);
  EXPECT_NE(message({{"PYTCP_IFACE", "tap7,,tap8"}}).find("PYTCP_IFACE"), std::string::npos);
  // The built-in DHCP server's pool: inside a static network of its interface.
  auto served = FromEnv({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "10.78.0.129/25"},
                         {"PYTCP_DHCP_SERVER_tap8", "10.78.0.140-10.78.0.150,600"}});
  ASSERT_TRUE(served.ok()) << served.status();
  ASSERT_TRUE(served->more_interfaces[0].dhcp_server.has_value());
  EXPECT_EQ(served->more_interfaces[0].dhcp_server->first, Ip4Address(10, 78, 0, 140));
  EXPECT_EQ(served->more_interfaces[0].dhcp_server->lease_time, std::chrono::seconds(600));
  EXPECT_NE(message({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "10.78.0.129/25"},
                     {"PYTCP_DHCP_SERVER_tap8", "10.78.0.40-10.78.0.50"}})
                .find("not inside a network of the interface's static addresses"),
            std::string::npos);
  EXPECT_NE(message({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "10.78.0.129/25"},
                     {"PYTCP_DHCP_SERVER_tap8", "10.78.0.150-10.78.0.140"}})
                .find("PYTCP_DHCP_SERVER_tap8='10.78.0.150-10.78.0.140' is not valid"),
            std::string::npos);
  EXPECT_NE(message({{"PYTCP_DHCP_SERVER_tap7", "10.77.0.100-10.77.0.110"}}).find("needs static IPv4"),
            std::string::npos);
  EXPECT_NE(message({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "none"},
                     {"PYTCP_ROUTES", "fd78::/64 dev tap8"}})
                .find("PYTCP_IP6_tap8 is none"),
            std::string::npos);
  EXPECT_EQ(message({{"PYTCP_IFACE", "tap7,tap8"}, {"PYTCP_IP4_tap8", "none"},
                     {"PYTCP_IP6_tap8", "fd78::1/64"}, {"PYTCP_ROUTES", "fd79::/64 via fd78::9 dev tap8"}}),
            "accepted");
}

TEST(StackConfigTest, BusyPollIsMicrosecondsAndOffByDefault) {
  EXPECT_EQ(FromEnv({})->busy_poll, Duration(0));
  EXPECT_EQ(FromEnv({{"PYTCP_BUSY_POLL", "50"}})->busy_poll, std::chrono::microseconds(50));
  EXPECT_EQ(FromEnv({{"PYTCP_BUSY_POLL", "0"}})->busy_poll, Duration(0));
  EXPECT_EQ(FromEnv({{"PYTCP_BUSY_POLL", "100000"}})->busy_poll, std::chrono::milliseconds(100));
}

TEST(StackConfigTest, TcpEcnIsLinuxsTcpEcnAcceptOnlyByDefault) {
  EXPECT_EQ(FromEnv({})->tcp_ecn, 2);
  EXPECT_EQ(FromEnv({{"PYTCP_TCP_ECN", "1"}})->tcp_ecn, 1);
  EXPECT_EQ(FromEnv({{"PYTCP_TCP_ECN", "0"}})->tcp_ecn, 0);
}

TEST(StackConfigTest, TimeWaitAndOrphanLimitsAreLinuxsSysctls) {
  EXPECT_EQ(FromEnv({})->tcp_max_tw_buckets, 262144u);
  EXPECT_EQ(FromEnv({})->tcp_max_orphans, 262144u);
  EXPECT_FALSE(FromEnv({})->tcp_rfc1337);
  EXPECT_EQ(FromEnv({{"PYTCP_TCP_MAX_TW_BUCKETS", "0"}})->tcp_max_tw_buckets, 0u);
  EXPECT_EQ(FromEnv({{"PYTCP_TCP_MAX_ORPHANS", "1000"}})->tcp_max_orphans, 1000u);
  EXPECT_TRUE(FromEnv({{"PYTCP_TCP_RFC1337", "1"}})->tcp_rfc1337);
}

TEST(StackConfigTest, SmallMtuNeedsIpv6Off) {
  EXPECT_FALSE(FromEnv({{"PYTCP_MTU", "576"}}).ok());
  EXPECT_TRUE(FromEnv({{"PYTCP_MTU", "576"}, {"PYTCP_IP6", "none"}}).ok());
}

}  // namespace
}  // namespace pytcp
