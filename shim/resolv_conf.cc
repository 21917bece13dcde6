#include "shim/resolv_conf.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "shim/config_file.h"

namespace pytcp::shim {
namespace {

std::vector<std::string_view> Words(std::string_view line) {
  return SplitWords(line, " \t\r\f\v");
}

// "name:N" with N clamped to [lo, hi]; N is read as atoi reads it (res_init.c), so
// "ndots:x" is ndots:0. False when `word` is not that option.
bool NumericOption(std::string_view word, std::string_view name, int lo, int hi, int* out) {
  if (word.size() < name.size() + 1 || word.substr(0, name.size()) != name ||
      word[name.size()] != ':') {
    return false;
  }
  long v = 0;
  for (char c : word.substr(name.size() + 1)) {
    if (c < '0' || c > '9') break;
    v = std::min<long>(v * 10 + (c - '0'), 1000);
  }
  *out = static_cast<int>(std::clamp<long>(v, lo, hi));
  return true;
}

// "ADDR" or "ADDR%zone" (an IPv6 link-local server names its interface).
std::optional<DnsServer> ParseServer(std::string_view text) {
  std::string addr(text);
  uint32_t scope = 0;
  if (const size_t pct = addr.find('%'); pct != std::string::npos) {
    const std::string zone = addr.substr(pct + 1);
    addr.resize(pct);
    char* end = nullptr;
    const unsigned long n = std::strtoul(zone.c_str(), &end, 10);
    scope = !zone.empty() && *end == '\0' ? static_cast<uint32_t>(n) : if_nametoindex(zone.c_str());
  }
  in_addr a4{};
  if (inet_pton(AF_INET, addr.c_str(), &a4) == 1) {
    return DnsServer{IpAddress(Ip4Address(ntohl(a4.s_addr))), kDnsPort, 0};
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, addr.c_str(), &a6) == 1) {
    return DnsServer{IpAddress(Ip6Address::FromBytes(a6.s6_addr)), kDnsPort, scope};
  }
  return std::nullopt;
}

}  // namespace

void ApplyResolvOptions(std::string_view options, ResolvConf* conf) {
  for (std::string_view w : Words(options)) {
    // res_init.c: ndots is capped at RES_MAXNDOTS (15), timeout at RES_MAXRETRANS (30),
    // attempts at RES_MAXRETRY (5).
    if (NumericOption(w, "ndots", 0, 15, &conf->ndots)) continue;
    if (NumericOption(w, "timeout", 1, 30, &conf->timeout_s)) continue;
    if (NumericOption(w, "attempts", 1, 5, &conf->attempts)) continue;
    if (w == "rotate") conf->rotate = true;
    else if (w == "edns0") conf->edns0 = true;
    // Anything else: known to glibc but not used here, or unknown; ignored either way.
  }
}

ResolvConf ParseResolvConf(std::string_view text) {
  ResolvConf rc;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const auto f = Words(line);
    if (f.empty() || f[0][0] == '#' || f[0][0] == ';') continue;
    if (f[0] == "nameserver" && f.size() >= 2) {
      if (rc.nameservers.size() >= ResolvConf::kMaxNameservers) continue;
      if (auto s = ParseServer(f[1])) rc.nameservers.push_back(*s);
    } else if ((f[0] == "search" || f[0] == "domain") && f.size() >= 2) {
      rc.search.clear();  // the last of them wins
      for (size_t k = 1; k < f.size(); ++k) {
        if (f[k][0] == '#' || f[k][0] == ';') break;
        rc.search.emplace_back(f[k]);
        if (f[0] == "domain") break;  // one domain
      }
    } else if (f[0] == "options") {
      ApplyResolvOptions(line.substr(line.find("options") + 7), &rc);
    }
  }
  return rc;
}

ResolvConf ReadResolvConf(const char* path) {
  ResolvConf rc = ParseResolvConf(ReadConfigFile(path, 65536).value_or(""));
  if (const char* local = std::getenv("LOCALDOMAIN"); local != nullptr) {
    rc.search.clear();
    for (std::string_view w : Words(local)) rc.search.emplace_back(w);
  } else if (rc.search.empty()) {
    // res_init.c: without search or domain, the host name's domain.
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) == 0) {
      if (const char* dot = std::strchr(host, '.'); dot != nullptr && dot[1] != '\0') {
        rc.search.emplace_back(dot + 1);
      }
    }
  }
  if (const char* env = std::getenv("RES_OPTIONS"); env != nullptr) ApplyResolvOptions(env, &rc);
  return rc;
}

std::vector<std::string> SearchCandidates(std::string_view name, const ResolvConf& conf) {
  std::vector<std::string> out;
  if (name.empty()) return out;
  if (name.back() == '.') {
    out.emplace_back(name);
    return out;
  }
  const int dots = static_cast<int>(std::count(name.begin(), name.end(), '.'));
  const bool as_is_first = dots >= conf.ndots;
  if (as_is_first) out.emplace_back(name);
  for (const std::string& d : conf.search) out.push_back(std::string(name) + "." + d);
  if (!as_is_first) out.emplace_back(name);
  return out;
}

}  // namespace pytcp::shim
