#include "stack/dhcp4/dhcp4_server.h"

#include <algorithm>

namespace pytcp {
namespace {

// The client's key (RFC 2131 §4.2): its client identifier, else htype and chaddr.
std::vector<uint8_t> ClientKey(const Dhcp4View& m) {
  if (auto id = m.client_id(); id && !id->empty()) return {id->begin(), id->end()};
  std::vector<uint8_t> key{m.htype()};
  key.insert(key.end(), m.chaddr().begin(), m.chaddr().end());
  return key;
}

uint32_t Seconds(Duration d) {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

}  // namespace

Dhcp4Server::Lease* Dhcp4Server::FindByClient(ByteSpan client, Instant now) {
  for (Lease& l : leases_) {
    if (l.expires > now && std::equal(l.client.begin(), l.client.end(), client.begin(), client.end())) {
      return &l;
    }
  }
  return nullptr;
}

Dhcp4Server::Lease* Dhcp4Server::FindByAddress(Ip4Address address, Instant now) {
  for (Lease& l : leases_) {
    if (l.expires > now && l.address == address) return &l;
  }
  return nullptr;
}

std::optional<Ip4Address> Dhcp4Server::Choose(ByteSpan client, std::optional<Ip4Address> requested,
                                              Instant now) {
  // Expired leases give their addresses back; the table never outgrows the pool.
  std::erase_if(leases_, [&](const Lease& l) { return l.expires <= now; });
  if (Lease* own = FindByClient(client, now)) return own->address;
  const auto free = [&](Ip4Address a) {
    return InPool(a) && a != config_.server.address() && FindByAddress(a, now) == nullptr;
  };
  if (requested && free(*requested)) return requested;
  for (uint64_t v = config_.first.value(); v <= config_.last.value(); ++v) {
    if (const Ip4Address a(static_cast<uint32_t>(v)); free(a)) return a;
  }
  return std::nullopt;
}

Dhcp4Server::Reply Dhcp4Server::Answer(const Dhcp4View& request, Dhcp4MessageType type,
                                       Ip4Address yiaddr, bool with_lease) {
  Dhcp4Message m;
  m.op = Dhcp4Op::kBootReply;
  m.xid = request.xid();
  m.broadcast = request.broadcast();
  m.ciaddr = request.ciaddr();
  m.yiaddr = yiaddr;
  m.chaddr = request.client_mac().value_or(MacAddress());
  m.message_type = type;
  m.server_id = config_.server.address();
  // RFC 2131 §4.3.1 Table 3: a lease time in OFFER and ACK (not for INFORM), with T1 and
  // T2 at their defaults (§4.4.5: 0.5 and 0.875 of it).
  if (with_lease) {
    m.lease_time = Seconds(config_.lease_time);
    m.renewal_time = Seconds(config_.lease_time) / 2;
    m.rebinding_time = static_cast<uint32_t>(uint64_t{Seconds(config_.lease_time)} * 7 / 8);
  }
  const Ip4Address router = config_.server.address();
  m.subnet_mask = config_.server.netmask();
  m.routers = std::span<const Ip4Address>(&router, 1);
  m.dns_servers = config_.dns;
  if (auto b = config_.server.directed_broadcast()) m.broadcast_address = *b;
  Reply r;
  r.message.resize(m.size());
  m.Emit(r.message);
  // RFC 2131 §4.1: to ciaddr when the client has one; else broadcast when it asks; else
  // unicast to its hardware address and yiaddr.
  if (!request.ciaddr().is_unspecified()) {
    r.to = request.ciaddr();
  } else if (request.broadcast() || !request.client_mac()) {
    r.to = Ip4Address::Broadcast();
    r.broadcast = true;
  } else {
    r.to = yiaddr;
    r.to_mac = *request.client_mac();
  }
  return r;
}

Dhcp4Server::Reply Dhcp4Server::Nak(const Dhcp4View& request) {
  counters_.Inc(Dhcp4ServerCounter::kTxNaks);
  Dhcp4Message m;
  m.op = Dhcp4Op::kBootReply;
  m.xid = request.xid();
  m.broadcast = request.broadcast();
  m.chaddr = request.client_mac().value_or(MacAddress());
  m.message_type = Dhcp4MessageType::kNak;
  m.server_id = config_.server.address();
  Reply r;
  r.message.resize(m.size());
  m.Emit(r.message);
  // §4.1: a DHCPNAK is broadcast (the client's address is what is wrong).
  r.to = Ip4Address::Broadcast();
  r.broadcast = true;
  return r;
}

std::optional<Dhcp4Server::Reply> Dhcp4Server::Receive(ByteSpan message, Instant now) {
  counters_.Inc(Dhcp4ServerCounter::kRxMessages);
  auto parsed = Dhcp4View::Parse(message);
  if (!parsed.ok() || parsed->op() != Dhcp4Op::kBootRequest || !parsed->giaddr().is_unspecified() ||
      parsed->hlen() == 0) {
    counters_.Inc(Dhcp4ServerCounter::kRxDropInvalid);
    return std::nullopt;
  }
  const Dhcp4View& m = *parsed;
  const std::vector<uint8_t> client = ClientKey(m);
  const std::optional<Ip4Address> server_id = m.server_id();
  const std::optional<Ip4Address> requested = m.requested_ip();
  const bool ours = !server_id || *server_id == config_.server.address();
  switch (m.message_type()) {
    case Dhcp4MessageType::kDiscover: {
      // §4.3.1: choose an address and offer it, holding it for a while.
      const auto address = Choose(client, requested, now);
      if (!address) {
        counters_.Inc(Dhcp4ServerCounter::kPoolExhausted);
        return std::nullopt;
      }
      Lease* lease = FindByClient(client, now);
      if (lease == nullptr) {
        leases_.push_back(Lease{client, m.client_mac().value_or(MacAddress()), *address,
                                now + config_.offer_hold, false});
      } else if (!lease->bound) {
        lease->expires = now + config_.offer_hold;
      }
      counters_.Inc(Dhcp4ServerCounter::kTxOffers);
      return Answer(m, Dhcp4MessageType::kOffer, *address, true);
    }
    case Dhcp4MessageType::kRequest: {
      Lease* lease = FindByClient(client, now);
      if (server_id) {
        // §4.3.2 SELECTING: the client chose a server; if not us, our offer is void.
        if (!ours) {
          if (lease != nullptr && !lease->bound) std::erase_if(leases_, [&](const Lease& l) { return &l == lease; });
          return std::nullopt;
        }
        if (lease == nullptr || !requested || *requested != lease->address) return Nak(m);
      } else {
        // INIT-REBOOT (requested, no ciaddr) or RENEWING/REBINDING (ciaddr): the address
        // must be on our network and this client's, or free in the pool (then it is).
        const Ip4Address want = requested ? *requested : m.ciaddr();
        if (!config_.server.Contains(want)) return Nak(m);
        if (lease == nullptr || lease->address != want) {
          if (!InPool(want) || want == config_.server.address() || FindByAddress(want, now) != nullptr) {
            return Nak(m);
          }
          if (lease != nullptr) std::erase_if(leases_, [&](const Lease& l) { return &l == lease; });
          leases_.push_back(Lease{client, m.client_mac().value_or(MacAddress()), want, now, false});
          lease = &leases_.back();
        }
      }
      lease->bound = true;
      lease->expires = now + config_.lease_time;
      lease->mac = m.client_mac().value_or(lease->mac);
      counters_.Inc(Dhcp4ServerCounter::kTxAcks);
      return Answer(m, Dhcp4MessageType::kAck, lease->address, true);
    }
    case Dhcp4MessageType::kDecline: {
      // §4.3.3: the address is in use by someone else: keep it out of the pool a lease time.
      if (!ours || !requested) return std::nullopt;
      counters_.Inc(Dhcp4ServerCounter::kDeclines);
      std::erase_if(leases_, [&](const Lease& l) { return l.address == *requested; });
      leases_.push_back(Lease{{}, MacAddress(), *requested, now + config_.lease_time, false});
      return std::nullopt;
    }
    case Dhcp4MessageType::kRelease: {
      // §4.3.4: the client gives its lease back.
      if (!ours) return std::nullopt;
      counters_.Inc(Dhcp4ServerCounter::kReleases);
      std::erase_if(leases_, [&](const Lease& l) {
        return l.address == m.ciaddr() && std::equal(l.client.begin(), l.client.end(), client.begin(), client.end());
      });
      return std::nullopt;
    }
    case Dhcp4MessageType::kInform:
      // §4.3.5: configuration for a host that has its address already; no lease.
      if (m.ciaddr().is_unspecified()) return std::nullopt;
      counters_.Inc(Dhcp4ServerCounter::kTxAcks);
      return Answer(m, Dhcp4MessageType::kAck, Ip4Address(), false);
    default:
      counters_.Inc(Dhcp4ServerCounter::kRxDropInvalid);
      return std::nullopt;
  }
}

}  // namespace pytcp
