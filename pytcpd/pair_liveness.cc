#include "pytcpd/pair_liveness.h"

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pytcp::pytcpd {

PairLiveness::~PairLiveness() {
  if (fd_ >= 0) close(fd_);
}

bool PairLiveness::Alive(ino_t ino, uint64_t cookie) {
  if (fd_ < 0) {
    fd_ = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd_ < 0) return true;
  }
  struct {
    nlmsghdr nh;
    unix_diag_req req;
  } msg{};
  msg.nh.nlmsg_len = sizeof(msg);
  msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nh.nlmsg_flags = NLM_F_REQUEST;
  msg.nh.nlmsg_seq = static_cast<uint32_t>(ino);
  msg.req.sdiag_family = AF_UNIX;
  msg.req.udiag_states = ~0u;
  msg.req.udiag_ino = static_cast<uint32_t>(ino);
  msg.req.udiag_cookie[0] = static_cast<uint32_t>(cookie);
  msg.req.udiag_cookie[1] = static_cast<uint32_t>(cookie >> 32);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_, &msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    return true;
  }
  alignas(nlmsghdr) char buf[1024];
  while (true) {
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < static_cast<ssize_t>(sizeof(nlmsghdr))) return true;
    const auto* h = reinterpret_cast<const nlmsghdr*>(buf);
    if (h->nlmsg_seq != msg.nh.nlmsg_seq) continue;  // an answer to an earlier question
    if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY) return true;
    if (h->nlmsg_type == NLMSG_ERROR && n >= static_cast<ssize_t>(NLMSG_LENGTH(sizeof(nlmsgerr)))) {
      const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
      // ENOENT: no such socket any more; ESTALE: the inode now names another socket.
      return !(e->error == -ENOENT || e->error == -ESTALE);
    }
    return true;
  }
}

}  // namespace pytcp::pytcpd
