// The console: a local control socket that every running Stack serves, so that people can
// look inside a program that runs over PyTCP the way `ip`, `ss`, `nstat`, `ping` and
// `tcpdump` let them look inside the kernel's stack (issue 8; the client is pytcpctl).
//
// Endpoint: an AF_UNIX stream socket (a kernel socket: under the shim its calls pass
// straight to libc), mode 0600, at $PYTCP_CONSOLE, else $XDG_RUNTIME_DIR/pytcp/<pid>.sock,
// else /run/pytcp/<pid>.sock (the directory is made 0700). PYTCP_CONSOLE=off disables it.
// A process killed by a signal cannot remove its socket: a stack that starts in the same
// directory removes every <pid>.sock whose pid is gone and that nobody serves.
//
// Protocol: one command line per connection; the answer follows and the server closes.
// Commands (each `show` also takes --json):
//   info                              pid, program, interface, MAC, addresses (JSON)
//   show interface|addresses|neighbours|routes|sockets|counters|dhcp|multicast
//   ping HOST [COUNT [INTERVAL_MS]]   echo requests through the stack (ICMPv4 or ICMPv6
//                                     by HOST's family), RTT statistics
//   tcp-echo HOST [PORT] / udp-echo HOST [PORT]   echo clients (port 7 by default)
// `show sockets` lists TCP listeners (Recv-Q: accept queue, Send-Q: backlog) and
// connections, and bound UDP, ICMP and ICMPv6 sockets with their receive queues, as ss -tuan;
// `show multicast` every group joined (IPv4 all-systems, IPv6 all-nodes, solicited-node
// and socket groups) with its MAC and how MLD reports it.
//   log LEVEL [SUBSYSTEM]             change the log level (all subsystems or one)
//   capture start FILE / capture stop live pcap of every frame (Stack::StartCapture)
//
// Serving never disturbs the stack: each command takes snapshots under the stack lock and
// formats and writes them outside it; output is bounded (1 MiB); a client gets 2 s to
// send its line and 5 s to read the answer (non-blocking writes) or is dropped; at most 8
// clients are served at once (more are told "busy" and closed).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace pytcp {

class Stack;

// The console path from the environment ("" when PYTCP_CONSOLE=off). Creates the default
// directory when it is used.
std::string ConsolePathFromEnvironment();

// Runs one console command against `stack`; `out` receives the answer in pieces (it
// returns false when the client is gone, which stops long commands).
void RunConsoleCommand(Stack& stack, const std::string& line,
                       const std::function<bool(const std::string&)>& out);

class StackConsole {
 public:
  static absl::StatusOr<std::unique_ptr<StackConsole>> Start(Stack* stack,
                                                             const std::string& path);
  ~StackConsole();
  StackConsole(const StackConsole&) = delete;
  StackConsole& operator=(const StackConsole&) = delete;

  const std::string& path() const { return path_; }

 private:
  StackConsole(Stack* stack, std::string path, int listen_fd, int wake_fd);
  void Serve();
  void Handle(int fd);
  void ReapFinished();

  struct Client {
    std::thread thread;
    int fd;
    std::shared_ptr<std::atomic<bool>> done;
  };

  Stack* stack_;
  std::string path_;
  int listen_fd_;
  int wake_fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex clients_mu_;
  std::vector<Client> clients_;
};

}  // namespace pytcp
