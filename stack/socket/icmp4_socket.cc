#include "stack/socket/icmp4_socket.h"

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/socket/socket_option.h"

namespace pytcp {
namespace {
// <linux/icmp.h>: setsockopt(SOL_RAW, ICMP_FILTER, struct icmp_filter{uint32 data}).
constexpr int kSolRaw = 255;
constexpr int kIcmpFilter = 1;
}  // namespace

void Icmp4Socket::FillMessageAncillaryLocked(const ReceivedMessage& m, RecvAncillary* anc) {
  FillAncillaryLocked(m.hops, anc);
}

SysResult<void> Icmp4Socket::SetOption(int level, int name, const void* value, socklen_t len) {
  if (level == kSolRaw) {
    std::lock_guard lock(*ctx_.mu);
    if (!raw() || name != kIcmpFilter) return Err{ENOPROTOOPT};
    // The kernel's optlen is an int: do_sock_setsockopt refuses a negative one.
    if (static_cast<int>(len) < 0) return Err{EINVAL};
    // raw_seticmpfilter: a longer value is cut to struct icmp_filter; a shorter one is
    // copied over the filter's first bytes as far as it goes (the others keep their bits,
    // no EINVAL), and nothing at all is read for an empty one.
    const size_t n = std::min<size_t>(len, sizeof(filter_));
    if (n > 0 && value == nullptr) return Err{EFAULT};
    if (n > 0) std::memcpy(&filter_, value, n);
    return Ok();
  }
  return Socket::SetOption(level, name, value, len);
}

SysResult<void> Icmp4Socket::GetOption(int level, int name, void* value, socklen_t* len) {
  if (level == kSolRaw) {
    std::lock_guard lock(*ctx_.mu);
    if (!raw() || name != kIcmpFilter) return Err{ENOPROTOOPT};
    // raw_geticmpfilter: a negative length is EINVAL, a longer one cut to the filter's
    // size, a shorter one gets the filter's first bytes (WriteOpt's conventions); an empty
    // one needs no buffer.
    if (len != nullptr && *len == 0) return Ok();
    return WriteOpt(value, len, filter_);
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

}  // namespace pytcp
