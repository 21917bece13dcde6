// ECN (RFC 3168, issue 16 item 15): accepted when the peer asks (Linux's tcp_ecn = 2),
// asked for with tcp_ecn = 1; ECT(0) on new data only; CE echoed with ECE until CWR; an
// ECE answered by one reduction per window and CWR on the next new data.
#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

constexpr uint32_t kMss = 1460;

class TcpEcnTest : public TcpHarness {
 protected:
  void SetEcn(int mode) {
    std::lock_guard lock(stack_->mutex());
    stack_->tcp().mutable_config().ecn = mode;
  }
  // A passive connection whose SYN asks for ECN (ECE and CWR) when `ask`.
  std::shared_ptr<TcpSocket> Establish(bool ask, uint32_t* iss, Sent* synack = nullptr) {
    listener_ = NewSocket();
    EXPECT_TRUE(listener_->Bind(SocketAddress{IpAddress(kOurIp), kOurPort, 0}).ok());
    EXPECT_TRUE(listener_->Listen(16).ok());
    TcpHeader syn = Peer("S", kPeerIsn, 0);
    syn.options.mss = 1460;
    syn.flags.ece = syn.flags.cwr = ask;
    Inject(syn);
    Sent sa = TakeOne();
    if (synack != nullptr) *synack = sa;
    *iss = sa.seq();
    Inject(Peer(".", kPeerIsn + 1, *iss + 1));
    auto a = listener_->Accept();
    EXPECT_TRUE(a.ok());
    if (!a.ok()) return nullptr;
    sockets_.push_back(*a);
    (*a)->set_nonblocking(true);
    return *a;
  }
  uint32_t Cwnd(TcpSocket& c) {
    struct tcp_info info;
    socklen_t len = sizeof(info);
    EXPECT_TRUE(c.GetOption(IPPROTO_TCP, TCP_INFO, &info, &len).ok());
    return info.tcpi_snd_cwnd;
  }
};

TEST_F(TcpEcnTest, EcnSetupSynIsAcceptedAndDataCarriesEct) {
  uint32_t iss = 0;
  Sent sa;
  auto c = Establish(/*ask=*/true, &iss, &sa);
  // §6.1.1: the SYN-ACK has ECE without CWR, and is not ECT itself.
  EXPECT_TRUE(sa.h.flags.ece);
  EXPECT_FALSE(sa.h.flags.cwr);
  EXPECT_EQ(sa.ecn(), 0);
  struct tcp_info info;
  socklen_t len = sizeof(info);
  ASSERT_TRUE(c->GetOption(IPPROTO_TCP, TCP_INFO, &info, &len).ok());
  EXPECT_EQ(info.tcpi_options & TCPI_OPT_ECN, TCPI_OPT_ECN);
  ASSERT_TRUE(c->Send(AsBytes("hello"), 0).ok());
  EXPECT_EQ(TakeOne().ecn(), 2);  // ECT(0)
  // A pure ACK is not ECT (§6.1.4), nor is a retransmission (§6.1.5).
  Inject(Peer(".", kPeerIsn + 1, iss + 1), std::string("abc"));
  Sent ack = TakeOne();
  EXPECT_EQ(ack.payload.size(), 0u);
  EXPECT_EQ(ack.ecn(), 0);
  Advance(std::chrono::seconds(2));
  auto rtx = Take();
  ASSERT_FALSE(rtx.empty());
  EXPECT_EQ(rtx[0].payload.size(), 5u);
  EXPECT_EQ(rtx[0].ecn(), 0);
}

TEST_F(TcpEcnTest, WithoutTheAskNothingIsEcn) {
  uint32_t iss = 0;
  Sent sa;
  auto c = Establish(/*ask=*/false, &iss, &sa);
  EXPECT_FALSE(sa.h.flags.ece);
  ASSERT_TRUE(c->Send(AsBytes("hello"), 0).ok());
  EXPECT_EQ(TakeOne().ecn(), 0);
}

TEST_F(TcpEcnTest, TurnedOffTheAskIsRefused) {
  SetEcn(0);
  uint32_t iss = 0;
  Sent sa;
  auto c = Establish(/*ask=*/true, &iss, &sa);
  EXPECT_FALSE(sa.h.flags.ece);
  ASSERT_TRUE(c->Send(AsBytes("hello"), 0).ok());
  EXPECT_EQ(TakeOne().ecn(), 0);
}

