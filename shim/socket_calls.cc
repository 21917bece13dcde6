// The socket calls: socket, bind, listen, accept, accept4, connect, getsockname,
// getpeername, getsockopt, setsockopt, shutdown.
//
// socket() decides what goes to the stack: AF_INET datagram (UDP) and stream (TCP)
// sockets, and ICMP ping (SOCK_DGRAM) and raw (SOCK_RAW) sockets with IPPROTO_ICMP (and
// on AF_INET6 with IPPROTO_ICMPV6);
// NETLINK_ROUTE sockets are the kernel's, known to the fd table so that what the program
// reads shows the stack's interface (netlink_socket.h); everything else (AF_UNIX, other
// netlink protocols, other raw protocols) goes to libc after one comparison. Unlike the
// kernel, ping sockets are open to every user (net.ipv4.ping_group_range is not
// consulted): the stack is the process's own. A stack socket's fd number is an eventfd of
// its own (fd_table.h).
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <string>

#include "shim/interpose.h"
#include "shim/libc.h"
#include "shim/daemon_channel.h"
#include "shim/loopback.h"
#include "shim/netlink_socket.h"
#include "shim/sockaddr.h"
#include "shim/user_memory.h"
#include "stack/stack.h"

namespace pytcp::shim {
namespace {

constexpr int kTypeFlags = SOCK_NONBLOCK | SOCK_CLOEXEC;

bool StackHandles(int domain, int type, int protocol) {
  if (domain != AF_INET && domain != AF_INET6) return false;
  const int base = type & ~kTypeFlags;
  // AF_INET6: UDP, TCP, and ICMPv6 ping and raw sockets.
  if (domain == AF_INET6) {
    return (base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP)) ||
           (base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) ||
           ((base == SOCK_DGRAM || base == SOCK_RAW) && protocol == IPPROTO_ICMPV6);
  }
  return (base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP)) ||
         (base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) ||
         ((base == SOCK_DGRAM || base == SOCK_RAW) && protocol == IPPROTO_ICMP);
}

// A new fd for `impl`: an eventfd placeholder, installed in the table.
int InstallSocket(int domain, int type, int protocol, std::shared_ptr<Socket> impl,
                  int flags) {
  const int fd = eventfd(0, EFD_CLOEXEC);
  if (fd < 0) return -1;
  if (fd >= FdTable::kMaxFd) {
    libc().close(fd);
    return Fail(EMFILE);
  }
  if ((flags & SOCK_NONBLOCK) != 0) impl->set_nonblocking(true);
  auto sock = std::make_shared<ShimSocket>(domain, type, protocol, std::move(impl));
  if (!FdTable::Get().Install(fd, std::move(sock), (flags & SOCK_CLOEXEC) != 0)) {
    libc().close(fd);
    return Fail(ENOMEM);
  }
  return fd;
}

