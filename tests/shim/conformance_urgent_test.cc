// Conformance (issue 16 item 16): urgent data as Linux's TCP has it. send(MSG_OOB) makes
// the last byte urgent; the receiver gets POLLPRI (poll, select's exceptfds, EPOLLPRI), the
// byte is out of the stream and read once with recv(MSG_OOB) unless SO_OOBINLINE, a read
// stops at the mark, SIOCATMARK says when the mark is next, and the F_SETOWN owner gets
// SIGURG. The errno values of tcp_recv_urg: EINVAL without urgent data (or when it was
// read, or with SO_OOBINLINE), ENOTCONN on a listener.
#include <fcntl.h>
#include <linux/sockios.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>

#include "tests/shim/conformance.h"

namespace {

using namespace conformance;  // NOLINT: the suite's own helpers

int AtMark(int fd) {
  int v = -1;
  return ioctl(fd, SIOCATMARK, &v) == 0 ? v : -errno;
}

// recv(MSG_OOB): the byte, or -errno.
int RecvOob(int fd, int flags = 0) {
  char c = 0;
  const ssize_t n = recv(fd, &c, 1, MSG_OOB | flags);
  if (n < 0) return -errno;
  return n == 1 ? static_cast<unsigned char>(c) : 1000 + static_cast<int>(n);
}

std::string RecvSome(int fd, size_t n = 64) {
  std::string s(n, '\0');
  const ssize_t r = recv(fd, s.data(), n, MSG_DONTWAIT);
  if (r < 0) return "errno " + std::to_string(errno);
  s.resize(static_cast<size_t>(r));
  return s;
}

// "ab", then the urgent "X", then "cd" from the client; returns once the server sees
// POLLPRI (the urgent byte is there, and what was sent before it).
void SendUrgent(Pair& p) {
  ASSERT_EQ(send(p.client.get(), "ab", 2, 0), 2);
  ASSERT_EQ(send(p.client.get(), "X", 1, MSG_OOB), 1);
  ASSERT_EQ(send(p.client.get(), "cd", 2, 0), 2);
  // SIGURG (TheOwnerGetsSigurg) may interrupt the wait: EINTR, then wait again.
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  pollfd pfd{p.server.get(), POLLPRI, 0};
  while (poll(&pfd, 1, 3000) != 1 && Clock::now() < deadline) {
  }
  ASSERT_NE(pfd.revents & POLLPRI, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // "cd" too
}

TEST(Urgent, TheByteIsOutOfTheStreamAndReadOnceWithMsgOob) {
  Pair p;
  MakePair(&p);
  EXPECT_EQ(RecvOob(p.server.get()), -EINVAL);  // nothing urgent yet
  EXPECT_EQ(AtMark(p.server.get()), 0);
  SendUrgent(p);
  EXPECT_EQ(AtMark(p.server.get()), 0);
  EXPECT_EQ(RecvSome(p.server.get()), "ab");  // a read stops at the mark
  EXPECT_EQ(AtMark(p.server.get()), 1);
  EXPECT_EQ(RecvOob(p.server.get(), MSG_PEEK), 'X');
  EXPECT_EQ(RecvOob(p.server.get()), 'X');
  EXPECT_EQ(RecvOob(p.server.get()), -EINVAL);  // read already
  EXPECT_EQ(PollOnce(p.server.get(), POLLPRI, 0) & POLLPRI, 0);
  ASSERT_NE(PollOnce(p.server.get(), POLLIN, 3000) & POLLIN, 0);
  std::string rest;
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  while (rest.size() < 2 && Clock::now() < deadline) {
    const std::string s = RecvSome(p.server.get());
    if (s.rfind("errno", 0) != 0) rest += s;
  }
  EXPECT_EQ(rest, "cd");  // the 'X' is not in the stream
  EXPECT_EQ(AtMark(p.server.get()), 0);
}

TEST(Urgent, ReadingPastTheMarkWithoutMsgOobLosesTheByte) {
  Pair p;
  MakePair(&p);
  SendUrgent(p);
  EXPECT_EQ(RecvSome(p.server.get()), "ab");
  EXPECT_EQ(RecvSome(p.server.get()), "cd");
  EXPECT_EQ(RecvOob(p.server.get()), -EINVAL);
}

TEST(Urgent, WithOobInlineTheByteStaysInTheStream) {
  Pair p;
  MakePair(&p);
  int one = 1;
  ASSERT_EQ(setsockopt(p.server.get(), SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one)), 0);
  int v = 0;
  socklen_t len = sizeof(v);
  ASSERT_EQ(getsockopt(p.server.get(), SOL_SOCKET, SO_OOBINLINE, &v, &len), 0);
  EXPECT_EQ(v, 1);
  SendUrgent(p);  // POLLPRI as without SO_OOBINLINE
  EXPECT_EQ(RecvOob(p.server.get()), -EINVAL);
  EXPECT_EQ(RecvSome(p.server.get()), "ab");
  EXPECT_EQ(AtMark(p.server.get()), 1);
  EXPECT_EQ(RecvSome(p.server.get()), "Xcd");
}

TEST(Urgent, SelectAndEpollReportTheUrgentByte) {
  Pair p;
  MakePair(&p);
  SendUrgent(p);
  fd_set ex;
  FD_ZERO(&ex);
  FD_SET(p.server.get(), &ex);
  timeval tv{0, 0};
  EXPECT_EQ(select(p.server.get() + 1, nullptr, nullptr, &ex, &tv), 1);
  EXPECT_TRUE(FD_ISSET(p.server.get(), &ex));
  Fd ep(epoll_create1(0));
  epoll_event ev{};
  ev.events = EPOLLPRI;
  ev.data.fd = p.server.get();
  ASSERT_EQ(epoll_ctl(ep.get(), EPOLL_CTL_ADD, p.server.get(), &ev), 0);
  epoll_event out{};
  ASSERT_EQ(epoll_wait(ep.get(), &out, 1, 1000), 1);
  EXPECT_NE(out.events & EPOLLPRI, 0u);
  EXPECT_EQ(RecvSome(p.server.get()), "ab");
  EXPECT_EQ(RecvOob(p.server.get()), 'X');
  EXPECT_EQ(epoll_wait(ep.get(), &out, 1, 0), 0);  // no longer
}

std::atomic<int> g_sigurg{0};
void OnSigurg(int) { g_sigurg.fetch_add(1); }

TEST(Urgent, TheOwnerGetsSigurg) {
  struct sigaction sa {};
  sa.sa_handler = OnSigurg;
  sigemptyset(&sa.sa_mask);
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGURG, &sa, &old), 0);
  Pair p;
  MakePair(&p);
  EXPECT_EQ(fcntl(p.server.get(), F_GETOWN), 0);
  ASSERT_EQ(fcntl(p.server.get(), F_SETOWN, getpid()), 0);
  EXPECT_EQ(fcntl(p.server.get(), F_GETOWN), getpid());
  g_sigurg = 0;
  SendUrgent(p);
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  while (g_sigurg.load() == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(g_sigurg.load(), 1);
  EXPECT_EQ(RecvSome(p.server.get()), "ab");
  EXPECT_EQ(RecvOob(p.server.get()), 'X');
  sigaction(SIGURG, &old, nullptr);
}

TEST(Urgent, ErrorsWithoutAConnection) {
  Fd fresh(Tcp());
  EXPECT_EQ(RecvOob(fresh.get()), -EINVAL);
  EXPECT_EQ(AtMark(fresh.get()), 0);
  EXPECT_EQ(send(fresh.get(), "x", 1, MSG_OOB | MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EPIPE);
  sockaddr_in at{};
  Fd l(Listener(&at));
  ASSERT_GE(l.get(), 0);
  EXPECT_EQ(RecvOob(l.get()), -ENOTCONN);
  EXPECT_EQ(AtMark(l.get()), 0);
  Fd u(Udp());
  EXPECT_EQ(AtMark(u.get()), -ENOTTY);  // udp_ioctl has none
}

}  // namespace
