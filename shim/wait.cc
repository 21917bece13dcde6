#include "shim/wait.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "shim/libc.h"
#include "shim/runtime.h"

namespace pytcp::shim {
namespace {

constexpr int64_t kNanos = 1000000000;

thread_local ThreadWake* t_own_wake = nullptr;  // the calling thread's ThreadWake, once made

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNanos + ts.tv_nsec;
}

}  // namespace

Deadline Deadline::AfterMs(int ms) {
  Deadline d;
  if (ms < 0) return d;
  d.infinite_ = false;
  d.at_ns_ = NowNs() + static_cast<int64_t>(ms) * 1000000;
  return d;
}

Deadline Deadline::After(const timespec* ts) {
  Deadline d;
  if (ts == nullptr) return d;
  d.infinite_ = false;
  const int64_t span = std::max<int64_t>(0, static_cast<int64_t>(ts->tv_sec)) * kNanos +
                       std::clamp<int64_t>(ts->tv_nsec, 0, kNanos - 1);
  d.at_ns_ = NowNs() + span;
  return d;
}

timespec Deadline::Remaining() const {
  const int64_t left = std::max<int64_t>(0, at_ns_ - NowNs());
  return timespec{static_cast<time_t>(left / kNanos), static_cast<long>(left % kNanos)};
}

int Deadline::RemainingMs() const {
  if (infinite_) return -1;
  const int64_t left = std::max<int64_t>(0, at_ns_ - NowNs());
  return static_cast<int>(std::min<int64_t>((left + 999999) / 1000000, INT32_MAX));
}

namespace {
constexpr int kLow = 256;

bool HighFdsFit() {
  rlimit rl{};
  return getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > static_cast<rlim_t>(kLow) * 2;
}
}  // namespace

void ReserveHighFds() {
  if (!HighFdsFit()) return;
  const int fd = eventfd(0, EFD_CLOEXEC);
  if (fd < 0) return;
  // The shim's fds go just above kLow; a little room above it covers a few threads' wake-ups.
  const int high = libc().fcntl(fd, F_DUPFD_CLOEXEC, kLow + 32);
  if (high >= 0) libc().close(high);
  libc().close(fd);
}

int MoveHigh(int fd) {
  if (fd < 0) return fd;
  if (!HighFdsFit()) return fd;
  const int high = libc().fcntl(fd, F_DUPFD_CLOEXEC, kLow);
  if (high < 0) return fd;
  libc().close(fd);
  return high;
}

ThreadWake& ThreadWake::Get() {
  thread_local ThreadWake wake;
  t_own_wake = &wake;
  return wake;
}

ThreadWake::ThreadWake() : fd_(MoveHigh(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))) {}

ThreadWake::~ThreadWake() {
  if (fd_ >= 0) libc().close(fd_);
}

void ThreadWake::Signal() {
  if (t_own_wake == this) return;
  if (signaled_.exchange(true, std::memory_order_acq_rel)) return;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = libc().write(fd_, &one, sizeof(one));
}

void ThreadWake::Reset() {
  // Drain first, then re-arm: a Signal() in between finds the flag still set and writes
  // nothing, and the change it announces is seen by the caller's re-read that follows.
  uint64_t v;
  [[maybe_unused]] ssize_t n = libc().read(fd_, &v, sizeof(v));
  signaled_.store(false, std::memory_order_release);
}

LinkLoan::LinkLoan(bool want) {
  if (!want) return;
  stack_ = RunningStack();
  if (stack_ != nullptr) fd_ = stack_->BeginLinkWait();
}

LinkLoan::~LinkLoan() {
  if (fd_ >= 0) stack_->EndLinkWait();
}

size_t LinkLoan::BusyPoll() { return fd_ >= 0 ? stack_->BusyPollForWait() : 0; }

size_t LinkLoan::Process() { return fd_ >= 0 ? stack_->ProcessLinkForWait() : 0; }

}  // namespace pytcp::shim
