#include "stack/socket/udp_socket.h"

#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/socket/message_parts.h"
#include "stack/socket/socket_option.h"

namespace pytcp {
namespace {
// What one queued datagram costs against SO_RCVBUF besides its payload (Linux charges the
// skb's truesize, several hundred bytes for a small datagram).
constexpr size_t kDatagramOverhead = 256;
// Linux's net.core.optmem_max bounds a socket's memberships; IPv4's IP_MAX_MEMBERSHIPS (20)
// is the figure programs know.
constexpr size_t kMaxMemberships6 = 20;
// Linux net.ipv4.igmp_max_memberships and igmp_max_msf: memberships per socket and sources
// per membership (ENOBUFS beyond them).
constexpr size_t kMaxMemberships4 = 20;
constexpr size_t kMaxSources4 = 10;

Ip4Address InAddr(const in_addr& a) { return Ip4Address(ntohl(a.s_addr)); }
Ip4Address SockaddrIn(const sockaddr_storage& ss) {
  sockaddr_in in{};
  std::memcpy(&in, &ss, sizeof(in));
  return InAddr(in.sin_addr);
}
}  // namespace

UdpSocket::UdpSocket(SocketContext ctx, UdpEngine* udp)
    : Socket(std::move(ctx), SOCK_DGRAM, IPPROTO_UDP), udp_(udp) {}

UdpSocket::~UdpSocket() { Close(); }

void UdpSocket::Close() {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return;
  closed_ = true;
  udp_->Unbind(this);
  for (const Ip6Address& g : groups6_) udp_->LeaveGroup6(g, ctx_.clock->Now());
  groups6_.clear();
  // ip_mc_drop_socket: every IPv4 membership goes with the socket.
  for (const Membership4& m : groups4_) {
    udp_->Listen4(this, m.group, McFilterMode::kInclude, {}, ctx_.clock->Now());
  }
  if (!groups4_.empty() && ctx_.kick) ctx_.kick();
  groups4_.clear();
  queue_.clear();
  queued_bytes_ = 0;
  NotifyLocked();
}

SysResult<void> UdpSocket::Bind(const SocketAddress& addr) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (UdpEndpoint::bound) return Err{EINVAL};
  UdpEndpoint::reuse_addr = reuse_addr_;
  UdpEndpoint::reuse_port = reuse_port_;
  SyncFamily();
  auto r = udp_->Bind(this, addr);
  // __inet6_bind: a specific IPv6 address makes the socket IPV6_V6ONLY.
  if (r.ok()) v6only_ = UdpEndpoint::v6only;
  return r;
}

SysResult<void> UdpSocket::Connect(const SocketAddress* to) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (to == nullptr) {
    // connect(AF_UNSPEC): dissolve the association (udp(7)); the port stays bound.
    remote.reset();
    return Ok();
  }
  // Port 0 is a destination like any other (ip4_datagram_connect does not look at it):
  // send() goes there, getpeername() says ENOTCONN (inet_getname: no inet_dport).
  IpAddress dst = to->ip;
  if (dst.is_unspecified()) dst = IpAddress(Ip4Address(127, 0, 0, 1));  // as Linux does
  // Linux refuses connect() to a broadcast address without SO_BROADCAST.
  if (dst.is_v4() && dst.v4().is_limited_broadcast() && !broadcast_) return Err{EACCES};
  SyncFamily();
  if (family_ == AF_INET6 && dst.is_v4() && v6only_) return Err{ENETUNREACH};
  auto src = udp_->SourceFor(dst, local.ip);
  if (!src.ok()) return Err{src.error()};
  if (!UdpEndpoint::bound) {
    UdpEndpoint::reuse_addr = reuse_addr_;
    UdpEndpoint::reuse_port = reuse_port_;
    // Autobind: the wildcard of the socket's family (`::` keeps an IPV6_V6ONLY socket
    // clear of the v4-mapped addresses it may not bind).
    auto r = udp_->Bind(this, SocketAddress{family_ == AF_INET6 ? IpAddress() : IpAddress(Ip4Address()), 0, 0});
    if (!r.ok()) return r;
  }
  // Linux fixes the source address of a connected socket when it was bound to the wildcard.
  if (local.ip.is_unspecified() || (local.ip.is_v4() && local.ip.v4().is_unspecified())) {
    local.ip = *src;
  }
  remote = SocketAddress{dst, to->port, to->scope_id};
  pending_error_ = 0;
  return Ok();
}

