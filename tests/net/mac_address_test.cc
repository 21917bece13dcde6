#include "stack/net/mac_address.h"

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

constexpr MacAddress Mac(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f) {
  return MacAddress(MacAddress::Bytes{a, b, c, d, e, f});
}

// Compile-time use of the mappings (they run in constexpr protocol tables).
static_assert(MacAddress::FromIp4Multicast(Ip4Address(224, 0, 0, 251)) ==
              Mac(0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb));
static_assert(Mac(0x02, 0, 0, 0x77, 0, 1).Ip6LinkLocal() ==
              Ip6Address::FromGroups({0xfe80, 0, 0, 0, 0, 0x00ff, 0xfe77, 0x0001}));
static_assert(MacAddress::Broadcast().is_broadcast());

struct GoodCase {
  std::string_view text;
  MacAddress mac;
  std::string_view canonical;
};

// Failure messages name the case by its text.
void PrintTo(const GoodCase& c, std::ostream* os) { *os << '"' << c.text << '"'; }

class MacParseGood : public testing::TestWithParam<GoodCase> {};

TEST_P(MacParseGood, ParsesAndFormatsCanonically) {
  const GoodCase& c = GetParam();
  const std::optional<MacAddress> mac = MacAddress::Parse(c.text);
  ASSERT_TRUE(mac.has_value());
  EXPECT_EQ(*mac, c.mac);
  EXPECT_EQ(mac->ToString(), c.canonical);
  // The canonical form parses back to the same value.
  EXPECT_EQ(MacAddress::Parse(mac->ToString()), mac);
}

INSTANTIATE_TEST_SUITE_P(
    Table, MacParseGood,
    testing::Values(
        GoodCase{"02:00:00:77:00:01", Mac(0x02, 0, 0, 0x77, 0, 1), "02:00:00:77:00:01"},
        GoodCase{"02-00-00-77-00-01", Mac(0x02, 0, 0, 0x77, 0, 1), "02:00:00:77:00:01"},
        GoodCase{"AA:bb:CC:dd:EE:ff", Mac(0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff), "aa:bb:cc:dd:ee:ff"},
        GoodCase{"FF-FF-FF-FF-FF-FF", MacAddress::Broadcast(), "ff:ff:ff:ff:ff:ff"},
        GoodCase{"00:00:00:00:00:00", MacAddress(), "00:00:00:00:00:00"},
        GoodCase{"52:54:00:12:34:56", Mac(0x52, 0x54, 0, 0x12, 0x34, 0x56), "52:54:00:12:34:56"}));

class MacParseBad : public testing::TestWithParam<std::string_view> {};

TEST_P(MacParseBad, IsRefused) { EXPECT_EQ(MacAddress::Parse(GetParam()), std::nullopt); }

INSTANTIATE_TEST_SUITE_P(Table, MacParseBad,
                         testing::Values("",                      // empty
                                         "02:00:00:77:00",        // five octets
                                         "02:00:00:77:00:01:02",  // seven octets
                                         "02:00:00:77:00:01:",    // trailing separator
                                         ":02:00:00:77:00:01",    // leading separator
                                         "2:0:0:77:0:1",          // one-digit octets
                                         "02:00:00:77:00:1",      // one short octet
                                         "02:00:00:77:0:001",     // right length, wrong split
                                         "002:00:00:77:00:01",    // three-digit octet
                                         "02:00:00-77:00:01",     // mixed separators
                                         "02-00-00-77-00:01",     // mixed at the end
                                         "02.00.00.77.00.01",     // wrong separator
                                         "0200.0077.0001",        // Cisco form
                                         "020000770001",          // no separators
                                         "02:00:00:77:00:0g",     // non-hex
                                         "0x:00:00:77:00:01",     // non-hex
                                         "02:00:00:77:00:+1",     // sign
                                         " 2:00:00:77:00:01",     // whitespace
                                         "02:00:00:77:00:01 ",    // trailing whitespace
                                         "02 00 00 77 00 01"));   // space separators

