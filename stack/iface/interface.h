// The Ethernet interface: the stack's attachment to one Link.
//
// RFCs to read: RFC 894 (IPv4 over Ethernet), RFC 2464 (IPv6 over Ethernet), RFC 1112 §6.4
// and RFC 2464 §7 (multicast MAC mapping).
//
// Receive: a frame is accepted when addressed to our MAC, to broadcast, or to a multicast
// MAC we joined; anything else is dropped and counted (the TAP's bridge floods unknown
// unicast to us). Accepted frames go to the handler registered for their EtherType.
// Transmit: the Ethernet header is written in front of the L3 packet already in a
// PacketBuffer, short frames are padded to the 60-byte minimum, and the frame goes to the
// link (optionally through a live capture).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "stack/base/address_hash.h"
#include "stack/base/clock.h"
#include "stack/base/counters.h"
#include "stack/base/packet_buffer.h"
#include "stack/link/link.h"
#include "stack/link/pcap_writer.h"
#include "stack/net/mac_address.h"
#include "stack/wire/ethernet.h"

namespace pytcp {

PYTCP_COUNTERS(EthernetCounter,
  kRxFrames,
  kRxDropMalformed,
  kRxDropNotForUs,
  kRxDropUnknownEthertype,
  kTxFrames,
  kTxDropLinkError,
);

// Something that takes the payload of accepted frames of one EtherType.
class L3Handler {
 public:
  virtual ~L3Handler() = default;
  // `rx` is what the link knows about the frame (a checksum already known valid).
  virtual void ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo& rx) = 0;
};

class Interface {
 public:
  Interface(Link* link, MacAddress mac, std::string_view name);

  const MacAddress& mac() const { return mac_; }
  uint32_t mtu() const { return mtu_; }
  void set_mtu(uint32_t mtu) { mtu_ = mtu; }
  std::string_view name() const { return name_; }
  Link* link() const { return link_; }
  // The zone index of its link-local addresses (RFC 4007 §6, sin6_scope_id): the host's
  // index of the TAP device, as the kernel and the shim number it (0: not known).
  uint32_t scope_id() const { return scope_id_; }
  void set_scope_id(uint32_t id) { scope_id_ = id; }

  void RegisterHandler(EtherType type, L3Handler* handler) { handlers_[type] = handler; }

  // Multicast MAC filter, reference counted (several IPv6 addresses can share a
  // solicited-node group).
  void JoinMulticast(const MacAddress& group);
  void LeaveMulticast(const MacAddress& group);
  bool IsMemberOf(const MacAddress& group) const { return multicast_.contains(group); }

  // Receive path: one frame from the link.
  void Receive(ByteSpan frame, Instant now, const RxFrameInfo& rx = {});

  // Transmit path: prepends the Ethernet header to `packet` and sends it.
  LinkStatus Send(const MacAddress& dst, EtherType type, PacketBuffer& packet);
  // Copying variant for packets that waited in a queue.
  LinkStatus Send(const MacAddress& dst, EtherType type, ByteSpan l3);

  // Live capture: every frame sent and received is also written here (nullptr stops it).
  void set_capture(PcapWriter* writer) { capture_ = writer; }

  const Counters<EthernetCounter>& counters() const { return counters_; }

 private:
  LinkStatus Transmit(ByteSpan frame);
  LinkStatus Counted(LinkStatus status);  // counts a send's outcome

  Link* link_;
  MacAddress mac_;
  std::string name_;
  uint32_t scope_id_ = 0;
  uint32_t mtu_;
  absl::flat_hash_map<EtherType, L3Handler*> handlers_;
  absl::flat_hash_map<MacAddress, int, AddressHash> multicast_;
  PcapWriter* capture_ = nullptr;
  PacketBuffer scratch_{2048, 64};
  Counters<EthernetCounter> counters_;
};

}  // namespace pytcp
