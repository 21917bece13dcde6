#include "shim/reverse_name.h"

#include <cstdio>

namespace pytcp::shim {

std::string ReverseName(const Ip4Address& a) {
  const auto b = a.bytes();
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
  return buf;
}

std::string ReverseName(const Ip6Address& a) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto b = a.bytes();
  std::string out;
  out.reserve(32 * 2 + 8);
  for (size_t i = b.size(); i-- > 0;) {
    out += kHex[b[i] & 0x0f];
    out += '.';
    out += kHex[b[i] >> 4];
    out += '.';
  }
  out += "ip6.arpa";
  return out;
}

std::string DnsNameText(const DnsNameView& name) {
  std::string out;
  bool first = true;
  for (std::string_view label : name) {
    if (!first) out.push_back('.');
    first = false;
    for (char ch : label) {
      const auto c = static_cast<uint8_t>(ch);
      switch (c) {
        case '.': case '\\': case '"': case ';': case '(': case ')': case '@': case '$':
          out.push_back('\\');
          out.push_back(static_cast<char>(c));
          break;
        default:
          if (c > 0x20 && c < 0x7f) {
            out.push_back(static_cast<char>(c));
          } else {
            out.push_back('\\');
            out.push_back(static_cast<char>('0' + c / 100));
            out.push_back(static_cast<char>('0' + c / 10 % 10));
            out.push_back(static_cast<char>('0' + c % 10));
          }
      }
    }
  }
  if (first) out.push_back('.');  // the root, as ns_name_ntop writes it
  return out;
}

}  // namespace pytcp::shim
