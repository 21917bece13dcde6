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
#include "shim/nsswitch_conf.h"
#include "shim/resolv_conf.h"
#include "shim/reverse_name.h"
#include "shim/runtime.h"
#include "stack/ip6/ip6_address_policy.h"
#include "stack/stack.h"
#include "stack/stack_query.h"

namespace pytcp::shim {
namespace {

DnsClientOptions DnsOptions(const ResolvConf& rc) {
  DnsClientOptions o;
  o.attempts = rc.attempts;
  o.timeout_ms = rc.timeout_s * 1000;
  o.rotate = rc.rotate;
  o.edns_udp_size = rc.edns0 ? 1200 : 0;  // glibc's RESOLV_EDNS_BUFFER_SIZE
  int err = 0;
  pytcpd::HostInfo info;
  if (SharedStack() && DaemonHostInfo(&info)) {
    for (uint32_t i = 0; i < std::min<uint32_t>(info.dns4_count, 4); ++i) {
      o.servers.push_back(DnsServer{Ip4Address(info.dns4[i]), kDnsPort, 0});
    }
    for (uint32_t i = 0; i < std::min<uint32_t>(info.dns6_count, 4); ++i) {
      o.servers.push_back(DnsServer{Ip6Address::FromBytes(info.dns6[i]), kDnsPort, 0});
    }
  } else if (Stack* stack = AcquireStack(&err)) {
    for (Ip4Address a : stack->Dns4Servers()) o.servers.push_back(DnsServer{a, kDnsPort, 0});
    // RFC 8106: servers learned from router advertisements, after the IPv4 ones.
    for (const Ip6Address& a : stack->Dns6Servers()) {
      o.servers.push_back(DnsServer{a, kDnsPort, 0});
    }
  }
  if (o.servers.empty()) o.servers = rc.nameservers;
  // res_init.c: no nameserver line at all means the local host's.
  if (o.servers.empty()) o.servers.push_back(DnsServer{Ip4Address::Loopback(), kDnsPort, 0});
  return o;
}

// One query as glibc's res_query reports it: h_errno 0 with the result, or the failure.
struct DnsAnswer {
  int herrno = 0;
  // No answer came to the last query (silence, ICMP refusal, or every server SERVFAIL,
  // REFUSED or NOTIMP): glibc's res_send then fails with ETIMEDOUT or ECONNREFUSED, which
  // nss_dns reports as UNAVAIL rather than NOTFOUND.
  bool unavailable = false;
  bool servfail = false;  // the failure came from SERVFAIL answers (search goes on)
  DnsResult result;
};

DnsAnswer Query(std::string_view name, DnsType type, const DnsClientOptions& options) {
  DnsAnswer a;
  a.result = DnsResolve(name, type, options);
  switch (a.result.status) {
    case DnsStatus::kOk: break;
    case DnsStatus::kNoData: a.herrno = NO_DATA; break;
    case DnsStatus::kNxDomain:
    case DnsStatus::kBadName: a.herrno = HOST_NOT_FOUND; break;
    case DnsStatus::kNoRecovery: a.herrno = NO_RECOVERY; break;
    default:  // no answer in time, every server failed or refused
      a.herrno = TRY_AGAIN;
      a.unavailable = true;
      a.servfail = a.result.servfail;
      break;
  }
  return a;
}

// glibc's res_nsearch over SearchCandidates: the first candidate with records wins. On
// failure h_errno is the as-is query's when it went first, else NO_DATA if any candidate
// had it, else TRY_AGAIN if any failed with SERVFAIL, else the last query's; a failure
// other than "no such name", "no data" or SERVFAIL ends the search list early.
DnsAnswer Search(std::string_view name, DnsType type, const ResolvConf& rc,
                 const DnsClientOptions& options) {
  const std::vector<std::string> candidates = SearchCandidates(name, rc);
  if (candidates.empty()) {
    DnsAnswer a;
    a.herrno = HOST_NOT_FOUND;
    return a;
  }
  const bool absolute = name.back() == '.';
  const bool as_is_first = candidates.front() == name;
  int saved_herrno = -1;
  bool got_nodata = false;
  bool got_servfail = false;
  bool done = false;
  DnsAnswer last;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const bool as_is = as_is_first ? i == 0 : i + 1 == candidates.size();
    if (done && !as_is) continue;  // after an ending failure only the as-is query is left
    last = Query(candidates[i], type, options);
    if (last.herrno == 0) return last;
    if (as_is && as_is_first) {
      if (absolute) return last;
      saved_herrno = last.herrno;
      continue;
    }
    if (as_is) continue;
    switch (last.herrno) {
      case NO_DATA: got_nodata = true; break;
      case HOST_NOT_FOUND: break;
      case TRY_AGAIN:
        if (last.servfail) {
          got_servfail = true;
          break;
        }
        done = true;
        break;
      default: done = true; break;
    }
  }
  if (saved_herrno != -1) {
    last.herrno = saved_herrno;
  } else if (got_nodata) {
    last.herrno = NO_DATA;
  } else if (got_servfail) {
    last.herrno = TRY_AGAIN;
  }
  return last;
}

// What one source made of a lookup: its h_errno (0: found) and whether it could ask at all.
struct SourceOutcome {
  int herrno = 0;
  bool unavailable = false;
};
SourceOutcome Outcome(const DnsAnswer& a) { return {a.herrno, a.unavailable}; }

// nss_dns's status for a lookup: a failure without an answer to the last query is
// UNAVAIL, an answer that says no is NOTFOUND. (glibc: with "search lab", a REFUSED
// "example.com" followed by an NXDOMAIN "example.com.lab" is NOTFOUND with h_errno
// TRY_AGAIN, and getaddrinfo says EAI_NONAME; without the search list, UNAVAIL and
// EAI_AGAIN. Checked against glibc 2.36 in the lab.)
NssStatus StatusFor(const SourceOutcome& o) {
  if (o.herrno == 0) return NssStatus::kSuccess;
  return o.unavailable ? NssStatus::kUnavail : NssStatus::kNotFound;
}

// Runs the hosts line's sources: `source` answers for files and dns; others are skipped
// as an unloadable module is (UNAVAIL). Returns the outcome of the last source asked; with
// none asked, NO_RECOVERY (glibc: "no service could be used").
template <typename F>
SourceOutcome RunSources(F&& source) {
  SourceOutcome last{NO_RECOVERY, true};
  for (const NssStep& step : ReadNsswitchHosts()) {
    if (step.source == NssSource::kOther) {
      if (step.ShouldReturn(NssStatus::kUnavail)) break;
      continue;
    }
    last = source(step.source);
    if (step.ShouldReturn(StatusFor(last))) break;
  }
  return last;
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
  } else if (family == AF_INET6) {
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
    r.herrno = HOST_NOT_FOUND;
    return r;
  }
  const bool want4 = family != AF_INET6;
  const bool want6 = family != AF_INET;
  NameResult found;
  const SourceOutcome outcome = RunSources([&](NssSource source) -> SourceOutcome {
    if (source == NssSource::kFiles) {
      // AF_UNSPEC as glibc's files gethostbyname4_r: the lines of either family.
      const auto hosts = ReadHosts();
      std::optional<HostsMatch> m4 = want4 ? LookupHosts(hosts, name, false) : std::nullopt;
      std::optional<HostsMatch> m6 = want6 ? LookupHosts(hosts, name, true) : std::nullopt;
      if (!m4 && !m6) return {HOST_NOT_FOUND, false};
      const HostsMatch& first = m6 && (!m4 || family == AF_INET6) ? *m6 : *m4;
      found.canonical = first.canonical;
      found.aliases = first.aliases;
      for (const auto* m : {m6 ? &*m6 : nullptr, m4 ? &*m4 : nullptr}) {
        if (m == nullptr) continue;
        for (const auto& e : m->entries) {
          if (e.v6) {
            found.v6.push_back(e.a6);
          } else {
            found.v4.push_back(e.a4);
          }
        }
      }
      return {};
    }
    const ResolvConf rc = ReadResolvConf();
    const DnsClientOptions options = DnsOptions(rc);
    DnsAnswer a4, a6;
    if (want4) a4 = Search(name, DnsType::kA, rc, options);
    if (want6) a6 = Search(name, DnsType::kAaaa, rc, options);
    if ((want4 && a4.herrno == 0) || (want6 && a6.herrno == 0)) {
      const DnsAnswer& first = want4 && a4.herrno == 0 ? a4 : a6;
      found.canonical = first.result.canonical;
      found.aliases = first.result.aliases;
      if (want4) found.v4 = a4.result.a;
      if (want6) found.v6 = a6.result.aaaa;
      return {};
    }
    if (!want6) return Outcome(a4);
    if (!want4) return Outcome(a6);
    // Both asked, neither answered: glibc's nss_dns gethostbyname4_r reports TRY_AGAIN only
    // when both did, and "the name exists" (NO_DATA) over "it does not".
    if (a4.herrno == TRY_AGAIN && a6.herrno == TRY_AGAIN) {
      return {TRY_AGAIN, a4.unavailable && a6.unavailable};
    }
    if (a4.herrno == NO_DATA || a6.herrno == NO_DATA) return {NO_DATA, false};
    return a4.herrno != TRY_AGAIN ? Outcome(a4) : Outcome(a6);
  });
  if (outcome.herrno == 0) return found;
  r.herrno = outcome.herrno;
  r.unavailable = outcome.unavailable;
  r.error = EaiFor(outcome.herrno, outcome.unavailable, /*by_gethostbyname2=*/false);
  return r;
}

