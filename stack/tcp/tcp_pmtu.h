// The path MTU a TCP connection takes from an ICMPv4 "fragmentation needed and DF set"
// (RFC 1191), as Linux takes it.
//
// RFCs to read: RFC 1191 §5 (routers that do not report the next-hop MTU send 0) and §7
// (the plateau table for guessing then), RFC 5927 §4.1 (only believe errors that quote a
// segment in flight — the engine checks the sequence number).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

namespace pytcp {

// Linux's net.ipv4.route.min_pmtu: an ICMP error cannot push a path below this, so an
// off-path attacker's forged "MTU 68" cannot make a connection send tiny segments.
inline constexpr uint32_t kTcpMinPmtu4 = 552;

// RFC 1191 §7 table 7-1: the plateaus of common MTUs.
inline constexpr std::array<uint32_t, 11> kMtuPlateaus = {65535, 32000, 17914, 8166, 4352, 2002,
                                                          1492,  1006,  508,   296,  68};

// `reported` is the next-hop MTU of the ICMP message, `current` the size of our datagrams
// (the path MTU in use). A report of 0 or below 68 (an old router, RFC 1191 §5) is
// replaced by the next plateau below `current`; the result is never below min_pmtu.
inline uint32_t TcpUsablePmtu4(uint32_t reported, uint32_t current) {
  uint32_t mtu = reported;
  if (mtu < 68) {
    mtu = 68;
    for (uint32_t p : kMtuPlateaus) {
      if (p < current) {
        mtu = p;
        break;
      }
    }
  }
  return std::max(mtu, kTcpMinPmtu4);
}

}  // namespace pytcp
