// epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2 (see
// epoll.h for the design). Every epoll fd is entered in the fd table when it is created,
// so dups of it are known; the EpollSet does nothing until a stack socket joins it.
#include "shim/epoll.h"

#include <sys/eventfd.h>

#include <algorithm>
#include <vector>

#include "shim/interpose.h"
#include "shim/libc.h"
#include "shim/wait.h"

namespace pytcp::shim {
namespace {

constexpr uint32_t kFlags = EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP;
// fs/eventpoll.c EPOLLEXCLUSIVE_OK_BITS
constexpr uint32_t kExclusiveOk =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;

// Drops the ready fd's events from what the kernel returned; true if it was there.
int FilterCookie(epoll_event* events, int n, bool* saw) {
  int out = 0;
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == kReadyCookie) {
      *saw = true;
      continue;
    }
    events[out++] = events[i];
  }
  return out;
}

}  // namespace

uint32_t EpollItem::interest() const {
  return (events_.load(std::memory_order_relaxed) & ~kFlags) | EPOLLERR | EPOLLHUP;
}

void EpollItem::OnReadiness(ReadinessMask mask) {
  if (!armed_.load(std::memory_order_relaxed) || (mask & interest()) == 0) return;
  if (auto set = set_.lock()) set->MarkReady(shared_from_this());
}

void EpollItem::OnSocketClosed() {
  if (auto set = set_.lock()) set->Forget(this);
}

void EpollItem::OnHandedToKernel() {
  auto set = set_.lock();
  if (set == nullptr) return;
  set->Forget(this);
  epoll_event ev{};
  ev.events = events_.load();
  ev.data.u64 = data_.load();
  (void)libc().epoll_ctl(set->epfd_, EPOLL_CTL_ADD, fd_, &ev);
}

EpollSet::~EpollSet() {
  if (ready_fd_ >= 0 && !inherited()) libc().close(ready_fd_);
}

int EpollSet::Activate(int epfd) {
  std::lock_guard lock(mu_);
  if (ready_fd_ >= 0) return 0;
  const int rfd = MoveHigh(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (rfd < 0) return -1;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kReadyCookie;
  // Also proves that epfd is an epoll instance (EINVAL otherwise), as the kernel checks.
  if (libc().epoll_ctl(epfd, EPOLL_CTL_ADD, rfd, &ev) != 0) {
    const int e = errno;
    libc().close(rfd);
    return Fail(e);
  }
  ready_fd_ = rfd;
  epfd_ = epfd;
  active_.store(true, std::memory_order_release);
  return 0;
}

void EpollSet::SyncReadyFdLocked() {
  if (!ready_.empty() && !signaled_) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = libc().write(ready_fd_, &one, sizeof(one));
    signaled_ = true;
  } else if (ready_.empty() && signaled_) {
    uint64_t v;
    [[maybe_unused]] ssize_t n = libc().read(ready_fd_, &v, sizeof(v));
    signaled_ = false;
  }
}

void EpollSet::MarkReady(const std::shared_ptr<EpollItem>& item) {
  std::lock_guard lock(mu_);
  if (item->queued_ || item->removed_) return;
  item->queued_ = true;
  ready_.push_back(item);
  SyncReadyFdLocked();
}

void EpollSet::Forget(const EpollItem* item) {
  std::lock_guard lock(mu_);
  auto it = items_.find(item->fd_);
  if (it != items_.end() && it->second.get() == item) {
    it->second->removed_ = true;
    items_.erase(it);
  }
}

int EpollSet::Control(int epfd, int op, int fd, const std::shared_ptr<ShimSocket>& sock,
                      const epoll_event* event) {
  if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) return Fail(EINVAL);
  if (op != EPOLL_CTL_DEL && event == nullptr) return Fail(EFAULT);
  if (fd == epfd) return Fail(EINVAL);
  const uint32_t events = event != nullptr ? event->events : 0;
  if (op != EPOLL_CTL_DEL && (events & EPOLLEXCLUSIVE) != 0) {
    if (op == EPOLL_CTL_MOD || (events & ~kExclusiveOk) != 0) return Fail(EINVAL);
  }
  if (Activate(epfd) != 0) return -1;

  std::shared_ptr<EpollItem> item;
  {
    std::lock_guard lock(mu_);
    auto it = items_.find(fd);
    switch (op) {
      case EPOLL_CTL_ADD:
        if (it != items_.end()) return Fail(EEXIST);
        item = std::make_shared<EpollItem>(weak_from_this(), sock, fd, events, event->data.u64);
        items_.emplace(fd, item);
        break;
      case EPOLL_CTL_MOD:
        if (it == items_.end()) return Fail(ENOENT);
        if ((it->second->events_.load() & EPOLLEXCLUSIVE) != 0) return Fail(EINVAL);
        item = it->second;
        item->events_.store(events);
        item->data_.store(event->data.u64);
        item->armed_.store(true);
        break;
      default:  // EPOLL_CTL_DEL
        if (it == items_.end()) return Fail(ENOENT);
        item = it->second;
        item->removed_ = true;
        items_.erase(it);
        break;
    }
  }
  // Outside the set's lock (lock order: socket waiters, then set).
  if (op == EPOLL_CTL_DEL) {
    sock->RemoveEpollWaiter(item.get());
    return 0;
  }
  if (op == EPOLL_CTL_ADD) sock->AddEpollWaiter(item);
  // As ep_insert/ep_modify: a socket that is ready already is queued at once.
  if ((sock->Poll() & item->interest()) != 0) MarkReady(item);
  return 0;
}

