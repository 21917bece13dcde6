// The C library's own entry points for every call the shim interposes, found with
// dlsym(RTLD_NEXT) (the next definition after libpytcp.so in the lookup order, which is
// libc's). Calls on anything that is not a stack socket go straight through these.
//
// The table is filled once, on first use (a library constructor that runs before ours may
// already call read() or close()), and never changes afterwards, so a call through it is
// one load and one indirect call.
#pragma once

#include <ifaddrs.h>
#include <stdio.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <type_traits>

// glibc's fortified entry points, which its headers declare only under _FORTIFY_SOURCE.
extern "C" {
ssize_t __read_chk(int fd, void* buf, size_t nbytes, size_t buflen);
ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buflen, int flags,
                       sockaddr* addr, socklen_t* addrlen);
int __poll_chk(pollfd* fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(pollfd* fds, nfds_t nfds, const timespec* timeout, const sigset_t* ss,
                size_t fdslen);
[[noreturn]] void __chk_fail();
int fcntl64(int fd, int cmd, ...);
}

namespace pytcp::shim {

// X(name, pointer type)
#define PYTCP_SHIM_LIBC_FUNCTIONS(X)                                                         \
  X(_exit, void (*)(int))                                                                  \
  X(fdopen, FILE* (*)(int, const char*))                                                    \
  X(getifaddrs, int (*)(ifaddrs**))                                                        \
  X(socket, int (*)(int, int, int))                                                        \
  X(bind, int (*)(int, const sockaddr*, socklen_t))                                         \
  X(listen, int (*)(int, int))                                                              \
  X(accept, int (*)(int, sockaddr*, socklen_t*))                                            \
  X(accept4, int (*)(int, sockaddr*, socklen_t*, int))                                      \
  X(connect, int (*)(int, const sockaddr*, socklen_t))                                      \
  X(getsockname, int (*)(int, sockaddr*, socklen_t*))                                       \
  X(getpeername, int (*)(int, sockaddr*, socklen_t*))                                       \
  X(getsockopt, int (*)(int, int, int, void*, socklen_t*))                                  \
  X(setsockopt, int (*)(int, int, int, const void*, socklen_t))                             \
  X(shutdown, int (*)(int, int))                                                            \
  X(close, int (*)(int))                                                                    \
  X(close_range, int (*)(unsigned, unsigned, int))                                          \
  X(closefrom, void (*)(int))                                                               \
  X(dup, int (*)(int))                                                                      \
  X(dup2, int (*)(int, int))                                                                \
  X(dup3, int (*)(int, int, int))                                                           \
  X(fcntl, int (*)(int, int, ...))                                                          \
  X(fcntl64, int (*)(int, int, ...))                                                        \
  X(ioctl, int (*)(int, unsigned long, ...))                                                \
  X(read, ssize_t (*)(int, void*, size_t))                                                  \
  X(write, ssize_t (*)(int, const void*, size_t))                                           \
  X(readv, ssize_t (*)(int, const iovec*, int))                                             \
  X(writev, ssize_t (*)(int, const iovec*, int))                                            \
  X(send, ssize_t (*)(int, const void*, size_t, int))                                       \
  X(sendto, ssize_t (*)(int, const void*, size_t, int, const sockaddr*, socklen_t))         \
  X(sendmsg, ssize_t (*)(int, const msghdr*, int))                                          \
  X(sendmmsg, int (*)(int, mmsghdr*, unsigned, int))                                        \
  X(recv, ssize_t (*)(int, void*, size_t, int))                                             \
  X(recvfrom, ssize_t (*)(int, void*, size_t, int, sockaddr*, socklen_t*))                  \
  X(recvmsg, ssize_t (*)(int, msghdr*, int))                                                \
  X(recvmmsg, int (*)(int, mmsghdr*, unsigned, int, timespec*))                             \
  X(sendfile, ssize_t (*)(int, int, off_t*, size_t))                                        \
  X(sendfile64, ssize_t (*)(int, int, off64_t*, size_t))                                    \
  X(__read_chk, ssize_t (*)(int, void*, size_t, size_t))                                    \
  X(__recv_chk, ssize_t (*)(int, void*, size_t, size_t, int))                               \
  X(__recvfrom_chk, ssize_t (*)(int, void*, size_t, size_t, int, sockaddr*, socklen_t*))    \
  X(poll, int (*)(pollfd*, nfds_t, int))                                                    \
  X(ppoll, int (*)(pollfd*, nfds_t, const timespec*, const sigset_t*))                      \
  X(__poll_chk, int (*)(pollfd*, nfds_t, int, size_t))                                      \
  X(__ppoll_chk, int (*)(pollfd*, nfds_t, const timespec*, const sigset_t*, size_t))        \
  X(select, int (*)(int, fd_set*, fd_set*, fd_set*, timeval*))                              \
  X(pselect, int (*)(int, fd_set*, fd_set*, fd_set*, const timespec*, const sigset_t*))     \
  X(epoll_create, int (*)(int))                                                             \
  X(epoll_create1, int (*)(int))                                                            \
  X(epoll_ctl, int (*)(int, int, int, epoll_event*))                                        \
  X(epoll_wait, int (*)(int, epoll_event*, int, int))                                       \
  X(epoll_pwait, int (*)(int, epoll_event*, int, int, const sigset_t*))                     \
  X(epoll_pwait2, int (*)(int, epoll_event*, int, const timespec*, const sigset_t*))

struct Libc {
#define PYTCP_SHIM_LIBC_MEMBER(name, type) std::type_identity_t<type> name = nullptr;
  PYTCP_SHIM_LIBC_FUNCTIONS(PYTCP_SHIM_LIBC_MEMBER)
#undef PYTCP_SHIM_LIBC_MEMBER
};

// The real functions (resolved on the first call, thread-safely). A function the C library
// lacks (an older glibc without epoll_pwait2...) is a stub that fails with ENOSYS.
const Libc& libc() noexcept;

}  // namespace pytcp::shim
