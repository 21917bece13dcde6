// Runs under LD_PRELOAD=libpytcp.so with no usable stack (PYTCP_IFACE names a device that
// does not exist, or a PYTCP_* variable is bad): everything that is not an INET socket must
// work exactly as without the shim, and an INET socket must fail cleanly, with one line on
// stderr and the errno of shim/runtime.h (EXPECT_SOCKET_ERRNO: ENETDOWN or EINVAL).
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "tests/shim/blocked_call.h"

namespace {

int ExpectedErrno() {
  const char* v = std::getenv("EXPECT_SOCKET_ERRNO");
  const std::string s = v != nullptr ? v : "ENETDOWN";
  if (s == "EINVAL") return EINVAL;
  if (s == "EACCES") return EACCES;
  return ENETDOWN;
}

// Everything written on stderr while `body` runs.
template <typename F>
std::string CaptureStderr(F&& body) {
  int p[2];
  if (pipe2(p, O_NONBLOCK) != 0) return "pipe failed";
  const int saved = dup(2);
  dup2(p[1], 2);
  body();
  dup2(saved, 2);
  close(saved);
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  return out;
}

TEST(Passthrough, InetSocketFailsWithOneLine) {
  int fd1 = 0, err1 = 0, fd2 = 0, err2 = 0;
  const std::string first = CaptureStderr([&] {
    fd1 = socket(AF_INET, SOCK_DGRAM, 0);
    err1 = errno;
  });
  const std::string second = CaptureStderr([&] {
    fd2 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDP);
    err2 = errno;
  });
  EXPECT_EQ(fd1, -1);
  EXPECT_EQ(err1, ExpectedErrno());
  EXPECT_EQ(fd2, -1);
  EXPECT_EQ(err2, ExpectedErrno());
  // Exactly one line, saying who speaks and which errno follows.
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first.rfind("pytcp: ", 0), 0u) << first;
  EXPECT_EQ(first.find('\n'), first.size() - 1) << first;
  EXPECT_NE(first.find(ExpectedErrno() == EINVAL ? "EINVAL" : "ENETDOWN"), std::string::npos)
      << first;
  EXPECT_EQ(second, "");
}

TEST(Passthrough, UnixSocketsPipesAndFiles) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_EQ(write(sv[0], "abc", 3), 3);
  char buf[8];
  ASSERT_EQ(read(sv[1], buf, sizeof(buf)), 3);
  iovec iov[2] = {{const_cast<char*>("de"), 2}, {const_cast<char*>("f"), 1}};
  ASSERT_EQ(writev(sv[1], iov, 2), 3);
  ASSERT_EQ(recv(sv[0], buf, sizeof(buf), 0), 3);
  EXPECT_EQ(std::string(buf, 3), "def");
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pollfd pf[2] = {{p[0], POLLIN, 0}, {sv[0], POLLIN, 0}};
  EXPECT_EQ(poll(pf, 2, 0), 0);
  ASSERT_EQ(write(p[1], "x", 1), 1);
  EXPECT_EQ(poll(pf, 2, 100), 1);
  fd_set r;
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  timeval tv{0, 0};
  EXPECT_EQ(select(p[0] + 1, &r, nullptr, nullptr, &tv), 1);
  const int ep = epoll_create1(0);
  ASSERT_GE(ep, 0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = 9;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
  epoll_event got{};
  ASSERT_EQ(epoll_wait(ep, &got, 1, 100), 1);
  EXPECT_EQ(got.data.u32, 9u);
  const int d = dup(ep);
  EXPECT_EQ(epoll_wait(d, &got, 1, 0), 1);
  EXPECT_EQ(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
  EXPECT_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  for (int fd : {sv[0], sv[1], p[0], p[1], ep, d}) EXPECT_EQ(close(fd), 0);
  EXPECT_EQ(close(p[0]), -1);
  EXPECT_EQ(errno, EBADF);
  const int f = open("/proc/self/status", O_RDONLY);
  ASSERT_GE(f, 0);
  EXPECT_GT(read(f, buf, sizeof(buf)), 0);
  EXPECT_EQ(close(f), 0);
}

TEST(Passthrough, OtherFamiliesGoToTheKernel) {
  const int u = socket(AF_UNIX, SOCK_DGRAM, 0);
  EXPECT_GE(u, 0);
  close(u);
  const int six = socket(AF_INET6, SOCK_DGRAM, 0);  // IPv6 is the kernel's until the stack has it
  if (six >= 0) close(six);
  const int nl = socket(AF_NETLINK, SOCK_RAW, 0);
  EXPECT_GE(nl, 0);
  close(nl);
}

using blocked_call::Block;
using blocked_call::CancelBlocked;

// pthread_cancel of a thread blocked in a cancellation point on a kernel fd: glibc unwinds
// the thread (abi::__forced_unwind) through the interposed call, which must let it pass
// (issue 19: "FATAL: exception not rethrown" before).
TEST(Passthrough, PthreadCancelPassesThroughKernelCalls) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  for (Block how : {Block::kPipeRead, Block::kPoll, Block::kSelect, Block::kEpollWait}) {
    EXPECT_EQ(CancelBlocked(how, p[0], std::chrono::milliseconds(20)), PTHREAD_CANCELED)
        << static_cast<int>(how);
  }
  EXPECT_EQ(CancelBlocked(Block::kRecv, sv[0], std::chrono::milliseconds(20)), PTHREAD_CANCELED);
  // Cancelled at once, before or while it blocks: every moment of the call is safe.
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(CancelBlocked(Block::kPipeRead, p[0], std::chrono::microseconds(i % 50)),
              PTHREAD_CANCELED);
  }
  // The pipe is intact.
  ASSERT_EQ(write(p[1], "z", 1), 1);
  char c = 0;
  EXPECT_EQ(read(p[0], &c, 1), 1);
  EXPECT_EQ(c, 'z');
  for (int fd : {p[0], p[1], sv[0], sv[1]}) close(fd);
}

}  // namespace
