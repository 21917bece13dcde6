#include "pytcpd/server.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <malloc.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>

#include "pytcpd/socket_holders.h"
#include "stack/base/private_file.h"
#include "stack/base/log.h"
#include "stack/stack_arp_ioctl.h"
#include "stack/stack_query.h"

namespace pytcp::pytcpd {
namespace {

LogChannel log_daemon("pytcpd");

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

constexpr size_t kChunk = 64 * 1024;  // one read or write between a pair and a socket
constexpr size_t kMaxMessage = sizeof(Request) + kMaxPayload;
// How many ended streams' errors are remembered for kStatus after their socket is gone.
constexpr size_t kEndedKept = 4096;
constexpr int kPairBuffer = 2 * 1024 * 1024;
// getsockopt(SO_ERROR) on a socket that is still connecting waits this long at most for
// the handshake to end (protocol.h: the pair is writable before the connection is).
constexpr auto kConnectAnswerWait = std::chrono::seconds(1);
// How often a held pair (both directions shut) is checked for its program's last close.
constexpr auto kHeldCheck = std::chrono::milliseconds(250);

template <typename T>
std::span<const uint8_t> Bytes(const T& v) {
  return {reinterpret_cast<const uint8_t*>(&v), sizeof(T)};
}

// Whether the process behind a control connection has CAP_NET_BIND_SERVICE (uid 0 without
// it, as in a container that dropped it, is refused like the kernel refuses it).
bool HasBindCapability(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (f == nullptr) return false;
  char line[256];
  uint64_t eff = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, "CapEff:", 7) == 0) {
      eff = std::strtoull(line + 7, nullptr, 16);
      break;
    }
  }
  std::fclose(f);
  constexpr int kCapNetBindService = 10;  // linux/capability.h
  return (eff >> kCapNetBindService) & 1;
}

}  // namespace

// One stack socket and the daemon's end of its pair.
struct Server::Served final : ReadinessListener {
  enum class Mode : uint8_t { kIdle, kStream, kListener, kDatagram, kClosing };

  Server* server = nullptr;
  uint64_t id = 0;
  uint64_t cookie = 0;  // SO_COOKIE of the program's end
  ino_t ino = 0;        // and its inode (both name it to sock_diag)
  bool held = false;    // both directions shut, the program holds it: not watched (held_)
  std::shared_ptr<Socket> sock;
  int domain = AF_INET;
  int type = SOCK_STREAM;
  int dfd = -1;
  Mode mode = Mode::kIdle;
  bool connect_started = false;
  bool connect_resolved = false;  // the handshake ended (either way) since the last connect
  size_t filler = 0;  // bytes the program wrote into the pair while connecting (not data)
  SocketAddress connect_to;
  // TCP -> pair: what the pair did not take yet; pair -> TCP: what TCP did not take yet.
  std::vector<uint8_t> to_pair;
  std::vector<uint8_t> from_pair;
  // Urgent data rides on the pair as the kernel's own AF_UNIX out-of-band byte, so that
  // the program's recv(MSG_OOB), SO_OOBINLINE, SIOCATMARK, POLLPRI/EPOLLPRI (also in
  // epoll and select) and SIGURG to its F_SETOWN owner are the kernel's, as on a TCP
  // socket. to_pair_urgent: to_pair is the peer's urgent byte (sent with MSG_OOB);
  // from_pair_urgent: from_pair is the program's (TCP sends it with MSG_OOB); oob_seen:
  // the pair showed EPOLLPRI, so its mark is looked for before the next read.
  bool to_pair_urgent = false;
  bool from_pair_urgent = false;
  bool oob_seen = false;
  bool oobinline = false;  // the program's SO_OOBINLINE (set on its end of the pair)
  bool client_eof = false;   // the program shut its writing side (or is gone)
  bool pair_reset = false;   // the program's end went with data unread in it
  bool sent_eof = false;     // the daemon shut its writing side: the stream ended
  bool pair_rd_shut = false;  // and its reading side: the program's writes fail (EPIPE)
  int lowat = 1;              // SO_RCVLOWAT: data enters an empty pair this much at a time
  bool tcp_shut_wr = false;  // FIN queued
  int stream_error = 0;      // why the stream ended (0: the peer's FIN)
  uint64_t tokens_written = 0;
  uint64_t tokens_taken = 0;
  bool error_marked = false;  // a datagram socket's pending error has its mark in the pair
  uint32_t armed = 0;  // the epoll events asked for now
  std::vector<Waiter> waiters;

  void OnReadinessChange(ReadinessMask) override { server->MarkDirty(id); }
};

struct Server::Client {
  uint64_t id = 0;
  int fd = -1;
  pid_t pid = 0;
  uid_t uid = 0;
};

Server::Server(Stack* stack, ServerOptions options)
    : stack_(stack), options_(std::move(options)), scratch_(kMaxMessage) {
  idle_since_ = std::chrono::steady_clock::now();
  stack_->set_socket_owners([this] { return NameOwners(); });
}

Server::~Server() {
  stack_->set_socket_owners(nullptr);
  for (auto& [id, s] : served_) {
    s->sock->RemoveListener(s.get());
    s->sock->Close();
    if (s->dfd >= 0) close(s->dfd);
  }
  for (auto& [id, c] : clients_) close(c->fd);
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    unlink(options_.control_path.c_str());
  }
  for (int fd : {epoll_fd_, wake_fd_, signal_fd_}) {
    if (fd >= 0) close(fd);
  }
}

