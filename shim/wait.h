// Helpers for calls that wait on several things at once (poll.cc, epoll.cc): a monotonic
// deadline, and a thread's wake-up eventfd with the waiter that rings it when a stack
// socket's readiness changes.
#pragma once

#include <poll.h>
#include <time.h>

#include <atomic>
#include <cstdint>

#include "shim/shim_socket.h"
#include "stack/stack.h"

namespace pytcp::shim {

class Deadline {
 public:
  static Deadline Infinite() { return Deadline(); }
  // poll(2)/epoll_wait(2) style: a negative timeout waits forever.
  static Deadline AfterMs(int ms);
  // ppoll(2)/pselect(2) style: nullptr waits forever.
  static Deadline After(const timespec* ts);

  bool infinite() const { return infinite_; }
  // Time left (zero once past); only for a finite deadline.
  timespec Remaining() const;
  // Milliseconds left, rounded up; -1 when infinite.
  int RemainingMs() const;

 private:
  Deadline() = default;
  bool infinite_ = true;
  int64_t at_ns_ = 0;  // CLOCK_MONOTONIC
};

// An fd of the shim's own (a wake-up eventfd), moved up to a high number (256 or more,
// within RLIMIT_NOFILE) so that it does not take the number a program has just closed and
// still expects to be free (or to be EBADF, for a stale fd in a select set).
int MoveHigh(int fd);
// Grows the process's fd table to hold MoveHigh's numbers. Called once at load, while the
// process has one thread: the kernel grows a table that threads share only after an RCU
// grace period (expand_fdtable's synchronize_rcu), which cost a program's first socket
// 10-20 ms when the stack's threads already ran.
void ReserveHighFds();

// The calling thread's wake-up eventfd (created on first use, closed at thread exit).
class ThreadWake {
 public:
  static ThreadWake& Get();
  int fd() const { return fd_; }
  // Makes fd() readable (once until Reset). Does nothing on the thread that owns it: that
  // thread only signals itself while it processes the link in its own wait (LinkLoan),
  // after which it reads the sockets' readiness again anyway.
  void Signal();
  // Drains fd() and re-arms Signal(). Call before re-reading the sockets' readiness, so a
  // change after that re-read rings again.
  void Reset();

  ThreadWake();
  ~ThreadWake();
  ThreadWake(const ThreadWake&) = delete;
  ThreadWake& operator=(const ThreadWake&) = delete;

 private:
  int fd_ = -1;
  std::atomic<bool> signaled_{false};
};

// Run-to-completion for poll, select and epoll_wait (DESIGN.md "Runtime model"): while
// the calling thread blocks, it also waits on the stack's link and processes the frames
// itself, so data for the program wakes the program's thread straight from the kernel
// instead of through the stack thread (one wake-up and two eventfd calls fewer per event,
// and no lock handed between two threads). Held only around the blocking call.
class LinkLoan {
 public:
  // Takes the link if `want`, the stack runs, and no other thread has the link.
  explicit LinkLoan(bool want);
  ~LinkLoan();
  LinkLoan(const LinkLoan&) = delete;
  LinkLoan& operator=(const LinkLoan&) = delete;

  // The link's fd to wait on for POLLIN, or -1 when not lent.
  int fd() const { return fd_; }
  // Processes the frames waiting on the link; returns how many.
  size_t Process();
  // PYTCP_BUSY_POLL: keeps reading the link for up to that long before the caller sleeps;
  // returns the frames processed (0: nothing came, or busy polling is off).
  size_t BusyPoll();

 private:
  Stack* stack_ = nullptr;
  int fd_ = -1;
};

// Rings a ThreadWake when a socket's readiness intersects `interest`.
class PollWaiter final : public ReadinessWaiter {
 public:
  PollWaiter(ThreadWake* wake, uint32_t interest) : wake_(wake), interest_(interest) {}
  void OnReadiness(ReadinessMask mask) override {
    if ((mask & interest_) != 0) wake_->Signal();
  }

 private:
  ThreadWake* wake_;
  uint32_t interest_;
};

}  // namespace pytcp::shim