int EpollSet::Harvest(epoll_event* events, int max) {
  std::deque<std::shared_ptr<EpollItem>> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(ready_);
    for (auto& item : batch) item->queued_ = false;
  }
  int n = 0;
  // As ep_send_events and ep_done_scan: the items not looked at go back to the front of
  // the list, the level-triggered items just reported to its tail, so that the next call
  // reports others first when more are ready than `max` (fairness, issue 19).
  std::vector<std::shared_ptr<EpollItem>> unseen, reported;
  for (auto& item : batch) {
    if (n == max) {
      unseen.push_back(item);  // ready, not looked at: stays on the list
      continue;
    }
    if (!item->armed_.load()) continue;
    auto sock = item->sock_.lock();
    if (sock == nullptr || sock->inherited()) continue;
    const uint32_t ev = item->events_.load();
    const uint32_t mask = sock->Poll() & item->interest();
    if (mask == 0) continue;  // no longer ready: off the list until the next change
    {
      std::lock_guard lock(mu_);
      if (item->removed_) continue;
    }
    events[n].events = mask;
    events[n].data.u64 = item->data_.load();
    ++n;
    if ((ev & EPOLLONESHOT) != 0) {
      item->armed_.store(false);
    } else if ((ev & EPOLLET) == 0) {
      reported.push_back(item);  // level-triggered: looked at again, after the others
    }
  }
  std::lock_guard lock(mu_);
  // Items made ready meanwhile (MarkReady) are on ready_ already, after `unseen`'s place.
  for (auto it = unseen.rbegin(); it != unseen.rend(); ++it) {
    if ((*it)->queued_ || (*it)->removed_) continue;
    (*it)->queued_ = true;
    ready_.push_front(*it);
  }
  for (auto& item : reported) {
    if (item->queued_ || item->removed_) continue;
    item->queued_ = true;
    ready_.push_back(item);
  }
  SyncReadyFdLocked();
  return n;
}

int EpollSet::KernelEventsNow(int epfd, epoll_event* events, int max) {
  const int k = libc().epoll_pwait(epfd, events, max, 0, nullptr);
  if (k <= 0) return 0;
  bool saw = false;
  return FilterCookie(events, k, &saw);
}

int EpollSet::Wait(int epfd, epoll_event* events, int maxevents, const Deadline& deadline,
                   const sigset_t* sigmask) {
  if (maxevents <= 0) return Fail(EINVAL);
  if (events == nullptr) return Fail(EFAULT);
  bool lend = true;
  while (true) {
    // Stack sockets first, then the kernel's fds; but when the sockets took every slot
    // last time, the kernel's go first now, so that neither side can starve the other
    // (the kernel rotates its own ready list, Harvest the sockets').
    int n = 0;
    const bool kernel_first = kernel_owed_.exchange(false, std::memory_order_relaxed);
    if (kernel_first) n = KernelEventsNow(epfd, events, maxevents);
    if (n < maxevents) {
      const int h = Harvest(events + n, maxevents - n);
      if (!kernel_first && h == maxevents) kernel_owed_.store(true, std::memory_order_relaxed);
      n += h;
    }
    if (n > 0) {
      if (!kernel_first && n < maxevents) n += KernelEventsNow(epfd, events + n, maxevents - n);
      return n;
    }
    int k = 0;
    {
      // Run-to-completion (shim/wait.h LinkLoan): wait on the epoll fd and on the stack's
      // link; frames are processed here, and what they made ready is harvested above.
      LinkLoan loan(lend && (deadline.infinite() || deadline.RemainingMs() > 0));
      // Busy polling (PYTCP_BUSY_POLL) reads only the link, so kernel fds in the set wait
      // up to that long; what it processed is harvested at the top.
      if (loan.BusyPoll() > 0) continue;
      if (loan.fd() >= 0) {
        pollfd p[2] = {{epfd, POLLIN, 0}, {loan.fd(), POLLIN, 0}};
        timespec left{};
        if (!deadline.infinite()) left = deadline.Remaining();
        int r = 0;
        {
          // Where epoll_wait sleeps, and so where pthread_cancel may end it (Guarded defers
          // it elsewhere): the link loan is RAII.
          CancelWindow cancellable;
          r = libc().ppoll(p, 2, deadline.infinite() ? nullptr : &left, sigmask);
        }
        if (r < 0) return -1;
        if (r == 0) return 0;  // the timeout expired
        // A link that reports an error without frames would wake every wait: leave it
        // to the stack thread for the rest of this call.
        if (p[1].revents != 0 && loan.Process() == 0 && (p[1].revents & POLLIN) == 0) lend = false;
        if (p[0].revents == 0) continue;
        k = libc().epoll_pwait(epfd, events, maxevents, 0, nullptr);
      } else {
        CancelWindow cancellable;  // see above
        k = libc().epoll_pwait(epfd, events, maxevents, deadline.RemainingMs(), sigmask);
      }
    }
    if (k < 0) return -1;
    bool saw = false;
    n = FilterCookie(events, k, &saw);
    if (saw && n < maxevents) n += Harvest(events + n, maxevents - n);
    if (n > 0) return n;
    if (k == 0) return 0;  // the timeout expired
    if (!deadline.infinite() && deadline.RemainingMs() == 0) return 0;
    // Only the ready fd fired and nothing was ready after all: wait again.
  }
}

