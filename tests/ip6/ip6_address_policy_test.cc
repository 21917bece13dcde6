// RFC 6724 destination address ordering: the worked examples of RFC 6724 §10.2, the
// policy table, and the orders a lab host meets (a ULA host with IPv4, unusable answers).
#include "stack/ip6/ip6_address_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pytcp::testing {
namespace {

IpAddress A(const std::string& text) {
  if (auto v4 = Ip4Address::Parse(text)) return IpAddress(*v4);
  return IpAddress(*Ip6Address::Parse(text));
}

// (destination, source) pairs in, destinations out in the sorted order.
std::vector<std::string> Order(const std::vector<std::pair<std::string, std::string>>& in) {
  std::vector<DestinationCandidate> c;
  for (const auto& [d, s] : in) {
    DestinationCandidate x;
    x.destination = A(d);
    if (!s.empty()) x.source = A(s);
    c.push_back(x);
  }
  SortDestinations(c);
  std::vector<std::string> out;
  for (const auto& x : c) out.push_back(x.destination.ToString());
  return out;
}

using V = std::vector<std::string>;

TEST(AddressPolicy, DefaultPolicyTable) {
  EXPECT_EQ(PolicyPrecedence(*Ip6Address::Parse("::1")), 50);
  EXPECT_EQ(PolicyPrecedence(*Ip6Address::Parse("2001:db8::1")), 40);
  EXPECT_EQ(PolicyPrecedence(A("10.0.0.1").v6()), 35);
  EXPECT_EQ(PolicyPrecedence(*Ip6Address::Parse("2002::1")), 30);
  EXPECT_EQ(PolicyPrecedence(*Ip6Address::Parse("2001::1")), 5);
  EXPECT_EQ(PolicyPrecedence(*Ip6Address::Parse("fd77::1")), 3);
  EXPECT_EQ(PolicyLabel(*Ip6Address::Parse("fd77::1")), 13);
  EXPECT_EQ(PolicyLabel(*Ip6Address::Parse("fec0::1")), 11);
  EXPECT_EQ(PolicyLabel(*Ip6Address::Parse("3ffe::1")), 12);
  EXPECT_EQ(PolicyLabel(*Ip6Address::Parse("::10.0.0.1")), 3);
  EXPECT_EQ(AddressScope(A("169.254.1.1").v6()), 2);  // RFC 6724 §3.2
  EXPECT_EQ(AddressScope(A("127.0.0.1").v6()), 2);
  EXPECT_EQ(AddressScope(A("10.0.0.1").v6()), 14);
  EXPECT_EQ(AddressScope(*Ip6Address::Parse("ff05::2")), 5);
  EXPECT_EQ(CommonPrefixLength(*Ip6Address::Parse("2001:db8::1"), *Ip6Address::Parse("2001:db9::1")), 31);
}

// RFC 6724 §10.2, each example with the source this host would pick.
TEST(AddressPolicy, Rfc6724WorkedExamples) {
  // Prefer matching scope.
  EXPECT_EQ(Order({{"198.51.100.121", "169.254.13.78"}, {"2001:db8:1::1", "2001:db8:1::2"}}),
            (V{"2001:db8:1::1", "198.51.100.121"}));
  EXPECT_EQ(Order({{"2001:db8:1::1", "fe80::1"}, {"198.51.100.121", "198.51.100.117"}}),
            (V{"198.51.100.121", "2001:db8:1::1"}));
  // Prefer higher precedence.
  EXPECT_EQ(Order({{"10.1.2.3", "10.1.2.4"}, {"2001:db8:1::1", "2001:db8:1::2"}}),
            (V{"2001:db8:1::1", "10.1.2.3"}));
  // Prefer smaller scope.
  EXPECT_EQ(Order({{"2001:db8:1::1", "2001:db8:1::2"}, {"fe80::1", "fe80::2"}}),
            (V{"fe80::1", "2001:db8:1::1"}));
  // Prefer matching label.
  EXPECT_EQ(Order({{"2001:db8:1::1", "2002:c633:6401::2"}, {"2002:c633:6401::1", "2002:c633:6401::2"}}),
            (V{"2002:c633:6401::1", "2001:db8:1::1"}));
  // Prefer higher precedence (both labels match).
  EXPECT_EQ(Order({{"2002:c633:6401::1", "2002:c633:6401::2"}, {"2001:db8:1::1", "2001:db8:1::2"}}),
            (V{"2001:db8:1::1", "2002:c633:6401::1"}));
}

TEST(AddressPolicy, UnusableLastAndStableOtherwise) {
  EXPECT_EQ(Order({{"2001:db8::1", ""}, {"10.0.0.1", "10.0.0.2"}}), (V{"10.0.0.1", "2001:db8::1"}));
  // Rule 10: equal by every rule, the resolver's order stays.
  EXPECT_EQ(Order({{"10.0.0.9", "10.0.0.2"}, {"10.0.0.1", "10.0.0.2"}}), (V{"10.0.0.9", "10.0.0.1"}));
}

TEST(AddressPolicy, LabHostWithUlaAndIpv4) {
  // The lab: a ULA address by SLAAC and IPv4 by DHCP. IPv4 (precedence 35) comes before
  // ULA (3); a global IPv6 answer reached only from a ULA source loses on its label.
  EXPECT_EQ(Order({{"fd77::1", "fd77::ff:fe77:2"}, {"10.77.0.1", "10.77.0.2"}}), (V{"10.77.0.1", "fd77::1"}));
  EXPECT_EQ(Order({{"2001:db8::1", "fd77::ff:fe77:2"}, {"10.77.0.1", "10.77.0.2"}}),
            (V{"10.77.0.1", "2001:db8::1"}));
  // Rule 9: of two ULA answers, the one sharing the source's /64 first.
  EXPECT_EQ(Order({{"fd78::2", "fd77::ff:fe77:2"}, {"fd77::1", "fd77::ff:fe77:2"}}), (V{"fd77::1", "fd78::2"}));
}

TEST(AddressPolicy, DeprecatedSourceAfterPreferred) {
  std::vector<DestinationCandidate> c(2);
  c[0].destination = A("2001:db8:1::1");
  c[0].source = A("2001:db8:1::2");
  c[0].source_deprecated = true;
  c[1].destination = A("2001:db8:2::1");
  c[1].source = A("2001:db8:2::2");
  SortDestinations(c);
  EXPECT_EQ(c[0].destination, A("2001:db8:2::1"));  // rule 3
}

}  // namespace
}  // namespace pytcp::testing
