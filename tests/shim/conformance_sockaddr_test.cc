// Conformance (issue 19 item 11): socket addresses and buffer sizes at the system-call
// boundary, as the kernel checks them. A sockaddr_in6 of RFC 2133's size (24 bytes, no
// sin6_scope_id) is accepted (inet6_bind, ip6_datagram_connect: SIN6_LEN_RFC2133); no
// byte past the given length is read (the address is put at the very end of a readable
// page, the next one inaccessible); move_addr_to_kernel refuses a length above
// sizeof(sockaddr_storage) or below zero, while sendmsg clamps msg_namelen and takes a
// zero one as "no address" (__copy_msghdr). SO_RCVBUF/SO_SNDBUF are clamped to
// net.core.rmem_max/wmem_max, doubled, and never overflow (sock_setsockopt).
#include <sys/mman.h>
#include <sys/uio.h>

#include <climits>
#include <cstring>
#include <fstream>

#include "tests/shim/conformance.h"

namespace {

using namespace conformance;  // NOLINT: the suite's own helpers

// One datagram's size, waiting at most 3 s for it (-1 if none came).
ssize_t RecvWithin(int fd) {
  char buf[64];
  if ((PollOnce(fd, POLLIN, 3000) & POLLIN) == 0) return -1;
  return recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
}

// Two pages, the second inaccessible; At(n) is the address n bytes before the boundary.
class GuardedPage {
 public:
  GuardedPage() {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* m = mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = m == MAP_FAILED ? nullptr : static_cast<char*>(m);
    if (base_ != nullptr) mprotect(base_ + page_, page_, PROT_NONE);
  }
  ~GuardedPage() {
    if (base_ != nullptr) munmap(base_, 2 * page_);
  }
  GuardedPage(const GuardedPage&) = delete;
  GuardedPage& operator=(const GuardedPage&) = delete;
  template <typename T>
  T* At(size_t n) {
    return reinterpret_cast<T*>(base_ + page_ - n);
  }
  bool ok() const { return base_ != nullptr; }

 private:
  size_t page_ = 0;
  char* base_ = nullptr;
};

// A sockaddr_in6 with the first 24 bytes of `a` written just before the guard page.
const sockaddr* Rfc2133(GuardedPage& g, const sockaddr_in6& a) {
  auto* at = g.At<char>(24);
  std::memcpy(at, &a, 24);
  return reinterpret_cast<const sockaddr*>(at);
}

// This side's IPv4 address, v4-mapped (the lab's IPv6 may be off on this side).
sockaddr_in6 Mapped6(uint16_t port_be) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = port_be;
  const sockaddr_in v4 = Addr(LocalIp(), 0);
  a.sin6_addr.s6_addr[10] = 0xff;
  a.sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(&a.sin6_addr.s6_addr[12], &v4.sin_addr, 4);
  return a;
}

TEST(SockaddrLength, Rfc2133Sockaddr6IsAcceptedAndNotReadPast) {
  GuardedPage g;
  ASSERT_TRUE(g.ok());
  Fd s(socket(AF_INET6, SOCK_DGRAM, 0));
  ASSERT_GE(s.get(), 0);
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_addr = in6addr_any;
  EXPECT_EQ(bind(s.get(), Rfc2133(g, any), 23), -1);
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(bind(s.get(), Rfc2133(g, any), 24), 0) << strerror(errno);
  sockaddr_in6 me{};
  socklen_t len = sizeof(me);
  ASSERT_EQ(getsockname(s.get(), reinterpret_cast<sockaddr*>(&me), &len), 0);
  EXPECT_EQ(len, sizeof(sockaddr_in6));
  EXPECT_NE(me.sin6_port, 0);
  // connect and sendto with 24 bytes as well.
  Fd t(socket(AF_INET6, SOCK_DGRAM, 0));
  const sockaddr_in6 to = Mapped6(me.sin6_port);
  ASSERT_EQ(sendto(t.get(), "a", 1, 0, Rfc2133(g, to), 24), 1) << strerror(errno);
  ASSERT_EQ(connect(t.get(), Rfc2133(g, to), 24), 0) << strerror(errno);
  ASSERT_EQ(send(t.get(), "b", 1, 0), 1);
  EXPECT_EQ(RecvWithin(s.get()), 1);
  EXPECT_EQ(RecvWithin(s.get()), 1);
}

TEST(SockaddrLength, Sockaddr4AtTheEndOfAPage) {
  GuardedPage g;
  ASSERT_TRUE(g.ok());
  Fd s(Udp());
  auto* at = g.At<sockaddr_in>(sizeof(sockaddr_in));
  *at = Addr(LocalIp(), 0);
  ASSERT_EQ(bind(s.get(), reinterpret_cast<sockaddr*>(at), sizeof(sockaddr_in)), 0);
  sockaddr_in me{};
  socklen_t len = sizeof(me);
  ASSERT_EQ(getsockname(s.get(), reinterpret_cast<sockaddr*>(&me), &len), 0);
  *at = me;
  Fd t(Udp());
  ASSERT_EQ(connect(t.get(), reinterpret_cast<sockaddr*>(at), sizeof(sockaddr_in)), 0);
  ASSERT_EQ(sendto(t.get(), "c", 1, 0, reinterpret_cast<sockaddr*>(at), sizeof(sockaddr_in)), 1);
}