int CreateSocket(int domain, int type, int protocol) {
  int err = 0;
  Stack* stack = AcquireStack(&err);
  if (stack == nullptr) return Fail(err);
  const int base = type & ~kTypeFlags;
  auto impl = stack->CreateSocket(domain, base, protocol);
  if (!impl.ok()) return FailWith(impl);
  const int proto = protocol != 0 ? protocol : (base == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
  return InstallSocket(domain, base, proto, std::move(*impl), type & kTypeFlags);
}

int StackBind(int fd, ShimSocket& s, const sockaddr* addr, socklen_t len) {
  auto a = BindAddress(addr, len, s.domain());
  if (!a.ok()) return FailWith(a);
  if (ShouldHandOver(s, *a)) {
    if (const int e = HandOverToKernel(fd, s); e != 0) return Fail(e);
    return libc().bind(fd, addr, len);
  }
  auto r = s.impl().Bind(*a);
  if (!r.ok()) return FailWith(r);
  s.set_bound();
  return 0;
}

int StackConnect(int fd, ShimSocket& s, const sockaddr* addr, socklen_t len) {
  auto a = ConnectAddress(addr, len, s.domain());
  if (!a.ok()) return FailWith(a);
  if (a->unspec) {
    auto r = s.impl().Connect(nullptr);
    return r.ok() ? 0 : FailWith(r);
  }
  // ip_route_connect (ip_route_output_key_hash_rcu: no daddr is the loopback),
  // ip6_datagram_connect and tcp_v6_connect (in6addr_any is in6addr_loopback): connecting
  // to the wildcard address connects to this host's loopback.
  if (a->addr.ip.is_unspecified()) {
    a->addr.ip = a->addr.ip.is_v4() ? IpAddress(Ip4Address(127, 0, 0, 1)) : IpAddress(Ip6Address::Loopback());
    if (ShouldHandOver(s, a->addr)) {
      if (const int e = HandOverToKernel(fd, s); e != 0) return Fail(e);
      socklen_t n = 0;
      const sockaddr_storage lo = ToSockaddr(a->addr, &n, s.domain());
      return libc().connect(fd, reinterpret_cast<const sockaddr*>(&lo), n);
    }
  }
  if (ShouldHandOver(s, a->addr)) {
    if (const int e = HandOverToKernel(fd, s); e != 0) return Fail(e);
    return libc().connect(fd, addr, len);
  }
  s.set_committed();
  auto r = s.impl().Connect(&a->addr);
  // A restarted connect finds the handshake under way (EALREADY) and, blocking, waits on.
  while (!r.ok() && r.error() == EINTR && ShouldRestart(s, /*receive_side=*/false)) {
    r = s.impl().Connect(&a->addr);
  }
  return r.ok() ? 0 : FailWith(r);
}

int StackAccept(ShimSocket& s, sockaddr* addr, socklen_t* len, int flags) {
  if ((flags & ~kTypeFlags) != 0) return Fail(EINVAL);
  if (addr != nullptr) {
    // Checked before a connection is taken (Linux finds out after, and drops it).
    const socklen_t full = s.domain() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (const int e = AddressOutFault(addr, len, full); e != 0) return Fail(e);
  }
  SocketAddress peer;
  auto r = s.impl().AcceptSocket(&peer);
  while (!r.ok() && r.error() == EINTR && ShouldRestart(s, /*receive_side=*/true)) {
    r = s.impl().AcceptSocket(&peer);
  }
  if (!r.ok()) return FailWith(r);
  const int fd = InstallSocket(s.domain(), s.type(), s.protocol(), std::move(*r), flags);
  if (fd >= 0) WriteAddress(peer, addr, len, s.domain());
  return fd;
}

// SO_BINDTODEVICE (socket(7)): the stack's interfaces are seen under their TAPs' names.
// A UDP socket may bind to any of them (Socket::bound_iface); the others to the first
// (ping -I tap7); "" unbinds; any other name is ENODEV.
int BindToDevice(ShimSocket& s, const void* value, socklen_t len) {
  if (len > 0 && value == nullptr) return Fail(EFAULT);
  std::string want(static_cast<const char*>(value), len > 0 ? static_cast<size_t>(len) : 0);
  want = want.substr(0, want.find('\0'));
  if (want.empty()) {
    s.impl().set_bound_iface(-1);
    return 0;
  }
  int err = 0;
  Stack* stack = AcquireStack(&err);
  if (stack == nullptr) return Fail(err);
  const std::optional<uint8_t> iface = stack->config().InterfaceIndex(want);
  if (!iface || (*iface != 0 && s.type() != SOCK_DGRAM) ||
      (*iface != 0 && s.protocol() != 0 && s.protocol() != IPPROTO_UDP)) {
    return Fail(ENODEV);
  }
  s.impl().set_bound_iface(*iface);
  return 0;
}

int StackGetName(ShimSocket& s, sockaddr* addr, socklen_t* len, bool peer) {
  const socklen_t full = s.domain() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (const int e = AddressOutFault(addr, len, full); e != 0) return Fail(e);
  auto a = peer ? s.impl().PeerAddress() : s.impl().LocalAddress();
  if (!a.ok()) return FailWith(a);
  WriteAddress(*a, addr, len, s.domain());
  return 0;
}

}  // namespace
}  // namespace pytcp::shim

using namespace pytcp;        // NOLINT: the interposed functions are C symbols
using namespace pytcp::shim;  // NOLINT

PYTCP_EXPORT int socket(int domain, int type, int protocol) noexcept {
  if (domain == AF_NETLINK && protocol == NETLINK_ROUTE) {
    return Guarded(-1, [&] { return NetlinkCreate(type, protocol); });
  }
  if (!StackHandles(domain, type, protocol) || InStackStartup()) {
    return libc().socket(domain, type, protocol);
  }
  return Guarded(-1, [&] {
    if (SharedStack()) {
      return RemoteCreate(domain, type & ~kTypeFlags, protocol, type & kTypeFlags);
    }
    return CreateSocket(domain, type, protocol);
  });
}

