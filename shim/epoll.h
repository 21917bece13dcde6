// epoll over stack sockets and kernel fds together.
//
// An epoll instance stays a kernel epoll fd (so it can be nested in another epoll set or
// in poll, and kernel fds are registered in it as usual). Stack sockets cannot be
// registered with the kernel: their readiness lives in the stack. So each instance that
// watches a stack socket gets an EpollSet, a user-space copy of what the kernel keeps for
// a watched file: one EpollItem per registration (events, data, EPOLLET/EPOLLONESHOT) and
// a ready list. The socket's readiness changes (ShimSocket waiters) put items on the ready
// list, and an eventfd registered in the kernel instance ("ready fd", under a reserved
// data value) is readable exactly while the list is not empty. epoll_wait then takes the
// kernel's events and, when the ready fd fired, the ready list's: each item's events are
// its socket's Socket::Poll() mask at that moment, level-triggered items go back on the
// list (as the kernel re-queues them), edge-triggered ones wait for the next change, and
// a one-shot item is disarmed until EPOLL_CTL_MOD. The cost of a wait grows with the
// number of ready sockets, never with the number registered.
//
// Why not the placeholder eventfd itself in the kernel set: an eventfd is always writable
// and is readable or not, so it cannot show "neither readable nor writable" (a connecting
// socket, a full send buffer with nothing to read), nor POLLOUT apart from POLLIN; and
// several epoll sets watching one socket for different events would fight over it.
//
// The reserved data value (kReadyCookie) is a non-canonical address; a program whose own
// epoll data equals it would see its event swallowed.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "shim/fd_table.h"
#include "shim/shim_socket.h"
#include "shim/wait.h"

namespace pytcp::shim {

inline constexpr uint64_t kReadyCookie = 0xfffe'7079'7463'7000ULL;

class EpollSet;

class EpollItem final : public ReadinessWaiter, public std::enable_shared_from_this<EpollItem> {
 public:
  EpollItem(std::weak_ptr<EpollSet> set, std::weak_ptr<ShimSocket> sock, int fd,
            uint32_t events, uint64_t data)
      : set_(std::move(set)), sock_(std::move(sock)), fd_(fd), events_(events), data_(data) {}

  void OnReadiness(ReadinessMask mask) override;
  void OnSocketClosed() override;
  void OnHandedToKernel() override;

 private:
  friend class EpollSet;
  // The readiness bits this item reports (EPOLLERR and EPOLLHUP always).
  uint32_t interest() const;

  const std::weak_ptr<EpollSet> set_;
  const std::weak_ptr<ShimSocket> sock_;
  const int fd_;
  std::atomic<uint32_t> events_;  // as given to epoll_ctl, flags included
  std::atomic<uint64_t> data_;
  std::atomic<bool> armed_{true};  // cleared by an EPOLLONESHOT report, set by MOD
  // Guarded by the set's lock.
  bool queued_ = false;
  bool removed_ = false;
};

class EpollSet final : public FdObject, public std::enable_shared_from_this<EpollSet> {
 public:
  EpollSet() : FdObject(FdKind::kEpoll) {}
  ~EpollSet() override;

  // Whether it watches (or watched) a stack socket; if not, epoll_wait is the kernel's.
  bool active() const { return active_.load(std::memory_order_acquire); }

  // epoll_ctl for a stack socket `fd`; 0 or -1 with errno.
  int Control(int epfd, int op, int fd, const std::shared_ptr<ShimSocket>& sock,
              const epoll_event* event);
  // epoll_wait/epoll_pwait/epoll_pwait2 on an active set.
  int Wait(int epfd, epoll_event* events, int maxevents, const Deadline& deadline,
           const sigset_t* sigmask);

  void OnLastFdClosed() override;

 private:
  friend class EpollItem;
  int Activate(int epfd);
  void MarkReady(const std::shared_ptr<EpollItem>& item);
  void Forget(const EpollItem* item);
  // Moves ready items into `events` (at most `max`); returns how many.
  int Harvest(epoll_event* events, int max);
  // The kernel's ready events at this moment (epoll_pwait without waiting), the ready
  // fd's own left out.
  static int KernelEventsNow(int epfd, epoll_event* events, int max);
  // Makes the ready fd's state match the list (under mu_).
  void SyncReadyFdLocked();

  std::mutex mu_;
  int epfd_ = -1;      // the kernel instance the ready fd is registered in
  int ready_fd_ = -1;  // eventfd, readable while ready_ is not empty
  bool signaled_ = false;
  std::atomic<bool> active_{false};
  // The last wait filled every slot with stack sockets: the next one asks the kernel first.
  std::atomic<bool> kernel_owed_{false};
  std::unordered_map<int, std::shared_ptr<EpollItem>> items_;
  std::deque<std::shared_ptr<EpollItem>> ready_;
};

}  // namespace pytcp::shim