SysResult<size_t> UdpSocket::SendTo(ByteSpan data, const SocketAddress* to, int flags,
                                    const SendAncillary* anc) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (shut_wr_) return Err{EPIPE};
  if ((flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_CONFIRM | MSG_MORE | MSG_DONTROUTE)) != 0) {
    return Err{EOPNOTSUPP};
  }
  // A pending ICMP error is reported once, by the next call (udp(7)).
  if (const int e = TakePendingErrorLocked(); e != 0) return Err{e};
  SocketAddress dst;
  if (to != nullptr) {
    dst = *to;
    if (dst.port == 0) return Err{EINVAL};  // udp_sendmsg: an explicit port 0 only
  } else if (remote) {
    dst = *remote;
  } else {
    return Err{EDESTADDRREQ};
  }
  UdpSendOptions opts;
  opts.ttl = ttl_;
  opts.tos = tos_;
  opts.allow_broadcast = broadcast_;
  opts.dont_fragment = DontFragmentLocked();
  opts.multicast_ttl = multicast_ttl_;
  opts.multicast_loop = multicast_loop_;
  opts.multicast_if = multicast_if4_;
  opts.out_iface = bound_iface();
  if (anc != nullptr) {
    // ip_cmsg_send / ip6_datagram_send_ctl: this send's values over the options'.
    opts.src = anc->src;
    if (anc->tos >= 0) opts.tos = static_cast<uint8_t>(anc->tos);
    if (anc->ttl >= 0) {
      opts.ttl = static_cast<uint8_t>(anc->ttl);
      opts.multicast_ttl = static_cast<uint8_t>(anc->ttl);
      opts.hop_limit = anc->ttl;
    }
  }
  if (!UdpEndpoint::bound) {
    UdpEndpoint::reuse_addr = reuse_addr_;
    UdpEndpoint::reuse_port = reuse_port_;
  }
  SyncFamily();
  auto r = udp_->Send(this, dst, data, opts, ctx_.clock->Now());
  if (!r.ok()) return Err{r.error()};
  return data.size();
}

SysResult<void> UdpSocket::ChangeMembership6(const Ip6Address& group, bool join) {
  // ipv6_sock_mc_join/drop: only multicast groups; joining twice is EADDRINUSE, leaving a
  // group not joined EADDRNOTAVAIL.
  if (!group.is_multicast()) return Err{EINVAL};
  auto it = std::find(groups6_.begin(), groups6_.end(), group);
  if (join) {
    if (it != groups6_.end()) return Err{EADDRINUSE};
    if (groups6_.size() >= kMaxMemberships6) return Err{ENOBUFS};
    groups6_.push_back(group);
    udp_->JoinGroup6(group, ctx_.clock->Now());
    return Ok();
  }
  if (it == groups6_.end()) return Err{EADDRNOTAVAIL};
  groups6_.erase(it);
  udp_->LeaveGroup6(group, ctx_.clock->Now());
  return Ok();
}

SysResult<void> UdpSocket::Join4(Ip4Address group, McFilterMode mode) {
  // ip_mc_join_group: a multicast group, once per socket, at most igmp_max_memberships.
  if (!group.is_multicast()) return Err{EINVAL};
  for (const Membership4& m : groups4_) {
    if (m.group == group) return Err{EADDRINUSE};
  }
  if (groups4_.size() >= kMaxMemberships4) return Err{ENOBUFS};
  groups4_.push_back(Membership4{group, mode, {}});
  Report4(groups4_.back());
  return Ok();
}

SysResult<void> UdpSocket::Leave4(Ip4Address group) {
  auto it = std::find_if(groups4_.begin(), groups4_.end(),
                         [&](const Membership4& m) { return m.group == group; });
  if (it == groups4_.end()) return Err{EADDRNOTAVAIL};  // ip_mc_leave_group
  groups4_.erase(it);
  udp_->Listen4(this, group, McFilterMode::kInclude, {}, ctx_.clock->Now());
  if (ctx_.kick) ctx_.kick();
  return Ok();
}

