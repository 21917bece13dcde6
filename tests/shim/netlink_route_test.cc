// The NETLINK_ROUTE edit (shim/netlink_route.h) on literal datagrams: which requests are
// noted, what is dropped, edited and put in, and the bytes of the stack's RTM_NEWADDR.
#include "shim/netlink_route.h"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace pytcp::shim {
namespace {

constexpr uint32_t kTap = 7;
constexpr uint32_t kLo = 1;
constexpr uint32_t kPortId = 4242;
constexpr uint32_t kSeq = 31;

StackInterface Tap() {
  StackInterface si;
  si.name = "tap7";
  si.index = kTap;
  si.mac = *MacAddress::Parse("02:00:00:77:00:02");
  si.mtu = 1400;
  si.addresses.push_back(*Ip4Interface::Parse("10.77.0.2/24"));
  return si;
}

void Put(std::vector<uint8_t>& b, const void* p, size_t n) {
  const auto* c = static_cast<const uint8_t*>(p);
  b.insert(b.end(), c, c + n);
  b.resize(NLMSG_ALIGN(b.size()), 0);
}

std::vector<uint8_t> Header(uint16_t type, uint16_t flags, uint32_t seq, size_t payload) {
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(payload));
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  h.nlmsg_seq = seq;
  h.nlmsg_pid = kPortId;
  std::vector<uint8_t> b;
  Put(b, &h, sizeof(h));
  return b;
}

std::vector<uint8_t> DumpRequest(uint16_t type, uint16_t flags, uint8_t family, uint32_t seq) {
  std::vector<uint8_t> b = Header(type, flags, seq, 1);
  b.push_back(family);
  b.resize(NLMSG_ALIGN(b.size()), 0);
  // nlmsg_len says 17: the family byte, without the padding.
  return b;
}

// An RTM_NEWADDR of `index` with one IFA_LOCAL attribute.
std::vector<uint8_t> Addr(uint32_t index, uint8_t a, uint32_t seq) {
  std::vector<uint8_t> b = Header(RTM_NEWADDR, NLM_F_MULTI, seq, sizeof(ifaddrmsg) + RTA_SPACE(4));
  ifaddrmsg ifa{AF_INET, 8, 0, 0, index};
  Put(b, &ifa, sizeof(ifa));
  rtattr ra{static_cast<unsigned short>(RTA_LENGTH(4)), IFA_LOCAL};
  Put(b, &ra, sizeof(ra));
  const uint8_t ip[4] = {127, 0, 0, a};
  Put(b, ip, 4);
  return b;
}

std::vector<uint8_t> Link(int index, uint32_t mtu) {
  std::vector<uint8_t> b =
      Header(RTM_NEWLINK, NLM_F_MULTI, kSeq, sizeof(ifinfomsg) + RTA_SPACE(4) + RTA_SPACE(6));
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  Put(b, &ifi, sizeof(ifi));
  rtattr mtu_attr{static_cast<unsigned short>(RTA_LENGTH(4)), IFLA_MTU};
  Put(b, &mtu_attr, sizeof(mtu_attr));
  Put(b, &mtu, 4);
  rtattr mac_attr{static_cast<unsigned short>(RTA_LENGTH(6)), IFLA_ADDRESS};
  Put(b, &mac_attr, sizeof(mac_attr));
  const uint8_t mac[6] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  Put(b, mac, 6);
  return b;
}

std::vector<uint8_t> Done(uint32_t seq) {
  std::vector<uint8_t> b = Header(NLMSG_DONE, NLM_F_MULTI, seq, 4);
  const int zero = 0;
  Put(b, &zero, 4);
  return b;
}

