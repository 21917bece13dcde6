// A stack on two interfaces (PYTCP_IFACE=tap7,tap8, issue 18) as a router between them,
// frame by frame on two memory links: each side's datagrams leave by the other, with the
// other interface's MTU, its own ARP and its own source address (RFC 1812 §5.2, §5.3).
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <vector>

#include "stack/socket/udp_socket.h"
#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"
#include "tests/ip4/ip4_harness.h"

namespace pytcp::ip4_testing {
namespace {

// The second link: the router is 10.78.0.1 there (MTU 1280), a host 10.78.0.2 behind it.
constexpr MacAddress kRouterBMac(MacAddress::Bytes{0x02, 0, 0, 0x78, 0, 0x01});
constexpr MacAddress kHostBMac(MacAddress::Bytes{0x02, 0, 0, 0x78, 0, 0x02});
constexpr Ip4Address kRouterB(10, 78, 0, 1);
constexpr Ip4Address kHostB(10, 78, 0, 2);
constexpr uint32_t kMtuB = 1280;

class Ip4TwoInterfaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StackConfig c = testing::MemoryStackConfig(kOurMac, "10.77.0.2/24", 3);
    c.forwarding = true;
    InterfaceConfig b;
    b.name = "mem1";
    b.mac = kRouterBMac;
    b.ip4_addresses = {*Ip4Interface::Parse("10.78.0.1/24")};
    b.mtu = kMtuB;
    c.more_interfaces = {b};
    auto a = MemoryLink::CreatePair({}, clock_);
    auto bl = MemoryLink::CreatePair({}, clock_);
    link_a_ = std::move(a.b);
    link_b_ = std::move(bl.b);
    peer_a_ = std::make_unique<testing::FramePeer>(link_a_.get());
    peer_b_ = std::make_unique<testing::FramePeer>(link_b_.get());
    std::vector<std::unique_ptr<Link>> links;
    links.push_back(std::move(a.a));
    links.push_back(std::move(bl.a));
    auto stack = Stack::CreateWithLinks(c, std::move(links), &clock_);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = std::move(*stack);
    ASSERT_TRUE(stack_->StartManual().ok());
    std::lock_guard lock(stack_->mutex());
    stack_->arp().cache().AddPermanent(kPeerIp, kPeerMac);
  }

  void Run() {
    stack_->ProcessLink();
    stack_->RunTimers();
  }

  // A UDP datagram of `payload_len` bytes, in a frame to `to_mac` from `from_mac`.
  static std::vector<uint8_t> Udp(MacAddress from_mac, MacAddress to_mac, Ip4Address src,
                                  Ip4Address dst, size_t payload_len, bool df) {
    Ip4Header h = Header(src, dst, IpProto::kUdp);
    h.dont_fragment = df;
    std::vector<uint8_t> l4(kUdpHeaderSize + payload_len, 0x5a);
    UdpHeader{4000, 5000}.Emit(l4, ByteSpan(l4).subspan(kUdpHeaderSize),
                               PseudoHeaderSum4(src, dst, 17, static_cast<uint32_t>(l4.size())));
    std::vector<uint8_t> frame = Build(Frame{to_mac, h, l4});
    EthernetHeader{to_mac, from_mac, EtherType::kIp4}.Emit(frame);
    return frame;
  }

  // The IPv4 datagrams among `frames` (kept for the test's length: the views point in).
  std::vector<Ip4View> Datagrams(std::vector<std::vector<uint8_t>> frames) {
    std::vector<Ip4View> out;
    for (const auto& f : held_.emplace_back(std::move(frames))) {
      auto eth = EthernetView::Parse(f);
      if (!eth.ok() || eth->ethertype() != EtherType::kIp4) continue;
      auto ip = Ip4View::Parse(eth->payload());
      EXPECT_TRUE(ip.ok());
      if (ip.ok()) out.push_back(*ip);
    }
    return out;
  }

