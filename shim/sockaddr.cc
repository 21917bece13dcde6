#include "shim/sockaddr.h"

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pytcp::shim {
namespace {

SocketAddress FromIn(const sockaddr_in& in) {
  return SocketAddress{IpAddress(Ip4Address(ntohl(in.sin_addr.s_addr))), ntohs(in.sin_port), 0};
}

sockaddr_in ReadIn(const sockaddr* sa) {
  sockaddr_in in{};
  std::memcpy(&in, sa, sizeof(in));
  return in;
}

}  // namespace

SysResult<SocketAddress> BindAddress(const sockaddr* sa, socklen_t len) {
  if (sa == nullptr) return Err{EFAULT};
  if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return Err{EINVAL};
  const sockaddr_in in = ReadIn(sa);
  if (in.sin_family != AF_INET) {
    // inet_bind(): "Compatibility games: accept AF_UNSPEC (mapped to AF_INET) only if
    // s_addr is INADDR_ANY".
    if (in.sin_family != AF_UNSPEC || in.sin_addr.s_addr != htonl(INADDR_ANY)) {
      return Err{EAFNOSUPPORT};
    }
  }
  return FromIn(in);
}

SysResult<ParsedAddress> ConnectAddress(const sockaddr* sa, socklen_t len) {
  if (sa == nullptr) return Err{EFAULT};
  if (len < static_cast<socklen_t>(sizeof(sa_family_t))) return Err{EINVAL};
  sa_family_t family;
  std::memcpy(&family, sa, sizeof(family));
  if (family == AF_UNSPEC) return ParsedAddress{true, {}};
  if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return Err{EINVAL};
  if (family != AF_INET) return Err{EAFNOSUPPORT};
  return ParsedAddress{false, FromIn(ReadIn(sa))};
}

SysResult<SocketAddress> SendToAddress(const sockaddr* sa, socklen_t len) {
  if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return Err{EINVAL};
  const sockaddr_in in = ReadIn(sa);
  // udp_sendmsg(): AF_UNSPEC is taken as AF_INET.
  if (in.sin_family != AF_INET && in.sin_family != AF_UNSPEC) return Err{EAFNOSUPPORT};
  return FromIn(in);
}

sockaddr_storage ToSockaddr(const SocketAddress& addr, socklen_t* len) {
  sockaddr_storage ss{};
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(addr.port);
  in.sin_addr.s_addr = htonl(addr.ip.is_v4() ? addr.ip.v4().value() : 0);
  std::memcpy(&ss, &in, sizeof(in));
  *len = sizeof(in);
  return ss;
}

void WriteAddress(const SocketAddress& addr, sockaddr* out, socklen_t* len) {
  if (out == nullptr || len == nullptr) return;
  socklen_t full = 0;
  const sockaddr_storage ss = ToSockaddr(addr, &full);
  const socklen_t n = std::min(*len, full);
  if (n > 0) std::memcpy(out, &ss, static_cast<size_t>(n));
  *len = full;
}

}  // namespace pytcp::shim
