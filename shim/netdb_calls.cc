// Name resolution: getaddrinfo, freeaddrinfo, getnameinfo, gethostbyname, gethostbyname2,
// gethostbyname_r, gethostbyname2_r, gethostbyaddr, gethostbyaddr_r, answered by the shim
// (name_lookup.h) with glibc's flags, error codes and result layout. gai_strerror is
// glibc's own: the codes are the same.
//
// getaddrinfo follows glibc (sysdeps/posix/getaddrinfo.c): flags and family are checked
// first (EAI_BADFLAGS, EAI_FAMILY, EAI_SOCKTYPE), the service is a number or an
// /etc/services name (EAI_SERVICE; EAI_NONAME with AI_NUMERICSERV), and every address
// comes once per socket type: (SOCK_STREAM, tcp), (SOCK_DGRAM, udp), and (SOCK_RAW, 0) unless
// the service is a name, restricted by ai_socktype and ai_protocol. A numeric address of
// the other family is EAI_ADDRFAMILY, except IPv4 for AF_INET6 with AI_V4MAPPED. A node of NULL is the
// wildcard address with AI_PASSIVE, else loopback. AI_CANONNAME puts the canonical name on
// the first entry. Each entry is one malloc block holding the addrinfo and its sockaddr,
// and ai_canonname a separate one, exactly as glibc lays them out, so either library's
// freeaddrinfo can free either's results.
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "shim/interpose.h"
#include "shim/name_lookup.h"

