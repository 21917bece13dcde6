// poll, ppoll, select, pselect (and __poll_chk, __ppoll_chk) over any mix of kernel fds
// and stack sockets.
//
// Without a stack socket in the set the call goes to libc unchanged. Otherwise the kernel
// waits on the kernel fds plus this thread's wake-up eventfd, which a PollWaiter registered
// on each stack socket rings when that socket's readiness meets what was asked; the
// sockets' revents are their Socket::Poll() masks, so they are exactly what the stack
// reports (a connecting socket is neither readable nor writable, a reset gives
// POLLERR|POLLHUP...). poll always reports POLLERR and POLLHUP; select counts them as the
// kernel does (readable: POLLIN_SET, writable: POLLOUT_SET, exceptional: POLLPRI), and for
// select the kernel side is waited on with pselect itself, so its own rules apply there.
// When a stack socket is ready and the call has no kernel fds, no system call is made.
//
// Run-to-completion: a call that blocks also waits on the stack's link when no other thread
// has it (LinkLoan, shim/wait.h) and processes arriving frames itself, then reads the
// sockets' readiness again; the stack thread is then not involved at all.
#include <signal.h>
#include <sys/select.h>

#include <algorithm>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "shim/daemon_channel.h"
#include "shim/interpose.h"
#include "shim/libc.h"
#include "shim/remote_socket.h"
#include "shim/runtime.h"
#include "shim/wait.h"