void UdpSocket::Report4(const Membership4& m) {
  // RFC 3376 §2: the socket's new (mode, sources) for the group; the IGMP engine merges
  // it into the interface state and reports the change. The loop is woken: the first
  // report is due now.
  udp_->Listen4(this, m.group, m.mode, m.sources, ctx_.clock->Now());
  if (ctx_.kick) ctx_.kick();
}

SysResult<void> UdpSocket::ChangeSource4(Ip4Address group, Ip4Address source, bool add,
                                         McFilterMode mode) {
  // ip_mc_source: IP_ADD_SOURCE_MEMBERSHIP / IP_DROP_SOURCE_MEMBERSHIP work on INCLUDE
  // filters, IP_BLOCK_SOURCE / IP_UNBLOCK_SOURCE on EXCLUDE ones (RFC 3678 §4.1.2-§4.1.3).
  if (add && mode == McFilterMode::kInclude) {
    // ip_mc_join_group_ssm: the first source joins the group in INCLUDE mode.
    if (!group.is_multicast()) return Err{EINVAL};
    const bool member = std::any_of(groups4_.begin(), groups4_.end(),
                                    [&](const Membership4& m) { return m.group == group; });
    if (!member) {
      if (groups4_.size() >= kMaxMemberships4) return Err{ENOBUFS};
      groups4_.push_back(Membership4{group, McFilterMode::kInclude, {}});
    }
  }
  auto it = std::find_if(groups4_.begin(), groups4_.end(),
                         [&](const Membership4& m) { return m.group == group; });
  if (it == groups4_.end()) return Err{EINVAL};  // "must have a prior join"
  Membership4& m = *it;
  if (m.mode != mode) {
    // A filter with sources keeps its mode; an empty one may switch.
    if (!m.sources.empty()) return Err{EINVAL};
    m.mode = mode;
  }
  auto src = std::find(m.sources.begin(), m.sources.end(), source);
  if (!add) {
    if (src == m.sources.end()) return Err{EADDRNOTAVAIL};
    // "(INCLUDE, empty) == LEAVE_GROUP".
    if (m.sources.size() == 1 && mode == McFilterMode::kInclude) return Leave4(group);
    m.sources.erase(src);
    Report4(m);
    return Ok();
  }
  if (src != m.sources.end()) return Err{EADDRNOTAVAIL};  // already there
  if (m.sources.size() >= kMaxSources4) return Err{ENOBUFS};
  m.sources.push_back(source);
  Report4(m);
  return Ok();
}

SysResult<void> UdpSocket::GetFilter4(void* value, socklen_t* len) const {
  // ip_get_mcast_msfilter / ip_mc_msfget: the caller's ip_msfilter names the group and
  // how many sources it has room for; the mode and the real count come back, and as many
  // sources as fit.
  if (value == nullptr || len == nullptr || *len < IP_MSFILTER_SIZE(0)) return Err{EINVAL};
  ip_msfilter head{};
  std::memcpy(&head, value, IP_MSFILTER_SIZE(0));
  const Ip4Address group = InAddr(head.imsf_multiaddr);
  if (!group.is_multicast()) return Err{EINVAL};
  const Ip4Address ifaddr = InAddr(head.imsf_interface);
  if (!ifaddr.is_unspecified() && !udp_->IsOurIp4(ifaddr)) return Err{ENODEV};
  auto it = std::find_if(groups4_.begin(), groups4_.end(),
                         [&](const Membership4& m) { return m.group == group; });
  if (it == groups4_.end()) return Err{EADDRNOTAVAIL};
  const uint32_t count = static_cast<uint32_t>(it->sources.size());
  const uint32_t copy = std::min({count, head.imsf_numsrc,
                                  static_cast<uint32_t>((*len - IP_MSFILTER_SIZE(0)) / sizeof(in_addr))});
  head.imsf_fmode = it->mode == McFilterMode::kInclude ? MCAST_INCLUDE : MCAST_EXCLUDE;
  head.imsf_numsrc = count;
  std::memcpy(value, &head, IP_MSFILTER_SIZE(0));
  for (uint32_t i = 0; i < copy; ++i) {
    const in_addr a{htonl(it->sources[i].value())};
    std::memcpy(static_cast<uint8_t*>(value) + IP_MSFILTER_SIZE(i), &a, sizeof(a));
  }
  *len = static_cast<socklen_t>(IP_MSFILTER_SIZE(copy));
  return Ok();
}

