// Options that change what TCP does (issue 16 item 17), each as Linux's do_tcp_setsockopt
// and the code it reaches: TCP_SYNCNT (SYN retries), TCP_LINGER2 (orphan FIN-WAIT-2),
// TCP_QUICKACK (pingpong mode), TCP_DEFER_ACCEPT (bare ACKs dropped, secs_to_retrans),
// TCP_NOTSENT_LOWAT (writability), TCP_WINDOW_CLAMP (the window offered).
#include <poll.h>

#include <cerrno>

#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

using TcpSockoptTest = TcpHarness;

SysResult<void> Set(TcpSocket& s, int name, int v) {
  return s.SetOption(IPPROTO_TCP, name, &v, sizeof(v));
}
int Get(TcpSocket& s, int name) {
  int v = -12345;
  socklen_t len = sizeof(v);
  EXPECT_TRUE(s.GetOption(IPPROTO_TCP, name, &v, &len).ok());
  return v;
}
int SoError(TcpSocket& s) {
  int err = 0;
  socklen_t len = sizeof(err);
  EXPECT_TRUE(s.GetOption(SOL_SOCKET, SO_ERROR, &err, &len).ok());
  return err;
}
size_t Count(const std::vector<Sent>& v, std::string_view flags) {
  size_t n = 0;
  for (const auto& s : v) n += s.flags() == flags ? 1 : 0;
  return n;
}

TEST_F(TcpSockoptTest, SynCntBoundsTheSynRetransmissions) {
  auto c = NewSocket();
  c->set_nonblocking(true);
  EXPECT_EQ(Get(*c, TCP_SYNCNT), 6);  // tcp_syn_retries
  EXPECT_EQ(Set(*c, TCP_SYNCNT, 0).error(), EINVAL);
  EXPECT_EQ(Set(*c, TCP_SYNCNT, 128).error(), EINVAL);
  ASSERT_TRUE(Set(*c, TCP_SYNCNT, 2).ok());
  EXPECT_EQ(Get(*c, TCP_SYNCNT), 2);
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).error(), EINPROGRESS);
  Advance(std::chrono::seconds(60));
  auto v = Take();
  EXPECT_EQ(Count(v, "S"), 3u) << Describe(v);  // the SYN and two retransmissions
  EXPECT_EQ(c->state(), TcpState::kClosed);
  EXPECT_EQ(SoError(*c), ETIMEDOUT);
  // Sent at 0, 1 and 3 s; given up at 7 s.
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[2].at - v[0].at, std::chrono::seconds(3));
}

TEST_F(TcpSockoptTest, SynCntOnAListenerBoundsTheSynAckRetransmissions) {
  listener_ = NewSocket();
  listener_->set_nonblocking(true);
  ASSERT_TRUE(listener_->Bind(SocketAddress{IpAddress(kOurIp), kOurPort, 0}).ok());
  ASSERT_TRUE(Set(*listener_, TCP_SYNCNT, 1).ok());
  ASSERT_TRUE(listener_->Listen(16).ok());
  Inject(Peer("S", kPeerIsn, 0));
  Advance(std::chrono::seconds(60));
  EXPECT_EQ(Count(Take(), "S."), 2u);  // the SYN-ACK and one retransmission
}

TEST_F(TcpSockoptTest, Linger2SetsTheOrphanFinWait2Lifetime) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  EXPECT_EQ(Get(*c, TCP_LINGER2), 60);  // tcp_fin_timeout
  ASSERT_TRUE(Set(*c, TCP_LINGER2, 200).ok());
  EXPECT_EQ(Get(*c, TCP_LINGER2), 120);  // TCP_FIN_TIMEOUT_MAX
  ASSERT_TRUE(Set(*c, TCP_LINGER2, 5).ok());
  EXPECT_EQ(Get(*c, TCP_LINGER2), 5);
  c->Close();
  EXPECT_EQ(TakeOne().flags(), "F.");
  Inject(Peer(".", kPeerIsn + 1, iss + 2));  // FIN-WAIT-2, orphaned
  Advance(std::chrono::milliseconds(4900));
  EXPECT_TRUE(Take().empty());
  Advance(std::chrono::milliseconds(200));
  Sent rst = TakeOne();
  EXPECT_EQ(rst.flags(), "R.");
}

