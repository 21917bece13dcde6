#include "shim/interpose.h"

#include <signal.h>
#include <sys/time.h>

#include <string>

namespace pytcp::shim {

std::shared_ptr<ShimSocket> SocketFor(int fd, bool* inherited) {
  *inherited = false;
  auto s = FdTable::Get().LookupAs<ShimSocket>(fd, FdKind::kSocket);
  if (s != nullptr && s->inherited()) {
    *inherited = true;
    ReportOnce("fork", "fd " + std::to_string(fd) +
                           " is a PyTCP socket of the parent process; stack sockets cannot be "
                           "used in a forked child (calls on them fail with EBADF)");
    return nullptr;
  }
  return s;
}

bool ShouldRestart(ShimSocket& s, bool receive_side) {
  timeval tv{};
  socklen_t len = sizeof(tv);
  auto r = s.impl().GetOption(SOL_SOCKET, receive_side ? SO_RCVTIMEO : SO_SNDTIMEO, &tv,
                                     &len);
  if (r.ok() && (tv.tv_sec != 0 || tv.tv_usec != 0)) return false;
  bool any_handler = false;
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction sa {};
    if (sigaction(sig, nullptr, &sa) != 0) continue;
    const bool handler = (sa.sa_flags & SA_SIGINFO) != 0
                             ? sa.sa_sigaction != nullptr
                             : (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
    if (!handler) continue;
    any_handler = true;
    if ((sa.sa_flags & SA_RESTART) == 0) return false;
  }
  return any_handler;
}

}  // namespace pytcp::shim
