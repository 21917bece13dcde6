#include "stack/link/pcap_link.h"

#include <utility>

namespace pytcp {

PcapLink::PcapLink(std::unique_ptr<Link> inner, std::unique_ptr<PcapWriter> writer)
    : inner_(std::move(inner)), writer_(std::move(writer)) {}

void PcapLink::Record(ByteSpan frame) {
  std::lock_guard<std::mutex> lock(mu_);
  if (writer_ != nullptr) writer_->Write(frame);
}

LinkStatus PcapLink::Send(ByteSpan frame) {
  const LinkStatus status = inner_->Send(frame);
  if (status == LinkStatus::kOk) Record(frame);
  return status;
}

ReceiveResult PcapLink::Receive(FrameSink sink, size_t max_frames) {
  return inner_->Receive(
      FrameSink([&](ByteSpan frame, const RxFrameInfo& info) {
        Record(frame);
        sink(frame, info);
      }),
      max_frames);
}

std::unique_ptr<PcapWriter> PcapLink::SetWriter(std::unique_ptr<PcapWriter> writer) {
  std::lock_guard<std::mutex> lock(mu_);
  if (writer_ != nullptr) writer_->Flush();
  std::swap(writer_, writer);
  return writer;
}

void PcapLink::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  if (writer_ != nullptr) writer_->Flush();
}

}  // namespace pytcp
