// Conformance (issue 19 item 7): ancillary data and IPv4 multicast as Linux has them.
// IP_PKTINFO on receive (ipi_addr, ipi_spec_dst, an interface index) and on send
// (ipi_spec_dst as the source; one that is not ours is EINVAL), IP_RECVTOS and IP_RECVTTL
// on a looped-back multicast, the membership options' errors (ip_mc_join_group,
// ip_mc_leave_group, ip_mc_source), IP_MULTICAST_TTL/LOOP/IF defaults and values, and a
// group's datagram looped back to the sender's own socket (IP_MULTICAST_LOOP), filtered by
// its source list, and RFC 3678's IP_MSFILTER (the whole filter set and read at once).
// Natively the far namespace's kernel runs it, under the shim PyTCP.
#include <sys/time.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "tests/shim/conformance.h"

namespace {

using namespace conformance;  // NOLINT: the suite's own helpers

constexpr uint16_t kUdpEcho = 7;

int GetInt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof(v);
  if (getsockopt(fd, level, name, &v, &len) != 0) return -errno;
  return v;
}
int SetInt(int fd, int level, int name, int v) {
  return setsockopt(fd, level, name, &v, sizeof(v)) == 0 ? 0 : -errno;
}
in_addr InAddr(const char* a) {
  in_addr x{};
  inet_pton(AF_INET, a, &x);
  return x;
}
int Membership(int fd, int name, const char* group, const char* iface = "0.0.0.0") {
  ip_mreq m{InAddr(group), InAddr(iface)};
  return setsockopt(fd, IPPROTO_IP, name, &m, sizeof(m)) == 0 ? 0 : -errno;
}
int SourceOp(int fd, int name, const char* group, const char* source) {
  ip_mreq_source m{};
  m.imr_multiaddr = InAddr(group);
  m.imr_sourceaddr = InAddr(source);
  return setsockopt(fd, IPPROTO_IP, name, &m, sizeof(m)) == 0 ? 0 : -errno;
}
void Timeout(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}
// A UDP socket bound to the wildcard on an ephemeral port; *port gets it.
int BoundUdp(uint16_t* port) {
  const int fd = Udp();
  sockaddr_in a = Addr("0.0.0.0", 0);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

struct Received {
  ssize_t n = -1;
  std::string data;
  sockaddr_in from{};
  bool has_pktinfo = false;
  in_pktinfo pktinfo{};
  int tos = -1;
  int ttl = -1;
};
Received RecvWithControl(int fd) {
  Received r;
  char buf[256];
  iovec iov{buf, sizeof(buf)};
  alignas(cmsghdr) char control[256];
  msghdr m{};
  m.msg_name = &r.from;
  m.msg_namelen = sizeof(r.from);
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof(control);
  r.n = recvmsg(fd, &m, 0);
  if (r.n < 0) return r;
  r.data.assign(buf, static_cast<size_t>(r.n));
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_IP) continue;
    if (c->cmsg_type == IP_PKTINFO) {
      r.has_pktinfo = true;
      std::memcpy(&r.pktinfo, CMSG_DATA(c), sizeof(r.pktinfo));
    } else if (c->cmsg_type == IP_TOS) {
      r.tos = *CMSG_DATA(c);
      EXPECT_EQ(c->cmsg_len, CMSG_LEN(1));  // one byte, as ip_cmsg_recv_tos puts it
    } else if (c->cmsg_type == IP_TTL) {
      std::memcpy(&r.ttl, CMSG_DATA(c), sizeof(int));
    }
  }
  return r;
}