bool UdpSocket::Accepts4(Ip4Address group, Ip4Address src) const {
  // ip_mc_sf_allow: a group this socket has not joined is taken (IP_MULTICAST_ALL, on by
  // default); a joined one through the socket's own filter.
  for (const Membership4& m : groups4_) {
    if (m.group != group) continue;
    const bool listed = std::find(m.sources.begin(), m.sources.end(), src) != m.sources.end();
    return m.mode == McFilterMode::kInclude ? listed : !listed;
  }
  return multicast_all_;
}

SysResult<void> UdpSocket::SetOption4(int name, const void* value, socklen_t len) {
  switch (name) {
    case IP_ADD_MEMBERSHIP:
    case IP_DROP_MEMBERSHIP: {
      // do_ip_setsockopt: an ip_mreq, or an ip_mreqn when long enough for one.
      ip_mreqn mreq{};
      if (value == nullptr || len < sizeof(ip_mreq)) return Err{EINVAL};
      std::memcpy(&mreq, value, len >= sizeof(ip_mreqn) ? sizeof(ip_mreqn) : sizeof(ip_mreq));
      const Ip4Address ifaddr = InAddr(mreq.imr_address);
      // ip_mc_find_dev: an interface address that is not ours names no device.
      if (mreq.imr_ifindex == 0 && !ifaddr.is_unspecified() && !udp_->IsOurIp4(ifaddr)) {
        return Err{ENODEV};
      }
      const Ip4Address group = InAddr(mreq.imr_multiaddr);
      return name == IP_ADD_MEMBERSHIP ? Join4(group, McFilterMode::kExclude) : Leave4(group);
    }
    case IP_ADD_SOURCE_MEMBERSHIP:
    case IP_DROP_SOURCE_MEMBERSHIP:
    case IP_BLOCK_SOURCE:
    case IP_UNBLOCK_SOURCE: {
      ip_mreq_source mreqs{};
      if (value == nullptr || len != sizeof(mreqs)) return Err{EINVAL};
      std::memcpy(&mreqs, value, sizeof(mreqs));
      const Ip4Address ifaddr = InAddr(mreqs.imr_interface);
      if (!ifaddr.is_unspecified() && !udp_->IsOurIp4(ifaddr)) return Err{ENODEV};
      const bool include = name == IP_ADD_SOURCE_MEMBERSHIP || name == IP_DROP_SOURCE_MEMBERSHIP;
      const bool add = name == IP_ADD_SOURCE_MEMBERSHIP || name == IP_BLOCK_SOURCE;
      return ChangeSource4(InAddr(mreqs.imr_multiaddr), InAddr(mreqs.imr_sourceaddr), add,
                           include ? McFilterMode::kInclude : McFilterMode::kExclude);
    }
    case MCAST_JOIN_GROUP:
    case MCAST_LEAVE_GROUP: {
      // RFC 3678 §5.1 (do_mcast_group_source / ip_mc_join_group with the index).
      group_req req{};
      if (value == nullptr || len < sizeof(req)) return Err{EINVAL};
      std::memcpy(&req, value, sizeof(req));
      if (req.gr_group.ss_family != AF_INET) return Err{EINVAL};
      const Ip4Address group = SockaddrIn(req.gr_group);
      return name == MCAST_JOIN_GROUP ? Join4(group, McFilterMode::kExclude) : Leave4(group);
    }
    case MCAST_JOIN_SOURCE_GROUP:
    case MCAST_LEAVE_SOURCE_GROUP:
    case MCAST_BLOCK_SOURCE:
    case MCAST_UNBLOCK_SOURCE: {
      // RFC 3678 §5.2: do_mcast_group_source, AF_INET group and source.
      group_source_req req{};
      if (value == nullptr || len < sizeof(req)) return Err{EINVAL};
      std::memcpy(&req, value, sizeof(req));
      if (req.gsr_group.ss_family != AF_INET || req.gsr_source.ss_family != AF_INET) {
        return Err{EINVAL};
      }
      const bool include = name == MCAST_JOIN_SOURCE_GROUP || name == MCAST_LEAVE_SOURCE_GROUP;
      const bool add = name == MCAST_JOIN_SOURCE_GROUP || name == MCAST_BLOCK_SOURCE;
      return ChangeSource4(SockaddrIn(req.gsr_group), SockaddrIn(req.gsr_source), add,
                           include ? McFilterMode::kInclude : McFilterMode::kExclude);
    }
    case IP_MSFILTER: {
      // RFC 3678 §4.2.1 (setsourcefilter's IPv4 form): the whole filter at once, checked
      // as ip_set_mcast_msfilter and ip_mc_msfilter check it.
      if (value == nullptr || len < IP_MSFILTER_SIZE(0)) return Err{EINVAL};
      ip_msfilter head{};
      std::memcpy(&head, value, IP_MSFILTER_SIZE(0));
      if (head.imsf_numsrc >= 0x3ffffffcU || head.imsf_numsrc > kMaxSources4) return Err{ENOBUFS};
      if (IP_MSFILTER_SIZE(head.imsf_numsrc) > len) return Err{EINVAL};
      const Ip4Address group = InAddr(head.imsf_multiaddr);
      if (!group.is_multicast()) return Err{EINVAL};
      if (head.imsf_fmode != MCAST_INCLUDE && head.imsf_fmode != MCAST_EXCLUDE) return Err{EINVAL};
      const Ip4Address ifaddr = InAddr(head.imsf_interface);
      if (!ifaddr.is_unspecified() && !udp_->IsOurIp4(ifaddr)) return Err{ENODEV};
      // "(INCLUDE, empty) == LEAVE_GROUP".
      if (head.imsf_fmode == MCAST_INCLUDE && head.imsf_numsrc == 0) return Leave4(group);
      auto it = std::find_if(groups4_.begin(), groups4_.end(),
                             [&](const Membership4& m) { return m.group == group; });
      if (it == groups4_.end()) return Err{EINVAL};  // "must have a prior join"
      std::vector<Ip4Address> sources(head.imsf_numsrc);
      for (uint32_t i = 0; i < head.imsf_numsrc; ++i) {
        in_addr a{};
        std::memcpy(&a, static_cast<const uint8_t*>(value) + IP_MSFILTER_SIZE(i), sizeof(a));
        sources[i] = InAddr(a);
      }
      it->mode = head.imsf_fmode == MCAST_INCLUDE ? McFilterMode::kInclude : McFilterMode::kExclude;
      it->sources = std::move(sources);
      Report4(*it);
      return Ok();
    }
    case IP_MULTICAST_IF: {
      // do_ip_setsockopt: an ip_mreqn, an ip_mreq or an in_addr, by length; the address
      // (when no index is given) must be ours; 0.0.0.0 and no index reset it.
      ip_mreqn mreq{};
      if (value == nullptr || len < sizeof(in_addr)) return Err{EINVAL};
      if (len >= sizeof(ip_mreqn)) {
        std::memcpy(&mreq, value, sizeof(mreq));
      } else if (len >= sizeof(ip_mreq)) {
        std::memcpy(&mreq, value, sizeof(ip_mreq));
      } else {
        std::memcpy(&mreq.imr_address, value, sizeof(in_addr));
      }
      // (An ip_mreq's imr_interface lands in imr_address, as the kernel's copy puts it.)
      const Ip4Address a = InAddr(mreq.imr_address);
      if (mreq.imr_ifindex == 0 && !a.is_unspecified() && !udp_->IsOurIp4(a)) {
        return Err{EADDRNOTAVAIL};
      }
      multicast_if4_ = a;
      return Ok();
    }
    case IP_MULTICAST_ALL: {
      // ip(7): off, a socket gets only the groups it joined itself.
      int v = 0;
      if (value == nullptr || len < 1) return Err{EINVAL};
      if (len >= sizeof(int)) {
        std::memcpy(&v, value, sizeof(v));
      } else {
        v = *static_cast<const uint8_t*>(value);
      }
      if (v != 0 && v != 1) return Err{EINVAL};
      multicast_all_ = v == 1;
      return Ok();
    }
    default:
      return Err{ENOPROTOOPT};
  }
}

