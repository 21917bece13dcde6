// Prints what glibc's (or the shim's) name functions return for each argument, one line a
// call, for names_lab_test.sh to compare natively and under the shim: return codes, h_errno
// (the _r out-parameter and, after a failure, the thread's: after a success its value is
// whatever the resolver's internal queries left, which glibc does not define), names,
// aliases and addresses in order.
//   an address: gethostbyaddr_r, gethostbyaddr, getnameinfo (0 and NI_NAMEREQD)
//   a name:     gethostbyname2_r (AF_INET, AF_INET6), gethostbyname, getaddrinfo
//               (AF_INET, AF_INET6, AF_UNSPEC; no AI_ADDRCONFIG, AI_CANONNAME)
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

std::string Hostent(const hostent* h) {
  if (h == nullptr) return "-";
  std::string s = h->h_name;
  for (char** a = h->h_aliases; *a != nullptr; ++a) s += std::string(" alias=") + *a;
  for (char** a = h->h_addr_list; *a != nullptr; ++a) {
    char text[INET6_ADDRSTRLEN];
    inet_ntop(h->h_addrtype, *a, text, sizeof(text));
    s += std::string(" addr=") + text;
  }
  return s;
}

void Address(const char* text) {
  unsigned char bytes[16];
  int af = AF_INET6;
  socklen_t len = 16;
  if (inet_pton(AF_INET, text, bytes) == 1) {
    af = AF_INET;
    len = 4;
  } else if (inet_pton(AF_INET6, text, bytes) != 1) {
    return;
  }
  hostent he{};
  hostent* r = nullptr;
  char buf[8192];
  int herr = -1;
  h_errno = -1;
  int rc = gethostbyaddr_r(bytes, len, af, &he, buf, sizeof(buf), &r, &herr);
  std::printf("gethostbyaddr_r %s: rc=%d h_errnop=%d h_errno=%d %s\n", text, rc, herr,
              r != nullptr ? 0 : h_errno, Hostent(r).c_str());
  h_errno = -1;
  hostent* h = gethostbyaddr(bytes, len, af);
  std::printf("gethostbyaddr %s: h_errno=%d %s\n", text, h != nullptr ? 0 : h_errno,
              Hostent(h).c_str());
  sockaddr_storage ss{};
  socklen_t sslen;
  if (af == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, bytes, 4);
    sslen = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    std::memcpy(&in6->sin6_addr, bytes, 16);
    sslen = sizeof(sockaddr_in6);
  }
  for (int flags : {0, NI_NAMEREQD}) {
    char host[NI_MAXHOST] = "-";
    rc = getnameinfo(reinterpret_cast<sockaddr*>(&ss), sslen, host, sizeof(host), nullptr, 0, flags);
    std::printf("getnameinfo %s flags=%d: rc=%d %s\n", text, flags, rc, rc == 0 ? host : "-");
  }
}

void Name(const char* name) {
  for (int af : {AF_INET, AF_INET6}) {
    hostent he{};
    hostent* r = nullptr;
    char buf[8192];
    int herr = -1;
    h_errno = -1;
    const int rc = gethostbyname2_r(name, af, &he, buf, sizeof(buf), &r, &herr);
    std::printf("gethostbyname2_r %s af=%d: rc=%d h_errnop=%d h_errno=%d %s\n", name, af, rc,
                herr, r != nullptr ? 0 : h_errno, Hostent(r).c_str());
  }
  h_errno = -1;
  hostent* h = gethostbyname(name);
  std::printf("gethostbyname %s: h_errno=%d %s\n", name, h != nullptr ? 0 : h_errno,
              Hostent(h).c_str());
  for (int af : {AF_INET, AF_INET6, AF_UNSPEC}) {
    addrinfo hints{};
    hints.ai_family = af;
    hints.ai_socktype = SOCK_STREAM;
    for (int flags : {0, AI_CANONNAME}) {
    hints.ai_flags = flags;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(name, "80", &hints, &res);
    std::string s;
    if (rc == 0) {
      s = res->ai_canonname != nullptr ? res->ai_canonname : "-";
      // AF_UNSPEC: the order is RFC 6724's with the host's source addresses; compare sets.
      std::string v4, v6;
      for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void* p = a->ai_family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
        inet_ntop(a->ai_family, p, text, sizeof(text));
        (a->ai_family == AF_INET ? v4 : v6) += std::string(" ") + text;
      }
      s += " v4:" + v4 + " v6:" + v6;
      freeaddrinfo(res);
    }
    std::printf("getaddrinfo %s af=%d flags=%d: rc=%d %s\n", name, af, flags, rc, s.c_str());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    unsigned char tmp[16];
    if (inet_pton(AF_INET, argv[i], tmp) == 1 || inet_pton(AF_INET6, argv[i], tmp) == 1) {
      Address(argv[i]);
    } else {
      Name(argv[i]);
    }
  }
  return 0;
}
