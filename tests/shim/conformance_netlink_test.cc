// NETLINK_ROUTE (rtnetlink(7), netlink(7)) as programs such as dnsmasq read it: the
// address and link dumps agree with getifaddrs (so under the shim they show the stack's
// interface, as getifaddrs does), the framing is the kernel's (sequence numbers, the
// socket's port id, NLM_F_MULTI, NLMSG_DONE, the sender's address), MSG_PEEK|MSG_TRUNC
// give the whole datagram's length, poll sees the answer, and bad requests get the
// kernel's errno. Plain POSIX and Linux headers: the same code runs natively and under the
// shim.
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/shim/conformance.h"

namespace conformance {
namespace {

struct NlMessage {
  nlmsghdr hdr{};
  std::vector<uint8_t> payload;  // after the header
};

// rtattrs of `payload` from `offset` (the family header's aligned size): type -> bytes.
std::map<int, std::vector<uint8_t>> Attributes(const std::vector<uint8_t>& payload, size_t offset) {
  std::map<int, std::vector<uint8_t>> out;
  size_t at = NLMSG_ALIGN(offset);
  while (payload.size() >= at + sizeof(rtattr)) {
    rtattr a;
    std::memcpy(&a, payload.data() + at, sizeof(a));
    if (a.rta_len < sizeof(rtattr) || a.rta_len > payload.size() - at) break;
    out[a.rta_type] = std::vector<uint8_t>(payload.begin() + static_cast<long>(at + RTA_LENGTH(0)),
                                           payload.begin() + static_cast<long>(at + a.rta_len));
    at += RTA_ALIGN(a.rta_len);
  }
  return out;
}

// The messages of one datagram.
std::vector<NlMessage> Parse(const uint8_t* data, size_t n) {
  std::vector<NlMessage> out;
  size_t at = 0;
  while (n - at >= sizeof(nlmsghdr)) {
    NlMessage m;
    std::memcpy(&m.hdr, data + at, sizeof(m.hdr));
    if (m.hdr.nlmsg_len < sizeof(nlmsghdr) || m.hdr.nlmsg_len > n - at) break;
    m.payload.assign(data + at + NLMSG_HDRLEN, data + at + m.hdr.nlmsg_len);
    out.push_back(std::move(m));
    at += NLMSG_ALIGN(m.hdr.nlmsg_len);
  }
  return out;
}

class Netlink {
 public:
  Netlink() : fd_(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {
    EXPECT_GE(fd_.get(), 0) << strerror(errno);
    sockaddr_nl a{};
    a.nl_family = AF_NETLINK;
    EXPECT_EQ(bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
    socklen_t len = sizeof(a);
    EXPECT_EQ(getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
    portid_ = a.nl_pid;
  }
  int fd() const { return fd_.get(); }
  uint32_t portid() const { return portid_; }

  // Sends a request of `type` with `flags` and a one-byte family payload (struct
  // rtgenmsg, as dnsmasq and glibc send dumps); returns its sequence number.
  uint32_t Request(uint16_t type, uint16_t flags, uint8_t family) {
    struct {
      nlmsghdr h;
      rtgenmsg g;
    } req{};
    req.h.nlmsg_len = sizeof(req);
    req.h.nlmsg_type = type;
    req.h.nlmsg_flags = flags;
    req.h.nlmsg_seq = ++seq_;
    req.g.rtgen_family = family;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    EXPECT_EQ(sendto(fd(), &req, sizeof(req), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)),
              static_cast<ssize_t>(sizeof(req)))
        << strerror(errno);
    return seq_;
  }

  // One datagram (recvmsg as dnsmasq reads: the size first with MSG_PEEK|MSG_TRUNC).
  std::vector<NlMessage> ReadDatagram(sockaddr_nl* from = nullptr) {
    std::vector<uint8_t> buf(64);
    iovec iov{buf.data(), buf.size()};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    const ssize_t n = recvmsg(fd(), &m, MSG_PEEK | MSG_TRUNC);
    EXPECT_GT(n, 0) << strerror(errno);
    if (n <= 0) return {};
    buf.resize(static_cast<size_t>(n));
    iov = {buf.data(), buf.size()};
    sockaddr_nl src{};
    m = msghdr{};
    m.msg_name = &src;
    m.msg_namelen = sizeof(src);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    const ssize_t r = recvmsg(fd(), &m, 0);
    EXPECT_EQ(r, n);
    EXPECT_EQ(m.msg_flags & MSG_TRUNC, 0);
    EXPECT_EQ(m.msg_namelen, sizeof(sockaddr_nl));
    if (from != nullptr) *from = src;
    return r > 0 ? Parse(buf.data(), static_cast<size_t>(r)) : std::vector<NlMessage>{};
  }

  // Every message of a dump, up to and with its NLMSG_DONE (or an NLMSG_ERROR).
  std::vector<NlMessage> Dump(uint16_t type, uint8_t family) {
    const uint32_t seq = Request(type, NLM_F_REQUEST | NLM_F_DUMP, family);
    std::vector<NlMessage> all;
    for (int datagrams = 0; datagrams < 1000; ++datagrams) {
      for (NlMessage& m : ReadDatagram()) {
        EXPECT_EQ(m.hdr.nlmsg_seq, seq);
        const bool end = m.hdr.nlmsg_type == NLMSG_DONE || m.hdr.nlmsg_type == NLMSG_ERROR;
        all.push_back(std::move(m));
        if (end) return all;
      }
    }
    ADD_FAILURE() << "no NLMSG_DONE";
    return all;
  }

 private:
  Fd fd_;
  uint32_t portid_ = 0;
  uint32_t seq_ = 1000;
};

std::string AddressText(const void* a4) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, a4, buf, sizeof(buf));
  return buf;
}

int PrefixOf(const sockaddr* mask) {
  if (mask == nullptr) return 32;
  return __builtin_popcount(reinterpret_cast<const sockaddr_in*>(mask)->sin_addr.s_addr);
}

// getifaddrs's IPv4 addresses as "ifindex address/prefix" (called first: under the shim
// it is also what makes the program a user of the stack).
std::set<std::string> GetifaddrsIp4() {
  std::set<std::string> out;
  ifaddrs* list = nullptr;
  EXPECT_EQ(getifaddrs(&list), 0) << strerror(errno);
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    out.insert(std::to_string(if_nametoindex(i->ifa_name)) + " " + AddressText(&in->sin_addr) + "/" +
               std::to_string(PrefixOf(i->ifa_netmask)));
  }
  freeifaddrs(list);
  return out;
}

TEST(NetlinkRouteTest, AddressDumpHasWhatGetifaddrsReports) {
  const std::set<std::string> expected = GetifaddrsIp4();
  Netlink nl;
  std::set<std::string> dumped;
  bool local_seen = false;
  for (const NlMessage& m : nl.Dump(RTM_GETADDR, AF_INET)) {
    if (m.hdr.nlmsg_type != RTM_NEWADDR) continue;
    ifaddrmsg ifa;
    ASSERT_GE(m.payload.size(), sizeof(ifa));
    std::memcpy(&ifa, m.payload.data(), sizeof(ifa));
    EXPECT_EQ(ifa.ifa_family, AF_INET);
    auto attrs = Attributes(m.payload, sizeof(ifa));
    ASSERT_EQ(attrs[IFA_LOCAL].size(), 4u);
    const std::string local = AddressText(attrs[IFA_LOCAL].data());
    local_seen = local_seen || local == LocalIp();
    dumped.insert(std::to_string(ifa.ifa_index) + " " + local + "/" + std::to_string(ifa.ifa_prefixlen));
    // The label names the interface, as SIOCGIFNAME does for the index.
    char name[IF_NAMESIZE] = {};
    ASSERT_NE(if_indextoname(ifa.ifa_index, name), nullptr);
    EXPECT_STREQ(reinterpret_cast<const char*>(attrs[IFA_LABEL].data()), name);
  }
  EXPECT_EQ(dumped, expected);
  EXPECT_TRUE(local_seen) << LocalIp() << " is not in the RTM_GETADDR dump";
}

TEST(NetlinkRouteTest, DumpFramingIsTheKernels) {
  (void)GetifaddrsIp4();
  Netlink nl;
  ASSERT_NE(nl.portid(), 0u);
  const uint32_t seq = nl.Request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, AF_UNSPEC);
  std::vector<NlMessage> all;
  for (int i = 0; i < 1000 && (all.empty() || all.back().hdr.nlmsg_type != NLMSG_DONE); ++i) {
    sockaddr_nl from{};
    for (NlMessage& m : nl.ReadDatagram(&from)) all.push_back(std::move(m));
    EXPECT_EQ(from.nl_family, AF_NETLINK);
    EXPECT_EQ(from.nl_pid, 0u) << "a dump comes from the kernel";
  }
  ASSERT_FALSE(all.empty());
  for (const NlMessage& m : all) {
    EXPECT_EQ(m.hdr.nlmsg_seq, seq);
    EXPECT_EQ(m.hdr.nlmsg_pid, nl.portid());
    EXPECT_NE(m.hdr.nlmsg_flags & NLM_F_MULTI, 0);
  }
  EXPECT_EQ(all.back().hdr.nlmsg_type, NLMSG_DONE);
  ASSERT_GE(all.back().payload.size(), sizeof(int));
  int done_error = -1;
  std::memcpy(&done_error, all.back().payload.data(), sizeof(int));
  EXPECT_EQ(done_error, 0);
  int ip4 = 0;
  for (const NlMessage& m : all) ip4 += m.hdr.nlmsg_type == RTM_NEWADDR && m.payload[0] == AF_INET;
  EXPECT_EQ(ip4, static_cast<int>(GetifaddrsIp4().size())) << "AF_UNSPEC dumps IPv4 too";
}

