// Lease contents from replies, and the lease cache file format.
#include "stack/dhcp4/dhcp4_lease.h"

#include <gtest/gtest.h>

#include "stack/dhcp4/dhcp4_lease_file.h"
#include "tests/dhcp4/dhcp4_test_util.h"

namespace pytcp {
namespace {

using namespace pytcp::testing;  // NOLINT

Dhcp4View ParseReply(const std::vector<uint8_t>& bytes) {
  auto v = Dhcp4View::Parse(bytes);
  EXPECT_TRUE(v.ok());
  return *v;
}

TEST(Dhcp4Lease, ClassPrefix) {
  EXPECT_EQ(Ip4ClassPrefix(Ip4Address(10, 1, 2, 3)), 8);
  EXPECT_EQ(Ip4ClassPrefix(Ip4Address(127, 255, 0, 1)), 8);
  EXPECT_EQ(Ip4ClassPrefix(Ip4Address(128, 0, 0, 1)), 16);
  EXPECT_EQ(Ip4ClassPrefix(Ip4Address(172, 16, 5, 4)), 16);
  EXPECT_EQ(Ip4ClassPrefix(Ip4Address(192, 168, 1, 1)), 24);
  EXPECT_EQ(Ip4ClassPrefix(Ip4Address(223, 255, 255, 1)), 24);
  EXPECT_FALSE(Ip4ClassPrefix(Ip4Address(224, 0, 0, 1)));
  EXPECT_FALSE(Ip4ClassPrefix(Ip4Address(240, 0, 0, 1)));
}

TEST(Dhcp4Lease, OfferedInterfaceMasks) {
  Reply r;
  r.mask.reset();
  r.yiaddr = Ip4Address(192, 168, 7, 20);
  EXPECT_EQ(*OfferedInterface(ParseReply(r.Bytes())), *Ip4Interface::Parse("192.168.7.20/24"));
  r.yiaddr = Ip4Address(172, 20, 7, 20);
  EXPECT_EQ(*OfferedInterface(ParseReply(r.Bytes())), *Ip4Interface::Parse("172.20.7.20/16"));
  r.mask = Ip4Address(255, 255, 255, 255);  // /32 (RFC 3021 style point-to-point)
  EXPECT_EQ(*OfferedInterface(ParseReply(r.Bytes())), *Ip4Interface::Parse("172.20.7.20/32"));
  r.mask = Ip4Address(255, 255, 255, 254);
  r.yiaddr = Ip4Address(10, 0, 0, 1);  // the top of a /31 is a host (RFC 3021)
  EXPECT_TRUE(OfferedInterface(ParseReply(r.Bytes())).ok());
  r.mask = Ip4Address();
  EXPECT_EQ(OfferedInterface(ParseReply(r.Bytes())).error(), Dhcp4LeaseError::kBadMask);
  r.mask = Ip4Address(255, 255, 0, 255);
  EXPECT_EQ(OfferedInterface(ParseReply(r.Bytes())).error(), Dhcp4LeaseError::kBadMask);
  r.mask = kMask24;
  r.yiaddr = Ip4Address(0, 1, 2, 3);
  EXPECT_EQ(OfferedInterface(ParseReply(r.Bytes())).error(), Dhcp4LeaseError::kBadAddress);
  r.yiaddr = Ip4Address(250, 1, 2, 3);
  EXPECT_EQ(OfferedInterface(ParseReply(r.Bytes())).error(), Dhcp4LeaseError::kBadAddress);
}

TEST(Dhcp4Lease, LeaseFromAckSkipsUnusableRoutersAndDns) {
  Reply r;
  r.type = Dhcp4MessageType::kAck;
  r.routers = {Ip4Address(), kRouter, kServer2};
  r.dns = {Ip4Address::Broadcast(), kDns2, kDns2, kDns1};
  r.domain = std::string("lab.example.\0", 13);
  const Instant at = Instant::FromNanos(5);
  auto l = LeaseFromAck(ParseReply(r.Bytes()), at, at + 1s);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->router, kRouter);
  EXPECT_EQ(l->dns, (std::vector<Ip4Address>{kDns2, kDns1}));
  EXPECT_EQ(l->domain, "lab.example");
  EXPECT_EQ(l->requested, at);
  EXPECT_EQ(l->acquired, at + 1s);
  r.routers.clear();
  r.dns.clear();
  r.mtu.reset();
  r.domain = "bad domain";
  l = LeaseFromAck(ParseReply(r.Bytes()), at, at);
  ASSERT_TRUE(l.ok());
  EXPECT_FALSE(l->router);
  EXPECT_TRUE(l->dns.empty());
  EXPECT_FALSE(l->mtu);
  EXPECT_EQ(l->domain, "");
}

TEST(Dhcp4Lease, CleanDomainName) {
  EXPECT_EQ(CleanDomainName("example.com"), "example.com");
  EXPECT_EQ(CleanDomainName("example.com."), "example.com");
  EXPECT_EQ(CleanDomainName(std::string_view("a-b_c.d\0\0", 9)), "a-b_c.d");
  EXPECT_EQ(CleanDomainName(""), "");
  EXPECT_EQ(CleanDomainName("."), "");
  EXPECT_EQ(CleanDomainName(".lead"), "");
  EXPECT_EQ(CleanDomainName("a..b"), "");
  EXPECT_EQ(CleanDomainName("new\nline"), "");
  EXPECT_EQ(CleanDomainName("sp ace"), "");
  EXPECT_EQ(CleanDomainName(std::string(254, 'a')), "");
}

Dhcp4Lease FullLease() {
  Dhcp4Lease l;
  l.address = *Ip4Interface::Parse("10.77.0.50/24");
  l.server_id = kServer;
  l.router = kRouter;
  l.dns = {kDns1, kDns2};
  l.mtu = 1400;
  l.domain = "lab.example";
  l.lease_time = 3600s;
  l.t1 = 1800s;
  l.t2 = 3150s;
  l.requested = Instant::FromNanos(123);  // not stored: monotonic time means nothing later
  l.acquired = Instant::FromNanos(456);
  return l;
}

TEST(Dhcp4LeaseFile, SerializesExactText) {
  EXPECT_EQ(SerializeLease(FullLease(), 1700003600),
            "pytcp-dhcp4-lease 1\n"
            "address 10.77.0.50/24\n"
            "server 10.77.0.1\n"
            "router 10.77.0.1\n"
            "dns 10.77.0.1\n"
            "dns 9.9.9.9\n"
            "mtu 1400\n"
            "domain lab.example\n"
            "lease 3600\n"
            "t1 1800\n"
            "t2 3150\n"
            "expires 1700003600\n");
}

TEST(Dhcp4LeaseFile, RoundTrip) {
  Dhcp4Lease l = FullLease();
  auto parsed = ParseLease(SerializeLease(l, 1700003600));
  ASSERT_TRUE(parsed);
  l.requested = Instant();
  l.acquired = Instant();
  EXPECT_EQ(parsed->first, l);
  EXPECT_EQ(parsed->second, 1700003600);

  // Only the required fields, and an infinite lease.
  Dhcp4Lease m;
  m.address = *Ip4Interface::Parse("192.168.1.9/32");
  m.server_id = Ip4Address(192, 168, 1, 1);
  m.lease_time = m.t1 = m.t2 = std::chrono::seconds(kDhcp4InfiniteLease);
  parsed = ParseLease(SerializeLease(m, 0));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->first, m);
  EXPECT_TRUE(parsed->first.infinite());
  EXPECT_EQ(parsed->second, 0);
}

