// Middleware that records every frame a Link sends and receives into a pcap file, for
// tcpdump/Wireshark (smoltcp's PcapWriter device wrapper is the model). Capture can be
// started, replaced and stopped while the link runs (PYTCP_PCAP, a console command).
//
// Only frames the inner link accepted are recorded on the send side; every frame handed
// up is recorded on the receive side, before the sink sees it.
#pragma once

#include <memory>
#include <mutex>

#include "stack/link/link.h"
#include "stack/link/pcap_writer.h"

namespace pytcp {

class PcapLink final : public Link {
 public:
  // Wraps `inner` (owned); `writer` may be null (capture off).
  PcapLink(std::unique_ptr<Link> inner, std::unique_ptr<PcapWriter> writer);

  [[nodiscard]] LinkStatus Send(ByteSpan frame) override;
  ReceiveResult Receive(FrameSink sink, size_t max_frames) override;
  using Link::Receive;
  int wait_fd() const override { return inner_->wait_fd(); }
  Instant next_delivery_time() const override { return inner_->next_delivery_time(); }
  uint32_t mtu() const override { return inner_->mtu(); }
  LinkFeatures features() const override { return inner_->features(); }

  // Starts capturing into `writer`, or stops with nullptr; returns the previous writer
  // (flushed) so the caller can check its status or close it.
  std::unique_ptr<PcapWriter> SetWriter(std::unique_ptr<PcapWriter> writer);
  void Flush();

  Link& inner() { return *inner_; }

 private:
  void Record(ByteSpan frame);

  std::unique_ptr<Link> inner_;
  std::mutex mu_;  // frames are sent from application threads and the stack thread
  std::unique_ptr<PcapWriter> writer_;
};

}  // namespace pytcp
