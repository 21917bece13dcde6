#include "stack/net/ip6_address.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"

namespace pytcp {
namespace {

using Groups = std::array<uint16_t, 8>;

static_assert(Ip6Address::Loopback().is_loopback());
static_assert(Ip6Address::FromGroups({0xfe80, 0, 0, 0, 0, 0, 0, 1}).SolicitedNodeMulticast() ==
              Ip6Address::FromGroups({0xff02, 0, 0, 0, 0, 1, 0xff00, 1}));
static_assert(Ip6Address::MapIp4(Ip4Address(10, 77, 0, 1)).UnmapIp4() == Ip4Address(10, 77, 0, 1));

Ip6Address Addr(std::string_view text) {
  const std::optional<Ip6Address> a = Ip6Address::Parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(Ip6Address());
}

// Accepted text -> value -> RFC 5952 text.
struct ParseCase {
  std::string_view text;
  Groups groups;
  std::string_view canonical;
};

// Failure messages name the case by its text.
void PrintTo(const ParseCase& c, std::ostream* os) { *os << '"' << c.text << '"'; }

class Ip6ParseGood : public testing::TestWithParam<ParseCase> {};

TEST_P(Ip6ParseGood, ParsesAndFormatsPerRfc5952) {
  const ParseCase& c = GetParam();
  const std::optional<Ip6Address> a = Ip6Address::Parse(c.text);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, Ip6Address::FromGroups(c.groups));
  EXPECT_EQ(a->ToString(), c.canonical);
  // The canonical form is a fixed point.
  EXPECT_EQ(Ip6Address::Parse(c.canonical), a);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc4291Section2_2, Ip6ParseGood,
    testing::Values(
        // Form 1: the preferred form x:x:x:x:x:x:x:x.
        ParseCase{"ABCD:EF01:2345:6789:ABCD:EF01:2345:6789",
                  {0xabcd, 0xef01, 0x2345, 0x6789, 0xabcd, 0xef01, 0x2345, 0x6789},
                  "abcd:ef01:2345:6789:abcd:ef01:2345:6789"},
        ParseCase{"2001:DB8:0:0:8:800:200C:417A",
                  {0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a},
                  "2001:db8::8:800:200c:417a"},
        // Form 2: "::" compression.
        ParseCase{"2001:DB8::8:800:200C:417A",
                  {0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a},
                  "2001:db8::8:800:200c:417a"},
        ParseCase{"FF01:0:0:0:0:0:0:101", {0xff01, 0, 0, 0, 0, 0, 0, 0x101}, "ff01::101"},
        ParseCase{"FF01::101", {0xff01, 0, 0, 0, 0, 0, 0, 0x101}, "ff01::101"},
        ParseCase{"0:0:0:0:0:0:0:1", {0, 0, 0, 0, 0, 0, 0, 1}, "::1"},
        ParseCase{"::1", {0, 0, 0, 0, 0, 0, 0, 1}, "::1"},
        ParseCase{"0:0:0:0:0:0:0:0", {0, 0, 0, 0, 0, 0, 0, 0}, "::"},
        ParseCase{"::", {0, 0, 0, 0, 0, 0, 0, 0}, "::"},
        // Form 3: embedded IPv4 in the low 32 bits.
        ParseCase{"0:0:0:0:0:0:13.1.68.3", {0, 0, 0, 0, 0, 0, 0x0d01, 0x4403}, "::d01:4403"},
        ParseCase{"::13.1.68.3", {0, 0, 0, 0, 0, 0, 0x0d01, 0x4403}, "::d01:4403"},
        ParseCase{"0:0:0:0:0:FFFF:129.144.52.38",
                  {0, 0, 0, 0, 0, 0xffff, 0x8190, 0x3426},
                  "::ffff:129.144.52.38"},
        ParseCase{"::FFFF:129.144.52.38",
                  {0, 0, 0, 0, 0, 0xffff, 0x8190, 0x3426},
                  "::ffff:129.144.52.38"},
        // §2.3's legal spellings of one prefix address, and §2.7.1's example.
        ParseCase{"2001:0DB8:0000:CD30:0000:0000:0000:0000",
                  {0x2001, 0xdb8, 0, 0xcd30, 0, 0, 0, 0},
                  "2001:db8:0:cd30::"},
        ParseCase{
            "2001:0DB8::CD30:0:0:0:0", {0x2001, 0xdb8, 0, 0xcd30, 0, 0, 0, 0}, "2001:db8:0:cd30::"},
        ParseCase{
            "2001:0DB8:0:CD30::", {0x2001, 0xdb8, 0, 0xcd30, 0, 0, 0, 0}, "2001:db8:0:cd30::"},
        ParseCase{"4037::01:800:200E:8C6C",
                  {0x4037, 0, 0, 0, 1, 0x800, 0x200e, 0x8c6c},
                  "4037::1:800:200e:8c6c"}));

INSTANTIATE_TEST_SUITE_P(
    Rfc5952, Ip6ParseGood,
    testing::Values(
        // §1 / §4: eight spellings of one address, one canonical form (tie -> first run).
        ParseCase{"2001:db8:0:0:1:0:0:1", {0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}, "2001:db8::1:0:0:1"},
        ParseCase{"2001:0db8:0:0:1:0:0:1", {0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}, "2001:db8::1:0:0:1"},
        ParseCase{"2001:db8::1:0:0:1", {0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}, "2001:db8::1:0:0:1"},
        ParseCase{"2001:db8::0:1:0:0:1", {0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}, "2001:db8::1:0:0:1"},
        ParseCase{"2001:0db8::1:0:0:1", {0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}, "2001:db8::1:0:0:1"},
        ParseCase{"2001:db8:0:0:1::1", {0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}, "2001:db8::1:0:0:1"},
        ParseCase{"2001:db8:0000:0:1::1", {0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}, "2001:db8::1:0:0:1"},
        ParseCase{"2001:DB8:0:0:1::1", {0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}, "2001:db8::1:0:0:1"},
        // §2.1 / §4.1: leading zeros suppressed.
        ParseCase{"2001:db8:aaaa:bbbb:cccc:dddd:eeee:0001",
                  {0x2001, 0xdb8, 0xaaaa, 0xbbbb, 0xcccc, 0xdddd, 0xeeee, 1},
                  "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1"},
        ParseCase{"2001:db8:aaaa:bbbb:cccc:dddd:eeee:001",
                  {0x2001, 0xdb8, 0xaaaa, 0xbbbb, 0xcccc, 0xdddd, 0xeeee, 1},
                  "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1"},
        ParseCase{"2001:db8:aaaa:bbbb:cccc:dddd:eeee:01",
                  {0x2001, 0xdb8, 0xaaaa, 0xbbbb, 0xcccc, 0xdddd, 0xeeee, 1},
                  "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1"},
        // §2.2 / §4.2.2: "::" for a single zero group is accepted but never produced.
        ParseCase{"2001:db8:aaaa:bbbb:cccc:dddd::1",
                  {0x2001, 0xdb8, 0xaaaa, 0xbbbb, 0xcccc, 0xdddd, 0, 1},
                  "2001:db8:aaaa:bbbb:cccc:dddd:0:1"},
        ParseCase{
            "2001:db8:0:1:1:1:1:1", {0x2001, 0xdb8, 0, 1, 1, 1, 1, 1}, "2001:db8:0:1:1:1:1:1"},
        ParseCase{"2001:db8::1:1:1:1:1", {0x2001, 0xdb8, 0, 1, 1, 1, 1, 1}, "2001:db8:0:1:1:1:1:1"},
        // §2.2 / §4.2.1: the whole run is compressed.
        ParseCase{"2001:db8:0:0:0::1", {0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}, "2001:db8::1"},
        ParseCase{"2001:db8:0:0::1", {0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}, "2001:db8::1"},
        ParseCase{"2001:db8:0::1", {0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}, "2001:db8::1"},
        ParseCase{"2001:db8::1", {0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}, "2001:db8::1"},
        ParseCase{"2001:db8:0:0:0:0:2:1", {0x2001, 0xdb8, 0, 0, 0, 0, 2, 1}, "2001:db8::2:1"},
        // §2.2 / §4.2.3: equal runs -> the first; longer run wins wherever it is.
        ParseCase{
            "2001:db8::aaaa:0:0:1", {0x2001, 0xdb8, 0, 0, 0xaaaa, 0, 0, 1}, "2001:db8::aaaa:0:0:1"},
        ParseCase{
            "2001:db8:0:0:aaaa::1", {0x2001, 0xdb8, 0, 0, 0xaaaa, 0, 0, 1}, "2001:db8::aaaa:0:0:1"},
        ParseCase{"2001:0:0:1:0:0:0:1", {0x2001, 0, 0, 1, 0, 0, 0, 1}, "2001:0:0:1::1"},
        ParseCase{"2001:0:0:1::1", {0x2001, 0, 0, 1, 0, 0, 0, 1}, "2001:0:0:1::1"},
        // §2.3 / §4.3: lowercase.
        ParseCase{"2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:AAAA",
                  {0x2001, 0xdb8, 0xaaaa, 0xbbbb, 0xcccc, 0xdddd, 0xeeee, 0xaaaa},
                  "2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa"},
        ParseCase{"2001:db8:aaaa:bbbb:cccc:dddd:eeee:AAAA",
                  {0x2001, 0xdb8, 0xaaaa, 0xbbbb, 0xcccc, 0xdddd, 0xeeee, 0xaaaa},
                  "2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa"},
        // §5: IPv4-mapped keeps the dotted quad.
        ParseCase{"::ffff:192.0.2.1", {0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201}, "::ffff:192.0.2.1"},
        ParseCase{"0:0:0:0:0:ffff:c000:201",
                  {0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201},
                  "::ffff:192.0.2.1"}));

INSTANTIATE_TEST_SUITE_P(
    EdgeForms, Ip6ParseGood,
    testing::Values(
        ParseCase{"1::", {1, 0, 0, 0, 0, 0, 0, 0}, "1::"},
        ParseCase{"1:2:3:4:5:6:7::", {1, 2, 3, 4, 5, 6, 7, 0}, "1:2:3:4:5:6:7:0"},
        ParseCase{"::2:3:4:5:6:7:8", {0, 2, 3, 4, 5, 6, 7, 8}, "0:2:3:4:5:6:7:8"},
        ParseCase{"1::8", {1, 0, 0, 0, 0, 0, 0, 8}, "1::8"},
        ParseCase{"0:0:1::", {0, 0, 1, 0, 0, 0, 0, 0}, "0:0:1::"},
        ParseCase{"0:0:1:0:0:1:0:0", {0, 0, 1, 0, 0, 1, 0, 0}, "::1:0:0:1:0:0"},
        ParseCase{"1:0:0:2:0:0:0:3", {1, 0, 0, 2, 0, 0, 0, 3}, "1:0:0:2::3"},
        ParseCase{"0:1:0:1:0:1:0:1", {0, 1, 0, 1, 0, 1, 0, 1}, "0:1:0:1:0:1:0:1"},
        ParseCase{"fe80::ff:fe77:1", {0xfe80, 0, 0, 0, 0, 0xff, 0xfe77, 1}, "fe80::ff:fe77:1"},
        ParseCase{"FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF",
                  {0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff},
                  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
        ParseCase{"0000:0000:0000:0000:0000:0000:0000:0000", {0, 0, 0, 0, 0, 0, 0, 0}, "::"},
        ParseCase{"1:2:3:4:5:6:1.2.3.4", {1, 2, 3, 4, 5, 6, 0x0102, 0x0304}, "1:2:3:4:5:6:102:304"},
        ParseCase{"1:2:3:4:5::1.2.3.4", {1, 2, 3, 4, 5, 0, 0x0102, 0x0304}, "1:2:3:4:5:0:102:304"},
        ParseCase{"1::1.2.3.4", {1, 0, 0, 0, 0, 0, 0x0102, 0x0304}, "1::102:304"},
        ParseCase{"::0.0.0.0", {0, 0, 0, 0, 0, 0, 0, 0}, "::"},
        ParseCase{"::ffff:0.0.0.0", {0, 0, 0, 0, 0, 0xffff, 0, 0}, "::ffff:0.0.0.0"},
        ParseCase{"::ffff:255.255.255.255",
                  {0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff},
                  "::ffff:255.255.255.255"},
        // Not IPv4-mapped (::ffff:0:0:0/96 is SIIT, 64:ff9b::/96 is NAT64): hex form.
        ParseCase{"::ffff:0:1.2.3.4", {0, 0, 0, 0, 0xffff, 0, 0x0102, 0x0304}, "::ffff:0:102:304"},
        ParseCase{"64:ff9b::192.0.2.33",
                  {0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221},
                  "64:ff9b::c000:221"}));

class Ip6ParseBad : public testing::TestWithParam<std::string_view> {};

TEST_P(Ip6ParseBad, IsRefused) { EXPECT_EQ(Ip6Address::Parse(GetParam()), std::nullopt); }

// clang-format off
INSTANTIATE_TEST_SUITE_P(
    Table, Ip6ParseBad,
    testing::Values(
        "", ":",                                   // nothing
        ":::", "::::", "1:::2", ":::1", "1:::",    // triple colon
        "1::2::3", "::1::", "::1::2", "1::2:3::",  // two "::"
        "1:2:3:4:5:6:7",                           // seven groups, no "::"
        "1:2:3:4:5:6:7:8:9",                       // nine groups
        "1:2:3:4:5:6:7:8::",                       // "::" must stand for at least one group
        "::1:2:3:4:5:6:7:8",                       //
        "1:2:3:4::5:6:7:8",                        //
        ":1:2:3:4:5:6:7:8", ":1::", ":1::2",       // single leading ':'
        "1:2:3:4:5:6:7:8:", "1::2:", "1:",         // single trailing ':'
        "00000::1", "::00000", "12345::", "1:2:3:4:5:6:7:00008",  // more than 4 digits
        "g::1", "1::g", "::fffg", "1:2:3:4:5:6:7:z",              // not hex
        "0x1::", "-1::", "+1::", "1::-1",                         // prefixes and signs
        " ::1", "::1 ", ":: 1", "1 ::", "::1\n",                  // whitespace
        "fe80::1%eth0", "fe80::1%1",                              // zone ids
        "[::1]", "[::1]:80",                                      // brackets
        "::1/128",                                                // prefixes
        "1.2.3.4",                                                // bare IPv4
        "::1.2.3", "::1.2.3.4.5", "::256.1.1.1", "::1.2.3.256",   // bad IPv4
        "::01.2.3.4", "::1.2.3.04",                               // IPv4 leading zeros
        "::1.2.3.4:5", "::1.2.3.4:", "1.2.3.4::",                 // IPv4 not last
        "::1.2.3.4::", "1.2.3.4::5",                              //
        "1:2:3:4:5:6:7:1.2.3.4",                                  // 7 groups + IPv4
        "1:2:3:4:5:6:7:8:1.2.3.4",                                //
        "::1:2:3:4:5:6:1.2.3.4",                                  // 6 + IPv4 + "::"
        "1:2:3:4:5:1.2.3.4",                                      // 5 + IPv4, no "::"
        "::ffff:1.2.3.4.", "::ffff:.1.2.3.4", "::ffff:1..3.4",    //
        "::ffff:1.2.3.4/24",                                      //
        "2001:0DB8:0:CD3"));                                      // RFC 4291 §2.3: 4 groups

TEST(Ip6Address, TrailingDoubleColonVersusSingle) {
  // "1::" is fine (trailing "::"), "1:" and "1:2:3:4:5:6:7:8:" are not.
  EXPECT_TRUE(Ip6Address::Parse("1::").has_value());
  // clang-format on
  EXPECT_EQ(Ip6Address::Parse("1:"), std::nullopt);
  EXPECT_EQ(Ip6Address::Parse("1:2:3:4:5:6:7:"), std::nullopt);
}

TEST(Ip6Address, EmbeddedNulIsRefused) {
  EXPECT_EQ(Ip6Address::Parse(std::string_view("::1\0", 4)), std::nullopt);
  EXPECT_EQ(Ip6Address::Parse(std::string_view("::\0:1", 5)), std::nullopt);
}

// Formatting of values no spelling above reaches.
TEST(Ip6Address, FormatsEveryZeroRunPlacement) {
  const struct {
    Groups groups;
    std::string_view text;
  } cases[] = {
      {{0, 0, 0, 0, 0, 0, 0, 0}, "::"},
      {{1, 0, 0, 0, 0, 0, 0, 0}, "1::"},
      {{0, 0, 0, 0, 0, 0, 0, 1}, "::1"},
      {{0, 1, 0, 0, 0, 0, 0, 0}, "0:1::"},
      {{0, 0, 0, 0, 0, 0, 1, 0}, "::1:0"},
      {{1, 0, 1, 0, 1, 0, 1, 0}, "1:0:1:0:1:0:1:0"},
      {{1, 0, 0, 1, 0, 0, 1, 1}, "1::1:0:0:1:1"},
      {{1, 1, 0, 0, 1, 0, 0, 0}, "1:1:0:0:1::"},
      {{0, 0, 1, 0, 0, 0, 0, 0}, "0:0:1::"},
      {{0xabc, 0xd, 0xef0, 0x1000, 0x100, 0x10, 0x1, 0}, "abc:d:ef0:1000:100:10:1:0"},
  };
  for (const auto& c : cases) {
    const Ip6Address a = Ip6Address::FromGroups(c.groups);
    EXPECT_EQ(a.ToString(), c.text);
    EXPECT_EQ(Ip6Address::Parse(c.text), a) << c.text;
  }
}

TEST(Ip6Address, BytesAndGroups) {
  const uint8_t wire[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0x77, 0, 1};
  const Ip6Address a = Ip6Address::FromBytes(wire);
  EXPECT_EQ(a, Addr("fe80::ff:fe77:1"));
  EXPECT_EQ(a.group(0), 0xfe80);
  EXPECT_EQ(a.group(5), 0x00ff);
  EXPECT_EQ(a.group(6), 0xfe77);
  EXPECT_EQ(a.group(7), 0x0001);
  EXPECT_THAT(a.interface_id(), testing::ElementsAre(0, 0, 0, 0xff, 0xfe, 0x77, 0, 1));
  uint8_t out[17] = {};
  out[16] = 0xaa;
  a.CopyTo(out);
  EXPECT_THAT(out, testing::ElementsAre(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0x77, 0,
                                        1, 0xaa));
}

struct ClassCase {
  std::string_view text;
  bool unspecified, loopback, multicast, link_local, unique_local, global, solicited, mapped;
};

TEST(Ip6Address, Classification) {
  // clang-format off
  const ClassCase cases[] = {
      // text                 unspec loop   mcast  ll     ula    global snm    mapped
      {"::", /*            */ true, false, false, false, false, false, false, false},
      {"::1", /*           */ false, true, false, false, false, false, false, false},
      {"::2", /*           */ false, false, false, false, false, true, false, false},
      {"ff02::1", /*       */ false, false, true, false, false, false, false, false},
      {"ff0e::101", /*     */ false, false, true, false, false, false, false, false},
      {"ff02::1:ff77:1", /**/ false, false, true, false, false, false, true, false},
      {"ff02::1:ffab:cdef", false, false, true, false, false, false, true, false},
      {"ff02::1:fe77:1", /**/ false, false, true, false, false, false, false, false},
      {"ff02::2:ff77:1", /**/ false, false, true, false, false, false, false, false},
      {"ff05::1:ff77:1", /**/ false, false, true, false, false, false, false, false},
      {"fe80::1", /*       */ false, false, false, true, false, false, false, false},
      {"febf:ffff::1", /*  */ false, false, false, true, false, false, false, false},
      {"fec0::1", /*       */ false, false, false, false, false, false, false, false},
      {"fe7f::1", /*       */ false, false, false, false, false, true, false, false},
      {"fc00::1", /*       */ false, false, false, false, true, false, false, false},
      {"fd77::1", /*       */ false, false, false, false, true, false, false, false},
      {"fdff:ffff::1", /*  */ false, false, false, false, true, false, false, false},
      {"fe00::1", /*       */ false, false, false, false, false, true, false, false},
      {"fbff::1", /*       */ false, false, false, false, false, true, false, false},
      {"2001:db8::1", /*   */ false, false, false, false, false, true, false, false},
      {"2a00:1450::1", /*  */ false, false, false, false, false, true, false, false},
      {"::ffff:10.77.0.1", /**/ false, false, false, false, false, false, false, true},
      {"::fffe:10.77.0.1", /**/ false, false, false, false, false, true, false, false},
      {"0:0:0:0:1:ffff:a4d:1", false, false, false, false, false, true, false, false},
  };
  // clang-format on
  for (const ClassCase& c : cases) {
    SCOPED_TRACE(c.text);
    const Ip6Address a = Addr(c.text);
    EXPECT_EQ(a.is_unspecified(), c.unspecified);
    EXPECT_EQ(a.is_loopback(), c.loopback);
    EXPECT_EQ(a.is_multicast(), c.multicast);
    EXPECT_EQ(a.is_link_local(), c.link_local);
    EXPECT_EQ(a.is_unique_local(), c.unique_local);
    EXPECT_EQ(a.is_global(), c.global);
    EXPECT_EQ(a.is_solicited_node_multicast(), c.solicited);
    EXPECT_EQ(a.is_ip4_mapped(), c.mapped);
  }
  EXPECT_TRUE(Addr("fec0::1").is_site_local());
  EXPECT_FALSE(Addr("fe80::1").is_site_local());
}

TEST(Ip6Address, MulticastScope) {
  EXPECT_EQ(Addr("ff01::1").multicast_scope(), Ip6MulticastScope::kInterfaceLocal);
  EXPECT_EQ(Addr("ff02::1").multicast_scope(), Ip6MulticastScope::kLinkLocal);
  EXPECT_EQ(Addr("ff03::1").multicast_scope(), Ip6MulticastScope::kRealmLocal);
  EXPECT_EQ(Addr("ff04::1").multicast_scope(), Ip6MulticastScope::kAdminLocal);
  EXPECT_EQ(Addr("ff05::1:3").multicast_scope(), Ip6MulticastScope::kSiteLocal);
  EXPECT_EQ(Addr("ff08::1").multicast_scope(), Ip6MulticastScope::kOrganizationLocal);
  EXPECT_EQ(Addr("ff0e::101").multicast_scope(), Ip6MulticastScope::kGlobal);
  // Flags in the high nibble do not leak into the scope (RFC 4291 §2.7: ff1e:: is transient).
  EXPECT_EQ(Addr("ff1e::1234").multicast_scope(), Ip6MulticastScope::kGlobal);
  EXPECT_EQ(Addr("ff32::1").multicast_scope(), Ip6MulticastScope::kLinkLocal);
  // Unassigned values pass through.
  EXPECT_EQ(static_cast<uint8_t>(Addr("ff06::1").multicast_scope()), 6);
  EXPECT_EQ(static_cast<uint8_t>(Addr("ff0f::1").multicast_scope()), 15);
}

TEST(Ip6Address, SolicitedNodeMulticast) {
  const struct {
    std::string_view unicast;
    std::string_view group;
  } cases[] = {
      // RFC 4291 §2.7.1's own example.
      {"4037::01:800:200E:8C6C", "ff02::1:ff0e:8c6c"},
      {"fe80::ff:fe77:1", "ff02::1:ff77:1"},
      {"fd77::1", "ff02::1:ff00:1"},
      {"fd77::2", "ff02::1:ff00:2"},
      {"2001:db8::aabb:ccdd:eeff", "ff02::1:ffdd:eeff"},
      {"::", "ff02::1:ff00:0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.unicast);
    const Ip6Address group = Addr(c.unicast).SolicitedNodeMulticast();
    EXPECT_EQ(group.ToString(), c.group);
    EXPECT_TRUE(group.is_solicited_node_multicast());
    EXPECT_EQ(group.multicast_scope(), Ip6MulticastScope::kLinkLocal);
  }
  // Addresses that differ only above the low 24 bits share a group.
  EXPECT_EQ(Addr("fe80::ff:fe77:1").SolicitedNodeMulticast(),
            Addr("fd77::1234:5678:9a77:1").SolicitedNodeMulticast());
}

TEST(Ip6Address, InterfaceIdComposition) {
  const Ip6Address::InterfaceId iid = {0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};
  EXPECT_EQ(Ip6Address::LinkLocal(iid).ToString(), "fe80::211:22ff:fe33:4455");
  // SLAAC: the upper 64 bits of the prefix are kept, whatever the prefix's low bits hold.
  EXPECT_EQ(Ip6Address::FromPrefixAndInterfaceId(Addr("fd77::"), iid).ToString(),
            "fd77::211:22ff:fe33:4455");
  EXPECT_EQ(Ip6Address::FromPrefixAndInterfaceId(Addr("2001:db8:1:2:dead::beef"), iid).ToString(),
            "2001:db8:1:2:211:22ff:fe33:4455");
}

TEST(Ip6Address, Ip4Mapping) {
  const Ip6Address mapped = Ip6Address::MapIp4(Ip4Address(10, 77, 0, 1));
  EXPECT_EQ(mapped.ToString(), "::ffff:10.77.0.1");
  EXPECT_TRUE(mapped.is_ip4_mapped());
  EXPECT_EQ(mapped.UnmapIp4(), Ip4Address(10, 77, 0, 1));
  EXPECT_EQ(Addr("::10.77.0.1").UnmapIp4(), std::nullopt);
  EXPECT_EQ(Addr("fd77::1").UnmapIp4(), std::nullopt);
}

TEST(Ip6Address, Constants) {
  EXPECT_EQ(Ip6Address::Any().ToString(), "::");
  EXPECT_EQ(Ip6Address::Loopback().ToString(), "::1");
  EXPECT_EQ(Ip6Address::AllNodesMulticast().ToString(), "ff02::1");
  EXPECT_EQ(Ip6Address::AllRoutersMulticast().ToString(), "ff02::2");
}

TEST(Ip6Address, FormatsWithFmtStreamsAndHashes) {
  const Ip6Address a = Addr("2001:DB8::1");
  EXPECT_EQ(fmt::format("{}", a), "2001:db8::1");
  EXPECT_EQ(fmt::format("[{:>13}]", a), "[  2001:db8::1]");
  EXPECT_EQ(fmt::format("{}", Addr("::ffff:255.255.255.255")), "::ffff:255.255.255.255");
  std::ostringstream os;
  os << a;
  EXPECT_EQ(os.str(), "2001:db8::1");
  absl::flat_hash_set<Ip6Address> set = {a, Ip6Address::Loopback()};
  EXPECT_TRUE(set.contains(Addr("2001:db8:0:0:0:0:0:1")));
  EXPECT_FALSE(set.contains(Addr("2001:db8::2")));
  EXPECT_LT(Addr("::1"), Addr("::2"));
  EXPECT_LT(Addr("fe80::ffff"), Addr("ff02::1"));
}

}  // namespace
}  // namespace pytcp