std::vector<uint8_t> Cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(NetlinkRouteTest, OnlyAddressDumpRequestsAreNoted) {
  std::vector<PendingAddrDump> pending;
  NoteAddrDumpRequests(DumpRequest(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, AF_INET, 1), &pending);
  NoteAddrDumpRequests(DumpRequest(RTM_GETADDR, NLM_F_REQUEST | NLM_F_ROOT, AF_UNSPEC, 2), &pending);
  NoteAddrDumpRequests(DumpRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, AF_INET, 3), &pending);
  NoteAddrDumpRequests(DumpRequest(RTM_GETADDR, NLM_F_REQUEST, AF_INET, 4), &pending);  // no dump
  NoteAddrDumpRequests(DumpRequest(RTM_GETADDR, NLM_F_DUMP, AF_INET, 5), &pending);  // no request
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].seq, 1u);
  EXPECT_EQ(pending[0].family, AF_INET);
  EXPECT_EQ(pending[1].seq, 2u);
  EXPECT_EQ(pending[1].family, AF_UNSPEC);
  // Two requests in one datagram; the oldest forgotten past the limit.
  for (uint32_t s = 100; s < 100 + kMaxPendingAddrDumps; s += 2) {
    NoteAddrDumpRequests(Cat({DumpRequest(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, AF_INET, s),
                              DumpRequest(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, AF_INET, s + 1)}),
                         &pending);
  }
  ASSERT_EQ(pending.size(), kMaxPendingAddrDumps);
  EXPECT_EQ(pending.front().seq, 100u);
}

TEST(NetlinkRouteTest, AddressDumpGetsTheStacksAddressBeforeDoneAndLosesTheTaps) {
  std::vector<PendingAddrDump> pending{{kSeq, AF_INET}};
  const auto in = Cat({Addr(kLo, 1, kSeq), Addr(kTap, 9, kSeq), Done(kSeq)});
  EXPECT_TRUE(NeedsRewrite(in, pending));
  std::vector<uint8_t> stack_addr;
  AppendStackAddress(Tap(), Tap().addresses[0], kSeq, kPortId, NLM_F_MULTI, &stack_addr);
  const auto want = Cat({Addr(kLo, 1, kSeq), stack_addr, Done(kSeq)});
  // A peek leaves the dump pending, a read ends it; both see the same bytes.
  EXPECT_EQ(RewriteDatagram(in, Tap(), &pending, /*consume=*/false), want);
  EXPECT_EQ(pending.size(), 1u);
  EXPECT_EQ(RewriteDatagram(in, Tap(), &pending, /*consume=*/true), want);
  EXPECT_TRUE(pending.empty());
  // Its NLMSG_DONE read, the dump is over: a later DONE with that number is left alone.
  EXPECT_EQ(RewriteDatagram(Done(kSeq), Tap(), &pending, true), Done(kSeq));
}

TEST(NetlinkRouteTest, TheStacksAddressIsEncodedAsInetFillIfaddr) {
  std::vector<uint8_t> b;
  AppendStackAddress(Tap(), Tap().addresses[0], kSeq, kPortId, NLM_F_MULTI, &b);
  // header 16 + ifaddrmsg 8 + ADDRESS 8 + LOCAL 8 + BROADCAST 8 + LABEL "tap7\0" 12 +
  // FLAGS 8 + CACHEINFO 20.
  ASSERT_EQ(b.size(), 88u);
  nlmsghdr h;
  std::memcpy(&h, b.data(), sizeof(h));
  EXPECT_EQ(h.nlmsg_len, 88u);
  EXPECT_EQ(h.nlmsg_type, RTM_NEWADDR);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_MULTI);
  EXPECT_EQ(h.nlmsg_seq, kSeq);
  EXPECT_EQ(h.nlmsg_pid, kPortId);
  const std::vector<uint8_t> ifa(b.begin() + 16, b.begin() + 24);
  EXPECT_EQ(ifa, (std::vector<uint8_t>{AF_INET, 24, IFA_F_PERMANENT, RT_SCOPE_UNIVERSE, kTap, 0, 0, 0}));
  const std::vector<uint8_t> attrs(b.begin() + 24, b.begin() + 60);
  EXPECT_EQ(attrs, (std::vector<uint8_t>{8, 0, IFA_ADDRESS, 0, 10, 77, 0, 2,      //
                                         8, 0, IFA_LOCAL, 0, 10, 77, 0, 2,        //
                                         8, 0, IFA_BROADCAST, 0, 10, 77, 0, 255,  //
                                         9, 0, IFA_LABEL, 0, 't', 'a', 'p', '7', 0, 0, 0, 0}));
  const std::vector<uint8_t> tail(b.begin() + 60, b.end());
  EXPECT_EQ(tail, (std::vector<uint8_t>{8,    0,    IFA_FLAGS, 0,    IFA_F_PERMANENT, 0, 0, 0,  //
                                        20,   0,    IFA_CACHEINFO, 0,                          //
                                        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,        //
                                        0,    0,    0,    0,    0,    0,    0,    0}));
}

