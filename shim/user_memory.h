// Whether the program's pointers may be used, so that a bad one fails the call with
// EFAULT, as the kernel's copy_from_user/copy_to_user make it fail, instead of crashing
// the program inside the shim.
//
// The probe asks the kernel itself: process_vm_readv (process_vm_writev) on our own
// process touches one byte of each page of the range and fails with EFAULT where a direct
// access would fault, unmapped or protected. It is a costly system call (pinning pages),
// so good ranges are remembered per thread until a mapping changes (user_memory.cc), and
// the callers probe
// only where the kernel would copy: the bytes a receive will fill (not when it returns
// EAGAIN or end of stream), the bytes a send takes, an address or option value of the
// given length. The write probe writes each probed byte's own value back; a concurrent
// store by another thread to that very byte of a buffer being handed to the call could be
// undone, which the call itself would do anyway when it fills the buffer. Where the
// system calls are not allowed (seccomp: ENOSYS, EPERM), memory is taken as accessible.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <span>

namespace pytcp::shim {

struct UserRange {
  const void* p;
  size_t n;
};

bool UserReadable(std::span<const UserRange> ranges) noexcept;
bool UserWritable(std::span<const UserRange> ranges) noexcept;

inline bool UserReadable(const void* p, size_t n) noexcept {
  const UserRange r{p, n};
  return UserReadable(std::span<const UserRange>(&r, 1));
}
inline bool UserWritable(void* p, size_t n) noexcept {
  const UserRange r{p, n};
  return UserWritable(std::span<const UserRange>(&r, 1));
}

// The msghdr and its iovec array, as copy_msghdr_from_user reads them (`written`: recvmsg
// also writes the header back): EFAULT, EMSGSIZE (more than UIO_MAXIOV iovecs), or 0.
int MsgHeaderFault(const msghdr* msg, bool written) noexcept;

// move_addr_to_user's checks before an address of `full` bytes is written back to
// (addr, len): *len read and written, EINVAL when negative, the bytes written: EFAULT,
// EINVAL or 0.
int AddressOutFault(void* addr, socklen_t* len, socklen_t full) noexcept;

}  // namespace pytcp::shim
