#include "stack/iface/interface.h"

#include <algorithm>
#include <cstring>

#include "stack/base/log.h"

namespace pytcp {
namespace {
LogChannel log_eth("ether");
}  // namespace

Interface::Interface(Link* link, MacAddress mac, std::string_view name)
    : link_(link), mac_(mac), name_(name), mtu_(link->mtu()) {}

void Interface::JoinMulticast(const MacAddress& group) { ++multicast_[group]; }

void Interface::LeaveMulticast(const MacAddress& group) {
  auto it = multicast_.find(group);
  if (it != multicast_.end() && --it->second <= 0) multicast_.erase(it);
}

void Interface::Receive(ByteSpan frame, Instant now, const RxFrameInfo& rx) {
  counters_.Inc(EthernetCounter::kRxFrames);
  if (capture_ != nullptr) capture_->Write(frame);
  auto view = EthernetView::Parse(frame);
  if (!view.ok()) {
    counters_.Inc(EthernetCounter::kRxDropMalformed);
    PYTCP_LOG(log_eth, kDebug, "drop malformed frame: {}", ToString(view.error()));
    return;
  }
  const MacAddress dst = view->dst();
  // The bridge floods unknown unicast; accept only what is ours (IEEE 802.3 §3.2.3).
  if (dst != mac_ && !dst.is_broadcast() && !(dst.is_multicast() && IsMemberOf(dst))) {
    counters_.Inc(EthernetCounter::kRxDropNotForUs);
    return;
  }
  auto it = handlers_.find(view->ethertype());
  if (it == handlers_.end()) {
    counters_.Inc(EthernetCounter::kRxDropUnknownEthertype);
    return;
  }
  it->second->ReceiveFrame(*view, now, rx);
}

LinkStatus Interface::Transmit(ByteSpan frame) {
  if (capture_ != nullptr) capture_->Write(frame);
  return Counted(link_->Send(frame));
}

LinkStatus Interface::Counted(LinkStatus status) {
  if (status == LinkStatus::kOk) {
    counters_.Inc(EthernetCounter::kTxFrames);
  } else {
    counters_.Inc(EthernetCounter::kTxDropLinkError);
    PYTCP_LOG(log_eth, kDebug, "link send failed: {}", ToString(status));
  }
  return status;
}

LinkStatus Interface::Send(const MacAddress& dst, EtherType type, PacketBuffer& packet) {
  auto header = packet.Prepend(kEthernetHeaderSize);
  EthernetHeader{dst, mac_, type}.Emit(header);
  if (packet.size() < kEthernetMinFrameSize) {
    // RFC 894: pad to the minimum; receivers use the IP length, not the frame length.
    const size_t pad = kEthernetMinFrameSize - packet.size();
    std::memset(packet.Append(pad).data(), 0, pad);
  }
  if (packet.has_tail() && capture_ == nullptr) {
    // The payload stays where the transport keeps it (PacketBuffer::AttachTail).
    return Counted(link_->SendGather(packet.head_bytes(), packet.tail_a(), packet.tail_b()));
  }
  return Transmit(packet.data());
}

LinkStatus Interface::Send(const MacAddress& dst, EtherType type, ByteSpan l3) {
  scratch_.Reset(64);
  if (l3.size() + 64 > 2048) {
    PacketBuffer big(l3.size(), 64);
    big.Append(l3);
    return Send(dst, type, big);
  }
  scratch_.Append(l3);
  return Send(dst, type, scratch_);
}

}  // namespace pytcp