TEST_F(TcpSockoptTest, NegativeLinger2ResetsAnOrphanReachingFinWait2) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_TRUE(Set(*c, TCP_LINGER2, -5).ok());
  EXPECT_EQ(Get(*c, TCP_LINGER2), -1);
  c->Close();
  EXPECT_EQ(TakeOne().flags(), "F.");
  Inject(Peer(".", kPeerIsn + 1, iss + 2));
  // tcp_rcv_state_process: tcp_done and a RST for the segment (<SEQ=SEG.ACK><RST>).
  Sent rst = TakeOne();
  EXPECT_EQ(rst.flags(), "R");
  EXPECT_EQ(rst.seq(), iss + 2);
  Inject(Peer(".", kPeerIsn + 1, iss + 2));
  EXPECT_EQ(TakeOne().flags(), "R");  // the connection is gone: any segment draws a RST
}

TEST_F(TcpSockoptTest, QuickAckZeroDelaysAndOneSendsThePendingAck) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  EXPECT_EQ(Get(*c, TCP_QUICKACK), 1);
  // A new connection ACKs at once (quick-ACK mode at the start)...
  Inject(Peer(".", kPeerIsn + 1, iss + 1), "a");
  EXPECT_EQ(TakeOne().flags(), ".");
  // ... but not in pingpong mode.
  ASSERT_TRUE(Set(*c, TCP_QUICKACK, 0).ok());
  EXPECT_EQ(Get(*c, TCP_QUICKACK), 0);
  Inject(Peer(".", kPeerIsn + 2, iss + 1), "b");
  EXPECT_TRUE(Take().empty());
  // TCP_QUICKACK 1 sends the ACK that waits, now.
  ASSERT_TRUE(Set(*c, TCP_QUICKACK, 1).ok());
  Sent ack = TakeOne();
  EXPECT_EQ(ack.ack(), kPeerIsn + 3);
  EXPECT_EQ(Get(*c, TCP_QUICKACK), 1);
  // And a delayed ACK that runs out leaves pingpong mode again.
  ASSERT_TRUE(Set(*c, TCP_QUICKACK, 0).ok());
  Inject(Peer(".", kPeerIsn + 3, iss + 1), "c");
  EXPECT_TRUE(Take().empty());
  Advance(std::chrono::milliseconds(50));
  EXPECT_EQ(TakeOne().ack(), kPeerIsn + 4);
  EXPECT_EQ(Get(*c, TCP_QUICKACK), 1);
}

TEST_F(TcpSockoptTest, DeferAcceptRoundsToRetransmissionsAsLinux) {
  auto s = NewSocket();
  EXPECT_EQ(Get(*s, TCP_DEFER_ACCEPT), 0);
  const std::pair<int, int> cases[] = {{1, 1},  {2, 3},    {3, 3},     {4, 7},  {5, 7},
                                       {10, 15}, {30, 31}, {100, 127}, {1000, 1087},
                                       {-3, 0},  {0, 0}};
  for (auto [in, out] : cases) {
    ASSERT_TRUE(Set(*s, TCP_DEFER_ACCEPT, in).ok());
    EXPECT_EQ(Get(*s, TCP_DEFER_ACCEPT), out) << in;
  }
}