SysResult<void> UdpSocket::SetOption(int level, int name, const void* value, socklen_t len) {
  if (level == IPPROTO_IP) {
    std::lock_guard lock(*ctx_.mu);
    if (closed_) return Err{EBADF};
    auto r = SetOption4(name, value, len);
    if (r.ok() || r.error() != ENOPROTOOPT) return r;
  }
  if (level == SOL_SOCKET && name == SO_REUSEADDR) {
    auto r = Socket::SetOption(level, name, value, len);
    std::lock_guard lock(*ctx_.mu);
    // udp_lib_lport_inuse reads sk_reuse when a later bind looks: set after this socket
    // was bound, it still lets a bind that also sets it share the port.
    if (r.ok() && UdpEndpoint::bound) UdpEndpoint::reuse_addr = reuse_addr_;
    return r;
  }
  if (level != IPPROTO_IPV6 || family_ != AF_INET6) return Socket::SetOption(level, name, value, len);
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  int v = 0;
  switch (name) {
    case IPV6_V6ONLY:
      // do_ipv6_setsockopt: EINVAL once the socket has a port (inet_num), by bind() or
      // by the autobind of connect() or sendto().
      if (UdpEndpoint::bound) return Err{EINVAL};
      break;
    case IPV6_ADD_MEMBERSHIP:
    case IPV6_DROP_MEMBERSHIP: {
      ipv6_mreq mreq{};
      if (auto r = ReadOpt(value, len, &mreq); !r.ok()) return r;
      // One interface: its index or 0 ("the routing table's choice") name the same one.
      return ChangeMembership6(Ip6Address::FromBytes(mreq.ipv6mr_multiaddr.s6_addr),
                               name == IPV6_ADD_MEMBERSHIP);
    }
    case MCAST_JOIN_GROUP:
    case MCAST_LEAVE_GROUP: {
      // RFC 3678 §5.1: the protocol-independent form; at this level only AF_INET6 groups.
      group_req req{};
      if (auto r = ReadOpt(value, len, &req); !r.ok()) return r;
      if (req.gr_group.ss_family != AF_INET6) return Err{EINVAL};
      sockaddr_in6 in6{};
      std::memcpy(&in6, &req.gr_group, sizeof(in6));
      return ChangeMembership6(Ip6Address::FromBytes(in6.sin6_addr.s6_addr), name == MCAST_JOIN_GROUP);
    }
    case IPV6_MULTICAST_HOPS:
      if (auto r = ReadOpt(value, len, &v); !r.ok()) return r;
      // ipv6(7): -1 means the default, 1.
      if (v < -1 || v > 255) return Err{EINVAL};
      UdpEndpoint::multicast_hops = static_cast<uint8_t>(v == -1 ? 1 : v);
      return Ok();
    case IPV6_MULTICAST_LOOP:
      if (auto r = ReadOpt(value, len, &v); !r.ok()) return r;
      if (v != 0 && v != 1) return Err{EINVAL};  // do_ipv6_setsockopt: a boolean only
      UdpEndpoint::multicast_loop = v == 1;
      return Ok();
    case IPV6_MULTICAST_IF:
      if (auto r = ReadOpt(value, len, &v); !r.ok()) return r;
      if (v < 0) return Err{EINVAL};
      multicast_if_ = v;
      return Ok();
    default:
      break;
  }
  return Socket::SetOption(level, name, value, len);
}

