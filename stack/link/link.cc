#include "stack/link/link.h"

namespace pytcp {

std::string_view ToString(LinkStatus s) {
  switch (s) {
    case LinkStatus::kOk:
      return "ok";
    case LinkStatus::kWouldBlock:
      return "would_block";
    case LinkStatus::kTooBig:
      return "too_big";
    case LinkStatus::kDown:
      return "down";
    case LinkStatus::kIoError:
      return "io_error";
  }
  return "unknown";
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
