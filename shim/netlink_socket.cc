#include "shim/netlink_socket.h"

#include <linux/netlink.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "shim/interpose.h"
#include "shim/libc.h"

namespace pytcp::shim {
namespace {

// The flags recvmsg passes on to the kernel's calls below; MSG_TRUNC and MSG_PEEK are
// applied to the edited datagram here.
constexpr int kPassedRecvFlags = MSG_DONTWAIT | MSG_CMSG_CLOEXEC;

// Copies `data` into the iovecs; returns how much fitted.
size_t ScatterInto(const msghdr* msg, std::span<const uint8_t> data) {
  size_t done = 0;
  for (size_t i = 0; i < msg->msg_iovlen && done < data.size(); ++i) {
    const size_t n = std::min(msg->msg_iov[i].iov_len, data.size() - done);
    if (n > 0) std::memcpy(msg->msg_iov[i].iov_base, data.data() + done, n);
    done += n;
  }
  return done;
}

// The whole next datagram (its size first learnt with MSG_PEEK|MSG_TRUNC, which netlink
// answers with the full length), read for real unless `peek`; its sender's address and
// the program's control messages as recvmsg returns them. -1 with errno (EAGAIN, EINTR...)
// as the kernel's call failed.
ssize_t ReceiveWhole(int fd, int flags, bool peek, std::vector<uint8_t>* buf, sockaddr_nl* from,
                     msghdr* user, int* out_flags) {
  for (;;) {
    iovec iov{buf->data(), buf->size()};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    ssize_t n;
    {
      CancelWindow cancellable;  // the wait is the kernel's, cancellable as any recvmsg
      n = libc().recvmsg(fd, &m, (flags & kPassedRecvFlags) | MSG_PEEK | MSG_TRUNC);
    }
    if (n < 0) return -1;
    if (static_cast<size_t>(n) > buf->size()) {
      buf->resize(static_cast<size_t>(n));
      continue;
    }
    iov.iov_len = static_cast<size_t>(n);
    m.msg_name = from;
    m.msg_namelen = sizeof(*from);
    m.msg_control = user->msg_control;
    m.msg_controllen = user->msg_control != nullptr ? user->msg_controllen : 0;
    const ssize_t r = libc().recvmsg(fd, &m, (flags & kPassedRecvFlags) | MSG_DONTWAIT |
                                                 (peek ? MSG_PEEK : 0));
    if (r < 0 && errno == EAGAIN) continue;  // another thread took it meanwhile
    if (r < 0) return -1;
    if ((m.msg_flags & MSG_TRUNC) != 0) continue;  // ... and a longer one came first
    user->msg_controllen = m.msg_controllen;
    *out_flags = m.msg_flags & ~MSG_TRUNC;
    return r;
  }
}

// The stack's interfaces when the program uses the stack (netlink_socket.h); none when
// it does not.
std::vector<StackInterface> InterfacesInUse() {
  if (SharedStack() ? DaemonPid() == 0 : RunningStack() == nullptr) return {};
  return GetStackInterfaces();
}

}  // namespace

int NetlinkCreate(int type, int protocol) {
  const int fd = libc().socket(AF_NETLINK, type, protocol);
  if (fd < 0) return fd;
  const int saved = errno;
  auto obj = std::make_shared<NetlinkSocket>();
  if (!FdTable::Get().Install(fd, std::move(obj), (type & SOCK_CLOEXEC) != 0)) {
    // Beyond the table (fd >= kMaxFd): the kernel's socket as it is, unedited.
  }
  errno = saved;
  return fd;
}

ssize_t NetlinkSendMsg(int fd, NetlinkSocket& s, const msghdr* msg, int flags) {
  ssize_t n;
  {
    CancelWindow cancellable;
    n = libc().sendmsg(fd, msg, flags);
  }
  if (n < 0 || msg == nullptr) return n;
  const int saved = errno;
  // netlink_sendmsg takes the whole message as one datagram; note the dumps it asked for.
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) {
    const auto* p = static_cast<const uint8_t*>(msg->msg_iov[i].iov_base);
    bytes.insert(bytes.end(), p, p + msg->msg_iov[i].iov_len);
  }
  {
    std::lock_guard lock(s.mu);
    NoteAddrDumpRequests(bytes, &s.pending);
  }
  errno = saved;
  return n;
}

