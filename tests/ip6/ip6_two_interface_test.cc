// IPv6 on a stack's two interfaces (PYTCP_IFACE=mem0,mem1 with PYTCP_IP6_mem1, issue 18)
// as a router between them, frame by frame on two memory links: each interface has its
// own link-local address, Neighbour Discovery and advertisements (RFC 4861 §6.2, §7.2);
// packets leave by the other interface with its MTU (RFC 8200, RFC 4443 §3.2).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "stack/wire/icmp6_nd.h"
#include "tests/ip6/ip6_harness.h"

namespace pytcp::testing {
namespace {

// The second link: the router is fd78::1 there (MTU 1280), host B fd78::2 behind it.
constexpr MacAddress kRouterBMac(MacAddress::Bytes{0x02, 0, 0, 0x78, 0, 0x01});
constexpr MacAddress kHostBMac(MacAddress::Bytes{0x02, 0, 0, 0x78, 0, 0x02});
const Ip6Address kRouterB = *Ip6Address::Parse("fd78::1");
const Ip6Address kHostB = *Ip6Address::Parse("fd78::2");
// fe80::ff:fe78:1, the EUI-64 link-local address of kRouterBMac.
const Ip6Address kRouterBLinkLocal = *Ip6Address::Parse("fe80::ff:fe78:1");
constexpr uint32_t kMtuB = 1280;

class Ip6TwoInterfaceTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(/*b_auto=*/false); }
  // `b_auto`: the second interface configures itself by SLAAC (PYTCP_IP6_mem1=auto), the
  // stack a host on both links; else it is a router with fd78::1/64 there.
  void Make(bool b_auto) {
    StackConfig c;
    c.interface = "mem0";
    c.mac = kOurMac;
    c.ip4_mode = Ip4Mode::kNone;
    c.ip6_mode = Ip6Mode::kStatic;
    c.ip6_addresses = {*Ip6Interface::Parse("fd77::2/64")};
    c.forwarding = !b_auto;
    c.router_advertisements = !b_auto;
    c.seed = 7;
    InterfaceConfig b;
    b.name = "mem1";
    b.mac = kRouterBMac;
    b.ip4_addresses = {};
    b.ip6 = true;
    b.ip6_auto = b_auto;
    if (!b_auto) b.ip6_addresses = {*Ip6Interface::Parse("fd78::1/64")};
    b.mtu = kMtuB;
    c.more_interfaces = {b};
    MemoryLinkConfig link;
    link.coalesced_frames = true;
    auto a = MemoryLink::CreatePair(link, clock_);
    auto bl = MemoryLink::CreatePair(link, clock_);
    link_a_ = std::move(a.b);
    link_b_ = std::move(bl.b);
    peer_a_ = std::make_unique<FramePeer>(link_a_.get());
    peer_b_ = std::make_unique<FramePeer>(link_b_.get());
    std::vector<std::unique_ptr<Link>> links;
    links.push_back(std::move(a.a));
    links.push_back(std::move(bl.a));
    auto stack = Stack::CreateWithLinks(c, std::move(links), &clock_);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = std::move(*stack);
    ASSERT_TRUE(stack_->StartManual().ok());
  }

