// Conformance (issue 19 item 10): commonly used options and ioctls as Linux has them, not
// ENOPROTOOPT: TCP_INQ (the TCP_CM_INQ control message, tcp_recvmsg), SO_RCVLOWAT (the
// receive low-water mark tcp_poll and tcp_recvmsg honour), SIOCGSTAMP (sock_gettstamp:
// ENOENT until a datagram was received), IP_TOS with the sizes and values do_ip_setsockopt
// and do_ip_getsockopt accept and give.
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/time.h>

#include <cstring>
#include <utility>

#include "tests/shim/conformance.h"

namespace {

using namespace conformance;  // NOLINT: the suite's own helpers

int GetInt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof(v);
  if (getsockopt(fd, level, name, &v, &len) != 0) return -errno;
  return v;
}

int SetInt(int fd, int level, int name, int v) {
  return setsockopt(fd, level, name, &v, sizeof(v)) == 0 ? 0 : -errno;
}

TEST(Options, TcpInqReportsWhatIsLeft) {
  Pair p;
  MakePair(&p);
  EXPECT_EQ(GetInt(p.server.get(), IPPROTO_TCP, TCP_INQ), 0);
  ASSERT_EQ(SetInt(p.server.get(), IPPROTO_TCP, TCP_INQ, 1), 0);
  EXPECT_EQ(GetInt(p.server.get(), IPPROTO_TCP, TCP_INQ), 1);
  ASSERT_EQ(send(p.client.get(), "12345", 5, 0), 5);
  ASSERT_EQ(PollOnce(p.server.get(), POLLIN, 3000), POLLIN);
  char data[2];
  iovec iov{data, sizeof(data)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof(control);
  ASSERT_EQ(recvmsg(p.server.get(), &m, 0), 2);
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->cmsg_level, SOL_TCP);
  EXPECT_EQ(c->cmsg_type, TCP_CM_INQ);
  int inq = -1;
  std::memcpy(&inq, CMSG_DATA(c), sizeof(inq));
  EXPECT_EQ(inq, 3);
  // A UDP socket has no TCP_INQ.
  Fd u(Udp());
  EXPECT_EQ(SetInt(u.get(), IPPROTO_TCP, TCP_INQ, 1), -ENOPROTOOPT);
}

TEST(Options, RcvlowatValuesAndReadiness) {
  Fd u(Udp());
  EXPECT_EQ(GetInt(u.get(), SOL_SOCKET, SO_RCVLOWAT), 1);
  ASSERT_EQ(SetInt(u.get(), SOL_SOCKET, SO_RCVLOWAT, 10), 0);
  EXPECT_EQ(GetInt(u.get(), SOL_SOCKET, SO_RCVLOWAT), 10);
  ASSERT_EQ(SetInt(u.get(), SOL_SOCKET, SO_RCVLOWAT, 0), 0);
  EXPECT_EQ(GetInt(u.get(), SOL_SOCKET, SO_RCVLOWAT), 1);  // 0 means 1
  Pair p;
  MakePair(&p);
  EXPECT_EQ(GetInt(p.server.get(), SOL_SOCKET, SO_RCVLOWAT), 1);
  ASSERT_EQ(SetInt(p.server.get(), SOL_SOCKET, SO_RCVLOWAT, 4), 0);
  EXPECT_EQ(GetInt(p.server.get(), SOL_SOCKET, SO_RCVLOWAT), 4);
  ASSERT_EQ(send(p.client.get(), "ab", 2, 0), 2);
  // Two bytes are below the mark: not readable (tcp_poll, tcp_stream_is_readable).
  EXPECT_EQ(PollOnce(p.server.get(), POLLIN, 200), 0);
  ASSERT_EQ(send(p.client.get(), "cd", 2, 0), 2);
  EXPECT_EQ(PollOnce(p.server.get(), POLLIN, 3000), POLLIN);
  char buf[8];
  EXPECT_EQ(recv(p.server.get(), buf, sizeof(buf), 0), 4);
}