SysResult<void> UdpSocket::GetOption(int level, int name, void* value, socklen_t* len) {
  if (level == IPPROTO_IP && name == IP_MULTICAST_ALL) {
    std::lock_guard lock(*ctx_.mu);
    return WriteIpOpt(value, len, int{multicast_all_});
  }
  if (level == IPPROTO_IP && name == IP_MSFILTER) {
    std::lock_guard lock(*ctx_.mu);
    return GetFilter4(value, len);
  }
  if (level == IPPROTO_IPV6 && family_ == AF_INET6) {
    std::lock_guard lock(*ctx_.mu);
    switch (name) {
      case IPV6_MULTICAST_HOPS: return WriteOpt(value, len, int{UdpEndpoint::multicast_hops});
      case IPV6_MULTICAST_LOOP: return WriteOpt(value, len, int{UdpEndpoint::multicast_loop});
      case IPV6_MULTICAST_IF: return WriteOpt(value, len, multicast_if_);
      default: break;
    }
  }
  return Socket::GetOption(level, name, value, len);
}

void UdpSocket::SyncFamily() {
  UdpEndpoint::ipv6 = family_ == AF_INET6;
  UdpEndpoint::v6only = v6only_;
  UdpEndpoint::hop_limit = static_cast<uint8_t>(unicast_hops_ < 0 ? 0 : unicast_hops_);
}