  // Runs the stack's timers for `d`; what each link saw.
  void Run(Duration d, std::vector<Sent>* on_a, std::vector<Sent>* on_b) {
    const Instant end = clock_.Now() + d;
    while (true) {
      Step(on_a, on_b);
      const Instant next = stack_->NextDeadline();
      if (next > end) break;
      clock_.AdvanceTo(next > clock_.Now() ? next : clock_.Now() + 1ms);
    }
    clock_.AdvanceTo(end);
    Step(on_a, on_b);
  }
  void Step(std::vector<Sent>* on_a, std::vector<Sent>* on_b) {
    stack_->ProcessLink();
    stack_->RunTimers();
    for (auto& f : peer_a_->Drain()) on_a->push_back(ParseSent(f));
    for (auto& f : peer_b_->Drain()) on_b->push_back(ParseSent(f));
  }
  // Past DAD and the first advertisements; the peer on link A known.
  void Settle() {
    std::vector<Sent> a, b;
    Run(20s, &a, &b);
    std::lock_guard lock(stack_->mutex());
    stack_->nd(0)->cache().AddPermanent(kPeerGlobal, kPeerMac);
  }
  // An echo request of `data` bytes from `src` to `dst`, in a frame to `to_mac`.
  static std::vector<uint8_t> EchoFrame(const MacAddress& from_mac, const MacAddress& to_mac,
                                        const Ip6Address& src, const Ip6Address& dst,
                                        size_t data, uint8_t hop_limit = 64) {
    return Frame(to_mac, Hdr(src, dst, Ip6NextHeader::kIcmp6, hop_limit), {},
                 Echo(src, dst, true, 0x42, 1, EchoData(data)), from_mac);
  }
  // Link B's host B answers a solicitation for itself.
  std::vector<uint8_t> HostBAdvert() {
    NdNeighborAdvertMessage m;
    m.target = kHostB;
    m.solicited = true;
    m.override_flag = true;
    m.target_lla = kHostBMac;
    return Frame(kRouterBMac, Hdr(kHostB, kRouterB, Ip6NextHeader::kIcmp6, 255), {},
                 Message(m, kHostB, kRouterB), kHostBMac);
  }
  std::map<std::string, uint64_t> Counters() { return stack_->CounterSnapshot(); }

  VirtualClock clock_;
  std::unique_ptr<MemoryLink> link_a_;
  std::unique_ptr<MemoryLink> link_b_;
  std::unique_ptr<FramePeer> peer_a_;
  std::unique_ptr<FramePeer> peer_b_;
  std::unique_ptr<Stack> stack_;
};

// Each interface has its own link-local address (from its own MAC), assigned there.
TEST_F(Ip6TwoInterfaceTest, EachInterfaceHasItsOwnLinkLocalAddress) {
  Settle();
  std::lock_guard lock(stack_->mutex());
  const Ip6AddressEntry* a = stack_->ip6_addresses().Find(kOurLinkLocal);
  const Ip6AddressEntry* b = stack_->ip6_addresses().Find(kRouterBLinkLocal);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->iface, 0);
  EXPECT_EQ(b->iface, 1);
  EXPECT_EQ(stack_->ip6_addresses().Find(kRouterB)->iface, 1);
  EXPECT_EQ(stack_->ip6_addresses().LinkLocal(1), kRouterBLinkLocal);
}

// RFC 4861 §6.2: each interface advertises its own prefixes and MTU, from its own
// link-local address and MAC.
TEST_F(Ip6TwoInterfaceTest, EachInterfaceAdvertisesItsOwnPrefixAndMtu) {
  std::vector<Sent> on_a, on_b;
  Run(20s, &on_a, &on_b);
  auto ra_of = [](const std::vector<Sent>& sent) -> std::optional<Sent> {
    for (const Sent& s : sent) {
      if (s.is_icmp6() && s.icmp_type() == Icmp6Type::kRouterAdvertisement) return s;
    }
    return std::nullopt;
  };
  const auto ra_a = ra_of(on_a), ra_b = ra_of(on_b);
  ASSERT_TRUE(ra_a.has_value());
  ASSERT_TRUE(ra_b.has_value());
  EXPECT_EQ(ra_b->src, kRouterBLinkLocal);
  auto view_b = NdRouterAdvertView::From(ra_b->icmp());
  ASSERT_TRUE(view_b.has_value());
  EXPECT_EQ(view_b->source_link_layer_address(), kRouterBMac);
  EXPECT_EQ(view_b->mtu(), kMtuB);
  std::vector<Ip6Address> prefixes_b, prefixes_a;
  for (const NdOption opt : view_b->options()) {
    if (opt.type() == NdOptionType::kPrefixInformation) prefixes_b.push_back(opt.prefix_info().prefix);
  }
  auto view_a = NdRouterAdvertView::From(ra_a->icmp());
  ASSERT_TRUE(view_a.has_value());
  for (const NdOption opt : view_a->options()) {
    if (opt.type() == NdOptionType::kPrefixInformation) prefixes_a.push_back(opt.prefix_info().prefix);
  }
  EXPECT_EQ(prefixes_b, std::vector<Ip6Address>{*Ip6Address::Parse("fd78::")});
  EXPECT_EQ(prefixes_a, std::vector<Ip6Address>{*Ip6Address::Parse("fd77::")});
  EXPECT_EQ(view_a->mtu(), 1500u);
  EXPECT_GE(Counters().at("mem1.nd.tx_ra"), 1u);
}

