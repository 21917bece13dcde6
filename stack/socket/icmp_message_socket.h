// What ICMPv4 and ICMPv6 sockets share (Linux serves both from net/ipv4/ping.c and the
// raw sockets of each family): a queue of whole messages bounded by SO_RCVBUF, one
// message per receive, connect() as a filter on the peer, errors reported once or queued
// for MSG_ERRQUEUE (IP_RECVERR / IPV6_RECVERR), and the protocol-independent API.
//
// icmp_family_socket.h adds what a socket of either family does over its table; a
// family's socket (icmp4_socket.h, icmp6_socket.h) adds what differs: which addresses
// it takes, how it sends, its filter option and the control messages of its family.
#pragma once

#include <cstdint>

#include "stack/net/icmp_endpoint_table.h"
#include "stack/socket/message_queue.h"
#include "stack/socket/socket.h"

namespace pytcp {

class IcmpMessageSocket : public Socket {
 public:
  bool raw() const { return type_ == SOCK_RAW; }
  // The binding, for `show sockets` (take the stack lock).
  const IcmpBinding& endpoint() const { return binding(); }

  SysResult<void> Connect(const SocketAddress* to) override;  // nullptr: AF_UNSPEC
  virtual SysResult<size_t> SendTo(ByteSpan message, const SocketAddress* to, int flags) = 0;
  // One message per call (MSG_TRUNC, MSG_PEEK, MSG_DONTWAIT, MSG_ERRQUEUE as for UDP).
  SysResult<size_t> RecvFrom(MutableByteSpan buf, SocketAddress* from, int flags,
                             int* out_flags = nullptr, RecvAncillary* anc = nullptr);
  SysResult<SocketAddress> LocalAddress() const override;
  SysResult<SocketAddress> PeerAddress() const override;
  size_t NextMessageSize() const;

  // The protocol-independent API (socket.h): a message is one send and one receive.
  size_t ReadableBytes() const override { return NextMessageSize(); }
  size_t QueueLength() const override;
  SysResult<size_t> SendMsg(std::span<const ByteSpan> parts, const SocketAddress* to,
                            int flags) override;
  SysResult<size_t> RecvMsg(std::span<const MutableByteSpan> parts, SocketAddress* from,
                            int flags, int* out_flags, RecvAncillary* anc) override;

  ReadinessMask PollLocked() const override;
  void Close() override;

  size_t queued_bytes() const { return queue_.bytes(); }
  size_t queued_messages() const { return queue_.size(); }

 protected:
  IcmpMessageSocket(SocketContext ctx, int type, int protocol);

  // The family's part, called with the lock held.
  // The family's endpoint, a base of the derived socket (its table owns the binding).
  virtual IcmpBinding& binding() = 0;
  virtual const IcmpBinding& binding() const = 0;
  // connect(): whether `to` is of the family (EAFNOSUPPORT otherwise).
  virtual bool IsFamilyTarget(const SocketAddress& to) const = 0;
  // The source a message to `dst` would leave from (errno when there is no route).
  virtual Result<IpAddress, int> SourceForLocked(const IpAddress& dst) const = 0;
  // A ping socket's implicit bind to a free identifier.
  virtual Result<void, int> BindPingLocked(const SocketAddress& local) = 0;
  virtual void RemoveFromTableLocked() = 0;
  // The control messages a received message carries (TTL or hop limit, timestamp).
  virtual void FillMessageAncillaryLocked(const ReceivedMessage& m, RecvAncillary* anc) = 0;

  // Queues a received message for the application (dropped and counted when SO_RCVBUF
  // is full) and wakes it.
  void QueueMessageLocked(const IpAddress& from, uint8_t hops, ByteSpan bytes);
  // An ICMP error about a message this socket sent (ping_err, raw_err and their IPv6
  // twins): with IP_RECVERR/IPV6_RECVERR it is queued with the quoted message and
  // reported once by the next call; without, only a fatal error (`fatal`: destination
  // unreachable or parameter problem) on a connected ping socket is reported once.
  void ReportIcmpErrorLocked(SocketError e, bool fatal);
  // sendto()'s checks and destination (ping_common_sendmsg, raw_sendmsg and their IPv6
  // twins): EBADF once closed, EOPNOTSUPP for MSG_OOB, `wrong_family` for a destination
  // that IsFamilyTarget refuses, the connected peer without a destination, EDESTADDRREQ
  // without either.
  SysResult<SocketAddress> SendTargetLocked(const SocketAddress* to, int flags,
                                            int wrong_family) const;
  // ip_local_error / ipv6_local_error: with IP_RECVERR a message too long to leave
  // unfragmented is also queued as a local error carrying the MTU.
  void QueueLocalTooBigLocked(uint32_t mtu, const SocketAddress& dst);

  ReceivedMessageQueue queue_;
  uint64_t drops_ = 0;
};

}  // namespace pytcp