namespace pytcp::shim {
namespace {

// fs/select.c
constexpr uint32_t kPollInSet = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
constexpr uint32_t kPollOutSet = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
constexpr uint32_t kPollExSet = POLLPRI;

struct StackEntry {
  size_t index;                      // in the caller's array (poll) or the fd (select)
  std::shared_ptr<ShimSocket> sock;  // nullptr: inherited across fork (invalid here)
  PollWaiter waiter;
};

// Inline for the usual handful of sockets: no allocation per call.
using Entries = absl::InlinedVector<StackEntry, 8>;

// Registers the waiters for the duration of one call.
class Registration {
 public:
  explicit Registration(Entries& entries) : entries_(entries) {
    for (auto& e : entries_) {
      if (e.sock != nullptr) e.sock->AddWaiter(&e.waiter);
    }
  }
  ~Registration() {
    for (auto& e : entries_) {
      if (e.sock != nullptr) e.sock->RemoveWaiter(&e.waiter);
    }
  }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  Entries& entries_;
};

bool HasStackSocket(const pollfd* fds, nfds_t nfds) {
  // A null array is the kernel's to refuse (EFAULT), not ours to read.
  if (fds == nullptr) return false;
  const FdTable& table = FdTable::Get();
  for (nfds_t i = 0; i < nfds; ++i) {
    if (table.Kind(fds[i].fd) == FdKind::kSocket) return true;
  }
  return false;
}

// How long a poll or select waits in the kernel: not at all when a stack socket is already
// ready (a zero timeout, the kernel fds only looked at), else until the deadline (nullptr:
// forever; `left` holds the time remaining).
const timespec* KernelWait(int ready, const Deadline& deadline, timespec* left) {
  static constexpr timespec kZero{0, 0};
  if (ready > 0) return &kZero;
  if (deadline.infinite()) return nullptr;
  *left = deadline.Remaining();
  return left;
}

int PollMixed(pollfd* fds, nfds_t nfds, const Deadline& deadline, const sigset_t* sigmask) {
  ThreadWake& wake = ThreadWake::Get();
  if (wake.fd() < 0) return Fail(ENOMEM);
  // The caller's fds, then this thread's wake-up fd, then the stack's link while lent.
  absl::InlinedVector<pollfd, 16> kfds(fds, fds + nfds);
  kfds.push_back(pollfd{wake.fd(), POLLIN, 0});
  kfds.push_back(pollfd{-1, POLLIN, 0});
  const size_t wake_index = nfds;
  const size_t link_index = nfds + 1;
  Entries entries;
  bool kernel_fds = false;
  for (nfds_t i = 0; i < nfds; ++i) {
    if (FdTable::Get().Kind(fds[i].fd) != FdKind::kSocket) {
      kernel_fds |= fds[i].fd >= 0;
      continue;
    }
    bool inherited = false;
    auto s = SocketFor(fds[i].fd, &inherited);
    if (s == nullptr && !inherited) {  // closed meanwhile: the kernel answers
      kernel_fds = true;
      continue;
    }
    kfds[i].fd = -1;  // the kernel ignores negative fds
    const uint32_t interest = static_cast<uint16_t>(fds[i].events) | POLLERR | POLLHUP;
    entries.push_back(StackEntry{i, std::move(s), PollWaiter(&wake, interest)});
  }
  Registration reg(entries);
  bool lend = true;
  while (true) {
    int ready = 0;
    for (const auto& e : entries) {
      uint32_t rev = POLLNVAL;
      if (e.sock != nullptr) {
        rev = e.sock->Poll() & (static_cast<uint16_t>(fds[e.index].events) | POLLERR | POLLHUP);
      }
      fds[e.index].revents = static_cast<short>(rev);
      if (rev != 0) ++ready;
    }
    if (ready > 0 && !kernel_fds) return ready;  // no kernel fd to ask about
    timespec left{};
    const timespec* ts = KernelWait(ready, deadline, &left);
    LinkLoan loan(lend && (ts == nullptr || ts->tv_sec != 0 || ts->tv_nsec != 0));
    // Busy polling reads only the link: with kernel fds in the set it would delay them.
    if (!kernel_fds && loan.BusyPoll() > 0) continue;
    kfds[link_index].fd = loan.fd();
    kfds[link_index].revents = 0;
    int r = 0;
    {
      // The one place where this call sleeps, and so where pthread_cancel may end it
      // (Guarded defers it elsewhere): the registrations and the link loan are RAII.
      CancelWindow cancellable;
      r = libc().ppoll(kfds.data(), kfds.size(), ts, sigmask);
    }
    if (r < 0) return -1;
    bool woken = false;
    if (kfds[wake_index].revents != 0) {
      woken = true;
      kfds[wake_index].revents = 0;
      wake.Reset();
    }
    if (kfds[link_index].revents != 0) {
      woken = true;
      // A link that reports an error without frames (the device went away) would wake
      // every wait at once: leave it to the stack thread for the rest of this call.
      if (loan.Process() == 0 && (kfds[link_index].revents & POLLIN) == 0) lend = false;
    }
    for (nfds_t i = 0; i < nfds; ++i) {
      if (kfds[i].fd < 0 && fds[i].fd >= 0) continue;  // a stack socket
      fds[i].revents = kfds[i].revents;
      if (kfds[i].revents != 0) ++ready;
    }
    if (ready > 0) return ready;
    if (!woken) return 0;  // the timeout expired
    // Woken by a stack socket or the link: the readiness is read again at the top.
  }
}

int PollImpl(pollfd* fds, nfds_t nfds, const Deadline& deadline, const sigset_t* sigmask) {
  pthread_testcancel();  // a cancellation point (pthreads(7)), as glibc's poll at its start
  return Guarded(-1, [&] { return PollMixed(fds, nfds, deadline, sigmask); });
}

// --- select ---

constexpr int kBitsPerWord = 8 * sizeof(unsigned long);

size_t Words(int nfds) { return static_cast<size_t>((nfds + kBitsPerWord - 1) / kBitsPerWord); }

bool TestBit(const unsigned long* set, int fd) {
  return set != nullptr && ((set[fd / kBitsPerWord] >> (fd % kBitsPerWord)) & 1UL) != 0;
}
void SetBit(unsigned long* set, int fd) { set[fd / kBitsPerWord] |= 1UL << (fd % kBitsPerWord); }
void ClearBit(unsigned long* set, int fd) {
  set[fd / kBitsPerWord] &= ~(1UL << (fd % kBitsPerWord));
}

unsigned long* Bits(fd_set* set) { return reinterpret_cast<unsigned long*>(set); }

bool SetsHaveStackSocket(int nfds, fd_set* r, fd_set* w, fd_set* e) {
  const FdTable& table = FdTable::Get();
  for (fd_set* set : {r, w, e}) {
    if (set == nullptr) continue;
    const unsigned long* bits = Bits(set);
    for (size_t word = 0; word < Words(nfds); ++word) {
      unsigned long v = bits[word];
      while (v != 0) {
        const int fd = static_cast<int>(word) * kBitsPerWord + __builtin_ctzl(v);
        v &= v - 1;
        if (fd < nfds && table.Kind(fd) == FdKind::kSocket) return true;
      }
    }
  }
  return false;
}

int SelectMixed(int nfds, fd_set* rset, fd_set* wset, fd_set* eset, const Deadline& deadline,
                const sigset_t* sigmask) {
  ThreadWake& wake = ThreadWake::Get();
  if (wake.fd() < 0) return Fail(ENOMEM);
  Stack* stack = RunningStack();
  const int link_fd = stack != nullptr ? stack->link_fd() : -1;
  const int knfds = std::max({nfds, wake.fd() + 1, link_fd + 1});
  const size_t kwords = Words(knfds);
  // The kernel's part of each set (stack sockets removed, the wake-up fd added to reads).
  using Bitset = absl::InlinedVector<unsigned long, 8>;
  Bitset kin(kwords, 0), kout(kwords, 0), kex(kwords, 0);
  unsigned long* user[3] = {rset ? Bits(rset) : nullptr, wset ? Bits(wset) : nullptr,
                            eset ? Bits(eset) : nullptr};
  Bitset* kernel_sets[3] = {&kin, &kout, &kex};
  for (int s = 0; s < 3; ++s) {
    if (user[s] != nullptr) std::copy(user[s], user[s] + Words(nfds), kernel_sets[s]->begin());
  }
  Entries entries;
  int stack_fds = 0;
  int asked_fds = 0;
  for (int fd = 0; fd < nfds; ++fd) {
    const bool in = TestBit(user[0], fd), out = TestBit(user[1], fd), ex = TestBit(user[2], fd);
    if (!(in || out || ex)) continue;
    ++asked_fds;
    if (FdTable::Get().Kind(fd) != FdKind::kSocket) continue;
    bool inherited = false;
    auto s = SocketFor(fd, &inherited);
    if (inherited) return Fail(EBADF);
    if (s == nullptr) continue;
    ++stack_fds;
    for (auto* k : kernel_sets) ClearBit(k->data(), fd);
    const uint32_t interest = (in ? kPollInSet : 0) | (out ? kPollOutSet : 0) | (ex ? kPollExSet : 0);
    entries.push_back(StackEntry{static_cast<size_t>(fd), std::move(s), PollWaiter(&wake, interest)});
  }
  const bool kernel_fds = asked_fds > stack_fds;
  SetBit(kin.data(), wake.fd());
  Registration reg(entries);
  Bitset win(kwords), wout(kwords), wex(kwords);
  Bitset result[3] = {Bitset(kwords), Bitset(kwords), Bitset(kwords)};
  bool lend = true;
  while (true) {
    for (auto& r : result) std::fill(r.begin(), r.end(), 0UL);
    int ready = 0;
    for (const auto& e : entries) {
      const int fd = static_cast<int>(e.index);
      const uint32_t m = e.sock->Poll();
      if (TestBit(user[0], fd) && (m & kPollInSet) != 0) SetBit(result[0].data(), fd), ++ready;
      if (TestBit(user[1], fd) && (m & kPollOutSet) != 0) SetBit(result[1].data(), fd), ++ready;
      if (TestBit(user[2], fd) && (m & kPollExSet) != 0) SetBit(result[2].data(), fd), ++ready;
    }
    win = kin;
    wout = kout;
    wex = kex;
    timespec left{};
    const timespec* ts = KernelWait(ready, deadline, &left);
    int r = 0;
    bool woken = false;
    if (ready == 0 || kernel_fds) {
      // The kernel is asked only when it has fds of the caller's to report on, or when the
      // call must block (on the wake-up fd, and on the link while it is lent).
      LinkLoan loan(lend && (ts == nullptr || ts->tv_sec != 0 || ts->tv_nsec != 0));
      if (!kernel_fds && loan.BusyPoll() > 0) continue;  // see PollMixed
      if (loan.fd() >= 0) SetBit(win.data(), loan.fd());
      {
        CancelWindow cancellable;  // see PollMixed
        r = libc().pselect(knfds, reinterpret_cast<fd_set*>(win.data()),
                           reinterpret_cast<fd_set*>(wout.data()),
                           reinterpret_cast<fd_set*>(wex.data()), ts, sigmask);
      }
      if (r < 0) return -1;
      if (TestBit(win.data(), wake.fd())) {
        woken = true;
        ClearBit(win.data(), wake.fd());
        --r;
        wake.Reset();
      }
      if (loan.fd() >= 0 && TestBit(win.data(), loan.fd())) {
        woken = true;
        ClearBit(win.data(), loan.fd());
        --r;
        if (loan.Process() == 0) lend = false;  // see PollMixed
      }
    }
    if (ready + r > 0) {
      Bitset* got[3] = {&win, &wout, &wex};
      for (int s = 0; s < 3; ++s) {
        if (user[s] == nullptr) continue;
        for (size_t word = 0; word < Words(nfds); ++word) {
          user[s][word] = result[s][word] | (*got[s])[word];
        }
      }
      return ready + r;
    }
    if (!woken) {
      for (auto* u : user) {
        if (u != nullptr) std::fill(u, u + Words(nfds), 0UL);
      }
      return 0;
    }
  }
}

int SelectImpl(int nfds, fd_set* r, fd_set* w, fd_set* e, const Deadline& deadline,
               const sigset_t* sigmask) {
  if (nfds < 0) return Fail(EINVAL);
  pthread_testcancel();  // see PollImpl
  return Guarded(-1, [&] { return SelectMixed(nfds, r, w, e, deadline, sigmask); });
}

// poll/ppoll over kernel fds only, with the shared stack's sockets among them: `wait(now)`
// is the kernel's call, told not to wait when a socket whose bits only the daemon knows is
// ready (RemotePollFirst); the answer then gets those bits (RemoteAdjustPoll).
template <typename Wait>
int PollShared(pollfd* fds, nfds_t nfds, Wait&& wait) {
  const bool now = Guarded(0, [&] { return RemotePollFirst(fds, nfds); }) > 0;
  int r = wait(now);
  if (r >= 0) {
    const int saved = errno;  // poll succeeded, whatever the questions met
    r = Guarded(r, [&] { return RemoteAdjustPoll(fds, nfds, r); });
    errno = saved;
  }
  return r;
}

}  // namespace
}  // namespace pytcp::shim