// RFC 4861 §7.2.3: a solicitation is answered only for an address of the interface it
// came in on, with that interface's MAC.
TEST_F(Ip6TwoInterfaceTest, SolicitationsAreAnsweredOnTheirOwnInterfaceOnly) {
  Settle();
  NdNeighborSolicitMessage m;
  m.target = kRouterB;
  m.source_lla = kPeerMac;
  const Ip6Address group = kRouterB.SolicitedNodeMulticast();
  peer_a_->Inject(Frame(MacAddress::FromIp6Multicast(group),
                        Hdr(kPeerGlobal, group, Ip6NextHeader::kIcmp6, 255), {},
                        Message(m, kPeerGlobal, group)));
  std::vector<Sent> on_a, on_b;
  Step(&on_a, &on_b);
  EXPECT_TRUE(on_a.empty());  // link A does not take fd78::1's solicited-node group
  m.source_lla = kHostBMac;
  peer_b_->Inject(Frame(MacAddress::FromIp6Multicast(group),
                        Hdr(kHostB, group, Ip6NextHeader::kIcmp6, 255), {},
                        Message(m, kHostB, group), kHostBMac));
  Step(&on_a, &on_b);
  ASSERT_EQ(on_b.size(), 1u);
  EXPECT_EQ(on_b[0].icmp_type(), Icmp6Type::kNeighborAdvertisement);
  auto na = NdNeighborAdvertView::From(on_b[0].icmp());
  ASSERT_TRUE(na.has_value());
  EXPECT_EQ(na->target(), kRouterB);
  EXPECT_EQ(na->target_link_layer_address(), kRouterBMac);
  EXPECT_TRUE(na->router());
}

TEST_F(Ip6TwoInterfaceTest, ForwardsToTheOtherInterfaceAfterResolvingThereWithoutRedirect) {
  Settle();
  const auto before = Counters();
  std::vector<Sent> on_a, on_b;
  peer_a_->Inject(EchoFrame(kPeerMac, kOurMac, kPeerGlobal, kHostB, 100));
  Step(&on_a, &on_b);
  EXPECT_TRUE(on_a.empty());  // no Redirect: it leaves by the other interface
  // Resolved on link B, from the router's address there and its MAC.
  ASSERT_EQ(on_b.size(), 1u);
  EXPECT_EQ(on_b[0].icmp_type(), Icmp6Type::kNeighborSolicitation);
  EXPECT_EQ(on_b[0].src, kRouterB);
  EXPECT_EQ(on_b[0].dst, kHostB.SolicitedNodeMulticast());
  auto ns = NdNeighborSolicitView::From(on_b[0].icmp());
  ASSERT_TRUE(ns.has_value());
  EXPECT_EQ(ns->source_link_layer_address(), kRouterBMac);
  on_b.clear();
  // The answer releases the packet, hop limit lowered, to host B's MAC.
  peer_b_->Inject(HostBAdvert());
  Step(&on_a, &on_b);
  ASSERT_EQ(on_b.size(), 1u);
  EXPECT_EQ(on_b[0].eth_dst, kHostBMac);
  EXPECT_EQ(on_b[0].src, kPeerGlobal);
  EXPECT_EQ(on_b[0].dst, kHostB);
  EXPECT_EQ(on_b[0].hop_limit, 63);
  EXPECT_EQ(on_b[0].upper_payload, Echo(kPeerGlobal, kHostB, true, 0x42, 1, EchoData(100)));
  const auto moved = CounterDelta(before, Counters());
  auto by = [&](const std::string& name) { return moved.count(name) ? moved.at(name) : 0; };
  EXPECT_EQ(by("ip6.fwd_forwarded"), 1);
  EXPECT_EQ(by("ip6.fwd_redirects"), 0);
  EXPECT_EQ(by("mem1.nd.tx_ns"), 1);
  EXPECT_EQ(by("nd.tx_ns"), 0);  // the first interface's ND stayed idle

  // And back, from host B to the peer on link A.
  on_b.clear();
  peer_b_->Inject(EchoFrame(kHostBMac, kRouterBMac, kHostB, kPeerGlobal, 10));
  Step(&on_a, &on_b);
  ASSERT_EQ(on_a.size(), 1u);
  EXPECT_EQ(on_a[0].eth_dst, kPeerMac);
  EXPECT_EQ(on_a[0].src, kHostB);
  EXPECT_EQ(on_a[0].hop_limit, 63);
  EXPECT_TRUE(on_b.empty());
}

