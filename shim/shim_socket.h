// A stack socket as the shim sees it: the fd object that the fd table maps the socket's
// numbers to. It holds the stack's socket (its protocol-independent API, stack/socket/
// socket.h), fans the socket's readiness changes out to whoever waits in poll/select/epoll
// (readiness waiters), and keeps what a hand-over to the kernel needs (loopback, see loopback.h): the options set
// so far and whether the stack has committed to it (bound, connected, sent).
//
// Readiness: the stack calls OnReadinessChange (ReadinessListener) under its lock on every
// change; waiters are told the new mask and decide for themselves whether it concerns them.
// Lock order: stack lock, then a socket's waiter lock, then an epoll set's lock. Nothing
// calls into the stack while holding a shim lock.
#pragma once

#include <sys/time.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "shim/fd_table.h"
#include "shim/receive_stamp.h"
#include "stack/socket/socket.h"

namespace pytcp::shim {

class ReadinessWaiter {
 public:
  virtual ~ReadinessWaiter() = default;
  // Under the stack lock and the socket's waiter lock: be quick, never call the stack.
  virtual void OnReadiness(ReadinessMask mask) = 0;
  // The socket's last fd was closed (an epoll registration ends with it, as in the kernel).
  // Called without any lock held.
  virtual void OnSocketClosed() {}
  // The socket was replaced by a kernel socket on the same fd numbers (loopback.h): an
  // epoll registration moves to the kernel. Called without any lock held.
  virtual void OnHandedToKernel() {}
};

struct RecordedOption {
  int level;
  int name;
  std::vector<uint8_t> value;
};

// Adds an option set on a socket to `options`, the last value set winning, as it would
// on the kernel socket the socket may be handed over to (loopback.h).
void RecordOptionIn(std::vector<RecordedOption>& options, int level, int name, const void* value,
                    socklen_t len);

class ShimSocket final : public FdObject, private ReadinessListener {
 public:
  ShimSocket(int domain, int type, int protocol, std::shared_ptr<Socket> impl);
  ~ShimSocket() override;

  Socket& impl() { return *impl_; }
  int domain() const { return domain_; }
  int type() const { return type_; }
  int protocol() const { return protocol_; }

  // The socket's poll(2) mask as the kernel would report it.
  ReadinessMask Poll() { return impl_->Poll(); }

  // Poll/select waiters: registered for the duration of one call.
  void AddWaiter(ReadinessWaiter* w);
  void RemoveWaiter(ReadinessWaiter* w);
  // Epoll registrations: kept until removed or until the socket's last fd is closed.
  void AddEpollWaiter(std::shared_ptr<ReadinessWaiter> w);
  void RemoveEpollWaiter(const ReadinessWaiter* w);
  std::vector<std::shared_ptr<ReadinessWaiter>> TakeEpollWaiters();

  // Loopback hand-over bookkeeping (guarded by the caller's ordering: socket set-up calls
  // on one socket are not expected to race with each other).
  void RecordOption(int level, int name, const void* value, socklen_t len);
  const std::vector<RecordedOption>& recorded_options() const { return options_; }
  bool committed() const { return committed_; }
  void set_committed() { committed_ = true; }
  bool explicitly_bound() const { return bound_; }
  void set_bound() { bound_ = true; }

  // A call that works on the socket (OnSocket, interpose.h) holds it for its duration:
  // when the last fd is closed meanwhile, the socket is closed as the call leaves, as the
  // kernel's fget/fput keep a file alive under a call blocked on it (the call runs on to
  // its timeout or its event instead of failing with EBADF at once).
  class CallScope {
   public:
    explicit CallScope(ShimSocket& s) : s_(s) { s_.calls_.fetch_add(1, std::memory_order_acq_rel); }
    ~CallScope() {
      if (s_.calls_.fetch_sub(1, std::memory_order_acq_rel) == kClosePending + 1) s_.FinishClose();
    }
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

   private:
    ShimSocket& s_;
  };

  // SIOCGSTAMP (receive_stamp.h).
  void NoteReceived() { stamp_.NoteReceived(); }
  int Stamp(timeval* tv) { return stamp_.Get(tv); }

  void OnLastFdClosed() override;
  // At exit the kernel ends every thread before it closes the files: from then on a last
  // close closes the socket at once, whatever call another thread is still in.
  static void CloseAtOnceFromNowOn() { close_at_once_.store(true, std::memory_order_release); }

 private:
  static constexpr int kClosePending = 1 << 30;
  static inline std::atomic<bool> close_at_once_{false};
  void FinishClose();

  void OnReadinessChange(ReadinessMask mask) override;

  const int domain_;
  const int type_;
  const int protocol_;
  std::shared_ptr<Socket> impl_;
  std::mutex waiters_mu_;
  std::vector<ReadinessWaiter*> waiters_;
  std::vector<std::shared_ptr<ReadinessWaiter>> epoll_waiters_;
  std::vector<RecordedOption> options_;
  bool committed_ = false;
  bool bound_ = false;
  bool closed_ = false;
  std::atomic<int> calls_{0};  // CallScope count, plus kClosePending once the last fd went
  std::atomic<bool> finished_{false};  // FinishClose ran
  ReceiveStamp stamp_;
};

}  // namespace pytcp::shim
