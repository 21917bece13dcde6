#include "shim/name_lookup.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <unistd.h>

#include <cstdlib>
#include <algorithm>
#include <cstring>

#include "shim/dns_client.h"
#include "shim/daemon_channel.h"
#include "shim/hosts_file.h"
#include "shim/libc.h"
#include "shim/runtime.h"
#include "stack/ip6/ip6_address_policy.h"
#include "stack/stack.h"

namespace pytcp::shim {
namespace {

struct ResolvConf {
  std::vector<Ip4Address> nameservers;
  std::vector<std::string> search;
};

ResolvConf ReadResolvConf() {
  ResolvConf rc;
  const int fd = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return rc;
  std::string text;
  char buf[4096];
  ssize_t n;
  while (text.size() < 65536 && (n = libc().read(fd, buf, sizeof(buf))) > 0) {
    text.append(buf, static_cast<size_t>(n));
  }
  libc().close(fd);
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    std::vector<std::string_view> f;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
      if (j > i) f.push_back(line.substr(i, j - i));
      i = j;
    }
    if (f.empty() || f[0][0] == '#' || f[0][0] == ';') continue;
    if (f[0] == "nameserver" && f.size() >= 2) {
      if (auto a = Ip4Address::Parse(f[1])) rc.nameservers.push_back(*a);
    } else if ((f[0] == "search" || f[0] == "domain") && f.size() >= 2) {
      rc.search.clear();  // the last of them wins, as in glibc
      for (size_t k = 1; k < f.size(); ++k) rc.search.emplace_back(f[k]);
    }
  }
  return rc;
}

DnsClientOptions DnsOptions(const ResolvConf& rc) {
  DnsClientOptions o;
  int err = 0;
  pytcpd::HostInfo info;
  if (SharedStack() && DaemonHostInfo(&info)) {
    for (uint32_t i = 0; i < std::min<uint32_t>(info.dns4_count, 4); ++i) {
      o.servers.push_back(DnsServer{Ip4Address(info.dns4[i]), kDnsPort});
    }
    for (uint32_t i = 0; i < std::min<uint32_t>(info.dns6_count, 4); ++i) {
      o.servers.push_back(DnsServer{Ip6Address::FromBytes(info.dns6[i]), kDnsPort});
    }
  } else if (Stack* stack = AcquireStack(&err)) {
    for (Ip4Address a : stack->Dns4Servers()) o.servers.push_back(DnsServer{a, kDnsPort});
    // RFC 8106: servers learned from router advertisements, after the IPv4 ones.
    for (const Ip6Address& a : stack->Dns6Servers()) o.servers.push_back(DnsServer{a, kDnsPort});
  }
  if (o.servers.empty()) {
    for (Ip4Address a : rc.nameservers) o.servers.push_back(DnsServer{a, kDnsPort});
  }
  return o;
}

int ErrorFor(DnsStatus s) {
  switch (s) {
    case DnsStatus::kOk: return 0;
    case DnsStatus::kNoData: return EAI_NODATA;
    case DnsStatus::kNxDomain:
    case DnsStatus::kBadName: return EAI_NONAME;
    default: return EAI_AGAIN;
  }
}

NameResult FromDns(std::string_view name, int family) {
  NameResult r;
  const ResolvConf rc = ReadResolvConf();
  const DnsClientOptions options = DnsOptions(rc);
  std::vector<std::string> candidates;
  const bool absolute = !name.empty() && name.back() == '.';
  const bool dotted = name.find('.') != std::string_view::npos;
  if (absolute || dotted) candidates.emplace_back(name);
  if (!absolute) {
    for (const auto& d : rc.search) candidates.push_back(std::string(name) + "." + d);
  }
  if (!absolute && !dotted) candidates.emplace_back(name);
  const DnsType type = family == AF_INET6 ? DnsType::kAaaa : DnsType::kA;
  int error = EAI_NONAME;
  for (const auto& candidate : candidates) {
    const DnsResult d = DnsResolve(candidate, type, options);
    const int e = ErrorFor(d.status);
    if (e == 0) {
      r.canonical = d.canonical;
      r.v4 = d.a;
      r.v6 = d.aaaa;
      return r;
    }
    // A name that exists without addresses, or a failure to get any answer, says more
    // than "no such name" for another candidate.
    if (error == EAI_NONAME) error = e;
    if (e == EAI_AGAIN) break;
  }
  r.error = error;
  return r;
}

}  // namespace

