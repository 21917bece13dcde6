#include "stack/dhcp4/dhcp4_lease_file.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <limits>

namespace pytcp {

std::string SerializeLease(const Dhcp4Lease& l, int64_t expires_unix) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  std::string out = fmt::format("{}\naddress {}\nserver {}\n", kDhcp4LeaseFileHeader,
                                l.address.ToString(), l.server_id.ToString());
  if (l.router) out += fmt::format("router {}\n", l.router->ToString());
  for (size_t i = 0; i < l.dns.size() && i < kDhcp4LeaseFileMaxDns; ++i) {
    out += fmt::format("dns {}\n", l.dns[i].ToString());
  }
  if (l.mtu) out += fmt::format("mtu {}\n", *l.mtu);
  // Only a name CleanDomainName accepts can be written back and read again.
  if (const std::string domain = CleanDomainName(l.domain); !domain.empty()) {
    out += fmt::format("domain {}\n", domain);
  }
  out += fmt::format(
      "lease {}\nt1 {}\nt2 {}\nexpires {}\n", duration_cast<seconds>(l.lease_time).count(),
      duration_cast<seconds>(l.t1).count(), duration_cast<seconds>(l.t2).count(), expires_unix);
  return out;
}

namespace {

template <typename T>
bool ParseDecimal(std::string_view s, T lo, T hi, T* out) {
  // Digits only: from_chars would accept a leading '-' for signed types.
  if (s.empty() || s.size() > 19) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

std::optional<std::pair<Dhcp4Lease, int64_t>> ParseLease(std::string_view text) {
  if (text.size() > kDhcp4LeaseFileMaxSize) return std::nullopt;
  Dhcp4Lease l;
  bool have_address = false, have_server = false, have_router = false, have_mtu = false,
       have_domain = false, have_lease = false, have_t1 = false, have_t2 = false,
       have_expires = false, header = false;
  uint32_t lease = 0, t1 = 0, t2 = 0;
  int64_t expires = 0;

  while (!text.empty()) {
    const size_t nl = text.find('\n');
    // Every line, the last included, ends with '\n': a file cut short is refused.
    if (nl == std::string_view::npos) return std::nullopt;
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (!header) {
      if (line != kDhcp4LeaseFileHeader) return std::nullopt;
      header = true;
      continue;
    }
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0) return std::nullopt;
    const std::string_view key = line.substr(0, sp);
    const std::string_view value = line.substr(sp + 1);
    if (value.empty() || value.find_first_of(" \t\r") != std::string_view::npos) {
      return std::nullopt;
    }
    auto once = [](bool* seen) {
      if (*seen) return false;
      *seen = true;
      return true;
    };
    if (key == "address") {
      auto a = Ip4Interface::Parse(value);
      if (!once(&have_address) || !a || !IsUsableUnicast(a->address())) return std::nullopt;
      l.address = *a;
    } else if (key == "server") {
      auto a = Ip4Address::Parse(value);
      if (!once(&have_server) || !a || !IsUsableUnicast(*a)) return std::nullopt;
      l.server_id = *a;
    } else if (key == "router") {
      auto a = Ip4Address::Parse(value);
      if (!once(&have_router) || !a || !IsUsableUnicast(*a)) return std::nullopt;
      l.router = *a;
    } else if (key == "dns") {
      auto a = Ip4Address::Parse(value);
      if (!a || !IsUsableUnicast(*a) || l.dns.size() >= kDhcp4LeaseFileMaxDns) {
        return std::nullopt;
      }
      l.dns.push_back(*a);
    } else if (key == "mtu") {
      uint16_t mtu = 0;
      if (!once(&have_mtu) || !ParseDecimal<uint16_t>(value, 68, 65535, &mtu)) {
        return std::nullopt;
      }
      l.mtu = mtu;
    } else if (key == "domain") {
      if (!once(&have_domain) || CleanDomainName(value) != value) return std::nullopt;
      l.domain = std::string(value);
    } else if (key == "lease") {
      if (!once(&have_lease) || !ParseDecimal<uint32_t>(value, 1, kDhcp4InfiniteLease, &lease)) {
        return std::nullopt;
      }
    } else if (key == "t1") {
      if (!once(&have_t1) || !ParseDecimal<uint32_t>(value, 0, kDhcp4InfiniteLease, &t1)) {
        return std::nullopt;
      }
    } else if (key == "t2") {
      if (!once(&have_t2) || !ParseDecimal<uint32_t>(value, 0, kDhcp4InfiniteLease, &t2)) {
        return std::nullopt;
      }
    } else if (key == "expires") {
      if (!once(&have_expires) ||
          !ParseDecimal<int64_t>(value, 0, std::numeric_limits<int64_t>::max(), &expires)) {
        return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }
  if (!header || !have_address || !have_server || !have_lease || !have_t1 || !have_t2 ||
      !have_expires) {
    return std::nullopt;
  }
  if (t1 > t2 || t2 > lease) return std::nullopt;
  l.lease_time = std::chrono::seconds(lease);
  l.t1 = std::chrono::seconds(t1);
  l.t2 = std::chrono::seconds(t2);
  return std::make_pair(std::move(l), expires);
}

}  // namespace pytcp
