// The socket layer's common part: locking, blocking waits that behave like the kernel's,
// readiness, and the options every socket has.
//
// Every call takes the stack's lock for its critical section and never holds it while
// blocked. A blocked call waits on an eventfd of its own thread (registered with the
// socket), so that it is interrupted by signals exactly as a blocking syscall is (EINTR),
// honours O_NONBLOCK/MSG_DONTWAIT, SO_RCVTIMEO and SO_SNDTIMEO (EAGAIN when they expire),
// and wakes with EBADF when another thread closes the socket.
//
// Errors are reported as the errno values Linux uses; SysResult<T> carries a value or one.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "stack/base/clock.h"
#include "stack/base/result.h"
#include "stack/net/ip_address.h"

namespace pytcp {

template <typename T>
using SysResult = Result<T, int>;

// What a socket needs from the stack that owns it.
struct SocketContext {
  std::mutex* mu = nullptr;
  const Clock* clock = nullptr;
  // Wakes the stack's event loop (a timer of this socket changed).
  std::function<void()> kick;
};

// poll(2) bits, as the kernel reports them for sockets.
using ReadinessMask = uint32_t;

// Notified (under the stack lock) whenever the socket's readiness may have changed; the
// shim uses it to drive poll/select/epoll over stack sockets.
class ReadinessListener {
 public:
  virtual ~ReadinessListener() = default;
  virtual void OnReadinessChange(ReadinessMask mask) = 0;
};

class Socket {
 public:
  explicit Socket(SocketContext ctx, int type, int protocol)
      : ctx_(std::move(ctx)), type_(type), protocol_(protocol) {}
  virtual ~Socket() = default;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int type() const { return type_; }
  int protocol() const { return protocol_; }

  // Current readiness (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP, POLLPRI).
  ReadinessMask Poll() {
    std::lock_guard lock(*ctx_.mu);
    return PollLocked();
  }
  virtual ReadinessMask PollLocked() const = 0;

  void set_nonblocking(bool on) { nonblocking_ = on; }
  bool nonblocking() const { return nonblocking_; }

  void AddListener(ReadinessListener* l);
  void RemoveListener(ReadinessListener* l);

  // setsockopt/getsockopt with the kernel's calling convention.
  virtual SysResult<bool> SetOption(int level, int name, const void* value, socklen_t len);
  virtual SysResult<bool> GetOption(int level, int name, void* value, socklen_t* len);

  // Closes the socket: wakes every waiter (they return EBADF) and releases its resources.
  virtual void Close() = 0;

 protected:
  // Waits (the lock released) until `ready()` holds. Returns 0, or EAGAIN (non-blocking
  // or the timeout expired), EINTR (a signal), EBADF (closed meanwhile).
  int WaitLocked(std::unique_lock<std::mutex>& lock, const std::function<bool()>& ready,
                 std::optional<Duration> timeout, bool nonblocking);
  // Wakes blocked callers and tells listeners; call under the lock after a state change.
  void NotifyLocked();

  SocketContext ctx_;
  int type_;
  int protocol_;
  bool nonblocking_ = false;
  bool closed_ = false;
  std::optional<Duration> rcv_timeout_;
  std::optional<Duration> snd_timeout_;
  int rcvbuf_ = 212992;  // Linux net.core.rmem_default
  int sndbuf_ = 212992;  // Linux net.core.wmem_default
  bool reuse_addr_ = false;
  bool reuse_port_ = false;
  bool broadcast_ = false;
  bool keepalive_ = false;
  int pending_error_ = 0;  // SO_ERROR
  uint8_t ttl_ = 64;
  uint8_t tos_ = 0;
  int mtu_discover_ = 1;  // IP_PMTUDISC_WANT (Linux default for UDP)

 private:
  std::vector<int> waiter_fds_;
  std::vector<ReadinessListener*> listeners_;
};

}  // namespace pytcp