PYTCP_EXPORT int bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  return OnSocketCall<int>(
      fd, [&] { return libc().bind(fd, addr, len); },
      [&](ShimSocket& s) { return StackBind(fd, s, addr, len); },
      [&](RemoteSocket& s) { return RemoteBind(fd, s, addr, len); });
}

PYTCP_EXPORT int connect(int fd, const sockaddr* addr, socklen_t len) {
  return OnSocketCall<int, kCancelPoint>(
      fd, [&] { return libc().connect(fd, addr, len); },
      [&](ShimSocket& s) { return StackConnect(fd, s, addr, len); },
      [&](RemoteSocket& s) { return RemoteConnect(fd, s, addr, len); });
}

PYTCP_EXPORT int listen(int fd, int backlog) noexcept {
  return OnSocketCall<int>(
      fd, [&] { return libc().listen(fd, backlog); },
      [&](ShimSocket& s) {
        s.set_committed();
        auto r = s.impl().Listen(backlog);
        return r.ok() ? 0 : FailWith(r);
      },
      [&](RemoteSocket& s) { return RemoteListen(fd, s, backlog); });
}

PYTCP_EXPORT int accept(int fd, sockaddr* addr, socklen_t* len) {
  return OnSocketCall<int, kCancelPoint>(
      fd, [&] { return libc().accept(fd, addr, len); },
      [&](ShimSocket& s) { return StackAccept(s, addr, len, 0); },
      [&](RemoteSocket& s) { return RemoteAccept(fd, s, addr, len, 0); });
}

PYTCP_EXPORT int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  return OnSocketCall<int, kCancelPoint>(
      fd, [&] { return libc().accept4(fd, addr, len, flags); },
      [&](ShimSocket& s) { return StackAccept(s, addr, len, flags); },
      [&](RemoteSocket& s) { return RemoteAccept(fd, s, addr, len, flags); });
}

PYTCP_EXPORT int getsockname(int fd, sockaddr* addr, socklen_t* len) noexcept {
  return OnSocketCall<int>(
      fd, [&] { return libc().getsockname(fd, addr, len); },
      [&](ShimSocket& s) { return StackGetName(s, addr, len, /*peer=*/false); },
      [&](RemoteSocket& s) { return RemoteGetName(fd, s, addr, len, /*peer=*/false); });
}

PYTCP_EXPORT int getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept {
  return OnSocketCall<int>(
      fd, [&] { return libc().getpeername(fd, addr, len); },
      [&](ShimSocket& s) { return StackGetName(s, addr, len, /*peer=*/true); },
      [&](RemoteSocket& s) { return RemoteGetName(fd, s, addr, len, /*peer=*/true); });
}

PYTCP_EXPORT int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept {
  return OnSocketCall<int>(
      fd, [&] { return libc().getsockopt(fd, level, name, value, len); },
      [&](ShimSocket& s) {
        // sock_getsockopt & co.: optlen read and written, the value written.
        if (len == nullptr || !UserWritable(len, sizeof(*len))) return Fail(EFAULT);
        if (static_cast<int>(*len) > 0 && !UserWritable(value, *len)) return Fail(EFAULT);
        auto r = s.impl().GetOption(level, name, value, len);
        return r.ok() ? 0 : FailWith(r);
      },
      [&](RemoteSocket& s) { return RemoteGetOption(fd, s, level, name, value, len); });
}

PYTCP_EXPORT int setsockopt(int fd, int level, int name, const void* value,
                            socklen_t len) noexcept {
  return OnSocketCall<int>(
      fd, [&] { return libc().setsockopt(fd, level, name, value, len); },
      [&](ShimSocket& s) {
        if (static_cast<int>(len) < 0) return Fail(EINVAL);
        if (len > 0 && !UserReadable(value, len)) return Fail(EFAULT);
        if (level == SOL_SOCKET && name == SO_BINDTODEVICE) return BindToDevice(s, value, len);
        auto r = s.impl().SetOption(level, name, value, len);
        if (!r.ok()) return FailWith(r);
        s.RecordOption(level, name, value, len);
        return 0;
      },
      [&](RemoteSocket& s) { return RemoteSetOption(fd, s, level, name, value, len); });
}

PYTCP_EXPORT int shutdown(int fd, int how) noexcept {
  return OnSocketCall<int>(
      fd, [&] { return libc().shutdown(fd, how); },
      [&](ShimSocket& s) {
        auto r = s.impl().Shutdown(how);
        return r.ok() ? 0 : FailWith(r);
      },
      [&](RemoteSocket& s) { return RemoteShutdown(fd, s, how); });
}