class TcpDeferAcceptTest : public TcpHarness {
 protected:
  // Listens with TCP_DEFER_ACCEPT and answers a SYN; returns our ISN.
  uint32_t ListenAndSyn(int defer_seconds) {
    listener_ = NewSocket();
    listener_->set_nonblocking(true);
    EXPECT_TRUE(listener_->Bind(SocketAddress{IpAddress(kOurIp), kOurPort, 0}).ok());
    EXPECT_TRUE(Set(*listener_, TCP_DEFER_ACCEPT, defer_seconds).ok());
    EXPECT_TRUE(listener_->Listen(16).ok());
    TcpHeader syn = Peer("S", kPeerIsn, 0);
    syn.options.mss = 1460;
    Inject(syn);
    Sent synack = TakeOne();
    EXPECT_EQ(synack.flags(), "S.");
    return synack.seq();
  }
};

TEST_F(TcpDeferAcceptTest, ABareAckDoesNotCompleteTheHandshakeButDataDoes) {
  const uint32_t iss = ListenAndSyn(5);
  Inject(Peer(".", kPeerIsn + 1, iss + 1));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(listener_->QueueLength(), 0u);
  EXPECT_EQ(listener_->Poll() & POLLIN, 0);
  Inject(Peer(".", kPeerIsn + 1, iss + 1), "GET /");
  EXPECT_EQ(listener_->QueueLength(), 1u);
  auto a = listener_->Accept();
  ASSERT_TRUE(a.ok());
  sockets_.push_back(*a);
  EXPECT_EQ((*a)->ReadableBytes(), 5u);
}

TEST_F(TcpDeferAcceptTest, AtTheEndOfTheDeferralTheLastSynAckDrawsAnAckThatIsTaken) {
  // 3 s: two SYN-ACK timeouts (1 s + 2 s). After the bare ACK no SYN-ACK is sent until
  // the last period (syn_ack_recalc), so the first timeout (1 s) is silent and the second
  // (3 s) sends one.
  const uint32_t iss = ListenAndSyn(3);
  Inject(Peer(".", kPeerIsn + 1, iss + 1));
  Advance(std::chrono::milliseconds(2900));
  EXPECT_TRUE(Take().empty());
  Advance(std::chrono::milliseconds(200));
  Sent again = TakeOne();
  EXPECT_EQ(again.flags(), "S.");
  EXPECT_EQ(listener_->QueueLength(), 0u);
  // The peer (ESTABLISHED) answers the old SYN-ACK with an ACK: now it completes.
  Inject(Peer(".", kPeerIsn + 1, iss + 1));
  EXPECT_EQ(listener_->QueueLength(), 1u);
}

// TCP_DEFER_ACCEPT on a connecting socket (tcp_rcv_synsent_state_process): the ACK that
// ends the handshake waits up to TCP_DELACK_MAX for data to ride on.
TEST_F(TcpSockoptTest, DeferAcceptOnAClientDelaysTheHandshakeAck) {
  for (bool with_data : {false, true}) {
    auto c = NewSocket();
    c->set_nonblocking(true);
    ASSERT_TRUE(Set(*c, TCP_DEFER_ACCEPT, 1).ok());
    const uint16_t port = with_data ? 81 : 80;
    ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), port, 0}).error(), EINPROGRESS);
    Sent syn = TakeOne();
    ASSERT_EQ(syn.flags(), "S");
    TcpHeader synack = Peer("S.", kPeerIsn, syn.seq() + 1, 65535, port, syn.h.src_port);
    synack.options.mss = 1460;
    Inject(synack);
    EXPECT_EQ(c->state(), TcpState::kEstablished);
    EXPECT_TRUE(Take().empty());  // no ACK yet
    if (with_data) {
      ASSERT_EQ(*c->Send(AsBytes("hi"), 0), 2u);
      Sent d = TakeOne();
      EXPECT_EQ(d.flags(), "P.");
      EXPECT_EQ(d.ack(), kPeerIsn + 1);
      EXPECT_EQ(d.payload.size(), 2u);
    } else {
      Advance(std::chrono::milliseconds(190));
      EXPECT_TRUE(Take().empty());
      Advance(std::chrono::milliseconds(20));
      Sent a = TakeOne();
      EXPECT_EQ(a.flags(), ".");
      EXPECT_EQ(a.ack(), kPeerIsn + 1);
    }
  }
}