using namespace pytcp;        // NOLINT: the interposed functions are C symbols
using namespace pytcp::shim;  // NOLINT

// glibc declares poll/ppoll's array write-only (__attr_access), so GCC takes our reading
// of the caller's events for a read of uninitialized memory.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

PYTCP_EXPORT int poll(pollfd* fds, nfds_t nfds, int timeout) {
  if (!HasStackSocket(fds, nfds)) {
    if (!SharedStack()) return libc().poll(fds, nfds, timeout);
    return PollShared(fds, nfds,
                      [&](bool now) { return libc().poll(fds, nfds, now ? 0 : timeout); });
  }
  return PollImpl(fds, nfds, Deadline::AfterMs(timeout), nullptr);
}

PYTCP_EXPORT int __poll_chk(pollfd* fds, nfds_t nfds, int timeout, size_t fdslen) {
  if (fdslen / sizeof(*fds) < nfds) __chk_fail();
  return poll(fds, nfds, timeout);
}

PYTCP_EXPORT int ppoll(pollfd* fds, nfds_t nfds, const timespec* timeout,
                       const sigset_t* sigmask) {
  if (!HasStackSocket(fds, nfds)) {
    if (!SharedStack()) return libc().ppoll(fds, nfds, timeout, sigmask);
    const timespec zero{};
    return PollShared(fds, nfds, [&](bool now) {
      return libc().ppoll(fds, nfds, now ? &zero : timeout, sigmask);
    });
  }
  return PollImpl(fds, nfds, Deadline::After(timeout), sigmask);
}

