// The DHCPv4 server's state machine (stack/dhcp4/dhcp4_server.h): a client's messages in,
// the replies out, checked field by field against RFC 2131 §4.3 and §4.1.
#include "stack/dhcp4/dhcp4_server.h"

#include <gtest/gtest.h>

#include <vector>

#include "stack/base/clock.h"
#include "stack/wire/dhcp4.h"

namespace pytcp {
namespace {

constexpr MacAddress kMacA(MacAddress::Bytes{0x02, 0, 0, 0x78, 0, 0xa});
constexpr MacAddress kMacB(MacAddress::Bytes{0x02, 0, 0, 0x78, 0, 0xb});
constexpr Ip4Address kServer(10, 78, 0, 129);

class Dhcp4ServerTest : public ::testing::Test {
 protected:
  Dhcp4ServerTest()
      : server_(Dhcp4ServerConfig{*Ip4Interface::Parse("10.78.0.129/25"), Ip4Address(10, 78, 0, 140),
                                  Ip4Address(10, 78, 0, 141), std::chrono::seconds(600),
                                  std::chrono::seconds(30), {Ip4Address(10, 77, 0, 1)}}) {}

  std::optional<Dhcp4Server::Reply> Send(const Dhcp4Message& m) {
    std::vector<uint8_t> bytes(m.size());
    m.Emit(bytes);
    auto reply = server_.Receive(bytes, now_);
    if (reply) last_ = reply->message;
    return reply;
  }
  Dhcp4View Last() const { return *Dhcp4View::Parse(last_); }

  // DISCOVER then REQUEST (selecting): the bound address.
  Ip4Address Bind(const MacAddress& mac, uint32_t xid) {
    auto offer = Send(Dhcp4Message::Discover(xid, mac));
    EXPECT_TRUE(offer.has_value());
    if (!offer) return Ip4Address();
    const Ip4Address offered = Last().yiaddr();
    auto ack = Send(Dhcp4Message::RequestSelecting(xid + 1, mac, offered, kServer));
    EXPECT_TRUE(ack.has_value());
    EXPECT_EQ(Last().message_type(), Dhcp4MessageType::kAck);
    return Last().yiaddr();
  }

