// pytcpd: one PyTCP stack for the whole host (DESIGN.md "One stack for the host").
//
//   pytcpd [--detach] [--idle-exit SECONDS] [--group GROUP]
//
// Owns the TAP device named by PYTCP_IFACE and runs one Stack on it, configured by the
// same PYTCP_* variables as a program under the shim; serves the sockets of every
// preloaded program with PYTCP_STACK=shared on $PYTCP_RUN_DIR/IFACE.sock (default
// /run/pytcp), owner-only unless --group names a group whose members may use it too.
// In the foreground by default; --detach returns once the daemon serves (the shim starts
// it that way); its pid is in $PYTCP_RUN_DIR/IFACE.pid while it serves. SIGTERM or SIGINT
// stop it: sockets are closed as at a program's exit and the DHCP lease is released.
// Exit status: 0 stopped, 1 could not start, 3 another daemon serves the interface already.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "pytcpd/protocol.h"
#include "pytcpd/server.h"
#include "stack/base/private_file.h"
#include "stack/stack.h"
#include "stack/stack_query.h"

namespace {

using pytcp::Stack;
using pytcp::StackConfig;

int Usage() {
  std::fprintf(stderr, "usage: pytcpd [--detach] [--idle-exit SECONDS] [--group GROUP]\n");
  return 2;
}


// Every socket is a pair end here: as many as the hard limit allows.
void RaiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool detach = false;
  pytcp::pytcpd::ServerOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--detach") {
      detach = true;
    } else if (a == "--idle-exit" && i + 1 < argc) {
      char* end = nullptr;
      const long s = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || s < 0 || s > 86400) {
        std::fprintf(stderr, "pytcpd: --idle-exit takes seconds from 0 to 86400\n");
        return 2;
      }
      options.idle_exit = std::chrono::seconds(s);
    } else if (a == "-h" || a == "--help") {
      std::printf(
          "usage: pytcpd [--detach] [--idle-exit SECONDS] [--group GROUP]\n"
          "One PyTCP stack for the host on the TAP device PYTCP_IFACE (default tap7), configured by\n"
          "the PYTCP_* variables of pytcp(1); serves programs run with `pytcp --shared` on\n"
          "$PYTCP_RUN_DIR/IFACE.sock (default /run/pytcp), owner-only unless --group. See pytcpd(8).\n");
      return 0;
    } else if (a == "--group" && i + 1 < argc) {
      const group* g = getgrnam(argv[++i]);
      if (g == nullptr) {
        std::fprintf(stderr, "pytcpd: --group: no group named %s\n", argv[i]);
        return 2;
      }
      options.group = g->gr_gid;
      options.allow_group = true;
    } else {
      return Usage();
    }
  }

  // --detach: the parent waits on a pipe for "ready" (or the child's failure) and exits
  // with the child's verdict, so whoever started it knows it serves when this returns.
  int ready_fd = -1;
  if (detach) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return 1;
    const pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid > 0) {
      close(p[1]);
      char verdict = 1;
      if (read(p[0], &verdict, 1) != 1) verdict = 1;
      return verdict;
    }
    close(p[0]);
    ready_fd = p[1];
    setsid();
  }
  auto report = [&](char verdict) {
    if (ready_fd >= 0) {
      [[maybe_unused]] ssize_t r = write(ready_fd, &verdict, 1);
      close(ready_fd);
      ready_fd = -1;
    }
  };

  // Signals: the stack's thread and the server's loop take SIGTERM/SIGINT through the
  // server's signalfd only.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  RaiseFdLimit();

  auto config = StackConfig::FromEnvironment();
  if (!config.ok()) {
    std::fprintf(stderr, "pytcpd: %s\n", std::string(config.status().message()).c_str());
    report(1);
    return 1;
  }
  options.control_path = pytcp::pytcpd::ControlSocketPath(config->interface);
  auto stack = Stack::Create(*config);
  if (!stack.ok()) {
    std::fprintf(stderr, "pytcpd: cannot start the stack: %s\n",
                 std::string(stack.status().message()).c_str());
    report(1);
    return 1;
  }
  pytcp::pytcpd::Server server(stack->get(), options);
  if (auto s = server.Listen(); !s.ok()) {
    std::fprintf(stderr, "pytcpd: %s\n", std::string(s.message()).c_str());
    const char code = s.code() == absl::StatusCode::kAlreadyExists ? 3 : 1;
    report(code);
    return code;
  }
  if (auto s = (*stack)->Start(); !s.ok()) {
    std::fprintf(stderr, "pytcpd: cannot start the stack: %s\n", std::string(s.message()).c_str());
    report(1);
    return 1;
  }
  // The first usable address, as a program's first socket() waits for it (shim/runtime.h),
  // so that clients of a daemon started on demand do not fail merely because it is new.
  pytcp::WaitForUsableAddress(**stack, std::chrono::seconds(5));
  // Beside the control socket, for tools and tests that stop the daemon by its pid.
  const std::string pid_path = options.control_path.substr(0, options.control_path.size() - 5) + ".pid";
  // Written as every file the stack makes (private_file.h): 0600, never through a symlink.
  bool wrote_pid = false;
  if (auto fd = pytcp::OpenOwnFile(pid_path, O_WRONLY, /*truncate=*/true); fd.ok()) {
    wrote_pid = true;
    const std::string pid = std::to_string(getpid()) + "\n";
    [[maybe_unused]] const ssize_t n = write(*fd, pid.data(), pid.size());
    close(*fd);
  } else {
    std::fprintf(stderr, "pytcpd: no pid file: %s\n", std::string(fd.status().message()).c_str());
  }
  report(0);
  if (detach) {
    // Nothing of the caller's stays open: a program started as `prog 2>&1 | tail` must see
    // its pipe end when it exits, not when the daemon it started does. What the daemon
    // logs goes to IFACE.log beside its control socket.
    const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    const std::string log_path = options.control_path.substr(0, options.control_path.size() - 5) + ".log";
    // As every file the daemon makes (private_file.h): appended to only if it is ours.
    auto opened = pytcp::OpenOwnFile(log_path, O_WRONLY | O_APPEND, /*truncate=*/false);
    const int log = opened.ok() ? *opened : -1;
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(log >= 0 ? log : null, 2);
      close(null);
    }
    if (log >= 0) close(log);
  }
  server.Run();
  if (wrote_pid) unlink(pid_path.c_str());  // only ours: what it refused to write stays
  (*stack)->Stop();
  return 0;
}
