// IPv4 address value type.
//
// RFCs to read: RFC 791 §2.3 (addressing), RFC 1122 §3.2.1.3 (special addresses), RFC 1112 §4
// (class D/E), RFC 1918 §3 (private), RFC 3927 (link-local), RFC 5737 (documentation),
// RFC 6890 (special-purpose registry). Text form: the strict dotted quad of RFC 6943 §3.1.1.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "stack/net/text.h"

namespace pytcp {

class Ip4Address : public net_internal::TextForm<Ip4Address> {
 public:
  static constexpr size_t kSize = 4;
  // "255.255.255.255"
  static constexpr size_t kMaxTextSize = 15;
  using Bytes = std::array<uint8_t, kSize>;

  constexpr Ip4Address() = default;
  // Host-order 32-bit value: Ip4Address(0x0a4d0001) is 10.77.0.1.
  constexpr explicit Ip4Address(uint32_t value) : value_(value) {}
  constexpr Ip4Address(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
      : value_((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d) {}
  // From the first four bytes (network order) of a buffer the caller has bounds-checked.
  static constexpr Ip4Address FromBytes(const uint8_t* p) {
    return Ip4Address(p[0], p[1], p[2], p[3]);
  }
  static constexpr Ip4Address Any() { return Ip4Address(); }
  static constexpr Ip4Address Broadcast() { return Ip4Address(0xffffffffu); }
  static constexpr Ip4Address Loopback() { return Ip4Address(127, 0, 0, 1); }

  // Strict dotted quad: exactly four decimal octets 0..255 separated by '.', no leading
  // zeros ("010.1.1.1" is octal to inet_aton and decimal elsewhere, so it is refused), no
  // signs, no whitespace, no shorthand forms ("10.1", "167772161").
  static std::optional<Ip4Address> Parse(std::string_view text);

  constexpr uint32_t value() const { return value_; }
  constexpr Bytes bytes() const {
    return Bytes{static_cast<uint8_t>(value_ >> 24), static_cast<uint8_t>(value_ >> 16),
                 static_cast<uint8_t>(value_ >> 8), static_cast<uint8_t>(value_)};
  }
  constexpr void CopyTo(uint8_t* p) const {
    const Bytes b = bytes();
    for (size_t i = 0; i < kSize; ++i) p[i] = b[i];
  }

  // 0.0.0.0 (RFC 1122 §3.2.1.3 (a)).
  constexpr bool is_unspecified() const { return value_ == 0; }
  // 0.0.0.0/8, "this host on this network"; valid only as a source during bootstrap
  // (RFC 1122 §3.2.1.3 (a)/(b)).
  constexpr bool is_this_network() const { return (value_ >> 24) == 0; }
  // 255.255.255.255 (RFC 919 §7, RFC 1122 §3.2.1.3 (c)).
  constexpr bool is_limited_broadcast() const { return value_ == 0xffffffffu; }
  // 224.0.0.0/4, class D (RFC 1112 §4).
  constexpr bool is_multicast() const { return (value_ >> 28) == 0xe; }
  // 127.0.0.0/8 (RFC 1122 §3.2.1.3 (g)).
  constexpr bool is_loopback() const { return (value_ >> 24) == 127; }
  // 169.254.0.0/16 (RFC 3927 §2.1).
  constexpr bool is_link_local() const { return (value_ >> 16) == 0xa9fe; }
  // 10/8, 172.16/12, 192.168/16 (RFC 1918 §3).
  constexpr bool is_private() const {
    return (value_ >> 24) == 10 || (value_ >> 20) == 0xac1 || (value_ >> 16) == 0xc0a8;
  }
  // 240.0.0.0/4, class E (RFC 1112 §4), minus the limited broadcast address that lives at its
  // top, so that the classes stay disjoint.
  constexpr bool is_reserved() const { return (value_ >> 28) == 0xf && !is_limited_broadcast(); }
  // TEST-NET-1/2/3: 192.0.2/24, 198.51.100/24, 203.0.113/24 (RFC 5737 §3).
  constexpr bool is_documentation() const {
    const uint32_t net = value_ >> 8;
    return net == 0xc00002 || net == 0xc63364 || net == 0xcb0071;
  }

  // The dotted quad, e.g. "10.77.0.1" (ToString and operator<< from TextForm).
  // Writes the text form (at most kMaxTextSize chars, no terminator) and returns its end.
  char* FormatTo(char* out) const;

  constexpr auto operator<=>(const Ip4Address&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, const Ip4Address& a) {
    return H::combine(std::move(h), a.value_);
  }

 private:
  uint32_t value_ = 0;
};

}  // namespace pytcp

template <>
struct fmt::formatter<pytcp::Ip4Address> : pytcp::net_internal::TextFormatter<pytcp::Ip4Address> {};
