// Hand-built ARP frames for link tests, the lab test and the demo. Written out byte by byte
// on purpose: these tests check the link layer and the lab wiring, not stack/wire.
// RFC 826 (ARP), IEEE 802.3 (a frame is at least 60 bytes before the FCS).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace pytcp::testing {

using Mac = std::array<uint8_t, 6>;
using Ip4 = std::array<uint8_t, 4>;

inline constexpr size_t kArpFrameSize = 60;  // 14 + 28, padded to the Ethernet minimum

// Broadcast "who-has target_ip tell sender_ip" from sender_mac.
inline std::array<uint8_t, kArpFrameSize> ArpRequest(const Mac& sender_mac, const Ip4& sender_ip,
                                                     const Ip4& target_ip) {
  std::array<uint8_t, kArpFrameSize> f{};
  for (int i = 0; i < 6; ++i) f[i] = 0xff;                 // destination: broadcast
  for (int i = 0; i < 6; ++i) f[6 + i] = sender_mac[i];    // source
  f[12] = 0x08, f[13] = 0x06;                              // EtherType ARP
  f[14] = 0x00, f[15] = 0x01;                              // htype Ethernet
  f[16] = 0x08, f[17] = 0x00;                              // ptype IPv4
  f[18] = 6, f[19] = 4;                                    // hlen, plen
  f[20] = 0x00, f[21] = 0x01;                              // op request
  for (int i = 0; i < 6; ++i) f[22 + i] = sender_mac[i];   // sha
  for (int i = 0; i < 4; ++i) f[28 + i] = sender_ip[i];    // spa
  for (int i = 0; i < 6; ++i) f[32 + i] = 0;               // tha: unknown
  for (int i = 0; i < 4; ++i) f[38 + i] = target_ip[i];    // tpa
  return f;
}

struct ArpReply {
  Mac sender_mac;
  Ip4 sender_ip;
};

// The answer to "who-has asked_ip tell us", if `frame` is an ARP reply addressed to
// our_mac/our_ip from asked_ip.
inline std::optional<ArpReply> ParseArpReply(std::span<const uint8_t> frame, const Mac& our_mac,
                                             const Ip4& our_ip, const Ip4& asked_ip) {
  if (frame.size() < 42) return std::nullopt;
  auto eq = [&](size_t off, std::span<const uint8_t> want) {
    for (size_t i = 0; i < want.size(); ++i)
      if (frame[off + i] != want[i]) return false;
    return true;
  };
  if (frame[12] != 0x08 || frame[13] != 0x06) return std::nullopt;      // not ARP
  if (frame[20] != 0x00 || frame[21] != 0x02) return std::nullopt;      // not a reply
  if (frame[18] != 6 || frame[19] != 4) return std::nullopt;
  if (!eq(0, our_mac) || !eq(32, our_mac) || !eq(38, our_ip)) return std::nullopt;
  if (!eq(28, asked_ip)) return std::nullopt;
  ArpReply r;
  for (int i = 0; i < 6; ++i) r.sender_mac[i] = frame[22 + i];
  for (int i = 0; i < 4; ++i) r.sender_ip[i] = frame[28 + i];
  return r;
}

}  // namespace pytcp::testing