ssize_t NetlinkRecvMsg(int fd, NetlinkSocket& s, msghdr* msg, int flags) {
  // Anything the edit does not concern: the kernel's call as it is.
  if (msg == nullptr || (flags & MSG_ERRQUEUE) != 0) return libc().recvmsg(fd, msg, flags);
  const int saved = errno;
  const bool peek = (flags & MSG_PEEK) != 0;
  std::vector<uint8_t> buf(8192);
  std::optional<std::vector<StackInterface>> ifaces;  // looked up once, when first needed
  for (;;) {
    sockaddr_nl from{};
    int out_flags = 0;
    msghdr user = *msg;
    const ssize_t n = ReceiveWhole(fd, flags, peek, &buf, &from, &user, &out_flags);
    if (n < 0) return -1;
    std::span<const uint8_t> datagram(buf.data(), static_cast<size_t>(n));
    std::vector<uint8_t> edited;
    bool use_edited = false;
    {
      std::unique_lock lock(s.mu);
      if (NeedsRewrite(datagram, s.pending)) {
        if (!ifaces) {
          lock.unlock();
          ifaces = InterfacesInUse();
          lock.lock();
        }
        if (!ifaces->empty()) {
          edited = RewriteDatagram(datagram, *ifaces, &s.pending, !peek);
          use_edited = true;
        }
      }
    }
    if (use_edited && edited.empty() && n > 0) {
      // Everything in it was about the kernel's side of the TAP: the program never sees
      // it. A peeked one is taken off the queue (a zero-length read consumes a datagram).
      if (peek) (void)libc().recv(fd, nullptr, 0, MSG_DONTWAIT);
      continue;
    }
    std::span<const uint8_t> out = use_edited ? std::span<const uint8_t>(edited) : datagram;
    const size_t copied = ScatterInto(msg, out);
    if (msg->msg_name != nullptr) {
      std::memcpy(msg->msg_name, &from, std::min<size_t>(msg->msg_namelen, sizeof(from)));
      msg->msg_namelen = sizeof(from);
    }
    msg->msg_controllen = user.msg_controllen;
    msg->msg_flags = out_flags | (copied < out.size() ? MSG_TRUNC : 0);
    errno = saved;
    // netlink_recvmsg: with MSG_TRUNC the datagram's full length, else what was copied.
    return static_cast<ssize_t>((flags & MSG_TRUNC) != 0 ? out.size() : copied);
  }
}

ssize_t NetlinkSendTo(int fd, NetlinkSocket& s, const void* buf, size_t n, int flags,
                      const sockaddr* addr, socklen_t len) {
  iovec iov{const_cast<void*>(buf), n};
  msghdr m{};
  m.msg_name = const_cast<sockaddr*>(addr);
  m.msg_namelen = addr != nullptr ? len : 0;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  return NetlinkSendMsg(fd, s, &m, flags);
}

ssize_t NetlinkRecvFrom(int fd, NetlinkSocket& s, void* buf, size_t n, int flags, sockaddr* addr,
                        socklen_t* len) {
  iovec iov{buf, n};
  msghdr m{};
  if (addr != nullptr && len != nullptr) {
    m.msg_name = addr;
    m.msg_namelen = *len;
  }
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  const ssize_t r = NetlinkRecvMsg(fd, s, &m, flags);
  if (r >= 0 && m.msg_name != nullptr) *len = m.msg_namelen;
  return r;
}

}  // namespace pytcp::shim
