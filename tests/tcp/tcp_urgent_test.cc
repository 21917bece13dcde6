// Urgent data as Linux (issue 16 item 16; RFC 9293 §3.8.5, RFC 6093): send(MSG_OOB) sets
// URG with the pointer one past the urgent byte (tcp_mark_urg, __tcp_transmit_skb) and
// overrides Nagle; on receive the byte is out of the stream unless SO_OOBINLINE, reads
// stop at the mark, recv(MSG_OOB) returns it once (EINVAL / EAGAIN as tcp_recv_urg),
// POLLPRI while it waits, SIOCATMARK, SIGURG to the owner when a new pointer arrives.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

class TcpUrgentTest : public TcpHarness {
 protected:
  // The peer's segment with URG and the given pointer.
  static TcpHeader PeerUrg(uint32_t seq, uint32_t ack, uint16_t ptr) {
    TcpHeader h = Peer(".U", seq, ack);
    h.urgent_pointer = ptr;
    return h;
  }
};

void SetInt(TcpSocket& s, int level, int name, int v) {
  ASSERT_TRUE(s.SetOption(level, name, &v, sizeof(v)).ok());
}

std::string RecvString(TcpSocket& s, size_t n = 100, int flags = 0) {
  std::string out(n, '\0');
  auto r = s.Recv(MutableByteSpan(reinterpret_cast<uint8_t*>(out.data()), n), flags);
  if (!r.ok()) return "errno " + std::to_string(r.error());
  out.resize(*r);
  return out;
}

// recv(MSG_OOB) through RecvMsg, as the shim calls it: the byte (or an errno) and the flags.
struct Oob {
  int error = 0;
  std::string data;
  int flags = 0;
};
Oob RecvOob(TcpSocket& s, int extra = 0, size_t n = 1) {
  std::string buf(n, '\0');
  const MutableByteSpan parts[] = {MutableByteSpan(reinterpret_cast<uint8_t*>(buf.data()), n)};
  Oob o;
  auto r = s.RecvMsg(parts, nullptr, MSG_OOB | extra, &o.flags, nullptr);
  if (!r.ok()) {
    o.error = r.error();
    return o;
  }
  buf.resize(*r);
  o.data = buf;
  return o;
}

bool AtMark(TcpSocket& s) {
  auto r = s.AtMark();
  EXPECT_TRUE(r.ok());
  return r.ok() && *r;
}

TEST_F(TcpUrgentTest, SendOobPointsPastTheLastByteUntilItIsAcknowledged) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_EQ(*c->Send(AsBytes("abc"), MSG_OOB), 3u);
  Sent s = TakeOne();
  EXPECT_EQ(s.flags(), "P.U");
  EXPECT_EQ(s.seq(), iss + 1);
  EXPECT_EQ(s.h.urgent_pointer, 3);  // SND.UP - SEG.SEQ: one past the 'c'
  EXPECT_EQ(std::string(s.payload.begin(), s.payload.end()), "abc");
  // Before the ACK, urgent mode lasts (SND.UNA has not passed SND.UP): new data goes past
  // Nagle, but begins at SND.UP and so carries no pointer (before(seq, snd_up) fails).
  ASSERT_EQ(*c->Send(AsBytes("d"), 0), 1u);
  auto v = Take();
  ASSERT_EQ(v.size(), 1u) << Describe(v);
  EXPECT_EQ(v[0].flags(), "P.");
  EXPECT_EQ(v[0].seq(), iss + 4);
  // A pure ACK sent while urgent data is unacknowledged starts at SND.NXT, past SND.UP too.
  Inject(Peer(".", kPeerIsn + 1, iss + 1), "q");
  for (const Sent& a : Take()) EXPECT_EQ(a.flags(), ".");
  Inject(Peer(".", kPeerIsn + 2, iss + 5));
  ASSERT_EQ(*c->Send(AsBytes("e"), 0), 1u);
  s = TakeOne();
  EXPECT_EQ(s.flags(), "P.");
  EXPECT_EQ(s.h.urgent_pointer, 0);
}

TEST_F(TcpUrgentTest, UrgentSendIsNotHeldByNagle) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_EQ(*c->Send(AsBytes("a"), 0), 1u);
  EXPECT_EQ(TakeOne().payload.size(), 1u);
  // A second small segment while one is unacknowledged waits (Nagle)...
  ASSERT_EQ(*c->Send(AsBytes("b"), 0), 1u);
  EXPECT_TRUE(Take().empty());
  // ... but urgent data goes at once, with what was held (tcp_nagle_test).
  ASSERT_EQ(*c->Send(AsBytes("!"), MSG_OOB), 1u);
  Sent s = TakeOne();
  EXPECT_EQ(s.flags(), "P.U");
  EXPECT_EQ(std::string(s.payload.begin(), s.payload.end()), "b!");
  EXPECT_EQ(s.h.urgent_pointer, 2);
}

