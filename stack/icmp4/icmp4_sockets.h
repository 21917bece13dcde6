// The ICMPv4 side of the ICMP socket table (icmp/icmp_sockets.h), as Linux has it: ping
// sockets (SOCK_DGRAM, IPPROTO_ICMP) and raw sockets (SOCK_RAW, IPPROTO_ICMP), which read
// every ICMP message with its IPv4 header.
//
// RFCs to read: RFC 792 ("Echo or Echo Reply Message"), RFC 1122 §3.2.2.6 (echo
// request/reply), §3.2.2 (errors go to the sender's transport). Linux: net/ipv4/ping.c,
// raw.c.
#pragma once

#include <cerrno>
#include <cstdint>
#include <optional>

#include "stack/icmp/icmp_sockets.h"
#include "stack/icmp4/icmp4_engine.h"
#include "stack/ip4/ip4_engine.h"
#include "stack/wire/icmp4.h"

namespace pytcp {

struct Icmp4SendOptions {
  uint8_t ttl = 64;
  uint8_t tos = 0;
  bool allow_broadcast = false;
  bool dont_fragment = false;
  // Where the table writes the checksum: a ping socket's at 2; -1, none: a raw socket's
  // sender computes it (raw(7)).
  int checksum_offset = -1;
};

struct Icmp4Family {
  // What the engine's listeners hand the table.
  using Engine = Icmp4Engine;
  using PacketInfo = Ip4PacketInfo;
  using View = Icmp4View;
  static constexpr size_t kHeaderSize = kIcmp4HeaderSize;
  static constexpr uint8_t kEchoRequest = static_cast<uint8_t>(Icmp4Type::kEchoRequest);
  // ping_err's harderr rule: these are reported even without IP_RECVERR.
  static constexpr uint8_t kUnreachable = static_cast<uint8_t>(Icmp4Type::kDestinationUnreachable);
  static constexpr uint8_t kParameterProblem = static_cast<uint8_t>(Icmp4Type::kParameterProblem);
  // An IPv4 datagram holds at most 65535 bytes, its header included.
  static constexpr size_t kMaxMessage = kIp4MaxDatagramSize - kIp4MinHeaderSize;

  using Address = Ip4Address;
  static bool Holds(const IpAddress& a) { return a.is_v4(); }
  static Ip4Address AddressOf(const IpAddress& a) { return a.v4(); }
  // What bind() and sendto() answer to an IPv6 address (ping_check_bind_addr, raw_bind).
  static constexpr int kOtherFamilyError = EAFNOSUPPORT;
  // A route may leave from 0.0.0.0 (a broadcast before DHCP: RFC 2131 §4.1).
  static constexpr bool kNeedsSource = false;
  // A message to ourselves is delivered without waiting for the event loop.
  static constexpr bool kLoopbackQueued = false;

  // The link's MTU: IPv4 keeps no path MTU cache.
  static uint32_t PathMtu(const Ip4Engine& ip, Ip4Address /*dst*/) { return ip.mtu(); }
  // The port of a local "message too long" error's address: ICMP flows have none.
  static uint16_t LocalErrorPort(ByteSpan /*message*/) { return 0; }
  using IpEngine = Ip4Engine;
  using SendOptions = Icmp4SendOptions;
  static Result<void, int> Transmit(Icmp4Engine& icmp, Ip4Engine& ip, Ip4Address src,
                                    Ip4Address dst, PacketBuffer& message,
                                    const Icmp4SendOptions& options, Instant now);

  static std::optional<uint16_t> EchoReplyId(const Icmp4View& icmp) {
    if (icmp.type() != Icmp4Type::kEchoReply) return std::nullopt;
    return icmp.echo_id();
  }
  // The engine reports locally detected errors only (an ARP failure): a received error
  // about an ICMP message we sent is read from the message itself.
  template <typename Fn>
  static void SetErrorListener(Icmp4Engine& icmp, Fn&& fn) {
    icmp.set_local_error_listener(std::forward<Fn>(fn));
  }
  static std::optional<Ip4ErrorInfo> ErrorAboutOurMessage(const Ip4PacketInfo& info,
                                                          const Icmp4View& icmp);
};

using Icmp4Endpoint = IcmpEndpoint<Icmp4Family>;
using Icmp4Sockets = IcmpSockets<Icmp4Family>;

}  // namespace pytcp
