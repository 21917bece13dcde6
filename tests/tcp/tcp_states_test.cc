// RST, SYN and out-of-window handling in every synchronized state (RFC 9293 §3.10.7.4,
// RFC 5961 §3-§4): a connection is driven into each state, then
//   - a RST in the window but not at RCV.NXT draws a challenge ACK and changes nothing,
//   - a SYN draws a challenge ACK,
//   - an old segment draws a duplicate ACK,
//   - a RST at RCV.NXT ends the connection with the errno Linux reports in that state.
#include <cerrno>

#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

struct StateCase {
  TcpState state;
  int reset_errno;  // what the socket reports after the RST (0: nothing)
};

class TcpStatesTest : public TcpHarness, public ::testing::WithParamInterface<StateCase> {
 protected:
  // Drives an accepted connection into `state`; returns the socket and sets the peer's
  // next sequence number (our RCV.NXT) and our SND.NXT.
  std::shared_ptr<TcpSocket> Drive(TcpState state, uint32_t* rcv_nxt, uint32_t* snd_nxt) {
    uint32_t iss = 0;
    auto c = EstablishPlain(&iss);
    *rcv_nxt = kPeerIsn + 1;
    *snd_nxt = iss + 1;
    switch (state) {
      case TcpState::kEstablished:
        break;
      case TcpState::kFinWait1:
        EXPECT_TRUE(c->Shutdown(SHUT_WR).ok());
        *snd_nxt += 1;
        break;
      case TcpState::kFinWait2:
        EXPECT_TRUE(c->Shutdown(SHUT_WR).ok());
        *snd_nxt += 1;
        Inject(Peer(".", *rcv_nxt, *snd_nxt));
        break;
      case TcpState::kCloseWait:
        Inject(Peer("F.", *rcv_nxt, *snd_nxt));
        *rcv_nxt += 1;
        break;
      case TcpState::kLastAck:
        Inject(Peer("F.", *rcv_nxt, *snd_nxt));
        *rcv_nxt += 1;
        EXPECT_TRUE(c->Shutdown(SHUT_WR).ok());
        *snd_nxt += 1;
        break;
      case TcpState::kClosing:
        EXPECT_TRUE(c->Shutdown(SHUT_WR).ok());
        Inject(Peer("F.", *rcv_nxt, *snd_nxt));
        *rcv_nxt += 1;
        *snd_nxt += 1;
        break;
      case TcpState::kTimeWait:
        EXPECT_TRUE(c->Shutdown(SHUT_WR).ok());
        *snd_nxt += 1;
        Inject(Peer(".", *rcv_nxt, *snd_nxt));
        Inject(Peer("F.", *rcv_nxt, *snd_nxt));
        *rcv_nxt += 1;
        break;
      default:
        ADD_FAILURE() << "not a synchronized state";
    }
    Take();
    EXPECT_EQ(c->state(), state);
    return c;
  }
};

TEST_P(TcpStatesTest, InWindowRstIsChallengedExactRstResets) {
  const StateCase sc = GetParam();
  uint32_t rcv_nxt = 0, snd_nxt = 0;
  auto c = Drive(sc.state, &rcv_nxt, &snd_nxt);
  Inject(Peer("R", rcv_nxt + 10, 0));
  Sent a = TakeOne();
  EXPECT_EQ(a.flags(), ".");
  EXPECT_EQ(a.seq(), snd_nxt);
  EXPECT_EQ(a.ack(), rcv_nxt);
  EXPECT_EQ(c->state(), sc.state);
  Inject(Peer("R.", rcv_nxt, snd_nxt));
  EXPECT_TRUE(Take().empty());  // never a RST for a RST
  EXPECT_EQ(c->state(), TcpState::kClosed);
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
  int err = -1;
  socklen_t len = sizeof(err);
  ASSERT_TRUE(c->GetOption(SOL_SOCKET, SO_ERROR, &err, &len).ok());
  EXPECT_EQ(err, sc.reset_errno);
}

TEST_P(TcpStatesTest, SynIsChallengedAndOldDataIsReAcked) {
  const StateCase sc = GetParam();
  uint32_t rcv_nxt = 0, snd_nxt = 0;
  auto c = Drive(sc.state, &rcv_nxt, &snd_nxt);
  // (In TIME-WAIT a SYN above RCV.NXT would start a new connection, RFC 6191; an old one
  // is acknowledged like any old segment.)
  const uint32_t syn_seq = sc.state == TcpState::kTimeWait ? rcv_nxt - 1000 : rcv_nxt + 1000;
  Inject(Peer("S", syn_seq, 0));
  Sent a = TakeOne();
  EXPECT_EQ(a.flags(), ".");
  EXPECT_EQ(a.ack(), rcv_nxt);
  EXPECT_EQ(c->state(), sc.state);
  // RFC 9293 §3.10.7.4 first check: an old duplicate is answered with an ACK.
  Inject(Peer(".", rcv_nxt - 500, snd_nxt), std::string(100, 'o'));
  a = TakeOne();
  EXPECT_EQ(a.ack(), rcv_nxt);
  EXPECT_EQ(a.seq(), snd_nxt);
  // A RST outside the window is ignored.
  Inject(Peer("R", rcv_nxt + 1000000, 0));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(c->state(), sc.state);
}

INSTANTIATE_TEST_SUITE_P(
    AllSynchronizedStates, TcpStatesTest,
    ::testing::Values(StateCase{TcpState::kEstablished, ECONNRESET},
                      StateCase{TcpState::kFinWait1, ECONNRESET},
                      StateCase{TcpState::kFinWait2, ECONNRESET},
                      StateCase{TcpState::kCloseWait, EPIPE},
                      StateCase{TcpState::kClosing, ECONNRESET},
                      StateCase{TcpState::kLastAck, ECONNRESET},
                      StateCase{TcpState::kTimeWait, ECONNRESET}),
    [](const ::testing::TestParamInfo<StateCase>& p) { return std::string(ToString(p.param.state)); });

using TcpSynReceivedTest = TcpHarness;

TEST_F(TcpSynReceivedTest, RstInSynReceivedRemovesTheEmbryonicConnectionSilently) {
  auto l = NewSocket();
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(), kOurPort, 0}).ok());
  ASSERT_TRUE(l->Listen(4).ok());
  Inject(Peer("S", kPeerIsn, 0));
  Sent sa = TakeOne();
  // In the window but not exact: challenged.
  Inject(Peer("R", kPeerIsn + 5, 0));
  EXPECT_EQ(TakeOne().flags(), ".");
  EXPECT_EQ(stack_->tcp().connection_count(), 1u);
  // An ACK that does not acknowledge our SYN: <SEQ=SEG.ACK><RST>.
  Inject(Peer(".", kPeerIsn + 1, sa.seq() + 100));
  Sent r = TakeOne();
  EXPECT_EQ(r.flags(), "R");
  EXPECT_EQ(r.seq(), sa.seq() + 100);
  Inject(Peer("R", kPeerIsn + 1, 0));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
  l->set_nonblocking(true);
  EXPECT_EQ(l->Accept().error(), EAGAIN);
}

}  // namespace
}  // namespace pytcp::testing
