#include "shim/runtime.h"

#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "shim/daemon_channel.h"
#include "shim/fd_table.h"
#include "shim/libc.h"
#include "shim/shim_socket.h"
#include "shim/sockaddr.h"
#include "shim/wait.h"
#include "stack/base/cancel.h"
#include "stack/stack_query.h"
#include "stack/tcp/tcp_types.h"

namespace pytcp::shim {
namespace {

struct State {
  std::mutex mu;
  Stack* stack = nullptr;  // leaked on purpose: calls keep arriving during exit
  int error = 0;           // sticky start-up failure
  std::set<std::string> reported;
  bool loopback_read = false;
  LoopbackMode loopback = LoopbackMode::kKernel;
  pid_t owner = 0;  // the process that started `stack` (not a vfork child sharing memory)
};

State& state() {
  static State* s = new State();
  return *s;
}

thread_local bool t_starting = false;
std::atomic<pid_t> g_pid{0};  // this process, as of the last fork that ran our handlers
std::atomic<Stack*> g_running{nullptr};  // st.stack, readable without st.mu

int ErrnoFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument: return EINVAL;
    case absl::StatusCode::kPermissionDenied: return EACCES;
    default: return ENETDOWN;
  }
}

void WriteStderr(const std::string& line) {
  size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = libc().write(2, line.data() + off, line.size() - off);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    off += static_cast<size_t>(n);
  }
}

constexpr double kDefaultExitTimeout = 5.0;  // seconds

// PYTCP_EXIT_TIMEOUT: how long exit may wait for connections to deliver what was written.
double ExitTimeout() {
  const char* v = ::secure_getenv("PYTCP_EXIT_TIMEOUT");
  if (v == nullptr) return kDefaultExitTimeout;
  char* end = nullptr;
  const double t = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(t >= 0) || t > 3600) {
    ReportOnce("exit-timeout", std::string("PYTCP_EXIT_TIMEOUT='") + v +
                                   "' is not valid: expected seconds from 0 to 3600; using 5");
    return kDefaultExitTimeout;
  }
  return t;
}

// Whether a connection still owes the peer data or the acknowledgement of its FIN.
bool Owes(TcpState s) {
  switch (s) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kCloseWait:
    case TcpState::kClosing:
    case TcpState::kLastAck:
      return true;
    default:
      return false;
  }
}

