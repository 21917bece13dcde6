// The ICMPv6 side of the ICMP socket table (icmp/icmp_sockets.h), as Linux has it: ping
// sockets (SOCK_DGRAM, IPPROTO_ICMPV6) and raw sockets (SOCK_RAW, IPPROTO_ICMPV6), which
// read every ICMPv6 message (ND and MLD included) without the IPv6 header, as RFC 3542 §3
// says raw IPv6 sockets read.
//
// RFCs to read: RFC 4443 §4 (echo), §2.4 (d) (errors go to the process that sent the
// offending packet), §2.3 (the checksum covers a pseudo-header, so the stack computes it:
// RFC 3542 §3.1, the kernel computes ICMPv6 checksums of raw sockets), RFC 3542 §3.2
// (ICMP6_FILTER). Linux: net/ipv6/ping.c, net/ipv6/raw.c.
#pragma once

#include <cerrno>
#include <cstdint>
#include <optional>

#include "stack/icmp/icmp_sockets.h"
#include "stack/icmp6/icmp6_engine.h"
#include "stack/ip6/ip6_engine.h"
#include "stack/wire/icmp6.h"

namespace pytcp {

struct Icmp6SendOptions {
  uint8_t hop_limit = 0;  // 0: the route's default (IPV6_UNICAST_HOPS unset)
  uint8_t traffic_class = 0;
  bool dont_fragment = false;
  // Raw sockets: where the checksum goes (IPV6_CHECKSUM; 2 for ICMPv6), -1: none.
  int checksum_offset = 2;
  uint32_t scope_id = 0;
};

struct Icmp6Family {
  // What the engine's listeners hand the table.
  using Engine = Icmp6Engine;
  using PacketInfo = Ip6PacketInfo;
  using View = Icmp6View;
  // The checksum's pseudo-header needs a source (RFC 4443 §2.3): a route without one is
  // EADDRNOTAVAIL.
  static constexpr bool kNeedsSource = true;
  static constexpr size_t kMaxMessage = 65535;  // without a jumbogram (RFC 2675)
  static constexpr size_t kHeaderSize = kIcmp6HeaderSize;
  static constexpr uint8_t kEchoRequest = static_cast<uint8_t>(Icmp6Type::kEchoRequest);
  // icmpv6_err_convert's "fatal" errors: reported even without IPV6_RECVERR.
  static constexpr uint8_t kUnreachable = static_cast<uint8_t>(Icmp6Type::kDestinationUnreachable);
  static constexpr uint8_t kParameterProblem = static_cast<uint8_t>(Icmp6Type::kParameterProblem);

  // An AF_INET6 ICMPv6 socket talks IPv6 only: a v4-mapped address is refused as the
  // kernel refuses it (ping_v6_sendmsg, rawv6_bind: EINVAL); :: as a target is "this host"
  // (RFC 4291 §2.5.2 says never a destination; Linux sends it to loopback).
  using Address = Ip6Address;
  static bool Holds(const IpAddress& a) { return !a.is_v4(); }
  static constexpr int kOtherFamilyError = EINVAL;
  static Ip6Address AddressOf(const IpAddress& a) { return a.v6(); }
  // Ip6Engine queues a message to ourselves (our address, a group we are in) for the
  // event loop, which a sender must wake.
  static constexpr bool kLoopbackQueued = true;

  // RFC 8201: the path MTU cache's.
  static uint32_t PathMtu(const Ip6Engine& ip, const Ip6Address& dst) { return ip.PathMtu(dst); }
  // ping -6's "local error: message too long": the flow's port holds ICMPv6 type and code
  // (fl6_icmp_type, fl6_icmp_code).
  static uint16_t LocalErrorPort(ByteSpan message) {
    return message.size() >= 2 ? static_cast<uint16_t>(message[0] << 8 | message[1]) : 0;
  }
  using IpEngine = Ip6Engine;
  using SendOptions = Icmp6SendOptions;
  static Result<void, int> Transmit(Icmp6Engine& icmp, Ip6Engine& ip, const Ip6Address& hint,
                                    const Ip6Address& dst, PacketBuffer& message,
                                    const Icmp6SendOptions& options, Instant now);

  static std::optional<uint16_t> EchoReplyId(const Icmp6View& icmp) {
    const bool reply =
        icmp.type() == Icmp6Type::kEchoReply && icmp.message().size() >= kIcmp6HeaderSize;
    return reply ? std::optional(icmp.echo_id()) : std::nullopt;
  }
  // Received errors and ND failures alike: the engine has parsed them, so no message is
  // read as one here.
  template <typename Fn>
  static void SetErrorListener(Icmp6Engine& icmp, Fn&& fn) {
    icmp.set_error_listener(std::forward<Fn>(fn));
  }
  static std::optional<Ip6ErrorInfo> ErrorAboutOurMessage(const Ip6PacketInfo&, const Icmp6View&) {
    return std::nullopt;
  }
};

using Icmp6Endpoint = IcmpEndpoint<Icmp6Family>;
using Icmp6Sockets = IcmpSockets<Icmp6Family>;

}  // namespace pytcp
