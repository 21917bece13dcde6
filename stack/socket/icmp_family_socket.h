// An ICMP socket of one family over its table (icmp/icmp_sockets.h): what an ICMPv4 and an
// ICMPv6 socket do alike once the family is known (bind, sendto, the binding the table
// keeps, the implicit bind of a ping socket, the source a connect() picks, the errors it
// reports), written once for both. icmp4_socket.h and icmp6_socket.h add what the
// families' sockets do differently: their send options, filters and control messages.
#pragma once

#include <cerrno>
#include <mutex>
#include <utility>

#include "stack/icmp/icmp_sockets.h"
#include "stack/socket/icmp_message_socket.h"

namespace pytcp {

// An ICMP error as IP_RECVERR queues it: SO_EE_ORIGIN_ICMP with an IPv4 offender...
inline SocketError IcmpSocketError(const IpErrorInfo<Ip4Address>& error) {
  SocketError e = SocketErrorFrom(error, 2, 0, error.orig_l4);
  e.offender = error.reporter;
  return e;
}
// ... and as IPV6_RECVERR does: SO_EE_ORIGIN_ICMP6 (3) with an IPv6 one.
inline SocketError IcmpSocketError(const IpErrorInfo<Ip6Address>& error) {
  SocketError e = SocketErrorFrom(error, 3, 0, error.orig_l4);
  e.offender6 = error.reporter;
  return e;
}

template <typename Family>
class IcmpFamilySocket : public IcmpMessageSocket, protected IcmpEndpoint<Family> {
 public:
  using Table = IcmpSockets<Family>;

  SysResult<void> Bind(const SocketAddress& addr) override {
    std::lock_guard lock(*ctx_.mu);
    if (closed_) return Err{EBADF};
    // ping_check_bind_addr, raw_bind: EAFNOSUPPORT for an IPv6 address on an IPv4 socket;
    // rawv6_bind: EINVAL for a v4-mapped address on an IPv6 one.
    if (!Family::Holds(addr.ip)) return Err{Family::kOtherFamilyError};
    if (raw()) {
      // raw(7): binding only fixes the local address (there are no ports).
      if (!addr.ip.is_unspecified() && !table_->IsOurs(Family::AddressOf(addr.ip))) {
        return Err{EADDRNOTAVAIL};
      }
      this->local.ip = addr.ip;
      this->local.scope_id = addr.scope_id;
      return Ok();
    }
    if (this->bound) return Err{EINVAL};
    return table_->BindPing(this, addr);
  }

  SysResult<size_t> SendTo(ByteSpan message, const SocketAddress* to, int flags) override {
    std::lock_guard lock(*ctx_.mu);
    auto target = SendTargetLocked(to, flags, Family::kOtherFamilyError);
    if (!target.ok()) return Err{target.error()};
    const typename Family::Address dst = Family::AddressOf(target->ip);
    const typename Family::SendOptions opts = SendOptionsLocked(*target);
    const Instant now = ctx_.clock->Now();
    auto r = raw() ? table_->SendRaw(this, dst, message, opts, now)
                   : table_->SendPing(this, dst, message, opts, now);
    if (!r.ok()) {
      // ping: "local error: message too long, mtu: 1500".
      if (r.error() == EMSGSIZE && opts.dont_fragment) {
        QueueLocalTooBigLocked(table_->PathMtu(dst),
                               SocketAddress{target->ip, Family::LocalErrorPort(message), 0});
      }
      return Err{r.error()};
    }
    // A message to ourselves (our address, or a group we are in) that waits in the IP
    // engine's loopback queue: the event loop must run it now, not at its next wake-up.
    if (Family::kLoopbackQueued && (dst.is_multicast() || table_->IsOurs(dst)) && ctx_.kick) {
      ctx_.kick();
    }
    return message.size();
  }

 protected:
  IcmpFamilySocket(SocketContext ctx, Table* table, int type, int protocol)
      : IcmpMessageSocket(std::move(ctx), type, protocol), table_(table) {}

  // A raw socket hears every message from here on: the last step of the family socket's
  // constructor, once the callbacks the table calls exist.
  void JoinTable() {
    if (!raw()) return;
    std::lock_guard lock(*ctx_.mu);
    table_->AddRaw(this);
  }

  IcmpBinding& binding() override { return *this; }
  const IcmpBinding& binding() const override { return *this; }
  bool IsFamilyTarget(const SocketAddress& to) const override { return Family::Holds(to.ip); }
  Result<IpAddress, int> SourceForLocked(const IpAddress& dst) const override {
    const typename Family::Address hint = this->local.ip.is_unspecified()
                                              ? typename Family::Address()
                                              : Family::AddressOf(this->local.ip);
    auto src = table_->SourceFor(Family::AddressOf(dst), hint);
    if (!src.ok()) return Err{src.error()};
    return IpAddress(*src);
  }
  Result<void, int> BindPingLocked(const SocketAddress& addr) override {
    return table_->BindPing(this, addr);
  }
  void RemoveFromTableLocked() override { table_->Remove(this); }

  // The family's send options from the socket's (IP_TTL or IPV6_UNICAST_HOPS, ...).
  virtual typename Family::SendOptions SendOptionsLocked(const SocketAddress& dst) const = 0;

  void OnIcmpError(const typename IcmpEndpoint<Family>::ErrorInfo& error, Instant) override {
    if (closed_) return;
    // ping_err / pingv6_err, raw_err / rawv6_err: the hard errors (icmp_err_convert's and
    // icmpv6_err_convert's "fatal") are reported even without IP_RECVERR.
    const bool hard =
        error.icmp_type == Family::kUnreachable || error.icmp_type == Family::kParameterProblem;
    ReportIcmpErrorLocked(IcmpSocketError(error), hard);
  }

  Table* table_;
};

}  // namespace pytcp
