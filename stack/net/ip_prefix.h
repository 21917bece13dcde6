// What a network and an interface address share in either family: an address and a prefix
// length, the text form "ADDRESS/PREFIX" (RFC 4632 §3.1, RFC 4291 §2.3), ordering and
// hashing. Ip4Network and Ip4Interface (ip4_network.h), Ip6Network and Ip6Interface
// (ip6_network.h) add their family's mask arithmetic and what makes a value valid (Create).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "stack/net/text.h"

namespace pytcp {

// `Derived` (CRTP) has kMaxTextSize and a static Create(Address, uint8_t) returning
// std::optional<Derived>.
template <typename Derived, typename Address>
class AddressWithPrefix : public net_internal::TextForm<Derived> {
 public:
  constexpr const Address& address() const { return address_; }
  constexpr uint8_t prefix_length() const { return prefix_length_; }

  // "10.77.0.0/24", "fd77::2/64" (ToString and operator<< from TextForm): at most
  // Derived::kMaxTextSize chars, no terminator; returns the end.
  char* FormatTo(char* out) const {
    out = address_.FormatTo(out);
    *out++ = '/';
    return net_internal::FormatDecimal(out, prefix_length_);
  }

  // Ordered by address, then by prefix length.
  constexpr auto operator<=>(const AddressWithPrefix&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, const Derived& v) {
    return H::combine(std::move(h), v.address(), v.prefix_length());
  }

 protected:
  constexpr AddressWithPrefix() = default;
  constexpr AddressWithPrefix(const Address& address, uint8_t prefix_length)
      : address_(address), prefix_length_(prefix_length) {}

  // "ADDRESS/PREFIX": the address in the family's text form, the prefix as
  // `parse_prefix(text)` reads it, then Derived::Create's rules.
  template <typename PrefixParser>
  static std::optional<Derived> ParseWith(std::string_view text, PrefixParser parse_prefix) {
    const auto parts = net_internal::SplitPrefix(text);
    if (!parts) return std::nullopt;
    const std::optional<Address> address = Address::Parse(parts->first);
    const std::optional<uint8_t> prefix = parse_prefix(parts->second);
    if (!address || !prefix) return std::nullopt;
    return Derived::Create(*address, *prefix);
  }

  Address address_;
  uint8_t prefix_length_ = 0;
};

}  // namespace pytcp