// At exit, as the kernel does for a dying process: every stack socket still open is
// closed (gracefully, unless SO_LINGER says otherwise), and the connections get up to
// PYTCP_EXIT_TIMEOUT to deliver what the program wrote and have their FIN acknowledged.
// Then the event loop stops, before the C++ runtime destroys what it uses.
void DrainAndStop(Stack* stack) {
  FdTable& table = FdTable::Get();
  ShimSocket::CloseAtOnceFromNowOn();
  for (int fd : table.FdsInRange(0, FdTable::kMaxFd - 1)) {
    if (table.Kind(fd) == FdKind::kSocket) table.Remove(fd);
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(ExitTimeout()));
  while (true) {
    bool owed = false;
    for (TcpState state : StackQuery(*stack).TcpConnectionStates()) owed |= Owes(state);
    if (!owed || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stack->Stop();
}

// How long the first socket() waits for the stack's first usable address (a DHCP lease,
// the end of strict conflict detection, SLAAC or DAD; WaitForUsableAddress), so that it
// does not fail with ENETUNREACH merely because the stack has just started.
constexpr auto kAddressWait = std::chrono::seconds(5);


// Registered with atexit() when the stack starts, so it runs before the destructors of
// everything constructed earlier.
void StopAtExit() {
  State& st = state();
  g_running.store(nullptr, std::memory_order_release);
  Stack* stack = nullptr;
  {
    std::lock_guard lock(st.mu);
    if (st.stack == nullptr || st.owner != getpid()) return;  // a (v)fork child
    stack = st.stack;
    st.stack = nullptr;
    if (st.error == 0) st.error = ENETDOWN;  // sockets created after this fail cleanly
  }
  DrainAndStop(stack);
}

// The forked child's copy of the parent's stack has no thread and may hold locks: forget it
// (leaked, never touched) and mark every existing fd object as inherited.
void AtForkPrepare() {
  state().mu.lock();
  FdTable::Get().LockForFork();
}
void AtForkParent() {
  FdTable::Get().UnlockAfterFork();
  state().mu.unlock();
}
void AtForkChild() {
  g_pid.store(getpid(), std::memory_order_relaxed);
  AdvanceForkGeneration();
  FdTable::Get().UnlockAfterFork();
  State& st = state();
  st.stack = nullptr;
  g_running.store(nullptr, std::memory_order_release);
  st.error = 0;
  st.mu.unlock();
}

[[gnu::constructor]] void InstallForkHandlers() {
  g_pid.store(getpid(), std::memory_order_relaxed);
  pthread_atfork(&AtForkPrepare, &AtForkParent, &AtForkChild);
  ReserveHighFds();
}

}  // namespace

bool InStackStartup() noexcept { return t_starting; }

bool IsVforkChild() noexcept { return getpid() != g_pid.load(std::memory_order_relaxed); }

// The catch (...) blocks below are in noexcept functions that a forced unwind
// (pthread_cancel) must never reach: each disables cancellation first (the start-up's
// waits, the exit's drain and the write to stderr are cancellation points in glibc, and
// socket(), _exit() and the calls that report are not).

void ShutdownForExit() noexcept {
  CancelGuard no_cancel(CancelGuard::kNoWindows);
  try {
    StopAtExit();
  } catch (...) {
  }
}

void ReportOnce(const char* key, const std::string& message) noexcept {
  CancelGuard no_cancel(CancelGuard::kNoWindows);
  try {
    {
      std::lock_guard lock(state().mu);
      if (!state().reported.insert(key).second) return;
    }
    WriteStderr("pytcp: " + message + "\n");
  } catch (...) {
  }
}

LoopbackMode LoopbackSetting() noexcept {
  State& st = state();
  std::lock_guard lock(st.mu);
  if (!st.loopback_read) {
    const char* v = ::secure_getenv("PYTCP_LOOPBACK");
    // A bad value is reported when the stack starts (StackConfig); until then: kernel.
    st.loopback = (v != nullptr && std::string(v) == "stack") ? LoopbackMode::kStack
                                                              : LoopbackMode::kKernel;
    st.loopback_read = true;
  }
  return st.loopback;
}

Stack* RunningStack() noexcept { return g_running.load(std::memory_order_acquire); }

Stack* AcquireStack(int* err) noexcept {
  if (SharedStack()) {  // the stack is the daemon's (daemon_channel.h)
    *err = ENETDOWN;
    return nullptr;
  }
  CancelGuard no_cancel(CancelGuard::kNoWindows);  // see ShutdownForExit
  State& st = state();
  std::unique_lock lock(st.mu);
  if (st.stack != nullptr) return st.stack;
  if (st.error != 0) {
    *err = st.error;
    return nullptr;
  }
  t_starting = true;
  std::string failure;
  int code = 0;
  try {
    auto config = StackConfig::FromEnvironment();
    if (!config.ok()) {
      failure = std::string(config.status().message());
      code = ErrnoFor(config.status());
    } else {
      auto stack = Stack::Create(*config);
      if (!stack.ok()) {
        failure = "cannot start the stack: " + std::string(stack.status().message());
        code = ErrnoFor(stack.status());
      } else {
        // The event loop thread must never run the program's signal handlers (nor take a
        // signal meant for a thread that waits in sigwait): it starts with all blocked.
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        const absl::Status s = (*stack)->Start();
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        if (!s.ok()) {
          failure = "cannot start the stack: " + std::string(s.message());
          code = ErrnoFor(s);
        } else {
          WaitForUsableAddress(**stack, kAddressWait);
          SetLinkLocalScope(if_nametoindex(config->interface.c_str()));
          st.stack = stack->release();
          st.owner = getpid();
          g_running.store(st.stack, std::memory_order_release);
          st.loopback = config->loopback;
          st.loopback_read = true;
          std::atexit(&StopAtExit);
        }
      }
    }
  } catch (const std::exception& e) {
    failure = std::string("cannot start the stack: ") + e.what();
    code = ENETDOWN;
  } catch (...) {
    failure = "cannot start the stack";
    code = ENETDOWN;
  }
  t_starting = false;
  if (st.stack != nullptr) return st.stack;
  st.error = code;
  lock.unlock();
  ReportOnce("start", failure + " (INET sockets fail with " +
                          (code == EINVAL ? std::string("EINVAL")
                           : code == EACCES ? std::string("EACCES")
                                            : std::string("ENETDOWN")) +
                          ")");
  *err = code;
  return nullptr;
}

}  // namespace pytcp::shim
