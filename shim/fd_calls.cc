// The fd calls: close, close_range, closefrom, dup, dup2, dup3, fcntl/fcntl64 (O_NONBLOCK,
// FD_CLOEXEC, F_DUPFD, F_DUPFD_CLOEXEC, F_SETOWN for SIGURG) and ioctl (FIONBIO,
// FIONREAD/SIOCINQ, SIOCATMARK, TIOCOUTQ/SIOCOUTQ, FIOCLEX, FIONCLEX, SIOCGIF* for the
// stack's interface, SIOCSARP, SIOCGARP, SIOCDARP for its ARP cache).
//
// The table entry goes first and the kernel fd after: while the number is still open in
// the kernel nobody else can be given it, so the table never names a stranger's fd. A dup
// of a stack socket is another kernel fd of the same eventfd (always close-on-exec in the
// kernel; the program's FD_CLOEXEC is kept in the table) naming the same ShimSocket.
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sockios.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <cstring>

#include "shim/arp_ioctl.h"
#include "shim/interfaces.h"
#include "shim/interpose.h"
#include "shim/libc.h"
#include "shim/user_memory.h"

namespace pytcp::shim {
namespace {

// A new number for `obj`, from the kernel fd `fd` (at least `min_fd`).
int DupObject(int fd, int min_fd, bool cloexec) {
  auto obj = FdTable::Get().Lookup(fd);
  if (obj == nullptr) return libc().fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, min_fd);
  const bool is_socket = obj->kind() == FdKind::kSocket;
  const int nfd = libc().fcntl(fd, (cloexec || is_socket) ? F_DUPFD_CLOEXEC : F_DUPFD, min_fd);
  if (nfd < 0) return -1;
  if (!FdTable::Get().Install(nfd, std::move(obj), cloexec)) {
    libc().close(nfd);
    return Fail(EMFILE);
  }
  return nfd;
}

// dup2/dup3 when either side is ours.
int DupOnto(int oldfd, int newfd, int flags) {
  FdTable& table = FdTable::Get();
  auto obj = table.Lookup(oldfd);
  const bool cloexec = (flags & O_CLOEXEC) != 0;
  const bool is_socket = obj != nullptr && obj->kind() == FdKind::kSocket;
  const int r = libc().dup3(oldfd, newfd, (cloexec || is_socket) ? O_CLOEXEC : 0);
  if (r < 0) return -1;
  table.Remove(newfd);  // what newfd named before was closed by dup3
  if (obj != nullptr && !table.Install(newfd, std::move(obj), cloexec)) {
    libc().close(newfd);
    return Fail(EMFILE);
  }
  return r;
}

int CloseOurs(int fd) {
  FdTable::Get().Remove(fd);
  return libc().close(fd);
}

int SocketFcntl(int fd, ShimSocket& s, int cmd, unsigned long arg) {
  switch (cmd) {
    case F_GETFL:
      return O_RDWR | (s.impl().nonblocking() ? O_NONBLOCK : 0);
    case F_SETFL:
      s.impl().set_nonblocking((arg & O_NONBLOCK) != 0);
      return 0;
    case F_GETFD:
      return FdTable::Get().cloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
      FdTable::Get().set_cloexec(fd, (arg & FD_CLOEXEC) != 0);
      return 0;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      if (static_cast<long>(arg) < 0) return Fail(EINVAL);
      return DupObject(fd, static_cast<int>(arg), cmd == F_DUPFD_CLOEXEC);
    case F_SETOWN:
    case F_SETOWN_EX: {
      // The kernel keeps the owner on the placeholder (so F_GETOWN and F_GETOWN_EX are
      // its own answers); the stack socket learns it to send SIGURG when urgent data is
      // announced (sk_send_sigurg). F_GETOWN reads it back in kill()'s convention: a
      // process group is negative.
      const int r = libc().fcntl(fd, cmd, arg);
      if (r == 0) s.impl().set_owner(libc().fcntl(fd, F_GETOWN));
      return r;
    }
    default:
      // F_GETOWN, locks...: what the kernel says for the placeholder.
      return libc().fcntl(fd, cmd, arg);
  }
}

int FcntlImpl(int (*real)(int, int, ...), int fd, int cmd, unsigned long arg) {
  const FdKind kind = FdTable::Get().Kind(fd);
  if (kind == FdKind::kNone) return real(fd, cmd, arg);
  return Guarded(-1, [&] {
    if (kind == FdKind::kRemote) {
      // The pair is the socket's file: its flags are the kernel's (O_NONBLOCK shared by
      // dups and across fork, as for any socket); the table follows dups and FD_CLOEXEC.
      if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
        if (static_cast<long>(arg) < 0) return Fail(EINVAL);
        return DupObject(fd, static_cast<int>(arg), cmd == F_DUPFD_CLOEXEC);
      }
      const int r = real(fd, cmd, arg);
      if (r == 0 && cmd == F_SETFD) FdTable::Get().set_cloexec(fd, (arg & FD_CLOEXEC) != 0);
      return r;
    }
    if (kind == FdKind::kEpoll) {
      if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
        if (static_cast<long>(arg) < 0) return Fail(EINVAL);
        return DupObject(fd, static_cast<int>(arg), cmd == F_DUPFD_CLOEXEC);
      }
      return real(fd, cmd, arg);
    }
    bool inherited = false;
    auto s = SocketFor(fd, &inherited);
    if (inherited) return Fail(EBADF);
    if (s == nullptr) return real(fd, cmd, arg);
    return SocketFcntl(fd, *s, cmd, arg);
  });
}