TEST_F(TcpSockoptTest, NotSentLowatGatesWritability) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss, /*peer_window=*/0);  // nothing leaves: all of it unsent
  EXPECT_EQ(Get(*c, TCP_NOTSENT_LOWAT), 0);
  ASSERT_TRUE(Set(*c, TCP_NOTSENT_LOWAT, 1000).ok());
  EXPECT_EQ(Get(*c, TCP_NOTSENT_LOWAT), 1000);
  const std::string a(400, 'a');
  ASSERT_EQ(*c->Send(AsBytes(a), 0), 400u);
  EXPECT_NE(c->Poll() & POLLOUT, 0);  // 2 * 400 < 1000
  ASSERT_EQ(*c->Send(AsBytes(std::string(100, 'b')), 0), 100u);
  EXPECT_EQ(c->Poll() & POLLOUT, 0);  // 2 * 500 >= 1000 (tcp_stream_memory_free, wake = 1)
  // A send may fill past the limit once (the segment being built), not more.
  auto r = c->Send(AsBytes(std::string(100000, 'c')), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_LT(*r, 100000u);
  EXPECT_EQ(c->Send(AsBytes("d"), 0).error(), EAGAIN);
  // Without the limit the buffer's room decides again.
  ASSERT_TRUE(Set(*c, TCP_NOTSENT_LOWAT, 0).ok());
  EXPECT_NE(c->Poll() & POLLOUT, 0);
}

TEST_F(TcpSockoptTest, WindowClampValuesAsLinux) {
  auto s = NewSocket();
  EXPECT_EQ(Get(*s, TCP_WINDOW_CLAMP), 0);
  ASSERT_TRUE(Set(*s, TCP_WINDOW_CLAMP, 100).ok());
  EXPECT_EQ(Get(*s, TCP_WINDOW_CLAMP), 1152);  // SOCK_MIN_RCVBUF / 2
  ASSERT_TRUE(Set(*s, TCP_WINDOW_CLAMP, -5).ok());
  EXPECT_EQ(Get(*s, TCP_WINDOW_CLAMP), 1152);
  ASSERT_TRUE(Set(*s, TCP_WINDOW_CLAMP, 0).ok());  // allowed while closed
  EXPECT_EQ(Get(*s, TCP_WINDOW_CLAMP), 0);
  ASSERT_TRUE(s->Bind(SocketAddress{IpAddress(kOurIp), 9999, 0}).ok());
  ASSERT_TRUE(s->Listen(4).ok());
  EXPECT_EQ(Set(*s, TCP_WINDOW_CLAMP, 0).error(), EINVAL);  // not on a listener
}

TEST_F(TcpSockoptTest, WindowClampBoundsTheWindowOffered) {
  listener_ = NewSocket();
  listener_->set_nonblocking(true);
  ASSERT_TRUE(listener_->Bind(SocketAddress{IpAddress(kOurIp), kOurPort, 0}).ok());
  ASSERT_TRUE(Set(*listener_, TCP_WINDOW_CLAMP, 5000).ok());
  ASSERT_TRUE(listener_->Listen(16).ok());
  TcpHeader syn = Peer("S", kPeerIsn, 0);
  syn.options.mss = 1460;
  Inject(syn);
  Sent synack = TakeOne();
  EXPECT_LE(synack.h.window, 5000);
  const uint32_t iss = synack.seq();
  Inject(Peer(".", kPeerIsn + 1, iss + 1));
  auto a = listener_->Accept();
  ASSERT_TRUE(a.ok());
  sockets_.push_back(*a);
  EXPECT_EQ(Get(**a, TCP_WINDOW_CLAMP), 5000);
  Inject(Peer(".", kPeerIsn + 1, iss + 1), std::string(1000, 'x'));
  for (const Sent& s : Take()) EXPECT_LE(s.h.window, 5000) << Describe({s});
}

}  // namespace
}  // namespace pytcp::testing
