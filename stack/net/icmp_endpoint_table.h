// The bindings of ICMP sockets, the same for ICMPv4 and ICMPv6 (Linux's net/ipv4/ping.c
// serves both families with one table): ping sockets bound to an echo identifier, which
// is their local "port", and raw endpoints, which see every message.
//
// RFCs to read: RFC 792 and RFC 4443 §4 (the identifier names the requester), RFC 6056
// (identifiers are picked like ephemeral ports). The family-specific tables
// (icmp4/icmp4_sockets.h, icmp6/icmp6_sockets.h) check addresses, send, and turn their
// engine's messages into calls on the endpoints found here.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "stack/base/bytes.h"
#include "stack/base/random.h"
#include "stack/base/result.h"
#include "stack/net/ephemeral_ports.h"
#include "stack/net/ip_address.h"

namespace pytcp {

// What every ICMP endpoint carries, owned by its table. For a ping socket local.port is
// the echo identifier; a raw endpoint's local address only filters what it receives.
struct IcmpBinding {
  SocketAddress local;
  std::optional<SocketAddress> remote;
  bool bound = false;
};

// `Endpoint` derives from IcmpBinding and has the family's message callbacks.
template <typename Endpoint>
class IcmpEndpointTable {
 public:
  // Binds a ping endpoint to `local` (port 0 picks a free identifier). The caller has
  // checked that a specified address is ours. EINVAL when already bound, EADDRINUSE when
  // the identifier is taken with an overlapping address, EAGAIN when none is free.
  Result<void, int> BindPing(Endpoint* ep, SocketAddress local, Random& random) {
    if (ep->bound) return Err{EINVAL};
    if (local.port == 0) {
      // RFC 6056 §3.3.1 (Algorithm 1), as for UDP ports.
      const auto id =
          FreeEphemeralPort(static_cast<uint32_t>(random.Below(kEphemeralPortCount)), ping_);
      if (!id) return Err{EAGAIN};
      local.port = *id;
    } else {
      // ping_get_port: an identifier is shared only with SO_REUSEADDR on both; that is not
      // kept here, so a used identifier with an overlapping address is refused.
      auto it = ping_.find(local.port);
      if (it != ping_.end()) {
        for (const Endpoint* other : it->second) {
          if (other->local.ip.is_unspecified() || local.ip.is_unspecified() ||
              other->local.ip == local.ip) {
            return Err{EADDRINUSE};
          }
        }
      }
    }
    ep->local = local;
    ep->bound = true;
    ping_[local.port].push_back(ep);
    return Ok();
  }

  void AddRaw(Endpoint* ep) {
    if (std::find(raw_.begin(), raw_.end(), ep) == raw_.end()) raw_.push_back(ep);
  }

  void Remove(Endpoint* ep) {
    std::erase(raw_, ep);
    if (!ep->bound) return;
    RemovePortUser(ping_, ep->local.port, ep);
    ep->bound = false;
  }

  // raw(7): every raw endpoint not bound to another address than `ours` gets a copy. The
  // list is copied first: an endpoint may close itself from its callback.
  template <typename Fn>  // fn(Endpoint*)
  void ForEachRaw(const IpAddress& ours, Fn&& fn) const {
    if (raw_.empty()) return;
    const std::vector<Endpoint*> raw = raw_;
    for (Endpoint* ep : raw) {
      if (ep->local.ip.is_unspecified() || ep->local.ip == ours) fn(ep);
    }
  }

  // The ping endpoint an echo identifier names (RFC 792, RFC 4443 §4.2: the reply or the
  // quoted request carries it) on the address `ours`, or nullptr.
  Endpoint* FindPing(uint16_t id, const IpAddress& ours) const {
    auto it = ping_.find(id);
    if (it == ping_.end()) return nullptr;
    for (Endpoint* ep : it->second) {
      if (ep->local.ip.is_unspecified() || ep->local.ip == ours) return ep;
    }
    return nullptr;
  }

  // A received message to `ours`: a copy to every raw endpoint (raw(7), RFC 3542 §3), and
  // an echo reply (`echo_reply_id`: its identifier; nullopt for any other message) to the
  // ping endpoint it names. True when a ping endpoint took it.
  template <typename Fn>  // fn(Endpoint*)
  bool DeliverMessage(const IpAddress& ours, std::optional<uint16_t> echo_reply_id, Fn&& fn) const {
    ForEachRaw(ours, fn);
    if (!echo_reply_id) return false;
    Endpoint* ep = FindPing(*echo_reply_id, ours);
    if (ep == nullptr) return false;
    fn(ep);
    return true;
  }

  // An ICMP error about a message sent from `ours`, `quoted` being the ICMP header the
  // error quoted (at least 8 bytes): every raw endpoint hears it (raw_err, rawv6_err), and
  // so does the ping endpoint whose echo request (type `echo_request`) it was (ping_err).
  template <typename Fn>  // fn(Endpoint*)
  void DeliverError(const IpAddress& ours, ByteSpan quoted, uint8_t echo_request, Fn&& fn) const {
    ForEachRaw(ours, fn);
    if (quoted[0] != echo_request) return;
    if (Endpoint* ep = FindPing(LoadBe16(quoted.data() + 4), ours)) fn(ep);
  }

  template <typename Fn>  // fn(const Endpoint&, bool raw)
  void ForEachEndpoint(Fn&& fn) const {
    for (const auto& [id, eps] : ping_) {
      for (const Endpoint* ep : eps) fn(*ep, false);
    }
    for (const Endpoint* ep : raw_) fn(*ep, true);
  }

 private:
  absl::flat_hash_map<uint16_t, std::vector<Endpoint*>> ping_;
  std::vector<Endpoint*> raw_;
};

}  // namespace pytcp
