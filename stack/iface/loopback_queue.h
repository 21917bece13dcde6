// Packets an IP engine sends to one of our own addresses (IPv4 or IPv6). They wait here
// until the event loop delivers them, so that a send never re-enters the receive path of
// the same stack; a packet queued from an application thread wakes the event loop through
// the listener.
#pragma once

#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include "stack/base/bytes.h"

namespace pytcp {

class LoopbackQueue {
 public:
  void set_listener(std::function<void()> l) { listener_ = std::move(l); }
  bool empty() const { return queue_.empty(); }

  // Queues a packet of `header_size` bytes of header, written by emit_header(whole), then
  // a copy of `payload`.
  template <typename EmitHeader>
  void Push(size_t header_size, ByteSpan payload, EmitHeader&& emit_header) {
    std::vector<uint8_t> whole(header_size + payload.size());
    emit_header(whole);
    if (!payload.empty()) std::memcpy(whole.data() + header_size, payload.data(), payload.size());
    queue_.push_back(std::move(whole));
    if (listener_) listener_();
  }

  // Hands every queued packet to deliver(ByteSpan). The queue is swapped out first:
  // delivery may queue more (an echo reply to ourselves), which waits for the next turn.
  template <typename Deliver>
  void Drain(Deliver&& deliver) {
    std::vector<std::vector<uint8_t>> queue;
    queue.swap(queue_);
    for (auto& p : queue) deliver(ByteSpan(p));
  }

 private:
  std::vector<std::vector<uint8_t>> queue_;
  std::function<void()> listener_;
};

}  // namespace pytcp