// RFC 4443 §3.2: a packet above the outgoing link's MTU gets Packet Too Big with that
// MTU, sent back by the interface it came in on from the router's address there.
TEST_F(Ip6TwoInterfaceTest, TooBigForTheOtherLinkGetsPacketTooBigWithItsMtu) {
  Settle();
  std::vector<Sent> on_a, on_b;
  peer_a_->Inject(EchoFrame(kPeerMac, kOurMac, kPeerGlobal, kHostB, 1300));
  Step(&on_a, &on_b);
  EXPECT_TRUE(on_b.empty());
  ASSERT_EQ(on_a.size(), 1u);
  ASSERT_TRUE(on_a[0].is_icmp6());
  EXPECT_EQ(on_a[0].icmp().type(), Icmp6Type::kPacketTooBig);
  EXPECT_EQ(on_a[0].icmp().mtu(), kMtuB);
  EXPECT_EQ(on_a[0].src, kOurGlobal);
  EXPECT_EQ(on_a[0].dst, kPeerGlobal);
  EXPECT_EQ(Counters().at("ip6.fwd_drop_too_big"), 1u);
}

// A ping to the router's address on link B, from link A, is answered from that address
// (it is the packet's destination) by the way back, link A.
TEST_F(Ip6TwoInterfaceTest, TheOtherInterfacesAddressAnswersFromEitherSide) {
  Settle();
  std::vector<Sent> on_a, on_b;
  peer_a_->Inject(EchoFrame(kPeerMac, kOurMac, kPeerGlobal, kRouterB, 8));
  Step(&on_a, &on_b);
  ASSERT_EQ(on_a.size(), 1u);
  EXPECT_EQ(on_a[0].icmp_type(), Icmp6Type::kEchoReply);
  EXPECT_EQ(on_a[0].src, kRouterB);
  EXPECT_TRUE(on_b.empty());
}

// SO_BINDTODEVICE (Socket::bound_iface) and a link-local zone over IPv6: a UDP socket
// bound to the second interface sends to all-nodes there, from its link-local address,
// and takes only datagrams that came in by it; a destination's scope id picks the link.
TEST_F(Ip6TwoInterfaceTest, AUdpSocketBoundToAnInterfaceSendsAndReceivesThere) {
  Settle();
  auto sock = stack_->CreateUdpSocket(AF_INET6);
  sock->set_bound_iface(1);
  ASSERT_TRUE(sock->Bind(SocketAddress{IpAddress(Ip6Address()), 5000, 0}).ok());
  const SocketAddress all{IpAddress(Ip6Address::AllNodesMulticast()), 5001, 0};
  ASSERT_TRUE(sock->SendTo(std::vector<uint8_t>(4), &all, 0).ok());
  std::vector<Sent> on_a, on_b;
  Step(&on_a, &on_b);
  EXPECT_TRUE(on_a.empty());
  ASSERT_EQ(on_b.size(), 1u);
  EXPECT_EQ(on_b[0].src, kRouterBLinkLocal);
  EXPECT_EQ(on_b[0].dst, Ip6Address::AllNodesMulticast());
  // To our port from each side: only the second link's is taken.
  auto udp = [](const Ip6Address& src, const Ip6Address& dst, size_t n) {
    std::vector<uint8_t> l4(kUdpHeaderSize + n, 0x5a);
    UdpHeader{4000, 5000}.Emit(l4, ByteSpan(l4).subspan(kUdpHeaderSize),
                               PseudoHeaderSum6(src, dst, 17, static_cast<uint32_t>(l4.size())));
    return l4;
  };
  peer_a_->Inject(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kUdp), {},
                        udp(kPeerGlobal, kOurGlobal, 7)));
  peer_b_->Inject(Frame(kRouterBMac, Hdr(kHostB, kRouterB, Ip6NextHeader::kUdp), {},
                        udp(kHostB, kRouterB, 9), kHostBMac));
  Step(&on_a, &on_b);
  std::vector<uint8_t> buf(64);
  SocketAddress from;
  auto r = sock->RecvFrom(buf, &from, MSG_DONTWAIT);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 9u);
  EXPECT_EQ(from.ip, IpAddress(kHostB));
  EXPECT_EQ(sock->RecvFrom(buf, &from, MSG_DONTWAIT).error(), EAGAIN);

  // An unbound socket: the link-local destination's scope id names the link.
  auto plain = stack_->CreateUdpSocket(AF_INET6);
  stack_->iface(1).set_scope_id(42);
  const SocketAddress host_b_ll{IpAddress(*Ip6Address::Parse("fe80::b2")), 5001, 42};
  ASSERT_TRUE(plain->SendTo(std::vector<uint8_t>(4), &host_b_ll, 0).ok());
  on_a.clear();
  on_b.clear();
  Step(&on_a, &on_b);
  EXPECT_TRUE(on_a.empty());
  ASSERT_EQ(on_b.size(), 1u);  // solicited on link B, from its link-local address
  EXPECT_EQ(on_b[0].icmp_type(), Icmp6Type::kNeighborSolicitation);
  EXPECT_EQ(on_b[0].src, kRouterBLinkLocal);
}