namespace pytcp::shim {
namespace {

struct Proto {
  int socktype;
  int protocol;
  const char* name;
  bool needs_no_service;  // SOCK_RAW: has no named services (a port number is fine)
};
constexpr Proto kProtos[] = {
    {SOCK_STREAM, IPPROTO_TCP, "tcp", false},
    {SOCK_DGRAM, IPPROTO_UDP, "udp", false},
    {SOCK_RAW, 0, "raw", true},
};

constexpr int kKnownFlags = AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_V4MAPPED | AI_ALL |
                            AI_ADDRCONFIG | AI_NUMERICSERV | AI_IDN | AI_CANONIDN;

struct Target {
  int socktype;
  int protocol;
  uint16_t port;
};

struct Address {
  int family;
  Ip4Address a4;
  Ip6Address a6;
  uint32_t scope_id = 0;
};

// The (socktype, protocol, port) triples; 0 or an EAI_ error.
int Targets(const char* service, int socktype, int protocol, int flags, std::vector<Target>* out) {
  bool numeric = false;
  uint16_t port = 0;
  if (service != nullptr) {
    char* end = nullptr;
    const unsigned long n = std::strtoul(service, &end, 10);
    if (*service != '\0' && *end == '\0') {
      if (n > 65535) return EAI_SERVICE;
      numeric = true;
      port = static_cast<uint16_t>(n);
    } else if ((flags & AI_NUMERICSERV) != 0) {
      return EAI_NONAME;
    }
  }
  bool socktype_known = false;
  for (const Proto& p : kProtos) {
    if (socktype != 0 && p.socktype != socktype) continue;
    socktype_known = true;
    if (protocol != 0 && p.protocol != protocol && p.socktype != SOCK_RAW) continue;
    if (service != nullptr && !numeric && p.needs_no_service) continue;
    Target t{p.socktype, protocol != 0 ? protocol : p.protocol, port};
    if (service != nullptr && !numeric) {
      servent se{};
      servent* found = nullptr;
      char buf[1024];
      if (getservbyname_r(service, p.name, &se, buf, sizeof(buf), &found) != 0 || found == nullptr) {
        continue;
      }
      t.port = ntohs(static_cast<uint16_t>(found->s_port));
    }
    out->push_back(t);
  }
  if (!socktype_known) return EAI_SOCKTYPE;
  if (out->empty()) return service != nullptr ? EAI_SERVICE : EAI_SOCKTYPE;
  return 0;
}

// RFC 6724 §6 destination ordering of a name's answers (name_lookup.h).
void SortAddresses(std::vector<Address>* addrs) {
  std::vector<IpAddress> dsts;
  for (const Address& a : *addrs) dsts.push_back(a.family == AF_INET ? IpAddress(a.a4) : IpAddress(a.a6));
  const std::vector<size_t> order = DestinationOrder(dsts);
  std::vector<Address> sorted;
  for (size_t i : order) sorted.push_back((*addrs)[i]);
  *addrs = std::move(sorted);
}

// The addresses for `node` (NULL: wildcard or loopback); 0 or an EAI_ error.
int Addresses(const char* node, int family, int flags, std::vector<Address>* out,
              std::string* canonical) {
  if (node == nullptr) {
    const bool passive = (flags & AI_PASSIVE) != 0;
    if (family == AF_INET6) {
      out->push_back(Address{AF_INET6, {}, passive ? Ip6Address() : Ip6Address::Loopback()});
    } else {
      out->push_back(Address{AF_INET, passive ? Ip4Address() : Ip4Address::Loopback(), {}});
    }
    return 0;
  }
  const bool numeric_only = (flags & AI_NUMERICHOST) != 0;
  if (family == AF_UNSPEC) {
    // An IPv6 literal is what it is.
    uint32_t scope = 0;
    if (auto a6 = ParseNumeric6(node, &scope)) {
      out->push_back(Address{AF_INET6, {}, *a6, scope});
      *canonical = node;
      return 0;
    }
    // glibc asks for both families unless AI_ADDRCONFIG finds no IPv6 address here.
    if (!ParseNumeric4(node) && ((flags & AI_ADDRCONFIG) == 0 || StackHasIp6Address())) {
      // Both families in one lookup (glibc's gethostbyname4_r), sorted by RFC 6724 §6 as
      // glibc sorts them.
      NameResult r = LookupName(node, AF_UNSPEC, numeric_only);
      if (r.error != 0) return r.error;
      for (const Ip6Address& a : r.v6) out->push_back(Address{AF_INET6, {}, a, r.scope_id});
      for (Ip4Address a : r.v4) out->push_back(Address{AF_INET, a, {}});
      SortAddresses(out);
      *canonical = r.canonical;
      if (out->empty()) return EAI_NONAME;
      return 0;
    }
    family = AF_INET;
  }
  uint32_t scope6 = 0;
  if (family == AF_INET && ParseNumeric6(node, &scope6)) return EAI_ADDRFAMILY;
  if (family == AF_INET6) {
    if (auto a4 = ParseNumeric4(node)) {
      if ((flags & AI_V4MAPPED) == 0) return EAI_ADDRFAMILY;
      out->push_back(Address{AF_INET6, {}, IpAddress(*a4).v6()});
      *canonical = node;
      return 0;
    }
  }
  if (family == AF_INET) {
    NameResult r = LookupName(node, AF_INET, numeric_only);
    if (r.error != 0) {
      return EaiFor(r.herrno, r.unavailable, /*by_gethostbyname2=*/(flags & AI_CANONNAME) == 0);
    }
    for (Ip4Address a : r.v4) out->push_back(Address{AF_INET, a, {}});
    *canonical = r.canonical;
    return 0;
  }
  // AF_INET6, with IPv4-mapped answers under AI_V4MAPPED (all of them with AI_ALL).
  NameResult r6 = LookupName(node, AF_INET6, numeric_only);
  for (const Ip6Address& a : r6.v6) out->push_back(Address{AF_INET6, {}, a, r6.scope_id});
  SortAddresses(out);
  *canonical = r6.canonical;
  const bool mapped = (flags & AI_V4MAPPED) != 0;
  if (mapped && (out->empty() || (flags & AI_ALL) != 0)) {
    NameResult r4 = LookupName(node, AF_INET, numeric_only);
    for (Ip4Address a : r4.v4) {
      out->push_back(Address{AF_INET6, {}, IpAddress(a).v6()});
    }
    if (canonical->empty()) *canonical = r4.canonical;
    if (out->empty()) return r4.error != 0 ? r4.error : r6.error;
  }
  if (out->empty()) return r6.error != 0 ? r6.error : EAI_NONAME;
  return 0;
}

addrinfo* NewEntry(const Address& a, const Target& t) {
  const size_t salen = a.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  auto* ai = static_cast<addrinfo*>(std::calloc(1, sizeof(addrinfo) + salen));
  if (ai == nullptr) return nullptr;
  ai->ai_family = a.family;
  ai->ai_socktype = t.socktype;
  ai->ai_protocol = t.protocol;
  ai->ai_addrlen = static_cast<socklen_t>(salen);
  ai->ai_addr = reinterpret_cast<sockaddr*>(ai + 1);
  if (a.family == AF_INET) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(t.port);
    in.sin_addr.s_addr = htonl(a.a4.value());
    std::memcpy(ai->ai_addr, &in, sizeof(in));
  } else {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(t.port);
    std::memcpy(in6.sin6_addr.s6_addr, a.a6.bytes().data(), 16);
    in6.sin6_scope_id = a.scope_id;
    std::memcpy(ai->ai_addr, &in6, sizeof(in6));
  }
  return ai;
}

void FreeList(addrinfo* ai) {
  while (ai != nullptr) {
    addrinfo* next = ai->ai_next;
    std::free(ai->ai_canonname);
    std::free(ai);
    ai = next;
  }
}

int GetAddrInfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
  if (res == nullptr) return EAI_SYSTEM;
  *res = nullptr;
  const int flags = hints != nullptr ? hints->ai_flags : (AI_V4MAPPED | AI_ADDRCONFIG);
  const int family = hints != nullptr ? hints->ai_family : AF_UNSPEC;
  const int socktype = hints != nullptr ? hints->ai_socktype : 0;
  const int protocol = hints != nullptr ? hints->ai_protocol : 0;
  if ((flags & ~kKnownFlags) != 0) return EAI_BADFLAGS;
  if ((flags & AI_CANONNAME) != 0 && node == nullptr) return EAI_BADFLAGS;
  if (node == nullptr && service == nullptr) return EAI_NONAME;
  if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) return EAI_FAMILY;
  std::vector<Target> targets;
  if (const int e = Targets(service, socktype, protocol, flags, &targets); e != 0) return e;
  // AI_ADDRCONFIG: glibc answers EAI_NONAME when the family asked for is not configured
  // at all; for IPv6 that is an address beyond link-local on the stack.
  if ((flags & AI_ADDRCONFIG) != 0 && family == AF_INET6 && node != nullptr &&
      !StackHasIp6Address()) {
    return EAI_NONAME;
  }
  std::vector<Address> addresses;
  std::string canonical;
  if (const int e = Addresses(node, family, flags, &addresses, &canonical); e != 0) return e;
  addrinfo* head = nullptr;
  addrinfo** tail = &head;
  for (const Address& a : addresses) {
    for (const Target& t : targets) {
      addrinfo* ai = NewEntry(a, t);
      if (ai == nullptr) {
        FreeList(head);
        errno = ENOMEM;
        return EAI_MEMORY;
      }
      *tail = ai;
      tail = &ai->ai_next;
    }
  }
  if ((flags & AI_CANONNAME) != 0 && head != nullptr) {
    head->ai_canonname = strdup(canonical.empty() ? node : canonical.c_str());
    if (head->ai_canonname == nullptr) {
      FreeList(head);
      return EAI_MEMORY;
    }
  }
  *res = head;
  return 0;
}

