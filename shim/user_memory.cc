#include "shim/user_memory.h"

#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <limits.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>

namespace pytcp::shim {

std::atomic<uint64_t> g_generation{1};  // see GoodRanges below

namespace {

constexpr size_t kBatch = 64;  // iovecs per system call

// The probe costs a few microseconds (process_vm_*v pins the pages), as much as the rest
// of a receive; programs use the same few buffers again and again. So each thread keeps
// the page ranges it found good, for as long as no mapping changed: munmap, mremap and
// mprotect (interposed below) advance the generation, which empties every cache. glibc's
// own unmapping (free() of a large block, a thread's stack) is not seen: a buffer used
// after that is a use-after-free, which then crashes as it did before the probes.
class GoodRanges {
 public:
  bool Covers(std::span<const UserRange> ranges) const {
    if (generation_ != g_generation.load(std::memory_order_acquire)) return false;
    for (const UserRange& r : ranges) {
      if (r.n == 0) continue;
      const auto lo = reinterpret_cast<uintptr_t>(r.p);
      const uintptr_t hi = lo + r.n;
      if (hi < lo) return false;
      bool inside = false;
      for (const auto& [a, b] : kept_) inside |= a <= lo && hi <= b;
      if (!inside) return false;
    }
    return true;
  }
  void Keep(std::span<const UserRange> ranges, uint64_t generation, size_t page) {
    if (generation_ != generation) {
      kept_.fill({0, 0});
      generation_ = generation;
    }
    for (const UserRange& r : ranges) {
      if (r.n == 0) continue;
      const auto lo = reinterpret_cast<uintptr_t>(r.p) & ~(page - 1);
      const uintptr_t hi = (reinterpret_cast<uintptr_t>(r.p) + r.n + page - 1) & ~(page - 1);
      kept_[next_] = {lo, hi};
      next_ = (next_ + 1) % kept_.size();
    }
  }

 private:
  uint64_t generation_ = 0;
  std::array<std::pair<uintptr_t, uintptr_t>, 4> kept_{};
  size_t next_ = 0;
};

thread_local GoodRanges t_readable;
thread_local GoodRanges t_writable;

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

// One byte of every page of `ranges`, `kBatch` at a time, through `probe` (which returns
// how many single-byte iovecs it moved); false at the first that fails.
template <typename Probe>
bool EachPage(std::span<const UserRange> ranges, Probe&& probe) {
  iovec iov[kBatch];
  size_t count = 0;
  auto flush = [&] {
    if (count == 0) return true;
    const int saved = errno;
    const ssize_t r = probe(iov, count);
    const int e = errno;
    errno = saved;
    const size_t n = count;
    count = 0;
    if (r < 0 && (e == ENOSYS || e == EPERM)) return true;  // no probe allowed here
    return r == static_cast<ssize_t>(n);
  };
  const size_t page = PageSize();
  for (const UserRange& range : ranges) {
    if (range.n == 0) continue;
    auto at = reinterpret_cast<uintptr_t>(range.p);
    const uintptr_t last = at + range.n - 1;
    if (last < at) return false;  // wraps around: no such memory
    while (true) {
      iov[count++] = iovec{reinterpret_cast<void*>(at), 1};
      if (count == kBatch && !flush()) return false;
      const uintptr_t next = (at & ~(page - 1)) + page;
      if (next == 0 || next > last) break;
      at = next;
    }
  }
  return flush();
}

}  // namespace

bool UserReadable(std::span<const UserRange> ranges) noexcept {
  if (t_readable.Covers(ranges) || t_writable.Covers(ranges)) return true;
  const uint64_t generation = g_generation.load(std::memory_order_acquire);
  const bool ok = EachPage(ranges, [](iovec* remote, size_t n) {
    char sink[kBatch];
    iovec local{sink, n};
    return process_vm_readv(getpid(), &local, 1, remote, n, 0);
  });
  if (ok) t_readable.Keep(ranges, generation, PageSize());
  return ok;
}

bool UserWritable(std::span<const UserRange> ranges) noexcept {
  if (t_writable.Covers(ranges)) return true;
  const uint64_t generation = g_generation.load(std::memory_order_acquire);
  // Each byte is read from itself (local) and written back to itself (remote).
  const bool ok = EachPage(ranges, [](iovec* remote, size_t n) {
    return process_vm_writev(getpid(), remote, n, remote, n, 0);
  });
  if (ok) t_writable.Keep(ranges, generation, PageSize());
  return ok;
}

int MsgHeaderFault(const msghdr* msg, bool written) noexcept {
  if (msg == nullptr) return EFAULT;
  if (written ? !UserWritable(const_cast<msghdr*>(msg), sizeof(*msg))
              : !UserReadable(msg, sizeof(*msg))) {
    return EFAULT;
  }
  if (msg->msg_iovlen > IOV_MAX) return EMSGSIZE;
  if (!UserReadable(msg->msg_iov, msg->msg_iovlen * sizeof(iovec))) return EFAULT;
  return 0;
}

int AddressOutFault(void* addr, socklen_t* len, socklen_t full) noexcept {
  if (addr == nullptr || len == nullptr || !UserWritable(len, sizeof(*len))) return EFAULT;
  if (static_cast<int>(*len) < 0) return EINVAL;
  if (!UserWritable(addr, std::min(*len, full))) return EFAULT;
  return 0;
}

}  // namespace pytcp::shim

// Mapping changes empty the probe caches (above): munmap, mprotect, mremap, and an mmap
// with MAP_FIXED (which replaces what was there). The calls themselves are the system
// calls glibc's wrappers make.
#define PYTCP_EXPORT extern "C" __attribute__((visibility("default")))

PYTCP_EXPORT int munmap(void* addr, size_t len) noexcept {
  pytcp::shim::g_generation.fetch_add(1, std::memory_order_acq_rel);
  return static_cast<int>(syscall(SYS_munmap, addr, len));
}

PYTCP_EXPORT int mprotect(void* addr, size_t len, int prot) noexcept {
  pytcp::shim::g_generation.fetch_add(1, std::memory_order_acq_rel);
  return static_cast<int>(syscall(SYS_mprotect, addr, len, prot));
}

PYTCP_EXPORT void* mremap(void* old_addr, size_t old_size, size_t new_size, int flags,
                          ...) noexcept {
  void* new_addr = nullptr;
  if ((flags & MREMAP_FIXED) != 0) {
    va_list ap;
    va_start(ap, flags);
    new_addr = va_arg(ap, void*);
    va_end(ap);
  }
  pytcp::shim::g_generation.fetch_add(1, std::memory_order_acq_rel);
  const long r = syscall(SYS_mremap, old_addr, old_size, new_size, flags, new_addr);
  return r == -1 ? MAP_FAILED : reinterpret_cast<void*>(r);
}

PYTCP_EXPORT void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) noexcept {
  if ((flags & MAP_FIXED) != 0) pytcp::shim::g_generation.fetch_add(1, std::memory_order_acq_rel);
  const long r = syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
  return r == -1 ? MAP_FAILED : reinterpret_cast<void*>(r);
}

PYTCP_EXPORT void* mmap64(void* addr, size_t len, int prot, int flags, int fd,
                          off64_t offset) noexcept {
  return mmap(addr, len, prot, flags, fd, static_cast<off_t>(offset));
}
