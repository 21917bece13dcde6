#include "stack/net/ip4_network.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"

namespace pytcp {
namespace {

static_assert(Ip4Network::PrefixFromNetmask(Ip4Address(255, 255, 255, 0)) == 24);
static_assert(!Ip4Network::PrefixFromNetmask(Ip4Address(255, 0, 255, 0)).has_value());
static_assert(Ip4Network::Create(Ip4Address(10, 77, 0, 0), 24)->Contains(Ip4Address(10, 77, 0, 9)));

Ip4Network Net(std::string_view text) {
  const std::optional<Ip4Network> n = Ip4Network::Parse(text);
  EXPECT_TRUE(n.has_value()) << text;
  return n.value_or(Ip4Network());
}

Ip4Interface Iface(std::string_view text) {
  const std::optional<Ip4Interface> i = Ip4Interface::Parse(text);
  EXPECT_TRUE(i.has_value()) << text;
  return i.value_or(Ip4Interface());
}

TEST(Ip4Netmask, EveryPrefixRoundTrips) {
  for (uint8_t p = 0; p <= 32; ++p) {
    SCOPED_TRACE(p);
    const Ip4Address mask = Ip4Network::Netmask(p);
    EXPECT_EQ(Ip4Network::PrefixFromNetmask(mask), p);
  }
}

TEST(Ip4Netmask, KnownMasks) {
  EXPECT_EQ(Ip4Network::Netmask(0), Ip4Address(0, 0, 0, 0));
  EXPECT_EQ(Ip4Network::Netmask(1), Ip4Address(128, 0, 0, 0));
  EXPECT_EQ(Ip4Network::Netmask(8), Ip4Address(255, 0, 0, 0));
  EXPECT_EQ(Ip4Network::Netmask(20), Ip4Address(255, 255, 240, 0));
  EXPECT_EQ(Ip4Network::Netmask(24), Ip4Address(255, 255, 255, 0));
  EXPECT_EQ(Ip4Network::Netmask(31), Ip4Address(255, 255, 255, 254));
  EXPECT_EQ(Ip4Network::Netmask(32), Ip4Address(255, 255, 255, 255));
  EXPECT_EQ(Ip4Network::Netmask(99), Ip4Address(255, 255, 255, 255));
}

TEST(Ip4Netmask, NonContiguousMasksAreRefused) {
  for (const Ip4Address mask :
       {Ip4Address(255, 0, 255, 0), Ip4Address(0, 255, 255, 255), Ip4Address(255, 255, 255, 1),
        Ip4Address(128, 0, 0, 1), Ip4Address(255, 255, 254, 255), Ip4Address(0, 0, 0, 1),
        Ip4Address(127, 255, 255, 255)}) {
    SCOPED_TRACE(mask.ToString());
    EXPECT_EQ(Ip4Network::PrefixFromNetmask(mask), std::nullopt);
  }
}

TEST(Ip4Network, ParseAndMath) {
  const Ip4Network n = Net("10.77.0.0/24");
  EXPECT_EQ(n.address(), Ip4Address(10, 77, 0, 0));
  EXPECT_EQ(n.prefix_length(), 24);
  EXPECT_EQ(n.netmask(), Ip4Address(255, 255, 255, 0));
  EXPECT_EQ(n.broadcast(), Ip4Address(10, 77, 0, 255));
  EXPECT_TRUE(n.Contains(Ip4Address(10, 77, 0, 0)));
  EXPECT_TRUE(n.Contains(Ip4Address(10, 77, 0, 1)));
  EXPECT_TRUE(n.Contains(Ip4Address(10, 77, 0, 255)));
  EXPECT_FALSE(n.Contains(Ip4Address(10, 77, 1, 0)));
  EXPECT_FALSE(n.Contains(Ip4Address(10, 76, 255, 255)));
  EXPECT_FALSE(n.Contains(Ip4Address(11, 77, 0, 1)));
  EXPECT_EQ(n.ToString(), "10.77.0.0/24");
}

TEST(Ip4Network, OddPrefixLengths) {
  const Ip4Network n = Net("172.16.0.0/12");
  EXPECT_EQ(n.broadcast(), Ip4Address(172, 31, 255, 255));
  EXPECT_TRUE(n.Contains(Ip4Address(172, 31, 0, 1)));
  EXPECT_FALSE(n.Contains(Ip4Address(172, 32, 0, 1)));
  const Ip4Network m = Net("10.77.0.64/26");
  EXPECT_EQ(m.broadcast(), Ip4Address(10, 77, 0, 127));
  EXPECT_TRUE(m.Contains(Ip4Address(10, 77, 0, 100)));
  EXPECT_FALSE(m.Contains(Ip4Address(10, 77, 0, 63)));
  EXPECT_FALSE(m.Contains(Ip4Address(10, 77, 0, 128)));
}

TEST(Ip4Network, DefaultAndHostRoutes) {
  const Ip4Network all = Net("0.0.0.0/0");
  EXPECT_EQ(all, Ip4Network());
  EXPECT_TRUE(all.Contains(Ip4Address(1, 2, 3, 4)));
  EXPECT_TRUE(all.Contains(Ip4Address::Broadcast()));
  EXPECT_EQ(all.broadcast(), Ip4Address::Broadcast());
  const Ip4Network host = Net("10.77.0.1/32");
  EXPECT_TRUE(host.Contains(Ip4Address(10, 77, 0, 1)));
  EXPECT_FALSE(host.Contains(Ip4Address(10, 77, 0, 2)));
  EXPECT_EQ(host.broadcast(), Ip4Address(10, 77, 0, 1));
}

TEST(Ip4Network, ContainsSubnets) {
  const Ip4Network n = Net("10.0.0.0/8");
  EXPECT_TRUE(n.Contains(n));
  EXPECT_TRUE(n.Contains(Net("10.77.0.0/24")));
  EXPECT_TRUE(n.Contains(Net("10.77.0.1/32")));
  EXPECT_FALSE(n.Contains(Net("0.0.0.0/0")));
  EXPECT_FALSE(n.Contains(Net("11.0.0.0/24")));
  EXPECT_FALSE(Net("10.77.0.0/24").Contains(n));
}

TEST(Ip4Network, NetmaskForm) {
  EXPECT_EQ(Net("10.77.0.0/255.255.255.0"), Net("10.77.0.0/24"));
  EXPECT_EQ(Net("0.0.0.0/0.0.0.0"), Ip4Network());
  EXPECT_EQ(Ip4Network::Parse("10.77.0.0/255.0.255.0"), std::nullopt);  // non-contiguous
  EXPECT_EQ(Ip4Network::Parse("10.77.0.0/0.0.0.255"), std::nullopt);    // host mask
}

TEST(Ip4Network, CreateRefusesHostBitsAndLongPrefixes) {
  EXPECT_TRUE(Ip4Network::Create(Ip4Address(10, 77, 0, 0), 24).has_value());
  EXPECT_EQ(Ip4Network::Create(Ip4Address(10, 77, 0, 1), 24), std::nullopt);
  EXPECT_EQ(Ip4Network::Create(Ip4Address(10, 77, 0, 0), 33), std::nullopt);
  EXPECT_TRUE(Ip4Network::Create(Ip4Address(10, 77, 0, 1), 32).has_value());
  EXPECT_EQ(Ip4Network::Create(Ip4Address(0, 0, 0, 1), 0), std::nullopt);
}

class Ip4NetworkParseBad : public testing::TestWithParam<std::string_view> {};

TEST_P(Ip4NetworkParseBad, IsRefused) { EXPECT_EQ(Ip4Network::Parse(GetParam()), std::nullopt); }

INSTANTIATE_TEST_SUITE_P(Table, Ip4NetworkParseBad,
                         testing::Values("",                  //
                                         "10.77.0.0",         // no prefix
                                         "10.77.0.0/",        // empty prefix
                                         "/24",               // empty address
                                         "10.77.0.1/24",      // host bits set
                                         "10.77.0.128/24",    //
                                         "10.77.0.0/33",      // prefix too long
                                         "10.77.0.0/100",     //
                                         "10.77.0.0/024",     // leading zero
                                         "10.77.0.0/-1",      // sign
                                         "10.77.0.0/+24",     //
                                         "10.77.0.0/ 24",     // whitespace
                                         "10.77.0.0/24 ",     //
                                         "10.77.0.0 /24",     //
                                         "10.77.0.0/24/1",    // two slashes
                                         "10.77.0.0//24",     //
                                         "10.77.0/24",        // bad address
                                         "010.77.0.0/24",     //
                                         "10.77.0.0/0x18"));  // hex prefix

TEST(Ip4Interface, ParseAndMath) {
  const Ip4Interface i = Iface("10.77.0.2/24");
  EXPECT_EQ(i.address(), Ip4Address(10, 77, 0, 2));
  EXPECT_EQ(i.prefix_length(), 24);
  EXPECT_EQ(i.netmask(), Ip4Address(255, 255, 255, 0));
  EXPECT_EQ(i.network(), Net("10.77.0.0/24"));
  EXPECT_EQ(i.directed_broadcast(), Ip4Address(10, 77, 0, 255));
  EXPECT_TRUE(i.Contains(Ip4Address(10, 77, 0, 1)));
  EXPECT_TRUE(i.Contains(Ip4Address(10, 77, 0, 254)));
  EXPECT_FALSE(i.Contains(Ip4Address(10, 78, 0, 1)));
  EXPECT_EQ(i.ToString(), "10.77.0.2/24");
  EXPECT_EQ(Iface("10.77.0.2/255.255.255.0"), i);
}

TEST(Ip4Interface, PointToPointHasNoBroadcast) {
  // RFC 3021: on a /31 both addresses are hosts.
  const Ip4Interface p2p = Iface("192.0.2.1/31");
  EXPECT_EQ(p2p.directed_broadcast(), std::nullopt);
  EXPECT_EQ(p2p.network(), Net("192.0.2.0/31"));
  EXPECT_TRUE(p2p.Contains(Ip4Address(192, 0, 2, 0)));
  EXPECT_FALSE(p2p.Contains(Ip4Address(192, 0, 2, 2)));
  EXPECT_EQ(Iface("192.0.2.1/32").directed_broadcast(), std::nullopt);
  EXPECT_EQ(Iface("192.0.2.1/30").directed_broadcast(), Ip4Address(192, 0, 2, 3));
  EXPECT_EQ(Iface("10.1.2.3/8").directed_broadcast(), Ip4Address(10, 255, 255, 255));
}

TEST(Ip4Interface, HostBitsAllowedButPrefixChecked) {
  EXPECT_TRUE(Ip4Interface::Parse("10.77.0.0/24").has_value());
  EXPECT_TRUE(Ip4Interface::Parse("10.77.0.255/24").has_value());
  EXPECT_EQ(Ip4Interface::Parse("10.77.0.2/33"), std::nullopt);
  EXPECT_EQ(Ip4Interface::Parse("10.77.0.2"), std::nullopt);
  EXPECT_EQ(Ip4Interface::Parse("10.77.0.2/255.255.0.255"), std::nullopt);
  EXPECT_EQ(Ip4Interface::Create(Ip4Address(10, 77, 0, 2), 33), std::nullopt);
}

TEST(Ip4NetworkFormat, FmtStreamAndHash) {
  EXPECT_EQ(fmt::format("{}", Net("10.77.0.0/24")), "10.77.0.0/24");
  EXPECT_EQ(fmt::format("{}", Iface("255.255.255.255/32")), "255.255.255.255/32");
  EXPECT_EQ(fmt::format("{:>14}", Net("0.0.0.0/0")), "     0.0.0.0/0");
  std::ostringstream os;
  os << Net("10.0.0.0/8") << ' ' << Iface("10.1.2.3/8");
  EXPECT_EQ(os.str(), "10.0.0.0/8 10.1.2.3/8");
  absl::flat_hash_set<Ip4Network> routes = {Net("10.77.0.0/24"), Net("10.77.0.0/25")};
  EXPECT_EQ(routes.size(), 2u);
  EXPECT_TRUE(routes.contains(Net("10.77.0.0/255.255.255.128")));
}

TEST(Ip4NetworkOrdering, ByAddressThenPrefix) {
  EXPECT_LT(Net("10.0.0.0/8"), Net("10.0.0.0/16"));
  EXPECT_LT(Net("10.0.0.0/16"), Net("10.1.0.0/16"));
}

}  // namespace
}  // namespace pytcp