// Issue 16 item 17: what getsockopt returns after setsockopt, and the values refused, as
// do_tcp_setsockopt / do_tcp_getsockopt.
TEST(Options, TcpOptionsThatChangeBehaviourReadBackAsLinux) {
  Fd s(Tcp());
  EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_SYNCNT), 6);  // tcp_syn_retries
  EXPECT_EQ(SetInt(s.get(), IPPROTO_TCP, TCP_SYNCNT, 0), -EINVAL);
  EXPECT_EQ(SetInt(s.get(), IPPROTO_TCP, TCP_SYNCNT, 128), -EINVAL);
  EXPECT_EQ(SetInt(s.get(), IPPROTO_TCP, TCP_SYNCNT, -1), -EINVAL);
  ASSERT_EQ(SetInt(s.get(), IPPROTO_TCP, TCP_SYNCNT, 3), 0);
  EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_SYNCNT), 3);

  EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_LINGER2), 60);  // tcp_fin_timeout
  const std::pair<int, int> linger2[] = {{-5, -1}, {0, 60}, {5, 5}, {200, 120}, {-1, -1}};
  for (auto [in, out] : linger2) {
    ASSERT_EQ(SetInt(s.get(), IPPROTO_TCP, TCP_LINGER2, in), 0);
    EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_LINGER2), out) << in;
  }

  EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_QUICKACK), 1);
  const std::pair<int, int> quickack[] = {{0, 0}, {2, 1}, {0, 0}, {1, 1}};
  for (auto [in, out] : quickack) {
    ASSERT_EQ(SetInt(s.get(), IPPROTO_TCP, TCP_QUICKACK, in), 0);
    EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_QUICKACK), out) << in;
  }

  // Seconds become SYN-ACK retransmissions and back (secs_to_retrans, retrans_to_secs).
  EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT), 0);
  const std::pair<int, int> defer[] = {{1, 1},   {2, 3},     {3, 3},       {4, 7}, {5, 7},
                                       {10, 15}, {100, 127}, {1000, 1087}, {-3, 0}};
  for (auto [in, out] : defer) {
    ASSERT_EQ(SetInt(s.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, in), 0);
    EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT), out) << in;
  }

  EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_NOTSENT_LOWAT), 0);
  ASSERT_EQ(SetInt(s.get(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, 16384), 0);
  EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_NOTSENT_LOWAT), 16384);
  ASSERT_EQ(SetInt(s.get(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, -1), 0);
  EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_NOTSENT_LOWAT), -1);  // a u32 in the kernel

  EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_WINDOW_CLAMP), 0);
  ASSERT_EQ(SetInt(s.get(), IPPROTO_TCP, TCP_WINDOW_CLAMP, 100), 0);
  EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_WINDOW_CLAMP), 1152);  // SOCK_MIN_RCVBUF / 2
  ASSERT_EQ(SetInt(s.get(), IPPROTO_TCP, TCP_WINDOW_CLAMP, 40000), 0);
  EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_WINDOW_CLAMP), 40000);
  ASSERT_EQ(SetInt(s.get(), IPPROTO_TCP, TCP_WINDOW_CLAMP, 0), 0);  // closed: allowed
  EXPECT_EQ(GetInt(s.get(), IPPROTO_TCP, TCP_WINDOW_CLAMP), 0);
  sockaddr_in at{};
  Fd l(Listener(&at));
  ASSERT_GE(l.get(), 0);
  EXPECT_EQ(SetInt(l.get(), IPPROTO_TCP, TCP_WINDOW_CLAMP, 0), -EINVAL);  // not closed
}