TEST_F(TcpEcnTest, CongestionExperiencedIsEchoedUntilCwr) {
  uint32_t iss = 0;
  auto c = Establish(/*ask=*/true, &iss);
  // §6.1.3: a CE-marked segment: its ACK goes at once with ECE...
  inject_ecn_ = 3;
  Inject(Peer(".", kPeerIsn + 1, iss + 1), std::string("aaaa"));
  inject_ecn_ = 2;
  Sent a = TakeOne();
  EXPECT_TRUE(a.h.flags.ece);
  EXPECT_EQ(Moved("tcp.rx_ce"), 1);
  // ... and every ACK after it carries ECE, until a segment with CWR arrives.
  Inject(Peer(".", kPeerIsn + 5, iss + 1), std::string("bbbb"));
  Advance(std::chrono::milliseconds(50));
  a = TakeOne();
  EXPECT_TRUE(a.h.flags.ece);
  TcpHeader cwr = Peer(".", kPeerIsn + 9, iss + 1);
  cwr.flags.cwr = true;
  Inject(cwr, std::string("cccc"));
  Advance(std::chrono::milliseconds(50));
  a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 13);
  EXPECT_FALSE(a.h.flags.ece);
}

TEST_F(TcpEcnTest, EceReducesCwndOncePerWindowAndCwrFollows) {
  uint32_t iss = 0;
  auto c = Establish(/*ask=*/true, &iss);
  ASSERT_TRUE(c->Send(AsBytes(std::string(30 * kMss, 'x')), 0).ok());
  ASSERT_EQ(Take().size(), 10u);  // IW10
  const uint32_t s1 = iss + 1;
  // The first segment's ACK echoes congestion: CUBIC's reduction to 7 segments (of 10 in
  // flight), no retransmission; the next new segment carries CWR.
  TcpHeader ece = Peer(".", kPeerIsn + 1, s1 + kMss);
  ece.flags.ece = true;
  Inject(ece);
  EXPECT_EQ(Moved("tcp.ecn_reductions"), 1);
  EXPECT_EQ(Cwnd(*c), 7u);
  auto sent = Take();  // pipe 9 > cwnd 7: nothing yet
  EXPECT_TRUE(sent.empty());
  // More ECEs from the same window change nothing.
  for (uint32_t i = 2; i <= 4; ++i) {
    ece = Peer(".", kPeerIsn + 1, s1 + i * kMss);
    ece.flags.ece = true;
    Inject(ece);
  }
  EXPECT_EQ(Moved("tcp.ecn_reductions"), 1);
  EXPECT_EQ(Moved("tcp.fast_retransmits"), 0);
  sent = Take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent[0].seq(), s1 + 10 * kMss);  // new data, not a retransmission
  EXPECT_TRUE(sent[0].h.flags.cwr);
  for (size_t i = 1; i < sent.size(); ++i) EXPECT_FALSE(sent[i].h.flags.cwr);
  // Once data sent after the reduction is acknowledged, an ECE is new congestion.
  const uint32_t top = c->connection()->snd_nxt().value();
  ece = Peer(".", kPeerIsn + 1, top);
  ece.flags.ece = true;
  Inject(ece);
  EXPECT_EQ(Moved("tcp.ecn_reductions"), 2);
}

TEST_F(TcpEcnTest, SettingOneAsksForEcnOnConnect) {
  SetEcn(1);
  auto c = NewSocket();
  c->set_nonblocking(true);
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).error(), EINPROGRESS);
  Sent syn = TakeOne();
  EXPECT_TRUE(syn.h.flags.ece);
  EXPECT_TRUE(syn.h.flags.cwr);
  EXPECT_EQ(syn.ecn(), 0);
  TcpHeader synack = Peer("S.", kPeerIsn, syn.seq() + 1, 65535, 80, syn.h.src_port);
  synack.options.mss = 1460;
  synack.flags.ece = true;
  Inject(synack);
  EXPECT_EQ(TakeOne().flags(), ".");
  ASSERT_TRUE(c->Send(AsBytes("hi"), 0).ok());
  EXPECT_EQ(TakeOne().ecn(), 2);
}

TEST_F(TcpEcnTest, AcceptOnlyDoesNotAskOnConnect) {
  auto c = NewSocket();
  c->set_nonblocking(true);
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).error(), EINPROGRESS);
  Sent syn = TakeOne();
  EXPECT_FALSE(syn.h.flags.ece);
  EXPECT_FALSE(syn.h.flags.cwr);
}

}  // namespace
}  // namespace pytcp::testing