  void KnowHostB() {
    std::lock_guard lock(stack_->mutex());
    stack_->arp(1).cache().AddPermanent(kHostB, kHostBMac);
  }

  VirtualClock clock_;
  std::unique_ptr<MemoryLink> link_a_;
  std::unique_ptr<MemoryLink> link_b_;
  std::unique_ptr<testing::FramePeer> peer_a_;
  std::unique_ptr<testing::FramePeer> peer_b_;
  std::unique_ptr<Stack> stack_;
  std::deque<std::vector<std::vector<uint8_t>>> held_;
};

TEST_F(Ip4TwoInterfaceTest, ForwardsToTheOtherInterfaceAfterResolvingThereWithoutRedirect) {
  peer_a_->Inject(Udp(kPeerMac, kOurMac, kPeerIp, kHostB, 100, false));
  Run();
  // The next hop is resolved on the second link, from the router's address there.
  auto b_frames = peer_b_->Drain();
  ASSERT_EQ(b_frames.size(), 1u);
  auto eth = EthernetView::Parse(b_frames[0]);
  ASSERT_EQ(eth->ethertype(), EtherType::kArp);
  EXPECT_EQ(eth->src(), kRouterBMac);
  auto request = ArpView::Parse(eth->payload());
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->spa(), kRouterB);
  EXPECT_EQ(request->tpa(), kHostB);
  EXPECT_TRUE(peer_a_->Drain().empty());  // no Redirect: it leaves by another interface

  // The reply releases the queued datagram, TTL lowered, to host B's MAC.
  std::vector<uint8_t> reply(kEthernetHeaderSize + kArpPacketSize);
  EthernetHeader{kRouterBMac, kHostBMac, EtherType::kArp}.Emit(reply);
  ArpPacket::Reply(kHostBMac, kHostB, kRouterBMac, kRouterB)
      .Emit(MutableByteSpan(reply).subspan(kEthernetHeaderSize));
  reply.resize(kEthernetMinFrameSize);
  peer_b_->Inject(reply);
  Run();
  b_frames = peer_b_->Drain();
  ASSERT_EQ(b_frames.size(), 1u);
  EXPECT_EQ(EthernetView::Parse(b_frames[0])->dst(), kHostBMac);
  const auto sent = Datagrams(b_frames);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].src(), kPeerIp);
  EXPECT_EQ(sent[0].ttl(), 63);
  const auto counters = stack_->CounterSnapshot();
  EXPECT_EQ(counters.at("ip4.fwd_forwarded"), 1u);
  EXPECT_EQ(counters.count("ip4.fwd_redirects"), 0u);
  EXPECT_EQ(counters.at("mem1.arp.tx_requests"), 1u);
  EXPECT_EQ(counters.at("mem1.arp.rx_replies"), 1u);
  EXPECT_EQ(counters.count("arp.tx_requests"), 0u);  // the first interface's ARP stayed idle

  // And back the other way, from host B to the peer on the first link.
  peer_b_->Inject(Udp(kHostBMac, kRouterBMac, kHostB, kPeerIp, 10, false));
  Run();
  const auto back = Datagrams(peer_a_->Drain());
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].src(), kHostB);
  EXPECT_EQ(back[0].ttl(), 63);
  EXPECT_TRUE(peer_b_->Drain().empty());
}

