// Conformance (issue 19 item 10): shutdown() in every state, with the errno and the poll
// bits Linux gives (inet_shutdown: a socket in TCP_CLOSE says ENOTCONN but still records
// the shutdown, which poll shows; a listener stops listening on SHUT_RD; a connecting
// socket is disconnected; tcp_poll and datagram_poll then report from sk_shutdown).
#include <poll.h>

#include <string>

#include "tests/shim/conformance.h"

namespace {

using namespace conformance;  // NOLINT: the suite's own helpers

// "ret errno | poll bits" after shutdown(fd, how), for one comparison per state.
std::string ShutdownOutcome(int fd, int how) {
  const int r = shutdown(fd, how);
  const int e = r == 0 ? 0 : errno;
  // The FIN or the disconnect may take a moment to show on a loopback-like path.
  pollfd p{fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, 0};
  poll(&p, 1, 0);
  std::string bits;
  const struct {
    short bit;
    const char* name;
  } kBits[] = {{POLLIN, "IN"},   {POLLPRI, "PRI"}, {POLLOUT, "OUT"}, {POLLERR, "ERR"},
               {POLLHUP, "HUP"}, {POLLRDHUP, "RDHUP"}, {POLLNVAL, "NVAL"}};
  for (const auto& b : kBits) {
    if ((p.revents & b.bit) != 0) bits += std::string(bits.empty() ? "" : "|") + b.name;
  }
  return std::to_string(r) + " " + (e == 0 ? "0" : strerrorname_np(e)) + " " +
         (bits.empty() ? "-" : bits);
}

TEST(Shutdown, TcpNotConnected) {
  for (int how : {SHUT_RD, SHUT_WR, SHUT_RDWR}) {
    Fd s(Tcp());
    const char* want[] = {"-1 ENOTCONN IN|OUT|HUP|RDHUP", "-1 ENOTCONN OUT|HUP",
                          "-1 ENOTCONN IN|OUT|HUP|RDHUP"};
    EXPECT_EQ(ShutdownOutcome(s.get(), how), want[how]) << "how " << how;
  }
  Fd bound(Tcp());
  sockaddr_in a = Addr(LocalIp(), 0);
  ASSERT_EQ(bind(bound.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(ShutdownOutcome(bound.get(), SHUT_WR), "-1 ENOTCONN OUT|HUP");
  Fd s(Tcp());
  EXPECT_EQ(shutdown(s.get(), 3), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(shutdown(s.get(), -1), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST(Shutdown, TcpListenerWriteSideIsANoOp) {
  sockaddr_in at{};
  Fd l(Listener(&at));
  ASSERT_GE(l.get(), 0);
  EXPECT_EQ(ShutdownOutcome(l.get(), SHUT_WR), "0 0 -");
  Fd c(ConnectTo(at));
  ASSERT_GE(c.get(), 0);
  EXPECT_EQ(PollOnce(l.get(), POLLIN, 3000), POLLIN);
  Fd a(accept(l.get(), nullptr, nullptr));
  EXPECT_GE(a.get(), 0);
}

TEST(Shutdown, TcpListenerReadSideStopsListening) {
  sockaddr_in at{};
  Fd l(Listener(&at));
  ASSERT_GE(l.get(), 0);
  EXPECT_EQ(ShutdownOutcome(l.get(), SHUT_RD), "0 0 OUT|HUP");
  EXPECT_EQ(accept(l.get(), nullptr, nullptr), -1);
  EXPECT_EQ(errno, EINVAL);
  Fd c(Tcp());
  EXPECT_EQ(connect(c.get(), reinterpret_cast<sockaddr*>(&at), sizeof(at)), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  // It may listen again.
  EXPECT_EQ(listen(l.get(), 4), 0);
}

TEST(Shutdown, TcpConnectingIsDisconnected) {
  Fd s(Tcp(SOCK_NONBLOCK));
  const sockaddr_in silent = Addr(Env("CONFORMANCE_SILENT", "10.77.0.250"), 80);
  ASSERT_EQ(connect(s.get(), reinterpret_cast<const sockaddr*>(&silent), sizeof(silent)), -1);
  ASSERT_EQ(errno, EINPROGRESS);
  // tcp_disconnect of a SYN_SENT socket: sk_err = ECONNRESET.
  EXPECT_EQ(ShutdownOutcome(s.get(), SHUT_RDWR), "0 0 OUT|ERR|HUP");
  int err = -1;
  socklen_t len = sizeof(err);
  ASSERT_EQ(getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, ECONNRESET);
}

TEST(Shutdown, TcpEstablishedEachWay) {
  const char* want[] = {"0 0 IN|OUT|RDHUP", "0 0 OUT", "0 0 IN|OUT|HUP|RDHUP"};
  for (int how : {SHUT_RD, SHUT_WR, SHUT_RDWR}) {
    Pair p;
    MakePair(&p);
    EXPECT_EQ(ShutdownOutcome(p.client.get(), how), want[how]) << "how " << how;
    // Again: still not TCP_CLOSE, so no error.
    EXPECT_EQ(shutdown(p.client.get(), how), 0) << "how " << how;
  }
}

TEST(Shutdown, TcpAfterThePeersFinAndAfterAReset) {
  Pair p;
  MakePair(&p);
  ASSERT_EQ(shutdown(p.server.get(), SHUT_WR), 0);
  ASSERT_NE(PollOnce(p.client.get(), POLLRDHUP, 3000) & POLLRDHUP, 0);
  EXPECT_EQ(ShutdownOutcome(p.client.get(), SHUT_WR), "0 0 IN|OUT|HUP|RDHUP");
  Pair q;
  MakePair(&q);
  linger lg{1, 0};
  ASSERT_EQ(setsockopt(q.server.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
  close(q.server.release());
  ASSERT_NE(PollOnce(q.client.get(), POLLIN, 3000) & POLLHUP, 0);
  EXPECT_EQ(ShutdownOutcome(q.client.get(), SHUT_RDWR), "-1 ENOTCONN IN|OUT|ERR|HUP|RDHUP");
}

TEST(Shutdown, UdpEachWay) {
  const char* unconnected[] = {"-1 ENOTCONN IN|OUT|RDHUP", "-1 ENOTCONN OUT",
                               "-1 ENOTCONN IN|OUT|HUP|RDHUP"};
  const char* connected[] = {"0 0 IN|OUT|RDHUP", "0 0 OUT", "0 0 IN|OUT|HUP|RDHUP"};
  for (int how : {SHUT_RD, SHUT_WR, SHUT_RDWR}) {
    Fd u(Udp());
    EXPECT_EQ(ShutdownOutcome(u.get(), how), unconnected[how]) << "how " << how;
    Fd c(Udp());
    const sockaddr_in peer = Peer(kEcho);
    ASSERT_EQ(connect(c.get(), reinterpret_cast<const sockaddr*>(&peer), sizeof(peer)), 0);
    EXPECT_EQ(ShutdownOutcome(c.get(), how), connected[how]) << "how " << how;
  }
  // After SHUT_RD a receive returns 0 at once; after SHUT_WR a send is EPIPE
  // (sock_alloc_send_pskb), without SIGPIPE (only a stream raises it).
  Fd c(Udp());
  const sockaddr_in peer = Peer(kEcho);
  ASSERT_EQ(connect(c.get(), reinterpret_cast<const sockaddr*>(&peer), sizeof(peer)), 0);
  ASSERT_EQ(shutdown(c.get(), SHUT_RD), 0);
  char b;
  EXPECT_EQ(recv(c.get(), &b, 1, 0), 0);
  Fd w(Udp());
  ASSERT_EQ(connect(w.get(), reinterpret_cast<const sockaddr*>(&peer), sizeof(peer)), 0);
  ASSERT_EQ(shutdown(w.get(), SHUT_WR), 0);
  EXPECT_EQ(send(w.get(), "w", 1, 0), -1);
  EXPECT_EQ(errno, EPIPE);
}

}  // namespace
