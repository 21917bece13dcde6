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
// two families share is in icmp_message_socket.h and icmp_family_socket.h.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <utility>

#include "stack/icmp6/icmp6_sockets.h"
#include "stack/socket/icmp_family_socket.h"

namespace pytcp {

class Icmp6Socket final : public IcmpFamilySocket<Icmp6Family> {
 public:
  // type: SOCK_DGRAM (ping socket) or SOCK_RAW.
  Icmp6Socket(SocketContext ctx, Icmp6Sockets* table, int type)
      : IcmpFamilySocket(std::move(ctx), table, type, IPPROTO_ICMPV6) {
    set_family(AF_INET6);
    // Linux's ping sockets on AF_INET6 are IPv6-only (no v4-mapped peers).
    v6only_ = true;
    JoinTable();
  }
  ~Icmp6Socket() override { Close(); }

  // IPPROTO_ICMPV6 ICMP6_FILTER and SOL_RAW IPV6_CHECKSUM (raw sockets), then the options
  // of every socket.
  SysResult<void> SetOption(int level, int name, const void* value, socklen_t len) override;
  SysResult<void> GetOption(int level, int name, void* value, socklen_t* len) override;

 private:
  void OnIcmpMessage(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now) override;
  void FillMessageAncillaryLocked(const ReceivedMessage& m, RecvAncillary* anc) override;
  // IPV6_UNICAST_HOPS (multicast: IPV6_MULTICAST_HOPS' default), IPV6_TCLASS,
  // IPV6_MTU_DISCOVER, the raw checksum offset and the destination's scope.
  Icmp6SendOptions SendOptionsLocked(const SocketAddress& dst) const override;

  // RFC 3542 §3.2 ICMP6_FILTER: bit (type & 31) of word (type >> 5) set blocks the type.
  std::array<uint32_t, 8> filter_{};
  int checksum_offset_ = 2;  // raw: IPV6_CHECKSUM (SOL_RAW); -1 none
};

}  // namespace pytcp