TEST(MacAddress, EmbeddedNulIsRefused) {
  EXPECT_EQ(MacAddress::Parse(std::string_view("02:00:00:77:00:01\0", 18)), std::nullopt);
  EXPECT_EQ(MacAddress::Parse(std::string_view("02:00:00:77:00\0001", 17)), std::nullopt);
}

TEST(MacAddress, BytesRoundTrip) {
  const uint8_t wire[] = {0x02, 0x00, 0x00, 0x77, 0x00, 0x01, 0xee};
  const MacAddress mac = MacAddress::FromBytes(wire);
  EXPECT_EQ(mac.bytes(), (MacAddress::Bytes{0x02, 0x00, 0x00, 0x77, 0x00, 0x01}));
  uint8_t out[7] = {0, 0, 0, 0, 0, 0, 0xaa};
  mac.CopyTo(out);
  // Exactly six bytes written.
  EXPECT_THAT(out, testing::ElementsAre(0x02, 0x00, 0x00, 0x77, 0x00, 0x01, 0xaa));
}

struct ClassCase {
  MacAddress mac;
  bool unspecified, broadcast, multicast, unicast, local;
};

TEST(MacAddress, Classification) {
  // clang-format off
  const ClassCase cases[] = {
      // mac                                  unspec bcast  mcast  ucast  local
      {MacAddress(), /*                    */ true, false, false, true, false},
      {MacAddress::Broadcast(), /*         */ false, true, true, false, true},
      {Mac(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01), false, false, true, false, false},
      {Mac(0x33, 0x33, 0x00, 0x00, 0x00, 0x01), false, false, true, false, true},
      {Mac(0x02, 0x00, 0x00, 0x77, 0x00, 0x01), false, false, false, true, true},
      {Mac(0x00, 0x11, 0x22, 0x33, 0x44, 0x55), false, false, false, true, false},
      {Mac(0x52, 0x54, 0x00, 0x12, 0x34, 0x56), false, false, false, true, true},
      {Mac(0xfc, 0x00, 0x00, 0x00, 0x00, 0x00), false, false, false, true, false},
  };
  // clang-format on
  for (const ClassCase& c : cases) {
    SCOPED_TRACE(c.mac.ToString());
    EXPECT_EQ(c.mac.is_unspecified(), c.unspecified);
    EXPECT_EQ(c.mac.is_broadcast(), c.broadcast);
    EXPECT_EQ(c.mac.is_multicast(), c.multicast);
    EXPECT_EQ(c.mac.is_unicast(), c.unicast);
    EXPECT_EQ(c.mac.is_locally_administered(), c.local);
    EXPECT_EQ(c.mac.is_universally_administered(), !c.local);
  }
}

TEST(MacAddress, Ip4MulticastMappingKeepsLow23Bits) {
  // RFC 1112 §6.4.
  const struct {
    Ip4Address group;
    MacAddress mac;
  } cases[] = {
      {Ip4Address(224, 0, 0, 1), Mac(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01)},
      {Ip4Address(224, 0, 0, 251), Mac(0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb)},
      {Ip4Address(239, 255, 255, 250), Mac(0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa)},
      // The 24th bit is dropped: 224.128.0.1 shares a MAC with 224.0.0.1.
      {Ip4Address(224, 128, 0, 1), Mac(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01)},
      {Ip4Address(233, 252, 18, 7), Mac(0x01, 0x00, 0x5e, 0x7c, 0x12, 0x07)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.group.ToString());
    const MacAddress mac = MacAddress::FromIp4Multicast(c.group);
    EXPECT_EQ(mac, c.mac);
    EXPECT_TRUE(mac.is_multicast());
  }
}

