// What the shim needs from one stack socket, whatever its protocol: the calls of the
// socket API in one shape, so that socket_calls.cc and io_calls.cc never look at the
// protocol. One adapter per socket class of stack/socket/ (udp_adapter.cc, and TCP the
// same way) maps these onto that class's own API.
//
// Errors are the errno values Linux gives (SysResult), data moves through spans (the
// iovecs of readv/sendmsg...), so a stream protocol can gather without copying while a
// datagram protocol sends the parts as one datagram.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "stack/base/bytes.h"
#include "stack/net/ip_address.h"
#include "stack/socket/socket.h"

namespace pytcp {
class Stack;
}

namespace pytcp::shim {

class StackSocket {
 public:
  virtual ~StackSocket() = default;

  // The protocol-independent part (options, readiness, O_NONBLOCK, listeners).
  virtual Socket& base() = 0;
  int type() { return base().type(); }

  virtual SysResult<bool> Bind(const SocketAddress& addr) = 0;
  // nullptr: AF_UNSPEC (dissolve the association).
  virtual SysResult<bool> Connect(const SocketAddress* to) = 0;
  virtual SysResult<bool> Listen(int /*backlog*/) { return Err{EOPNOTSUPP}; }
  // A new connection (its own adapter); `peer` gets its address.
  virtual SysResult<std::unique_ptr<StackSocket>> Accept(SocketAddress* /*peer*/) {
    return Err{EOPNOTSUPP};
  }
  // `to` nullptr: the connected peer. Returns the bytes taken.
  virtual SysResult<size_t> Send(std::span<const ByteSpan> parts, const SocketAddress* to,
                                 int flags) = 0;
  // Fills `parts` in order. `from` (optional) gets the sender; *out_flags gets MSG_TRUNC
  // and the like. Returns the bytes received (or the datagram size with MSG_TRUNC in flags).
  virtual SysResult<size_t> Recv(std::span<const MutableByteSpan> parts, SocketAddress* from,
                                 int flags, int* out_flags) = 0;
  // recvmsg() with control messages: as Recv, and `anc` gets what the socket's options ask
  // for (SO_TIMESTAMP, IP_RECVTTL, the sock_extended_err of MSG_ERRQUEUE). Default: none.
  virtual SysResult<size_t> RecvMsg(std::span<const MutableByteSpan> parts, SocketAddress* from,
                                    int flags, int* out_flags, RecvAncillary* /*anc*/) {
    return Recv(parts, from, flags, out_flags);
  }
  virtual SysResult<bool> Shutdown(int how) = 0;
  virtual SysResult<SocketAddress> LocalAddress() = 0;
  virtual SysResult<SocketAddress> PeerAddress() = 0;
  // FIONREAD / SIOCINQ: what the next read would return at most.
  virtual size_t ReadableBytes() = 0;
  // TIOCOUTQ / SIOCOUTQ: bytes not yet sent (or, for TCP, not yet acknowledged).
  virtual size_t UnsentBytes() { return 0; }
  // Closes it (wakes its waiters with EBADF).
  virtual void Close() = 0;
};

// The adapters, one per protocol.
std::unique_ptr<StackSocket> MakeUdpStackSocket(Stack& stack);
std::unique_ptr<StackSocket> MakeTcpStackSocket(Stack& stack);
// ICMPv4: type SOCK_DGRAM (ping socket) or SOCK_RAW.
std::unique_ptr<StackSocket> MakeIcmpStackSocket(Stack& stack, int type);
// ICMPv6 (AF_INET6, IPPROTO_ICMPV6): type SOCK_DGRAM (ping socket) or SOCK_RAW.
std::unique_ptr<StackSocket> MakeIcmp6StackSocket(Stack& stack, int type);

}  // namespace pytcp::shim
