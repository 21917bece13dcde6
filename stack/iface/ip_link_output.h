// The last step of the IPv4 and IPv6 send paths: a packet whose IP header is written goes
// to the interface, to a MAC known at once (broadcast, a multicast group's MAC) or to a
// neighbour's through its cache (ARP for IPv4, Neighbour Discovery for IPv6), where it
// waits while the neighbour is resolved (RFC 1122 §2.3.2.2, RFC 4861 §7.2.2).
#pragma once

#include "stack/base/clock.h"
#include "stack/base/counters.h"
#include "stack/base/packet_buffer.h"
#include "stack/base/result.h"
#include "stack/iface/interface.h"
#include "stack/iface/ip_send_error.h"
#include "stack/neigh/neighbour_cache.h"

namespace pytcp {

// `Counter` is the engine's counter enum; TxCounters names the ones this step moves.
template <typename Addr, typename Counter>
class IpLinkOutput {
 public:
  struct TxCounters {
    Counter packets;      // sent, or queued for resolution
    Counter queued;       // waiting for the neighbour's MAC
    Counter queue_full;   // the neighbour cache could not hold it
    Counter link_error;   // the link refused the frame
  };

  IpLinkOutput(Interface* iface, EtherType type, Counters<Counter>* counters, TxCounters names)
      : iface_(iface), type_(type), counters_(counters), names_(names) {}

  // To a MAC known without resolution.
  Result<void, IpSendError> SendTo(const MacAddress& mac, PacketBuffer& packet) {
    if (iface_->Send(mac, type_, packet) != LinkStatus::kOk) {
      counters_->Inc(names_.link_error);
      return Err{IpSendError::kLinkError};
    }
    counters_->Inc(names_.packets);
    return Ok();
  }

  // To `next_hop` on the link: now when its MAC is known, else a copy waits in the cache.
  Result<void, IpSendError> SendVia(NeighbourCache<Addr>& cache, const Addr& next_hop,
                                    PacketBuffer& packet, Instant now) {
    using Resolve = typename NeighbourCache<Addr>::ResolveResult;
    MacAddress mac;
    Resolve r = cache.Resolve(next_hop, now, &mac, nullptr);
    if (r == Resolve::kQueued) {
      // The copy is made only when the packet must wait.
      typename NeighbourCache<Addr>::Packet copy(packet.data().begin(), packet.data().end());
      r = cache.Resolve(next_hop, now, &mac, &copy);
      if (r == Resolve::kQueued) {
        counters_->Inc(names_.queued);
        counters_->Inc(names_.packets);
        return Ok();
      }
    }
    if (r == Resolve::kDropped) {
      counters_->Inc(names_.queue_full);
      return Err{IpSendError::kLinkError};
    }
    return SendTo(mac, packet);
  }

 private:
  Interface* iface_;
  EtherType type_;
  Counters<Counter>* counters_;
  TxCounters names_;
};

}  // namespace pytcp