// --- getnameinfo ---

int CopyOut(const std::string& s, char* out, socklen_t len) {
  if (s.size() + 1 > len) return EAI_OVERFLOW;
  std::memcpy(out, s.c_str(), s.size() + 1);
  return 0;
}

int GetNameInfo(const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen, char* serv,
                socklen_t servlen, int flags) {
  constexpr int kKnown = NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD | NI_DGRAM |
                         NI_IDN;
  if ((flags & ~kKnown) != 0) return EAI_BADFLAGS;
  if (sa == nullptr || salen < static_cast<socklen_t>(sizeof(sa_family_t))) return EAI_FAMILY;
  sa_family_t family;
  std::memcpy(&family, sa, sizeof(family));
  uint16_t port = 0;
  bool v6 = false;
  Ip4Address a4;
  Ip6Address a6;
  uint32_t scope = 0;
  if (family == AF_INET && salen >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof(in));
    port = ntohs(in.sin_port);
    a4 = Ip4Address(ntohl(in.sin_addr.s_addr));
  } else if (family == AF_INET6 && salen >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof(in6));
    port = ntohs(in6.sin6_port);
    a6 = Ip6Address::FromBytes(in6.sin6_addr.s6_addr);
    scope = in6.sin6_scope_id;
    v6 = true;
  } else {
    return EAI_FAMILY;
  }
  if (host == nullptr && serv == nullptr) return EAI_NONAME;
  if (host != nullptr && hostlen > 0) {
    std::optional<std::string> name;
    if ((flags & NI_NUMERICHOST) == 0) {
      AddressResult found = LookupAddress(v6, a4, a6);
      // glibc's gni_host_inet_name: a lookup that could not be made (TRY_AGAIN) is an
      // error of its own, not a reason to fall back to the number.
      if (found.herrno == TRY_AGAIN) {
        h_errno = TRY_AGAIN;
        return EAI_AGAIN;
      }
      if (found.herrno == 0) name = std::move(found.name);
    }
    if (!name) {
      if ((flags & NI_NAMEREQD) != 0) return EAI_NONAME;
      char text[INET6_ADDRSTRLEN + 16];
      if (v6) {
        inet_ntop(AF_INET6, a6.bytes().data(), text, sizeof(text));
        std::string s(text);
        // glibc: a link-local scope is shown as the interface's name when it has one
        // (ping prints fe80::1%tap7, as over the kernel).
        char ifname[IF_NAMESIZE];
        if (scope != 0 &&
            (a6.is_link_local() || (a6.is_multicast() && (a6.bytes()[1] & 0x0f) == 2)) &&
            if_indextoname(scope, ifname) != nullptr) {
          s += "%" + std::string(ifname);
        } else if (scope != 0) {
          s += "%" + std::to_string(scope);
        }
        name = s;
      } else {
        const uint32_t be = htonl(a4.value());
        inet_ntop(AF_INET, &be, text, sizeof(text));
        name = std::string(text);
      }
    } else if ((flags & NI_NOFQDN) != 0) {
      name = name->substr(0, name->find('.'));
    }
    if (const int e = CopyOut(*name, host, hostlen); e != 0) return e;
  }
  if (serv != nullptr && servlen > 0) {
    std::string s = std::to_string(port);
    if ((flags & NI_NUMERICSERV) == 0) {
      servent se{};
      servent* found = nullptr;
      char buf[1024];
      if (getservbyport_r(htons(port), (flags & NI_DGRAM) != 0 ? "udp" : "tcp", &se, buf,
                          sizeof(buf), &found) == 0 &&
          found != nullptr) {
        s = found->s_name;
      }
    }
    if (const int e = CopyOut(s, serv, servlen); e != 0) return e;
  }
  return 0;
}

