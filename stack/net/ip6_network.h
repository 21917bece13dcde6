// IPv6 networks (address + prefix, bits beyond the prefix zero) and interface addresses
// (address + prefix, any interface id).
//
// RFCs to read: RFC 4291 §2.3 (prefix notation), RFC 4861 §5.2 (on-link determination from
// prefixes), RFC 4862 §5.5.3 (SLAAC prefixes are /64).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "stack/net/ip6_address.h"
#include "stack/net/ip_prefix.h"
#include "stack/net/text.h"

namespace pytcp {

class Ip6Network : public AddressWithPrefix<Ip6Network, Ip6Address> {
 public:
  static constexpr uint8_t kMaxPrefixLength = 128;
  // "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128"
  static constexpr size_t kMaxTextSize = Ip6Address::kMaxTextSize + 4;

  // ::/0, the whole address space (the default route).
  constexpr Ip6Network() = default;
  // Refuses prefix_length > 128 and an address with bits set beyond the prefix (RFC 4291 §2.3
  // calls "2001:db8:0:cd30:123:4567:89ab:cdef/60" a node address with its prefix, not a prefix;
  // Ip6Interface is the type for that).
  static constexpr std::optional<Ip6Network> Create(const Ip6Address& address,
                                                    uint8_t prefix_length) {
    if (prefix_length > kMaxPrefixLength) return std::nullopt;
    if (Mask(address, prefix_length) != address) return std::nullopt;
    return Ip6Network(address, prefix_length);
  }
  // "fd77::/64"; the prefix is decimal 0..128 without leading zeros. Same rules as Create.
  static std::optional<Ip6Network> Parse(std::string_view text) {
    return ParseWith(text, ParsePrefixLength);
  }
  static std::optional<uint8_t> ParsePrefixLength(std::string_view text) {
    const std::optional<uint32_t> v = net_internal::ParseDecimal(text, kMaxPrefixLength);
    return v ? std::optional(static_cast<uint8_t>(*v)) : std::nullopt;
  }

  // The mask of a prefix length: Netmask(64) is ffff:ffff:ffff:ffff::. Lengths above 128 give
  // /128.
  static constexpr Ip6Address Netmask(uint8_t prefix_length) {
    Ip6Address::Bytes b{};
    for (size_t i = 0; i < Ip6Address::kSize; ++i) {
      const size_t bit = 8 * i;
      if (prefix_length >= bit + 8) {
        b[i] = 0xff;
      } else if (prefix_length > bit) {
        b[i] = static_cast<uint8_t>(0xff << (8 - (prefix_length - bit)));
      }
    }
    return Ip6Address(b);
  }
  // `address` with every bit beyond the prefix cleared.
  static constexpr Ip6Address Mask(const Ip6Address& address, uint8_t prefix_length) {
    const Ip6Address::Bytes mask = Netmask(prefix_length).bytes();
    Ip6Address::Bytes b = address.bytes();
    for (size_t i = 0; i < Ip6Address::kSize; ++i) b[i] &= mask[i];
    return Ip6Address(b);
  }

  // address(): the prefix itself (bits beyond the prefix zero), e.g. fd77::.
  constexpr Ip6Address netmask() const { return Netmask(prefix_length_); }
  constexpr bool Contains(const Ip6Address& a) const { return Mask(a, prefix_length_) == address_; }
  // True when `other` is this network or a subnet of it.
  constexpr bool Contains(const Ip6Network& other) const {
    return other.prefix_length_ >= prefix_length_ && Contains(other.address_);
  }

 private:
  friend class Ip6Interface;
  constexpr Ip6Network(const Ip6Address& address, uint8_t prefix_length)
      : AddressWithPrefix(address, prefix_length) {}
};

// An address configured on an interface together with its on-link prefix: "fd77::2/64".
class Ip6Interface : public AddressWithPrefix<Ip6Interface, Ip6Address> {
 public:
  static constexpr size_t kMaxTextSize = Ip6Network::kMaxTextSize;

  // ::/0.
  constexpr Ip6Interface() = default;
  // Refuses prefix_length > 128; any interface id is allowed.
  static constexpr std::optional<Ip6Interface> Create(const Ip6Address& address,
                                                      uint8_t prefix_length) {
    if (prefix_length > Ip6Network::kMaxPrefixLength) return std::nullopt;
    return Ip6Interface(address, prefix_length);
  }
  // "fd77::2/64"; same rules as Create.
  static std::optional<Ip6Interface> Parse(std::string_view text) {
    return ParseWith(text, Ip6Network::ParsePrefixLength);
  }

  constexpr Ip6Address netmask() const { return Ip6Network::Netmask(prefix_length_); }
  // The on-link prefix: fd77::2/64 gives fd77::/64.
  constexpr Ip6Network network() const {
    return Ip6Network(Ip6Network::Mask(address_, prefix_length_), prefix_length_);
  }
  // On-link: the address is inside this interface's prefix.
  constexpr bool Contains(const Ip6Address& a) const { return network().Contains(a); }

 private:
  constexpr Ip6Interface(const Ip6Address& address, uint8_t prefix_length)
      : AddressWithPrefix(address, prefix_length) {}
};

}  // namespace pytcp

template <>
struct fmt::formatter<pytcp::Ip6Network> : pytcp::net_internal::TextFormatter<pytcp::Ip6Network> {};
template <>
struct fmt::formatter<pytcp::Ip6Interface>
    : pytcp::net_internal::TextFormatter<pytcp::Ip6Interface> {};
