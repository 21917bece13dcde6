#include "shim/daemon_channel.h"

#include <dlfcn.h>
#include <net/if.h>
#include <poll.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "shim/libc.h"
#include "stack/base/private_file.h"
#include "shim/runtime.h"
#include "shim/sockaddr.h"
#include "shim/wait.h"

extern char** environ;

namespace pytcp::shim {
namespace {

using pytcpd::Reply;
using pytcpd::Request;

std::atomic<pid_t> g_daemon_pid{0};

// The settings are read once per program (and inherited by its forks), as RunDirectory().
std::string Interface() {
  static const std::string iface = [] {
    const char* v = ::secure_getenv("PYTCP_IFACE");
    std::string i = v != nullptr && v[0] != '\0' ? v : "tap7";
    return i.substr(0, i.find(','));
  }();
  return iface;
}

// The daemon's program: PYTCP_DAEMON, else beside this library in the build tree
// (build/shim/libpytcp.so, build/pytcpd/pytcpd) or an installed tree (lib/ and sbin/),
// else pytcpd on the PATH.
std::string FindDaemonProgram() {
  if (const char* v = ::secure_getenv("PYTCP_DAEMON"); v != nullptr && v[0] != '\0') return v;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&FindDaemonProgram), &info) != 0 && info.dli_fname != nullptr) {
    std::string dir = info.dli_fname;
    dir = dir.substr(0, dir.rfind('/') + 1);
    for (const char* rel : {"../pytcpd/pytcpd", "pytcpd", "../sbin/pytcpd", "../../sbin/pytcpd"}) {
      const std::string p = dir + rel;
      if (access(p.c_str(), X_OK) == 0) return p;
    }
  }
  return "pytcpd";
}

std::string DaemonProgram() {
  static const std::string program = FindDaemonProgram();
  return program;
}

// PYTCP_IDLE_EXIT: how long a daemon started on demand stays with nothing to serve.
std::string ReadIdleExit() {
  const char* v = ::secure_getenv("PYTCP_IDLE_EXIT");
  if (v == nullptr) return "30";
  char* end = nullptr;
  const long s = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || s < 0 || s > 86400) {
    ReportOnce("idle-exit", std::string("PYTCP_IDLE_EXIT='") + v +
                                "' is not valid: expected seconds from 0 to 86400; using 30");
    return "30";
  }
  return v;
}

std::string IdleExit() {
  static const std::string idle = ReadIdleExit();
  return idle;
}

// Starts `pytcpd --detach` (which returns once it serves) without the preload in its
// environment. True when it serves now (or another one won the race to start).
bool StartDaemon() {
  static std::mutex mu;
  std::lock_guard lock(mu);
  const std::string program = DaemonProgram();
  const std::string idle = IdleExit();
  std::vector<char*> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "LD_PRELOAD=", 11) != 0) env.push_back(*e);
  }
  env.push_back(nullptr);
  char* argv[] = {const_cast<char*>(program.c_str()), const_cast<char*>("--detach"),
                  const_cast<char*>("--idle-exit"), const_cast<char*>(idle.c_str()), nullptr};
  pid_t pid = 0;
  const int e = posix_spawnp(&pid, program.c_str(), nullptr, nullptr, argv, env.data());
  if (e != 0) {
    ReportOnce("daemon-spawn", "cannot start " + program + ": " + strerror(e) +
                                   " (set PYTCP_DAEMON to pytcpd's path)");
    return false;
  }
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  // SIGCHLD ignored: the child was reaped for us (ECHILD); the connect attempts tell.
  if (r == pid && WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3) {
    ReportOnce("daemon-start", program + " could not start (exit status " +
                                   std::to_string(WEXITSTATUS(status)) + "; run it by hand to see why)");
    return false;
  }
  return true;
}