// RFC 1191 §4 / RFC 1812 §5.2.6: the second link's smaller MTU decides. DF set: the source
// hears "fragmentation needed" with that MTU; DF clear: the router fragments to fit it.
TEST_F(Ip4TwoInterfaceTest, TheOutgoingInterfacesMtuDecidesFragmentationNeeded) {
  KnowHostB();
  peer_a_->Inject(Udp(kPeerMac, kOurMac, kPeerIp, kHostB, 1400, true));
  Run();
  EXPECT_TRUE(peer_b_->Drain().empty());
  const auto errors = Datagrams(peer_a_->Drain());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].src(), kOurIp);  // from the interface the datagram came in on
  auto icmp = Icmp4View::Parse(errors[0].payload());
  ASSERT_TRUE(icmp.ok());
  EXPECT_EQ(icmp->type(), Icmp4Type::kDestinationUnreachable);
  EXPECT_EQ(icmp->code(), static_cast<uint8_t>(Icmp4UnreachableCode::kFragmentationNeeded));
  EXPECT_EQ(icmp->next_hop_mtu(), kMtuB);

  peer_a_->Inject(Udp(kPeerMac, kOurMac, kPeerIp, kHostB, 1400, false));
  Run();
  const auto pieces = Datagrams(peer_b_->Drain());
  ASSERT_EQ(pieces.size(), 2u);
  size_t carried = 0;
  for (const Ip4View& p : pieces) {
    EXPECT_LE(p.datagram().size(), kMtuB);
    EXPECT_EQ(p.ttl(), 63);
    carried += p.payload().size();
  }
  EXPECT_EQ(carried, kUdpHeaderSize + 1400);
  EXPECT_TRUE(pieces[0].more_fragments());
}

// A fragment too big for the second link is cut up again (RFC 791 §3.2): its pieces keep
// their place in the whole datagram, and more follow after each, its last piece included.
TEST_F(Ip4TwoInterfaceTest, AFragmentIsCutUpAgainKeepingItsPlace) {
  KnowHostB();
  Ip4Header h = Header(kPeerIp, kHostB, IpProto::kUdp);
  h.fragment_offset = 1480;
  h.more_fragments = true;
  std::vector<uint8_t> data(1480);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> frame = Build(Frame{kOurMac, h, data});
  peer_a_->Inject(frame);
  Run();
  const auto pieces = Datagrams(peer_b_->Drain());
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].fragment_offset(), 1480u);
  EXPECT_EQ(pieces[1].fragment_offset(), 1480u + pieces[0].payload().size());
  EXPECT_TRUE(pieces[0].more_fragments());
  EXPECT_TRUE(pieces[1].more_fragments());
  std::vector<uint8_t> joined;
  for (const Ip4View& p : pieces) {
    EXPECT_LE(p.datagram().size(), kMtuB);
    joined.insert(joined.end(), p.payload().begin(), p.payload().end());
  }
  EXPECT_EQ(joined, data);
}

// The router's own traffic: a route leaves by its interface with that interface's address
// (RFC 1122 §3.3.4.3) and its MTU is the path MTU's start.
TEST_F(Ip4TwoInterfaceTest, OwnDatagramsLeaveByTheRoutesInterfaceFromItsAddress) {
  KnowHostB();
  auto sock = stack_->CreateUdpSocket();
  const SocketAddress host_b{IpAddress(kHostB), 7};
  ASSERT_TRUE(sock->SendTo(std::vector<uint8_t>(8), &host_b, 0).ok());
  const auto sent = Datagrams(peer_b_->Drain());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].src(), kRouterB);
  EXPECT_TRUE(peer_a_->Drain().empty());
  std::lock_guard lock(stack_->mutex());
  EXPECT_EQ(stack_->ip4().PathMtu(kHostB), kMtuB);
  EXPECT_EQ(stack_->ip4().PathMtu(kPeerIp), 1500u);
}

// A static route through a gateway on the second link leaves by it; `dev` must name one of
// the stack's interfaces and the gateway must be on that one's networks.
TEST_F(Ip4TwoInterfaceTest, StaticRoutesTakeTheirGatewaysInterface) {
  KnowHostB();
  StaticRoute r = *ParseStaticRoute("10.99.0.0/16 via 10.78.0.2");
  ASSERT_TRUE(stack_->AddStaticRoute(r).ok());
  auto wrong_dev = *ParseStaticRoute("10.98.0.0/16 via 10.78.0.2 dev mem0");
  EXPECT_EQ(stack_->AddStaticRoute(wrong_dev).code(), absl::StatusCode::kInvalidArgument);
  auto no_dev = *ParseStaticRoute("10.98.0.0/16 dev mem9");
  EXPECT_EQ(stack_->AddStaticRoute(no_dev).code(), absl::StatusCode::kNotFound);
  peer_a_->Inject(Udp(kPeerMac, kOurMac, kPeerIp, Ip4Address(10, 99, 3, 4), 10, false));
  Run();
  const auto sent = Datagrams(peer_b_->Drain());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].dst(), Ip4Address(10, 99, 3, 4));
}

