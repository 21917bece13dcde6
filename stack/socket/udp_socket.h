// A UDP socket (SOCK_DGRAM) with Linux semantics: one datagram per receive, MSG_TRUNC,
// MSG_PEEK, MSG_DONTWAIT, a bounded receive queue (SO_RCVBUF), SO_BROADCAST, connect()
// filtering and ICMP errors reported on connected sockets (ECONNREFUSED after a port
// unreachable), as udp(7) describes; IPv6 multicast (IPV6_JOIN_GROUP / MCAST_JOIN_GROUP,
// IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP, IPV6_MULTICAST_IF) as ipv6(7) describes.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "stack/socket/socket.h"
#include "stack/udp/udp_engine.h"

namespace pytcp {

class UdpSocket final : public Socket, private UdpEndpoint {
 public:
  UdpSocket(SocketContext ctx, UdpEngine* udp);
  ~UdpSocket() override;

  SysResult<void> Bind(const SocketAddress& addr) override;
  // AF_UNSPEC (disconnect) is `to == nullptr`.
  SysResult<void> Connect(const SocketAddress* to) override;
  // `to` nullptr: the connected peer. Returns the bytes sent (the whole datagram).
  SysResult<size_t> SendTo(ByteSpan data, const SocketAddress* to, int flags,
                           const SendAncillary* anc = nullptr);
  // Copies one datagram into `buf`. Returns the bytes copied, or the full datagram size
  // with MSG_TRUNC in flags. *out_flags gets MSG_TRUNC when the datagram was cut.
  // MSG_ERRQUEUE takes the oldest queued ICMP error instead (IP_RECVERR, ip(7)); `anc`
  // (optional) gets the control messages the options ask for.
  SysResult<size_t> RecvFrom(MutableByteSpan buf, SocketAddress* from, int flags,
                             int* out_flags = nullptr, RecvAncillary* anc = nullptr);
  SysResult<void> Shutdown(int how) override;
  // SO_BINDTODEVICE: also what the engine's demultiplexing sees (UdpEndpoint::bound_device).
  void set_bound_iface(int iface) override;
  SysResult<SocketAddress> LocalAddress() const override;
  SysResult<SocketAddress> PeerAddress() const override;
  // Bytes of the next datagram (FIONREAD), 0 when none.
  size_t NextDatagramSize() const;

  // The protocol-independent API (socket.h): a message is one send and one receive.
  size_t ReadableBytes() const override { return NextDatagramSize(); }
  size_t QueueLength() const override;
  SysResult<size_t> SendMsg(std::span<const ByteSpan> parts, const SocketAddress* to,
                            int flags) override;
  SysResult<size_t> SendMsgWith(std::span<const ByteSpan> parts, const SocketAddress* to,
                                int flags, const SendAncillary& anc) override;
  SysResult<size_t> RecvMsg(std::span<const MutableByteSpan> parts, SocketAddress* from,
                            int flags, int* out_flags, RecvAncillary* anc) override;

  ReadinessMask PollLocked() const override;
  void Close() override;
  SysResult<void> SetOption(int level, int name, const void* value, socklen_t len) override;
  SysResult<void> GetOption(int level, int name, void* value, socklen_t* len) override;

  // IPv6 groups this socket joined (`show multicast`).
  const std::vector<Ip6Address>& groups6() const { return groups6_; }
  // IPv4 memberships: the group and this socket's filter (RFC 3376 §3.1 socket state).
  struct Membership4 {
    Ip4Address group;
    McFilterMode mode = McFilterMode::kExclude;
    std::vector<Ip4Address> sources;
  };
  const std::vector<Membership4>& groups4() const { return groups4_; }

  // Receive queue limits for tests and `show sockets`.
  size_t queued_bytes() const { return queued_bytes_; }
  size_t queued_datagrams() const { return queue_.size(); }
  // The binding, for `show sockets` (take the stack lock).
  const UdpEndpoint& endpoint() const { return *this; }

 private:
  // Copies the socket's family, IPV6_V6ONLY and IPV6_UNICAST_HOPS to the endpoint.
  void SyncFamily();
  struct Datagram {
    SocketAddress from;
    IpAddress to;
    UdpRxMeta meta;
    std::vector<uint8_t> data;
  };
  // UdpEndpoint
  void OnDatagram(const SocketAddress& from, const IpAddress& to, ByteSpan payload,
                  const UdpRxMeta& meta, Instant now) override;
  void OnIcmpError(const Ip4ErrorInfo& error, Instant now) override;
  // ICMPv6 errors: IPV6_RECVERR queues them with origin SO_EE_ORIGIN_ICMP6 and the IPv6
  // offender (traceroute -6); otherwise as OnIcmpError.
  void OnIcmp6Error(const Ip6ErrorInfo& error, Instant now) override;

  UdpEngine* udp_;
  std::deque<Datagram> queue_;
  size_t queued_bytes_ = 0;  // charged like skb truesize: payload plus overhead
  bool shut_rd_ = false;
  bool shut_wr_ = false;
  uint64_t drops_ = 0;
  // ipv6(7) multicast options.
  SysResult<void> ChangeMembership6(const Ip6Address& group, bool join);
  std::vector<Ip6Address> groups6_;
  int multicast_if_ = 0;  // IPV6_MULTICAST_IF (stored: one interface)
  // ip(7) IPv4 multicast options.
  SysResult<void> SetOption4(int name, const void* value, socklen_t len);
  SysResult<void> Join4(Ip4Address group, McFilterMode mode);
  SysResult<void> Leave4(Ip4Address group);
  SysResult<void> ChangeSource4(Ip4Address group, Ip4Address source, bool add, McFilterMode mode);
  void Report4(const Membership4& m);
  // getsockopt(IP_MSFILTER): the filter of the group `value` names (RFC 3678 §4.2.2).
  SysResult<void> GetFilter4(void* value, socklen_t* len) const;
  // ip_mc_sf_allow: whether this socket takes a datagram from `src` to `group`.
  bool Accepts4(Ip4Address group, Ip4Address src) const;
  std::vector<Membership4> groups4_;
  bool multicast_all_ = true;  // IP_MULTICAST_ALL (ip(7): on by default)
};

}  // namespace pytcp
