// What every interposed function shares: how it is exported, how it reports an error, and
// the guarantee that no C++ exception ever leaves it (the caller is C; an exception would
// terminate the program) -- except glibc's forced unwind (abi::__forced_unwind), which is
// how pthread_cancel and pthread_exit end a thread at a cancellation point and which must
// pass through. So the interposed functions that glibc declares as cancellation points
// (without __THROW) are not noexcept, nor are Guarded and OnSocket; those glibc declares
// __THROW stay noexcept, and never reach a cancellation point with cancellation enabled
// (Guarded disables it). Each interposed function first asks the fd table whether the fd
// is ours and, if not, calls libc at once (libc.h).
#pragma once

#include <pthread.h>

#include <cxxabi.h>

#include <cerrno>
#include <exception>
#include <memory>
#include <new>

#include "shim/daemon_channel.h"
#include "shim/fd_table.h"
#include "shim/remote_socket.h"
#include "shim/runtime.h"
#include "shim/shim_socket.h"
#include "stack/base/cancel.h"

#define PYTCP_EXPORT extern "C" __attribute__((visibility("default")))

namespace pytcp::shim {

// Runs `body`, the part of a call that works on the stack; an exception that escapes it
// becomes errno (ENOMEM for bad_alloc, EIO otherwise) and the return value `failed`.
// Cancellation is deferred to the waits inside (stack/base/cancel.h: a blocking call is
// cancelled only while it sleeps, as a system call is), and the forced unwind of a
// cancellation is rethrown: glibc aborts the process ("FATAL: exception not rethrown")
// when a catch swallows it.
template <typename R, typename F>
R Guarded(R failed, F&& body) {
  CancelGuard no_cancel;
  try {
    return body();
  } catch (abi::__forced_unwind&) {
    throw;
  } catch (const std::bad_alloc&) {
    errno = ENOMEM;
  } catch (...) {
    errno = EIO;
  }
  return failed;
}

// errno = e; returns -1 (in the caller's return type).
template <typename R = int>
R Fail(int e) {
  errno = e;
  return static_cast<R>(-1);
}

// The stack socket named by `fd`, or nullptr. A socket inherited across fork() is
// reported (once) and returned as nullptr with *inherited set: the caller fails with EBADF.
std::shared_ptr<ShimSocket> SocketFor(int fd, bool* inherited);

// For OnSocket: the call is a cancellation point (pthreads(7)): a pending cancellation
// request is acted on when it starts, as glibc's wrapper does, even when it need not block.
inline constexpr bool kCancelPoint = true;

// OnSocket's path for an fd known to be a stack socket.
template <typename R, bool kIsCancelPoint, typename Kernel, typename Stack>
R OnStackSocket(int fd, Kernel&& kernel, Stack&& stack) {
  if constexpr (kIsCancelPoint) pthread_testcancel();
  return Guarded<R>(static_cast<R>(-1), [&]() -> R {
    // A call glibc declares __THROW (noexcept here: sendfile, shutdown...) must not be
    // cancelled even where it blocks.
    CancelGuard windows(kIsCancelPoint ? CancelGuard::kWindowsFollowCaller
                                       : CancelGuard::kNoWindows);
    bool inherited = false;
    std::shared_ptr<ShimSocket> s = SocketFor(fd, &inherited);
    if (s == nullptr) {
      if (inherited) return Fail<R>(EBADF);
      CancelWindow cancellable;  // closed meanwhile: libc's own call, cancellable as ever
      return kernel();
    }
    ShimSocket::CallScope in_call(*s);  // a close() meanwhile waits for this call to end
    return stack(*s);
  });
}

// The common shape of a call on one fd: `kernel()` when the fd is not a stack socket (the
// fast path: two atomic loads), else `stack(ShimSocket&)`, exceptions contained.
template <typename R, bool kIsCancelPoint = false, typename Kernel, typename Stack>
R OnSocket(int fd, Kernel&& kernel, Stack&& stack) {
  if (FdTable::Get().Kind(fd) != FdKind::kSocket) return kernel();
  return OnStackSocket<R, kIsCancelPoint>(fd, kernel, stack);
}

// The same with the shared stack's sockets (remote_socket.h) handled by `remote`; its
// blocking calls are the kernel's own on the socketpair, each in a CancelWindow (a wait
// for the daemon's answer, as connect's handshake, is not a cancellation point).
template <typename R, bool kIsCancelPoint = false, typename Kernel, typename Stack,
          typename Remote>
R OnSocket(int fd, Kernel&& kernel, Stack&& stack, Remote&& remote) {
  // One look at the fd's kind: the kernel's fds (every read and write of a file or pipe)
  // pay for it once.
  const FdKind kind = FdTable::Get().Kind(fd);
  if (kind == FdKind::kRemote) {
    if constexpr (kIsCancelPoint) pthread_testcancel();
    return Guarded<R>(static_cast<R>(-1), [&]() -> R {
      CancelGuard windows(kIsCancelPoint ? CancelGuard::kWindowsFollowCaller
                                         : CancelGuard::kNoWindows);  // see above
      auto s = FdTable::Get().LookupAs<RemoteSocket>(fd, FdKind::kRemote);
      if (s == nullptr) {
        CancelWindow cancellable;  // closed meanwhile: libc's own call
        return kernel();
      }
      return remote(*s);
    });
  }
  if (kind != FdKind::kSocket) return kernel();
  return OnStackSocket<R, kIsCancelPoint>(fd, kernel, stack);
}

// The same for the socket calls (bind, connect, listen, accept, names, options,
// shutdown): with the shared stack, an fd this program image does not know yet may be an
// inherited socket of the daemon's (ProbeRemote).
template <typename R, bool kIsCancelPoint = false, typename Kernel, typename Stack,
          typename Remote>
R OnSocketCall(int fd, Kernel&& kernel, Stack&& stack, Remote&& remote) {
  if (FdTable::Get().Kind(fd) == FdKind::kNone && SharedStack()) {
    Guarded(0, [&] {
      (void)ProbeRemote(fd);  // installs it in the table when it is the daemon's
      return 0;
    });
  }
  return OnSocket<R, kIsCancelPoint>(fd, kernel, stack, remote);
}

// After a blocking call on `s` failed with EINTR: whether Linux would have restarted it
// (signal(7), "Interruption of system calls"): socket calls are restarted after a handler
// installed with SA_RESTART unless the socket has a timeout for that direction
// (SO_RCVTIMEO for receiving and accept, SO_SNDTIMEO for sending and connect). Which
// signal interrupted the call is not known here, so the call is restarted when every
// signal that has a handler has SA_RESTART (glibc's signal() sets it), and EINTR is
// returned as soon as one handler lacks it.
bool ShouldRestart(ShimSocket& s, bool receive_side);

// errno from a failed SysResult; -1.
template <typename R = int, typename T>
R FailWith(const SysResult<T>& r) {
  return Fail<R>(r.error());
}

}  // namespace pytcp::shim
