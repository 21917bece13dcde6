#include "shim/loopback.h"

#include <fcntl.h>

#include <cerrno>

#include "shim/fd_table.h"
#include "shim/libc.h"
#include "shim/runtime.h"
#include "shim/sockaddr.h"

namespace pytcp::shim {

bool ShouldHandOver(const ShimSocket& sock, const SocketAddress& addr) {
  return !sock.committed() && addr.ip.is_loopback() &&
         LoopbackSetting() == LoopbackMode::kKernel;
}

int HandOverToKernel(int fd, ShimSocket& sock) {
  const Libc& c = libc();
  const int k = c.socket(sock.domain(), sock.type() | SOCK_CLOEXEC, sock.protocol());
  if (k < 0) return errno;
  auto fail = [&](int e) {
    c.close(k);
    return e;
  };
  for (const RecordedOption& o : sock.recorded_options()) {
    // An option the stack took but this kernel refuses is dropped, as it would have been
    // had the program set it on a kernel socket in the first place (it saw success then).
    (void)c.setsockopt(k, o.level, o.name, o.value.empty() ? nullptr : o.value.data(),
                       static_cast<socklen_t>(o.value.size()));
  }
  if (sock.impl().nonblocking() && c.fcntl(k, F_SETFL, O_NONBLOCK) != 0) {
    return fail(errno);
  }
  if (sock.explicitly_bound()) {
    auto local = sock.impl().LocalAddress();
    if (local.ok()) {
      socklen_t len = 0;
      const sockaddr_storage ss = ToSockaddr(*local, &len, sock.domain());
      if (c.bind(k, reinterpret_cast<const sockaddr*>(&ss), len) != 0) return fail(errno);
    }
  }
  // Every fd naming the socket (dups included) becomes the kernel socket.
  FdTable& table = FdTable::Get();
  std::vector<int> fds;
  for (int other : table.FdsInRange(0, FdTable::kMaxFd - 1)) {
    if (table.Lookup(other).get() == &sock) fds.push_back(other);
  }
  if (fds.empty()) fds.push_back(fd);
  for (int other : fds) {
    if (c.dup3(k, other, table.cloexec(other) ? O_CLOEXEC : 0) < 0) return fail(errno);
  }
  c.close(k);
  for (const auto& w : sock.TakeEpollWaiters()) w->OnHandedToKernel();
  for (int other : fds) table.Remove(other);
  return 0;
}

}  // namespace pytcp::shim
