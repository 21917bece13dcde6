// A socket of the shared stack (PYTCP_STACK=shared) as a program holds it: its fd is the
// program's end of the socket's pair, and the daemon serves everything else
// (pytcpd/protocol.h says why it is shaped so).
//
// What runs where:
// - the kernel, on the pair itself, with no shim code: a connected TCP socket's read,
//   write, send, recv, readv, writev, sendfile, poll, select, epoll (level, edge, one-shot),
//   O_NONBLOCK, FIONREAD, close, dup, fork, exec, SCM_RIGHTS;
// - a request to the daemon: socket, bind, listen, connect, accept, shutdown, names,
//   options, a datagram socket's first send (it binds) and those whose errors must come at
//   once (broadcast, too large);
// - a datagram socket's other sends and its receives go through its pair, a SOCK_SEQPACKET
//   one, a datagram with its header per message (pytcpd::DatagramHeader), so the kernel's
//   poll on the pair is right for them too;
// - the end of a stream: a read that returns 0 asks the daemon whether the stream ended
//   with the peer's FIN or with an error (ECONNRESET, ETIMEDOUT).
//
// After exec (or SCM_RIGHTS) the socket calls recognise an inherited socket by asking the
// kernel who made the pair (SO_PEERCRED is the daemon) and the daemon which socket it is.
//
// Readiness: a listener and a connecting socket are not writable, as on Linux, because
// the program fills its direction of the pair (the daemon drains a connecting socket's
// filler when the handshake is over). POLLERR, which a socketpair cannot show, is added by
// the shim's poll (RemoteAddPollErrors); epoll and select do not show it (a reset is
// POLLHUP there, reads ECONNRESET). getsockopt(SO_ERROR) waits up to a second for a
// handshake that is not over.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "shim/fd_table.h"
#include "shim/receive_stamp.h"
#include "shim/shim_socket.h"

namespace pytcp::shim {

class RemoteSocket final : public FdObject {
 public:
  RemoteSocket(int domain, int type, int protocol)
      : FdObject(FdKind::kRemote), domain_(domain), type_(type), protocol_(protocol) {}

  int domain() const { return domain_; }
  int type() const { return type_; }
  int protocol() const { return protocol_; }
  bool stream() const { return type_ == SOCK_STREAM; }

  // connect() returned EINPROGRESS and nobody has seen the outcome yet.
  std::atomic<bool> connecting{false};
  // listen() succeeded (known here, or learned from the daemon for an inherited socket).
  std::atomic<bool> listening{false};
  // Something went through the daemon (a datagram sent): no loopback hand-over any more.
  std::atomic<bool> committed{false};
  // A stream known to have a peer (connected or accepted): its data calls go straight to
  // the pair. Until then the daemon is asked once (a fork's copy of the table may be behind).
  // A datagram socket with a default destination (connect).
  std::atomic<bool> connected{false};
  // A datagram socket that has a local port (bound, connected, or sent once): its sends
  // go through the pair without asking.
  std::atomic<bool> bound{false};
  // shutdown() was called (and succeeded, or was recorded): the pair no longer shows the
  // socket's poll bits, which the shim's poll then asks of the daemon.
  std::atomic<bool> shut{false};
  // TCP_INQ is on: a stream's recvmsg adds TCP_CM_INQ.
  std::atomic<bool> tcp_inq{false};
  // SIOCGSTAMP of a datagram socket: the time of the last datagram this process took.
  ReceiveStamp stamp;

  // A stream whose poll bits the pair cannot show: one never connected (tcp_poll says
  // POLLHUP for TCP_CLOSE, a pair never does while both ends are open) or one shut down.
  bool PollFromDaemon() const {
    return stream() && (shut.load() || (!connected.load() && !connecting.load() && !listening.load()));
  }

  // For a hand-over to the kernel (loopback.h): the options set so far.
  void RecordOption(int level, int name, const void* value, socklen_t len);
  const std::vector<RecordedOption>& recorded_options() const { return options_; }

