// Conformance (issue 19 item 10): the kernel's contract at the system-call boundary.
// EFAULT for a buffer the process may not touch, where the kernel would copy (never a
// crash, and nothing when there is nothing to copy); EPIPE/ECONNRESET for a write after
// the peer closed or reset; a close() racing a blocked call (the call holds its own
// reference to the file and runs on, fget/fput); recv(MSG_TRUNC) on TCP discards
// (tcp_recvmsg_locked); connect to port 0 and to the wildcard address (which
// ip_route_connect takes as loopback); as many sockets as RLIMIT_NOFILE allows.
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "tests/shim/conformance.h"

namespace {

using namespace conformance;  // NOLINT: the suite's own helpers

// One page the process may not touch (PROT_NONE).
class NoAccessPage {
 public:
  NoAccessPage() {
    void* m = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p_ = m == MAP_FAILED ? nullptr : static_cast<char*>(m);
  }
  ~NoAccessPage() {
    if (p_ != nullptr) munmap(p_, 4096);
  }
  NoAccessPage(const NoAccessPage&) = delete;
  NoAccessPage& operator=(const NoAccessPage&) = delete;
  char* get() const { return p_; }

 private:
  char* p_;
};

// A UDP socket bound to this side's address, with `msg` sent to itself and arrived.
int UdpWithDatagram(const char* msg) {
  const int fd = Udp();
  sockaddr_in a = Addr(LocalIp(), 0);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const size_t n = strlen(msg);
  if (sendto(fd, msg, n, 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != static_cast<ssize_t>(n)) {
    return -1;
  }
  if (PollOnce(fd, POLLIN, 3000) != POLLIN) return -1;
  return fd;
}

// ---- EFAULT ----

TEST(Efault, StreamReceiveIntoABadBufferKeepsTheData) {
  NoAccessPage bad;
  Pair p;
  MakePair(&p);
  ASSERT_EQ(send(p.client.get(), "abc", 3, 0), 3);
  ASSERT_EQ(PollOnce(p.server.get(), POLLIN, 3000), POLLIN);
  EXPECT_EQ(recv(p.server.get(), bad.get(), 3, 0), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(read(p.server.get(), bad.get(), 3), -1);
  EXPECT_EQ(errno, EFAULT);
  iovec iov{bad.get(), 3};
  EXPECT_EQ(readv(p.server.get(), &iov, 1), -1);
  EXPECT_EQ(errno, EFAULT);
  char buf[4] = {};
  ASSERT_EQ(recv(p.server.get(), buf, sizeof(buf), 0), 3);
  EXPECT_STREQ(buf, "abc");
}

TEST(Efault, DatagramReceiveIntoABadBufferDropsTheDatagram) {
  NoAccessPage bad;
  Fd s(UdpWithDatagram("gone"));
  ASSERT_GE(s.get(), 0);
  EXPECT_EQ(recvfrom(s.get(), bad.get(), 16, 0, nullptr, nullptr), -1);
  EXPECT_EQ(errno, EFAULT);
  char buf[8];
  EXPECT_EQ(recv(s.get(), buf, sizeof(buf), MSG_DONTWAIT), -1);  // udp_recvmsg freed it
  EXPECT_EQ(errno, EAGAIN);
}

TEST(Efault, NothingToCopyIsNoFault) {
  NoAccessPage bad;
  Fd u(Udp(SOCK_NONBLOCK));
  EXPECT_EQ(recv(u.get(), bad.get(), 16, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  Pair p;
  MakePair(&p);
  ASSERT_EQ(shutdown(p.client.get(), SHUT_WR), 0);
  ASSERT_NE(PollOnce(p.server.get(), POLLRDHUP, 3000) & POLLRDHUP, 0);
  EXPECT_EQ(recv(p.server.get(), bad.get(), 16, 0), 0);  // end of stream: nothing copied
}

TEST(Efault, SendFromABadBuffer) {
  NoAccessPage bad;
  Fd u(Udp());
  const sockaddr_in peer = Peer(kEcho);
  ASSERT_EQ(connect(u.get(), reinterpret_cast<const sockaddr*>(&peer), sizeof(peer)), 0);
  EXPECT_EQ(send(u.get(), bad.get(), 8, 0), -1);
  EXPECT_EQ(errno, EFAULT);
  Pair p;
  MakePair(&p);
  EXPECT_EQ(write(p.client.get(), bad.get(), 8), -1);
  EXPECT_EQ(errno, EFAULT);
  iovec iov[2] = {{const_cast<char*>("ok"), 2}, {bad.get(), 8}};
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  EXPECT_EQ(sendmsg(u.get(), &m, 0), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST(Efault, NamesOptionsAndAddresses) {
  NoAccessPage bad;
  Fd u(Udp());
  auto* bad_addr = reinterpret_cast<sockaddr*>(bad.get());
  auto* bad_len = reinterpret_cast<socklen_t*>(bad.get());
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  EXPECT_EQ(getsockname(u.get(), bad_addr, &len), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(getsockname(u.get(), reinterpret_cast<sockaddr*>(&a), bad_len), -1);
  EXPECT_EQ(errno, EFAULT);
  int v = 0;
  len = sizeof(v);
  EXPECT_EQ(getsockopt(u.get(), SOL_SOCKET, SO_TYPE, bad.get(), &len), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(getsockopt(u.get(), SOL_SOCKET, SO_TYPE, &v, bad_len), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(setsockopt(u.get(), SOL_SOCKET, SO_RCVBUF, bad.get(), sizeof(int)), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(bind(u.get(), bad_addr, sizeof(sockaddr_in)), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(connect(u.get(), bad_addr, sizeof(sockaddr_in)), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(sendto(u.get(), "x", 1, 0, bad_addr, sizeof(sockaddr_in)), -1);
  EXPECT_EQ(errno, EFAULT);
}

// ---- writing after the peer closed ----

// Waits up to `ms` until poll shows `bit` (which poll reports whether asked or not, as
// POLLERR), polling again while other bits keep it returning at once.
bool WaitForBit(int fd, short bit, int ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if ((PollOnce(fd, POLLIN, 10) & bit) != 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// SIGPIPE ignored for the test's duration.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction sa{};
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old_);
  }
  ~IgnoreSigpipe() { sigaction(SIGPIPE, &old_, nullptr); }

 private:
  struct sigaction old_{};
};

TEST(PeerClosed, WriteAfterThePeerClosedIsEPIPE) {
  IgnoreSigpipe ignore;
  Pair p;
  MakePair(&p);
  close(p.server.release());  // FIN; the next segment from us is answered with a reset
  ASSERT_NE(PollOnce(p.client.get(), POLLRDHUP, 3000) & POLLRDHUP, 0);
  ASSERT_EQ(write(p.client.get(), "x", 1), 1);
  // The reset arrives: tcp_reset in CLOSE_WAIT sets EPIPE.
  ASSERT_TRUE(WaitForBit(p.client.get(), POLLERR, 3000));
  EXPECT_EQ(write(p.client.get(), "y", 1), -1);
  EXPECT_EQ(errno, EPIPE);
  EXPECT_EQ(write(p.client.get(), "z", 1), -1);
  EXPECT_EQ(errno, EPIPE);
}

TEST(PeerClosed, WriteAfterTheRemotePeerClosedIsEPIPE) {
  IgnoreSigpipe ignore;
  constexpr uint16_t kDaytime = 13;  // the peer sends the time and closes
  Fd s(ConnectTo(Peer(kDaytime)));
  ASSERT_GE(s.get(), 0);
  ASSERT_NE(PollOnce(s.get(), POLLRDHUP, 3000) & POLLRDHUP, 0);
  ASSERT_EQ(write(s.get(), "x", 1), 1);  // answered with a reset
  ASSERT_TRUE(WaitForBit(s.get(), POLLERR, 3000));
  EXPECT_EQ(write(s.get(), "y", 1), -1);
  EXPECT_EQ(errno, EPIPE);
  char big[65536] = {};
  EXPECT_EQ(write(s.get(), big, sizeof(big)), -1);  // a blocking write of many bytes too
  EXPECT_EQ(errno, EPIPE);
}

TEST(PeerClosed, WriteAfterAResetIsECONNRESETThenEPIPE) {
  IgnoreSigpipe ignore;
  Pair p;
  MakePair(&p);
  linger lg{1, 0};
  ASSERT_EQ(setsockopt(p.server.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
  close(p.server.release());  // reset
  ASSERT_TRUE(WaitForBit(p.client.get(), POLLERR, 3000));
  EXPECT_EQ(write(p.client.get(), "x", 1), -1);
  EXPECT_EQ(errno, ECONNRESET);
  EXPECT_EQ(write(p.client.get(), "x", 1), -1);
  EXPECT_EQ(errno, EPIPE);
}

// ---- close() racing a blocked call ----

struct BlockedRecv {
  int fd;
  ssize_t result = 0;
  int error = 0;
  std::chrono::milliseconds took{0};
  char data[8] = {};
};

void* RecvOnce(void* arg) {
  auto* b = static_cast<BlockedRecv*>(arg);
  const auto t0 = std::chrono::steady_clock::now();
  b->result = recv(b->fd, b->data, sizeof(b->data), 0);
  b->error = errno;
  b->took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return nullptr;
}

// Joins `t` within `seconds`; else cancels it (a receive is a cancellation point), joins
// and says so, so that a call that never returns fails the test instead of hanging it.
bool JoinWithin(pthread_t t, int seconds) {
  timespec deadline{};
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += seconds;
  if (pthread_timedjoin_np(t, nullptr, &deadline) == 0) return true;
  pthread_cancel(t);
  pthread_join(t, nullptr);
  return false;
}

TEST(CloseRace, BlockedReceiveRunsOnToItsTimeout) {
  const int fd = Udp();
  timeval tv{0, 400000};
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  BlockedRecv b{fd};
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, RecvOnce, &b), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(close(fd), 0);
  ASSERT_TRUE(JoinWithin(t, 5)) << "the receive never returned";
  EXPECT_EQ(b.result, -1);
  EXPECT_EQ(b.error, EAGAIN);
  EXPECT_GE(b.took.count(), 300);
}

TEST(CloseRace, BlockedReceiveStillGetsADatagram) {
  const int fd = Udp();
  sockaddr_in a = Addr(LocalIp(), 0);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  timeval tv{3, 0};
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  BlockedRecv b{fd};
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, RecvOnce, &b), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(close(fd), 0);
  // The socket lives while the call holds it: still bound, it receives.
  Fd c(Udp());
  ASSERT_EQ(sendto(c.get(), "late", 4, 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 4);
  ASSERT_TRUE(JoinWithin(t, 5)) << "the receive never returned";
  EXPECT_EQ(b.result, 4);
  EXPECT_STREQ(b.data, "late");
}

// ---- MSG_TRUNC on a stream ----

TEST(TcpRecv, MsgTruncDiscardsWithoutCopying) {
  Pair p;
  MakePair(&p);
  ASSERT_EQ(send(p.client.get(), "abcdef", 6, 0), 6);
  ASSERT_EQ(PollOnce(p.server.get(), POLLIN, 3000), POLLIN);
  char buf[8] = {'-', '-', '-', 0};
  EXPECT_EQ(recv(p.server.get(), buf, 2, MSG_TRUNC), 2);
  EXPECT_STREQ(buf, "---");  // nothing copied
  EXPECT_EQ(recv(p.server.get(), nullptr, 1, MSG_TRUNC), 1);  // no buffer needed
  ASSERT_EQ(recv(p.server.get(), buf, 3, 0), 3);
  EXPECT_EQ(std::string(buf, 3), "def");
}

// ---- connect to port 0 and to the wildcard address ----

TEST(UdpConnect, PortZeroIsAccepted) {
  Fd u(Udp());
  const sockaddr_in zero = Peer(0);
  ASSERT_EQ(connect(u.get(), reinterpret_cast<const sockaddr*>(&zero), sizeof(zero)), 0)
      << strerror(errno);
  // The local end is chosen as for any connect; the peer has no port, so inet_getname
  // says ENOTCONN.
  sockaddr_in me{}, peer{};
  socklen_t len = sizeof(me);
  ASSERT_EQ(getsockname(u.get(), reinterpret_cast<sockaddr*>(&me), &len), 0);
  EXPECT_EQ(Ip(me), LocalIp());
  EXPECT_NE(me.sin_port, 0);
  len = sizeof(peer);
  EXPECT_EQ(getpeername(u.get(), reinterpret_cast<sockaddr*>(&peer), &len), -1);
  EXPECT_EQ(errno, ENOTCONN);
  // sendto with port 0 is refused (udp_sendmsg), while the connected peer's port 0 is not.
  EXPECT_EQ(sendto(u.get(), "z", 1, 0, reinterpret_cast<const sockaddr*>(&zero), sizeof(zero)), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(send(u.get(), "z", 1, 0), 1) << strerror(errno);
}

TEST(UdpConnect, WildcardAddressIsLoopback) {
  Fd server(Udp());
  sockaddr_in lo = Addr("127.0.0.1", 0);
  ASSERT_EQ(bind(server.get(), reinterpret_cast<sockaddr*>(&lo), sizeof(lo)), 0);
  socklen_t len = sizeof(lo);
  ASSERT_EQ(getsockname(server.get(), reinterpret_cast<sockaddr*>(&lo), &len), 0);
  Fd u(Udp());
  sockaddr_in any = Addr("0.0.0.0", ntohs(lo.sin_port));
  ASSERT_EQ(connect(u.get(), reinterpret_cast<sockaddr*>(&any), sizeof(any)), 0) << strerror(errno);
  sockaddr_in peer{}, me{};
  len = sizeof(peer);
  ASSERT_EQ(getpeername(u.get(), reinterpret_cast<sockaddr*>(&peer), &len), 0);
  EXPECT_EQ(Ip(peer), "127.0.0.1");
  EXPECT_EQ(peer.sin_port, lo.sin_port);
  len = sizeof(me);
  ASSERT_EQ(getsockname(u.get(), reinterpret_cast<sockaddr*>(&me), &len), 0);
  EXPECT_EQ(Ip(me), "127.0.0.1");
  ASSERT_EQ(send(u.get(), "any", 3, 0), 3);
  char buf[4] = {};
  EXPECT_EQ(recv(server.get(), buf, sizeof(buf), 0), 3);
}

TEST(TcpConnect, WildcardAddressIsLoopback) {
  Fd l(Tcp());
  sockaddr_in lo = Addr("127.0.0.1", 0);
  ASSERT_EQ(bind(l.get(), reinterpret_cast<sockaddr*>(&lo), sizeof(lo)), 0);
  ASSERT_EQ(listen(l.get(), 4), 0);
  socklen_t len = sizeof(lo);
  ASSERT_EQ(getsockname(l.get(), reinterpret_cast<sockaddr*>(&lo), &len), 0);
  Fd c(ConnectTo(Addr("0.0.0.0", ntohs(lo.sin_port))));
  ASSERT_GE(c.get(), 0) << strerror(errno);
  sockaddr_in peer{};
  len = sizeof(peer);
  ASSERT_EQ(getpeername(c.get(), reinterpret_cast<sockaddr*>(&peer), &len), 0);
  EXPECT_EQ(Ip(peer), "127.0.0.1");
}

// ---- RLIMIT_NOFILE, not the stack, limits how many sockets a process has ----

TEST(FdLimit, SocketsUpToRlimitNofile) {
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  rlimit raised = old;
  raised.rlim_cur = std::min<rlim_t>(old.rlim_max, 6000);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &raised), 0);
  std::vector<int> fds;
  int err = 0;
  for (int i = 0; i < 7000; ++i) {
    const int fd = socket(AF_INET, (i % 2 == 0 ? SOCK_DGRAM : SOCK_STREAM), 0);
    if (fd < 0) {
      err = errno;
      break;
    }
    fds.push_back(fd);
  }
  const int highest = fds.empty() ? -1 : fds.back();
  for (int fd : fds) close(fd);
  setrlimit(RLIMIT_NOFILE, &old);
  EXPECT_EQ(err, EMFILE);
  // Every number below the limit was used but for a few the process had open already.
  EXPECT_GE(static_cast<rlim_t>(fds.size()) + 64, raised.rlim_cur) << "highest fd " << highest;
}

}  // namespace
