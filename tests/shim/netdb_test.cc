// getaddrinfo & co. on inputs that need no network (numbers, /etc/hosts's localhost,
// /etc/services), written against glibc's behaviour and run twice (tests/shim/meson.build):
// natively, where glibc answers, and under LD_PRELOAD=libpytcp.so, where the shim does
// (netdb_calls.cc). Both runs must pass.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace {

struct Entry {
  int family, socktype, protocol;
  std::string addr;
  int port;
  std::string canon;
  bool operator==(const Entry&) const = default;
};

void PrintTo(const Entry& e, std::ostream* os) {
  *os << "{" << e.family << "," << e.socktype << "," << e.protocol << "," << e.addr << ":"
      << e.port << "," << e.canon << "}";
}

// getaddrinfo as a list (or the EAI_ code in *error).
std::vector<Entry> Gai(const char* node, const char* service, int family, int socktype,
                       int protocol, int flags, int* error) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = socktype;
  hints.ai_protocol = protocol;
  hints.ai_flags = flags;
  addrinfo* res = nullptr;
  *error = getaddrinfo(node, service, &hints, &res);
  std::vector<Entry> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    Entry e{ai->ai_family, ai->ai_socktype, ai->ai_protocol, "", 0,
            ai->ai_canonname != nullptr ? ai->ai_canonname : ""};
    char text[INET6_ADDRSTRLEN];
    if (ai->ai_family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
      EXPECT_EQ(ai->ai_addrlen, sizeof(sockaddr_in));
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
      e.port = ntohs(in->sin_port);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
      EXPECT_EQ(ai->ai_addrlen, sizeof(sockaddr_in6));
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
      e.port = ntohs(in6->sin6_port);
    }
    e.addr = text;
    out.push_back(e);
  }
  if (res != nullptr) freeaddrinfo(res);
  return out;
}

TEST(GetAddrInfo, NumericV4AllSocketTypes) {
  int err = -1;
  auto r = Gai("10.77.0.1", nullptr, AF_INET, 0, 0, 0, &err);
  ASSERT_EQ(err, 0);
  const std::vector<Entry> want = {{AF_INET, SOCK_STREAM, IPPROTO_TCP, "10.77.0.1", 0, ""},
                                   {AF_INET, SOCK_DGRAM, IPPROTO_UDP, "10.77.0.1", 0, ""},
                                   {AF_INET, SOCK_RAW, 0, "10.77.0.1", 0, ""}};
  EXPECT_EQ(r, want);
}

TEST(GetAddrInfo, NumericWithPortAndSocktype) {
  int err = -1;
  auto r = Gai("10.77.0.1", "8080", AF_INET, 0, 0, 0, &err);
  ASSERT_EQ(err, 0);
  // A port number keeps the raw entry; a service name would not.
  const std::vector<Entry> want = {{AF_INET, SOCK_STREAM, IPPROTO_TCP, "10.77.0.1", 8080, ""},
                                   {AF_INET, SOCK_DGRAM, IPPROTO_UDP, "10.77.0.1", 8080, ""},
                                   {AF_INET, SOCK_RAW, 0, "10.77.0.1", 8080, ""}};
  EXPECT_EQ(r, want);
  r = Gai("10.77.0.1", "53", AF_UNSPEC, SOCK_DGRAM, 0, AI_NUMERICHOST | AI_NUMERICSERV, &err);
  ASSERT_EQ(err, 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], (Entry{AF_INET, SOCK_DGRAM, IPPROTO_UDP, "10.77.0.1", 53, ""}));
  r = Gai("10.77.0.1", "80", AF_INET, SOCK_STREAM, IPPROTO_TCP, AI_CANONNAME, &err);
  ASSERT_EQ(err, 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].canon, "10.77.0.1");
}

TEST(GetAddrInfo, InetAtonForms) {
  int err = -1;
  auto r = Gai("127.1", "1", AF_INET, SOCK_STREAM, 0, 0, &err);
  ASSERT_EQ(err, 0);
  EXPECT_EQ(r[0].addr, "127.0.0.1");
  r = Gai("0x0a.0.0.1", "1", AF_INET, SOCK_STREAM, 0, 0, &err);
  ASSERT_EQ(err, 0);
  EXPECT_EQ(r[0].addr, "10.0.0.1");
}

TEST(GetAddrInfo, ServiceNames) {
  int err = -1;
  auto r = Gai("10.0.0.1", "http", AF_INET, SOCK_STREAM, 0, 0, &err);
  ASSERT_EQ(err, 0);
  EXPECT_EQ(r[0].port, 80);
  r = Gai("10.0.0.1", "domain", AF_INET, 0, 0, 0, &err);
  ASSERT_EQ(err, 0);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].port, 53);
  EXPECT_EQ(r[1].port, 53);
  Gai("10.0.0.1", "no-such-service", AF_INET, 0, 0, 0, &err);
  EXPECT_EQ(err, EAI_SERVICE);
  Gai("10.0.0.1", "http", AF_INET, 0, 0, AI_NUMERICSERV, &err);
  EXPECT_EQ(err, EAI_NONAME);
}

TEST(GetAddrInfo, NullNode) {
  int err = -1;
  auto r = Gai(nullptr, "7000", AF_INET, SOCK_STREAM, 0, AI_PASSIVE, &err);
  ASSERT_EQ(err, 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].addr, "0.0.0.0");
  r = Gai(nullptr, "7000", AF_INET, SOCK_STREAM, 0, 0, &err);
  ASSERT_EQ(err, 0);
  EXPECT_EQ(r[0].addr, "127.0.0.1");
  r = Gai(nullptr, "7000", AF_INET6, SOCK_STREAM, 0, AI_PASSIVE, &err);
  ASSERT_EQ(err, 0);
  EXPECT_EQ(r[0].addr, "::");
  Gai(nullptr, nullptr, AF_INET, 0, 0, 0, &err);
  EXPECT_EQ(err, EAI_NONAME);
}

