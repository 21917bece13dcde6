// Text helpers shared by the net value types (internal to stack/net/).
//
// Parsing and formatting of addresses never allocate: parsers walk a std::string_view and
// formatters write into a caller's fixed buffer of the type's kMaxTextSize. ToString() and the
// fmt formatters are thin wrappers over that FormatTo(), so logging an address costs no heap.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace pytcp::net_internal {

// -1 for anything that is not [0-9a-fA-F].
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline constexpr char kHexDigits[] = "0123456789abcdef";

// Decimal without leading zeros.
constexpr char* FormatDecimal(char* out, uint32_t v) {
  char tmp[10];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) *out++ = tmp[--n];
  return out;
}

// Lowercase hex without leading zeros (RFC 5952 §4.1, §4.3).
constexpr char* FormatHex16(char* out, uint16_t v) {
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const unsigned digit = (v >> shift) & 0xf;
    if (digit != 0 || started || shift == 0) {
      *out++ = kHexDigits[digit];
      started = true;
    }
  }
  return out;
}

// Exactly two lowercase hex digits.
constexpr char* FormatHex8(char* out, uint8_t v) {
  *out++ = kHexDigits[v >> 4];
  *out++ = kHexDigits[v & 0xf];
  return out;
}

// A decimal number with no sign, no whitespace and no leading zeros (a lone "0" is fine),
// at most max_value. Strict on purpose: "010" is octal to inet_aton and decimal to others,
// so the only safe reading of it is none.
constexpr std::optional<uint32_t> ParseDecimal(std::string_view s, uint32_t max_value) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max_value) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// Splits "ADDRESS/PREFIX" at the only '/'. Both halves must be non-empty.
constexpr std::optional<std::pair<std::string_view, std::string_view>> SplitPrefix(
    std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) {
    return std::nullopt;
  }
  const std::string_view rest = text.substr(slash + 1);
  if (rest.find('/') != std::string_view::npos) return std::nullopt;
  return std::pair{text.substr(0, slash), rest};
}

// ToString() for any type with kMaxTextSize and `char* FormatTo(char*) const`.
template <typename T>
std::string ToStringVia(const T& value) {
  char buf[T::kMaxTextSize];
  const char* end = value.FormatTo(buf);
  return std::string(buf, static_cast<size_t>(end - buf));
}

// ToString() and operator<< for `Derived` (CRTP), a value type with kMaxTextSize and
// `char* FormatTo(char*) const`: both go through FormatTo, so a type has one text form.
template <typename Derived>
class TextForm {
 public:
  std::string ToString() const { return ToStringVia(static_cast<const Derived&>(*this)); }
  friend std::ostream& operator<<(std::ostream& os, const Derived& v) { return os << v.ToString(); }
  constexpr auto operator<=>(const TextForm&) const = default;
};

// fmt support through FormatTo(); inherits string_view's spec parsing so width and alignment
// work ("{:>15}").
template <typename T>
struct TextFormatter : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(const T& value, FormatContext& ctx) const -> decltype(ctx.out()) {
    char buf[T::kMaxTextSize];
    const char* end = value.FormatTo(buf);
    return fmt::formatter<fmt::string_view>::format(
        fmt::string_view(buf, static_cast<size_t>(end - buf)), ctx);
  }
};

}  // namespace pytcp::net_internal
