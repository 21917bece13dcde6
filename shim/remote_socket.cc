#include "shim/remote_socket.h"

#include <fcntl.h>
#include <signal.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "shim/arp_ioctl.h"
#include "shim/control_messages.h"
#include "shim/daemon_channel.h"
#include "shim/interfaces.h"
#include "shim/interpose.h"
#include "shim/libc.h"
#include "shim/runtime.h"
#include "shim/sockaddr.h"
#include "shim/user_memory.h"
#include "shim/wait.h"
#include "stack/base/cancel.h"

namespace pytcp::shim {
namespace {

using pytcpd::Op;
using pytcpd::Request;

constexpr int kTypeFlags = SOCK_NONBLOCK | SOCK_CLOEXEC;

// One request about `fd`'s socket; -1 with errno on failure, else the reply's result.
int Call(int fd, Request& req, DaemonReply* rep, std::span<const uint8_t> payload = {},
         int timeout_ms = -1) {
  if (const int e = CallDaemon(req, payload, fd, rep, timeout_ms); e != 0) return Fail(e);
  if (rep->rep.result < 0) return Fail(rep->rep.error);
  return rep->rep.result;
}

bool NonBlocking(int fd) { return (libc().fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

// Installs a socket fd the daemon sent (close-on-exec as received) with the program's
// flags; returns the fd or -1.
int Install(int got, int domain, int type, int protocol, int flags) {
  if ((flags & SOCK_CLOEXEC) == 0 && libc().fcntl(got, F_SETFD, 0) != 0) {
    libc().close(got);
    return -1;
  }
  if ((flags & SOCK_NONBLOCK) != 0 && libc().fcntl(got, F_SETFL, O_NONBLOCK) != 0) {
    libc().close(got);
    return -1;
  }
  if (got >= FdTable::kMaxFd) {
    libc().close(got);
    return Fail(EMFILE);
  }
  auto obj = std::make_shared<RemoteSocket>(domain, type, protocol);
  if (!FdTable::Get().Install(got, std::move(obj), (flags & SOCK_CLOEXEC) != 0)) {
    libc().close(got);
    return Fail(ENOMEM);
  }
  return got;
}

// Loopback (loopback.h): before the daemon has done anything for the socket, a bind or
// connect to 127.0.0.0/8 or ::1 turns it into a kernel socket on the same fd.
bool ShouldHandOver(const SocketAddress& addr) {
  return addr.ip.is_loopback() && LoopbackSetting() == LoopbackMode::kKernel;
}

int HandOver(int fd, RemoteSocket& s) {
  const Libc& c = libc();
  const int k = c.socket(s.domain(), s.type() | SOCK_CLOEXEC, s.protocol());
  if (k < 0) return errno;
  for (const RecordedOption& o : s.recorded_options()) {
    (void)c.setsockopt(k, o.level, o.name, o.value.empty() ? nullptr : o.value.data(),
                       static_cast<socklen_t>(o.value.size()));
  }
  if (NonBlocking(fd)) c.fcntl(k, F_SETFL, O_NONBLOCK);
  FdTable& table = FdTable::Get();
  if (c.dup3(k, fd, table.cloexec(fd) ? O_CLOEXEC : 0) < 0) {
    const int e = errno;
    c.close(k);
    return e;
  }
  c.close(k);
  table.Remove(fd);  // the daemon's socket closes with our last reference to the pair
  return 0;
}

}  // namespace

void RemoteSocket::RecordOption(int level, int name, const void* value, socklen_t len) {
  RecordOptionIn(options_, level, name, value, len);
}

namespace {

// What probing learned: 1 = not a socket of the daemon (until the number is closed).
constexpr int kProbeCache = 1 << 16;
std::atomic<uint8_t> g_not_ours[kProbeCache];

pid_t DaemonPidFromFile() {
  char name[16] = {};
  const char* v = ::secure_getenv("PYTCP_IFACE");
  std::string iface = v != nullptr && v[0] != '\0' ? v : "tap7";
  iface = iface.substr(0, iface.find(','));
  const std::string path = pytcpd::RunDirectory() + "/" + iface + ".pid";
  const int f = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f < 0) return 0;
  const ssize_t n = libc().read(f, name, sizeof(name) - 1);
  libc().close(f);
  return n > 0 ? static_cast<pid_t>(std::atoi(name)) : 0;
}

bool LooksLikeOurPair(int fd) {
  int domain = 0, type = 0;
  socklen_t len = sizeof(int);
  if (libc().getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX) {
    return false;
  }
  len = sizeof(int);
  if (libc().getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
      (type != SOCK_STREAM && type != SOCK_SEQPACKET)) {
    return false;
  }
  // A socketpair reports its creator (unix_socketpair's init_peercred): the daemon.
  ucred cred{};
  len = sizeof(cred);
  if (libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  const pid_t daemon = DaemonPidFromFile();
  return daemon > 0 && cred.pid == daemon;
}

}  // namespace

void ForgetProbe(int fd) noexcept {
  if (fd >= 0 && fd < kProbeCache) g_not_ours[fd].store(0, std::memory_order_relaxed);
}

std::shared_ptr<RemoteSocket> ProbeRemote(int fd) {
  if (fd < 0 || fd >= kProbeCache || IsVforkChild()) return nullptr;
  if (g_not_ours[fd].load(std::memory_order_relaxed) != 0) return nullptr;
  if (!LooksLikeOurPair(fd)) {
    g_not_ours[fd].store(1, std::memory_order_relaxed);
    return nullptr;
  }
  Request req;
  req.op = Op::kIdentify;
  DaemonReply rep;
  if (CallDaemon(req, {}, fd, &rep) != 0 || rep.rep.result < 0) {
    g_not_ours[fd].store(1, std::memory_order_relaxed);
    return nullptr;
  }
  const int type = rep.rep.arg[1];
  const int proto = rep.rep.result != 0 ? rep.rep.result
                                        : (type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
  auto s = std::make_shared<RemoteSocket>(rep.rep.arg[0], type, proto);
  s->committed.store(true);
  s->connected.store(rep.rep.has_addr == 1);
  s->listening.store(rep.rep.has_addr == 2);
  const int fdflags = libc().fcntl(fd, F_GETFD);
  if (!FdTable::Get().Install(fd, s, fdflags >= 0 && (fdflags & FD_CLOEXEC) != 0)) return nullptr;
  return s;
}

namespace {

// A process's pool of fresh TCP sockets (one per family): socket() takes one without a
// request, and an empty pool is refilled with kPoolBatch in one request, so a program
// that makes connection after connection waits for the daemon once per batch, not once
// per socket (DESIGN.md's pool of ready pairs). A pooled fd is close-on-exec and kept
// high; socket() moves it to the lowest free number, as socket(2) allocates. A fork child
// does not use its parent's pool (the copies would be the same sockets): it drops its
// copies of them at its first socket() and makes its own. A vfork child never touches it.
constexpr int kPoolBatch = 8;

struct SocketPool {
  std::mutex mu;
  pid_t owner = 0;
  std::vector<int> fds[2];  // AF_INET, AF_INET6
};

SocketPool& Pool() {
  static SocketPool* pool = new SocketPool;  // never destroyed: used until the last exit
  return *pool;
}

bool Pooled(int domain, int type, int protocol) {
  // Not under a tight fd limit, where the pool's hidden fds would be missed.
  static const bool room = [] {
    rlimit rl{};
    return getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 1024;
  }();
  return room && type == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP) &&
         (domain == AF_INET || domain == AF_INET6);
}

// A pooled socket's fd at the lowest free number, or -1 (errno) when none could be had.
int TakePooled(int domain) {
  SocketPool& pool = Pool();
  std::lock_guard lock(pool.mu);
  std::vector<int>& fds = pool.fds[domain == AF_INET6 ? 1 : 0];
  if (pool.owner != getpid()) {
    // A fork child's copies of its parent's pool: closed here, and the parent's sockets
    // live on in the parent.
    for (auto& v : pool.fds) {
      for (int f : v) libc().close(f);
      v.clear();
    }
    pool.owner = getpid();
  }
  if (fds.empty()) {
    Request req;
    req.op = Op::kSocket;
    req.arg[0] = domain;
    req.arg[1] = SOCK_STREAM;
    req.arg[2] = 0;
    req.arg[3] = kPoolBatch;
    DaemonReply rep;
    if (Call(-1, req, &rep) < 0 || rep.fd < 0) {
      // A batch the process had no room for (EMFILE on receiving it): one, as without a pool.
      req.arg[3] = 1;
      if (Call(-1, req, &rep) < 0) return -1;
      if (rep.fd < 0) return Fail(EMFILE);
    }
    // Taken from the back: the first comes last.
    for (auto it = rep.more_fds.rbegin(); it != rep.more_fds.rend(); ++it) fds.push_back(MoveHigh(*it));
    fds.push_back(rep.fd);
  }
  const int high = fds.back();
  fds.pop_back();
  const int low = libc().fcntl(high, F_DUPFD_CLOEXEC, 0);
  if (low < 0) {
    const int e = errno;
    libc().close(high);
    return Fail(e);
  }
  libc().close(high);
  return low;
}

}  // namespace

int RemoteCreate(int domain, int type, int protocol, int flags) {
  const int proto = protocol != 0 ? protocol : (type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
  if (Pooled(domain, type, protocol) && !IsVforkChild()) {
    const int got = TakePooled(domain);
    if (got < 0) return -1;
    return Install(got, domain, type, proto, flags);
  }
  Request req;
  req.op = Op::kSocket;
  req.arg[0] = domain;
  req.arg[1] = type;
  req.arg[2] = protocol;
  DaemonReply rep;
  if (Call(-1, req, &rep) < 0) return -1;
  if (rep.fd < 0) return Fail(EMFILE);
  for (int f : rep.more_fds) libc().close(f);
  return Install(rep.fd, domain, type, proto, flags);
}

int RemoteBind(int fd, RemoteSocket& s, const sockaddr* addr, socklen_t len) {
  auto a = BindAddress(addr, len, s.domain());
  if (!a.ok()) return FailWith(a);
  if (ShouldHandOver(*a) && !s.committed.load()) {
    if (const int e = HandOver(fd, s); e != 0) return Fail(e);
    return libc().bind(fd, addr, len);
  }
  Request req;
  req.op = Op::kBind;
  req.addr = *a;
  req.has_addr = 1;
  DaemonReply rep;
  if (Call(fd, req, &rep) < 0) return -1;
  s.committed.store(true);
  s.bound.store(true);
  return 0;
}

// Fills the program's writing direction of the pair until the kernel says it is full, so
// that poll shows the socket not writable: a listener never is (the daemon never reads
// its pair), a connecting socket is not until the daemon, once the handshake is over,
// takes exactly these bytes out again. Returns the bytes written.
size_t FillPair(int fd) {
  static const char zeros[65536] = {};
  size_t total = 0;
  while (true) {
    const ssize_t n = libc().send(fd, zeros, sizeof(zeros), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) return total;
    total += static_cast<size_t>(n);
  }
}

int RemoteListen(int fd, RemoteSocket& s, int backlog) {
  Request req;
  req.op = Op::kListen;
  req.arg[0] = backlog;
  DaemonReply rep;
  if (Call(fd, req, &rep) < 0) return -1;
  if (!s.listening.exchange(true)) FillPair(fd);
  return 0;
}

int RemoteConnect(int fd, RemoteSocket& s, const sockaddr* addr, socklen_t len) {
  auto a = ConnectAddress(addr, len, s.domain());
  if (!a.ok()) return FailWith(a);
  Request req;
  req.op = Op::kConnect;
  if (!a->unspec) {
    // The wildcard address is the loopback (ip_route_connect), as in the in-process mode.
    if (a->addr.ip.is_unspecified()) {
      a->addr.ip = a->addr.ip.is_v4() ? IpAddress(Ip4Address(127, 0, 0, 1))
                                      : IpAddress(Ip6Address::Loopback());
      if (ShouldHandOver(a->addr) && !s.committed.load()) {
        if (const int e = HandOver(fd, s); e != 0) return Fail(e);
        socklen_t n = 0;
        const sockaddr_storage lo = ToSockaddr(a->addr, &n, s.domain());
        return libc().connect(fd, reinterpret_cast<const sockaddr*>(&lo), n);
      }
    }
    if (ShouldHandOver(a->addr) && !s.committed.load()) {
      if (const int e = HandOver(fd, s); e != 0) return Fail(e);
      return libc().connect(fd, addr, len);
    }
    req.addr = a->addr;
    req.has_addr = 1;
  }
  req.arg[0] = NonBlocking(fd) ? 1 : 0;
  if (req.arg[0] != 0 && s.stream() && !a->unspec && !s.connecting.load() && !s.connected.load()) {
    // Not writable while the handshake runs (tcp_poll): the daemon drains this much once
    // it is over (arg1), and the program's POLLOUT comes then.
    req.arg[1] = static_cast<int32_t>(FillPair(fd));
  }
  s.committed.store(true);
  DaemonReply rep;
  // A blocking connect waits in the daemon for the handshake; a signal interrupts the
  // wait (EINTR) while the handshake goes on, as in the kernel.
  if (Call(fd, req, &rep) < 0) {
    if (errno == EINPROGRESS) s.connecting.store(true);
    return -1;
  }
  // A datagram socket's too: only a connected one hears of ICMP errors (RemoteAddPollErrors).
  if (!a->unspec) s.connected.store(true);
  if (!a->unspec && !s.stream()) s.bound.store(true);  // connect bound it (inet_autobind)
  if (a->unspec && !s.stream()) s.connected.store(false);
  return 0;
}

namespace {

// The socket's own poll bits (kStatus 2), as tcp_poll gives them, for the events asked
// (POLLERR, POLLHUP always). -1 when the daemon could not say.
int DaemonPollBits(int fd, short events) {
  Request req;
  req.op = Op::kStatus;
  req.arg[0] = 2;
  DaemonReply rep;
  if (Call(fd, req, &rep) < 0) return -1;
  int bits = rep.rep.result;
  if ((bits & POLLIN) != 0) bits |= POLLRDNORM;
  if ((bits & POLLOUT) != 0) bits |= POLLWRNORM;
  return bits & (events | POLLERR | POLLHUP);
}

// The bits of a socket whose pair cannot show them: the daemon's; for a connected stream
// with them what the pair holds (data read from TCP already, its end).
short SocketBits(int fd, const RemoteSocket& s, short events, short pair_bits) {
  const int bits = DaemonPollBits(fd, events);
  if (bits < 0) return pair_bits;
  if (!s.connected.load()) return static_cast<short>(bits);
  return static_cast<short>(bits | (pair_bits & (POLLIN | POLLRDNORM | POLLHUP | POLLRDHUP)));
}

}  // namespace

int RemotePollFirst(pollfd* fds, nfds_t nfds) {
  if (fds == nullptr) return 0;  // the kernel's EFAULT to give
  const int saved = errno;
  int ready = 0;
  for (nfds_t i = 0; i < nfds; ++i) {
    if (fds[i].fd < 0) continue;
    auto s = FdTable::Get().LookupAs<RemoteSocket>(fds[i].fd, FdKind::kRemote);
    if (s == nullptr || !s->PollFromDaemon()) continue;
    const int bits = DaemonPollBits(fds[i].fd, fds[i].events);
    if (bits > 0) ++ready;
  }
  errno = saved;
  return ready;
}

int RemoteAdjustPoll(pollfd* fds, nfds_t nfds, int ready) {
  if (fds == nullptr) return ready;
  const int saved = errno;
  for (nfds_t i = 0; i < nfds; ++i) {
    const short rev = fds[i].revents;
    if (fds[i].fd < 0 || (rev & POLLNVAL) != 0) continue;
    auto s = FdTable::Get().LookupAs<RemoteSocket>(fds[i].fd, FdKind::kRemote);
    if (s == nullptr) continue;
    if (s->PollFromDaemon()) {
      fds[i].revents = SocketBits(fds[i].fd, *s, fds[i].events, rev);
      ready += (fds[i].revents != 0 ? 1 : 0) - (rev != 0 ? 1 : 0);
      continue;
    }
    if (rev == 0 || (rev & POLLERR) != 0) continue;
    if (!s->stream()) {
      // A datagram socket's pending error is a mark in its pair, first in line.
      pytcpd::DatagramHeader h;
      if ((rev & POLLIN) != 0 &&
          libc().recv(fds[i].fd, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT) == sizeof(h) &&
          h.kind == pytcpd::kDatagramError) {
        fds[i].revents = static_cast<short>(rev | POLLERR);
      }
      continue;
    }
    const bool connecting = s->connecting.load();
    const bool ask = (rev & POLLHUP) != 0 || (connecting && (rev & POLLOUT) != 0);
    if (!ask) continue;
    Request req;
    req.op = Op::kStatus;
    req.arg[0] = 1;  // is one pending (not taken)
    DaemonReply rep;
    if (Call(fds[i].fd, req, &rep) < 0 || rep.rep.result == 0) continue;
    // tcp_poll: a connect that failed is POLLOUT|POLLERR|POLLHUP (the state is CLOSE).
    fds[i].revents = static_cast<short>(rev | POLLERR | (connecting ? POLLHUP : 0));
  }
  errno = saved;
  return ready;
}

int RemoteStreamCheck(int fd, RemoteSocket& s, bool sending, int flags) {
  if (s.connected.load() || s.connecting.load()) return 0;
  Request req;
  req.op = Op::kGetName;
  req.arg[0] = 1;  // the peer: a socket that has one is (or was) connected
  DaemonReply rep;
  if (const int e = CallDaemon(req, {}, fd, &rep); e != 0) return e;
  if (rep.rep.result >= 0) {
    s.connected.store(true);
    return 0;
  }
  if (!sending) return ENOTCONN;
  if ((flags & MSG_NOSIGNAL) == 0) raise(SIGPIPE);  // tcp_sendmsg's sk_stream_error
  return EPIPE;
}

int RemoteAccept(int fd, RemoteSocket& s, sockaddr* addr, socklen_t* len, int flags) {
  if ((flags & ~kTypeFlags) != 0) return Fail(EINVAL);
  if (!s.stream()) return Fail(EOPNOTSUPP);
  if (!s.listening.load()) {
    // Only a listener's pair carries tokens: anything else would wait for ever. Linux:
    // EINVAL for a stream socket that is not listening.
    int on = 0;
    socklen_t olen = sizeof(on);
    if (RemoteGetOption(fd, s, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) < 0) return -1;
    if (on == 0) return Fail(EINVAL);
    s.listening.store(true);
  }
  while (true) {
    // A token in the pair per connection waiting: the kernel's own blocking recv is the
    // wait (SO_RCVTIMEO, O_NONBLOCK, signals and cancellation behave as for a socket).
    uint8_t token;
    ssize_t n;
    {
      CancelWindow cancellable;  // Guarded deferred cancellation to the waits
      n = libc().recv(fd, &token, 1, 0);
    }
    if (n < 0) return -1;
    // n == 0: the pair ended (the listener was shut down, or the daemon went away): the
    // request says which.
    Request req;
    req.op = Op::kAccept;
    DaemonReply rep;
    if (Call(fd, req, &rep) < 0) {
      if (errno == EAGAIN && n > 0 && !NonBlocking(fd)) continue;  // gone before taken
      return -1;
    }
    if (rep.fd < 0) return Fail(EMFILE);
    const int nfd = Install(rep.fd, s.domain(), SOCK_STREAM, IPPROTO_TCP, flags);
    if (nfd >= 0) {
      auto accepted = FdTable::Get().LookupAs<RemoteSocket>(nfd, FdKind::kRemote);
      if (accepted != nullptr) accepted->connected.store(true);
    }
    if (nfd >= 0 && rep.rep.has_addr != 0) WriteAddress(rep.rep.addr, addr, len, s.domain());
    return nfd;
  }
}

int RemoteGetName(int fd, RemoteSocket& s, sockaddr* addr, socklen_t* len, bool peer) {
  const socklen_t full = s.domain() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (const int e = AddressOutFault(addr, len, full); e != 0) return Fail(e);
  Request req;
  req.op = Op::kGetName;
  req.arg[0] = peer ? 1 : 0;
  DaemonReply rep;
  if (Call(fd, req, &rep) < 0) return -1;
  WriteAddress(rep.rep.addr, addr, len, s.domain());
  return 0;
}

int RemoteGetOption(int fd, RemoteSocket& s, int level, int name, void* value, socklen_t* len) {
  if (value == nullptr || len == nullptr || !UserWritable(len, sizeof(*len))) return Fail(EFAULT);
  if (static_cast<int>(*len) < 0) return Fail(EINVAL);  // every protocol's getsockopt
  if (static_cast<int>(*len) > 0 && !UserWritable(value, *len)) return Fail(EFAULT);
  if (level == SOL_SOCKET && name == SO_ERROR && s.connecting.load()) {
    // The pair said "writable" before the handshake ended: let it end first (at most a
    // second), so that the answer is the connection's.
    Request wait;
    wait.op = Op::kWaitConnected;
    DaemonReply rep;
    if (Call(fd, wait, &rep) < 0) return -1;
    s.connecting.store(false);
    if (rep.rep.result == 0) s.connected.store(true);  // the handshake completed
  }
  Request req;
  req.op = Op::kGetOption;
  req.arg[0] = level;
  req.arg[1] = name;
  req.arg[2] = static_cast<int32_t>(*len);
  DaemonReply rep;
  // Some options read their value first (IP_MSFILTER names the group): it goes along.
  const std::span<const uint8_t> in(static_cast<const uint8_t*>(value),
                                    std::min<size_t>(static_cast<size_t>(*len), 512));
  if (Call(fd, req, &rep, in) < 0) return -1;
  const size_t n = std::min<size_t>(rep.payload.size(), *len);
  std::memcpy(value, rep.payload.data(), n);
  *len = static_cast<socklen_t>(std::min<int32_t>(rep.rep.result, static_cast<int32_t>(*len)));
  return 0;
}

int RemoteSetOption(int fd, RemoteSocket& s, int level, int name, const void* value,
                    socklen_t len) {
  if (static_cast<int>(len) < 0) return Fail(EINVAL);
  if (len > 0 && (value == nullptr || !UserReadable(value, len))) return Fail(EFAULT);
  if (static_cast<size_t>(len) > 4096) return Fail(EINVAL);
  if (level == SOL_SOCKET && name == SO_BINDTODEVICE) {
    // The stack's one interface, by name (or "" to unbind), as in the in-process mode.
    std::string want(static_cast<const char*>(value), len > 0 ? static_cast<size_t>(len) : 0);
    want = want.substr(0, want.find('\0'));
    pytcpd::HostInfo info;
    if (want.empty()) return 0;
    if (!DaemonHostInfo(&info)) return Fail(ENETDOWN);
    return want == info.iface ? 0 : Fail(ENODEV);
  }
  Request req;
  req.op = Op::kSetOption;
  req.arg[0] = level;
  req.arg[1] = name;
  DaemonReply rep;
  if (Call(fd, req, &rep,
           std::span<const uint8_t>(static_cast<const uint8_t*>(value), static_cast<size_t>(len))) < 0) {
    return -1;
  }
  if (level == IPPROTO_TCP && name == TCP_INQ && len >= static_cast<socklen_t>(sizeof(int))) {
    int on = 0;
    std::memcpy(&on, value, sizeof(on));
    s.tcp_inq.store(on != 0);
  }
  // Timeouts also bind the kernel's waits on the pair (a blocking read, the accept wait).
  if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
    (void)libc().setsockopt(fd, level, name, value, len);
  }
  // Urgent data reaches the program as the pair's own out-of-band byte (pytcpd/README.md):
  // SO_OOBINLINE acts on our end of the pair.
  if (level == SOL_SOCKET && name == SO_OOBINLINE && s.stream()) {
    (void)libc().setsockopt(fd, level, name, value, len);
  }
  // A stream's receive waits for SO_RCVLOWAT bytes in the pair, as tcp_recvmsg's target.
  if (level == SOL_SOCKET && name == SO_RCVLOWAT && s.stream()) {
    (void)libc().setsockopt(fd, level, name, value, len);
  }
  s.RecordOption(level, name, value, len);
  return 0;
}

int RemoteShutdown(int fd, RemoteSocket& s, int how) {
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return Fail(EINVAL);
  Request req;
  req.op = Op::kShutdown;
  req.arg[0] = how;
  DaemonReply rep;
  const int r = Call(fd, req, &rep);
  // inet_shutdown records a message socket's shutdown even when it says ENOTCONN.
  const bool recorded = r == 0 || (!s.stream() && errno == ENOTCONN);
  if (!recorded) return -1;
  const int error = errno;
  s.shut.store(true);
  if (s.stream() && s.connecting.exchange(false)) {
    // tcp_disconnect of a connecting socket: never connected, ECONNRESET pending.
    s.connected.store(false);
  }
  // A stream's writing side ends through the pair, after what was written before it; a
  // datagram socket's sends through the pair fail with EPIPE from now on, as
  // sock_alloc_send_pskb's after SEND_SHUTDOWN (and the pair's own end polls POLLHUP
  // once the daemon shut its side for SHUT_RD).
  if (how != SHUT_RD) (void)libc().shutdown(fd, SHUT_WR);
  if (r < 0) errno = error;
  return r;
}

int RemoteIoctl(int fd, RemoteSocket& s, unsigned long request, void* arg) {
  if (request == FIONREAD && !s.stream()) {
    // udp_ioctl: the size of the next datagram (0 when none, or an error's mark is first).
    if (arg == nullptr) return Fail(EFAULT);
    pytcpd::DatagramHeader h;
    int n = 0;
    if (libc().recv(fd, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT) == sizeof(h) &&
        h.kind == pytcpd::kDatagramData) {
      n = static_cast<int>(h.length);
    }
    std::memcpy(arg, &n, sizeof(n));
    return 0;
  }
  // udp_ioctl knows no SIOCATMARK (ENOTTY); the SOCK_SEQPACKET pair would say EOPNOTSUPP.
  // A stream's is the pair's own: the peer's urgent byte is the pair's out-of-band byte.
  if (request == SIOCATMARK && !s.stream()) return Fail(ENOTTY);
  if (request == SIOCOUTQ) {
    if (arg == nullptr) return Fail(EFAULT);
    Request req;
    req.op = Op::kIoctl;
    req.arg[0] = static_cast<int32_t>(request);
    DaemonReply rep;
    const int n = Call(fd, req, &rep);
    if (n < 0) return -1;
    std::memcpy(arg, &n, sizeof(n));
    return 0;
  }
  if (request == SIOCGSTAMP) {
    // A stream keeps no stamp (tcp_recvmsg never records one).
    timeval tv{};
    const int e = s.stream() ? ENOENT : s.stamp.Get(&tv);
    if (e != 0) return Fail(e);
    if (arg == nullptr || !UserWritable(arg, sizeof(tv))) return Fail(EFAULT);
    std::memcpy(arg, &tv, sizeof(tv));
    return 0;
  }
  if (request == FIOCLEX || request == FIONCLEX) {
    FdTable::Get().set_cloexec(fd, request == FIOCLEX);
  }
  // The interface and ARP requests are about the daemon's stack, not about the pair (the
  // kernel would answer them for any socket, with its own view of the TAP device).
  if (IsArpIoctl(request)) return ArpIoctl(request, arg);
  if (IsInterfaceIoctl(request)) return InterfaceIoctl(request, arg);
  return libc().ioctl(fd, request, arg);
}

namespace {

constexpr ssize_t kAskDaemon = -2;

// A message of the pair as the daemon frames a datagram: the DatagramHeader `h`, then
// the program's own buffers, gathered or scattered in place. Not copyable: m points into
// parts.
struct FramedMessage {
  FramedMessage(pytcpd::DatagramHeader* h, const msghdr* msg) {
    parts.push_back(iovec{h, sizeof(*h)});
    parts.insert(parts.end(), msg->msg_iov, msg->msg_iov + msg->msg_iovlen);
    m.msg_iov = parts.data();
    m.msg_iovlen = parts.size();
  }
  FramedMessage(const FramedMessage&) = delete;
  FramedMessage& operator=(const FramedMessage&) = delete;

  absl::InlinedVector<iovec, 8> parts;
  msghdr m{};
};

// A datagram into the pair (DatagramHeader and the data, one message), when nothing about
// it needs the daemon's answer at once: the socket has its port already, the destination
// is a unicast one (a broadcast needs SO_BROADCAST: EACCES), the flags are plain ones.
// Returns what sendmsg returns, or kAskDaemon.
ssize_t SendThroughPair(int fd, RemoteSocket& s, const msghdr* msg, int flags, size_t total,
                        const SendAncillary& anc) {
  // A source from IP_PKTINFO may be refused (ENETUNREACH): the daemon is asked.
  if (!s.bound.load() || (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_CONFIRM)) != 0 ||
      total > 65000 || !anc.src.is_unspecified()) {
    return kAskDaemon;
  }
  pytcpd::DatagramHeader h;
  h.anc.SetSend(anc);
  h.length = static_cast<uint32_t>(total);
  h.flags = flags & MSG_CONFIRM;
  // __copy_msghdr: a name without a length is no name, a longer one is cut.
  if (msg->msg_name != nullptr && msg->msg_namelen != 0) {
    auto a = SendToAddress(static_cast<const sockaddr*>(msg->msg_name),
                           std::min<socklen_t>(msg->msg_namelen, sizeof(sockaddr_storage)),
                           s.domain());
    if (!a.ok() || a->port == 0 || a->ip.is_multicast() || ShouldHandOver(*a) ||
        (a->ip.is_v4() && a->ip.v4() == Ip4Address::Broadcast())) {
      return kAskDaemon;
    }
    h.has_addr = 1;
    h.addr = *a;
  } else if (!s.connected.load()) {
    return kAskDaemon;  // EDESTADDRREQ, said by the daemon
  }
  FramedMessage framed(&h, msg);
  ssize_t n;
  {
    CancelWindow cancellable;  // a full pair blocks as a full sndbuf does
    n = libc().sendmsg(fd, &framed.m, (flags & MSG_DONTWAIT) | MSG_NOSIGNAL);
  }
  if (n < 0) {
    // EPIPE after the program's own shutdown(SHUT_WR) is the socket's (no SIGPIPE for a
    // datagram); otherwise the daemon is gone.
    if (errno == EPIPE && s.shut.load()) return Fail<ssize_t>(EPIPE);
    if (errno == EPIPE || errno == ECONNRESET) return Fail<ssize_t>(ENETDOWN);  // no daemon
    return -1;
  }
  return static_cast<ssize_t>(total);
}

// The error queue and out-of-band reads ask the daemon.
ssize_t RecvByRequest(int fd, msghdr* msg, int flags, RemoteSocket& s) {
  size_t room = 0;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) room += msg->msg_iov[i].iov_len;
  Request req;
  req.op = Op::kRecv;
  req.arg[0] = flags & ~MSG_DONTWAIT;
  req.arg[1] = static_cast<int32_t>(std::min<size_t>(room, pytcpd::kMaxPayload));
  DaemonReply rep;
  if (Call(fd, req, &rep) < 0) return -1;
  size_t left = rep.payload.size();
  const uint8_t* src = rep.payload.data();
  for (size_t i = 0; i < msg->msg_iovlen && left > 0; ++i) {
    const size_t k = std::min(left, msg->msg_iov[i].iov_len);
    std::memcpy(msg->msg_iov[i].iov_base, src, k);
    src += k;
    left -= k;
  }
  if (msg->msg_name != nullptr) {
    WriteAddress(rep.rep.addr, static_cast<sockaddr*>(msg->msg_name), &msg->msg_namelen,
                 s.domain());
  }
  msg->msg_controllen = 0;
  msg->msg_flags = rep.rep.arg[1];
  return (flags & MSG_TRUNC) != 0 ? rep.rep.arg[0] : static_cast<ssize_t>(rep.payload.size());
}

// A datagram from the pair: one message, its header into `h`, the data into the caller's
// buffers (cut short by the kernel, MSG_TRUNC, as udp_recvmsg cuts). The kernel's own wait
// serves O_NONBLOCK, MSG_DONTWAIT, SO_RCVTIMEO, signals and cancellation.
ssize_t RecvFromPair(int fd, RemoteSocket& s, msghdr* msg, int flags) {
  // The data's faults are the kernel's own (the pair's recvmsg); the name is written here.
  if (msg->msg_name != nullptr &&
      !UserWritable(msg->msg_name, std::min<size_t>(msg->msg_namelen, sizeof(sockaddr_in6)))) {
    return Fail<ssize_t>(EFAULT);
  }
  while (true) {
    pytcpd::DatagramHeader h;
    FramedMessage framed(&h, msg);
    ssize_t n;
    {
      CancelWindow cancellable;
      n = libc().recvmsg(fd, &framed.m, flags & (MSG_PEEK | MSG_DONTWAIT | MSG_WAITALL));
    }
    if (n < 0) return -1;
    if (n == 0) {
      // The pair ended: the socket was shut for reading (0, as udp after SHUT_RD), or the
      // daemon is gone (ENETDOWN, as the connection went with it).
      Request req;
      req.op = Op::kStatus;
      DaemonReply rep;
      return Call(fd, req, &rep) < 0 && errno != EBADF ? Fail<ssize_t>(ENETDOWN) : 0;
    }
    if (static_cast<size_t>(n) < sizeof(h)) return Fail<ssize_t>(EIO);
    if (h.kind == pytcpd::kDatagramError) {
      // The error comes before the datagrams behind it (sock_error), taken once; a mark
      // whose error SO_ERROR took already is passed over.
      if ((flags & MSG_PEEK) != 0) (void)libc().recv(fd, &h, sizeof(h), MSG_DONTWAIT);
      Request req;
      req.op = Op::kStatus;
      DaemonReply rep;
      if (Call(fd, req, &rep) < 0) return -1;
      if (rep.rep.result != 0) return Fail<ssize_t>(rep.rep.result);
      continue;
    }
    if (msg->msg_name != nullptr) {
      WriteAddress(h.addr, static_cast<sockaddr*>(msg->msg_name), &msg->msg_namelen, s.domain());
    }
    int out_flags = framed.m.msg_flags & MSG_TRUNC;
    if (msg->msg_control != nullptr && msg->msg_controllen > 0) {
      // What the daemon's socket was told with the datagram (DatagramAncillary).
      WriteControlMessages(h.anc.Received(), s.domain(), msg, &out_flags);
    } else {
      msg->msg_controllen = 0;
    }
    msg->msg_flags = out_flags;
    const size_t got = static_cast<size_t>(n) - sizeof(h);
    return (flags & MSG_TRUNC) != 0 ? static_cast<ssize_t>(h.length) : static_cast<ssize_t>(got);
  }
}

}  // namespace

ssize_t RemoteStreamWritten(int fd, RemoteSocket& s, ssize_t n, int flags) {
  if (n >= 0 || errno != EPIPE) return n;
  // The pair's writing side is shut: by the program itself, or by the daemon because the
  // connection ended. tcp_sendmsg's sk_stream_error: a pending error first, taken once (a
  // reset's ECONNRESET, without SIGPIPE), else EPIPE with SIGPIPE.
  if (!s.shut.load()) {
    Request req;
    req.op = Op::kStatus;
    req.arg[0] = 0;
    DaemonReply rep;
    if (Call(fd, req, &rep) > 0 && rep.rep.result != EPIPE) {
      return Fail<ssize_t>(rep.rep.result);
    }
  }
  if ((flags & MSG_NOSIGNAL) == 0) raise(SIGPIPE);
  return Fail<ssize_t>(EPIPE);
}

ssize_t RemoteSend(int fd, RemoteSocket& s, const msghdr* msg, int flags) {
  if (const int e = MsgHeaderFault(msg, false); e != 0) return Fail<ssize_t>(e);
  if (s.stream()) {
    if (const int e = RemoteStreamCheck(fd, s, /*sending=*/true, flags); e != 0) {
      return Fail<ssize_t>(e);
    }
    // A connected stream ignores a destination, as tcp_sendmsg does.
    msghdr m = *msg;
    m.msg_name = nullptr;
    m.msg_namelen = 0;
    ssize_t n;
    {
      CancelWindow cancellable;  // the kernel's wait, cancellable as for a socket
      n = libc().sendmsg(fd, &m, flags | MSG_NOSIGNAL);
    }
    return RemoteStreamWritten(fd, s, n, flags);
  }
  size_t total = 0;
  std::vector<UserRange> ranges;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) {
    total += msg->msg_iov[i].iov_len;
    ranges.push_back(UserRange{msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len});
  }
  if (total > pytcpd::kMaxPayload) return Fail<ssize_t>(EMSGSIZE);
  if (!UserReadable(ranges)) return Fail<ssize_t>(EFAULT);  // ip_generic_getfrag
  SendAncillary anc;
  if (const int e = ParseSendControlMessages(msg, s.domain(), &anc); e != 0) {
    return Fail<ssize_t>(e);
  }
  if (const ssize_t n = SendThroughPair(fd, s, msg, flags, total, anc); n != kAskDaemon) return n;
  std::vector<uint8_t> data;
  data.reserve(total + sizeof(pytcpd::DatagramAncillary));
  if (!anc.empty()) {
    // kSend's arg1: the control messages lead the payload.
    pytcpd::DatagramAncillary da;
    da.SetSend(anc);
    const auto* p = reinterpret_cast<const uint8_t*>(&da);
    data.insert(data.end(), p, p + sizeof(da));
  }
  for (size_t i = 0; i < msg->msg_iovlen; ++i) {
    const auto* p = static_cast<const uint8_t*>(msg->msg_iov[i].iov_base);
    data.insert(data.end(), p, p + msg->msg_iov[i].iov_len);
  }
  Request req;
  req.op = Op::kSend;
  req.arg[0] = flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL);
  req.arg[1] = anc.empty() ? 0 : 1;
  // __copy_msghdr: a name without a length is no name, a longer one is cut.
  if (msg->msg_name != nullptr && msg->msg_namelen != 0) {
    auto a = SendToAddress(static_cast<const sockaddr*>(msg->msg_name),
                           std::min<socklen_t>(msg->msg_namelen, sizeof(sockaddr_storage)),
                           s.domain());
    if (!a.ok()) return FailWith<ssize_t>(a);
    if (ShouldHandOver(*a) && !s.committed.load()) {
      if (const int e = HandOver(fd, s); e != 0) return Fail<ssize_t>(e);
      return libc().sendmsg(fd, msg, flags);
    }
    req.addr = *a;
    req.has_addr = 1;
  }
  s.committed.store(true);
  DaemonReply rep;
  const int n = Call(fd, req, &rep, data);
  if (n >= 0) s.bound.store(true);  // sending bound it (inet_autobind)
  return n;
}

