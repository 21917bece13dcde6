// The retransmission timer as Linux runs it (issue 16 item 13): RTO = SRTT + max(4·RTTVAR,
// 200 ms) (tcp_set_rto with rttvar at least tcp_rto_min), the backoff kept until a valid
// RTT sample (RFC 6298 §5.7, Karn; tcp_ack_update_rtt), one sample per ACK; after a
// retransmitted SYN an RTO of 3 s without a sample (RFC 6298 §5.7, TCP_TIMEOUT_FALLBACK)
// and, after more than one, an initial window of one segment (RFC 5681 §3.1,
// tcp_init_transfer). And text on a SYN-ACK is processed (issue 16 item 18, RFC 9293
// §3.10.7.3; a SYN with a FIN is refused by the parser, as before).
#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

class TcpRtoTest : public TcpHarness {
 protected:
  // A passive connection whose handshake took `rtt` (no options but the MSS).
  std::shared_ptr<TcpSocket> EstablishWithRtt(Duration rtt, uint32_t* iss) {
    listener_ = NewSocket();
    EXPECT_TRUE(listener_->Bind(SocketAddress{IpAddress(kOurIp), kOurPort, 0}).ok());
    EXPECT_TRUE(listener_->Listen(16).ok());
    TcpHeader syn = Peer("S", kPeerIsn, 0);
    syn.options.mss = 1460;
    Inject(syn);
    Sent synack = TakeOne();
    *iss = synack.seq();
    Advance(rtt);
    Inject(Peer(".", kPeerIsn + 1, *iss + 1));
    auto a = listener_->Accept();
    EXPECT_TRUE(a.ok());
    sockets_.push_back(*a);
    (*a)->set_nonblocking(true);
    return *a;
  }
  // Sends `n` one-byte segments, each acknowledged `rtt` later.
  void Exchange(TcpSocket& c, uint32_t* next, int n, Duration rtt) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(c.Send(AsBytes("x"), 0).ok());
      ASSERT_EQ(TakeOne().payload.size(), 1u);
      Advance(rtt);
      *next += 1;
      Inject(Peer(".", kPeerIsn + 1, *next));
      ASSERT_TRUE(Take().empty());
    }
  }
  // The time from sending one byte to its first retransmission (the peer silent).
  Duration FirstRto(TcpSocket& c) {
    EXPECT_TRUE(c.Send(AsBytes("y"), 0).ok());
    Sent d = TakeOne();
    Advance(std::chrono::seconds(10));
    auto sent = Take();
    EXPECT_FALSE(sent.empty());
    if (sent.empty()) return Duration{0};
    EXPECT_EQ(sent[0].seq(), d.seq());
    return sent[0].at - d.at;
  }
};

TEST_F(TcpRtoTest, RtoIsSrttPlusTheLargerOfFourRttvarAnd200Ms) {
  uint32_t iss = 0;
  auto c = EstablishWithRtt(std::chrono::milliseconds(100), &iss);
  uint32_t next = iss + 1;
  Exchange(*c, &next, 20, std::chrono::milliseconds(100));
  // A steady 100 ms path: RTTVAR has decayed to nearly nothing, and Linux still waits
  // SRTT + 200 ms (RFC 6298's 1 s floor lowered to 200 ms added on top, not as a floor).
  EXPECT_EQ(FirstRto(*c), std::chrono::milliseconds(300));
}

TEST_F(TcpRtoTest, BackoffIsKeptUntilAValidSample) {
  uint32_t iss = 0;
  auto c = EstablishWithRtt(std::chrono::milliseconds(100), &iss);
  uint32_t next = iss + 1;
  Exchange(*c, &next, 20, std::chrono::milliseconds(100));
  ASSERT_TRUE(c->Send(AsBytes("k"), 0).ok());
  Sent k = TakeOne();
  Advance(std::chrono::milliseconds(350));
  Sent rtx = TakeOne();
  EXPECT_EQ(rtx.at - k.at, std::chrono::milliseconds(300));
  // The ACK of a retransmitted segment (no timestamps) is no RTT sample (Karn): the
  // doubled RTO stays for the next segment.
  next += 1;
  Inject(Peer(".", kPeerIsn + 1, next));
  EXPECT_EQ(FirstRto(*c), std::chrono::milliseconds(600));
}