PYTCP_EXPORT int __ppoll_chk(pollfd* fds, nfds_t nfds, const timespec* timeout,
                             const sigset_t* sigmask, size_t fdslen) {
  if (fdslen / sizeof(*fds) < nfds) __chk_fail();
  return ppoll(fds, nfds, timeout, sigmask);
}

PYTCP_EXPORT int select(int nfds, fd_set* r, fd_set* w, fd_set* e, timeval* timeout) {
  if (nfds <= 0 || !SetsHaveStackSocket(nfds, r, w, e)) {
    return libc().select(nfds, r, w, e, timeout);
  }
  Deadline deadline = Deadline::Infinite();
  if (timeout != nullptr) {
    if (timeout->tv_sec < 0 || timeout->tv_usec < 0) return Fail(EINVAL);
    const timespec ts{timeout->tv_sec + timeout->tv_usec / 1000000,
                      (timeout->tv_usec % 1000000) * 1000};
    deadline = Deadline::After(&ts);
  }
  const int n = SelectImpl(nfds, r, w, e, deadline, nullptr);
  // Linux writes the time not slept back into the timeout (select(2), NOTES).
  if (timeout != nullptr && n >= 0) {
    const timespec left = deadline.Remaining();
    timeout->tv_sec = left.tv_sec;
    timeout->tv_usec = left.tv_nsec / 1000;
  }
  return n;
}

PYTCP_EXPORT int pselect(int nfds, fd_set* r, fd_set* w, fd_set* e, const timespec* timeout,
                         const sigset_t* sigmask) {
  if (nfds <= 0 || !SetsHaveStackSocket(nfds, r, w, e)) {
    return libc().pselect(nfds, r, w, e, timeout, sigmask);
  }
  if (timeout != nullptr && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
                             timeout->tv_nsec >= 1000000000)) {
    return Fail(EINVAL);
  }
  return SelectImpl(nfds, r, w, e, Deadline::After(timeout), sigmask);
}
