#include "stack/net/ip4_address.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"

namespace pytcp {
namespace {

static_assert(Ip4Address(10, 77, 0, 1).value() == 0x0a4d0001);
static_assert(Ip4Address(169, 254, 1, 1).is_link_local());
static_assert(Ip4Address::Loopback().is_loopback());

struct GoodCase {
  std::string_view text;
  Ip4Address address;
};

// Failure messages name the case by its text.
void PrintTo(const GoodCase& c, std::ostream* os) { *os << '"' << c.text << '"'; }

class Ip4ParseGood : public testing::TestWithParam<GoodCase> {};

TEST_P(Ip4ParseGood, ParsesAndRoundTrips) {
  const GoodCase& c = GetParam();
  const std::optional<Ip4Address> a = Ip4Address::Parse(c.text);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, c.address);
  // Every accepted text is already canonical.
  EXPECT_EQ(a->ToString(), c.text);
}

INSTANTIATE_TEST_SUITE_P(Table, Ip4ParseGood,
                         testing::Values(GoodCase{"0.0.0.0", Ip4Address()},
                                         GoodCase{"255.255.255.255", Ip4Address::Broadcast()},
                                         GoodCase{"10.77.0.1", Ip4Address(10, 77, 0, 1)},
                                         GoodCase{"192.168.1.100", Ip4Address(192, 168, 1, 100)},
                                         GoodCase{"100.0.0.0", Ip4Address(100, 0, 0, 0)},
                                         GoodCase{"1.2.3.4", Ip4Address(1, 2, 3, 4)},
                                         GoodCase{"127.0.0.1", Ip4Address::Loopback()},
                                         GoodCase{"224.0.0.251", Ip4Address(224, 0, 0, 251)},
                                         GoodCase{"9.99.199.250", Ip4Address(9, 99, 199, 250)}));

class Ip4ParseBad : public testing::TestWithParam<std::string_view> {};

TEST_P(Ip4ParseBad, IsRefused) { EXPECT_EQ(Ip4Address::Parse(GetParam()), std::nullopt); }

INSTANTIATE_TEST_SUITE_P(Table, Ip4ParseBad,
                         testing::Values("",                   // empty
                                         "1",                  // inet_aton shorthand forms
                                         "1.2",                //
                                         "1.2.3",              // too few parts
                                         "167772161",          // a bare 32-bit number
                                         "1.2.3.4.5",          // too many parts
                                         "1.2.3.4.",           // trailing dot
                                         ".1.2.3.4",           // leading dot
                                         "1..2.3",             // empty part
                                         "1.2..3.4",           // empty part, five fields
                                         "...",                // all empty
                                         "256.1.1.1",          // out of range
                                         "1.2.3.256",          // out of range, last
                                         "1.2.3.999",          //
                                         "1234.1.1.1",         // four digits
                                         "99999999999.1.1.1",  // overflows 32 bits
                                         "010.1.1.1",          // leading zero (octal?)
                                         "1.2.3.04",           // leading zero, last
                                         "00.1.1.1",           // double zero
                                         "1.2.3.00",           //
                                         " 1.2.3.4",           // whitespace
                                         "1.2.3.4 ",           //
                                         "1. 2.3.4",           //
                                         "1.2.3.4\n",          //
                                         "+1.2.3.4",           // signs
                                         "-1.2.3.4",           //
                                         "1.2.3.-4",           //
                                         "1.2.3.+4",           //
                                         "0x1.2.3.4",          // hex
                                         "0xa.0.0.1",          //
                                         "a.b.c.d",            //
                                         "1.2.3.4/24",         // prefix is not an address
                                         "1.2.3.4:80",         // port
                                         "::1"));              // IPv6

TEST(Ip4Address, EmbeddedNulIsRefused) {
  EXPECT_EQ(Ip4Address::Parse(std::string_view("1.2.3.4\0", 8)), std::nullopt);
  EXPECT_EQ(Ip4Address::Parse(std::string_view("1.2\0.3.4", 8)), std::nullopt);
}

TEST(Ip4Address, BytesAreNetworkOrder) {
  const uint8_t wire[] = {10, 77, 0, 1};
  const Ip4Address a = Ip4Address::FromBytes(wire);
  EXPECT_EQ(a.value(), 0x0a4d0001u);
  EXPECT_EQ(a.bytes(), (Ip4Address::Bytes{10, 77, 0, 1}));
  uint8_t out[5] = {0, 0, 0, 0, 0xaa};
  a.CopyTo(out);
  EXPECT_THAT(out, testing::ElementsAre(10, 77, 0, 1, 0xaa));
}

struct ClassCase {
  std::string_view text;
  bool unspecified, this_network, loopback, multicast, broadcast, link_local, priv, reserved, doc;
};

TEST(Ip4Address, Classification) {
  // clang-format off
  const ClassCase cases[] = {
      // text             unspec thisnet loop   mcast  bcast  ll     priv   resv   doc
      {"0.0.0.0", /*    */ true, true, false, false, false, false, false, false, false},
      {"0.1.2.3", /*    */ false, true, false, false, false, false, false, false, false},
      {"127.0.0.1", /*  */ false, false, true, false, false, false, false, false, false},
      {"127.255.0.9", /**/ false, false, true, false, false, false, false, false, false},
      {"126.255.255.255", false, false, false, false, false, false, false, false, false},
      {"224.0.0.1", /*  */ false, false, false, true, false, false, false, false, false},
      {"239.255.255.255", false, false, false, true, false, false, false, false, false},
      {"223.255.255.255", false, false, false, false, false, false, false, false, false},
      {"255.255.255.255", false, false, false, false, true, false, false, false, false},
      {"240.0.0.1", /*  */ false, false, false, false, false, false, false, true, false},
      {"255.255.255.254", false, false, false, false, false, false, false, true, false},
      {"169.254.0.1", /**/ false, false, false, false, false, true, false, false, false},
      {"169.254.255.255", false, false, false, false, false, true, false, false, false},
      {"169.253.0.1", /**/ false, false, false, false, false, false, false, false, false},
      {"169.255.0.1", /**/ false, false, false, false, false, false, false, false, false},
      {"10.0.0.0", /*   */ false, false, false, false, false, false, true, false, false},
      {"10.255.255.255", false, false, false, false, false, false, true, false, false},
      {"11.0.0.0", /*   */ false, false, false, false, false, false, false, false, false},
      {"172.15.255.255", false, false, false, false, false, false, false, false, false},
      {"172.16.0.0", /* */ false, false, false, false, false, false, true, false, false},
      {"172.31.255.255", false, false, false, false, false, false, true, false, false},
      {"172.32.0.0", /* */ false, false, false, false, false, false, false, false, false},
      {"192.168.0.1", /**/ false, false, false, false, false, false, true, false, false},
      {"192.169.0.1", /**/ false, false, false, false, false, false, false, false, false},
      {"192.0.2.1", /*  */ false, false, false, false, false, false, false, false, true},
      {"198.51.100.7", /**/ false, false, false, false, false, false, false, false, true},
      {"203.0.113.255", false, false, false, false, false, false, false, false, true},
      {"203.0.114.1", /**/ false, false, false, false, false, false, false, false, false},
      {"8.8.8.8", /*    */ false, false, false, false, false, false, false, false, false},
  };
  // clang-format on
  for (const ClassCase& c : cases) {
    SCOPED_TRACE(c.text);
    const std::optional<Ip4Address> a = Ip4Address::Parse(c.text);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->is_unspecified(), c.unspecified);
    EXPECT_EQ(a->is_this_network(), c.this_network);
    EXPECT_EQ(a->is_loopback(), c.loopback);
    EXPECT_EQ(a->is_multicast(), c.multicast);
    EXPECT_EQ(a->is_limited_broadcast(), c.broadcast);
    EXPECT_EQ(a->is_link_local(), c.link_local);
    EXPECT_EQ(a->is_private(), c.priv);
    EXPECT_EQ(a->is_reserved(), c.reserved);
    EXPECT_EQ(a->is_documentation(), c.doc);
  }
}