TEST_F(TcpRtoTest, AfterTwoSynRetransmissionsTheWindowIsOneSegmentAndTheRtoThreeSeconds) {
  auto c = NewSocket();
  c->set_nonblocking(true);
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).error(), EINPROGRESS);
  Advance(std::chrono::milliseconds(3500));
  auto syns = Take();
  ASSERT_EQ(syns.size(), 3u) << Describe(syns);  // at 0, 1 and 3 s
  TcpHeader synack = Peer("S.", kPeerIsn, syns[0].seq() + 1, 65535, 80, syns[0].h.src_port);
  synack.options.mss = 1460;
  Inject(synack);
  EXPECT_EQ(TakeOne().flags(), ".");
  const std::string data(10000, 'd');
  ASSERT_TRUE(c->Send(AsBytes(data), 0).ok());
  auto first = Take();
  ASSERT_EQ(first.size(), 1u) << Describe(first);  // IW 1 (RFC 5681 §3.1)
  EXPECT_EQ(first[0].payload.size(), 1460u);
  Advance(std::chrono::seconds(4));
  auto rtx = Take();
  ASSERT_FALSE(rtx.empty());
  EXPECT_EQ(rtx[0].seq(), first[0].seq());
  EXPECT_EQ(rtx[0].at - first[0].at, std::chrono::seconds(3));  // RFC 6298 §5.7
}

TEST_F(TcpRtoTest, AfterOneSynRetransmissionTheRtoIsThreeSecondsAndTheWindowInitial) {
  auto c = NewSocket();
  c->set_nonblocking(true);
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).error(), EINPROGRESS);
  Advance(std::chrono::milliseconds(1500));
  auto syns = Take();
  ASSERT_EQ(syns.size(), 2u) << Describe(syns);
  TcpHeader synack = Peer("S.", kPeerIsn, syns[0].seq() + 1, 65535, 80, syns[0].h.src_port);
  synack.options.mss = 1460;
  Inject(synack);
  EXPECT_EQ(TakeOne().flags(), ".");
  const std::string data(4 * 1460, 'd');
  ASSERT_TRUE(c->Send(AsBytes(data), 0).ok());
  auto first = Take();
  EXPECT_EQ(first.size(), 4u) << Describe(first);  // Linux cuts cwnd only after two
  Advance(std::chrono::seconds(4));
  auto rtx = Take();
  ASSERT_FALSE(rtx.empty());
  EXPECT_EQ(rtx[0].at - first[0].at, std::chrono::seconds(3));
}

TEST_F(TcpRtoTest, TextOnASynAckIsProcessed) {
  auto c = NewSocket();
  c->set_nonblocking(true);
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).error(), EINPROGRESS);
  Sent syn = TakeOne();
  TcpHeader synack = Peer("S.", kPeerIsn, syn.seq() + 1, 65535, 80, syn.h.src_port);
  synack.options.mss = 1460;
  Inject(synack, std::string("hello"));
  // RFC 9293 §3.10.7.3: "If there are other controls or text in the segment, then
  // continue processing at the sixth step": the text after the SYN is queued and
  // acknowledged, not dropped for the peer to send again.
  Sent a = TakeOne();
  EXPECT_EQ(a.flags(), ".");
  EXPECT_EQ(a.ack(), kPeerIsn + 1 + 5);
  EXPECT_EQ(c->state(), TcpState::kEstablished);
  std::array<uint8_t, 16> buf{};
  auto n = c->Recv(buf, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + static_cast<long>(*n)), "hello");
  // The FIN that follows closes the peer's direction as usual.
  Inject(Peer("F.", kPeerIsn + 6, syn.seq() + 1, 65535, 80, syn.h.src_port));
  EXPECT_EQ(TakeOne().ack(), kPeerIsn + 7);
  EXPECT_EQ(c->state(), TcpState::kCloseWait);
}

}  // namespace
}  // namespace pytcp::testing