TEST(NetlinkRouteTest, PeekTruncGivesTheWholeLengthAndPollSeesIt) {
  (void)GetifaddrsIp4();
  Netlink nl;
  nl.Request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, AF_INET);
  pollfd p{nl.fd(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 2000), 1);
  EXPECT_EQ(p.revents, POLLIN);
  uint8_t small[16];
  iovec iov{small, sizeof(small)};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  const ssize_t full = recvmsg(nl.fd(), &m, MSG_PEEK | MSG_TRUNC);
  ASSERT_GT(full, static_cast<ssize_t>(sizeof(small)));
  EXPECT_NE(m.msg_flags & MSG_TRUNC, 0);
  // Without MSG_TRUNC in the flags a peek returns what fitted, still flagged.
  m.msg_flags = 0;
  EXPECT_EQ(recvmsg(nl.fd(), &m, MSG_PEEK), static_cast<ssize_t>(sizeof(small)));
  EXPECT_NE(m.msg_flags & MSG_TRUNC, 0);
  std::vector<uint8_t> whole(static_cast<size_t>(full) + 100);
  EXPECT_EQ(recv(nl.fd(), whole.data(), whole.size(), 0), full);
  EXPECT_EQ(std::memcmp(whole.data(), small, sizeof(small)), 0);
  // The dump goes on (or has ended) with a datagram of its own; MSG_DONTWAIT reads the
  // rest and then EAGAIN.
  int more = 0;
  while (recv(nl.fd(), whole.data(), whole.size(), MSG_DONTWAIT) > 0) ++more;
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_LT(more, 1000);
}