// SO_BINDTODEVICE (Socket::bound_iface) on a UDP socket: its broadcasts leave by that
// interface, from its address, and only datagrams that came in on it are taken.
TEST_F(Ip4TwoInterfaceTest, AUdpSocketBoundToAnInterfaceSendsAndReceivesThere) {
  auto sock = stack_->CreateUdpSocket();
  sock->set_bound_iface(1);
  const int one = 1;
  ASSERT_TRUE(sock->SetOption(SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)).ok());
  ASSERT_TRUE(sock->Bind(SocketAddress{IpAddress(Ip4Address()), 5000, 0}).ok());
  const SocketAddress all{IpAddress(Ip4Address::Broadcast()), 68, 0};
  ASSERT_TRUE(sock->SendTo(std::vector<uint8_t>(4), &all, 0).ok());
  const auto sent = Datagrams(peer_b_->Drain());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].src(), kRouterB);
  EXPECT_TRUE(peer_a_->Drain().empty());
  // To our port from each side: only the second link's is taken.
  peer_a_->Inject(Udp(kPeerMac, kOurMac, kPeerIp, kOurIp, 7, false));
  KnowHostB();
  peer_b_->Inject(Udp(kHostBMac, kRouterBMac, kHostB, kRouterB, 9, false));
  Run();
  std::vector<uint8_t> buf(64);
  SocketAddress from;
  auto r = sock->RecvFrom(buf, &from, MSG_DONTWAIT);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 9u);
  EXPECT_EQ(from.ip, IpAddress(kHostB));
  EXPECT_EQ(sock->RecvFrom(buf, &from, MSG_DONTWAIT).error(), EAGAIN);
}

// The second interface answers ARP for its address with its own MAC.
TEST_F(Ip4TwoInterfaceTest, EachInterfaceAnswersArpWithItsOwnMac) {
  std::vector<uint8_t> request(kEthernetHeaderSize + kArpPacketSize);
  EthernetHeader{MacAddress::Broadcast(), kHostBMac, EtherType::kArp}.Emit(request);
  ArpPacket::Request(kHostBMac, kHostB, kRouterB).Emit(MutableByteSpan(request).subspan(kEthernetHeaderSize));
  request.resize(kEthernetMinFrameSize);
  peer_b_->Inject(request);
  Run();
  const auto frames = peer_b_->Drain();
  ASSERT_EQ(frames.size(), 1u);
  auto reply = ArpView::Parse(EthernetView::Parse(frames[0])->payload());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->op(), ArpOp::kReply);
  EXPECT_EQ(reply->sha(), kRouterBMac);
  EXPECT_EQ(reply->spa(), kRouterB);
  EXPECT_TRUE(peer_a_->Drain().empty());
}

// An address of the first interface named as a sender on the second link is no conflict
// there (RFC 5227 is about one link): the second interface's ARP leaves it alone.
TEST_F(Ip4TwoInterfaceTest, AnotherInterfacesAddressOnThisLinkIsNoConflict) {
  std::vector<uint8_t> request(kEthernetHeaderSize + kArpPacketSize);
  EthernetHeader{MacAddress::Broadcast(), kHostBMac, EtherType::kArp}.Emit(request);
  ArpPacket::Request(kHostBMac, kOurIp, kHostB).Emit(MutableByteSpan(request).subspan(kEthernetHeaderSize));
  request.resize(kEthernetMinFrameSize);
  peer_b_->Inject(request);
  Run();
  const auto counters = stack_->CounterSnapshot();
  EXPECT_EQ(counters.count("mem1.arp.conflicts"), 0u);
  EXPECT_EQ(counters.count("arp.conflicts"), 0u);
  std::lock_guard lock(stack_->mutex());
  EXPECT_TRUE(stack_->ip4_addresses().IsOurs(kOurIp));
}

}  // namespace
}  // namespace pytcp::ip4_testing

