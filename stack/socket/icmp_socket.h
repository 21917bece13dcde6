// ICMPv4 sockets with Linux semantics (icmp(7), raw(7)):
//
//  - a ping socket (SOCK_DGRAM, IPPROTO_ICMP) sends echo requests whose identifier is
//    replaced by the socket's local "port" and whose checksum is computed for it; it
//    receives the echo replies carrying that identifier, without the IPv4 header, and
//    the ICMP errors about its requests (IP_RECVERR + MSG_ERRQUEUE, or as an error once);
//  - a raw socket (SOCK_RAW, IPPROTO_ICMP) sends ICMP messages as given (checksum and
//    all) and receives every ICMP message with its IPv4 header, minus the types its
//    ICMP_FILTER (SOL_RAW) masks out.
//
// Both honour IP_TTL (traceroute's probes), IP_TOS, SO_BROADCAST, IP_RECVTTL and
// SO_TIMESTAMP (control messages on receive) and SO_RCVBUF (bounded queue).
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "stack/icmp4/icmp4_sockets.h"
#include "stack/socket/message_queue.h"
#include "stack/socket/socket.h"

namespace pytcp {

class IcmpSocket final : public Socket, private Icmp4Endpoint {
 public:
  // type: SOCK_DGRAM (ping socket) or SOCK_RAW.
  IcmpSocket(SocketContext ctx, Icmp4Sockets* table, int type);
  ~IcmpSocket() override;

  bool raw() const { return type_ == SOCK_RAW; }

  SysResult<bool> Bind(const SocketAddress& addr) override;
  SysResult<bool> Connect(const SocketAddress* to) override;  // nullptr: AF_UNSPEC
  SysResult<size_t> SendTo(ByteSpan message, const SocketAddress* to, int flags);
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

  SysResult<bool> SetOption(int level, int name, const void* value, socklen_t len) override;
  SysResult<bool> GetOption(int level, int name, void* value, socklen_t* len) override;

  ReadinessMask PollLocked() const override;
  void Close() override;

  size_t queued_bytes() const { return queue_.bytes(); }
  size_t queued_messages() const { return queue_.size(); }
  // The binding, for `show sockets` (take the stack lock).
  const Icmp4Endpoint& endpoint() const { return *this; }

 private:
  void OnIcmpMessage(const Ip4PacketInfo& info, const Icmp4View& icmp, Instant now) override;
  void OnIcmpError(const Ip4ErrorInfo& error, Instant now) override;

  Icmp4Sockets* table_;
  ReceivedMessageQueue queue_;
  uint32_t filter_ = 0;  // ICMP_FILTER: bit n set drops type n (raw sockets)
  uint64_t drops_ = 0;
};

}  // namespace pytcp