  // The kernel counts the pair's references: nothing to do when the last fd of this
  // process goes.
  void OnLastFdClosed() override {}

 private:
  const int domain_;
  const int type_;
  const int protocol_;
  std::vector<RecordedOption> options_;
};

// An fd this program image does not know (inherited across exec, received with
// SCM_RIGHTS) that is a pair end of the daemon's: installed and returned, else nullptr.
// Asked by the socket calls only (not by read/write, which work on the pair as it is).
// Cheap for other fds: an AF_UNIX stream socket whose peer is not the daemon's pid (from
// its pid file) is remembered as not ours until the number is closed.
std::shared_ptr<RemoteSocket> ProbeRemote(int fd);
// `fd` was closed (or replaced): forget what probing learned about it.
void ForgetProbe(int fd) noexcept;

// socket() in shared mode: a new socket of the daemon's, installed on a new fd.
int RemoteCreate(int domain, int type, int protocol, int flags);

// The socket calls on a RemoteSocket; each returns what the interposed call returns.
int RemoteBind(int fd, RemoteSocket& s, const sockaddr* addr, socklen_t len);
int RemoteListen(int fd, RemoteSocket& s, int backlog);
int RemoteConnect(int fd, RemoteSocket& s, const sockaddr* addr, socklen_t len);
int RemoteAccept(int fd, RemoteSocket& s, sockaddr* addr, socklen_t* len, int flags);
int RemoteGetName(int fd, RemoteSocket& s, sockaddr* addr, socklen_t* len, bool peer);
int RemoteGetOption(int fd, RemoteSocket& s, int level, int name, void* value, socklen_t* len);
int RemoteSetOption(int fd, RemoteSocket& s, int level, int name, const void* value,
                    socklen_t len);
int RemoteShutdown(int fd, RemoteSocket& s, int how);
int RemoteIoctl(int fd, RemoteSocket& s, unsigned long request, void* arg);

// A stream's data call may go to the pair: 0, or the errno Linux gives on a socket that was
// never connected (EPIPE sending, with SIGPIPE unless MSG_NOSIGNAL; ENOTCONN receiving).
int RemoteStreamCheck(int fd, RemoteSocket& s, bool sending, int flags);

// poll/ppoll for the shared stack's sockets where the kernel's poll on a pair differs from
// the socket's. Before the kernel is asked (RemotePollFirst): a stream in a state no pair
// shows (RemoteSocket::PollFromDaemon) gets its bits from the daemon; if any is ready, the
// kernel is asked without waiting. After it answered (RemoteAdjustPoll): those get the
// daemon's bits (with the pair's data for a connected one); a socket whose answer may
// hide an error (a stream's POLLHUP, a connecting stream's POLLOUT, a connected datagram
// socket's POLLIN) is asked about (kStatus) and gets POLLERR (with POLLHUP for a failed
// connect, as tcp_poll) while an error is pending. Nothing is asked of any other fd;
// errno is kept. Both return the count of fds with events, as poll.
int RemotePollFirst(pollfd* fds, nfds_t nfds);
int RemoteAdjustPoll(pollfd* fds, nfds_t nfds, int ready);

// A stream's write through the pair ends (sent with MSG_NOSIGNAL, so `flags` are the
// program's): EPIPE from the pair becomes the connection's pending error (ECONNRESET,
// taken once) or EPIPE with SIGPIPE unless MSG_NOSIGNAL, as tcp_sendmsg reports them.
ssize_t RemoteStreamWritten(int fd, RemoteSocket& s, ssize_t n, int flags);

// The data calls. A stream goes to the kernel's pair (a 0 from a receive of more than
// nothing is looked at: an error ended the stream?); a datagram socket asks the daemon.
ssize_t RemoteSend(int fd, RemoteSocket& s, const msghdr* msg, int flags);
ssize_t RemoteRecv(int fd, RemoteSocket& s, msghdr* msg, int flags);

}  // namespace pytcp::shim