TEST(Ip4Address, ConstantsAndOrdering) {
  EXPECT_EQ(Ip4Address::Any().ToString(), "0.0.0.0");
  EXPECT_EQ(Ip4Address::Broadcast().ToString(), "255.255.255.255");
  EXPECT_EQ(Ip4Address::Loopback().ToString(), "127.0.0.1");
  // Ordered as numbers, i.e. as the dotted quads read.
  EXPECT_LT(Ip4Address(9, 255, 255, 255), Ip4Address(10, 0, 0, 0));
  EXPECT_LT(Ip4Address(10, 0, 0, 2), Ip4Address(10, 0, 0, 10));
}

TEST(Ip4Address, FormatsWithFmtAndStreams) {
  const Ip4Address a(10, 77, 0, 1);
  EXPECT_EQ(fmt::format("{}", a), "10.77.0.1");
  EXPECT_EQ(fmt::format("[{:>15}]", a), "[      10.77.0.1]");
  EXPECT_EQ(fmt::format("{} -> {}", a, Ip4Address::Broadcast()), "10.77.0.1 -> 255.255.255.255");
  std::ostringstream os;
  os << a;
  EXPECT_EQ(os.str(), "10.77.0.1");
}

TEST(Ip4Address, HashesForAbslContainers) {
  absl::flat_hash_set<Ip4Address> set = {Ip4Address(10, 77, 0, 1), Ip4Address(10, 77, 0, 2)};
  EXPECT_TRUE(set.contains(*Ip4Address::Parse("10.77.0.2")));
  EXPECT_FALSE(set.contains(Ip4Address(10, 77, 0, 3)));
}

}  // namespace
}  // namespace pytcp
