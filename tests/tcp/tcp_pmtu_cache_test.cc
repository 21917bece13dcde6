// Issue 16 item 9 (the rest): the path MTU is kept per destination and shared by every
// connection to it (RFC 1191 §6.3, RFC 8201 §4): an ICMP "fragmentation needed" that one
// connection believes (RFC 5927 §4.1) lowers it for all of them and for new ones, and it
// is raised again after 10 minutes (Linux's ip_rt_mtu_expires).
#include "stack/net/path_mtu_cache.h"
#include "stack/wire/icmp4.h"
#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

TEST(PathMtuCacheTest, LowersOnlyAndAgesBackToTheLinkMtu) {
  PathMtuCache<Ip4Address> cache;
  const Ip4Address a(10, 77, 0, 1), b(10, 77, 0, 3);
  const Instant t0 = Instant() + std::chrono::seconds(5);
  EXPECT_EQ(cache.Get(a, 1500), 1500u);
  const uint64_t g0 = cache.generation();
  EXPECT_TRUE(cache.Lower(a, 1400, 1500, t0));
  EXPECT_NE(cache.generation(), g0);
  EXPECT_FALSE(cache.Lower(a, 1450, 1500, t0));  // RFC 1191 §6.3: never raised by a report
  EXPECT_EQ(cache.Get(a, 1500), 1400u);
  EXPECT_EQ(cache.Get(b, 1500), 1500u);  // per destination
  EXPECT_EQ(cache.Get(a, 1300), 1300u);  // never above the link
  EXPECT_EQ(cache.NextDeadline(), t0 + std::chrono::minutes(10));
  const uint64_t g1 = cache.generation();
  cache.Expire(t0 + std::chrono::minutes(10) - std::chrono::milliseconds(1));
  EXPECT_EQ(cache.Get(a, 1500), 1400u);
  EXPECT_EQ(cache.generation(), g1);
  cache.Expire(t0 + std::chrono::minutes(10));
  EXPECT_EQ(cache.Get(a, 1500), 1500u);
  EXPECT_NE(cache.generation(), g1);  // users re-read their MTU
  EXPECT_EQ(cache.NextDeadline(), Instant::Infinite());
}

class TcpPmtuCacheTest : public TcpHarness {
 protected:
  std::shared_ptr<TcpSocket> Another(uint16_t port, uint32_t* iss) {
    TcpHeader syn = Peer("S", kPeerIsn, 0, 65535, port);
    syn.options.mss = 1460;
    Inject(syn);
    Sent sa = TakeOne();
    *iss = sa.seq();
    Inject(Peer(".", kPeerIsn + 1, *iss + 1, 65535, port));
    auto a = listener_->Accept();
    EXPECT_TRUE(a.ok());
    if (!a.ok()) return nullptr;
    sockets_.push_back(*a);
    return *a;
  }
  void FragNeeded(const Sent& about, uint16_t mtu) {
    const ByteSpan quote = ByteSpan(about.datagram).first(20 + 8);
    std::vector<uint8_t> msg(kIcmp4HeaderSize + quote.size());
    std::copy(quote.begin(), quote.end(), msg.begin() + kIcmp4HeaderSize);
    Icmp4Header{Icmp4Type::kDestinationUnreachable, 4, mtu}.Emit(msg, quote);
    InjectIp(IpProto::kIcmp4, msg);
  }
  uint32_t SndMss(TcpSocket& c) {
    TcpInfo info;
    socklen_t len = sizeof(info);
    EXPECT_TRUE(c.GetOption(IPPROTO_TCP, TCP_INFO, &info, &len).ok());
    return info.tcpi_snd_mss;
  }
};

TEST_F(TcpPmtuCacheTest, OneConnectionsIcmpLowersThePathForAllAndForNewOnes) {
  uint32_t iss1 = 0, iss2 = 0, iss3 = 0;
  auto c1 = EstablishPlain(&iss1);
  auto c2 = Another(kPeerPort + 1, &iss2);
  ASSERT_EQ(SndMss(*c2), 1460u);
  ASSERT_TRUE(c1->Send(AsBytes(std::string(2000, 'a')), 0).ok());
  auto sent = Take();
  ASSERT_FALSE(sent.empty());
  FragNeeded(sent[0], 1400);
  Take();  // c1 resends at the new size (tcp_data_test covers it)
  EXPECT_EQ(SndMss(*c1), 1360u);
  // c2 never got an ICMP of its own: its next segments are cut to the path's MTU.
  ASSERT_TRUE(c2->Send(AsBytes(std::string(3000, 'b')), 0).ok());
  sent = Take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent[0].payload.size(), 1360u);
  EXPECT_EQ(SndMss(*c2), 1360u);
  // A new connection to the peer starts with it.
  auto c3 = Another(kPeerPort + 2, &iss3);
  EXPECT_EQ(SndMss(*c3), 1360u);
}

TEST_F(TcpPmtuCacheTest, PathMtuIsRaisedAgainAfterTenMinutes) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_TRUE(c->Send(AsBytes(std::string(1000, 'a')), 0).ok());
  Sent d = TakeOne();
  FragNeeded(d, 1200);
  Take();
  Inject(Peer(".", kPeerIsn + 1, iss + 1001));
  Take();
  EXPECT_EQ(SndMss(*c), 1160u);
  Advance(std::chrono::minutes(10) - std::chrono::seconds(1));
  ASSERT_TRUE(c->Send(AsBytes(std::string(1300, 'b')), 0).ok());
  auto sent = Take();
  ASSERT_EQ(sent.size(), 2u) << Describe(sent);
  EXPECT_EQ(sent[0].payload.size(), 1160u);
  Inject(Peer(".", kPeerIsn + 1, iss + 2301));
  Advance(std::chrono::seconds(2));  // RFC 1191 §6.3: the estimate ages out
  ASSERT_TRUE(c->Send(AsBytes(std::string(1400, 'c')), 0).ok());
  sent = Take();
  ASSERT_EQ(sent.size(), 1u) << Describe(sent);
  EXPECT_EQ(sent[0].payload.size(), 1400u);
  EXPECT_EQ(SndMss(*c), 1460u);
}

TEST_F(TcpPmtuCacheTest, ErrorQuotingNoSegmentInFlightChangesNothing) {
  uint32_t iss1 = 0, iss2 = 0;
  auto c1 = EstablishPlain(&iss1);
  auto c2 = Another(kPeerPort + 1, &iss2);
  ASSERT_TRUE(c1->Send(AsBytes(std::string(100, 'a')), 0).ok());
  Sent d = TakeOne();
  Inject(Peer(".", kPeerIsn + 1, iss1 + 101));
  // RFC 5927 §4.1: an off-path attacker's (or a very late) error about acknowledged data
  // is not believed, and so lowers the path for nobody.
  FragNeeded(d, 600);
  EXPECT_EQ(SndMss(*c1), 1460u);
  EXPECT_EQ(SndMss(*c2), 1460u);
}

}  // namespace
}  // namespace pytcp::testing