// sendmsg with one control message at SOL_IP.
template <typename T>
ssize_t SendWith(int fd, const sockaddr_in& to, const char* data, int type, const T& value,
                 socklen_t value_len = sizeof(T)) {
  iovec iov{const_cast<char*>(data), std::strlen(data)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
  msghdr m{};
  m.msg_name = const_cast<sockaddr_in*>(&to);
  m.msg_namelen = sizeof(to);
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = CMSG_SPACE(value_len);
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_IP;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(value_len);
  std::memcpy(CMSG_DATA(c), &value, value_len);
  return sendmsg(fd, &m, 0);
}

TEST(Pktinfo, OptionDefaultsOffAndReadsBack) {
  Fd u(Udp());
  EXPECT_EQ(GetInt(u.get(), IPPROTO_IP, IP_PKTINFO), 0);
  EXPECT_EQ(GetInt(u.get(), IPPROTO_IP, IP_RECVTOS), 0);
  ASSERT_EQ(SetInt(u.get(), IPPROTO_IP, IP_PKTINFO, 1), 0);
  ASSERT_EQ(SetInt(u.get(), IPPROTO_IP, IP_RECVTOS, 5), 0);
  EXPECT_EQ(GetInt(u.get(), IPPROTO_IP, IP_PKTINFO), 1);
  EXPECT_EQ(GetInt(u.get(), IPPROTO_IP, IP_RECVTOS), 1);
}

TEST(Pktinfo, WildcardSocketLearnsTheDestinationOfAReply) {
  uint16_t port = 0;
  Fd u(BoundUdp(&port));
  ASSERT_GE(u.get(), 0);
  ASSERT_EQ(SetInt(u.get(), IPPROTO_IP, IP_PKTINFO, 1), 0);
  Timeout(u.get(), 3000);
  const sockaddr_in echo = Peer(kUdpEcho);
  ASSERT_EQ(sendto(u.get(), "pktinfo", 7, 0, reinterpret_cast<const sockaddr*>(&echo), sizeof(echo)), 7);
  Received r = RecvWithControl(u.get());
  ASSERT_EQ(r.n, 7);
  ASSERT_TRUE(r.has_pktinfo);
  char addr[INET_ADDRSTRLEN], spec[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &r.pktinfo.ipi_addr, addr, sizeof(addr));
  inet_ntop(AF_INET, &r.pktinfo.ipi_spec_dst, spec, sizeof(spec));
  EXPECT_EQ(std::string(addr), LocalIp());
  EXPECT_EQ(std::string(spec), LocalIp());
  EXPECT_GT(r.pktinfo.ipi_ifindex, 0);
}

TEST(Pktinfo, SourceOnSendMustBeOurs) {
  uint16_t port = 0;
  Fd u(BoundUdp(&port));
  ASSERT_GE(u.get(), 0);
  ASSERT_EQ(SetInt(u.get(), IPPROTO_IP, IP_PKTINFO, 1), 0);
  Timeout(u.get(), 3000);
  const sockaddr_in echo = Peer(kUdpEcho);
  in_pktinfo pi{};
  pi.ipi_spec_dst = InAddr(LocalIp().c_str());
  ASSERT_EQ(SendWith(u.get(), echo, "mine", IP_PKTINFO, pi), 4);
  Received r = RecvWithControl(u.get());
  ASSERT_EQ(r.n, 4);
  EXPECT_EQ(r.data, "mine");
  // ipi_spec_dst that is no address of ours: no device has it, the route lookup fails.
  pi.ipi_spec_dst = InAddr("10.77.0.250");
  errno = 0;
  EXPECT_EQ(SendWith(u.get(), echo, "theirs", IP_PKTINFO, pi), -1);
  EXPECT_EQ(errno, ENETUNREACH);
  // A SOL_IP control message of a size the type does not have.
  errno = 0;
  EXPECT_EQ(SendWith(u.get(), echo, "x", IP_PKTINFO, 1), -1);
  EXPECT_EQ(errno, EINVAL);
  int bad_tos = 300;
  errno = 0;
  EXPECT_EQ(SendWith(u.get(), echo, "x", IP_TOS, bad_tos), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST(Multicast, OptionDefaultsAndValues) {
  Fd u(Udp());
  EXPECT_EQ(GetInt(u.get(), IPPROTO_IP, IP_MULTICAST_TTL), 1);
  EXPECT_EQ(GetInt(u.get(), IPPROTO_IP, IP_MULTICAST_LOOP), 1);
  ASSERT_EQ(SetInt(u.get(), IPPROTO_IP, IP_MULTICAST_TTL, 32), 0);
  EXPECT_EQ(GetInt(u.get(), IPPROTO_IP, IP_MULTICAST_TTL), 32);
  EXPECT_EQ(SetInt(u.get(), IPPROTO_IP, IP_MULTICAST_TTL, 256), -EINVAL);
  ASSERT_EQ(SetInt(u.get(), IPPROTO_IP, IP_MULTICAST_TTL, -1), 0);  // the default again
  EXPECT_EQ(GetInt(u.get(), IPPROTO_IP, IP_MULTICAST_TTL), 1);
  EXPECT_EQ(GetInt(u.get(), IPPROTO_IP, IP_MULTICAST_ALL), 1);
  EXPECT_EQ(SetInt(u.get(), IPPROTO_IP, IP_MULTICAST_ALL, 2), -EINVAL);
  ASSERT_EQ(SetInt(u.get(), IPPROTO_IP, IP_MULTICAST_ALL, 0), 0);
  EXPECT_EQ(GetInt(u.get(), IPPROTO_IP, IP_MULTICAST_ALL), 0);
  in_addr ifa{};
  socklen_t len = sizeof(ifa);
  ASSERT_EQ(getsockopt(u.get(), IPPROTO_IP, IP_MULTICAST_IF, &ifa, &len), 0);
  EXPECT_EQ(len, sizeof(in_addr));
  EXPECT_EQ(ifa.s_addr, 0u);
  ifa = InAddr(LocalIp().c_str());
  ASSERT_EQ(setsockopt(u.get(), IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof(ifa)), 0);
  in_addr back{};
  len = sizeof(back);
  ASSERT_EQ(getsockopt(u.get(), IPPROTO_IP, IP_MULTICAST_IF, &back, &len), 0);
  EXPECT_EQ(back.s_addr, ifa.s_addr);
  in_addr other = InAddr("10.77.0.250");
  errno = 0;
  EXPECT_NE(setsockopt(u.get(), IPPROTO_IP, IP_MULTICAST_IF, &other, sizeof(other)), 0);
  EXPECT_EQ(errno, EADDRNOTAVAIL);
}

TEST(Multicast, MembershipErrors) {
  Fd u(Udp());
  EXPECT_EQ(Membership(u.get(), IP_ADD_MEMBERSHIP, "10.1.2.3"), -EINVAL);
  EXPECT_EQ(Membership(u.get(), IP_ADD_MEMBERSHIP, "239.77.0.1"), 0);
  EXPECT_EQ(Membership(u.get(), IP_ADD_MEMBERSHIP, "239.77.0.1"), -EADDRINUSE);
  EXPECT_EQ(Membership(u.get(), IP_DROP_MEMBERSHIP, "239.77.0.2"), -EADDRNOTAVAIL);
  EXPECT_EQ(Membership(u.get(), IP_ADD_MEMBERSHIP, "239.77.0.3", "10.77.0.250"), -ENODEV);
  ip_mreq short_one{};
  errno = 0;
  EXPECT_NE(setsockopt(u.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &short_one, 4), 0);
  EXPECT_EQ(errno, EINVAL);
  // Source filters: INCLUDE ones by IP_ADD_SOURCE_MEMBERSHIP, a mode that does not match a
  // filter with sources, a source that is not there, the last source leaves the group.
  EXPECT_EQ(SourceOp(u.get(), IP_ADD_SOURCE_MEMBERSHIP, "232.1.1.1", "10.78.0.1"), 0);
  EXPECT_EQ(SourceOp(u.get(), IP_BLOCK_SOURCE, "232.1.1.1", "10.78.0.2"), -EINVAL);
  EXPECT_EQ(SourceOp(u.get(), IP_DROP_SOURCE_MEMBERSHIP, "232.1.1.1", "10.78.0.2"), -EADDRNOTAVAIL);
  EXPECT_EQ(SourceOp(u.get(), IP_DROP_SOURCE_MEMBERSHIP, "232.1.1.1", "10.78.0.1"), 0);
  EXPECT_EQ(Membership(u.get(), IP_DROP_MEMBERSHIP, "232.1.1.1"), -EADDRNOTAVAIL);
  EXPECT_EQ(SourceOp(u.get(), IP_UNBLOCK_SOURCE, "239.77.0.9", "10.78.0.2"), -EINVAL);
  // An any-source membership may block and unblock sources.
  EXPECT_EQ(SourceOp(u.get(), IP_BLOCK_SOURCE, "239.77.0.1", "10.78.0.1"), 0);
  EXPECT_EQ(SourceOp(u.get(), IP_UNBLOCK_SOURCE, "239.77.0.1", "10.78.0.1"), 0);
  EXPECT_EQ(Membership(u.get(), IP_DROP_MEMBERSHIP, "239.77.0.1"), 0);
  // RFC 3678's protocol-independent form.
  group_req req{};
  sockaddr_in g = Addr("239.77.0.4", 0);
  std::memcpy(&req.gr_group, &g, sizeof(g));
  EXPECT_EQ(setsockopt(u.get(), IPPROTO_IP, MCAST_JOIN_GROUP, &req, sizeof(req)), 0);
  EXPECT_NE(setsockopt(u.get(), IPPROTO_IP, MCAST_JOIN_GROUP, &req, sizeof(req)), 0);
  EXPECT_EQ(errno, EADDRINUSE);
  EXPECT_EQ(setsockopt(u.get(), IPPROTO_IP, MCAST_LEAVE_GROUP, &req, sizeof(req)), 0);
}

TEST(Multicast, OwnGroupDatagramLoopsBackWithItsControlMessages) {
  uint16_t port = 0;
  Fd u(BoundUdp(&port));
  ASSERT_GE(u.get(), 0);
  Timeout(u.get(), 2000);
  ASSERT_EQ(Membership(u.get(), IP_ADD_MEMBERSHIP, "239.77.0.5"), 0);
  ASSERT_EQ(SetInt(u.get(), IPPROTO_IP, IP_PKTINFO, 1), 0);
  ASSERT_EQ(SetInt(u.get(), IPPROTO_IP, IP_RECVTOS, 1), 0);
  ASSERT_EQ(SetInt(u.get(), IPPROTO_IP, IP_RECVTTL, 1), 0);
  const sockaddr_in group = Addr("239.77.0.5", port);
  int tos = 0x20;
  ASSERT_EQ(SendWith(u.get(), group, "loop", IP_TOS, tos), 4);
  Received r = RecvWithControl(u.get());
  ASSERT_EQ(r.n, 4);
  EXPECT_EQ(r.data, "loop");
  EXPECT_EQ(Ip(r.from), LocalIp());
  EXPECT_EQ(ntohs(r.from.sin_port), port);
  ASSERT_TRUE(r.has_pktinfo);
  EXPECT_EQ(r.pktinfo.ipi_addr.s_addr, group.sin_addr.s_addr);
  EXPECT_EQ(r.tos, 0x20);
  EXPECT_EQ(r.ttl, 1);  // IP_MULTICAST_TTL's default
  // IP_MULTICAST_LOOP off: nothing comes back.
  ASSERT_EQ(SetInt(u.get(), IPPROTO_IP, IP_MULTICAST_LOOP, 0), 0);
  ASSERT_EQ(sendto(u.get(), "none", 4, 0, reinterpret_cast<const sockaddr*>(&group), sizeof(group)), 4);
  Timeout(u.get(), 300);
  char buf[16];
  EXPECT_EQ(recv(u.get(), buf, sizeof(buf), 0), -1);
}

TEST(Multicast, BlockedSourceIsFiltered) {
  uint16_t port = 0;
  Fd rx(BoundUdp(&port));
  ASSERT_GE(rx.get(), 0);
  Timeout(rx.get(), 300);
  ASSERT_EQ(Membership(rx.get(), IP_ADD_MEMBERSHIP, "239.77.0.6"), 0);
  // Our own address is the source of what we loop back: blocking it filters it out.
  ASSERT_EQ(SourceOp(rx.get(), IP_BLOCK_SOURCE, "239.77.0.6", LocalIp().c_str()), 0);
  Fd tx(Udp());
  const sockaddr_in group = Addr("239.77.0.6", port);
  ASSERT_EQ(sendto(tx.get(), "blocked", 7, 0, reinterpret_cast<const sockaddr*>(&group), sizeof(group)), 7);
  char buf[16];
  EXPECT_EQ(recv(rx.get(), buf, sizeof(buf), 0), -1);
  ASSERT_EQ(SourceOp(rx.get(), IP_UNBLOCK_SOURCE, "239.77.0.6", LocalIp().c_str()), 0);
  Timeout(rx.get(), 2000);
  ASSERT_EQ(sendto(tx.get(), "open", 4, 0, reinterpret_cast<const sockaddr*>(&group), sizeof(group)), 4);
  EXPECT_EQ(recv(rx.get(), buf, sizeof(buf), 0), 4);
}

// RFC 3678 §4.2's IPv4 filter API (IP_MSFILTER, setsourcefilter's kernel call): the whole
// source filter of a joined group set and read at once, checked as ip_set_mcast_msfilter,
// ip_mc_msfilter and ip_mc_msfget check it.
std::vector<uint8_t> Msfilter(const char* group, uint32_t mode, const std::vector<const char*>& sources,
                              uint32_t numsrc_field) {
  std::vector<uint8_t> b(IP_MSFILTER_SIZE(std::max<size_t>(sources.size(), 1)) + 64);
  ip_msfilter head{};
  head.imsf_multiaddr = InAddr(group);
  head.imsf_fmode = mode;
  head.imsf_numsrc = numsrc_field;
  std::memcpy(b.data(), &head, IP_MSFILTER_SIZE(0));
  for (size_t i = 0; i < sources.size(); ++i) {
    const in_addr a = InAddr(sources[i]);
    std::memcpy(b.data() + IP_MSFILTER_SIZE(i), &a, sizeof(a));
  }
  return b;
}
int SetMsfilter(int fd, const std::vector<uint8_t>& b, socklen_t len) {
  return setsockopt(fd, IPPROTO_IP, IP_MSFILTER, b.data(), len) == 0 ? 0 : -errno;
}
// getsockopt(IP_MSFILTER) for `group` with room for `room` sources: 0 or -errno; the
// result in *out, the returned length in *len.
int GetMsfilter(int fd, const char* group, uint32_t room, std::vector<uint8_t>* out, socklen_t* len) {
  *out = Msfilter(group, 0, {}, room);
  *len = static_cast<socklen_t>(IP_MSFILTER_SIZE(room));
  return getsockopt(fd, IPPROTO_IP, IP_MSFILTER, out->data(), len) == 0 ? 0 : -errno;
}
ip_msfilter Head(const std::vector<uint8_t>& b) {
  ip_msfilter h{};
  std::memcpy(&h, b.data(), IP_MSFILTER_SIZE(0));
  return h;
}
std::string SourceAt(const std::vector<uint8_t>& b, size_t i) {
  sockaddr_in a{};
  std::memcpy(&a.sin_addr, b.data() + IP_MSFILTER_SIZE(i), sizeof(in_addr));
  return Ip(a);
}

TEST(Multicast, MsfilterSetsAndReadsTheWholeFilter) {
  Fd u(Udp());
  const char* g = "239.77.0.7";
  std::vector<uint8_t> got;
  socklen_t len = 0;
  // Not joined: "must have a prior join" (EINVAL); nothing to read (EADDRNOTAVAIL).
  EXPECT_EQ(SetMsfilter(u.get(), Msfilter(g, MCAST_EXCLUDE, {}, 0), IP_MSFILTER_SIZE(0)), -EINVAL);
  EXPECT_EQ(GetMsfilter(u.get(), g, 0, &got, &len), -EADDRNOTAVAIL);
  ASSERT_EQ(Membership(u.get(), IP_ADD_MEMBERSHIP, g), 0);
  // An any-source join is (EXCLUDE, {}).
  ASSERT_EQ(GetMsfilter(u.get(), g, 0, &got, &len), 0);
  EXPECT_EQ(len, IP_MSFILTER_SIZE(0));
  EXPECT_EQ(Head(got).imsf_fmode, static_cast<uint32_t>(MCAST_EXCLUDE));
  EXPECT_EQ(Head(got).imsf_numsrc, 0u);
  // (INCLUDE, {two sources}), read back whole and with room for one.
  const auto two = Msfilter(g, MCAST_INCLUDE, {"10.78.0.1", "10.78.0.2"}, 2);
  ASSERT_EQ(SetMsfilter(u.get(), two, IP_MSFILTER_SIZE(2)), 0);
  ASSERT_EQ(GetMsfilter(u.get(), g, 4, &got, &len), 0);
  EXPECT_EQ(len, IP_MSFILTER_SIZE(2));
  EXPECT_EQ(Head(got).imsf_fmode, static_cast<uint32_t>(MCAST_INCLUDE));
  EXPECT_EQ(Head(got).imsf_numsrc, 2u);
  EXPECT_EQ(SourceAt(got, 0), "10.78.0.1");
  EXPECT_EQ(SourceAt(got, 1), "10.78.0.2");
  ASSERT_EQ(GetMsfilter(u.get(), g, 1, &got, &len), 0);
  EXPECT_EQ(len, IP_MSFILTER_SIZE(1));
  EXPECT_EQ(Head(got).imsf_numsrc, 2u) << "the count is the filter's, not what fitted";
  EXPECT_EQ(SourceAt(got, 0), "10.78.0.1");
  // The checks, in the kernel's order.
  EXPECT_EQ(SetMsfilter(u.get(), two, IP_MSFILTER_SIZE(0) - 1), -EINVAL);
  EXPECT_EQ(SetMsfilter(u.get(), two, IP_MSFILTER_SIZE(1)), -EINVAL);  // 2 sources, room for 1
  std::vector<uint8_t> many = Msfilter(g, MCAST_INCLUDE, {}, 11);
  many.resize(IP_MSFILTER_SIZE(11));
  EXPECT_EQ(SetMsfilter(u.get(), many, IP_MSFILTER_SIZE(11)), -ENOBUFS);  // igmp_max_msf 10
  EXPECT_EQ(SetMsfilter(u.get(), Msfilter(g, 5, {}, 0), IP_MSFILTER_SIZE(0)), -EINVAL);
  EXPECT_EQ(SetMsfilter(u.get(), Msfilter("10.78.0.1", MCAST_EXCLUDE, {}, 0), IP_MSFILTER_SIZE(0)), -EINVAL);
  got = Msfilter(g, 0, {}, 0);
  len = IP_MSFILTER_SIZE(0) - 1;
  errno = 0;
  EXPECT_EQ(getsockopt(u.get(), IPPROTO_IP, IP_MSFILTER, got.data(), &len), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(GetMsfilter(u.get(), "10.78.0.1", 0, &got, &len), -EINVAL);
  // (INCLUDE, {}) is leaving the group.
  ASSERT_EQ(SetMsfilter(u.get(), Msfilter(g, MCAST_INCLUDE, {}, 0), IP_MSFILTER_SIZE(0)), 0);
  EXPECT_EQ(GetMsfilter(u.get(), g, 0, &got, &len), -EADDRNOTAVAIL);
  EXPECT_EQ(Membership(u.get(), IP_DROP_MEMBERSHIP, g), -EADDRNOTAVAIL);
}

TEST(Multicast, MsfilterFiltersWhatArrives) {
  uint16_t port = 0;
  Fd rx(BoundUdp(&port));
  ASSERT_GE(rx.get(), 0);
  Timeout(rx.get(), 300);
  const char* g = "239.77.0.8";
  ASSERT_EQ(Membership(rx.get(), IP_ADD_MEMBERSHIP, g), 0);
  // Our own address is the source of what loops back: (EXCLUDE, {us}) filters it out,
  // (INCLUDE, {us}) lets it in.
  ASSERT_EQ(SetMsfilter(rx.get(), Msfilter(g, MCAST_EXCLUDE, {LocalIp().c_str()}, 1), IP_MSFILTER_SIZE(1)), 0);
  Fd tx(Udp());
  const sockaddr_in group = Addr(g, port);
  ASSERT_EQ(sendto(tx.get(), "excluded", 8, 0, reinterpret_cast<const sockaddr*>(&group), sizeof(group)), 8);
  char buf[16];
  EXPECT_EQ(recv(rx.get(), buf, sizeof(buf), 0), -1);
  ASSERT_EQ(SetMsfilter(rx.get(), Msfilter(g, MCAST_INCLUDE, {LocalIp().c_str()}, 1), IP_MSFILTER_SIZE(1)), 0);
  Timeout(rx.get(), 2000);
  ASSERT_EQ(sendto(tx.get(), "included", 8, 0, reinterpret_cast<const sockaddr*>(&group), sizeof(group)), 8);
  EXPECT_EQ(recv(rx.get(), buf, sizeof(buf), 0), 8);
}

}  // namespace