// An exclusive flock(2) on `path` for as long as it lives (none if the file cannot be made:
// starting then races as before, and the loser's start fails visibly). The file is
// made owner-only: a program of another user that may use the daemon finds it running.
class StartLock {
 public:
  explicit StartLock(const std::string& path) : fd_(Open(path)) {
    if (fd_ < 0) return;
    while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~StartLock() {
    if (fd_ >= 0) libc().close(fd_);  // closing lets the lock go
  }
  StartLock(const StartLock&) = delete;
  StartLock& operator=(const StartLock&) = delete;

 private:
  static int Open(const std::string& path) {
    // The run directory as the daemon makes it, if no daemon made it yet; the lock file
    // as every file the stack makes (private_file.h).
    const std::string dir = path.substr(0, path.rfind('/'));
    if (!dir.empty() && !EnsureOwnDirectory(dir, 0755).ok()) return -1;
    auto fd = OpenOwnFile(path, O_RDWR, /*truncate=*/false);
    return fd.ok() ? *fd : -1;
  }
  const int fd_;
};

int ConnectOnce(const std::string& path) {
  const int fd = libc().socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::strncpy(sun.sun_path, path.c_str(), sizeof(sun.sun_path) - 1);
  if (libc().connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) != 0) {
    const int e = errno;
    libc().close(fd);
    errno = e;
    return -1;
  }
  return MoveHigh(fd);
}

int Exchange(int fd, Request& req, std::span<const uint8_t> payload, int attach, DaemonReply* out,
             int timeout_ms);

