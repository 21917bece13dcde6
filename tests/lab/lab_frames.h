// Hand-built IPv4 frames (ICMP echo, DHCPDISCOVER) for the lab test and the demo, written
// out byte by byte so that these programs check the link and the lab, not stack/wire.
// RFC 791 (IPv4), RFC 792 (ICMP echo), RFC 768 (UDP), RFC 2131/2132 (DHCP), RFC 1071
// (the Internet checksum).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tests/link/arp_frames.h"

namespace pytcp::testing {

inline uint16_t InternetChecksum(std::span<const uint8_t> data) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < data.size(); i += 2) sum += uint32_t{data[i]} << 8 | data[i + 1];
  if (data.size() % 2 != 0) sum += uint32_t{data.back()} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

inline void Put16(std::vector<uint8_t>& f, size_t off, uint16_t v) {
  f[off] = static_cast<uint8_t>(v >> 8);
  f[off + 1] = static_cast<uint8_t>(v);
}
inline uint16_t Get16(std::span<const uint8_t> f, size_t off) {
  return static_cast<uint16_t>(f[off] << 8 | f[off + 1]);
}

// Ethernet + IPv4 header (no options) with room for `l4_size` bytes; returns the frame.
inline std::vector<uint8_t> Ip4Frame(const Mac& dst_mac, const Mac& src_mac, const Ip4& src,
                                     const Ip4& dst, uint8_t protocol, size_t l4_size) {
  std::vector<uint8_t> f(14 + 20 + l4_size, 0);
  for (int i = 0; i < 6; ++i) f[i] = dst_mac[i], f[6 + i] = src_mac[i];
  f[12] = 0x08, f[13] = 0x00;
  f[14] = 0x45;  // version 4, IHL 5
  Put16(f, 16, static_cast<uint16_t>(20 + l4_size));
  Put16(f, 18, 0x7700);  // identification
  f[20] = 0x40;          // DF
  f[22] = 64;            // TTL
  f[23] = protocol;
  for (int i = 0; i < 4; ++i) f[26 + i] = src[i], f[30 + i] = dst[i];
  Put16(f, 24, InternetChecksum(std::span(f).subspan(14, 20)));
  return f;
}

inline std::vector<uint8_t> IcmpEchoRequest(const Mac& dst_mac, const Mac& src_mac, const Ip4& src,
                                            const Ip4& dst, uint16_t id, uint16_t seq,
                                            size_t payload_size) {
  auto f = Ip4Frame(dst_mac, src_mac, src, dst, /*ICMP*/ 1, 8 + payload_size);
  const size_t icmp = 34;
  f[icmp] = 8;  // echo request
  Put16(f, icmp + 4, id);
  Put16(f, icmp + 6, seq);
  for (size_t i = 0; i < payload_size; ++i) f[icmp + 8 + i] = static_cast<uint8_t>(i * 31 + seq);
  Put16(f, icmp + 2, InternetChecksum(std::span(f).subspan(icmp)));
  return f;
}

// True if `f` is an ICMP echo reply from `from` to `to` with this id/seq and an intact
// payload of payload_size bytes (as IcmpEchoRequest made it).
inline bool IsIcmpEchoReply(std::span<const uint8_t> f, const Ip4& from, const Ip4& to, uint16_t id,
                            uint16_t seq, size_t payload_size) {
  if (f.size() < 34 + 8 + payload_size || f[12] != 0x08 || f[13] != 0x00 || f[14] != 0x45) {
    return false;
  }
  if (f[23] != 1 || InternetChecksum(f.subspan(14, 20)) != 0) return false;
  for (int i = 0; i < 4; ++i)
    if (f[26 + i] != from[i] || f[30 + i] != to[i]) return false;
  const size_t total = Get16(f, 16);
  if (total != 20 + 8 + payload_size) return false;
  auto icmp = f.subspan(34, total - 20);
  if (icmp[0] != 0 || Get16(icmp, 4) != id || Get16(icmp, 6) != seq) return false;
  if (InternetChecksum(icmp) != 0) return false;
  for (size_t i = 0; i < payload_size; ++i)
    if (icmp[8 + i] != static_cast<uint8_t>(i * 31 + seq)) return false;
  return true;
}

