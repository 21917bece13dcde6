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
// SO_TIMESTAMP (control messages on receive) and SO_RCVBUF (bounded queue). What the
// two families share is in icmp_message_socket.h and icmp_family_socket.h.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <utility>

#include "stack/icmp4/icmp4_sockets.h"
#include "stack/socket/icmp_family_socket.h"

namespace pytcp {

class Icmp4Socket final : public IcmpFamilySocket<Icmp4Family> {
 public:
  // type: SOCK_DGRAM (ping socket) or SOCK_RAW.
  Icmp4Socket(SocketContext ctx, Icmp4Sockets* table, int type)
      : IcmpFamilySocket(std::move(ctx), table, type, IPPROTO_ICMP) {
    JoinTable();
  }
  ~Icmp4Socket() override { Close(); }

  // SOL_RAW ICMP_FILTER (raw sockets), then the options of every socket.
  SysResult<void> SetOption(int level, int name, const void* value, socklen_t len) override;
  SysResult<void> GetOption(int level, int name, void* value, socklen_t* len) override;

 private:
  Icmp4SendOptions SendOptionsLocked(const SocketAddress& /*dst*/) const override {
    return Icmp4SendOptions{.ttl = ttl_,
                            .tos = tos_,
                            .allow_broadcast = broadcast_,
                            .dont_fragment = DontFragmentLocked()};
  }
  void OnIcmpMessage(const Ip4PacketInfo& info, const Icmp4View& icmp, Instant now) override;
  void FillMessageAncillaryLocked(const ReceivedMessage& m, RecvAncillary* anc) override;

  uint32_t filter_ = 0;  // ICMP_FILTER: bit n set drops type n (raw sockets)
};

}  // namespace pytcp
