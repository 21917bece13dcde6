#include "stack/net/ip4_address.h"

#include <ostream>

namespace pytcp {

std::optional<Ip4Address> Ip4Address::Parse(std::string_view text) {
  uint32_t value = 0;
  size_t start = 0;
  for (int part = 0; part < 4; ++part) {
    const size_t dot = text.find('.', start);
    const bool last = part == 3;
    // The first three octets end at a dot, the fourth at the end of the text: this refuses
    // "1.2.3" and "1.2.3.4." alike, and a fifth part.
    if (last != (dot == std::string_view::npos)) return std::nullopt;
    const std::string_view octet = text.substr(start, last ? std::string_view::npos : dot - start);
    const std::optional<uint32_t> v = net_internal::ParseDecimal(octet, 255);
    if (!v) return std::nullopt;
    value = (value << 8) | *v;
    start = dot + 1;
  }
  return Ip4Address(value);
}

char* Ip4Address::FormatTo(char* out) const {
  const Bytes b = bytes();
  for (size_t i = 0; i < kSize; ++i) {
    if (i != 0) *out++ = '.';
    out = net_internal::FormatDecimal(out, b[i]);
  }
  return out;
}

}  // namespace pytcp
