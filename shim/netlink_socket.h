// A NETLINK_ROUTE socket of a program under the shim (netlink_route.h says what the program
// sees). The fd is the kernel's netlink socket itself, so bind, getsockname, the multicast
// groups, poll/select/epoll, close and dup stay the kernel's; the fd table knows it
// (FdKind::kNetlink) only so that the data calls can note the dump requests the program
// sends and edit the datagrams it reads. Every other netlink protocol, and every other
// call on this socket, is libc's at once.
//
// The edit happens only while the program uses the stack (the in-process stack is running,
// or this process has talked to pytcpd): reading netlink never starts a stack, so `ip addr`
// in a `pytcp --shell` shows the kernel as it is, while dnsmasq, which has its DHCP and DNS
// sockets on the stack, finds the stack's addresses on the TAP device.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <mutex>
#include <vector>

#include "shim/fd_table.h"
#include "shim/interpose.h"
#include "shim/netlink_route.h"

namespace pytcp::shim {

class NetlinkSocket final : public FdObject {
 public:
  NetlinkSocket() : FdObject(FdKind::kNetlink) {}
  void OnLastFdClosed() override {}

  std::mutex mu;
  std::vector<PendingAddrDump> pending;  // guarded by mu
};

// socket(AF_NETLINK, type, NETLINK_ROUTE): the kernel's socket, known to the fd table.
int NetlinkCreate(int type, int protocol);

// The data calls on a NETLINK_ROUTE socket (the flags and results of recvmsg(2) and
// sendmsg(2), with netlink(7)'s MSG_PEEK/MSG_TRUNC behaviour on the edited datagram).
ssize_t NetlinkSendMsg(int fd, NetlinkSocket& s, const msghdr* msg, int flags);
ssize_t NetlinkRecvMsg(int fd, NetlinkSocket& s, msghdr* msg, int flags);
// send, sendto and write (addr nullptr); recv, recvfrom and read.
ssize_t NetlinkSendTo(int fd, NetlinkSocket& s, const void* buf, size_t n, int flags,
                      const sockaddr* addr, socklen_t len);
ssize_t NetlinkRecvFrom(int fd, NetlinkSocket& s, void* buf, size_t n, int flags, sockaddr* addr,
                        socklen_t* len);

// The data calls' path for an fd that is not a stack socket: `netlink(NetlinkSocket&)` for
// a NETLINK_ROUTE socket (exceptions contained; the kernel's waits inside stay cancellation
// points, as these calls are), else `kernel()` at once.
template <typename R, typename Kernel, typename Netlink>
R KernelOrNetlink(int fd, Kernel&& kernel, Netlink&& netlink) {
  if (FdTable::Get().Kind(fd) != FdKind::kNetlink) return kernel();
  pthread_testcancel();
  return Guarded<R>(static_cast<R>(-1), [&]() -> R {
    auto s = FdTable::Get().LookupAs<NetlinkSocket>(fd, FdKind::kNetlink);
    if (s == nullptr) {
      CancelWindow cancellable;  // closed meanwhile: libc's own call
      return kernel();
    }
    return netlink(*s);
  });
}

}  // namespace pytcp::shim