TEST(MacAddress, Ip6MulticastMappingKeepsLow32Bits) {
  // RFC 2464 §7.
  const struct {
    std::string_view group;
    MacAddress mac;
  } cases[] = {
      {"ff02::1", Mac(0x33, 0x33, 0x00, 0x00, 0x00, 0x01)},
      {"ff02::2", Mac(0x33, 0x33, 0x00, 0x00, 0x00, 0x02)},
      {"ff02::fb", Mac(0x33, 0x33, 0x00, 0x00, 0x00, 0xfb)},
      {"ff02::1:ff77:1", Mac(0x33, 0x33, 0xff, 0x77, 0x00, 0x01)},
      {"ff05::1:3", Mac(0x33, 0x33, 0x00, 0x01, 0x00, 0x03)},
      {"ff0e::dead:beef:1234:5678", Mac(0x33, 0x33, 0x12, 0x34, 0x56, 0x78)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.group);
    const std::optional<Ip6Address> group = Ip6Address::Parse(c.group);
    ASSERT_TRUE(group.has_value());
    const MacAddress mac = MacAddress::FromIp6Multicast(*group);
    EXPECT_EQ(mac, c.mac);
    EXPECT_TRUE(mac.is_multicast());
  }
}

TEST(MacAddress, ModifiedEui64FlipsUniversalLocalBit) {
  // RFC 4291 Appendix A: insert ff:fe, invert bit 0x02 of the first octet.
  const struct {
    MacAddress mac;
    Ip6Address::InterfaceId iid;
    std::string_view link_local;
  } cases[] = {
      // Locally administered 02:... loses the bit: the id becomes ::ff:fe77:1.
      {Mac(0x02, 0x00, 0x00, 0x77, 0x00, 0x01),
       {0x00, 0x00, 0x00, 0xff, 0xfe, 0x77, 0x00, 0x01},
       "fe80::ff:fe77:1"},
      // Universal 00:... gains it.
      {Mac(0x00, 0x11, 0x22, 0x33, 0x44, 0x55),
       {0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55},
       "fe80::211:22ff:fe33:4455"},
      // QEMU's default guest MAC and its well-known link-local address.
      {Mac(0x52, 0x54, 0x00, 0x12, 0x34, 0x56),
       {0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56},
       "fe80::5054:ff:fe12:3456"},
      {Mac(0xff, 0xff, 0xff, 0xff, 0xff, 0xfe),
       {0xfd, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xfe},
       "fe80::fdff:ffff:feff:fffe"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.mac.ToString());
    EXPECT_EQ(c.mac.Eui64InterfaceId(), c.iid);
    EXPECT_EQ(c.mac.Ip6LinkLocal().ToString(), c.link_local);
    EXPECT_TRUE(c.mac.Ip6LinkLocal().is_link_local());
    EXPECT_EQ(c.mac.Ip6LinkLocal().interface_id(), c.iid);
    EXPECT_EQ(Ip6Address::LinkLocal(c.mac.Eui64InterfaceId()), c.mac.Ip6LinkLocal());
  }
}

TEST(MacAddress, FormatsWithFmtAndStreams) {
  const MacAddress mac = Mac(0x02, 0x00, 0x00, 0x77, 0x00, 0x01);
  EXPECT_EQ(fmt::format("{}", mac), "02:00:00:77:00:01");
  EXPECT_EQ(fmt::format("[{:>19}]", mac), "[  02:00:00:77:00:01]");
  EXPECT_EQ(fmt::format("[{:<18}]", mac), "[02:00:00:77:00:01 ]");
  std::ostringstream os;
  os << mac;
  EXPECT_EQ(os.str(), "02:00:00:77:00:01");
}

TEST(MacAddress, OrdersByBytesAndHashes) {
  EXPECT_LT(Mac(0, 0, 0, 0, 0, 1), Mac(0, 0, 0, 0, 1, 0));
  EXPECT_LT(Mac(0x01, 0, 0, 0, 0, 0), MacAddress::Broadcast());
  absl::flat_hash_set<MacAddress> set = {MacAddress::Broadcast(), Mac(0x02, 0, 0, 0x77, 0, 1)};
  EXPECT_TRUE(set.contains(*MacAddress::Parse("02-00-00-77-00-01")));
  EXPECT_FALSE(set.contains(Mac(0x02, 0, 0, 0x77, 0, 2)));
}

}  // namespace
}  // namespace pytcp