TEST(NetlinkRouteTest, LinkDumpMatchesGetifaddrsAndIoctls) {
  std::map<int, std::vector<uint8_t>> macs;  // ifindex -> getifaddrs's AF_PACKET address
  ifaddrs* list = nullptr;
  ASSERT_EQ(getifaddrs(&list), 0);
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_PACKET) continue;
    const auto* ll = reinterpret_cast<const sockaddr_ll*>(i->ifa_addr);
    macs[ll->sll_ifindex] = std::vector<uint8_t>(ll->sll_addr, ll->sll_addr + ll->sll_halen);
  }
  freeifaddrs(list);
  Fd inet(socket(AF_INET, SOCK_DGRAM, 0));
  Netlink nl;
  int links = 0;
  for (const NlMessage& m : nl.Dump(RTM_GETLINK, AF_UNSPEC)) {
    if (m.hdr.nlmsg_type != RTM_NEWLINK) continue;
    ifinfomsg ifi;
    ASSERT_GE(m.payload.size(), sizeof(ifi));
    std::memcpy(&ifi, m.payload.data(), sizeof(ifi));
    auto attrs = Attributes(m.payload, sizeof(ifi));
    ++links;
    ASSERT_TRUE(macs.contains(ifi.ifi_index)) << ifi.ifi_index;
    EXPECT_EQ(attrs[IFLA_ADDRESS], macs[ifi.ifi_index]) << "ifindex " << ifi.ifi_index;
    ifreq r{};
    std::strncpy(r.ifr_name, reinterpret_cast<const char*>(attrs[IFLA_IFNAME].data()), IFNAMSIZ - 1);
    ASSERT_EQ(ioctl(inet.get(), SIOCGIFMTU, &r), 0) << r.ifr_name;
    uint32_t mtu = 0;
    ASSERT_EQ(attrs[IFLA_MTU].size(), 4u);
    std::memcpy(&mtu, attrs[IFLA_MTU].data(), 4);
    EXPECT_EQ(static_cast<int>(mtu), r.ifr_mtu) << r.ifr_name;
  }
  EXPECT_EQ(links, static_cast<int>(macs.size()));
}

TEST(NetlinkRouteTest, BadRequestsGetTheKernelsErrno) {
  // netlink_create: a protocol nobody registered.
  errno = 0;
  EXPECT_EQ(socket(AF_NETLINK, SOCK_RAW, 31), -1);
  EXPECT_EQ(errno, EPROTONOSUPPORT);
  Netlink nl;
  // netlink_bind: an address shorter than sockaddr_nl.
  sockaddr_nl a{};
  a.nl_family = AF_NETLINK;
  errno = 0;
  EXPECT_EQ(bind(nl.fd(), reinterpret_cast<sockaddr*>(&a), 4), -1);
  EXPECT_EQ(errno, EINVAL);
  // rtnetlink_rcv_msg: a type past RTM_MAX is answered with NLMSG_ERROR -EOPNOTSUPP,
  // carrying the request's sequence number.
  const uint32_t seq = nl.Request(RTM_MAX + 1, NLM_F_REQUEST, AF_INET);
  const std::vector<NlMessage> reply = nl.ReadDatagram();
  ASSERT_EQ(reply.size(), 1u);
  EXPECT_EQ(reply[0].hdr.nlmsg_type, NLMSG_ERROR);
  EXPECT_EQ(reply[0].hdr.nlmsg_seq, seq);
  nlmsgerr err{};
  ASSERT_GE(reply[0].payload.size(), sizeof(err.error));
  std::memcpy(&err.error, reply[0].payload.data(), sizeof(err.error));
  EXPECT_EQ(err.error, -EOPNOTSUPP);
  // Nothing else was queued.
  char byte;
  errno = 0;
  EXPECT_EQ(recv(nl.fd(), &byte, 1, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
}

}  // namespace
}  // namespace conformance