  Instant now_ = Instant::FromNanos(1'000'000'000);
  Dhcp4Server server_;
  std::vector<uint8_t> last_;
};

TEST_F(Dhcp4ServerTest, DiscoverGetsAnOfferWithTheLeaseAndTheRouter) {
  auto reply = Send(Dhcp4Message::Discover(0x1234, kMacA));
  ASSERT_TRUE(reply.has_value());
  const Dhcp4View offer = Last();
  EXPECT_EQ(offer.op(), Dhcp4Op::kBootReply);
  EXPECT_EQ(offer.message_type(), Dhcp4MessageType::kOffer);
  EXPECT_EQ(offer.xid(), 0x1234u);
  EXPECT_EQ(offer.yiaddr(), Ip4Address(10, 78, 0, 140));
  EXPECT_EQ(offer.client_mac(), kMacA);
  EXPECT_EQ(offer.server_id(), kServer);
  EXPECT_EQ(offer.lease_time(), 600u);
  EXPECT_EQ(offer.renewal_time(), 300u);
  EXPECT_EQ(offer.rebinding_time(), 525u);
  EXPECT_EQ(offer.subnet_mask(), Ip4Address(255, 255, 255, 128));
  ASSERT_EQ(offer.routers().size(), 1u);
  EXPECT_EQ(offer.routers()[0], kServer);
  ASSERT_EQ(offer.dns_servers().size(), 1u);
  EXPECT_EQ(offer.dns_servers()[0], Ip4Address(10, 77, 0, 1));
  // §4.1: no broadcast bit, no ciaddr: unicast to the offered address at the client's MAC.
  EXPECT_FALSE(reply->broadcast);
  EXPECT_EQ(reply->to, Ip4Address(10, 78, 0, 140));
  EXPECT_EQ(reply->to_mac, kMacA);
}

TEST_F(Dhcp4ServerTest, EachClientGetsItsOwnAddressAndKeepsIt) {
  const Ip4Address a = Bind(kMacA, 1);
  const Ip4Address b = Bind(kMacB, 10);
  EXPECT_EQ(a, Ip4Address(10, 78, 0, 140));
  EXPECT_EQ(b, Ip4Address(10, 78, 0, 141));
  // A client that asks again gets the same address; the pool (two) is then full.
  EXPECT_EQ(Bind(kMacA, 20), a);
  auto none = Send(Dhcp4Message::Discover(30, MacAddress(MacAddress::Bytes{0x02, 0, 0, 0, 0, 0xc})));
  EXPECT_FALSE(none.has_value());
  EXPECT_EQ(server_.counters().Get(Dhcp4ServerCounter::kPoolExhausted), 1u);
  // After the lease time the address goes back to the pool.
  now_ = now_ + std::chrono::seconds(601);
  EXPECT_TRUE(Send(Dhcp4Message::Discover(31, MacAddress(MacAddress::Bytes{0x02, 0, 0, 0, 0, 0xc}))).has_value());
}

TEST_F(Dhcp4ServerTest, RequestForAnotherServerVoidsTheOffer) {
  ASSERT_TRUE(Send(Dhcp4Message::Discover(1, kMacA)).has_value());
  EXPECT_FALSE(Send(Dhcp4Message::RequestSelecting(2, kMacA, Ip4Address(10, 78, 0, 140),
                                                    Ip4Address(10, 78, 0, 200)))
                   .has_value());
  // The address is free for the next client.
  EXPECT_EQ(Bind(kMacB, 3), Ip4Address(10, 78, 0, 140));
}

TEST_F(Dhcp4ServerTest, InitRebootIsAckedForTheClientsAddressAndNakedOtherwise) {
  const Ip4Address a = Bind(kMacA, 1);
  ASSERT_TRUE(Send(Dhcp4Message::RequestInitReboot(2, kMacA, a)).has_value());
  EXPECT_EQ(Last().message_type(), Dhcp4MessageType::kAck);
  // Another client's address, or one off our network: NAK, broadcast (§4.1).
  auto nak = Send(Dhcp4Message::RequestInitReboot(3, kMacB, a));
  ASSERT_TRUE(nak.has_value());
  EXPECT_EQ(Last().message_type(), Dhcp4MessageType::kNak);
  EXPECT_TRUE(nak->broadcast);
  EXPECT_EQ(nak->to, Ip4Address::Broadcast());
  ASSERT_TRUE(Send(Dhcp4Message::RequestInitReboot(4, kMacB, Ip4Address(192, 168, 1, 5))).has_value());
  EXPECT_EQ(Last().message_type(), Dhcp4MessageType::kNak);
  // A free address of the pool (a client back after our restart) is granted.
  ASSERT_TRUE(Send(Dhcp4Message::RequestInitReboot(5, kMacB, Ip4Address(10, 78, 0, 141))).has_value());
  EXPECT_EQ(Last().message_type(), Dhcp4MessageType::kAck);
  EXPECT_EQ(Last().yiaddr(), Ip4Address(10, 78, 0, 141));
}

TEST_F(Dhcp4ServerTest, RenewingIsUnicastToTheClientAndExtendsTheLease) {
  const Ip4Address a = Bind(kMacA, 1);
  now_ = now_ + std::chrono::seconds(500);
  auto ack = Send(Dhcp4Message::RequestRenewing(2, kMacA, a));
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(Last().message_type(), Dhcp4MessageType::kAck);
  EXPECT_EQ(ack->to, a);  // to ciaddr
  now_ = now_ + std::chrono::seconds(500);  // past the first lease's end: still the client's
  ASSERT_TRUE(Send(Dhcp4Message::Discover(3, kMacB)).has_value());
  EXPECT_EQ(Last().yiaddr(), Ip4Address(10, 78, 0, 141));
}

TEST_F(Dhcp4ServerTest, ReleaseFreesAndDeclineWithholdsTheAddress) {
  const Ip4Address a = Bind(kMacA, 1);
  EXPECT_FALSE(Send(Dhcp4Message::Release(2, kMacA, a, kServer)).has_value());
  EXPECT_EQ(Bind(kMacB, 3), a);  // free again
  // B finds it in use (ARP) and declines: nobody gets it for a lease time.
  EXPECT_FALSE(Send(Dhcp4Message::Decline(4, kMacB, a, kServer)).has_value());
  EXPECT_EQ(Bind(kMacA, 5), Ip4Address(10, 78, 0, 141));
}

TEST_F(Dhcp4ServerTest, RepliesAndRelayedMessagesAreNotServed) {
  Dhcp4Message relayed = Dhcp4Message::Discover(1, kMacA);
  relayed.giaddr = Ip4Address(10, 1, 1, 1);
  EXPECT_FALSE(Send(relayed).has_value());
  Dhcp4Message reply = Dhcp4Message::Discover(2, kMacA);
  reply.op = Dhcp4Op::kBootReply;
  EXPECT_FALSE(Send(reply).has_value());
  const std::vector<uint8_t> garbage(50, 0xff);
  EXPECT_FALSE(server_.Receive(garbage, now_).has_value());
  EXPECT_EQ(server_.counters().Get(Dhcp4ServerCounter::kRxDropInvalid), 3u);
}

}  // namespace
}  // namespace pytcp
