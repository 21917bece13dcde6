#include "shim/user_memory.h"

#include <sys/uio.h>
#include <unistd.h>

#include <limits.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace pytcp::shim {
namespace {

constexpr size_t kBatch = 64;  // iovecs per system call

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
  return EachPage(ranges, [](iovec* remote, size_t n) {
    char sink[kBatch];
    iovec local{sink, n};
    return process_vm_readv(getpid(), &local, 1, remote, n, 0);
  });
}

bool UserWritable(std::span<const UserRange> ranges) noexcept {
  // Each byte is read from itself (local) and written back to itself (remote).
  return EachPage(ranges, [](iovec* remote, size_t n) {
    return process_vm_writev(getpid(), remote, n, remote, n, 0);
  });
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