TEST(SockaddrLength, TooLongOrNegativeIsEINVAL) {
  sockaddr_storage big[2]{};
  auto* a = reinterpret_cast<sockaddr_in*>(big);
  *a = Addr(LocalIp(), 0);
  Fd u(Udp());
  const socklen_t too_long = sizeof(sockaddr_storage) + 1;
  EXPECT_EQ(bind(u.get(), reinterpret_cast<sockaddr*>(big), too_long), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(bind(u.get(), reinterpret_cast<sockaddr*>(big), static_cast<socklen_t>(-1)), -1);
  EXPECT_EQ(errno, EINVAL);
  // The longest accepted length is sockaddr_storage's.
  ASSERT_EQ(bind(u.get(), reinterpret_cast<sockaddr*>(big), sizeof(sockaddr_storage)), 0);
  Fd t(Tcp());
  const sockaddr_in peer = Peer(kEcho);
  std::memcpy(big, &peer, sizeof(peer));
  EXPECT_EQ(connect(t.get(), reinterpret_cast<sockaddr*>(big), too_long), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(sendto(u.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(big), too_long), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST(SockaddrLength, SendmsgClampsAndIgnoresAZeroNameLength) {
  Fd s(Udp());
  sockaddr_in me = Addr(LocalIp(), 0);
  ASSERT_EQ(bind(s.get(), reinterpret_cast<sockaddr*>(&me), sizeof(me)), 0);
  socklen_t len = sizeof(me);
  ASSERT_EQ(getsockname(s.get(), reinterpret_cast<sockaddr*>(&me), &len), 0);
  Fd t(Udp());
  ASSERT_EQ(connect(t.get(), reinterpret_cast<sockaddr*>(&me), sizeof(me)), 0);
  sockaddr_storage name[2]{};
  std::memcpy(name, &me, sizeof(me));
  char byte = 'm';
  iovec iov{&byte, 1};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_name = name;
  m.msg_namelen = 0;  // a name pointer with no length: no address (the connected peer)
  EXPECT_EQ(sendmsg(t.get(), &m, 0), 1) << strerror(errno);
  m.msg_namelen = sizeof(sockaddr_storage) + 8;  // clamped, not refused
  EXPECT_EQ(sendmsg(t.get(), &m, 0), 1) << strerror(errno);
  EXPECT_EQ(RecvWithin(s.get()), 1);
  EXPECT_EQ(RecvWithin(s.get()), 1);
}

int Sysctl(const char* path) {
  std::ifstream f(path);
  int v = -1;
  f >> v;
  return v;
}

int GetInt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof(v);
  if (getsockopt(fd, level, name, &v, &len) != 0) return -1;
  return v;
}

TEST(BufferSizes, ClampedToTheSysctlMaximumAndDoubled) {
  const int rmem_max = Sysctl("/proc/sys/net/core/rmem_max");
  const int wmem_max = Sysctl("/proc/sys/net/core/wmem_max");
  ASSERT_GT(rmem_max, 0);
  ASSERT_GT(wmem_max, 0);
  for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
    Fd s(socket(AF_INET, type, 0));
    for (int v : {rmem_max + 1, INT_MAX, -1, -1000}) {
      ASSERT_EQ(setsockopt(s.get(), SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
      EXPECT_EQ(GetInt(s.get(), SOL_SOCKET, SO_RCVBUF), 2 * rmem_max) << v;
    }
    for (int v : {wmem_max + 1, INT_MAX, -1}) {
      ASSERT_EQ(setsockopt(s.get(), SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
      EXPECT_EQ(GetInt(s.get(), SOL_SOCKET, SO_SNDBUF), 2 * wmem_max) << v;
    }
    const int small = 1000;
    ASSERT_EQ(setsockopt(s.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    EXPECT_EQ(GetInt(s.get(), SOL_SOCKET, SO_RCVBUF), 2304);  // SOCK_MIN_RCVBUF
    const int zero = 0;
    ASSERT_EQ(setsockopt(s.get(), SOL_SOCKET, SO_SNDBUF, &zero, sizeof(zero)), 0);
    EXPECT_EQ(GetInt(s.get(), SOL_SOCKET, SO_SNDBUF), 4608);  // SOCK_MIN_SNDBUF
  }
}

TEST(BufferSizes, ForceVariantsIgnoreTheMaximumWithoutOverflow) {
  Fd s(Udp());
  // Root (the lab runs as root) has CAP_NET_ADMIN: no clamp to rmem_max, and INT_MAX is
  // halved first (val = min(val, INT_MAX / 2)) so that doubling cannot overflow.
  const int big = INT_MAX;
  ASSERT_EQ(setsockopt(s.get(), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)), 0);
  EXPECT_EQ(GetInt(s.get(), SOL_SOCKET, SO_RCVBUF), INT_MAX - 1);
  ASSERT_EQ(setsockopt(s.get(), SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)), 0);
  EXPECT_EQ(GetInt(s.get(), SOL_SOCKET, SO_SNDBUF), INT_MAX - 1);
  const int neg = -5;
  ASSERT_EQ(setsockopt(s.get(), SOL_SOCKET, SO_RCVBUFFORCE, &neg, sizeof(neg)), 0);
  EXPECT_EQ(GetInt(s.get(), SOL_SOCKET, SO_RCVBUF), 2304);
  const int v = 300000;
  ASSERT_EQ(setsockopt(s.get(), SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)), 0);
  EXPECT_EQ(GetInt(s.get(), SOL_SOCKET, SO_SNDBUF), 600000);
}

}  // namespace