TEST(NetlinkRouteTest, Ip6DumpOfAStackWithoutIpv6GetsNothingAndAnErrorEndsTheDump) {
  std::vector<PendingAddrDump> pending{{kSeq, AF_INET6}, {kSeq + 1, AF_INET}};
  EXPECT_EQ(RewriteDatagram(Done(kSeq), Tap(), &pending, true), Done(kSeq));
  ASSERT_EQ(pending.size(), 1u);
  std::vector<uint8_t> error = Header(NLMSG_ERROR, 0, kSeq + 1, sizeof(nlmsgerr));
  error.resize(error.size() + sizeof(nlmsgerr), 0);
  EXPECT_TRUE(NeedsRewrite(error, pending));
  EXPECT_EQ(RewriteDatagram(error, Tap(), &pending, true), error);
  EXPECT_TRUE(pending.empty());
}

StackInterface TapWithIpv6() {
  StackInterface si = Tap();
  // A link-local address (permanent), and a SLAAC one still in DAD (optimistic).
  si.ip6_addresses.push_back(StackIp6Address{*Ip6Address::Parse("fe80::ff:fe77:2"), 64,
                                             Ip6AddressState::kPreferred,
                                             Ip6AddressSource::kLinkLocal});
  si.ip6_addresses.push_back(StackIp6Address{*Ip6Address::Parse("fd77::ff:fe77:2"), 64,
                                             Ip6AddressState::kOptimistic, Ip6AddressSource::kSlaac,
                                             600, 3600});
  return si;
}

TEST(NetlinkRouteTest, TheStacksIpv6AddressesAreEncodedAsInet6FillIfaddr) {
  const StackInterface si = TapWithIpv6();
  std::vector<uint8_t> b;
  AppendStackAddress6(si, si.ip6_addresses[0], kSeq, kPortId, NLM_F_MULTI, &b);
  // header 16 + ifaddrmsg 8 + ADDRESS 20 + CACHEINFO 20 + FLAGS 8 + PROTO 8 (as the
  // kernel sends its own link-local address: checked against a veth's dump).
  ASSERT_EQ(b.size(), 80u);
  const std::vector<uint8_t> ifa(b.begin() + 16, b.begin() + 24);
  EXPECT_EQ(ifa, (std::vector<uint8_t>{AF_INET6, 64, IFA_F_PERMANENT, RT_SCOPE_LINK, kTap, 0, 0, 0}));
  const std::vector<uint8_t> attrs(b.begin() + 24, b.end());
  EXPECT_EQ(attrs, (std::vector<uint8_t>{20, 0, IFA_ADDRESS, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0,  //
                                         0, 0, 0, 0xff, 0xfe, 0x77, 0, 2,                     //
                                         20, 0, IFA_CACHEINFO, 0,                             //
                                         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,      //
                                         0, 0, 0, 0, 0, 0, 0, 0,                              //
                                         8, 0, IFA_FLAGS, 0, IFA_F_PERMANENT, 0, 0, 0,        //
                                         5, 0, IFA_PROTO, 0, IFAPROT_KERNEL_LL, 0, 0, 0}));
  // The SLAAC one: global scope, its lifetimes, tentative and optimistic while DAD runs.
  b.clear();
  AppendStackAddress6(si, si.ip6_addresses[1], kSeq, kPortId, NLM_F_MULTI, &b);
  ASSERT_EQ(b.size(), 80u);
  EXPECT_EQ(b[76], IFAPROT_KERNEL_RA);
  ifaddrmsg got;
  std::memcpy(&got, b.data() + 16, sizeof(got));
  EXPECT_EQ(got.ifa_scope, RT_SCOPE_UNIVERSE);
  EXPECT_EQ(got.ifa_flags, IFA_F_TENTATIVE | IFA_F_OPTIMISTIC);
  ifa_cacheinfo ci;
  std::memcpy(&ci, b.data() + 16 + 8 + 20 + 4, sizeof(ci));
  EXPECT_EQ(ci.ifa_prefered, 600u);
  EXPECT_EQ(ci.ifa_valid, 3600u);
}

