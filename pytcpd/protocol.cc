#include "pytcpd/protocol.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "stack/base/comma_list.h"

namespace pytcp::pytcpd {

std::string RunDirectory() {
  // Read once: a server that forks its workers may clear their environment (nginx keeps
  // only TZ), and they must still find the daemon their master found.
  static const std::string dir = [] {
    const char* v = ::secure_getenv("PYTCP_RUN_DIR");
    return std::string(v != nullptr && v[0] != '\0' ? v : "/run/pytcp");
  }();
  return dir;
}

std::string ControlSocketPath(const std::string& iface) {
  return RunDirectory() + "/" + iface + ".sock";
}

std::string ProgramSettings() {
  // The rest (PYTCP_STACK, PYTCP_IDLE_EXIT, PYTCP_LOG...) concern only the program or
  // the daemon's start.
  static constexpr const char* kShared[] = {
      "PYTCP_IFACE", "PYTCP_MAC", "PYTCP_IP4",      "PYTCP_GW4", "PYTCP_IP6",        "PYTCP_GW6",
      "PYTCP_DNS",   "PYTCP_MTU", "PYTCP_LOOPBACK", "PYTCP_ACD", "PYTCP_TAP_OFFLOAD", "PYTCP_ROUTES",
      "PYTCP_FORWARDING", "PYTCP_RA"};
  std::string out;
  const auto add = [&](const std::string& name) {
    const char* v = ::secure_getenv(name.c_str());
    out += name + "=" + (v != nullptr ? v : "") + "\n";
  };
  for (const char* name : kShared) add(name);
  // Per interface: the first's DHCP server pool, and each further interface of
  // PYTCP_IFACE=tap7,tap8 with its own variables.
  const char* iface_var = ::secure_getenv("PYTCP_IFACE");
  std::string_view rest = iface_var != nullptr ? iface_var : "tap7";
  add("PYTCP_DHCP_SERVER_" + std::string(TrimBlanks(rest.substr(0, rest.find(',')))));
  for (size_t comma = rest.find(','); comma != std::string_view::npos; comma = rest.find(',')) {
    rest.remove_prefix(comma + 1);
    const std::string name(TrimBlanks(rest.substr(0, rest.find(','))));
    for (const char* base : {"PYTCP_IP4_", "PYTCP_MAC_", "PYTCP_MTU_", "PYTCP_IP6_", "PYTCP_DHCP_SERVER_"}) {
      add(base + name);
    }
  }
  return out;
}

ssize_t SendMessage(int sock, std::span<const std::span<const uint8_t>> parts, int fd) {
  if (fd < 0) return SendMessage(sock, parts, std::span<const int>());
  const int one[] = {fd};
  return SendMessage(sock, parts, std::span<const int>(one));
}

ssize_t SendMessage(int sock, std::span<const std::span<const uint8_t>> parts,
                    std::span<const int> fds) {
  if (fds.size() > kMaxFdsPerMessage) {
    errno = EINVAL;
    return -1;
  }
  iovec iov[4];
  size_t n = 0;
  for (const auto& p : parts) {
    if (n == std::size(iov)) {
      errno = EINVAL;
      return -1;
    }
    iov[n].iov_base = const_cast<uint8_t*>(p.data());
    iov[n].iov_len = p.size();
    ++n;
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)] = {};
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t r;
  do {
    r = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  return r;
}

ssize_t ReceiveMessage(int sock, std::span<uint8_t> buf, int* fd) {
  return ReceiveMessage(sock, buf, fd, nullptr);
}

ssize_t ReceiveMessage(int sock, std::span<uint8_t> buf, int* fd, std::vector<int>* more) {
  *fd = -1;
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const ssize_t r = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  if (r < 0) return r;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int got;
      std::memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (*fd < 0) {
        *fd = got;
      } else if (more != nullptr) {
        more->push_back(got);
      } else {
        ::close(got);  // one fd asked for; a second one is never ours to keep
      }
    }
  }
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
    if (more != nullptr) {
      for (int f : *more) ::close(f);
      more->clear();
    }
    errno = EMSGSIZE;
    return -1;
  }
  return r;
}

uint64_t SocketCookie(int fd) {
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  if (::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) return 0;
  return cookie;
}

}  // namespace pytcp::pytcpd
