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
// SO_TIMESTAMP (control messages on receive), IPV6_MTU_DISCOVER and SO_RCVBUF. What the
// two families share is in icmp_message_socket.h.
#pragma once

#include <array>
#include <cstdint>

#include "stack/icmp6/icmp6_sockets.h"
#include "stack/socket/icmp_message_socket.h"

namespace pytcp {

class Icmp6Socket final : public IcmpMessageSocket, private Icmp6Endpoint {
 public:
  // type: SOCK_DGRAM (ping socket) or SOCK_RAW.
  Icmp6Socket(SocketContext ctx, Icmp6Sockets* table, int type);
  ~Icmp6Socket() override;

  SysResult<bool> Bind(const SocketAddress& addr) override;
  SysResult<size_t> SendTo(ByteSpan message, const SocketAddress* to, int flags) override;
  SysResult<bool> SetOption(int level, int name, const void* value, socklen_t len) override;
  SysResult<bool> GetOption(int level, int name, void* value, socklen_t* len) override;

  // The binding, for `show sockets` (take the stack lock).
  const Icmp6Endpoint& endpoint() const { return *this; }

 private:
  IcmpBinding& binding() override { return *this; }
  const IcmpBinding& binding() const override { return *this; }
  // An AF_INET6 ICMPv6 socket talks IPv6 only: a v4-mapped address is refused as the
  // kernel refuses it (ping_v6_sendmsg, rawv6_sendmsg: EINVAL / ENETUNREACH); :: as a
  // target is "this host" (RFC 4291 §2.5.2 says never a destination; Linux sends it to
  // loopback).
  bool IsFamilyTarget(const SocketAddress& to) const override { return !to.ip.is_v4(); }
  Result<IpAddress, int> SourceForLocked(const IpAddress& dst) const override;
  Result<bool, int> BindPingLocked(const SocketAddress& local) override;
  void RemoveFromTableLocked() override { table_->Remove(this); }
  void FillMessageAncillaryLocked(const ReceivedMessage& m, RecvAncillary* anc) override;

  void OnIcmp6Message(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now) override;
  void OnIcmp6Error(const Ip6ErrorInfo& error, Instant now) override;
  Icmp6SendOptions SendOptionsLocked(const Ip6Address& dst) const;

  Icmp6Sockets* table_;
  // RFC 3542 §3.2 ICMP6_FILTER: bit (type & 31) of word (type >> 5) set blocks the type.
  std::array<uint32_t, 8> filter_{};
  int checksum_offset_ = 2;  // raw: IPV6_CHECKSUM (SOL_RAW); -1 none
};

}  // namespace pytcp