absl::Status Server::Listen() {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (options_.control_path.size() >= sizeof(sun.sun_path)) {
    return absl::InvalidArgumentError("control socket path too long: " + options_.control_path);
  }
  std::memcpy(sun.sun_path, options_.control_path.c_str(), options_.control_path.size() + 1);
  // The directory: ours and writable by nobody else (private_file.h); readable by others
  // so that a group allowed in (--group) reaches the socket, which is what guards.
  const std::string dir = options_.control_path.substr(0, options_.control_path.rfind('/'));
  if (!dir.empty()) {
    if (absl::Status s = EnsureOwnDirectory(dir, 0755); !s.ok()) return s;
  }
  // Someone answering there is a daemon already serving this interface.
  const int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    const bool live = connect(probe, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) == 0;
    close(probe);
    if (live) {
      return absl::AlreadyExistsError("a daemon already serves " + options_.control_path);
    }
  }
  listen_fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) return absl::InternalError(std::string("socket: ") + strerror(errno));
  // Nobody answered: a socket there is stale and is replaced; anything else is refused.
  // No umask() (the stack's threads run already): private_file.h says how.
  if (absl::Status s = BindUnixSocket(listen_fd_, options_.control_path, options_.allow_group ? 0660 : 0600);
      !s.ok()) {
    close(listen_fd_);
    listen_fd_ = -1;
    return s;
  }
  if (options_.allow_group && chown(options_.control_path.c_str(), -1, options_.group) != 0) {
    return absl::PermissionDeniedError("chown " + options_.control_path + ": " + strerror(errno));
  }
  if (listen(listen_fd_, 128) != 0) {
    return absl::InternalError(std::string("listen: ") + strerror(errno));
  }
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  signal_fd_ = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || signal_fd_ < 0) {
    return absl::InternalError(std::string("epoll/eventfd/signalfd: ") + strerror(errno));
  }
  for (auto [fd, tag] : {std::pair{listen_fd_, kListenTag}, std::pair{wake_fd_, kWakeTag},
                         std::pair{signal_fd_, kSignalTag}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = MakeTag(tag, 0);
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  return absl::OkStatus();
}

void Server::Run() {
  epoll_event events[64];
  loop_thread_ = pthread_self();
  in_loop_ = true;
  // The link, lent for as long as the loop runs (-1: the stack has no loop thread, as in
  // tests that drive it, or the link has no fd; the stack's loop then reads it).
  int link_fd = stack_->BeginLinkWait();
  if (link_fd >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = MakeTag(kLinkTag, 0);
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, link_fd, &ev);
  }
  bool worked = false;  // the last round had events (busy polling follows only work)
  while (!stop_) {
    bool dirty_left;  // marked by the loop itself after RunDirty's last round
    {
      std::lock_guard lock(dirty_mu_);
      dirty_left = !dirty_.empty();
    }
    const int timeout = dirty_left ? 0 : NextTimeoutMs();
    int n = 0;
    // PYTCP_BUSY_POLL, as for a program's blocked calls: right after some work, look again
    // without sleeping for up to that long (a reply that comes within it costs no wake-up
    // of this thread). Costs a CPU while it spins; off by default.
    const Duration busy = stack_->config().busy_poll;
    if (busy.count() > 0 && timeout != 0 && worked) {
      const auto until = std::chrono::steady_clock::now() + busy;
      while ((n = epoll_wait(epoll_fd_, events, 64, 0)) == 0 && !stop_ &&
             std::chrono::steady_clock::now() < until) {
        CpuRelax();
      }
    }
    if (n == 0) n = epoll_wait(epoll_fd_, events, 64, timeout);
    worked = n > 0;
    if (n < 0 && errno != EINTR) {
      PYTCP_LOG(log_daemon, kError, "epoll_wait: {}", strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      const uint64_t id = tag & ((uint64_t{1} << 56) - 1);
      switch (static_cast<Tag>(tag >> 56)) {
        case kListenTag: AcceptClients(); break;
        case kWakeTag: {
          uint64_t v;
          [[maybe_unused]] ssize_t r = read(wake_fd_, &v, sizeof(v));
          break;
        }
        case kSignalTag: stop_ = true; break;
        case kClientTag: ServeClient(id); break;
        case kPairTag: OnPairEvent(id, events[i].events); break;
        case kLinkTag:
          // A link that reports an error without frames (the device went away) would wake
          // this loop for ever: it goes back to the stack's own loop, as a program's poll
          // gives it back.
          if (stack_->ProcessLinkForWait() == 0 && (events[i].events & EPOLLIN) == 0 &&
              link_fd >= 0) {
            epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, link_fd, nullptr);
            stack_->EndLinkWait();
            link_fd = -1;
          }
          break;
      }
    }
    RunDirty();
    CheckHeld(/*now=*/false);
    TrimWhenIdle();
    // Only the sockets with a waiting connect (a handful) are looked at, not all of them.
    for (uint64_t id : std::vector<uint64_t>(waiting_.begin(), waiting_.end())) {
      auto it = served_.find(id);
      if (it != served_.end()) ResolveWaiters(*it->second, /*expired_only=*/true);
    }
    if (options_.idle_exit.count() > 0) {
      const auto now = std::chrono::steady_clock::now();
      if (!Idle()) {
        idle_since_ = now;
      } else if (now - idle_since_ >= options_.idle_exit) {
        PYTCP_LOG(log_daemon, kInfo, "idle for {} s: exiting", options_.idle_exit.count());
        stop_ = true;
      }
    }
  }
  in_loop_ = false;
  if (link_fd >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, link_fd, nullptr);
    stack_->EndLinkWait();
  }
}

void Server::Stop() {
  stop_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t r = write(wake_fd_, &one, sizeof(one));
}

Stack::SocketOwners Server::NameOwners() {
  // The console's thread: a copy of the list, then the kernel's /proc, then the sockets'
  // own addresses (each call takes the stack lock by itself).
  std::vector<Owned> owned;
  {
    std::lock_guard lock(owned_mu_);
    for (const auto& [id, o] : owned_) owned.push_back(o);
  }
  std::unordered_set<ino_t> inodes;
  for (const Owned& o : owned) inodes.insert(o.inode);
  const auto holders = SocketHolders(inodes);
  Stack::SocketOwners out;
  for (const Owned& o : owned) {
    auto h = holders.find(o.inode);
    auto sock = o.sock.lock();
    if (h == holders.end() || sock == nullptr) continue;
    auto local = sock->LocalAddress();
    if (!local.ok()) continue;
    Stack::SocketOwnerKey key{o.tcp, *local, {}};
    if (auto peer = sock->PeerAddress(); peer.ok()) key.peer = *peer;
    key.local.scope_id = key.peer.scope_id = 0;
    out[key] = h->second;
  }
  return out;
}

void Server::TrimWhenIdle() {
  // A daemon that served many sockets gives the memory back once it serves none (glibc
  // keeps freed heap otherwise), at most once a second: the host's kernel frees socket
  // memory as sockets go, and a long-lived daemon should look idle when it is.
  if (!trim_due_ || !served_.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_trim_ < std::chrono::seconds(1)) return;
  malloc_trim(0);
  trim_due_ = false;
  last_trim_ = now;
}

bool Server::Idle() const {
  if (!served_.empty() || !clients_.empty()) return false;
  return StackQuery(*stack_).TcpConnectionStates().empty();
}

int Server::NextTimeoutMs() const {
  auto next = std::chrono::steady_clock::time_point::max();
  for (uint64_t id : waiting_) {
    auto it = served_.find(id);
    if (it == served_.end()) continue;
    for (const Waiter& w : it->second->waiters) next = std::min(next, w.deadline);
  }
  if (trim_due_ && served_.empty()) next = std::min(next, last_trim_ + std::chrono::seconds(1));
  if (!held_.empty()) next = std::min(next, held_checked_ + kHeldCheck);
  int ms = -1;
  if (next != std::chrono::steady_clock::time_point::max()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        next - std::chrono::steady_clock::now());
    ms = static_cast<int>(std::clamp<int64_t>(left.count() + 1, 0, 60000));
  }
  if (options_.idle_exit.count() > 0 && (ms < 0 || ms > 1000)) ms = 1000;
  return ms;
}

// ---------------------------------------------------------------------------------
// Control connections.

void Server::AcceptClients() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    ucred cred{};
    socklen_t len = sizeof(cred);
    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
    // The socket file's mode already keeps others out; this also covers a directory
    // whose permissions someone loosened.
    const bool allowed = cred.uid == 0 || cred.uid == getuid() ||
                         (options_.allow_group && cred.gid == options_.group);
    if (!allowed) {
      PYTCP_LOG(log_daemon, kWarn, "refused a client with uid {}", cred.uid);
      close(fd);
      continue;
    }
    auto c = std::make_unique<Client>();
    c->id = next_id_++;
    c->fd = fd;
    c->pid = cred.pid;
    c->uid = cred.uid;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = MakeTag(kClientTag, c->id);
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    clients_[c->id] = std::move(c);
  }
}

