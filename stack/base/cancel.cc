#include "stack/base/cancel.h"

#include <pthread.h>

namespace pytcp {
namespace {

// Whether a CancelWindow opened now enables cancellation: the caller of the outermost
// CancelGuard had it enabled. Saved and restored by each guard, so it is false outside
// every guard. A siglongjmp out of a handler skips the restore; the next guard of the
// thread sets it again (see shim/README.md, "Signals and cancellation").
thread_local bool t_window_enables = false;

}  // namespace

CancelGuard::CancelGuard(Windows w) : saved_window_(t_window_enables) {
  // glibc 2.34+: no system call, an atomic update of the thread's cancelhandling word.
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_state_);
  if (w == kNoWindows) {
    t_window_enables = false;
  } else if (old_state_ == PTHREAD_CANCEL_ENABLE) {
    t_window_enables = true;
  }
  // else: nested in another guard (or the program disabled cancellation itself, and then
  // the value is already false): unchanged.
}

CancelGuard::~CancelGuard() {
  t_window_enables = saved_window_;
  pthread_setcancelstate(old_state_, nullptr);
}

CancelWindow::CancelWindow() {
  if (!t_window_enables) return;
  pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, nullptr);
  opened_ = true;
}

CancelWindow::~CancelWindow() {
  // Also on the way out of a cancellation: glibc marks the thread EXITING before it
  // unwinds, so nothing acts on the request a second time.
  if (opened_) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
}

}  // namespace pytcp