// A new connection to the daemon, starting one if none serves and `start`. -1 with errno.
int OpenChannel(bool start) {
  const std::string path = pytcpd::ControlSocketPath(Interface());
  int fd = ConnectOnce(path);
  if (fd < 0 && !start) {
    errno = ENETDOWN;
    return -1;
  }
  if (fd < 0 && (errno == ENOENT || errno == ECONNREFUSED)) {
    // Programs started together (a shell loop, make -j) would each start a daemon, and
    // all but one would find the TAP taken: one starts it, under a lock on the run
    // directory's start file, and the others wait for it and then find it serving.
    const StartLock lock(path + ".start");
    fd = ConnectOnce(path);
    if (fd < 0 && !StartDaemon()) {
      errno = ENETDOWN;
      return -1;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (fd < 0 && (fd = ConnectOnce(path)) < 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  if (fd < 0) {
    ReportOnce("daemon-connect", "cannot reach pytcpd at " + path + ": " + strerror(errno));
    errno = ENETDOWN;
    return -1;
  }
  Request hello;
  hello.op = pytcpd::Op::kHello;
  hello.arg[0] = static_cast<int32_t>(pytcpd::kProtocolVersion);
  // Read once, like the other settings (a forked worker's environment may be gone).
  static const std::string settings = pytcpd::ProgramSettings();
  DaemonReply rep;
  if (Exchange(fd, hello,
               std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(settings.data()),
                                        settings.size()),
               -1, &rep, 5000) != 0 ||
      rep.rep.result <= 0) {
    ReportOnce("daemon-hello", "pytcpd at " + path + " does not speak this library's protocol");
    libc().close(fd);
    errno = ENETDOWN;
    return -1;
  }
  g_daemon_pid.store(rep.rep.result, std::memory_order_relaxed);
  // The interface's index, as the in-process stack's start sets it: link-local scope ids
  // and IP_PKTINFO's / IPV6_PKTINFO's ipi_ifindex name the TAP.
  if (LinkLocalScope() == 0) SetLinkLocalScope(if_nametoindex(Interface().c_str()));
  if (!rep.payload.empty()) {
    ReportOnce("daemon-settings",
               "pytcpd (pid " + std::to_string(rep.rep.result) + ") already serves " + Interface() +
                   " with " + std::string(rep.payload.begin(), rep.payload.end()) +
                   ", unlike this program's environment; the daemon's settings stand");
  }
  return fd;
}

struct Channel {
  int fd = -1;
  pid_t pid = 0;
  uint32_t next_id = 1;
  ~Channel() {
    if (fd >= 0 && pid == getpid()) libc().close(fd);
  }
};

thread_local Channel t_channel;

int Exchange(int fd, Request& req, std::span<const uint8_t> payload, int attach, DaemonReply* out,
             int timeout_ms) {
  req.payload_len = static_cast<uint32_t>(payload.size());
  const std::span<const uint8_t> parts[] = {
      {reinterpret_cast<const uint8_t*>(&req), sizeof(req)}, payload};
  if (pytcpd::SendMessage(fd, parts, attach) < 0) return ENETDOWN;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // The reply's buffer: this thread's own, allocated once (a 64 KiB allocation and clearing
  // per call showed in every request's cost); a call made by a signal handler while the
  // thread is in here gets one of its own.
  constexpr size_t kReplyRoom = sizeof(Reply) + pytcpd::kMaxPayload;
  thread_local std::unique_ptr<uint8_t[]> own_buf;
  thread_local bool own_busy = false;
  std::unique_ptr<uint8_t[]> spare;
  uint8_t* room;
  if (!own_busy) {
    if (own_buf == nullptr) own_buf.reset(new uint8_t[kReplyRoom]);
    room = own_buf.get();
    own_busy = true;
  } else {
    spare.reset(new uint8_t[kReplyRoom]);
    room = spare.get();
  }
  struct Release {
    bool mine;
    ~Release() {
      if (mine) own_busy = false;
    }
  } release{spare == nullptr};
  const std::span<uint8_t> buf(room, kReplyRoom);
  while (true) {
    int wait = -1;
    if (timeout_ms >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      wait = static_cast<int>(std::max<int64_t>(left.count(), 0));
    }
    pollfd p{fd, POLLIN, 0};
    // Not a cancellation point (Guarded defers cancellation; no CancelWindow): socket(),
    // bind() and the others glibc declares __THROW wait here too.
    const int r = libc().poll(&p, 1, wait);
    if (r < 0) return errno == EINTR ? EINTR : ENETDOWN;
    if (r == 0) return ETIMEDOUT;
    int got_fd = -1;
    std::vector<int> more;
    const ssize_t n = pytcpd::ReceiveMessage(fd, buf, &got_fd, &more);
    auto drop_fds = [&] {
      if (got_fd >= 0) libc().close(got_fd);
      for (int f : more) libc().close(f);
    };
    if (n < 0 && errno == EINTR) continue;
    if (n < static_cast<ssize_t>(sizeof(Reply))) {
      drop_fds();
      return ENETDOWN;  // the daemon went away
    }
    Reply rep;
    std::memcpy(&rep, buf.data(), sizeof(rep));
    if (rep.id != req.id) {  // the answer to a call given up earlier (EINTR, timeout)
      drop_fds();
      continue;
    }
    out->rep = rep;
    const size_t len = std::min<size_t>(rep.payload_len, static_cast<size_t>(n) - sizeof(Reply));
    out->payload.assign(buf.begin() + sizeof(Reply), buf.begin() + sizeof(Reply) + len);
    out->fd = got_fd;
    out->more_fds = std::move(more);
    return 0;
  }
}

}  // namespace

bool SharedStack() noexcept {
  static const bool shared = [] {
    const char* v = ::secure_getenv("PYTCP_STACK");
    if (v == nullptr || v[0] == '\0' || std::strcmp(v, "process") == 0) return false;
    if (std::strcmp(v, "shared") == 0) return true;
    ReportOnce("stack-mode", std::string("PYTCP_STACK='") + v +
                                 "' is not valid: expected 'shared' or 'process'; using process");
    return false;
  }();
  return shared;
}

pid_t DaemonPid() noexcept { return g_daemon_pid.load(std::memory_order_relaxed); }

int CallDaemon(Request& req, std::span<const uint8_t> payload, int fd, DaemonReply* out,
               int timeout_ms) {
  const bool start = req.op == pytcpd::Op::kSocket || req.op == pytcpd::Op::kHostInfo;
  if (IsVforkChild()) {
    // The parent's memory: leave its connection alone and use one for this call only.
    const int own = OpenChannel(start);
    if (own < 0) return ENETDOWN;
    req.id = 1;
    const int r = Exchange(own, req, payload, fd, out, timeout_ms);
    libc().close(own);
    return r;
  }
  Channel& ch = t_channel;
  const pid_t self = getpid();
  if (ch.fd >= 0 && ch.pid != self) {
    libc().close(ch.fd);  // our copy of the parent's connection (inherited across fork)
    ch.fd = -1;
  }
  if (ch.fd < 0) {
    ch.fd = OpenChannel(start);
    if (ch.fd < 0) return ENETDOWN;
    ch.pid = self;
  }
  req.id = ch.next_id++;
  const int r = Exchange(ch.fd, req, payload, fd, out, timeout_ms);
  if (r == ENETDOWN) {
    libc().close(ch.fd);  // the next call connects again (a new daemon may serve)
    ch.fd = -1;
  }
  return r;
}

bool DaemonHostInfo(pytcpd::HostInfo* info, uint32_t position) {
  Request req;
  req.op = pytcpd::Op::kHostInfo;
  req.arg[0] = static_cast<int32_t>(position);
  DaemonReply rep;
  if (CallDaemon(req, {}, -1, &rep) != 0 || rep.rep.result < 0 ||
      rep.payload.size() != sizeof(*info)) {
    return false;
  }
  std::memcpy(info, rep.payload.data(), sizeof(*info));
  return true;
}

}  // namespace pytcp::shim
