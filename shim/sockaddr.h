// sockaddr <-> SocketAddress, with the checks and the length rules of the kernel
// (net/ipv4/af_inet.c, udp.c): which lengths and families each call accepts, and how an
// address is written back into a caller's buffer that may be too small.
#pragma once

#include <sys/socket.h>

#include "stack/net/ip_address.h"
#include "stack/socket/socket.h"

namespace pytcp::shim {

// `family` is the socket's. An AF_INET socket refuses a sockaddr_in6 (EAFNOSUPPORT); an
// AF_INET6 socket binds only a sockaddr_in6 (inet6_bind) and connects or sends to either
// (a v4-mapped address stays an IPv4 address; sin6_scope_id becomes the scope id).
// bind(): EINVAL when shorter than a sockaddr_in; EAFNOSUPPORT for another family, except
// AF_UNSPEC with INADDR_ANY, which Linux takes as AF_INET for old programs.
// Every parser first checks what move_addr_to_kernel checks: EINVAL for a length below zero
// or above sizeof(sockaddr_storage), EFAULT when the bytes cannot be read; nothing past
// `len` is ever read.
int CheckUserAddress(const sockaddr* sa, socklen_t len);
SysResult<SocketAddress> BindAddress(const sockaddr* sa, socklen_t len, int family = AF_INET);

// connect() and sendto(): AF_UNSPEC is returned as std::nullopt inside the result (connect
// treats it as "disconnect"; sendto as AF_INET, which the caller decides).
struct ParsedAddress {
  bool unspec = false;
  SocketAddress addr;
};
SysResult<ParsedAddress> ConnectAddress(const sockaddr* sa, socklen_t len, int family = AF_INET);
SysResult<SocketAddress> SendToAddress(const sockaddr* sa, socklen_t len, int family = AF_INET);

// Writes `addr` as a sockaddr_in: copies at most *len bytes and sets *len to the full size,
// as getsockname/getpeername/recvfrom do. Nothing happens when `out` or `len` is null.
// An AF_INET6 socket (`family`) gets a sockaddr_in6, with IPv4 peers v4-mapped (ipv6(7)).
void WriteAddress(const SocketAddress& addr, sockaddr* out, socklen_t* len, int family = AF_INET);

// The zone of link-local IPv6 addresses (RFC 4007 §6): the stack's one interface, by the
// TAP's index, set when the stack starts. Link-local addresses written back to programs
// carry it in sin6_scope_id, as Linux reports them, so that a program can answer a
// link-local peer with the address it got; 0 until set.
void SetLinkLocalScope(uint32_t index);
uint32_t LinkLocalScope();

// A sockaddr_in for `addr` (for the kernel, in a loopback hand-over).
sockaddr_storage ToSockaddr(const SocketAddress& addr, socklen_t* len, int family = AF_INET);

}  // namespace pytcp::shim
