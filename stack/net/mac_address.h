// MAC (EUI-48) address value type, and the mappings from IP addresses to MAC addresses.
//
// RFCs to read: IEEE 802-2014 §8.2 (I/G and U/L bits; RFC 7042 §2.1 summarises), RFC 1112 §6.4
// (IPv4 multicast over Ethernet), RFC 2464 §7 (IPv6 multicast over Ethernet), RFC 4291 §2.5.1
// and Appendix A (modified EUI-64 interface identifiers).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "stack/net/ip4_address.h"
#include "stack/net/ip6_address.h"
#include "stack/net/text.h"

namespace pytcp {

class MacAddress : public net_internal::TextForm<MacAddress> {
 public:
  static constexpr size_t kSize = 6;
  // "xx:xx:xx:xx:xx:xx"
  static constexpr size_t kMaxTextSize = 17;
  using Bytes = std::array<uint8_t, kSize>;

  constexpr MacAddress() = default;
  constexpr explicit MacAddress(const Bytes& b) : bytes_(b) {}
  // From the first six bytes of a span the caller has bounds-checked.
  static constexpr MacAddress FromBytes(const uint8_t* p) {
    return MacAddress(Bytes{p[0], p[1], p[2], p[3], p[4], p[5]});
  }
  static constexpr MacAddress Broadcast() {
    return MacAddress(Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  }
  // RFC 1112 §6.4: 01:00:5e followed by the low-order 23 bits of the group address (so 32
  // groups share each MAC; receivers filter again at the IP layer). Meaningful for multicast
  // addresses only; other addresses are mapped the same way.
  static constexpr MacAddress FromIp4Multicast(Ip4Address group) {
    const uint32_t v = group.value();
    return MacAddress(Bytes{0x01, 0x00, 0x5e, static_cast<uint8_t>((v >> 16) & 0x7f),
                            static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)});
  }
  // RFC 2464 §7: 33:33 followed by the low-order 32 bits of the group address.
  static constexpr MacAddress FromIp6Multicast(const Ip6Address& group) {
    const Ip6Address::Bytes& b = group.bytes();
    return MacAddress(Bytes{0x33, 0x33, b[12], b[13], b[14], b[15]});
  }

  // Six octets of exactly two hex digits (either case), separated all by ':' or all by '-':
  // "02:00:00:77:00:01", "02-00-00-77-00-01". Anything else is refused.
  static std::optional<MacAddress> Parse(std::string_view text);

  constexpr const Bytes& bytes() const { return bytes_; }
  constexpr void CopyTo(uint8_t* p) const {
    for (size_t i = 0; i < kSize; ++i) p[i] = bytes_[i];
  }

  constexpr bool is_unspecified() const { return bytes_ == Bytes{}; }
  constexpr bool is_broadcast() const { return *this == Broadcast(); }
  // I/G bit, the least significant bit of the first octet (IEEE 802 §8.2); broadcast is a
  // multicast address too.
  constexpr bool is_multicast() const { return (bytes_[0] & 0x01) != 0; }
  constexpr bool is_unicast() const { return !is_multicast(); }
  // U/L bit, the second least significant bit of the first octet (IEEE 802 §8.2).
  constexpr bool is_locally_administered() const { return (bytes_[0] & 0x02) != 0; }
  constexpr bool is_universally_administered() const { return !is_locally_administered(); }

  // Modified EUI-64 interface id (RFC 4291 Appendix A): ff:fe inserted between the OUI and
  // the NIC-specific half, and the U/L bit inverted, so that a universal MAC gives an id with
  // the "u" bit set and a hand-made local one (02:...) gives short ids like ::1.
  constexpr Ip6Address::InterfaceId Eui64InterfaceId() const {
    const Bytes& b = bytes_;
    return {static_cast<uint8_t>(b[0] ^ 0x02), b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]};
  }
  // fe80::/64 with the modified EUI-64 interface id (RFC 4862 §5.3, RFC 4291 §2.5.6).
  constexpr Ip6Address Ip6LinkLocal() const { return Ip6Address::LinkLocal(Eui64InterfaceId()); }

  // Lowercase colon form, e.g. "02:00:00:77:00:01" (ToString and operator<< from TextForm).
  // Writes the text form (exactly kMaxTextSize chars, no terminator) and returns its end.
  char* FormatTo(char* out) const;

  constexpr auto operator<=>(const MacAddress&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, const MacAddress& a) {
    return H::combine(std::move(h), a.bytes_);
  }

 private:
  Bytes bytes_{};
};

}  // namespace pytcp

template <>
struct fmt::formatter<pytcp::MacAddress> : pytcp::net_internal::TextFormatter<pytcp::MacAddress> {};