ssize_t RemoteRecv(int fd, RemoteSocket& s, msghdr* msg, int flags) {
  if (const int e = MsgHeaderFault(msg, true); e != 0) return Fail<ssize_t>(e);
  if (s.stream()) {
    if (const int e = RemoteStreamCheck(fd, s, /*sending=*/false, flags); e != 0) {
      // tcp_recv_urg: recv(MSG_OOB) on a socket that never connected has no urgent data
      // (EINVAL); a listener says ENOTCONN (tcp_recvmsg_locked).
      if (e == ENOTCONN && (flags & MSG_OOB) != 0 && !s.listening.load()) return Fail<ssize_t>(EINVAL);
      return Fail<ssize_t>(e);
    }
    size_t want = 0;
    for (size_t i = 0; i < msg->msg_iovlen; ++i) want += msg->msg_iov[i].iov_len;
    msghdr m = *msg;
    m.msg_name = nullptr;
    m.msg_namelen = 0;
    m.msg_control = nullptr;
    m.msg_controllen = 0;
    // MSG_TRUNC on a stream discards without copying (tcp_recvmsg_locked); the pair, an
    // AF_UNIX stream, would copy: the bytes go to a scratch buffer instead, at most 64 KiB
    // at a time.
    std::vector<uint8_t> scratch;
    iovec scratch_iov{};
    if ((flags & (MSG_TRUNC | MSG_PEEK)) == MSG_TRUNC) {
      scratch.resize(std::min<size_t>(want, 64 * 1024));
      scratch_iov = iovec{scratch.data(), scratch.size()};
      m.msg_iov = &scratch_iov;
      m.msg_iovlen = 1;
      flags &= ~MSG_TRUNC;
    }
    ssize_t n;
    {
      CancelWindow cancellable;  // the kernel's wait, cancellable as for a socket
      n = libc().recvmsg(fd, &m, flags);
    }
    msg->msg_namelen = 0;
    const size_t room = msg->msg_control != nullptr ? msg->msg_controllen : 0;
    msg->msg_controllen = 0;
    msg->msg_flags = m.msg_flags;
    if (n >= 0 && s.tcp_inq.load()) {
      // TCP_CM_INQ (tcp_recvmsg): the bytes left to read. The daemon moves what TCP
      // received into the pair as it arrives, so the pair holds them.
      int left = 0;
      (void)libc().ioctl(fd, FIONREAD, &left);
      if (room >= CMSG_SPACE(sizeof(int))) {
        auto* c = static_cast<cmsghdr*>(msg->msg_control);
        c->cmsg_level = SOL_TCP;
        c->cmsg_type = TCP_CM_INQ;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &left, sizeof(left));
        msg->msg_controllen = CMSG_SPACE(sizeof(int));
      } else if (room > 0) {
        msg->msg_flags |= MSG_CTRUNC;
      }
    }
    if (n != 0 || want == 0) return n;
    // The end of the stream: the peer's FIN, or an error the daemon kept for us.
    Request req;
    req.op = Op::kStatus;
    DaemonReply rep;
    // No daemon any more: the connection went with it.
    if (Call(fd, req, &rep) < 0) return errno == EBADF ? 0 : -1;
    return rep.rep.result != 0 ? Fail<ssize_t>(rep.rep.result) : 0;
  }
  if ((flags & (MSG_ERRQUEUE | MSG_OOB)) != 0) return RecvByRequest(fd, msg, flags, s);
  const ssize_t n = RecvFromPair(fd, s, msg, flags);
  if (n >= 0 && (flags & MSG_PEEK) == 0) s.stamp.NoteReceived();  // SIOCGSTAMP
  return n;
}

}  // namespace pytcp::shim