void Server::DropClient(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second->fd, nullptr);
  close(it->second->fd);
  clients_.erase(it);
  CheckHeld(/*now=*/true);  // a process ended: its held sockets may have gone with it
  for (uint64_t sid : std::vector<uint64_t>(waiting_.begin(), waiting_.end())) {
    auto s = served_.find(sid);
    if (s == served_.end()) continue;
    std::erase_if(s->second->waiters, [id](const Waiter& w) { return w.client == id; });
    if (s->second->waiters.empty()) waiting_.erase(sid);
  }
}

void Server::ServeClient(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  for (int batch = 0; batch < 16; ++batch) {
    int fd = -1;
    const ssize_t n = ReceiveMessage(c.fd, scratch_, &fd);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0 || static_cast<size_t>(n) < sizeof(Request)) {
      if (fd >= 0) close(fd);
      DropClient(id);  // gone, or not speaking the protocol
      return;
    }
    Request req;
    std::memcpy(&req, scratch_.data(), sizeof(req));
    if (req.payload_len > static_cast<size_t>(n) - sizeof(Request)) {
      if (fd >= 0) close(fd);
      DropClient(id);
      return;
    }
    // The payload is copied: handling may reuse scratch_.
    std::vector<uint8_t> payload(scratch_.begin() + sizeof(Request),
                                 scratch_.begin() + sizeof(Request) + req.payload_len);
    Handle(c, req, payload, fd);
    if (fd >= 0) close(fd);
    if (!clients_.contains(id)) return;
  }
}

void Server::SendReply(Client& c, const Reply& reply, std::span<const uint8_t> payload, int fd) {
  Reply rep = reply;
  rep.payload_len = static_cast<uint32_t>(payload.size());
  const std::span<const uint8_t> parts[] = {Bytes(rep), payload};
  if (SendMessage(c.fd, parts, fd) < 0) {
    // A client that does not read its replies is dropped rather than waited for.
    PYTCP_LOG(log_daemon, kWarn, "client {} does not take its reply: {}", c.pid, strerror(errno));
    DropClient(c.id);
  }
}

void Server::ReplyError(Client& c, uint32_t id, int error) {
  Reply rep;
  rep.id = id;
  rep.result = -1;
  rep.error = error;
  SendReply(c, rep);
}

// ---------------------------------------------------------------------------------
// Requests.

bool Server::MayBindPrivileged(const Client& c) const {
  return HasBindCapability(c.pid);
}

Server::Served* Server::Find(int fd) {
  if (fd < 0) return nullptr;
  const uint64_t cookie = SocketCookie(fd);
  auto it = by_cookie_.find(cookie);
  if (it == by_cookie_.end()) return nullptr;
  auto s = served_.find(it->second);
  return s == served_.end() ? nullptr : s->second.get();
}

Server::Served* Server::Adopt(std::shared_ptr<Socket> sock, int domain, int type,
                              int* client_end) {
  int sv[2];
  // A stream's bytes, or a message socket's datagrams with their headers (DatagramHeader).
  const int pair_type = type == SOCK_STREAM ? SOCK_STREAM : SOCK_SEQPACKET;
  if (socketpair(AF_UNIX, pair_type | SOCK_CLOEXEC, 0, sv) != 0) return nullptr;
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  if (type == SOCK_STREAM) {
    // Room in the pair for a TCP window's worth each way (a unix stream socket's sender
    // accounts for what is in flight): fewer, larger wake-ups on bulk transfers. Beyond
    // wmem_max only for a daemon with CAP_NET_ADMIN (SO_SNDBUFFORCE), else capped there.
    for (int end : sv) {
      if (setsockopt(end, SOL_SOCKET, SO_SNDBUFFORCE, &kPairBuffer, sizeof(kPairBuffer)) != 0) {
        (void)setsockopt(end, SOL_SOCKET, SO_SNDBUF, &kPairBuffer, sizeof(kPairBuffer));
      }
    }
    // The program's send(MSG_OOB) makes an out-of-band byte on the pair: our end keeps it
    // in the stream (never lost to a plain read) and finds it with SIOCATMARK (PumpStream).
    const int one = 1;
    (void)setsockopt(sv[0], SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one));
  }
  auto s = std::make_unique<Served>();
  s->server = this;
  s->id = next_id_++;
  s->cookie = SocketCookie(sv[1]);
  s->sock = std::move(sock);
  s->domain = domain;
  s->type = type;
  s->dfd = sv[0];
  s->mode = type == SOCK_STREAM ? Served::Mode::kIdle : Served::Mode::kDatagram;
  // The daemon never blocks in a socket call: a program's blocking is its own wait.
  s->sock->set_nonblocking(true);
  s->sock->AddListener(s.get());
  epoll_event ev{};
  ev.events = EPOLLRDHUP;
  ev.data.u64 = MakeTag(kPairTag, s->id);
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, s->dfd, &ev);
  *client_end = sv[1];
  struct stat st{};
  if (fstat(sv[1], &st) == 0) {
    s->ino = st.st_ino;
    std::lock_guard lock(owned_mu_);
    owned_[s->id] = Owned{s->sock, st.st_ino, type == SOCK_STREAM};
  }
  Served* raw = s.get();
  by_cookie_[s->cookie] = s->id;
  served_[s->id] = std::move(s);
  served_count_ = served_.size();
  MarkDirty(raw->id);
  return raw;
}