TEST_F(TcpUrgentTest, TheUrgentByteIsOutOfTheStreamAndReadOnceWithMsgOob) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  EXPECT_EQ(RecvOob(*c).error, EINVAL);  // nothing urgent
  Inject(PeerUrg(kPeerIsn + 1, iss + 1, 6), "helloX");
  EXPECT_NE(c->Poll() & POLLPRI, 0);
  EXPECT_FALSE(AtMark(*c));
  EXPECT_EQ(RecvString(*c), "hello");  // a read stops at the mark
  EXPECT_TRUE(AtMark(*c));
  EXPECT_EQ(c->Poll() & POLLIN, 0);  // only the urgent byte is left: nothing to read
  Oob o = RecvOob(*c, MSG_PEEK);
  EXPECT_EQ(o.data, "X");
  o = RecvOob(*c);
  EXPECT_EQ(o.error, 0);
  EXPECT_EQ(o.data, "X");
  EXPECT_NE(o.flags & MSG_OOB, 0);
  EXPECT_EQ(c->Poll() & POLLPRI, 0);
  EXPECT_EQ(RecvOob(*c).error, EINVAL);  // read already
  Inject(Peer(".", kPeerIsn + 7, iss + 1), "world");
  EXPECT_EQ(RecvString(*c), "world");  // the 'X' is skipped
  EXPECT_FALSE(AtMark(*c));
}

TEST_F(TcpUrgentTest, ReadingPastTheMarkDropsTheUnreadUrgentByte) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  Inject(PeerUrg(kPeerIsn + 1, iss + 1, 3), "abXcd");
  EXPECT_EQ(RecvString(*c), "ab");
  EXPECT_EQ(RecvString(*c), "cd");  // at the mark the byte is skipped, not returned
  EXPECT_EQ(RecvOob(*c).error, EINVAL);  // and it is gone (urg_data cleared)
  EXPECT_EQ(c->Poll() & POLLPRI, 0);
}

TEST_F(TcpUrgentTest, MsgWaitallStopsAtTheMark) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  Inject(PeerUrg(kPeerIsn + 1, iss + 1, 4), "abcXdef");
  EXPECT_EQ(RecvString(*c, 7, MSG_WAITALL), "abc");
}

TEST_F(TcpUrgentTest, WithOobInlineTheByteStaysInTheStream) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  SetInt(*c, SOL_SOCKET, SO_OOBINLINE, 1);
  Inject(PeerUrg(kPeerIsn + 1, iss + 1, 3), "abXcd");
  EXPECT_NE(c->Poll() & POLLPRI, 0);  // POLLPRI as without SO_OOBINLINE
  EXPECT_EQ(RecvOob(*c).error, EINVAL);
  EXPECT_EQ(RecvString(*c), "ab");
  EXPECT_TRUE(AtMark(*c));
  EXPECT_EQ(RecvString(*c), "Xcd");
  EXPECT_FALSE(AtMark(*c));
  EXPECT_EQ(c->Poll() & POLLPRI, 0);
}

TEST_F(TcpUrgentTest, APointerAheadOfTheDataIsEagainUntilTheByteArrives) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  // The pointer says the urgent byte is the 6th from this segment's start; 3 came.
  Inject(PeerUrg(kPeerIsn + 1, iss + 1, 6), "abc");
  EXPECT_EQ(RecvOob(*c).error, EAGAIN);  // never blocks (tcp_recv_urg)
  EXPECT_EQ(c->Poll() & POLLPRI, 0);
  Inject(Peer(".", kPeerIsn + 4, iss + 1), "deZgh");
  EXPECT_NE(c->Poll() & POLLPRI, 0);
  EXPECT_EQ(RecvString(*c), "abcde");
  EXPECT_EQ(RecvOob(*c).data, "Z");
  EXPECT_EQ(RecvString(*c), "gh");
}

TEST_F(TcpUrgentTest, ANewPointerSignalsTheOwnerWithSigurg) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  sigset_t urg, old;
  sigemptyset(&urg);
  sigaddset(&urg, SIGURG);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &urg, &old), 0);
  auto pending = [&] {
    sigset_t p;
    sigpending(&p);
    return sigismember(&p, SIGURG) == 1;
  };
  auto take = [&] {
    const timespec zero{0, 0};
    return sigtimedwait(&urg, nullptr, &zero) == SIGURG;
  };
  while (take()) {
  }
  Inject(PeerUrg(kPeerIsn + 1, iss + 1, 2), "aX");
  EXPECT_FALSE(pending());  // no owner: no signal
  EXPECT_EQ(RecvString(*c), "a");
  EXPECT_EQ(RecvOob(*c).data, "X");
  c->set_owner(getpid());
  Inject(PeerUrg(kPeerIsn + 3, iss + 1, 2), "bY");
  EXPECT_TRUE(take());
  // The same pointer again (a retransmission) is not news.
  Inject(PeerUrg(kPeerIsn + 3, iss + 1, 2), "bY");
  EXPECT_FALSE(take());
  // The old urgent byte at the read position went when the new pointer came.
  EXPECT_EQ(RecvString(*c), "b");
  EXPECT_EQ(RecvOob(*c).data, "Y");
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
}

TEST_F(TcpUrgentTest, AListenerAndAFreshSocketAnswerAsLinux) {
  auto fresh = NewSocket();
  EXPECT_EQ(RecvOob(*fresh).error, EINVAL);
  EXPECT_EQ(fresh->Send(AsBytes("x"), MSG_OOB | MSG_NOSIGNAL).error(), EPIPE);
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  EXPECT_EQ(RecvOob(*listener_).error, ENOTCONN);
  EXPECT_FALSE(AtMark(*listener_));
}

}  // namespace
}  // namespace pytcp::testing