TEST(GetAddrInfo, Errors) {
  int err = -1;
  Gai("10.0.0.1", nullptr, AF_INET, 0, 0, 0x10000, &err);
  EXPECT_EQ(err, EAI_BADFLAGS);
  Gai(nullptr, "80", AF_INET, 0, 0, AI_CANONNAME, &err);
  EXPECT_EQ(err, EAI_BADFLAGS);
  Gai("10.0.0.1", nullptr, AF_APPLETALK, 0, 0, 0, &err);
  EXPECT_EQ(err, EAI_FAMILY);
  Gai("10.0.0.1", "80", AF_INET, SOCK_SEQPACKET + 100, 0, 0, &err);
  EXPECT_EQ(err, EAI_SOCKTYPE);
  Gai("not-a-number.example", nullptr, AF_INET, 0, 0, AI_NUMERICHOST, &err);
  EXPECT_EQ(err, EAI_NONAME);
}

TEST(GetAddrInfo, Ipv6Literals) {
  int err = -1;
  auto r = Gai("::1", "22", AF_UNSPEC, SOCK_STREAM, 0, 0, &err);
  ASSERT_EQ(err, 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], (Entry{AF_INET6, SOCK_STREAM, IPPROTO_TCP, "::1", 22, ""}));
  r = Gai("10.1.2.3", "22", AF_INET6, SOCK_STREAM, 0, AI_V4MAPPED, &err);
  ASSERT_EQ(err, 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].addr, "::ffff:10.1.2.3");
  Gai("10.1.2.3", "22", AF_INET6, SOCK_STREAM, 0, 0, &err);
  EXPECT_EQ(err, EAI_ADDRFAMILY);
  Gai("::1", "22", AF_INET, SOCK_STREAM, 0, 0, &err);
  EXPECT_EQ(err, EAI_ADDRFAMILY);
}

TEST(GetAddrInfo, LocalhostFromTheHostsFile) {
  int err = -1;
  auto r = Gai("localhost", "80", AF_INET, SOCK_STREAM, 0, AI_CANONNAME, &err);
  ASSERT_EQ(err, 0);
  ASSERT_GE(r.size(), 1u);
  EXPECT_EQ(r[0].addr, "127.0.0.1");
  EXPECT_EQ(r[0].canon, "localhost");
  r = Gai("LocalHost", "80", AF_INET, SOCK_STREAM, 0, 0, &err);
  ASSERT_EQ(err, 0);
  EXPECT_EQ(r[0].addr, "127.0.0.1");
}

TEST(GetNameInfo, NumericAndNames) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(80);
  inet_pton(AF_INET, "10.9.8.7", &in.sin_addr);
  char host[64], serv[32];
  ASSERT_EQ(getnameinfo(reinterpret_cast<sockaddr*>(&in), sizeof(in), host, sizeof(host), serv,
                        sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV),
            0);
  EXPECT_STREQ(host, "10.9.8.7");
  EXPECT_STREQ(serv, "80");
  ASSERT_EQ(getnameinfo(reinterpret_cast<sockaddr*>(&in), sizeof(in), nullptr, 0, serv,
                        sizeof(serv), 0),
            0);
  EXPECT_STREQ(serv, "http");
  inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
  ASSERT_EQ(getnameinfo(reinterpret_cast<sockaddr*>(&in), sizeof(in), host, sizeof(host), nullptr,
                        0, NI_NAMEREQD),
            0);
  EXPECT_STREQ(host, "localhost");
  char tiny[4];
  EXPECT_EQ(getnameinfo(reinterpret_cast<sockaddr*>(&in), sizeof(in), tiny, sizeof(tiny), nullptr,
                        0, NI_NUMERICHOST),
            EAI_OVERFLOW);
  EXPECT_EQ(getnameinfo(reinterpret_cast<sockaddr*>(&in), sizeof(in) - 1, host, sizeof(host),
                        nullptr, 0, NI_NUMERICHOST),
            EAI_FAMILY);
}

TEST(GetHostByName, NumericAndHostsFile) {
  hostent* h = gethostbyname("10.1.2.3");
  ASSERT_NE(h, nullptr);
  EXPECT_STREQ(h->h_name, "10.1.2.3");
  EXPECT_EQ(h->h_addrtype, AF_INET);
  EXPECT_EQ(h->h_length, 4);
  ASSERT_NE(h->h_addr_list[0], nullptr);
  EXPECT_EQ(std::memcmp(h->h_addr_list[0], "\x0a\x01\x02\x03", 4), 0);
  EXPECT_EQ(h->h_addr_list[1], nullptr);
  h = gethostbyname("localhost");
  ASSERT_NE(h, nullptr);
  EXPECT_STREQ(h->h_name, "localhost");
  hostent ret{};
  hostent* result = nullptr;
  int herr = 0;
  char small[8];
  EXPECT_EQ(gethostbyname_r("10.1.2.3", &ret, small, sizeof(small), &result, &herr), ERANGE);
  char buf[1024];
  ASSERT_EQ(gethostbyname_r("10.1.2.3", &ret, buf, sizeof(buf), &result, &herr), 0);
  EXPECT_EQ(result, &ret);
  const unsigned char lo[4] = {127, 0, 0, 1};
  h = gethostbyaddr(lo, 4, AF_INET);
  ASSERT_NE(h, nullptr);
  EXPECT_STREQ(h->h_name, "localhost");
}

}  // namespace