void Server::Handle(Client& c, const Request& req, std::span<const uint8_t> payload, int& fd) {
  Reply rep;
  rep.id = req.id;
  auto fail = [&](int e) { ReplyError(c, req.id, e); };
  if (req.op == Op::kHello) {
    if (req.arg[0] != static_cast<int32_t>(kProtocolVersion)) return fail(EPROTO);
    rep.result = getpid();
    // The program's settings (payload) against ours: the names that differ, with our
    // values, for the one line the program writes (the daemon's configuration stands).
    static const std::string ours = ProgramSettings();
    const std::string theirs(payload.begin(), payload.end());
    std::string differ;
    size_t a = 0, b = 0;
    while (a < ours.size() && b < theirs.size()) {
      const size_t ae = ours.find('\n', a), be = theirs.find('\n', b);
      if (ae == std::string::npos || be == std::string::npos) break;
      if (ours.compare(a, ae - a, theirs, b, be - b) != 0) {
        differ += (differ.empty() ? "" : " ") + ours.substr(a, ae - a);
      }
      a = ae + 1;
      b = be + 1;
    }
    return SendReply(c, rep, std::span<const uint8_t>(
                                 reinterpret_cast<const uint8_t*>(differ.data()), differ.size()));
  }
  if (req.op == Op::kArp) {
    arpreq r{};
    if (payload.size() != sizeof(r)) return fail(EINVAL);
    std::memcpy(&r, payload.data(), sizeof(r));
    if (const int e = StackArpIoctl(*stack_, static_cast<unsigned long>(req.arg[0]), &r); e != 0) {
      return fail(e);
    }
    return SendReply(c, rep, Bytes(r));
  }
  if (req.op == Op::kHostInfo) {
    HostInfo info;
    {
      const StackQuery query(*stack_);
      const std::vector<StackInterfaceInfo> ifaces = query.Interfaces();
      // The interface asked for, by position (HostInfo describes one).
      if (req.arg[0] < 0 || static_cast<size_t>(req.arg[0]) >= ifaces.size()) {
        return fail(ENODEV);
      }
      const auto position = static_cast<uint8_t>(req.arg[0]);
      const StackInterfaceInfo& iface = ifaces[position];
      const StackAddresses addresses = query.Addresses();
      info.interface_count = static_cast<uint32_t>(ifaces.size());
      std::memcpy(info.iface, iface.name.data(),
                  std::min(iface.name.size(), sizeof(info.iface) - 1));
      std::memcpy(info.mac, iface.mac.bytes().data(), 6);
      info.mtu = iface.mtu;
      for (const auto& e : addresses.ip4) {
        if (info.ip4_count == std::size(info.ip4) || !e.usable() || e.iface != position) continue;
        info.ip4[info.ip4_count] = e.ifaddr.address().value();
        info.ip4_prefix[info.ip4_count] = static_cast<uint8_t>(e.ifaddr.prefix_length());
        ++info.ip4_count;
      }
      const Instant now = addresses.now;
      for (const auto& e : addresses.ip6) {
        if (info.ip6_count == std::size(info.ip6)) break;
        if (e.iface != position) continue;
        const uint32_t i = info.ip6_count++;
        std::memcpy(info.ip6[i], e.address().bytes().data(), 16);
        info.ip6_prefix[i] = static_cast<uint8_t>(e.ifaddr.prefix_length());
        info.ip6_state[i] = static_cast<uint8_t>(e.state);
        info.ip6_source[i] = static_cast<uint8_t>(e.source);
        info.ip6_preferred[i] = e.preferred_seconds_left(now);
        info.ip6_valid[i] = e.valid_seconds_left(now);
      }
    }
    for (Ip4Address a : stack_->Dns4Servers()) {
      if (info.dns4_count < std::size(info.dns4)) info.dns4[info.dns4_count++] = a.value();
    }
    for (const Ip6Address& a : stack_->Dns6Servers()) {
      if (info.dns6_count < std::size(info.dns6)) {
        std::memcpy(info.dns6[info.dns6_count++], a.bytes().data(), 16);
      }
    }
    return SendReply(c, rep, Bytes(info));
  }
  if (req.op == Op::kSocket) {
    // Several at once for a program's pool of fresh sockets (one request, one wake-up,
    // for the next few socket() calls).
    const size_t want = std::clamp<size_t>(static_cast<size_t>(std::max(req.arg[3], 1)), 1,
                                           kMaxFdsPerMessage);
    std::vector<int> ends;
    for (size_t i = 0; i < want; ++i) {
      auto sock = stack_->CreateSocket(req.arg[0], req.arg[1], req.arg[2]);
      if (!sock.ok()) {
        if (ends.empty()) return fail(sock.error());
        break;
      }
      int client_end = -1;
      if (Adopt(std::move(*sock), req.arg[0], req.arg[1], &client_end) == nullptr) {
        if (ends.empty()) return fail(EMFILE);
        break;
      }
      ends.push_back(client_end);
    }
    rep.result = static_cast<int32_t>(ends.size());
    Reply r = rep;
    r.payload_len = 0;
    const std::span<const uint8_t> parts[] = {Bytes(r), {}};
    if (SendMessage(c.fd, parts, std::span<const int>(ends)) < 0) {
      PYTCP_LOG(log_daemon, kWarn, "client {} does not take its reply: {}", c.pid, strerror(errno));
      DropClient(c.id);
    }
    for (int e : ends) close(e);
    return;
  }

  if (req.op == Op::kStatus && fd >= 0) {
    // A stream that ended with an error may be gone from the table already (its pair was
    // shut both ways): its error is kept a while for this question.
    auto e = ended_.find(SocketCookie(fd));
    if (e != ended_.end()) {
      rep.result = e->second;
      if (req.arg[0] == 0) e->second = 0;  // read once (sock_error), then an orderly end
      close(fd);
      fd = -1;
      return SendReply(c, rep);
    }
  }
  // Everything else names a socket by the fd the program holds. Our copy of it goes
  // before the reply does: a program that closes its fd right after must find the socket's
  // file gone with it (epoll drops it then; the daemon sees the last reference go).
  Served* sp = Find(fd);
  if (fd >= 0) {
    close(fd);
    fd = -1;
  }
  if (sp == nullptr) return fail(EBADF);
  Served& s = *sp;
  Socket& sock = *s.sock;
  switch (req.op) {
    case Op::kBind: {
      // Linux (inet_bind): ports below 1024 need CAP_NET_BIND_SERVICE.
      if (req.addr.port != 0 && req.addr.port < 1024 && !MayBindPrivileged(c)) {
        return fail(EACCES);
      }
      auto r = sock.Bind(req.addr);
      return r.ok() ? SendReply(c, rep) : fail(r.error());
    }
    case Op::kListen: {
      auto r = sock.Listen(req.arg[0]);
      if (!r.ok()) return fail(r.error());
      s.mode = Served::Mode::kListener;
      MarkDirty(s.id);
      return SendReply(c, rep);
    }
    case Op::kConnect: {
      if (req.arg[1] > 0) s.filler += static_cast<size_t>(req.arg[1]);
      auto r = sock.Connect(req.has_addr != 0 ? &req.addr : nullptr);
      if (req.has_addr != 0) s.connect_to = req.addr;
      s.connect_resolved = false;
      if (s.type != SOCK_STREAM) return r.ok() ? SendReply(c, rep) : fail(r.error());
      if (r.ok()) {
        s.connect_started = true;
        CheckConnect(s);
        return SendReply(c, rep);
      }
      if (r.error() != EINPROGRESS) return fail(r.error());
      s.connect_started = true;
      if (req.arg[0] != 0) return fail(EINPROGRESS);  // the program's O_NONBLOCK
      s.waiters.push_back(Waiter{c.id, req.id, std::chrono::steady_clock::time_point::max(),
                                 /*connect_reply=*/true});
      waiting_.insert(s.id);
      return;
    }
    case Op::kWaitConnected: {
      if (s.mode != Served::Mode::kIdle || !s.connect_started || s.connect_resolved) {
        return SendReply(c, rep);
      }
      s.waiters.push_back(
          Waiter{c.id, req.id, std::chrono::steady_clock::now() + kConnectAnswerWait, false});
      waiting_.insert(s.id);
      return;
    }
    case Op::kAccept: {
      ++s.tokens_taken;  // the program took one token before asking
      SocketAddress peer;
      auto r = sock.AcceptSocket(&peer);
      MarkDirty(s.id);
      if (!r.ok()) return fail(r.error());
      int client_end = -1;
      Served* ns = Adopt(std::move(*r), s.domain, SOCK_STREAM, &client_end);
      if (ns == nullptr) return fail(EMFILE);
      ns->mode = Served::Mode::kStream;
      if (s.oobinline) {
        // An accepted socket inherits SO_OOBINLINE from its listener (sock_copy).
        const int one = 1;
        (void)setsockopt(client_end, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one));
        ns->oobinline = true;
      }
      rep.has_addr = 1;
      rep.addr = peer;
      SendReply(c, rep, {}, client_end);
      close(client_end);
      return;
    }
    case Op::kShutdown: {
      const int how = req.arg[0];
      if (s.type == SOCK_STREAM && s.mode == Served::Mode::kStream) {
        // The writing side ends through the pair (the program shut its end), after the
        // data it wrote before; only reading stops here.
        if (how == SHUT_RD || how == SHUT_RDWR) {
          auto r = sock.Shutdown(SHUT_RD);
          if (!r.ok()) return fail(r.error());
          // The program's reading ends now, as tcp_shutdown's RCV_SHUTDOWN: what the pair
          // holds stays readable, then the end (POLLIN|POLLRDHUP) before the reply.
          PumpStream(s);
        }
        return SendReply(c, rep);
      }
      auto r = sock.Shutdown(how);
      // A connect in progress ends here (tcp_disconnect): the pair becomes writable with
      // the error pending before the reply, as the kernel's socket is at once.
      if (s.mode == Served::Mode::kIdle) CheckConnect(s);
      // inet_shutdown: an unconnected message socket says ENOTCONN but its shutdown is
      // recorded all the same, so its receiving ends here too.
      const bool recorded = r.ok() || (r.error() == ENOTCONN && s.type != SOCK_STREAM);
      if (recorded && (how == SHUT_RD || how == SHUT_RDWR) && s.mode != Served::Mode::kIdle) {
        // A message socket or listener that stops receiving: its pair ends, so a program
        // blocked waiting for a token wakes and learns the outcome (0, EINVAL) by asking.
        shutdown(s.dfd, SHUT_WR);
        s.sent_eof = true;
      }
      if (!r.ok()) return fail(r.error());
      return SendReply(c, rep);
    }
    case Op::kGetName: {
      auto r = req.arg[0] != 0 ? sock.PeerAddress() : sock.LocalAddress();
      if (!r.ok()) return fail(r.error());
      rep.has_addr = 1;
      rep.addr = *r;
      return SendReply(c, rep);
    }
    case Op::kSetOption: {
      if (req.arg[0] == SOL_SOCKET && req.arg[1] == SO_OOBINLINE && s.type == SOCK_STREAM) {
        // The urgent byte reaches the program as the pair's out-of-band byte, so the
        // option acts on the program's end of the pair (the shim sets it there), not on
        // TCP: recorded for getsockopt and for the connections a listener accepts.
        if (payload.size() < sizeof(int)) return fail(EINVAL);
        int v = 0;
        std::memcpy(&v, payload.data(), sizeof(v));
        s.oobinline = v != 0;
        return SendReply(c, rep);
      }
      auto r = sock.SetOption(req.arg[0], req.arg[1], payload.empty() ? nullptr : payload.data(),
                              static_cast<socklen_t>(payload.size()));
      if (!r.ok()) return fail(r.error());
      if (req.arg[0] == SOL_SOCKET && req.arg[1] == SO_RCVLOWAT && payload.size() >= sizeof(int)) {
        int v = 1;
        std::memcpy(&v, payload.data(), sizeof(v));
        s.lowat = std::max(v, 1);
        MarkDirty(s.id);
      }
      return SendReply(c, rep);
    }
    case Op::kGetOption: {
      // A negative length is EINVAL (sock_getsockopt, do_tcp_getsockopt), not an empty read.
      if (req.arg[2] < 0) return fail(EINVAL);
      uint8_t value[512] = {};
      socklen_t len = static_cast<socklen_t>(std::clamp(req.arg[2], 0, 512));
      // The caller's value, for the options that read it first (IP_MSFILTER).
      std::memcpy(value, payload.data(), std::min<size_t>(payload.size(), sizeof(value)));
      if (req.arg[0] == SOL_SOCKET && req.arg[1] == SO_OOBINLINE && s.type == SOCK_STREAM) {
        const int v = s.oobinline ? 1 : 0;
        len = std::min<socklen_t>(len, sizeof(v));
        std::memcpy(value, &v, static_cast<size_t>(len));
        rep.result = static_cast<int32_t>(len);
        return SendReply(c, rep, std::span<const uint8_t>(value, static_cast<size_t>(len)));
      }
      auto r = sock.GetOption(req.arg[0], req.arg[1], value, &len);
      if (!r.ok()) return fail(r.error());
      rep.result = static_cast<int32_t>(len);
      return SendReply(c, rep, std::span<const uint8_t>(value, std::min<size_t>(len, 512)));
    }
    case Op::kSend: {
      PumpDatagramsIn(s);  // after the datagrams the program sent before through the pair
      const ByteSpan parts[] = {payload};
      const SocketAddress* to = req.has_addr != 0 ? &req.addr : nullptr;
      const int flags = req.arg[0] | MSG_DONTWAIT | MSG_NOSIGNAL;
      SysResult<size_t> r = Err{EINVAL};
      if (req.arg[1] == 1) {
        // The control messages first, then the datagram.
        DatagramAncillary anc;
        if (payload.size() < sizeof(anc)) return fail(EINVAL);
        std::memcpy(&anc, payload.data(), sizeof(anc));
        const ByteSpan data[] = {payload.subspan(sizeof(anc))};
        r = sock.SendMsgWith(data, to, flags, anc.Send());
      } else {
        r = sock.SendMsg(parts, to, flags);
      }
      if (!r.ok()) return fail(r.error());
      rep.result = static_cast<int32_t>(*r);
      return SendReply(c, rep);
    }
    case Op::kRecv: {
      const int flags = req.arg[0];
      if ((flags & (MSG_PEEK | MSG_ERRQUEUE)) == 0) ++s.tokens_taken;
      std::vector<uint8_t> buf(static_cast<size_t>(std::clamp(req.arg[1], 0, 65536)));
      const MutableByteSpan parts[] = {MutableByteSpan(buf.data(), buf.size())};
      SocketAddress from;
      int out_flags = 0;
      auto r = sock.RecvMsg(parts, &from, flags | MSG_DONTWAIT, &out_flags, nullptr);
      MarkDirty(s.id);
      if (!r.ok()) return fail(r.error());
      rep.result = static_cast<int32_t>(std::min(*r, buf.size()));
      rep.arg[0] = static_cast<int32_t>(*r);
      rep.arg[1] = out_flags;
      rep.has_addr = 1;
      rep.addr = from;
      return SendReply(c, rep, std::span<const uint8_t>(buf.data(), static_cast<size_t>(rep.result)));
    }
    case Op::kIdentify: {
      rep.result = sock.protocol();
      rep.arg[0] = s.domain;
      rep.arg[1] = s.type;
      if (s.mode == Served::Mode::kListener) {
        rep.has_addr = 2;
      } else if (auto peer = sock.PeerAddress(); peer.ok()) {
        rep.has_addr = 1;
        rep.addr = *peer;
      }
      return SendReply(c, rep);
    }
    case Op::kStatus:
      if (req.arg[0] == 2) {
        // The socket's own poll bits, for the states a pair cannot show (tcp_poll of an
        // unconnected, shut down or disconnected socket).
        rep.result = static_cast<int32_t>(sock.Poll());
        return SendReply(c, rep);
      }
      if (req.arg[0] == 1) {
        // POLLERR as tcp_poll/udp_poll show it: an error not taken yet (a refused connect,
        // an ICMP error on a connected datagram socket, a stream's end by an error).
        rep.result = s.stream_error != 0 ? s.stream_error : (sock.Poll() & POLLERR) != 0 ? 1 : 0;
        return SendReply(c, rep);
      }
      if (s.mode == Served::Mode::kDatagram) {
        // A receive met the error's mark: the error, taken (sock_error), if still there.
        int error = 0;
        socklen_t len = sizeof(error);
        (void)sock.GetOption(SOL_SOCKET, SO_ERROR, &error, &len);
        rep.result = error;
        MarkDirty(s.id);  // the datagrams held back behind the error go on
        return SendReply(c, rep);
      }
      rep.result = s.stream_error;
      s.stream_error = 0;  // read once, as sock_error takes sk_err
      return SendReply(c, rep);
    case Op::kIoctl:
      if (req.arg[0] == SIOCOUTQ) {
        rep.result = static_cast<int32_t>(sock.UnsentBytes() + s.from_pair.size());
      } else {
        rep.result = static_cast<int32_t>(sock.ReadableBytes());
      }
      return SendReply(c, rep);
    default:
      return fail(EOPNOTSUPP);
  }
}

