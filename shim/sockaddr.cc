#include "shim/sockaddr.h"

#include "shim/user_memory.h"

#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace pytcp::shim {
namespace {

std::atomic<uint32_t> g_link_local_scope{0};

SocketAddress FromIn(const sockaddr_in& in) {
  return SocketAddress{IpAddress(Ip4Address(ntohl(in.sin_addr.s_addr))), ntohs(in.sin_port), 0};
}

// sockaddr_in6 (RFC 3493 §3.3) of `len` bytes, at least RFC 2133's 24 (the caller checked):
// nothing past `len` is read, and a missing sin6_scope_id is 0 (inet6_bind and
// ip6_datagram_connect read it only when addr_len >= sizeof(struct sockaddr_in6)).
SocketAddress FromIn6(const sockaddr* sa, socklen_t len) {
  sockaddr_in6 in6{};
  std::memcpy(&in6, sa, std::min<size_t>(len, sizeof(in6)));
  return SocketAddress{IpAddress(Ip6Address::FromBytes(in6.sin6_addr.s6_addr)), ntohs(in6.sin6_port),
                       in6.sin6_scope_id};
}
sa_family_t FamilyOf(const sockaddr* sa) {
  sa_family_t family;
  std::memcpy(&family, sa, sizeof(family));
  return family;
}
sockaddr_in ReadIn(const sockaddr* sa) {
  sockaddr_in in{};
  std::memcpy(&in, sa, sizeof(in));
  return in;
}

}  // namespace

void SetLinkLocalScope(uint32_t index) { g_link_local_scope.store(index, std::memory_order_relaxed); }
uint32_t LinkLocalScope() { return g_link_local_scope.load(std::memory_order_relaxed); }

int CheckUserAddress(const sockaddr* sa, socklen_t len) {
  // move_addr_to_kernel: the length is an int, at most a sockaddr_storage; then the copy.
  if (static_cast<int>(len) < 0 || len > sizeof(sockaddr_storage)) return EINVAL;
  if (len == 0) return 0;
  if (sa == nullptr || !UserReadable(sa, len)) return EFAULT;
  return 0;
}

SysResult<SocketAddress> BindAddress(const sockaddr* sa, socklen_t len, int family) {
  if (const int e = CheckUserAddress(sa, len); e != 0) return Err{e};
  if (family == AF_INET6) {
    // inet6_bind(): SIN6_LEN_RFC2133 (24) is the shortest accepted, and only AF_INET6.
    if (len < 24) return Err{EINVAL};
    if (FamilyOf(sa) != AF_INET6) return Err{EAFNOSUPPORT};
    return FromIn6(sa, len);
  }
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

SysResult<ParsedAddress> ConnectAddress(const sockaddr* sa, socklen_t len, int socket_family) {
  if (const int e = CheckUserAddress(sa, len); e != 0) return Err{e};
  if (len < static_cast<socklen_t>(sizeof(sa_family_t))) return Err{EINVAL};
  sa_family_t family;
  std::memcpy(&family, sa, sizeof(family));
  if (family == AF_UNSPEC) return ParsedAddress{true, {}};
  // An AF_INET6 socket also takes a sockaddr_in (tcp_v6_connect, ip6_datagram_connect);
  // an AF_INET socket only its own family (tcp_v4_connect: EINVAL if short, then
  // EAFNOSUPPORT).
  if (family == AF_INET6 && socket_family == AF_INET6) {
    if (socket_family != AF_INET6) return Err{EAFNOSUPPORT};
    if (len < 24) return Err{EINVAL};
    return ParsedAddress{false, FromIn6(sa, len)};
  }
  if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return Err{EINVAL};
  if (family != AF_INET) return Err{EAFNOSUPPORT};
  return ParsedAddress{false, FromIn(ReadIn(sa))};
}

SysResult<SocketAddress> SendToAddress(const sockaddr* sa, socklen_t len, int family) {
  if (const int e = CheckUserAddress(sa, len); e != 0) return Err{e};
  if (family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sa_family_t)) &&
      FamilyOf(sa) == AF_INET6) {
    if (len < 24) return Err{EINVAL};
    return FromIn6(sa, len);
  }
  if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return Err{EINVAL};
  const sockaddr_in in = ReadIn(sa);
  // udp_sendmsg(): AF_UNSPEC is taken as AF_INET.
  if (in.sin_family != AF_INET && in.sin_family != AF_UNSPEC) return Err{EAFNOSUPPORT};
  return FromIn(in);
}

sockaddr_storage ToSockaddr(const SocketAddress& addr, socklen_t* len, int family) {
  sockaddr_storage ss{};
  if (family == AF_INET6) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(addr.port);
    std::memcpy(in6.sin6_addr.s6_addr, addr.ip.v6().bytes().data(), 16);
    if (addr.ip.v6().is_link_local()) {
      in6.sin6_scope_id = addr.scope_id != 0 ? addr.scope_id : LinkLocalScope();
    }
    std::memcpy(&ss, &in6, sizeof(in6));
    *len = sizeof(in6);
    return ss;
  }
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(addr.port);
  in.sin_addr.s_addr = htonl(addr.ip.is_v4() ? addr.ip.v4().value() : 0);
  std::memcpy(&ss, &in, sizeof(in));
  *len = sizeof(in);
  return ss;
}

void WriteAddress(const SocketAddress& addr, sockaddr* out, socklen_t* len, int family) {
  if (out == nullptr || len == nullptr) return;
  socklen_t full = 0;
  const sockaddr_storage ss = ToSockaddr(addr, &full, family);
  const socklen_t n = std::min(*len, full);
  if (n > 0) std::memcpy(out, &ss, static_cast<size_t>(n));
  *len = full;
}

}  // namespace pytcp::shim
