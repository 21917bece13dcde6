// ICMPv6 sockets with Linux semantics (icmp(7)'s IPv6 side, raw(7), RFC 3542):
//
//  - a ping socket (AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6) sends echo requests whose
//    identifier is replaced by the socket's local "port" and whose checksum the stack
//    computes; it receives the echo replies carrying that identifier and the ICMPv6 errors
//    about its requests (IPV6_RECVERR + MSG_ERRQUEUE, origin SO_EE_ORIGIN_ICMP6);
//  - a raw socket (AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) sends ICMPv6 messages as given except
//    the checksum, which the stack always computes (IPV6_CHECKSUM at offset 2: RFC 3542
//    §3.1; SOL_RAW IPV6_CHECKSUM may move or disable it, IPPROTO_IPV6 IPV6_CHECKSUM is
//    EINVAL on ICMPv6 as on Linux), and receives every ICMPv6 message (without the IPv6
//    header) minus the types its ICMP6_FILTER (IPPROTO_ICMPV6) blocks.
//
// Both honour IPV6_UNICAST_HOPS (traceroute's probes), IPV6_TCLASS, IPV6_RECVHOPLIMIT and
// SO_TIMESTAMP (control messages on receive), IPV6_MTU_DISCOVER and SO_RCVBUF.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "stack/icmp6/icmp6_sockets.h"
#include "stack/socket/message_queue.h"
#include "stack/socket/socket.h"

namespace pytcp {

class Icmp6Socket final : public Socket, private Icmp6Endpoint {
 public:
  // type: SOCK_DGRAM (ping socket) or SOCK_RAW.
  Icmp6Socket(SocketContext ctx, Icmp6Sockets* table, int type);
  ~Icmp6Socket() override;

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
  const Icmp6Endpoint& endpoint() const { return *this; }

 private:
  void OnIcmp6Message(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now) override;
  void OnIcmp6Error(const Ip6ErrorInfo& error, Instant now) override;
  Icmp6SendOptions SendOptionsLocked(const Ip6Address& dst) const;

  Icmp6Sockets* table_;
  ReceivedMessageQueue queue_;
  // RFC 3542 §3.2 ICMP6_FILTER: bit (type & 31) of word (type >> 5) set blocks the type.
  std::array<uint32_t, 8> filter_{};
  int checksum_offset_ = 2;  // raw: IPV6_CHECKSUM (SOL_RAW); -1 none
  uint64_t drops_ = 0;
};

}  // namespace pytcp