// --- gethostbyname* / gethostbyaddr* ---

// Lays a hostent out in `buf` (glibc's layout: pointer arrays, then addresses, then
// strings). ERANGE when it does not fit.
int FillHostent(const std::string& name, const std::vector<std::string>& aliases, int family,
                const std::vector<std::vector<uint8_t>>& addrs, hostent* ret, char* buf,
                size_t buflen) {
  const size_t addr_len = family == AF_INET ? 4 : 16;
  size_t need = alignof(char*) + (aliases.size() + 1 + addrs.size() + 1) * sizeof(char*) +
                addrs.size() * addr_len + name.size() + 1;
  for (const auto& a : aliases) need += a.size() + 1;
  if (buf == nullptr || need > buflen) return ERANGE;
  char* p = buf;
  const size_t mis = reinterpret_cast<uintptr_t>(p) % alignof(char*);
  if (mis != 0) p += alignof(char*) - mis;
  auto** alias_ptrs = reinterpret_cast<char**>(p);
  p += (aliases.size() + 1) * sizeof(char*);
  auto** addr_ptrs = reinterpret_cast<char**>(p);
  p += (addrs.size() + 1) * sizeof(char*);
  for (size_t i = 0; i < addrs.size(); ++i) {
    std::memcpy(p, addrs[i].data(), addr_len);
    addr_ptrs[i] = p;
    p += addr_len;
  }
  addr_ptrs[addrs.size()] = nullptr;
  std::memcpy(p, name.c_str(), name.size() + 1);
  ret->h_name = p;
  p += name.size() + 1;
  for (size_t i = 0; i < aliases.size(); ++i) {
    std::memcpy(p, aliases[i].c_str(), aliases[i].size() + 1);
    alias_ptrs[i] = p;
    p += aliases[i].size() + 1;
  }
  alias_ptrs[aliases.size()] = nullptr;
  ret->h_aliases = alias_ptrs;
  ret->h_addrtype = family;
  ret->h_length = static_cast<int>(addr_len);
  ret->h_addr_list = addr_ptrs;
  return 0;
}

