#include "stack/socket/icmp4_socket.h"

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pytcp {
namespace {
// <linux/icmp.h>: setsockopt(SOL_RAW, ICMP_FILTER, struct icmp_filter{uint32 data}).
constexpr int kSolRaw = 255;
constexpr int kIcmpFilter = 1;
}  // namespace

Icmp4Socket::Icmp4Socket(SocketContext ctx, Icmp4Sockets* table, int type)
    : IcmpMessageSocket(std::move(ctx), type, IPPROTO_ICMP), table_(table) {
  if (raw()) {
    std::lock_guard lock(*ctx_.mu);
    table_->AddRaw(this);
  }
}

Icmp4Socket::~Icmp4Socket() { Close(); }

SysResult<bool> Icmp4Socket::Bind(const SocketAddress& addr) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (!addr.ip.is_v4()) return Err{EAFNOSUPPORT};
  if (raw()) {
    // raw(7): binding only fixes the local address (there are no ports).
    if (!addr.ip.is_unspecified() && !addr.ip.v4().is_loopback() &&
        !table_->SourceFor(addr.ip.v4(), addr.ip.v4()).ok()) {
      return Err{EADDRNOTAVAIL};
    }
    local.ip = addr.ip;
    return true;
  }
  if (bound) return Err{EINVAL};
  return table_->BindPing(this, addr);
}

Result<IpAddress, int> Icmp4Socket::SourceForLocked(const IpAddress& dst) const {
  auto src =
      table_->SourceFor(dst.v4(), local.ip.is_unspecified() ? Ip4Address() : local.ip.v4());
  if (!src.ok()) return Err{src.error()};
  return IpAddress(*src);
}

Result<bool, int> Icmp4Socket::BindPingLocked(const SocketAddress& addr) {
  return table_->BindPing(this, addr);
}

SysResult<size_t> Icmp4Socket::SendTo(ByteSpan message, const SocketAddress* to, int flags) {
  std::lock_guard lock(*ctx_.mu);
  auto target = SendTargetLocked(to, flags, EAFNOSUPPORT);
  if (!target.ok()) return Err{target.error()};
  const Ip4Address dst = target->ip.v4();
  Icmp4SendOptions opts;
  opts.ttl = ttl_;
  opts.tos = tos_;
  opts.allow_broadcast = broadcast_;
  opts.dont_fragment = mtu_discover_ == IP_PMTUDISC_DO || mtu_discover_ == IP_PMTUDISC_PROBE;
  const Instant now = ctx_.clock->Now();
  auto r = raw() ? table_->SendRaw(this, dst, message, opts, now)
                 : table_->SendPing(this, dst, message, opts, now);
  if (!r.ok()) {
    // ping: "local error: message too long".
    if (r.error() == EMSGSIZE && opts.dont_fragment) {
      QueueLocalTooBigLocked(table_->Mtu(), SocketAddress{IpAddress(dst), 0, 0});
    }
    return Err{r.error()};
  }
  return message.size();
}

void Icmp4Socket::FillMessageAncillaryLocked(const ReceivedMessage& m, RecvAncillary* anc) {
  FillAncillaryLocked(m.hops, anc);
}

SysResult<bool> Icmp4Socket::SetOption(int level, int name, const void* value, socklen_t len) {
  if (level == kSolRaw) {
    std::lock_guard lock(*ctx_.mu);
    if (!raw() || name != kIcmpFilter) return Err{ENOPROTOOPT};
    if (value == nullptr) return Err{EFAULT};
    // raw_seticmpfilter: a shorter value is taken as far as it goes, a longer one cut.
    uint32_t mask = 0;
    std::memcpy(&mask, value, std::min<size_t>(static_cast<size_t>(len), sizeof(mask)));
    filter_ = mask;
    return true;
  }
  return Socket::SetOption(level, name, value, len);
}

SysResult<bool> Icmp4Socket::GetOption(int level, int name, void* value, socklen_t* len) {
  if (level == kSolRaw) {
    std::lock_guard lock(*ctx_.mu);
    if (!raw() || name != kIcmpFilter) return Err{ENOPROTOOPT};
    if (value == nullptr || len == nullptr) return Err{EFAULT};
    if (static_cast<int>(*len) < 0) return Err{EINVAL};
    const size_t n = std::min<size_t>(*len, sizeof(filter_));
    std::memcpy(value, &filter_, n);
    *len = static_cast<socklen_t>(n);
    return true;
  }
  return Socket::GetOption(level, name, value, len);
}

void Icmp4Socket::OnIcmpMessage(const Ip4PacketInfo& info, const Icmp4View& icmp, Instant) {
  if (closed_) return;
  const auto type = static_cast<uint8_t>(icmp.type());
  // raw(7) ICMP_FILTER: a set bit n drops messages of type n.
  if (raw() && type < 32 && (filter_ & (1u << type)) != 0) return;
  // A raw socket reads the IPv4 header too; a ping socket the ICMP message only.
  QueueMessageLocked(IpAddress(info.src), info.ttl, raw() ? info.datagram : icmp.message());
}

void Icmp4Socket::OnIcmpError(const Ip4ErrorInfo& error, Instant) {
  if (closed_) return;
  SocketError e = SocketErrorFrom(error, 2, 0, error.orig_l4);  // SO_EE_ORIGIN_ICMP
  e.offender = error.reporter;
  // ping_err's harderr rule.
  const bool hard = error.icmp_type == static_cast<uint8_t>(Icmp4Type::kDestinationUnreachable) ||
                    error.icmp_type == static_cast<uint8_t>(Icmp4Type::kParameterProblem);
  ReportIcmpErrorLocked(std::move(e), hard);
}

}  // namespace pytcp