// ---------------------------------------------------------------------------------
// Moving data and readiness.

void Server::MarkDirty(uint64_t id) {
  std::lock_guard lock(dirty_mu_);
  dirty_.insert(id);
  // The loop's own processing (a frame it read, data it sent) is followed by RunDirty.
  if (in_loop_.load(std::memory_order_relaxed) && pthread_equal(loop_thread_.load(), pthread_self())) {
    return;
  }
  if (!wake_pending_) {
    wake_pending_ = true;
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t r = write(wake_fd_, &one, sizeof(one));
  }
}

void Server::RunDirty() {
  for (int round = 0; round < 8; ++round) {
    std::unordered_set<uint64_t> ids;
    {
      std::lock_guard lock(dirty_mu_);
      ids.swap(dirty_);
      wake_pending_ = false;
    }
    if (ids.empty()) return;
    for (uint64_t id : ids) {
      auto it = served_.find(id);
      if (it != served_.end()) Pump(*it->second);
    }
  }
}

void Server::Pump(Served& s) {
  const uint64_t id = s.id;  // `s` may be gone afterwards (an orphan closed)
  switch (s.mode) {
    case Served::Mode::kIdle: CheckConnect(s); break;
    case Served::Mode::kStream:
    case Served::Mode::kClosing: PumpStream(s); break;
    case Served::Mode::kListener: PumpTokens(s); break;
    case Served::Mode::kDatagram:
      PumpDatagramsOut(s);
      PumpDatagramsIn(s);
      break;
  }
  if (served_.contains(id)) Arm(s);
}