int PutInt(void* arg, size_t v) {
  if (arg == nullptr) return Fail(EFAULT);
  const int i = static_cast<int>(std::min<size_t>(v, INT32_MAX));
  std::memcpy(arg, &i, sizeof(i));
  return 0;
}

int SocketIoctl(int fd, ShimSocket& s, unsigned long request, void* arg) {
  switch (request) {
    case FIONBIO: {
      if (arg == nullptr) return Fail(EFAULT);
      int on = 0;
      std::memcpy(&on, arg, sizeof(on));
      s.impl().set_nonblocking(on != 0);
      return 0;
    }
    case FIONREAD:  // == SIOCINQ
      return PutInt(arg, s.impl().ReadableBytes());
    case SIOCATMARK: {
      // tcp_ioctl: whether the next byte read is the urgent mark; ENOTTY for datagrams.
      auto r = s.impl().AtMark();
      if (!r.ok()) return Fail(r.error());
      return PutInt(arg, *r ? 1 : 0);
    }
    case TIOCOUTQ:  // == SIOCOUTQ
      return PutInt(arg, s.impl().UnsentBytes());
    case SIOCGSTAMP: {
      // A stream keeps no stamp (tcp_recvmsg never records one).
      timeval tv{};
      const int e = s.type() == SOCK_STREAM ? ENOENT : s.Stamp(&tv);
      if (e != 0) return Fail(e);
      if (arg == nullptr || !UserWritable(arg, sizeof(tv))) return Fail(EFAULT);
      std::memcpy(arg, &tv, sizeof(tv));
      return 0;
    }
    case FIOCLEX:
      FdTable::Get().set_cloexec(fd, true);
      return 0;
    case FIONCLEX:
      FdTable::Get().set_cloexec(fd, false);
      return 0;
    case SIOCSARP:
    case SIOCGARP:
    case SIOCDARP:
      return ArpIoctl(request, arg);
    default:
      // SIOCGIF*: the stack's interface (interfaces.h). Anything else: inet_ioctl()
      // answers unknown requests with ENOIOCTLCMD, which reaches the program as ENOTTY.
      return InterfaceIoctl(request, arg);
  }
}

}  // namespace
}  // namespace pytcp::shim

