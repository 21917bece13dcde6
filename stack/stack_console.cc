// The console's server: the control socket, its clients' threads, stale sockets.
#include "stack/stack_console.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "fmt/format.h"
#include "stack/base/log.h"
#include "stack/base/private_file.h"
#include "stack/stack.h"
#include "stack/stack_console_views.h"

namespace pytcp {
namespace {

LogChannel log_console("console");

constexpr size_t kMaxClients = 8;
constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxOutput = 1 << 20;
constexpr auto kReadTimeout = std::chrono::seconds(2);
constexpr auto kWriteTimeout = std::chrono::seconds(5);


// Writes all of `data` before `deadline`; false when the client is gone or too slow.
bool WriteAll(int fd, std::string_view data, std::chrono::steady_clock::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    if ((p.revents & (POLLERR | POLLHUP)) != 0) return false;
  }
  return true;
}

// A console socket nobody serves: connect() is refused (or the file is not a socket).
bool Unserved(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return false;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int e = errno;
  ::close(fd);
  return r != 0 && (e == ECONNREFUSED || e == ENOTSOCK);
}

// A process killed by a signal leaves its <pid>.sock behind (nothing runs to remove it).
// When a stack starts with a console in such a directory, it removes the files of pids
// that no longer exist and that nobody serves; a live process's file is never touched.
void RemoveStaleConsoles(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return;
  const std::string dir = path.substr(0, slash);
  if (path.substr(slash + 1) != fmt::format("{}.sock", getpid())) return;  // not the default layout
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() < 6 || name.substr(name.size() - 5) != ".sock") continue;
    const std::string pid = name.substr(0, name.size() - 5);
    if (!IsNumber(pid) || pid.size() > 9) continue;
    const pid_t p = static_cast<pid_t>(std::stol(pid));
    if (p == getpid() || ::kill(p, 0) == 0 || errno != ESRCH) continue;
    const std::string file = dir + "/" + name;
    // Only our own sockets: PYTCP_CONSOLE may name a shared directory such as /tmp.
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != ::geteuid()) continue;
    if (Unserved(file)) {
      ::unlink(file.c_str());
      PYTCP_LOG(log_console, kInfo, "removed the stale console {} (pid {} is gone)", file, p);
    }
  }
  ::closedir(d);
}

}  // namespace

std::string ConsolePathFromEnvironment() {
  // secure_getenv: in a setuid program these name files the user must not choose
  // (README "Secure execution").
  const char* v = ::secure_getenv("PYTCP_CONSOLE");
  if (v != nullptr && *v != '\0') return std::string(v) == "off" ? "" : std::string(v);
  const char* xdg = ::secure_getenv("XDG_RUNTIME_DIR");
  const std::string dir = (xdg != nullptr && *xdg != '\0') ? std::string(xdg) + "/pytcp" : "/run/pytcp";
  // The stack removes stale sockets in this directory, so it must be ours alone.
  if (absl::Status s = EnsureOwnDirectory(dir); !s.ok()) {
    PYTCP_LOG(log_console, kWarn, "no console: {}", std::string(s.message()));
    return "";
  }
  return fmt::format("{}/{}.sock", dir, getpid());
}

absl::StatusOr<std::unique_ptr<StackConsole>> StackConsole::Start(Stack* stack,
                                                                  const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError("PYTCP_CONSOLE: path empty or too long: " + path);
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(fmt::format("console socket: {}", std::strerror(errno)));
  RemoveStaleConsoles(path);
  // Owner only, without the process-wide umask (private_file.h); a stale socket of a
  // process that died with our pid is replaced, anything else at the path is refused.
  if (absl::Status s = BindUnixSocket(fd, path, 0600); !s.ok()) {
    ::close(fd);
    return absl::InternalError(fmt::format("console: {}", std::string(s.message())));
  }
  if (::listen(fd, 16) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return absl::InternalError(fmt::format("console at {}: {}", path, std::strerror(e)));
  }
  const int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    ::close(fd);
    ::unlink(path.c_str());
    return absl::InternalError("console: eventfd failed");
  }
  std::unique_ptr<StackConsole> c(new StackConsole(stack, path, fd, wake));
  c->thread_ = std::thread([p = c.get()] { p->Serve(); });
  return c;
}

StackConsole::StackConsole(Stack* stack, std::string path, int listen_fd, int wake_fd)
    : stack_(stack), path_(std::move(path)), listen_fd_(listen_fd), wake_fd_(wake_fd) {}

StackConsole::~StackConsole() {
  stop_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  std::vector<Client> clients;
  {
    std::lock_guard lock(clients_mu_);
    for (auto& c : clients_) ::shutdown(c.fd, SHUT_RDWR);  // unblocks their writes
    clients.swap(clients_);
  }
  for (auto& c : clients) c.thread.join();
  ::close(listen_fd_);
  ::close(wake_fd_);
  ::unlink(path_.c_str());
}

void StackConsole::ReapFinished() {
  std::vector<Client> finished;
  {
    std::lock_guard lock(clients_mu_);
    for (auto it = clients_.begin(); it != clients_.end();) {
      if (it->done->load()) {
        finished.push_back(std::move(*it));
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) c.thread.join();
}

void StackConsole::Serve() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!stop_) {
    const int r = ::poll(fds, 2, 1000);
    ReapFinished();
    if (r <= 0 || (fds[0].revents & POLLIN) == 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;
    std::lock_guard lock(clients_mu_);
    if (clients_.size() >= kMaxClients) {
      static constexpr std::string_view kBusy = "error: busy, try again\n";
      [[maybe_unused]] ssize_t n = ::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    clients_.push_back(Client{std::thread([this, fd, done] {
                                Handle(fd);
                                done->store(true);
                              }),
                              fd, done});
  }
}

void StackConsole::Handle(int fd) {
  // Read one line within kReadTimeout.
  std::string line;
  const auto read_deadline = std::chrono::steady_clock::now() + kReadTimeout;
  bool ok = false;
  while (!stop_ && line.size() <= kMaxLine) {
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      line.append(buf, static_cast<size_t>(n));
      const size_t nl = line.find('\n');
      if (nl != std::string::npos) {
        line.resize(nl);
        ok = true;
        break;
      }
      continue;
    }
    if (n == 0) {
      ok = !line.empty();  // the line without its newline, then EOF
      break;
    }
    if (errno != EAGAIN && errno != EINTR) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        read_deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
  }
  if (ok && !stop_) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    PYTCP_LOG(log_console, kDebug, "console command: {}", line.substr(0, 128));
    const auto write_deadline = std::chrono::steady_clock::now() + kWriteTimeout;
    size_t total = 0;
    bool alive = true;
    RunConsoleCommand(*stack_, line, [&](const std::string& piece) {
      if (!alive || stop_) return false;
      if (total + piece.size() > kMaxOutput) {
        alive = false;
        (void)WriteAll(fd, "\n[output truncated]\n", write_deadline);
        return false;
      }
      total += piece.size();
      // A long command (ping) extends the deadline per piece; a client that does not read
      // is dropped when its socket buffer stays full for kWriteTimeout.
      alive = WriteAll(fd, piece, std::max(write_deadline, std::chrono::steady_clock::now() + kWriteTimeout));
      return alive;
    });
  } else if (!stop_ && line.size() > kMaxLine) {
    (void)WriteAll(fd, "error: line too long\n", std::chrono::steady_clock::now() + kWriteTimeout);
  }
  {
    std::lock_guard lock(clients_mu_);
    ::close(fd);
    for (auto& c : clients_) {
      if (c.fd == fd) c.fd = -1;
    }
  }
}

}  // namespace pytcp