namespace pytcp::ip4_testing {
namespace {

// A further interface with its own DHCP client (PYTCP_IP4_mem1=dhcp): another stack
// serves the second link (PYTCP_DHCP_SERVER_mem0 there); the lease's address and its
// default route belong to that interface, and the first interface's client is not involved.
TEST(Ip4TwoInterfaceDhcpTest, ASecondInterfaceTakesALeaseOnItsOwnLink) {
  VirtualClock clock;
  // The server: one interface on the second link, 10.78.0.1/24, leasing .100-.110.
  StackConfig rc = testing::MemoryStackConfig(MacAddress::Parse("02:00:00:78:00:01"), "10.78.0.1/24", 5);
  rc.dhcp_server = Dhcp4Pool{Ip4Address(10, 78, 0, 100), Ip4Address(10, 78, 0, 110), std::chrono::seconds(600)};
  // The client: static on its first link (no one there), DHCP on its second.
  StackConfig cc = testing::MemoryStackConfig(MacAddress::Parse("02:00:00:77:00:02"), "10.77.0.2/24", 6);
  InterfaceConfig b;
  b.name = "mem1";
  b.mac = MacAddress::Parse("02:00:00:78:00:02");
  b.ip4_dhcp = true;
  b.dhcp4_cache = "";
  cc.more_interfaces = {b};
  auto first = MemoryLink::CreatePair({}, clock);
  auto second = MemoryLink::CreatePair({}, clock);
  auto router = Stack::CreateWithLink(rc, std::move(second.b), &clock);
  ASSERT_TRUE(router.ok()) << router.status();
  std::vector<std::unique_ptr<Link>> links;
  links.push_back(std::move(first.a));
  links.push_back(std::move(second.a));
  auto client = Stack::CreateWithLinks(cc, std::move(links), &clock);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*router)->StartManual().ok());
  ASSERT_TRUE((*client)->StartManual().ok());
  testing::FramePeer nobody(first.b.get());
  const Instant end = clock.Now() + std::chrono::seconds(30);
  while (clock.Now() < end) {
    for (Stack* s : {router->get(), client->get()}) {
      s->ProcessLink();
      s->RunTimers();
    }
    (void)nobody.Drain();
    const Instant next = EarliestOf((*router)->NextDeadline(), (*client)->NextDeadline());
    clock.AdvanceTo(next > clock.Now() ? std::min(next, end) : clock.Now() + std::chrono::milliseconds(1));
  }
  Stack& c = **client;
  const auto counters = c.CounterSnapshot();
  EXPECT_GE(counters.at("mem1.dhcp4.rx_acks"), 1u);
  EXPECT_EQ(counters.count("dhcp4.tx_discovers"), 0u);  // the first interface is static
  std::lock_guard lock(c.mutex());
  const Ip4AddressEntry* leased = nullptr;
  for (const auto& e : c.ip4_addresses().entries()) {
    if (e.source == Ip4AddressSource::kDhcp) leased = &e;
  }
  ASSERT_NE(leased, nullptr);
  EXPECT_EQ(leased->iface, 1);
  EXPECT_GE(leased->ifaddr.address().value(), Ip4Address(10, 78, 0, 100).value());
  EXPECT_LE(leased->ifaddr.address().value(), Ip4Address(10, 78, 0, 110).value());
  EXPECT_EQ(leased->ifaddr.prefix_length(), 24);
  const auto route = c.ip4_routes().Lookup(Ip4Address(192, 0, 2, 1));
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(route->gateway, Ip4Address(10, 78, 0, 1));
  EXPECT_EQ(route->iface, 1);
}

}  // namespace
}  // namespace pytcp::ip4_testing
