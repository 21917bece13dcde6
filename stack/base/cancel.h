// Deferred thread cancellation (pthreads(7), pthread_cancel(3)) for code that must not be
// unwound half-way. glibc acts on a cancellation request at a cancellation point by
// unwinding the thread (abi::__forced_unwind): every destructor on the way runs, but a
// stack operation interrupted between two of its steps (a write to the link or to a
// waiter's eventfd, both cancellation points) would leave the protocol state half-updated.
// So a blocking socket call is cancelled as a Linux system call is: only while it sleeps.
//
//   CancelGuard   around a whole call: cancellation disabled; remembers whether the caller
//                 had it enabled.
//   CancelWindow  around the blocking wait inside it: the caller's cancelability is back
//                 while the thread sleeps, so pthread_cancel unwinds from the wait, and
//                 every "I am waiting" mark on the way out must be RAII.
//
// Outside a CancelGuard a CancelWindow does nothing (the library used directly, or the
// stack's own thread): the thread's own state applies everywhere.
#pragma once

namespace pytcp {

class CancelGuard {
 public:
  enum Windows { kWindowsFollowCaller, kNoWindows };
  // kNoWindows: no wait inside is a cancellation point (close(2) with SO_LINGER: the
  // socket must be closed whatever happens).
  explicit CancelGuard(Windows w = kWindowsFollowCaller);
  ~CancelGuard();
  CancelGuard(const CancelGuard&) = delete;
  CancelGuard& operator=(const CancelGuard&) = delete;

 private:
  int old_state_;
  bool saved_window_;
};

class CancelWindow {
 public:
  CancelWindow();
  ~CancelWindow();
  CancelWindow(const CancelWindow&) = delete;
  CancelWindow& operator=(const CancelWindow&) = delete;

 private:
  bool opened_ = false;
};

}  // namespace pytcp
