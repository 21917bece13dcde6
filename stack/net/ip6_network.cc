#include "stack/net/ip6_network.h"

#include <ostream>

namespace pytcp {
namespace {

std::optional<std::pair<Ip6Address, uint8_t>> ParseAddressAndPrefix(std::string_view text) {
  const auto parts = net_internal::SplitPrefix(text);
  if (!parts) return std::nullopt;
  const std::optional<Ip6Address> address = Ip6Address::Parse(parts->first);
  const std::optional<uint32_t> prefix =
      net_internal::ParseDecimal(parts->second, Ip6Network::kMaxPrefixLength);
  if (!address || !prefix) return std::nullopt;
  return std::pair{*address, static_cast<uint8_t>(*prefix)};
}

char* FormatAddressAndPrefix(char* out, const Ip6Address& address, uint8_t prefix_length) {
  out = address.FormatTo(out);
  *out++ = '/';
  return net_internal::FormatDecimal(out, prefix_length);
}

}  // namespace

std::optional<Ip6Network> Ip6Network::Parse(std::string_view text) {
  const auto parsed = ParseAddressAndPrefix(text);
  if (!parsed) return std::nullopt;
  return Create(parsed->first, parsed->second);
}

char* Ip6Network::FormatTo(char* out) const {
  return FormatAddressAndPrefix(out, address_, prefix_length_);
}

std::string Ip6Network::ToString() const { return net_internal::ToStringVia(*this); }

std::optional<Ip6Interface> Ip6Interface::Parse(std::string_view text) {
  const auto parsed = ParseAddressAndPrefix(text);
  if (!parsed) return std::nullopt;
  return Create(parsed->first, parsed->second);
}

char* Ip6Interface::FormatTo(char* out) const {
  return FormatAddressAndPrefix(out, address_, prefix_length_);
}

std::string Ip6Interface::ToString() const { return net_internal::ToStringVia(*this); }

std::ostream& operator<<(std::ostream& os, const Ip6Network& n) { return os << n.ToString(); }
std::ostream& operator<<(std::ostream& os, const Ip6Interface& i) { return os << i.ToString(); }

}  // namespace pytcp
