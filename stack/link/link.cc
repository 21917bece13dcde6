#include "stack/link/link.h"

#include <cstring>
#include <vector>

namespace pytcp {

LinkStatus Link::SendGather(ByteSpan head, ByteSpan a, ByteSpan b) {
  if (a.empty() && b.empty()) return Send(head);
  thread_local std::vector<uint8_t> joined;  // grows to the largest frame once, then reused
  joined.resize(head.size() + a.size() + b.size());
  uint8_t* out = joined.data();
  for (ByteSpan piece : {head, a, b}) {
    if (piece.empty()) continue;
    std::memcpy(out, piece.data(), piece.size());
    out += piece.size();
  }
  return Send(ByteSpan(joined.data(), joined.size()));
}

size_t Link::SendBatch(std::span<const ByteSpan> frames, LinkStatus* status) {
  size_t sent = 0;
  LinkStatus last = LinkStatus::kOk;
  for (ByteSpan frame : frames) {
    last = Send(frame);
    if (last != LinkStatus::kOk) break;
    ++sent;
  }
  if (status != nullptr) *status = last;
  return sent;
}

}  // namespace pytcp
