// IPv4 networks (address + prefix, host bits zero) and interface addresses (address + prefix,
// host bits free), and the prefix/netmask arithmetic between them.
//
// RFCs to read: RFC 4632 §3.1 (prefix notation), RFC 950 (subnet masks), RFC 919 and RFC 922
// (directed broadcast), RFC 3021 (/31 links have no broadcast address).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "stack/net/ip4_address.h"
#include "stack/net/ip_prefix.h"
#include "stack/net/text.h"

namespace pytcp {

class Ip4Network : public AddressWithPrefix<Ip4Network, Ip4Address> {
 public:
  static constexpr uint8_t kMaxPrefixLength = 32;
  // "255.255.255.255/32"
  static constexpr size_t kMaxTextSize = Ip4Address::kMaxTextSize + 3;

  // 0.0.0.0/0, the whole address space (the default route).
  constexpr Ip4Network() = default;
  // Refuses prefix_length > 32 and an address with bits set beyond the prefix (10.77.0.1/24
  // names a host, not a network; Ip4Interface is the type for that).
  static constexpr std::optional<Ip4Network> Create(Ip4Address address, uint8_t prefix_length) {
    if (prefix_length > kMaxPrefixLength) return std::nullopt;
    if ((address.value() & ~Netmask(prefix_length).value()) != 0) return std::nullopt;
    return Ip4Network(address, prefix_length);
  }
  // "10.77.0.0/24"; the prefix may also be given as a contiguous netmask
  // ("10.77.0.0/255.255.255.0"). A decimal prefix has no leading zeros. Same rules as Create.
  static std::optional<Ip4Network> Parse(std::string_view text) {
    return ParseWith(text, ParsePrefixLength);
  }
  // "24" or "255.255.255.0".
  static std::optional<uint8_t> ParsePrefixLength(std::string_view text) {
    if (text.find('.') != std::string_view::npos) {
      const std::optional<Ip4Address> mask = Ip4Address::Parse(text);
      if (!mask) return std::nullopt;
      return PrefixFromNetmask(*mask);
    }
    const std::optional<uint32_t> v = net_internal::ParseDecimal(text, kMaxPrefixLength);
    if (!v) return std::nullopt;
    return static_cast<uint8_t>(*v);
  }

  // The mask of a prefix length: Netmask(24) is 255.255.255.0. Lengths above 32 give /32.
  static constexpr Ip4Address Netmask(uint8_t prefix_length) {
    if (prefix_length == 0) return Ip4Address();
    if (prefix_length >= kMaxPrefixLength) return Ip4Address(0xffffffffu);
    return Ip4Address(~uint32_t{0} << (kMaxPrefixLength - prefix_length));
  }
  // The prefix length of a netmask, or nullopt when its one bits are not contiguous from the
  // top (255.0.255.0): RFC 950 tolerated such masks, but they have no prefix form
  // (RFC 4632 §3.1) and no router or host here supports them.
  static constexpr std::optional<uint8_t> PrefixFromNetmask(Ip4Address mask) {
    const uint32_t host = ~mask.value();
    // The host part must be 2^k - 1: adding one clears every bit it has.
    if ((host & (host + 1)) != 0) return std::nullopt;
    return static_cast<uint8_t>(std::popcount(mask.value()));
  }

  // address(): the network address (host bits zero), e.g. 10.77.0.0.
  constexpr Ip4Address netmask() const { return Netmask(prefix_length_); }
  // The highest address in the network (all host bits one). For /31 and /32 this is an
  // ordinary host address; see Ip4Interface::directed_broadcast().
  constexpr Ip4Address broadcast() const {
    return Ip4Address(address_.value() | ~netmask().value());
  }
  constexpr bool Contains(Ip4Address a) const {
    return (a.value() & netmask().value()) == address_.value();
  }
  // True when `other` is this network or a subnet of it.
  constexpr bool Contains(const Ip4Network& other) const {
    return other.prefix_length_ >= prefix_length_ && Contains(other.address_);
  }

 private:
  friend class Ip4Interface;
  constexpr Ip4Network(Ip4Address address, uint8_t prefix_length)
      : AddressWithPrefix(address, prefix_length) {}
};

// An address configured on an interface together with its on-link prefix: "10.77.0.2/24".
class Ip4Interface : public AddressWithPrefix<Ip4Interface, Ip4Address> {
 public:
  static constexpr size_t kMaxTextSize = Ip4Network::kMaxTextSize;

  // 0.0.0.0/0.
  constexpr Ip4Interface() = default;
  // Refuses prefix_length > 32; any host bits are allowed.
  static constexpr std::optional<Ip4Interface> Create(Ip4Address address, uint8_t prefix_length) {
    if (prefix_length > Ip4Network::kMaxPrefixLength) return std::nullopt;
    return Ip4Interface(address, prefix_length);
  }
  // "10.77.0.2/24" or "10.77.0.2/255.255.255.0"; same rules as Create.
  static std::optional<Ip4Interface> Parse(std::string_view text) {
    return ParseWith(text, Ip4Network::ParsePrefixLength);
  }

  constexpr Ip4Address netmask() const { return Ip4Network::Netmask(prefix_length_); }
  // The on-link network: 10.77.0.2/24 gives 10.77.0.0/24.
  constexpr Ip4Network network() const {
    return Ip4Network(Ip4Address(address_.value() & netmask().value()), prefix_length_);
  }
  // The directed broadcast of the on-link network (RFC 922 §7), e.g. 10.77.0.255. None for /31
  // (RFC 3021 §2.2: both addresses are hosts) and /32.
  constexpr std::optional<Ip4Address> directed_broadcast() const {
    if (prefix_length_ >= 31) return std::nullopt;
    return network().broadcast();
  }
  // On-link: the address is inside this interface's network.
  constexpr bool Contains(Ip4Address a) const { return network().Contains(a); }

 private:
  constexpr Ip4Interface(Ip4Address address, uint8_t prefix_length)
      : AddressWithPrefix(address, prefix_length) {}
};

}  // namespace pytcp

template <>
struct fmt::formatter<pytcp::Ip4Network> : pytcp::net_internal::TextFormatter<pytcp::Ip4Network> {};
template <>
struct fmt::formatter<pytcp::Ip4Interface>
    : pytcp::net_internal::TextFormatter<pytcp::Ip4Interface> {};