SysResult<size_t> UdpSocket::RecvFrom(MutableByteSpan buf, SocketAddress* from, int flags,
                                      int* out_flags, RecvAncillary* anc) {
  if ((flags & MSG_ERRQUEUE) != 0) return RecvErrorQueue(buf, from, anc, out_flags);
  std::unique_lock lock(*ctx_.mu);
  if (const int e = WaitDatagramLocked(lock, flags, out_flags,
                                       [&] { return !queue_.empty() || shut_rd_; });
      e != 0) {
    return Err{e};
  }
  if (queue_.empty()) return size_t{0};  // shut down for reading
  Datagram& d = queue_.front();
  const size_t n = std::min(buf.size(), d.data.size());
  if (n > 0) std::memcpy(buf.data(), d.data.data(), n);
  const size_t full = d.data.size();
  if (from != nullptr) *from = d.from;
  if (out_flags != nullptr && full > n) *out_flags |= MSG_TRUNC;
  FillAncillaryLocked(d.meta.ttl, anc);
  // IP_RECVTTL is IPv4's (ip_cmsg_recv); an IPv6 datagram's hop limit is
  // IPV6_RECVHOPLIMIT's.
  if (anc != nullptr && !d.to.is_v4()) anc->has_ttl = false;
  if (!d.to.is_v4()) FillHopLimitLocked(d.meta.ttl, anc);
  FillPacketInfoLocked(d.to, d.meta.spec_dst, d.meta.tos, anc);
  if ((flags & MSG_PEEK) == 0) {
    queued_bytes_ -= full + kDatagramOverhead;
    queue_.pop_front();
  }
  return (flags & MSG_TRUNC) != 0 ? full : n;
}

SysResult<void> UdpSocket::Shutdown(int how) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return Err{EINVAL};
  // inet_shutdown: an unconnected socket (TCP_CLOSE) says ENOTCONN, but the shutdown is
  // recorded all the same ("wake up other listeners, who can poll for EPOLLHUP").
  if (how != SHUT_WR) shut_rd_ = true;
  if (how != SHUT_RD) shut_wr_ = true;
  NotifyLocked();
  if (!remote) return Err{ENOTCONN};
  return Ok();
}

SysResult<SocketAddress> UdpSocket::LocalAddress() const {
  std::lock_guard lock(*ctx_.mu);
  SocketAddress a = local;
  // Unbound: 0.0.0.0 on AF_INET, :: on AF_INET6 (inet6_getname), not ::ffff:0.0.0.0.
  if (a.ip.is_unspecified()) a.ip = family_ == AF_INET6 ? IpAddress() : IpAddress(Ip4Address());
  return a;
}

SysResult<SocketAddress> UdpSocket::PeerAddress() const {
  std::lock_guard lock(*ctx_.mu);
  if (!remote || remote->port == 0) return Err{ENOTCONN};
  return *remote;
}

size_t UdpSocket::NextDatagramSize() const {
  std::lock_guard lock(*ctx_.mu);
  return queue_.empty() ? 0 : queue_.front().data.size();
}

ReadinessMask UdpSocket::PollLocked() const {
  ReadinessMask m = 0;
  if (!queue_.empty() || shut_rd_) m |= POLLIN | POLLRDNORM;
  m |= POLLOUT | POLLWRNORM;  // datagram_poll: sock_writeable, whatever the shutdown
  if (pending_error_ != 0 || !error_queue_.empty()) m |= POLLERR;
  if (shut_rd_ && shut_wr_) m |= POLLHUP;
  if (shut_rd_) m |= POLLRDHUP;
  return m;
}

void UdpSocket::set_bound_iface(int iface) {
  std::lock_guard lock(*ctx_.mu);
  Socket::set_bound_iface(iface);
  UdpEndpoint::bound_device = iface;
}

