#include "stack/net/mac_address.h"

#include <ostream>

namespace pytcp {

std::optional<MacAddress> MacAddress::Parse(std::string_view text) {
  // Fixed layout "hh?hh?hh?hh?hh?hh": the length check alone refuses one-digit octets, missing
  // or extra octets and surrounding whitespace.
  if (text.size() != kMaxTextSize) return std::nullopt;
  const char sep = text[2];
  if (sep != ':' && sep != '-') return std::nullopt;
  Bytes b{};
  for (size_t i = 0; i < kSize; ++i) {
    const size_t at = 3 * i;
    if (i != 0 && text[at - 1] != sep) return std::nullopt;  // mixed separators
    const int hi = net_internal::HexDigitValue(text[at]);
    const int lo = net_internal::HexDigitValue(text[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    b[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return MacAddress(b);
}

char* MacAddress::FormatTo(char* out) const {
  for (size_t i = 0; i < kSize; ++i) {
    if (i != 0) *out++ = ':';
    out = net_internal::FormatHex8(out, bytes_[i]);
  }
  return out;
}

}  // namespace pytcp