void Server::CheckConnect(Served& s) {
  if (!s.connect_started) return;
  // tcp_poll: a connecting socket is neither readable nor writable; then POLLOUT once
  // established, POLLERR/POLLHUP when it failed.
  const ReadinessMask m = s.sock->Poll();
  if ((m & (POLLOUT | POLLERR | POLLHUP | POLLIN)) == 0) return;
  if ((m & (POLLERR | POLLHUP)) == 0) s.mode = Served::Mode::kStream;
  s.connect_resolved = true;
  DrainFiller(s);  // the program's end becomes writable now, as tcp_poll's POLLOUT
  ResolveWaiters(s, /*expired_only=*/false);
  if (s.mode == Served::Mode::kStream) PumpStream(s);
}

void Server::ResolveWaiters(Served& s, bool expired_only) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<Waiter> due;
  std::erase_if(s.waiters, [&](const Waiter& w) {
    if (expired_only && w.deadline > now) return false;
    due.push_back(w);
    return true;
  });
  if (s.waiters.empty()) waiting_.erase(s.id);
  for (const Waiter& w : due) {
    auto c = clients_.find(w.client);
    if (c == clients_.end()) continue;
    Reply rep;
    rep.id = w.request;
    if (w.connect_reply) {
      // A blocking connect() ends as __inet_stream_connect does once the handshake is
      // over: connected (the socket's state moves on), or the error, consumed.
      auto r = s.sock->Connect(&s.connect_to);
      if (!r.ok() && r.error() != EISCONN) {
        rep.result = -1;
        rep.error = r.error();
      }
    }
    SendReply(*c->second, rep);
  }
}