void UdpSocket::OnDatagram(const SocketAddress& from, const IpAddress& to, ByteSpan payload,
                           const UdpRxMeta& meta, Instant) {
  if (shut_rd_) return;
  if (bound_iface() >= 0 && meta.iface != bound_iface()) return;  // SO_BINDTODEVICE
  if (to.is_v4() && to.v4().is_multicast() && from.ip.is_v4() && !Accepts4(to.v4(), from.ip.v4())) {
    return;
  }
  const size_t charge = payload.size() + kDatagramOverhead;
  // Linux drops when the queue is over the limit (udp(7) "receive buffer errors").
  if (queued_bytes_ + charge > static_cast<size_t>(rcvbuf_) && !queue_.empty()) {
    ++drops_;
    return;
  }
  queue_.push_back(Datagram{from, to, meta, std::vector<uint8_t>(payload.begin(), payload.end())});
  queued_bytes_ += charge;
  NotifyLocked();
}

namespace {

// The extended error of a UDP datagram: the destination port and the payload after the
// UDP header, as far as the error quoted them.
template <typename Addr>
SocketError UdpSocketError(const IpErrorInfo<Addr>& error, uint8_t origin) {
  const ByteSpan l4 = error.orig_l4;
  return SocketErrorFrom(error, origin, l4.size() >= 4 ? LoadBe16(l4.data() + 2) : uint16_t{0},
                         l4.size() > kUdpHeaderSize ? l4.subspan(kUdpHeaderSize) : ByteSpan());
}

}  // namespace

void UdpSocket::OnIcmpError(const Ip4ErrorInfo& error, Instant) {
  if (recverr_) {
    // ip(7) IP_RECVERR (Linux udp_err/ip_icmp_error): queue the error with the offending
    // datagram's payload and destination, and report it once through the next call too,
    // connected or not (traceroute relies on this).
    // SO_EE_ORIGIN_ICMP (a locally detected ARP failure also arrives so).
    SocketError e = UdpSocketError(error, 2);
    e.offender = error.reporter;
    QueueErrorLocked(std::move(e));
    pending_error_ = error.error;
    NotifyLocked();
    return;
  }
  // udp(7): without IP_RECVERR, errors are only reported to connected sockets.
  if (!remote) return;
  pending_error_ = error.error;
  NotifyLocked();
}

void UdpSocket::OnIcmp6Error(const Ip6ErrorInfo& error, Instant now) {
  if (!recverr_) {
    UdpEndpoint::OnIcmp6Error(error, now);
    return;
  }
  // ipv6(7) IPV6_RECVERR (Linux __udp6_lib_err/ipv6_icmp_error): as for IPv4, with the
  // ICMPv6 type and code and the reporting router's IPv6 address.
  SocketError e = UdpSocketError(error, 3);  // SO_EE_ORIGIN_ICMP6
  e.offender6 = error.local ? error.orig_src : error.reporter;
  QueueErrorLocked(std::move(e));
  pending_error_ = error.error;
  NotifyLocked();
}

// ---------------------------------------------------------------------------------
// The protocol-independent API (socket.h).

size_t UdpSocket::QueueLength() const {
  std::lock_guard lock(*ctx_.mu);
  return queue_.size();
}

SysResult<size_t> UdpSocket::SendMsg(std::span<const ByteSpan> parts, const SocketAddress* to,
                                     int flags) {
  return SendTo(Gather(parts), to, flags);
}

SysResult<size_t> UdpSocket::SendMsgWith(std::span<const ByteSpan> parts, const SocketAddress* to,
                                         int flags, const SendAncillary& anc) {
  return SendTo(Gather(parts), to, flags, &anc);
}

SysResult<size_t> UdpSocket::RecvMsg(std::span<const MutableByteSpan> parts, SocketAddress* from,
                                     int flags, int* out_flags, RecvAncillary* anc) {
  // The largest UDP payload over IPv4 (65535 - 20 - 8): nothing longer can arrive.
  return RecvScattered(parts, 65507, [&](MutableByteSpan buf) {
    return RecvFrom(buf, from, flags, out_flags, anc);
  });
}

}  // namespace pytcp
