// stdio on a stack socket: fdopen. glibc's streams do their I/O with its internal
// __read/__write, which interposition cannot see, so a FILE made by the real fdopen on an
// in-process stack socket would read and write the eventfd placeholder (and hang). Here
// such a stream is made with fopencookie over the shim's own read, write and close, so
// fgets, fprintf and fclose work on it as on a kernel socket; its fileno() is the socket's
// fd. A shared-stack socket (a socketpair end) and every other fd get glibc's fdopen: the
// kernel does their I/O.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "shim/interpose.h"
#include "shim/libc.h"

namespace pytcp::shim {
namespace {

ssize_t CookieRead(void* cookie, char* buf, size_t n) {
  return ::read(static_cast<int>(reinterpret_cast<intptr_t>(cookie)), buf, n);
}
ssize_t CookieWrite(void* cookie, const char* buf, size_t n) {
  // stdio expects the whole buffer taken, or 0 for an error.
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(cookie));
  size_t off = 0;
  while (off < n) {
    const ssize_t w = ::write(fd, buf + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return off > 0 ? static_cast<ssize_t>(off) : 0;
    off += static_cast<size_t>(w);
  }
  return static_cast<ssize_t>(off);
}
int CookieClose(void* cookie) { return ::close(static_cast<int>(reinterpret_cast<intptr_t>(cookie))); }

// fdopen(3): the access mode of `mode` must be allowed by the fd's (EINVAL otherwise).
bool ModeFits(int fd, const char* mode) {
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) return false;
  const bool plus = std::strchr(mode, '+') != nullptr;
  const int acc = fl & O_ACCMODE;
  if (mode[0] == 'r' && !plus) return acc != O_WRONLY;
  return acc == O_RDWR || (!plus && acc == O_WRONLY);
}

}  // namespace
}  // namespace pytcp::shim

using namespace pytcp::shim;  // NOLINT: the interposed functions are C symbols

PYTCP_EXPORT FILE* fdopen(int fd, const char* mode) noexcept {
  if (FdTable::Get().Kind(fd) != FdKind::kSocket) return libc().fdopen(fd, mode);
  if (mode == nullptr || std::strchr("rwa", mode[0]) == nullptr) {
    errno = EINVAL;
    return nullptr;
  }
  if (!ModeFits(fd, mode)) {
    errno = EINVAL;
    return nullptr;
  }
  cookie_io_functions_t io{};
  io.read = &CookieRead;
  io.write = &CookieWrite;
  io.seek = nullptr;  // a socket cannot seek (ESPIPE)
  io.close = &CookieClose;
  FILE* f = fopencookie(reinterpret_cast<void*>(static_cast<intptr_t>(fd)), mode, io);
  if (f != nullptr) f->_fileno = fd;  // fileno() names the socket, as glibc's fdopen would
  return f;
}