std::optional<Ip4Address> ParseNumeric4(const char* text) {
  // inet_aton stops at the first blank; glibc's getaddrinfo wants the whole string.
  for (const char* p = text; *p != '\0'; ++p) {
    if (*p == ' ' || *p == '\t' || *p == '\n') return std::nullopt;
  }
  in_addr a{};
  if (inet_aton(text, &a) == 0) return std::nullopt;
  return Ip4Address(ntohl(a.s_addr));
}

std::optional<Ip6Address> ParseNumeric6(const char* text, uint32_t* scope_id) {
  std::string addr(text);
  *scope_id = 0;
  if (const size_t pct = addr.find('%'); pct != std::string::npos) {
    const std::string zone = addr.substr(pct + 1);
    addr.resize(pct);
    char* end = nullptr;
    const unsigned long n = std::strtoul(zone.c_str(), &end, 10);
    if (!zone.empty() && *end == '\0') {
      *scope_id = static_cast<uint32_t>(n);
    } else {
      *scope_id = if_nametoindex(zone.c_str());
      if (*scope_id == 0) return std::nullopt;
    }
  }
  in6_addr a{};
  if (inet_pton(AF_INET6, addr.c_str(), &a) != 1) return std::nullopt;
  return Ip6Address::FromBytes(a.s6_addr);
}

NameResult LookupName(const char* name, int family, bool numeric_only) {
  NameResult r;
  if (family == AF_INET) {
    if (auto a = ParseNumeric4(name)) {
      r.v4.push_back(*a);
      r.canonical = name;
      return r;
    }
  } else {
    uint32_t scope = 0;
    if (auto a = ParseNumeric6(name, &scope)) {
      r.v6.push_back(*a);
      r.scope_id = scope;
      r.canonical = name;
      return r;
    }
  }
  if (numeric_only) {
    r.error = EAI_NONAME;
    return r;
  }
  const auto hosts = ReadHosts();
  if (auto m = LookupHosts(hosts, name, family == AF_INET6)) {
    r.canonical = m->canonical;
    r.aliases = m->aliases;
    for (const auto& e : m->entries) {
      if (e.v6) {
        r.v6.push_back(e.a6);
      } else {
        r.v4.push_back(e.a4);
      }
    }
    return r;
  }
  return FromDns(name, family);
}

std::optional<std::string> LookupAddress(bool v6, const Ip4Address& a4, const Ip6Address& a6) {
  const auto hosts = ReadHosts();
  if (const HostsEntry* e = LookupHostsAddress(hosts, v6, a4, a6)) return e->canonical;
  return std::nullopt;
}

bool StackHasIp6Address() {
  int err = 0;
  Stack* stack = AcquireStack(&err);
  if (stack == nullptr) return false;
  std::lock_guard lock(stack->mutex());
  for (const auto& e : stack->ip6_addresses().entries()) {
    if (e.usable() && !e.address().is_link_local() && !e.address().is_loopback()) return true;
  }
  return false;
}

std::vector<size_t> DestinationOrder(const std::vector<IpAddress>& destinations) {
  std::vector<size_t> order(destinations.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (destinations.size() < 2) return order;
  int err = 0;
  Stack* stack = AcquireStack(&err);
  if (stack == nullptr) return order;
  std::vector<DestinationCandidate> candidates;
  {
    std::lock_guard lock(stack->mutex());
    for (const IpAddress& d : destinations) {
      DestinationCandidate c;
      c.destination = d;
      auto src = stack->udp().SourceFor(d, IpAddress());
      if (src.ok() && !src->is_unspecified()) {
        c.source = *src;
        if (!src->is_v4()) {
          if (const Ip6AddressEntry* e = stack->ip6_addresses().Find(src->v6())) {
            c.source_deprecated = e->state == Ip6AddressState::kDeprecated;
            c.source_prefix_length = e->ifaddr.prefix_length();
          }
        }
      }
      candidates.push_back(c);
    }
  }
  // Sort (candidate, index) pairs: the candidates' order is the answer's.
  std::vector<DestinationCandidate> sorted = candidates;
  SortDestinations(sorted);
  std::vector<bool> taken(destinations.size(), false);
  for (size_t k = 0; k < sorted.size(); ++k) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (!taken[i] && candidates[i].destination == sorted[k].destination) {
        order[k] = i;
        taken[i] = true;
        break;
      }
    }
  }
  return order;
}

}  // namespace pytcp::shim
