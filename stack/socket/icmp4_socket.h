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
// two families share is in icmp_message_socket.h.
#pragma once

#include <cstdint>

#include "stack/icmp4/icmp4_sockets.h"
#include "stack/socket/icmp_message_socket.h"

namespace pytcp {

class Icmp4Socket final : public IcmpMessageSocket, private Icmp4Endpoint {
 public:
  // type: SOCK_DGRAM (ping socket) or SOCK_RAW.
  Icmp4Socket(SocketContext ctx, Icmp4Sockets* table, int type);
  ~Icmp4Socket() override;

  SysResult<bool> Bind(const SocketAddress& addr) override;
  SysResult<size_t> SendTo(ByteSpan message, const SocketAddress* to, int flags) override;
  SysResult<bool> SetOption(int level, int name, const void* value, socklen_t len) override;
  SysResult<bool> GetOption(int level, int name, void* value, socklen_t* len) override;

  // The binding, for `show sockets` (take the stack lock).
  const Icmp4Endpoint& endpoint() const { return *this; }

 private:
  IcmpBinding& binding() override { return *this; }
  const IcmpBinding& binding() const override { return *this; }
  bool IsFamilyTarget(const SocketAddress& to) const override { return to.ip.is_v4(); }
  Result<IpAddress, int> SourceForLocked(const IpAddress& dst) const override;
  Result<bool, int> BindPingLocked(const SocketAddress& local) override;
  void RemoveFromTableLocked() override { table_->Remove(this); }
  void FillMessageAncillaryLocked(const ReceivedMessage& m, RecvAncillary* anc) override;

  void OnIcmpMessage(const Ip4PacketInfo& info, const Icmp4View& icmp, Instant now) override;
  void OnIcmpError(const Ip4ErrorInfo& error, Instant now) override;

  Icmp4Sockets* table_;
  uint32_t filter_ = 0;  // ICMP_FILTER: bit n set drops type n (raw sockets)
};

}  // namespace pytcp