void EpollSet::OnLastFdClosed() {
  if (inherited()) return;
  std::unordered_map<int, std::shared_ptr<EpollItem>> items;
  {
    std::lock_guard lock(mu_);
    items.swap(items_);
    for (auto& [fd, item] : items) item->removed_ = true;
    ready_.clear();
  }
  for (auto& [fd, item] : items) {
    if (auto sock = item->sock_.lock()) sock->RemoveEpollWaiter(item.get());
  }
}

}  // namespace pytcp::shim

using namespace pytcp;        // NOLINT: the interposed functions are C symbols
using namespace pytcp::shim;  // NOLINT

namespace {

int TrackEpoll(int fd) {
  if (fd < 0) return fd;
  Guarded(0, [&] {
    FdTable::Get().Install(fd, std::make_shared<EpollSet>(), false);
    return 0;
  });
  return fd;
}

int WaitOn(int epfd, epoll_event* events, int maxevents, const Deadline& deadline,
           const sigset_t* sigmask, bool* handled) {
  *handled = false;
  if (FdTable::Get().Kind(epfd) != FdKind::kEpoll) return 0;
  pthread_testcancel();  // a cancellation point (pthreads(7)), as glibc's epoll_wait
  return Guarded(-1, [&] {
    auto set = FdTable::Get().LookupAs<EpollSet>(epfd, FdKind::kEpoll);
    if (set == nullptr || !set->active()) return 0;
    *handled = true;
    if (set->inherited()) return Fail(EBADF);
    return set->Wait(epfd, events, maxevents, deadline, sigmask);
  });
}

}  // namespace

PYTCP_EXPORT int epoll_create(int size) noexcept { return TrackEpoll(libc().epoll_create(size)); }

PYTCP_EXPORT int epoll_create1(int flags) noexcept {
  return TrackEpoll(libc().epoll_create1(flags));
}

PYTCP_EXPORT int epoll_ctl(int epfd, int op, int fd, epoll_event* event) noexcept {
  if (FdTable::Get().Kind(fd) != FdKind::kSocket) return libc().epoll_ctl(epfd, op, fd, event);
  return Guarded(-1, [&] {
    bool inherited = false;
    auto sock = SocketFor(fd, &inherited);
    if (inherited) return Fail(EBADF);
    if (sock == nullptr) return libc().epoll_ctl(epfd, op, fd, event);
    auto set = FdTable::Get().LookupAs<EpollSet>(epfd, FdKind::kEpoll);
    if (set == nullptr) {
      // An epoll fd the shim did not see being created (or not an epoll fd at all: the
      // kernel says EINVAL/EBADF when the set registers its ready fd).
      if (FdTable::Get().Kind(epfd) != FdKind::kNone) return Fail(EINVAL);
      auto fresh = std::make_shared<EpollSet>();
      if (fresh->Control(epfd, op, fd, sock, event) != 0) return -1;
      FdTable::Get().Install(epfd, fresh, false);
      return 0;
    }
    if (set->inherited()) return Fail(EBADF);
    return set->Control(epfd, op, fd, sock, event);
  });
}

PYTCP_EXPORT int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout) {
  bool handled = false;
  const int n = WaitOn(epfd, events, maxevents, Deadline::AfterMs(timeout), nullptr, &handled);
  return handled ? n : libc().epoll_wait(epfd, events, maxevents, timeout);
}

PYTCP_EXPORT int epoll_pwait(int epfd, epoll_event* events, int maxevents, int timeout,
                             const sigset_t* sigmask) {
  bool handled = false;
  const int n = WaitOn(epfd, events, maxevents, Deadline::AfterMs(timeout), sigmask, &handled);
  return handled ? n : libc().epoll_pwait(epfd, events, maxevents, timeout, sigmask);
}

PYTCP_EXPORT int epoll_pwait2(int epfd, epoll_event* events, int maxevents,
                              const timespec* timeout, const sigset_t* sigmask) {
  bool handled = false;
  const int n = WaitOn(epfd, events, maxevents, Deadline::After(timeout), sigmask, &handled);
  return handled ? n : libc().epoll_pwait2(epfd, events, maxevents, timeout, sigmask);
}
