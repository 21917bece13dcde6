// pthread_cancel of threads blocked in socket calls (issue 19 item 3), run in the lab by
// cancel_lab_test.sh natively (the kernel) and under LD_PRELOAD=libpytcp.so (the stack):
// a thread blocked in recv, accept, poll, select, epoll_wait or a pipe read is cancelled
// and joins with PTHREAD_CANCELED; afterwards the socket it was blocked on still works (or
// closes cleanly) and new connections work, so the wait left no mark behind (a stale "I
// drive the link" mark would leave the stack deaf; a stale waiter would be written to
// after its thread is gone). Then threads are created and cancelled in a loop for
// CANCEL_LOOP_SECONDS (default 10) without a crash, a hang or a leaked fd.
//
// Environment: CANCEL_PEER  the lab peer (echo :7 and discard :9 over TCP), 10.77.0.1.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "tests/shim/blocked_call.h"

namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

sockaddr_in Addr(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

sockaddr_in Peer(uint16_t port) {
  const char* v = std::getenv("CANCEL_PEER");
  return Addr(v != nullptr ? v : "10.77.0.1", port);
}

int Connect(uint16_t port) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  const sockaddr_in a = Peer(port);
  if (connect(s, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
    close(s);
    return -1;
  }
  return s;
}

// One round trip through the peer's echo service on a new connection.
bool EchoWorks() {
  const int s = Connect(7);
  if (s < 0) return false;
  timeval tv{5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  bool ok = send(s, "ping", 4, 0) == 4;
  char buf[4];
  size_t got = 0;
  while (ok && got < 4) {
    const ssize_t n = recv(s, buf + got, 4 - got, 0);
    if (n <= 0) ok = false;
    else got += static_cast<size_t>(n);
  }
  ok = ok && std::memcmp(buf, "ping", 4) == 0;
  return close(s) == 0 && ok;
}

int OpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory's own fd
}

using blocked_call::Block;
using blocked_call::CancelBlocked;
using blocked_call::Name;

class CancelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    quiet_ = Connect(9);  // discard: the peer never sends
    ASSERT_GE(quiet_, 0) << strerror(errno);
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(listener_, 0);
    const int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const sockaddr_in any = Addr("0.0.0.0", 7788);
    ASSERT_EQ(bind(listener_, reinterpret_cast<const sockaddr*>(&any), sizeof(any)), 0)
        << strerror(errno);
    ASSERT_EQ(listen(listener_, 4), 0);
    ASSERT_EQ(pipe(pipe_), 0);
  }
  void TearDown() override {
    for (int fd : {quiet_, listener_, pipe_[0], pipe_[1]}) {
      if (fd >= 0) close(fd);
    }
  }
  int FdFor(Block how) const {
    switch (how) {
      case Block::kAccept: return listener_;
      case Block::kPipeRead: return pipe_[0];
      default: return quiet_;
    }
  }
  // What is blocked on must still work.
  void ExpectUsable(Block how) {
    switch (how) {
      case Block::kAccept: {
        // Not readable, and a non-blocking accept says EAGAIN (it closes cleanly, and
        // the port is free again, at the end of the test).
        pollfd pf{listener_, POLLIN, 0};
        EXPECT_EQ(poll(&pf, 1, 0), 0);
        const int flags = fcntl(listener_, F_GETFL);
        fcntl(listener_, F_SETFL, flags | O_NONBLOCK);
        EXPECT_EQ(accept(listener_, nullptr, nullptr), -1);
        EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << strerror(errno);
        fcntl(listener_, F_SETFL, flags);
        break;
      }
      case Block::kPipeRead: {
        char c = 0;
        ASSERT_EQ(write(pipe_[1], "p", 1), 1);
        EXPECT_EQ(read(pipe_[0], &c, 1), 1);
        EXPECT_EQ(c, 'p');
        break;
      }
      default: {
        pollfd pf{quiet_, POLLOUT, 0};
        EXPECT_EQ(poll(&pf, 1, 1000), 1);
        EXPECT_EQ(send(quiet_, "still here", 10, 0), 10) << strerror(errno);
        break;
      }
    }
  }

  int quiet_ = -1;
  int listener_ = -1;
  int pipe_[2] = {-1, -1};
};

TEST_F(CancelTest, EachBlockingCallJoinsCancelledAndLeavesTheSocketUsable) {
  for (int i = 0; i < static_cast<int>(Block::kCount); ++i) {
    const Block how = static_cast<Block>(i);
    SCOPED_TRACE(Name(how));
    EXPECT_EQ(CancelBlocked(how, FdFor(how), milliseconds(50)), PTHREAD_CANCELED);
    ExpectUsable(how);
    EXPECT_TRUE(EchoWorks()) << "a new connection after cancelling " << Name(how);
  }
  // The sockets that were blocked on close cleanly, and the listener's port is free again.
  EXPECT_EQ(close(quiet_), 0);
  quiet_ = -1;
  EXPECT_EQ(close(listener_), 0);
  listener_ = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const sockaddr_in any = Addr("0.0.0.0", 7788);
  EXPECT_EQ(bind(listener_, reinterpret_cast<const sockaddr*>(&any), sizeof(any)), 0)
      << strerror(errno);
}

TEST_F(CancelTest, CancelInALoopLeaksNothing) {
  const char* v = std::getenv("CANCEL_LOOP_SECONDS");
  const int seconds = v != nullptr ? std::atoi(v) : 10;
  // Warm up what a process keeps for good once used (the stack's own fds, a thread's
  // first wait), then count.
  ASSERT_EQ(CancelBlocked(Block::kRecv, quiet_, milliseconds(5)), PTHREAD_CANCELED);
  ASSERT_EQ(CancelBlocked(Block::kPoll, quiet_, milliseconds(5)), PTHREAD_CANCELED);
  const int fds_before = OpenFds();
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  int rounds = 0;
  while (Clock::now() < end) {
    const Block how = static_cast<Block>(rounds % static_cast<int>(Block::kCount));
    // From "at once" (cancelled before or while the call starts) to well inside the wait.
    const microseconds delay((rounds * 37) % 3000);
    void* r = CancelBlocked(how, FdFor(how), delay);
    ASSERT_EQ(r, PTHREAD_CANCELED) << Name(how) << " round " << rounds;
    ++rounds;
  }
  EXPECT_EQ(OpenFds(), fds_before) << "after " << rounds << " cancelled threads";
  EXPECT_GT(rounds, 100);
  for (int i = 0; i < static_cast<int>(Block::kCount); ++i) ExpectUsable(static_cast<Block>(i));
  EXPECT_TRUE(EchoWorks());
  printf("cancelled %d blocked threads in %d s\n", rounds, seconds);
}

}  // namespace