TEST(Dhcp4LeaseFile, RejectsGarbage) {
  const std::string good = SerializeLease(FullLease(), 1700003600);
  ASSERT_TRUE(ParseLease(good));
  auto replace = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    return s;
  };
  const std::vector<std::pair<const char*, std::string>> bad = {
      {"empty", ""},
      {"binary", std::string("\x00\x01\x02\xff", 4)},
      {"no header", good.substr(good.find('\n') + 1)},
      {"other version", replace("lease 1\n", "lease 2\n")},
      {"no final newline", good.substr(0, good.size() - 1)},
      {"blank line", replace("server", "\nserver")},
      {"CRLF", replace("server 10.77.0.1\n", "server 10.77.0.1\r\n")},
      {"double space", replace("server 10", "server  10")},
      {"trailing space", replace("mtu 1400", "mtu 1400 ")},
      {"missing address", replace("address 10.77.0.50/24\n", "")},
      {"missing server", replace("server 10.77.0.1\n", "")},
      {"missing expires", replace("expires 1700003600\n", "")},
      {"bad address", replace("10.77.0.50/24", "10.77.0.500/24")},
      {"multicast address", replace("10.77.0.50/24", "224.0.0.5/24")},
      {"bad prefix", replace("10.77.0.50/24", "10.77.0.50/33")},
      {"bad server", replace("server 10.77.0.1", "server ten")},
      {"duplicate key", replace("mtu 1400\n", "mtu 1400\nmtu 1400\n")},
      {"unknown key", replace("mtu 1400\n", "mtu 1400\ncolour blue\n")},
      {"mtu too small", replace("mtu 1400", "mtu 67")},
      {"mtu too big", replace("mtu 1400", "mtu 65536")},
      {"negative expiry", replace("expires 1700003600", "expires -1")},
      {"leading zero", replace("lease 3600", "lease 03600")},
      {"lease overflow", replace("lease 3600", "lease 4294967296")},
      {"zero lease", replace("lease 3600", "lease 0")},
      {"t1 after t2", replace("t1 1800", "t1 3200")},
      {"t2 after lease", replace("t2 3150", "t2 3601")},
      {"hex number", replace("t1 1800", "t1 0x10")},
      {"bad domain", replace("domain lab.example", "domain lab..example")},
      {"garbage line", replace("dns 9.9.9.9\n", "xxxxxxxxxxxx\n")},
      {"huge", good + std::string(5000, '#')},
  };
  for (const auto& [name, text] : bad) {
    EXPECT_FALSE(ParseLease(text)) << name;
  }
  std::string many_dns = good;
  for (int i = 0; i < 16; ++i) many_dns.insert(many_dns.find("mtu"), "dns 8.8.8.8\n");
  EXPECT_FALSE(ParseLease(many_dns)) << "18 dns lines";
}

}  // namespace
}  // namespace pytcp