// TCP_DEFER_ACCEPT: accept() returns a connection only once data came (or the deferral
// ran out, which is longer than this test).
TEST(Options, DeferAcceptWaitsForData) {
  sockaddr_in at{};
  Fd l(Listener(&at));
  ASSERT_GE(l.get(), 0);
  ASSERT_EQ(SetInt(l.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, 10), 0);
  Fd c(ConnectTo(at));  // the client's connect completes at once
  ASSERT_GE(c.get(), 0);
  EXPECT_EQ(PollOnce(l.get(), POLLIN, 300), 0);
  ASSERT_EQ(send(c.get(), "hi", 2, 0), 2);
  ASSERT_NE(PollOnce(l.get(), POLLIN, 3000) & POLLIN, 0);
  Fd a(accept(l.get(), nullptr, nullptr));
  ASSERT_GE(a.get(), 0);
  char buf[4];
  ASSERT_NE(PollOnce(a.get(), POLLIN, 3000) & POLLIN, 0);
  EXPECT_EQ(recv(a.get(), buf, sizeof(buf), 0), 2);
}

TEST(Ioctls, SiocgstampIsTheLastDatagramsTime) {
  Fd u(Udp());
  timeval tv{};
  EXPECT_EQ(ioctl(u.get(), SIOCGSTAMP, &tv), -1);
  EXPECT_EQ(errno, ENOENT);
  sockaddr_in a = Addr(LocalIp(), 0);
  ASSERT_EQ(bind(u.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ASSERT_EQ(getsockname(u.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  timeval before{};
  gettimeofday(&before, nullptr);
  ASSERT_EQ(sendto(u.get(), "t", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 1);
  char c;
  ASSERT_EQ(recv(u.get(), &c, 1, 0), 1);
  timeval after{};
  gettimeofday(&after, nullptr);
  ASSERT_EQ(ioctl(u.get(), SIOCGSTAMP, &tv), 0) << strerror(errno);
  auto us = [](const timeval& t) { return static_cast<long long>(t.tv_sec) * 1000000 + t.tv_usec; };
  EXPECT_GE(us(tv), us(before) - 1000);
  EXPECT_LE(us(tv), us(after) + 1000);
  // A stream socket keeps no such stamp.
  Pair p;
  MakePair(&p);
  EXPECT_EQ(ioctl(p.server.get(), SIOCGSTAMP, &tv), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST(Options, IpTosSizesAndValues) {
  Fd u(Udp());
  ASSERT_EQ(SetInt(u.get(), IPPROTO_IP, IP_TOS, 0x13), 0);
  EXPECT_EQ(GetInt(u.get(), IPPROTO_IP, IP_TOS), 0x13);  // a datagram socket keeps ECN bits
  const unsigned char one = 0x28;
  ASSERT_EQ(setsockopt(u.get(), IPPROTO_IP, IP_TOS, &one, 1), 0);
  EXPECT_EQ(GetInt(u.get(), IPPROTO_IP, IP_TOS), 0x28);
  // A short buffer gets one byte (do_ip_getsockopt).
  unsigned char small[4] = {0xee, 0xee, 0xee, 0xee};
  socklen_t len = 1;
  ASSERT_EQ(getsockopt(u.get(), IPPROTO_IP, IP_TOS, small, &len), 0);
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(small[0], 0x28);
  EXPECT_EQ(small[1], 0xee);
  Fd t(Tcp());
  ASSERT_EQ(SetInt(t.get(), IPPROTO_IP, IP_TOS, 0x13), 0);
  EXPECT_EQ(GetInt(t.get(), IPPROTO_IP, IP_TOS), 0x10);  // a stream socket: ECN is TCP's
  len = 0;
  EXPECT_EQ(getsockopt(t.get(), IPPROTO_IP, IP_TOS, small, &len), 0);
  EXPECT_EQ(len, 0u);
  int v = 0;
  len = static_cast<socklen_t>(-1);
  EXPECT_EQ(getsockopt(t.get(), IPPROTO_IP, IP_TOS, &v, &len), -1);
  EXPECT_EQ(errno, EINVAL);
}

}  // namespace

namespace {

uint64_t U64At(const unsigned char* b, size_t off) {
  uint64_t v = 0;
  std::memcpy(&v, b + off, sizeof(v));
  return v;
}

// Issue 16 item 19: TCP_INFO is the kernel's whole struct tcp_info cut to the caller's
// length (do_tcp_getsockopt: len = min(len, sizeof(info))): glibc's <netinet/tcp.h> has
// the older 104 bytes, Debian 12's <linux/tcp.h> 232, newer kernels more; the counters
// past glibc's struct are Linux's.
TEST(Options, TcpInfoIsCutToTheCallersLength) {
  Fd s(ConnectTo(Peer(kEcho)));
  ASSERT_GE(s.get(), 0);
  ASSERT_EQ(send(s.get(), "ping", 4, 0), 4);
  char back[4];
  ASSERT_TRUE(ReadExactly(s.get(), back, sizeof(back)));
  unsigned char buf[1024];
  std::memset(buf, 0xee, sizeof(buf));
  socklen_t len = 104;
  ASSERT_EQ(getsockopt(s.get(), IPPROTO_TCP, TCP_INFO, buf, &len), 0);
  EXPECT_EQ(len, 104u);
  EXPECT_EQ(buf[0], 1);  // TCP_ESTABLISHED
  EXPECT_EQ(buf[104], 0xee);  // nothing beyond what was asked
  len = 232;
  ASSERT_EQ(getsockopt(s.get(), IPPROTO_TCP, TCP_INFO, buf, &len), 0);
  EXPECT_EQ(len, 232u);
  EXPECT_EQ(buf[232], 0xee);
  len = sizeof(buf);
  ASSERT_EQ(getsockopt(s.get(), IPPROTO_TCP, TCP_INFO, buf, &len), 0);
  EXPECT_GE(len, 232u);
  EXPECT_LT(len, sizeof(buf));
  // tcpi_bytes_acked (offset 120) counts our SYN too, tcpi_bytes_received (128) the data.
  EXPECT_EQ(U64At(buf, 120), 5u);
  EXPECT_EQ(U64At(buf, 128), 4u);
  uint32_t snd_wnd = 0;  // tcpi_snd_wnd, the peer's window (offset 228)
  std::memcpy(&snd_wnd, buf + 228, sizeof(snd_wnd));
  EXPECT_GT(snd_wnd, 0u);
  len = 0;
  ASSERT_EQ(getsockopt(s.get(), IPPROTO_TCP, TCP_INFO, buf, &len), 0);
  EXPECT_EQ(len, 0u);
  len = static_cast<socklen_t>(-1);
  EXPECT_EQ(getsockopt(s.get(), IPPROTO_TCP, TCP_INFO, buf, &len), -1);
  EXPECT_EQ(errno, EINVAL);
}

}  // namespace

namespace {

// Issue 16 item 19: an ICMP "host unreachable" for a connection still opening fails it with
// EHOSTUNREACH (tcp_v4_err), which SO_ERROR reports once. The address is on the lab
// peer's other network where nobody answers ARP, so the peer's own neighbour resolution
// fails (about 3 s) and it sends the ICMP error, to the kernel and to PyTCP alike.
TEST(Options, SoErrorAfterAnUnreachablePeer) {
  const bool far = LocalIp().rfind("10.78.", 0) == 0;
  const sockaddr_in to = Addr(far ? "10.77.0.99" : "10.78.0.99", 80);
  Fd s(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
  ASSERT_GE(s.get(), 0);
  ASSERT_EQ(connect(s.get(), reinterpret_cast<const sockaddr*>(&to), sizeof(to)), -1);
  ASSERT_EQ(errno, EINPROGRESS);
  pollfd p{s.get(), POLLOUT, 0};
  ASSERT_EQ(poll(&p, 1, 15000), 1);
  EXPECT_NE(p.revents & POLLERR, 0);
  int err = -1;
  socklen_t len = sizeof(err);
  ASSERT_EQ(getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, EHOSTUNREACH);
  ASSERT_EQ(getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, 0);
}

}  // namespace
