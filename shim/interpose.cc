#include "shim/interpose.h"

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

}  // namespace pytcp::shim