// DHCPDISCOVER from `mac` asking for a broadcast reply (RFC 2131 4.1: the client has no
// address yet). UDP checksum 0: optional over IPv4 (RFC 768).
inline std::vector<uint8_t> DhcpDiscover(const Mac& mac, uint32_t xid) {
  constexpr size_t kBootp = 236, kOptions = 4 + 3 + 5 + 1;
  constexpr size_t kUdpPayload = 300;  // BOOTP minimum (RFC 951), padded
  static_assert(kBootp + kOptions <= kUdpPayload);
  auto f = Ip4Frame({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac, {0, 0, 0, 0}, {255, 255, 255, 255},
                    /*UDP*/ 17, 8 + kUdpPayload);
  const size_t udp = 34, b = 42;
  Put16(f, udp, 68);
  Put16(f, udp + 2, 67);
  Put16(f, udp + 4, 8 + kUdpPayload);
  f[b] = 1;  // BOOTREQUEST
  f[b + 1] = 1;
  f[b + 2] = 6;
  Put16(f, b + 4, static_cast<uint16_t>(xid >> 16));
  Put16(f, b + 6, static_cast<uint16_t>(xid));
  Put16(f, b + 10, 0x8000);  // broadcast flag
  for (int i = 0; i < 6; ++i) f[b + 28 + i] = mac[i];
  size_t o = b + kBootp;
  for (uint8_t c : {0x63, 0x82, 0x53, 0x63}) f[o++] = c;  // magic cookie
  for (uint8_t c : {53, 1, 1}) f[o++] = c;                // DHCPDISCOVER
  for (uint8_t c : {55, 3, 1, 3, 6}) f[o++] = c;          // want mask, router, DNS
  f[o] = 255;
  return f;
}

struct DhcpOffer {
  Ip4 your_ip;
  std::optional<Ip4> router;
  std::optional<Ip4> dns;
  std::optional<Ip4> server_id;
};

inline std::optional<DhcpOffer> ParseDhcpOffer(std::span<const uint8_t> f, uint32_t xid) {
  if (f.size() < 42 + 240 || f[12] != 0x08 || f[13] != 0x00 || f[14] != 0x45 || f[23] != 17) {
    return std::nullopt;
  }
  if (Get16(f, 34) != 67 || Get16(f, 36) != 68) return std::nullopt;
  const size_t b = 42;
  if (f[b] != 2 || Get16(f, b + 4) != (xid >> 16) || Get16(f, b + 6) != (xid & 0xffff)) {
    return std::nullopt;
  }
  DhcpOffer offer;
  for (int i = 0; i < 4; ++i) offer.your_ip[i] = f[b + 16 + i];
  const size_t end = 34 + Get16(f, 38);
  if (end > f.size()) return std::nullopt;
  bool is_offer = false;
  for (size_t o = b + 240; o < end && f[o] != 255;) {
    if (f[o] == 0) {
      ++o;
      continue;
    }
    if (o + 2 > end || o + 2 + f[o + 1] > end) return std::nullopt;
    const uint8_t code = f[o], len = f[o + 1];
    auto ip = [&] { return Ip4{f[o + 2], f[o + 3], f[o + 4], f[o + 5]}; };
    if (code == 53 && len == 1) is_offer = f[o + 2] == 2;
    if (code == 3 && len >= 4) offer.router = ip();
    if (code == 6 && len >= 4) offer.dns = ip();
    if (code == 54 && len == 4) offer.server_id = ip();
    o += 2 + len;
  }
  if (!is_offer) return std::nullopt;
  return offer;
}

}  // namespace pytcp::testing
