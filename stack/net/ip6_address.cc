#include "stack/net/ip6_address.h"

#include <ostream>

namespace pytcp {
namespace {

// One group: 1 to 4 hex digits (RFC 4291 §2.2 (1) "one to four hexadecimal digits"), so
// "00000" is refused even though its value fits.
std::optional<uint16_t> ParseGroup(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    const int d = net_internal::HexDigitValue(c);
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  return static_cast<uint16_t>(v);
}

}  // namespace

std::optional<Ip6Address> Ip6Address::Parse(std::string_view text) {
  std::array<uint16_t, 8> groups{};
  size_t count = 0;           // groups written so far
  std::optional<size_t> gap;  // group index where "::" stands, if any
  size_t pos = 0;

  if (text.size() >= 2 && text[0] == ':' && text[1] == ':') {
    gap = 0;
    pos = 2;
    if (pos == text.size()) return Ip6Address();  // "::"
  } else if (!text.empty() && text[0] == ':') {
    return std::nullopt;  // a single leading ':' separates nothing
  }

  while (true) {
    const size_t colon = text.find(':', pos);
    const std::string_view piece =
        text.substr(pos, colon == std::string_view::npos ? std::string_view::npos : colon - pos);
    if (piece.find('.') != std::string_view::npos) {
      // RFC 4291 §2.2 (3): the dotted quad supplies the low-order 32 bits, so it must come
      // last and leave room for exactly two groups.
      if (colon != std::string_view::npos || count > 6) return std::nullopt;
      const std::optional<Ip4Address> v4 = Ip4Address::Parse(piece);
      if (!v4) return std::nullopt;
      groups[count++] = static_cast<uint16_t>(v4->value() >> 16);
      groups[count++] = static_cast<uint16_t>(v4->value());
      break;
    }
    // An empty piece here is ":::" or a "::" that follows another.
    const std::optional<uint16_t> g = ParseGroup(piece);
    if (!g || count == 8) return std::nullopt;
    groups[count++] = *g;
    if (colon == std::string_view::npos) break;

    if (colon + 1 < text.size() && text[colon + 1] == ':') {
      if (gap) return std::nullopt;  // RFC 4291 §2.2 (2): "::" can appear only once
      gap = count;
      pos = colon + 2;
      if (pos == text.size()) break;  // trailing "::"
    } else {
      pos = colon + 1;
      if (pos == text.size()) return std::nullopt;  // a single trailing ':'
    }
  }

  if (!gap) {
    if (count != 8) return std::nullopt;
  } else {
    // "::" stands for one or more zero groups (RFC 4291 §2.2 (2)), so at most seven are written.
    if (count > 7) return std::nullopt;
    const size_t tail = count - *gap;
    for (size_t i = 0; i < tail; ++i) {
      groups[7 - i] = groups[count - 1 - i];
      groups[count - 1 - i] = 0;
    }
  }
  return FromGroups(groups);
}

char* Ip6Address::FormatTo(char* out) const {
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad in the low 32 bits.
  if (is_ip4_mapped()) {
    constexpr std::string_view kPrefix = "::ffff:";
    for (char c : kPrefix) *out++ = c;
    return Ip4Address::FromBytes(&bytes_[12]).FormatTo(out);
  }

  // RFC 5952 §4.2: compress the longest run of zero groups (§4.2.3: the first when runs tie),
  // and only a run of two or more (§4.2.2).
  size_t best_start = 8;
  size_t best_len = 0;
  for (size_t i = 0; i < 8;) {
    if (group(i) != 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < 8 && group(j) == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best_start = 8;

  for (size_t i = 0; i < 8; ++i) {
    if (i == best_start) {
      *out++ = ':';
      *out++ = ':';
      i += best_len - 1;
      continue;
    }
    if (i != 0 && i != best_start + best_len) *out++ = ':';
    // RFC 5952 §4.1 and §4.3: no leading zeros, lowercase.
    out = net_internal::FormatHex16(out, group(i));
  }
  return out;
}

}  // namespace pytcp