void Server::PumpStream(Served& s) {
  Socket& sock = *s.sock;
  if (s.sent_eof && !s.pair_rd_shut && s.dfd >= 0 && (sock.Poll() & POLLERR) != 0) {
    // A reset after the peer's FIN (tcp_reset in CLOSE_WAIT: EPIPE pending): the socket is
    // closed, so the program's writes fail from now on and its poll shows POLLHUP (the
    // shim adds POLLERR); its data still in the pair is dropped as the kernel's would be.
    shutdown(s.dfd, SHUT_RD);
    s.pair_rd_shut = true;
  }
  // The peer's data into the pair: with SO_RCVLOWAT, into an empty pair only once that
  // much is there (or the stream ended), so the program's poll on the pair says readable
  // when tcp_poll would (tcp_stream_is_readable). SIOCOUTQ: what the program has not read.
  bool hold = false;
  if (s.lowat > 1 && s.to_pair.empty() && s.dfd >= 0) {
    int unread = 0;
    hold = ioctl(s.dfd, SIOCOUTQ, &unread) == 0 && unread == 0 &&
           sock.ReadableBytes() < static_cast<size_t>(s.lowat) &&
           (sock.Poll() & (POLLRDHUP | POLLHUP | POLLERR)) == 0;
  }
  while (!hold && s.mode == Served::Mode::kStream && !s.sent_eof) {
    if (!s.to_pair.empty()) {
      const int oob = s.to_pair_urgent ? MSG_OOB : 0;
      const ssize_t n =
          send(s.dfd, s.to_pair.data(), s.to_pair.size(), MSG_DONTWAIT | MSG_NOSIGNAL | oob);
      if (n < 0) {
        if (errno == EAGAIN) break;
        s.to_pair.clear();  // the program's end is gone: POLLHUP follows
        s.to_pair_urgent = false;
        break;
      }
      s.to_pair.erase(s.to_pair.begin(), s.to_pair.begin() + n);
      if (!s.to_pair.empty()) break;
      s.to_pair_urgent = false;
      continue;
    }
    int out_flags = 0;
    if (auto mark = sock.AtMark(); mark.ok() && *mark) {
      // The peer's urgent byte is next (TCP's reads stopped before it): it goes into the
      // pair with MSG_OOB, so the program's end has it as TCP would (POLLPRI, SIGURG, ...).
      uint8_t byte = 0;
      const MutableByteSpan one[] = {MutableByteSpan(&byte, 1)};
      auto u = sock.RecvMsg(one, nullptr, MSG_OOB | MSG_DONTWAIT, &out_flags, nullptr);
      if (u.ok() && *u == 1) {
        s.to_pair.assign(1, byte);
        s.to_pair_urgent = true;
        continue;
      }
    }
    const MutableByteSpan parts[] = {MutableByteSpan(scratch_.data(), kChunk)};
    auto r = sock.RecvMsg(parts, nullptr, MSG_DONTWAIT, &out_flags, nullptr);
    if (!r.ok() && r.error() == EAGAIN) break;
    if (!r.ok() || *r == 0) {
      // The stream ended: the peer's FIN (0), or a reset or timeout. The program reads
      // the end of the stream and asks (kStatus) which it was.
      s.stream_error = r.ok() ? 0 : r.error();
      // After a reset the program's writes fail with EPIPE, as on the dead connection
      // (shutting our reading side does that); after the peer's FIN it may still write.
      shutdown(s.dfd, s.stream_error != 0 ? SHUT_RDWR : SHUT_WR);
      s.sent_eof = true;
      break;
    }
    const ssize_t n = send(s.dfd, scratch_.data(), *r, MSG_DONTWAIT | MSG_NOSIGNAL);
    const size_t taken = n < 0 ? 0 : static_cast<size_t>(n);
    if (n < 0 && errno != EAGAIN) break;
    if (taken < *r) {
      s.to_pair.assign(scratch_.begin() + static_cast<ptrdiff_t>(taken),
                       scratch_.begin() + static_cast<ptrdiff_t>(*r));
      break;
    }
  }
  // The program's data into TCP.
  DrainFiller(s);
  // After a read, the next one may begin at an out-of-band byte the program sent meanwhile
  // (a read stops before it): the mark is looked for then, and when EPOLLPRI was seen.
  bool look_for_mark = s.oob_seen;
  while (true) {
    if (!s.from_pair.empty()) {
      const ByteSpan parts[] = {s.from_pair};
      const int oob = s.from_pair_urgent ? MSG_OOB : 0;
      auto r = sock.SendMsg(parts, nullptr, MSG_DONTWAIT | MSG_NOSIGNAL | oob);
      if (!r.ok() && r.error() == EAGAIN) break;
      if (!r.ok()) {
        s.from_pair.clear();  // the connection is gone; what the program wrote is lost
      } else {
        s.from_pair.erase(s.from_pair.begin(), s.from_pair.begin() + static_cast<ptrdiff_t>(*r));
        if (!s.from_pair.empty()) break;
      }
      s.from_pair_urgent = false;
      continue;
    }
    if (s.client_eof) {
      if (s.mode == Served::Mode::kClosing) {
        Orphan(s);
        return;
      }
      if (!s.tcp_shut_wr) {
        s.tcp_shut_wr = true;
        (void)sock.Shutdown(SHUT_WR);
      }
      break;
    }
    if (look_for_mark) {
      int mark = 0;
      if (ioctl(s.dfd, SIOCATMARK, &mark) == 0 && mark != 0) {
        // The program's urgent byte: TCP sends it as one (tcp_mark_urg at its end).
        uint8_t byte = 0;
        if (recv(s.dfd, &byte, 1, MSG_DONTWAIT) == 1) {
          s.oob_seen = false;
          s.from_pair.assign(1, byte);
          s.from_pair_urgent = true;
          continue;
        }
      }
    }
    const ssize_t n = recv(s.dfd, scratch_.data(), kChunk, MSG_DONTWAIT);
    look_for_mark = true;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      // ECONNRESET: the program's end went away with data unread in it (read here before
      // the POLLHUP is handled, which then finds the error consumed).
      if (n < 0 && errno == ECONNRESET) s.pair_reset = true;
      // The end of the program's writing: shutdown(SHUT_WR), which becomes our FIN; or its
      // last close, which the POLLHUP path handles as a whole (a close over unread data is
      // a RST alone, as tcp_close sends it, not a FIN then a RST).
      pollfd p{s.dfd, 0, 0};
      if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) != 0 && !liveness_.Alive(s.ino, s.cookie)) {
        break;
      }
      s.client_eof = true;
      continue;
    }
    const ByteSpan parts[] = {ByteSpan(scratch_.data(), static_cast<size_t>(n))};
    auto r = sock.SendMsg(parts, nullptr, MSG_DONTWAIT | MSG_NOSIGNAL);
    const size_t taken = r.ok() ? *r : 0;
    if (!r.ok() && r.error() != EAGAIN) continue;  // gone: discard, as the kernel would
    if (taken < static_cast<size_t>(n)) {
      s.from_pair.assign(scratch_.begin() + static_cast<ptrdiff_t>(taken), scratch_.begin() + n);
      break;
    }
  }
}

void Server::DrainFiller(Served& s) {
  while (s.filler > 0 && s.dfd >= 0) {
    const ssize_t n = recv(s.dfd, scratch_.data(), std::min(s.filler, kChunk), MSG_DONTWAIT);
    if (n < 0 && errno == ECONNRESET) s.pair_reset = true;  // see PumpStream
    if (n <= 0) return;  // it was all written before the request, so this is the end
    s.filler -= static_cast<size_t>(n);
  }
}

void Server::PumpTokens(Served& s) {
  // One token byte in the pair per connection or message waiting to be taken, so that
  // the program's own poll/epoll on its end sees POLLIN exactly then.
  if (s.sent_eof) return;
  // A pending error (an ICMP port unreachable on a connected UDP socket) is taken like a
  // message: the receive that takes the token gets the error.
  const uint64_t queued = s.sock->QueueLength() + ((s.sock->Poll() & POLLERR) != 0 ? 1 : 0);
  const uint64_t outstanding = s.tokens_written - std::min(s.tokens_taken, s.tokens_written);
  if (queued <= outstanding) return;
  const size_t want = std::min<uint64_t>(queued - outstanding, kChunk);
  std::memset(scratch_.data(), 0, want);
  const ssize_t n = send(s.dfd, scratch_.data(), want, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n > 0) s.tokens_written += static_cast<uint64_t>(n);
}

void Server::PumpDatagramsOut(Served& s) {
  // Received datagrams into the pair, each with its header. An error the socket holds
  // comes first (udp_recvmsg gives sk_err before the queue): its mark goes in, and the
  // datagrams wait until a receive (or SO_ERROR) took it.
  if (s.sent_eof || s.dfd < 0) return;
  if ((s.sock->Poll() & POLLERR) != 0) {
    if (!s.error_marked) {
      DatagramHeader mark;
      mark.kind = kDatagramError;
      s.error_marked = send(s.dfd, &mark, sizeof(mark), MSG_DONTWAIT | MSG_NOSIGNAL) > 0;
    }
    return;
  }
  s.error_marked = false;
  while (true) {
    if (!s.to_pair.empty()) {
      const ssize_t n = send(s.dfd, s.to_pair.data(), s.to_pair.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) return;
      s.to_pair.clear();  // sent, or the program's end is gone
      continue;
    }
    DatagramHeader h;
    const MutableByteSpan parts[] = {
        MutableByteSpan(scratch_.data() + sizeof(h), scratch_.size() - sizeof(h))};
    int out_flags = 0;
    RecvAncillary anc;
    auto r = s.sock->RecvMsg(parts, &h.addr, MSG_DONTWAIT | MSG_TRUNC, &out_flags, &anc);
    if (!r.ok()) return;  // EAGAIN, or an error that came meanwhile (marked next time)
    h.anc.SetReceived(anc);
    h.length = static_cast<uint32_t>(*r);
    h.has_addr = 1;
    std::memcpy(scratch_.data(), &h, sizeof(h));
    const size_t size = sizeof(h) + std::min(*r, parts[0].size());
    const ssize_t n = send(s.dfd, scratch_.data(), size, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) {
      s.to_pair.assign(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(size));
      return;
    }
  }
}