// RFC 4862 §5.5 on a further interface (PYTCP_IP6_mem1=auto): it solicits a router on its
// own link, forms an address from the prefix advertised there, and the router it learnt
// there is the way out by that interface.
TEST_F(Ip6TwoInterfaceTest, ASecondInterfaceConfiguresItselfBySlaac) {
  Make(/*b_auto=*/true);
  std::vector<Sent> on_a, on_b;
  Run(6s, &on_a, &on_b);
  const auto rs = std::find_if(on_b.begin(), on_b.end(), [](const Sent& s) {
    return s.is_icmp6() && s.icmp_type() == Icmp6Type::kRouterSolicitation;
  });
  ASSERT_NE(rs, on_b.end());
  EXPECT_EQ(rs->src, kRouterBLinkLocal);
  // A router on link B (fe80::b0, MAC kHostBMac) advertises fd78::/64 for SLAAC.
  const Ip6Address router_b = *Ip6Address::Parse("fe80::b0");
  NdRouterAdvertMessage ra;
  ra.cur_hop_limit = 64;
  ra.router_lifetime = 1800;
  ra.source_lla = kHostBMac;
  const std::vector<NdPrefixInfo> prefixes{
      NdPrefixInfo{*Ip6Address::Parse("fd78::"), 64, true, true, 86400, 14400}};
  ra.prefixes = prefixes;
  peer_b_->Inject(Frame(MacAddress::FromIp6Multicast(Ip6Address::AllNodesMulticast()),
                        Hdr(router_b, Ip6Address::AllNodesMulticast(), Ip6NextHeader::kIcmp6, 255), {},
                        Message(ra, router_b, Ip6Address::AllNodesMulticast()), kHostBMac));
  Run(5s, &on_a, &on_b);
  const Ip6Address slaac = *Ip6Address::Parse("fd78::ff:fe78:1");  // EUI-64 of kRouterBMac
  {
    std::lock_guard lock(stack_->mutex());
    const Ip6AddressEntry* e = stack_->ip6_addresses().Find(slaac);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->iface, 1);
    EXPECT_EQ(e->source, Ip6AddressSource::kSlaac);
    EXPECT_EQ(e->state, Ip6AddressState::kPreferred);
    // The router learnt on link B is where an off-link destination goes, by link B.
    const auto hop = stack_->ip6().NextHop(*Ip6Address::Parse("fd99::1"));
    ASSERT_TRUE(hop.has_value());
    EXPECT_EQ(hop->address, router_b);
    EXPECT_EQ(hop->iface, 1);
    EXPECT_EQ(stack_->ip6().SourceToward(*Ip6Address::Parse("fd99::1")), slaac);
  }
}

}  // namespace
}  // namespace pytcp::testing
