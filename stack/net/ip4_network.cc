#include "stack/net/ip4_network.h"

#include <ostream>

namespace pytcp {
namespace {

// "24" or "255.255.255.0".
std::optional<uint8_t> ParsePrefixLength(std::string_view text) {
  if (text.find('.') != std::string_view::npos) {
    const std::optional<Ip4Address> mask = Ip4Address::Parse(text);
    if (!mask) return std::nullopt;
    return Ip4Network::PrefixFromNetmask(*mask);
  }
  const std::optional<uint32_t> v = net_internal::ParseDecimal(text, Ip4Network::kMaxPrefixLength);
  if (!v) return std::nullopt;
  return static_cast<uint8_t>(*v);
}

std::optional<std::pair<Ip4Address, uint8_t>> ParseAddressAndPrefix(std::string_view text) {
  const auto parts = net_internal::SplitPrefix(text);
  if (!parts) return std::nullopt;
  const std::optional<Ip4Address> address = Ip4Address::Parse(parts->first);
  const std::optional<uint8_t> prefix = ParsePrefixLength(parts->second);
  if (!address || !prefix) return std::nullopt;
  return std::pair{*address, *prefix};
}

char* FormatAddressAndPrefix(char* out, Ip4Address address, uint8_t prefix_length) {
  out = address.FormatTo(out);
  *out++ = '/';
  return net_internal::FormatDecimal(out, prefix_length);
}

}  // namespace

std::optional<Ip4Network> Ip4Network::Parse(std::string_view text) {
  const auto parsed = ParseAddressAndPrefix(text);
  if (!parsed) return std::nullopt;
  return Create(parsed->first, parsed->second);
}

char* Ip4Network::FormatTo(char* out) const {
  return FormatAddressAndPrefix(out, address_, prefix_length_);
}

std::string Ip4Network::ToString() const { return net_internal::ToStringVia(*this); }

std::optional<Ip4Interface> Ip4Interface::Parse(std::string_view text) {
  const auto parsed = ParseAddressAndPrefix(text);
  if (!parsed) return std::nullopt;
  return Create(parsed->first, parsed->second);
}

char* Ip4Interface::FormatTo(char* out) const {
  return FormatAddressAndPrefix(out, address_, prefix_length_);
}

std::string Ip4Interface::ToString() const { return net_internal::ToStringVia(*this); }

std::ostream& operator<<(std::ostream& os, const Ip4Network& n) { return os << n.ToString(); }
std::ostream& operator<<(std::ostream& os, const Ip4Interface& i) { return os << i.ToString(); }

}  // namespace pytcp
