// Whether the program's end of a pair still exists, asked of the kernel's unix sock_diag.
//
// The daemon learns of a program's last close by POLLHUP on its own end, but the kernel
// also reports POLLHUP when both directions were shut (unix_poll: sk_shutdown ==
// SHUTDOWN_MASK) while the program still holds the socket: after shutdown(SHUT_RDWR), or
// the program's SHUT_WR after the peer's FIN. The two differ only in whether the program's
// end is still in the kernel's table of unix sockets, which NETLINK_SOCK_DIAG looks up by
// inode (unix_diag_get_exact; a released socket has left the table in unix_release_sock).
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace pytcp::pytcpd {

class PairLiveness {
 public:
  PairLiveness() = default;
  ~PairLiveness();
  PairLiveness(const PairLiveness&) = delete;
  PairLiveness& operator=(const PairLiveness&) = delete;

  // True while the unix socket with this inode (and SO_COOKIE, which tells a reused
  // inode number from the original) exists; false once it was released. When the kernel
  // cannot be asked (no sock_diag), true: the daemon then keeps the socket until the
  // program's client connection ends, rather than closing one still in use.
  bool Alive(ino_t ino, uint64_t cookie);

 private:
  int fd_ = -1;
};

}  // namespace pytcp::pytcpd
