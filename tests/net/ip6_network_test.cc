#include "stack/net/ip6_network.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"

namespace pytcp {
namespace {

static_assert(Ip6Network::Netmask(64) ==
              Ip6Address::FromGroups({0xffff, 0xffff, 0xffff, 0xffff, 0, 0, 0, 0}));
static_assert(Ip6Network::Create(Ip6Address::FromGroups({0xfd77, 0, 0, 0, 0, 0, 0, 0}), 64)
                  ->Contains(Ip6Address::FromGroups({0xfd77, 0, 0, 0, 0, 0, 0, 1})));

Ip6Address Addr(std::string_view text) {
  const std::optional<Ip6Address> a = Ip6Address::Parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(Ip6Address());
}

Ip6Network Net(std::string_view text) {
  const std::optional<Ip6Network> n = Ip6Network::Parse(text);
  EXPECT_TRUE(n.has_value()) << text;
  return n.value_or(Ip6Network());
}

Ip6Interface Iface(std::string_view text) {
  const std::optional<Ip6Interface> i = Ip6Interface::Parse(text);
  EXPECT_TRUE(i.has_value()) << text;
  return i.value_or(Ip6Interface());
}

TEST(Ip6Netmask, KnownMasks) {
  EXPECT_EQ(Ip6Network::Netmask(0).ToString(), "::");
  EXPECT_EQ(Ip6Network::Netmask(1).ToString(), "8000::");
  EXPECT_EQ(Ip6Network::Netmask(10).ToString(), "ffc0::");
  EXPECT_EQ(Ip6Network::Netmask(48).ToString(), "ffff:ffff:ffff::");
  EXPECT_EQ(Ip6Network::Netmask(60).ToString(), "ffff:ffff:ffff:fff0::");
  EXPECT_EQ(Ip6Network::Netmask(64).ToString(), "ffff:ffff:ffff:ffff::");
  EXPECT_EQ(Ip6Network::Netmask(127).ToString(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
  EXPECT_EQ(Ip6Network::Netmask(128).ToString(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(Ip6Network::Netmask(200), Ip6Network::Netmask(128));
}

TEST(Ip6Netmask, EveryPrefixHasThatManyLeadingOnes) {
  for (unsigned p = 0; p <= 128; ++p) {
    SCOPED_TRACE(p);
    const Ip6Address::Bytes b = Ip6Network::Netmask(static_cast<uint8_t>(p)).bytes();
    for (unsigned bit = 0; bit < 128; ++bit) {
      const bool one = (b[bit / 8] >> (7 - bit % 8)) & 1;
      ASSERT_EQ(one, bit < p) << "bit " << bit;
    }
  }
}

TEST(Ip6Network, ParseAndMath) {
  const Ip6Network n = Net("fd77::/64");
  EXPECT_EQ(n.address(), Addr("fd77::"));
  EXPECT_EQ(n.prefix_length(), 64);
  EXPECT_EQ(n.netmask(), Addr("ffff:ffff:ffff:ffff::"));
  EXPECT_TRUE(n.Contains(Addr("fd77::")));
  EXPECT_TRUE(n.Contains(Addr("fd77::1")));
  EXPECT_TRUE(n.Contains(Addr("fd77::ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(n.Contains(Addr("fd77:0:0:1::1")));
  EXPECT_FALSE(n.Contains(Addr("fd78::1")));
  EXPECT_EQ(n.ToString(), "fd77::/64");
}

TEST(Ip6Network, Rfc4291Section2_3Examples) {
  // The three legal spellings of 2001:db8:0:cd30::/60.
  const Ip6Network n = Net("2001:0DB8:0000:CD30:0000:0000:0000:0000/60");
  EXPECT_EQ(Net("2001:0DB8::CD30:0:0:0:0/60"), n);
  EXPECT_EQ(Net("2001:0DB8:0:CD30::/60"), n);
  EXPECT_EQ(n.ToString(), "2001:db8:0:cd30::/60");
  // The illegal ones.
  EXPECT_EQ(Ip6Network::Parse("2001:0DB8:0:CD3/60"), std::nullopt);  // trailing zeros dropped
  EXPECT_EQ(Ip6Network::Parse("2001:0DB8::CD30/60"), std::nullopt);  // expands to ::cd30
  EXPECT_EQ(Ip6Network::Parse("2001:0DB8::CD3/60"), std::nullopt);   //
  // A nibble-aligned /60 covers cd30..cd3f in the fourth group.
  EXPECT_TRUE(n.Contains(Addr("2001:db8:0:cd3f:ffff::1")));
  EXPECT_FALSE(n.Contains(Addr("2001:db8:0:cd40::1")));
  EXPECT_FALSE(n.Contains(Addr("2001:db8:0:cd2f::1")));
  // §2.3: a node address and its prefix, combined.
  const Ip6Interface node = Iface("2001:0DB8:0:CD30:123:4567:89AB:CDEF/60");
  EXPECT_EQ(node.address(), Addr("2001:db8:0:cd30:123:4567:89ab:cdef"));
  EXPECT_EQ(node.network(), n);
  EXPECT_EQ(Ip6Network::Parse("2001:0DB8:0:CD30:123:4567:89AB:CDEF/60"), std::nullopt);
}

TEST(Ip6Network, UnalignedPrefixes) {
  const Ip6Network ll = Net("fe80::/10");
  EXPECT_TRUE(ll.Contains(Addr("fe80::1")));
  EXPECT_TRUE(ll.Contains(Addr("febf:ffff::1")));
  EXPECT_FALSE(ll.Contains(Addr("fec0::1")));
  const Ip6Network ula = Net("fc00::/7");
  EXPECT_TRUE(ula.Contains(Addr("fd77::1")));
  EXPECT_FALSE(ula.Contains(Addr("fe00::1")));
  EXPECT_EQ(Ip6Network::Parse("fd00::/7"), std::nullopt);  // bit 7 is beyond the prefix
  const Ip6Network odd = Net("2001:db8::8000/113");
  EXPECT_TRUE(odd.Contains(Addr("2001:db8::ffff")));
  EXPECT_FALSE(odd.Contains(Addr("2001:db8::7fff")));
}

TEST(Ip6Network, DefaultAndHostRoutes) {
  const Ip6Network all = Net("::/0");
  EXPECT_EQ(all, Ip6Network());
  EXPECT_TRUE(all.Contains(Addr("2001:db8::1")));
  EXPECT_TRUE(all.Contains(Addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  const Ip6Network host = Net("fd77::1/128");
  EXPECT_TRUE(host.Contains(Addr("fd77::1")));
  EXPECT_FALSE(host.Contains(Addr("fd77::2")));
}

TEST(Ip6Network, ContainsSubnets) {
  const Ip6Network n = Net("fd77::/48");
  EXPECT_TRUE(n.Contains(n));
  EXPECT_TRUE(n.Contains(Net("fd77:0:0:1::/64")));
  EXPECT_TRUE(n.Contains(Net("fd77::1/128")));
  EXPECT_FALSE(n.Contains(Net("::/0")));
  EXPECT_FALSE(n.Contains(Net("fd78::/64")));
  EXPECT_FALSE(Net("fd77::/64").Contains(n));
}

TEST(Ip6Network, CreateRefusesHostBitsAndLongPrefixes) {
  EXPECT_TRUE(Ip6Network::Create(Addr("fd77::"), 64).has_value());
  EXPECT_EQ(Ip6Network::Create(Addr("fd77::1"), 64), std::nullopt);
  EXPECT_EQ(Ip6Network::Create(Addr("fd77::"), 129), std::nullopt);
  EXPECT_TRUE(Ip6Network::Create(Addr("fd77::1"), 128).has_value());
  EXPECT_EQ(Ip6Network::Create(Addr("::1"), 0), std::nullopt);
}

class Ip6NetworkParseBad : public testing::TestWithParam<std::string_view> {};

TEST_P(Ip6NetworkParseBad, IsRefused) { EXPECT_EQ(Ip6Network::Parse(GetParam()), std::nullopt); }

INSTANTIATE_TEST_SUITE_P(Table, Ip6NetworkParseBad,
                         testing::Values("",                                //
                                         "fd77::",                          // no prefix
                                         "fd77::/",                         // empty prefix
                                         "/64",                             // empty address
                                         "fd77::1/64",                      // host bits set
                                         "fd77::/129",                      // prefix too long
                                         "fd77::/1000",                     //
                                         "fd77::/064",                      // leading zero
                                         "fd77::/-1",                       // sign
                                         "fd77::/ 64",                      // whitespace
                                         "fd77::/64 ",                      //
                                         "fd77::/64/1",                     // two slashes
                                         "fd77:::/64",                      // bad address
                                         "[fd77::]/64",                     //
                                         "fd77::%1/64",                     //
                                         "fd77::/ffff:ffff:ffff:ffff::"));  // no mask form

TEST(Ip6Interface, ParseAndMath) {
  const Ip6Interface i = Iface("fd77::2/64");
  EXPECT_EQ(i.address(), Addr("fd77::2"));
  EXPECT_EQ(i.prefix_length(), 64);
  EXPECT_EQ(i.netmask(), Ip6Network::Netmask(64));
  EXPECT_EQ(i.network(), Net("fd77::/64"));
  EXPECT_TRUE(i.Contains(Addr("fd77::1")));
  EXPECT_TRUE(i.Contains(Addr("fd77::dead:beef")));
  EXPECT_FALSE(i.Contains(Addr("fd78::1")));
  EXPECT_EQ(i.ToString(), "fd77::2/64");
  EXPECT_EQ(Iface("fe80::ff:fe77:1/64").network(), Net("fe80::/64"));
  EXPECT_EQ(Iface("::ffff:10.77.0.2/120").ToString(), "::ffff:10.77.0.2/120");
}

TEST(Ip6Interface, PrefixChecked) {
  EXPECT_TRUE(Ip6Interface::Parse("fd77::/64").has_value());
  EXPECT_TRUE(Ip6Interface::Parse("fd77::2/128").has_value());
  EXPECT_EQ(Ip6Interface::Parse("fd77::2/129"), std::nullopt);
  EXPECT_EQ(Ip6Interface::Parse("fd77::2"), std::nullopt);
  EXPECT_EQ(Ip6Interface::Create(Addr("fd77::2"), 129), std::nullopt);
}

TEST(Ip6NetworkFormat, FmtStreamAndHash) {
  EXPECT_EQ(fmt::format("{}", Net("2001:db8::/32")), "2001:db8::/32");
  EXPECT_EQ(fmt::format("{}", Iface("FD77::2/64")), "fd77::2/64");
  EXPECT_EQ(fmt::format("{:>8}", Net("::/0")), "    ::/0");
  const Ip6Interface longest = Iface("1111:2222:3333:4444:5555:6666:7777:8888/128");
  EXPECT_EQ(fmt::format("{}", longest), "1111:2222:3333:4444:5555:6666:7777:8888/128");
  std::ostringstream os;
  os << Net("fd77::/64") << ' ' << Iface("fd77::2/64");
  EXPECT_EQ(os.str(), "fd77::/64 fd77::2/64");
  absl::flat_hash_set<Ip6Network> routes = {Net("fd77::/64"), Net("fd77::/48")};
  EXPECT_EQ(routes.size(), 2u);
  EXPECT_TRUE(routes.contains(Net("fd77:0:0::/48")));
  EXPECT_LT(Net("fd77::/48"), Net("fd77::/64"));
}

}  // namespace
}  // namespace pytcp