TEST(NetlinkRouteTest, EachDumpGetsTheStacksAddressesOfItsFamily) {
  const StackInterface si = TapWithIpv6();
  std::vector<uint8_t> v4, v6;
  AppendStackAddress(si, si.addresses[0], kSeq, kPortId, NLM_F_MULTI, &v4);
  for (const StackIp6Address& a : si.ip6_addresses) {
    AppendStackAddress6(si, a, kSeq, kPortId, NLM_F_MULTI, &v6);
  }
  std::vector<PendingAddrDump> pending{{kSeq, AF_INET6}};
  EXPECT_EQ(RewriteDatagram(Done(kSeq), si, &pending, true), Cat({v6, Done(kSeq)}));
  pending = {{kSeq, AF_INET}};
  EXPECT_EQ(RewriteDatagram(Done(kSeq), si, &pending, true), Cat({v4, Done(kSeq)}));
  pending = {{kSeq, AF_UNSPEC}};
  EXPECT_EQ(RewriteDatagram(Done(kSeq), si, &pending, true), Cat({v4, v6, Done(kSeq)}));
}

// A stack on two TAPs (a router): each one's addresses under its own index, all IPv4
// ones first, as the kernel dumps them.
TEST(NetlinkRouteTest, AStackOnTwoInterfacesGivesEachItsAddresses) {
  const StackInterface first = TapWithIpv6();
  StackInterface second = first;
  second.name = "tap8";
  second.index = first.index + 1;
  second.mac = *MacAddress::Parse("02:00:00:78:00:01");
  second.addresses = {*Ip4Interface::Parse("10.78.0.129/25")};
  second.ip6_addresses.resize(1);
  std::vector<uint8_t> v4, v6;
  for (const StackInterface* si : {&first, static_cast<const StackInterface*>(&second)}) {
    for (const Ip4Interface& a : si->addresses) AppendStackAddress(*si, a, kSeq, kPortId, NLM_F_MULTI, &v4);
  }
  for (const StackInterface* si : {&first, static_cast<const StackInterface*>(&second)}) {
    for (const StackIp6Address& a : si->ip6_addresses) {
      AppendStackAddress6(*si, a, kSeq, kPortId, NLM_F_MULTI, &v6);
    }
  }
  const std::vector<StackInterface> both{first, second};
  std::vector<PendingAddrDump> pending{{kSeq, AF_UNSPEC}};
  EXPECT_EQ(RewriteDatagram(Done(kSeq), both, &pending, true), Cat({v4, v6, Done(kSeq)}));
  // The second TAP's kernel-side link is edited as the first one's is.
  auto want = Link(static_cast<int>(second.index), 1400);
  std::memcpy(want.data() + want.size() - 8, second.mac.bytes().data(), 6);
  EXPECT_EQ(RewriteDatagram(Link(static_cast<int>(second.index), 1500), both, &pending, true), want);
}

TEST(NetlinkRouteTest, TheTapsLinkCarriesTheStacksMacAndMtu) {
  const auto other = Link(kLo, 65536);
  auto want = Link(kTap, 1400);
  std::memcpy(want.data() + want.size() - 8, Tap().mac.bytes().data(), 6);
  std::vector<PendingAddrDump> pending;
  EXPECT_TRUE(NeedsRewrite(Link(kTap, 1500), pending));
  EXPECT_EQ(RewriteDatagram(Cat({other, Link(kTap, 1500)}), Tap(), &pending, true),
            Cat({other, want}));
}

TEST(NetlinkRouteTest, OtherMessagesAndMalformedOnesPassUntouched) {
  std::vector<PendingAddrDump> pending{{kSeq, AF_INET}};
  const auto route = Header(RTM_NEWROUTE, 0, 5, 0);
  EXPECT_FALSE(NeedsRewrite(route, pending));
  EXPECT_EQ(RewriteDatagram(route, Tap(), &pending, true), route);
  // A length past the datagram: the walk stops and the rest is passed on as it is.
  auto bad = Addr(kTap, 9, kSeq);
  bad[0] = 200;
  EXPECT_EQ(RewriteDatagram(bad, Tap(), &pending, true), bad);
  const auto mixed = Cat({Addr(kLo, 1, 5), bad});
  EXPECT_EQ(RewriteDatagram(mixed, Tap(), &pending, true), mixed);
  EXPECT_EQ(pending.size(), 1u);
}

}  // namespace
}  // namespace pytcp::shim
