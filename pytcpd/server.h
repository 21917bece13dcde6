// pytcpd's server: serves the sockets of one running Stack to every preloaded process
// of the host over the control socket (protocol.h says what travels and why).
//
// One thread runs the server's loop (epoll over the control socket, the clients'
// control connections, the daemon's end of every socket's pair, a wake-up eventfd and a
// signalfd) and, while it runs, reads the link too (the Stack's run-to-completion
// loan, Stack::BeginLinkWait): a frame is processed by the thread that then moves its
// data into the pair, with no hand-over between threads; the Stack's own loop thread is
// left the timers. The stack tells the server about a socket's readiness through the
// socket's ReadinessListener (under the stack lock, from whichever thread moved it): the
// server only marks the socket (and wakes its loop when another thread moved it), and its
// loop then moves data between the socket and its pair.
//
// A socket lives as long as some process holds an fd of its pair: when the last one is
// closed anywhere (or its process dies), the daemon's end reports POLLHUP and the socket
// is closed as Linux closes an orphan: FIN after the data already written (the daemon
// first hands TCP whatever is still in the pair), RST when data the program never read
// was left (the kernel marks the daemon's end ECONNRESET then), SO_LINGER as set.
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "pytcpd/pair_liveness.h"
#include "pytcpd/protocol.h"
#include "stack/stack.h"

namespace pytcp::pytcpd {

struct ServerOptions {
  std::string control_path;
  // Exit after this long with no client, no socket and no connection left (0: never).
  std::chrono::seconds idle_exit{0};
  // Also accept clients of this group (0: the daemon's own uid only, and root).
  gid_t group = 0;
  bool allow_group = false;
};

class Server {
 public:
  Server(Stack* stack, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens on the control socket (mode 0600, or 0660 with a group): fails when
  // another daemon answers there. A stale socket file of a dead daemon is replaced.
  absl::Status Listen();
  // Serves until SIGTERM/SIGINT (which must be blocked in every thread), the idle exit,
  // or Stop().
  void Run();
  // From any thread: Run() returns soon.
  void Stop();

  // For tests: sockets served now (readable from any thread).
  size_t socket_count() const { return served_count_.load(); }

 private:
  struct Served;
  struct Client;
  struct Waiter {
    uint64_t client = 0;
    uint32_t request = 0;
    std::chrono::steady_clock::time_point deadline;
    bool connect_reply = false;  // a blocking kConnect (reply with the error) or kWaitConnected
  };

  // epoll tags: the kind in the top byte, an id below.
  enum Tag : uint64_t {
    kListenTag = 1, kWakeTag = 2, kSignalTag = 3, kClientTag = 4, kPairTag = 5, kLinkTag = 6
  };
  static uint64_t MakeTag(Tag t, uint64_t id) { return (uint64_t{t} << 56) | id; }

  void AcceptClients();
  void ServeClient(uint64_t id);
  void DropClient(uint64_t id);
  // Closes `fd` (and sets it to -1) as soon as it has named the socket.
  void Handle(Client& c, const Request& req, std::span<const uint8_t> payload, int& fd);
  void SendReply(Client& c, const Reply& rep, std::span<const uint8_t> payload = {}, int fd = -1);
  void ReplyError(Client& c, uint32_t id, int error);

  // New sockets.
  Served* Adopt(std::shared_ptr<Socket> sock, int domain, int type, int* client_end);
  Served* Find(int fd);
  bool MayBindPrivileged(const Client& c) const;

  void MarkDirty(uint64_t id);
  void RunDirty();
  void Pump(Served& s);
  void PumpStream(Served& s);
  void PumpTokens(Served& s);
  void PumpDatagramsOut(Served& s);
  void PumpDatagramsIn(Served& s);
  void CheckConnect(Served& s);
  void DrainFiller(Served& s);
  void OnPairEvent(uint64_t id, uint32_t events);
  void Arm(Served& s);
  void Orphan(Served& s);
  void Forget(uint64_t id);
  // POLLHUP on a pair whose program's end is still there: both directions were shut.
  void HoldBothShut(Served& s);
  // The last close of the program's end of a pair: the socket closes as an orphan.
  void ClosePair(Served& s);
  // Closes the held sockets whose program's end has gone (at most every kHeldCheck).
  void CheckHeld(bool now);
  void ResolveWaiters(Served& s, bool expired_only);
  int NextTimeoutMs() const;
  bool Idle() const;
  void TrimWhenIdle();
  // For the console's `show sockets` (any thread): the processes holding each socket.
  Stack::SocketOwners NameOwners();

  Stack* stack_;
  ServerOptions options_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int signal_fd_ = -1;
  std::atomic<bool> stop_{false};
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Served>> served_;
  std::atomic<size_t> served_count_{0};
  std::unordered_set<uint64_t> waiting_;  // sockets with a waiter (a connect's answer)
  // Sockets whose pair has both directions shut while the program holds it: the kernel
  // says nothing more about such a pair, so whether its last fd went is asked of
  // sock_diag now and then (and when a program's control connection ends).
  std::unordered_set<uint64_t> held_;
  std::chrono::steady_clock::time_point held_checked_;
  PairLiveness liveness_;
  std::unordered_map<uint64_t, uint64_t> by_cookie_;
  // Streams that ended with an error and are gone: cookie -> errno, oldest first.
  std::unordered_map<uint64_t, int> ended_;
  std::deque<uint64_t> ended_order_;
  std::unordered_map<uint64_t, std::unique_ptr<Client>> clients_;
  std::vector<uint8_t> scratch_;
  std::chrono::steady_clock::time_point idle_since_;
  // What NameOwners needs of each socket, readable from the console's thread.
  struct Owned {
    std::weak_ptr<Socket> sock;
    ino_t inode = 0;  // of the program's end of the pair
    bool tcp = false;
  };
  std::mutex owned_mu_;
  std::unordered_map<uint64_t, Owned> owned_;
  bool trim_due_ = false;  // the last socket went since the last trim
  std::chrono::steady_clock::time_point last_trim_;

  std::mutex dirty_mu_;
  std::unordered_set<uint64_t> dirty_;
  bool wake_pending_ = false;
  // The thread in Run(): a readiness change it makes itself needs no wake-up.
  std::atomic<pthread_t> loop_thread_{};
  std::atomic<bool> in_loop_{false};
};

}  // namespace pytcp::pytcpd