void Server::PumpDatagramsIn(Served& s) {
  // The program's datagrams from the pair to the stack. One the stack cannot take now
  // (EAGAIN) waits, and the pair with it (the program's sends block, as on a full sndbuf);
  // one it refuses is dropped, as a datagram the network lost (the program's send already
  // returned: the errors a program must see are asked with kSend instead).
  while (s.dfd >= 0) {
    if (s.from_pair.empty()) {
      const ssize_t n = recv(s.dfd, scratch_.data(), scratch_.size(), MSG_DONTWAIT);
      // 0: the program shut its sending side (every datagram has a header), or is gone
      // (POLLHUP follows). Nothing more comes: the pair is no longer watched for it.
      if (n == 0) s.client_eof = true;
      if (n <= 0) return;
      s.from_pair.assign(scratch_.begin(), scratch_.begin() + n);
    }
    DatagramHeader h;
    if (s.from_pair.size() < sizeof(h)) {
      s.from_pair.clear();
      continue;
    }
    std::memcpy(&h, s.from_pair.data(), sizeof(h));
    const ByteSpan parts[] = {ByteSpan(s.from_pair.data() + sizeof(h), s.from_pair.size() - sizeof(h))};
    const int flags = (h.flags & ~MSG_DONTWAIT) | MSG_DONTWAIT | MSG_NOSIGNAL;
    const SocketAddress* to = h.has_addr != 0 ? &h.addr : nullptr;
    auto r = h.anc.has_send() ? s.sock->SendMsgWith(parts, to, flags, h.anc.Send())
                              : s.sock->SendMsg(parts, to, flags);
    if (!r.ok() && r.error() == EAGAIN) return;
    if (!r.ok()) {
      PYTCP_LOG(log_daemon, kDebug, "a datagram from the pair was refused: {}", strerror(r.error()));
    }
    s.from_pair.clear();
  }
}

void Server::Arm(Served& s) {
  if (s.dfd < 0 || s.held) return;
  // EPOLLRDHUP: the program shut its writing side. Level-triggered, so not asked again
  // once seen (the last close is POLLHUP, which epoll always reports).
  uint32_t want = s.client_eof ? 0u : static_cast<uint32_t>(EPOLLRDHUP);
  if (s.mode == Served::Mode::kStream || s.mode == Served::Mode::kDatagram) {
    if (!s.to_pair.empty()) want |= EPOLLOUT;
    if (s.from_pair.empty() && !s.client_eof) {
      want |= EPOLLIN;
      if (s.mode == Served::Mode::kStream) want |= EPOLLPRI;  // the program's urgent byte
    }
  }
  if (want == s.armed) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = MakeTag(kPairTag, s.id);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s.dfd, &ev);
  s.armed = want;
}

void Server::OnPairEvent(uint64_t id, uint32_t events) {
  auto it = served_.find(id);
  if (it == served_.end()) return;
  Served& s = *it->second;
  if ((events & EPOLLPRI) != 0) s.oob_seen = true;
  if ((events & EPOLLHUP) == 0) {
    Pump(s);
    return;
  }
  if (liveness_.Alive(s.ino, s.cookie)) {
    HoldBothShut(s);
    return;
  }
  ClosePair(s);
}

void Server::HoldBothShut(Served& s) {
  // The program shut its writing side after ours ended, or shut both: what it wrote
  // before goes on (a stream's then ends with our FIN), and the socket stays for its
  // other calls (getsockopt, getpeername, shutdown again) until its last close.
  const uint64_t id = s.id;
  if (s.mode == Served::Mode::kStream) {
    PumpStream(s);
    if (!served_.contains(id)) return;
  } else if (s.mode == Served::Mode::kDatagram) {
    PumpDatagramsIn(s);
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.dfd, nullptr);
  s.held = true;
  s.armed = 0;
  held_.insert(id);
}

void Server::CheckHeld(bool now) {
  if (held_.empty()) return;
  const auto t = std::chrono::steady_clock::now();
  if (!now && t - held_checked_ < kHeldCheck) return;
  held_checked_ = t;
  for (uint64_t id : std::vector<uint64_t>(held_.begin(), held_.end())) {
    auto it = served_.find(id);
    if (it == served_.end()) {
      held_.erase(id);
    } else if (!liveness_.Alive(it->second->ino, it->second->cookie)) {
      held_.erase(id);
      ClosePair(*it->second);
    }
  }
}

void Server::ClosePair(Served& s) {
  // The last fd of the program's end is closed: take what is still in the pair, then
  // close the socket as the kernel closes an orphan. The kernel marked our end
  // ECONNRESET if the program's end went with bytes unread in it (unix_release_sock); it
  // is read first, as the next recv would consume it.
  int so_error = 0;
  socklen_t len = sizeof(so_error);
  getsockopt(s.dfd, SOL_SOCKET, SO_ERROR, &so_error, &len);
  DrainFiller(s);
  // The datagrams the program sent before it closed leave, as their sends returned.
  if (s.mode == Served::Mode::kDatagram) PumpDatagramsIn(s);
  while (s.mode == Served::Mode::kStream) {
    const ssize_t n = recv(s.dfd, scratch_.data(), kChunk, MSG_DONTWAIT);
    if (n <= 0) break;
    s.from_pair.insert(s.from_pair.end(), scratch_.begin(), scratch_.begin() + n);
  }
  if (!s.held) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.dfd, nullptr);
  close(s.dfd);
  s.dfd = -1;
  s.held = false;
  s.client_eof = true;
  // Data the program never read: the kernel resets (tcp_close). The pair says so with
  // ECONNRESET when the program's end went away with bytes unread in it.
  const bool unread = so_error == ECONNRESET || s.pair_reset || !s.to_pair.empty() ||
                      (s.type == SOCK_STREAM && s.sock->ReadableBytes() > 0);
  if (s.mode == Served::Mode::kStream && !unread && !s.from_pair.empty()) {
    s.mode = Served::Mode::kClosing;  // hand TCP the rest first (PumpStream ends in Orphan)
    PumpStream(s);
    return;
  }
  if (unread && s.type == SOCK_STREAM) {
    const linger abort{1, 0};
    (void)s.sock->SetOption(SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
  }
  Orphan(s);
}

void Server::Orphan(Served& s) {
  s.sock->RemoveListener(&s);
  s.sock->Close();  // FIN after the queued data (or RST with SO_LINGER 0), as tcp_close
  Forget(s.id);
}

void Server::Forget(uint64_t id) {
  auto it = served_.find(id);
  if (it == served_.end()) return;
  Served& s = *it->second;
  if (s.dfd >= 0) {
    if (!s.held) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.dfd, nullptr);
    close(s.dfd);
  }
  by_cookie_.erase(s.cookie);
  waiting_.erase(id);
  held_.erase(id);
  {
    std::lock_guard lock(owned_mu_);
    owned_.erase(id);
  }
  if (s.stream_error != 0) {
    ended_[s.cookie] = s.stream_error;
    ended_order_.push_back(s.cookie);
    while (ended_order_.size() > kEndedKept) {
      ended_.erase(ended_order_.front());
      ended_order_.pop_front();
    }
  }
  served_.erase(it);
  served_count_ = served_.size();
  if (served_.empty()) trim_due_ = true;
}

}  // namespace pytcp::pytcpd