// The common part of the _r functions: 0 (found or not: *result says), or ERANGE/EINVAL.
int HostByName(const char* name, int af, hostent* ret, char* buf, size_t buflen,
               hostent** result, int* h_errnop) {
  *result = nullptr;
  if (af != AF_INET && af != AF_INET6) {
    if (h_errnop != nullptr) *h_errnop = NETDB_INTERNAL;
    return EAFNOSUPPORT;
  }
  if (name == nullptr) {
    if (h_errnop != nullptr) *h_errnop = HOST_NOT_FOUND;
    return 0;
  }
  NameResult r = LookupName(name, af, false);
  if (r.error != 0) {
    if (h_errnop != nullptr) *h_errnop = r.herrno;
    // glibc's resolver sets the thread's h_errno too (RES_SET_H_ERRNO), and programs read
    // it after the _r call (CPython's gethostbyaddr does).
    h_errno = r.herrno;
    // glibc's getXXbyYY_r: "not found" is a success with no result; a lookup that could
    // not be made is EAGAIN.
    return r.herrno == TRY_AGAIN && r.unavailable ? EAGAIN : 0;
  }
  std::vector<std::vector<uint8_t>> addrs;
  if (af == AF_INET) {
    for (Ip4Address a : r.v4) addrs.emplace_back(a.bytes().begin(), a.bytes().end());
  } else {
    for (const Ip6Address& a : r.v6) addrs.emplace_back(a.bytes().begin(), a.bytes().end());
  }
  if (const int e = FillHostent(r.canonical, r.aliases, af, addrs, ret, buf, buflen); e != 0) {
    if (h_errnop != nullptr) *h_errnop = NETDB_INTERNAL;
    return e;
  }
  if (h_errnop != nullptr) *h_errnop = NETDB_SUCCESS;  // as glibc's nss modules leave it
  *result = ret;
  return 0;
}