using namespace pytcp;        // NOLINT: the interposed functions are C symbols
using namespace pytcp::shim;  // NOLINT

PYTCP_EXPORT int close(int fd) {
  if (FdTable::Get().Kind(fd) == FdKind::kNone || IsVforkChild()) {
    ForgetProbe(fd);
    return libc().close(fd);
  }
  return Guarded(-1, [&] { return CloseOurs(fd); });
}

PYTCP_EXPORT int close_range(unsigned int first, unsigned int last, int flags) noexcept {
  // A vfork child (CPython's subprocess closes fds there) shares the parent's memory:
  // it closes its own copies of the fds and nothing else.
  if (first <= last && first <= static_cast<unsigned>(INT32_MAX) && !IsVforkChild()) {
    Guarded(0, [&] {
      FdTable& table = FdTable::Get();
      const int hi = static_cast<int>(std::min<unsigned>(last, INT32_MAX));
      for (int fd : table.FdsInRange(static_cast<int>(first), hi)) {
        if ((flags & CLOSE_RANGE_CLOEXEC) != 0) {
          if (table.Kind(fd) != FdKind::kEpoll) table.set_cloexec(fd, true);
        } else {
          table.Remove(fd);
        }
      }
      return 0;
    });
  }
  return libc().close_range(first, last, flags);
}

PYTCP_EXPORT void closefrom(int lowfd) noexcept {
  if (IsVforkChild()) return libc().closefrom(lowfd);
  Guarded(0, [&] {
    FdTable& table = FdTable::Get();
    for (int fd : table.FdsInRange(std::max(lowfd, 0), FdTable::kMaxFd - 1)) table.Remove(fd);
    return 0;
  });
  libc().closefrom(lowfd);
}

PYTCP_EXPORT int dup(int fd) noexcept {
  if (FdTable::Get().Kind(fd) == FdKind::kNone || IsVforkChild()) return libc().dup(fd);
  return Guarded(-1, [&] { return DupObject(fd, 0, false); });
}

PYTCP_EXPORT int dup2(int oldfd, int newfd) noexcept {
  FdTable& table = FdTable::Get();
  if ((table.Kind(oldfd) == FdKind::kNone && table.Kind(newfd) == FdKind::kNone) ||
      IsVforkChild()) {
    ForgetProbe(newfd);
    return libc().dup2(oldfd, newfd);
  }
  if (oldfd == newfd) return libc().dup2(oldfd, newfd);  // only checks oldfd
  return Guarded(-1, [&] { return DupOnto(oldfd, newfd, 0); });
}

PYTCP_EXPORT int dup3(int oldfd, int newfd, int flags) noexcept {
  FdTable& table = FdTable::Get();
  if ((table.Kind(oldfd) == FdKind::kNone && table.Kind(newfd) == FdKind::kNone) ||
      oldfd == newfd || (flags & ~O_CLOEXEC) != 0 || IsVforkChild()) {
    ForgetProbe(newfd);
    return libc().dup3(oldfd, newfd, flags);  // incl. its EINVAL cases
  }
  return Guarded(-1, [&] { return DupOnto(oldfd, newfd, flags); });
}

PYTCP_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  // Every fcntl argument is an int, a long or a pointer: read as the widest.
  const unsigned long arg = va_arg(ap, unsigned long);
  va_end(ap);
  return FcntlImpl(libc().fcntl, fd, cmd, arg);
}

PYTCP_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  const unsigned long arg = va_arg(ap, unsigned long);
  va_end(ap);
  return FcntlImpl(libc().fcntl64, fd, cmd, arg);
}

PYTCP_EXPORT int ioctl(int fd, unsigned long request, ...) noexcept {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return OnSocket<int>(
      fd, [&] { return libc().ioctl(fd, request, arg); },
      [&](ShimSocket& s) { return SocketIoctl(fd, s, request, arg); },
      [&](RemoteSocket& s) { return RemoteIoctl(fd, s, request, arg); });
}
