// Test aid for pthread_cancel through the shim: a thread blocked in one cancellation point
// (recv, accept, poll, select, epoll_wait, read) on an fd, cancelled after a delay. Used by
// passthrough_test.cc (kernel fds under the shim without a stack) and cancel_test.cc
// (stack sockets, natively and under the shim).
#pragma once

#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <chrono>

namespace blocked_call {

enum class Block { kRecv, kAccept, kPoll, kSelect, kEpollWait, kPipeRead, kCount };

inline const char* Name(Block b) {
  switch (b) {
    case Block::kRecv: return "recv";
    case Block::kAccept: return "accept";
    case Block::kPoll: return "poll";
    case Block::kSelect: return "select";
    case Block::kEpollWait: return "epoll_wait";
    case Block::kPipeRead: return "pipe read";
    case Block::kCount: break;
  }
  return "?";
}

struct Args {
  Block how;
  int fd;
};

inline void CloseFd(void* p) { close(*static_cast<int*>(p)); }

inline void* BlockOn(void* p) {
  const auto* a = static_cast<Args*>(p);
  char c;
  switch (a->how) {
    case Block::kRecv:
      (void)recv(a->fd, &c, 1, 0);
      break;
    case Block::kAccept: {
      int s = accept(a->fd, nullptr, nullptr);
      if (s >= 0) close(s);
      break;
    }
    case Block::kPoll: {
      pollfd pf{a->fd, POLLIN, 0};
      (void)poll(&pf, 1, -1);
      break;
    }
    case Block::kSelect: {
      fd_set r;
      FD_ZERO(&r);
      FD_SET(a->fd, &r);
      (void)select(a->fd + 1, &r, nullptr, nullptr, nullptr);
      break;
    }
    case Block::kEpollWait: {
      int ep = epoll_create1(EPOLL_CLOEXEC);
      epoll_event ev{};
      ev.events = EPOLLIN;
      (void)epoll_ctl(ep, EPOLL_CTL_ADD, a->fd, &ev);
      // The epoll fd would leak on cancellation without this handler.
      pthread_cleanup_push(&CloseFd, &ep);
      (void)epoll_wait(ep, &ev, 1, -1);
      pthread_cleanup_pop(1);
      break;
    }
    case Block::kPipeRead:
      (void)read(a->fd, &c, 1);
      break;
    case Block::kCount:
      break;
  }
  return nullptr;
}

// A thread blocked as `how` on `fd`, cancelled after `delay`: what pthread_join says.
inline void* CancelBlocked(Block how, int fd, std::chrono::microseconds delay) {
  Args args{how, fd};
  pthread_t t;
  if (pthread_create(&t, nullptr, &BlockOn, &args) != 0) return nullptr;
  timespec ts{static_cast<time_t>(delay.count() / 1000000),
              static_cast<long>(delay.count() % 1000000 * 1000)};
  nanosleep(&ts, nullptr);
  pthread_cancel(t);
  void* result = nullptr;
  pthread_join(t, &result);
  return result;
}

}  // namespace blocked_call