int HostByAddr(const void* addr, socklen_t len, int type, hostent* ret, char* buf, size_t buflen,
               hostent** result, int* h_errnop) {
  *result = nullptr;
  if (addr == nullptr || (type == AF_INET && len != 4) || (type == AF_INET6 && len != 16) ||
      (type != AF_INET && type != AF_INET6)) {
    if (h_errnop != nullptr) *h_errnop = NETDB_INTERNAL;
    return EINVAL;
  }
  const auto* bytes = static_cast<const uint8_t*>(addr);
  const bool v6 = type == AF_INET6;
  const Ip4Address a4 = v6 ? Ip4Address() : Ip4Address::FromBytes(bytes);
  const Ip6Address a6 = v6 ? Ip6Address::FromBytes(bytes) : Ip6Address();
  if (v6 && a6.is_unspecified()) {
    // glibc (gethstbyad_r.c): "::" has no name and asks no source.
    if (h_errnop != nullptr) *h_errnop = HOST_NOT_FOUND;
    return ENOENT;
  }
  AddressResult found = LookupAddress(v6, a4, a6);
  if (found.herrno != 0) {
    if (h_errnop != nullptr) *h_errnop = found.herrno;
    h_errno = found.herrno;  // as in HostByName
    return found.herrno == TRY_AGAIN && found.unavailable ? EAGAIN : 0;
  }
  std::vector<std::vector<uint8_t>> addrs{std::vector<uint8_t>(bytes, bytes + len)};
  if (const int e = FillHostent(found.name, found.aliases, type, addrs, ret, buf, buflen);
      e != 0) {
    if (h_errnop != nullptr) *h_errnop = NETDB_INTERNAL;
    return e;
  }
  if (h_errnop != nullptr) *h_errnop = NETDB_SUCCESS;
  *result = ret;
  return 0;
}

// The non-reentrant forms share one static result, as glibc's do.
struct StaticHost {
  hostent ent{};
  std::vector<char> buf = std::vector<char>(8192);
};
StaticHost& Static() {
  static StaticHost* s = new StaticHost();
  return *s;
}

template <typename F>
hostent* WithStaticBuffer(F&& fill) {
  StaticHost& s = Static();
  hostent* result = nullptr;
  int herr = 0;
  while (true) {
    const int e = fill(&s.ent, s.buf.data(), s.buf.size(), &result, &herr);
    if (e != ERANGE) break;
    s.buf.resize(s.buf.size() * 2);
  }
  h_errno = herr;
  return result;
}

}  // namespace
}  // namespace pytcp::shim

using namespace pytcp::shim;  // NOLINT: the interposed functions are C symbols

PYTCP_EXPORT int getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                             addrinfo** res) {
  return Guarded(EAI_MEMORY, [&] { return GetAddrInfo(node, service, hints, res); });
}

PYTCP_EXPORT void freeaddrinfo(addrinfo* ai) noexcept { FreeList(ai); }

PYTCP_EXPORT int getnameinfo(const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen,
                             char* serv, socklen_t servlen, int flags) {
  return Guarded(EAI_MEMORY,
                 [&] { return GetNameInfo(sa, salen, host, hostlen, serv, servlen, flags); });
}

PYTCP_EXPORT hostent* gethostbyname2(const char* name, int af) {
  return Guarded<hostent*>(nullptr, [&] {
    return WithStaticBuffer([&](hostent* ret, char* buf, size_t len, hostent** result, int* herr) {
      return HostByName(name, af, ret, buf, len, result, herr);
    });
  });
}

PYTCP_EXPORT hostent* gethostbyname(const char* name) { return gethostbyname2(name, AF_INET); }

PYTCP_EXPORT int gethostbyname2_r(const char* name, int af, hostent* ret, char* buf,
                                  size_t buflen, hostent** result, int* h_errnop) {
  return Guarded(ENOMEM,
                 [&] { return HostByName(name, af, ret, buf, buflen, result, h_errnop); });
}

PYTCP_EXPORT int gethostbyname_r(const char* name, hostent* ret, char* buf, size_t buflen,
                                 hostent** result, int* h_errnop) {
  return gethostbyname2_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

PYTCP_EXPORT hostent* gethostbyaddr(const void* addr, socklen_t len, int type) {
  return Guarded<hostent*>(nullptr, [&] {
    return WithStaticBuffer([&](hostent* ret, char* buf, size_t n, hostent** result, int* herr) {
      return HostByAddr(addr, len, type, ret, buf, n, result, herr);
    });
  });
}

PYTCP_EXPORT int gethostbyaddr_r(const void* addr, socklen_t len, int type, hostent* ret,
                                 char* buf, size_t buflen, hostent** result, int* h_errnop) {
  return Guarded(ENOMEM, [&] {
    return HostByAddr(addr, len, type, ret, buf, buflen, result, h_errnop);
  });
}
