// Helpers shared by the conformance suite's files (conformance_test.cc and the files for
// one concern each beside it): addresses from the lab's environment, an fd closed at scope
// exit, TCP listeners and connected pairs. Plain POSIX: the same code runs natively and
// under the shim.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace conformance {

using Clock = std::chrono::steady_clock;

inline std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

inline sockaddr_in Addr(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET, ip.c_str(), &a.sin_addr), 1) << ip;
  return a;
}

inline sockaddr_in Peer(uint16_t port) { return Addr(Env("CONFORMANCE_PEER", "10.77.0.1"), port); }
inline std::string LocalIp() { return Env("CONFORMANCE_LOCAL", "10.77.0.2"); }

constexpr uint16_t kEcho = 7;
constexpr uint16_t kClosed = 9999;

inline std::string Ip(const sockaddr_in& a) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a.sin_addr, buf, sizeof(buf));
  return buf;
}

// An fd closed at scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  int get() const { return fd_; }
  int release() {
    const int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

inline int Udp(int flags = 0) { return socket(AF_INET, SOCK_DGRAM | flags, 0); }

constexpr uint16_t kChargen = 19;

inline int Tcp(int flags = 0) { return socket(AF_INET, SOCK_STREAM | flags, 0); }

inline int ConnectTo(const sockaddr_in& to, int flags = 0) {
  const int fd = Tcp(flags);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A listener on this side's address (ephemeral port); *at gets its address.
inline int Listener(sockaddr_in* at, int backlog = 16) {
  const int fd = Tcp();
  sockaddr_in a = Addr(LocalIp(), 0);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, backlog) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof(*at);
  getsockname(fd, reinterpret_cast<sockaddr*>(at), &len);
  return fd;
}

// A connected pair over this side's address: (client, server end).
struct Pair {
  Fd client, server;
};
inline void MakePair(Pair* p) {
  sockaddr_in at{};
  Fd l(Listener(&at));
  ASSERT_GE(l.get(), 0);
  p->client.reset(ConnectTo(at));
  ASSERT_GE(p->client.get(), 0);
  p->server.reset(accept(l.get(), nullptr, nullptr));
  ASSERT_GE(p->server.get(), 0);
}

inline bool ReadExactly(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = recv(fd, buf + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

inline short PollOnce(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, timeout_ms) == 1 ? p.revents : 0;
}

}  // namespace conformance