int EaiFor(int herrno, bool unavailable, bool by_gethostbyname2) {
  if (herrno == 0) return 0;
  if (herrno == NO_DATA) return EAI_NODATA;
  if (herrno == TRY_AGAIN && (unavailable || !by_gethostbyname2)) return EAI_AGAIN;
  return EAI_NONAME;  // HOST_NOT_FOUND, NO_RECOVERY, TRY_AGAIN with an answer at the end
}

AddressResult LookupAddress(bool v6, const Ip4Address& a4, const Ip6Address& a6) {
  AddressResult out;
  // nss_dns: an IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible (::a.b.c.d, not ::1 or ::)
  // address is asked for as the IPv4 address.
  bool q6 = v6;
  Ip4Address q4 = a4;
  if (v6) {
    const auto& b = a6.bytes();
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static constexpr uint8_t kZero[12] = {};
    const bool mapped = std::memcmp(b.data(), kMapped, 12) == 0;
    const bool compat = std::memcmp(b.data(), kZero, 12) == 0 &&
                        !(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1);
    if (mapped || compat) {
      q6 = false;
      q4 = Ip4Address::FromBytes(b.data() + 12);
    }
  }
  const SourceOutcome outcome = RunSources([&](NssSource source) -> SourceOutcome {
    if (source == NssSource::kFiles) {
      const auto hosts = ReadHosts();
      const HostsEntry* e = LookupHostsAddress(hosts, v6, a4, a6);
      if (e == nullptr) return {HOST_NOT_FOUND, false};
      out.name = e->canonical;
      out.aliases = e->aliases;
      return {};
    }
    const ResolvConf rc = ReadResolvConf();
    // res_query, not res_search: a reverse name is absolute.
    const DnsAnswer a = Query(q6 ? ReverseName(a6) : ReverseName(q4), DnsType::kPtr,
                              DnsOptions(rc));
    if (a.herrno == 0) {
      out.name = a.result.names.front();
      out.aliases.clear();
    }
    // glibc's _nss_dns_gethostbyaddr2_r tests errno for ECONNREFUSED after restoring the
    // caller's errno, so a failed PTR query is NOTFOUND, never UNAVAIL (checked against
    // glibc 2.36: gethostbyaddr_r returns 0 with TRY_AGAIN when the server refuses).
    return SourceOutcome{a.herrno, false};
  });
  out.herrno = outcome.herrno;
  out.unavailable = outcome.unavailable;
  return out;
}

bool StackHasIp6Address() {
  int err = 0;
  Stack* stack = AcquireStack(&err);
  if (stack == nullptr) return false;
  // glibc's __check_pf: any IPv6 address but ::1 counts, link-local and tentative ones
  // included (the kernel lists those too).
  for (const auto& e : StackQuery(*stack).Addresses().ip6) {
    if (e.state != Ip6AddressState::kDuplicated && !e.address().is_loopback()) return true;
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
  const StackQuery query(*stack);
  const std::vector<Ip6AddressEntry> ip6 = query.Addresses().ip6;
  for (const IpAddress& d : destinations) {
    DestinationCandidate c;
    c.destination = d;
    auto src = query.SourceAddressFor(d);
    if (src.ok() && !src->is_unspecified()) {
      c.source = *src;
      if (!src->is_v4()) {
        auto e = std::find_if(ip6.begin(), ip6.end(),
                              [&](const Ip6AddressEntry& x) { return x.address() == src->v6(); });
        if (e != ip6.end()) {
          c.source_deprecated = e->state == Ip6AddressState::kDeprecated;
          c.source_prefix_length = e->ifaddr.prefix_length();
        }
      }
    }
    candidates.push_back(c);
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
