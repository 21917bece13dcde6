// A transmit buffer with headroom: a transport writes its payload (the one copy from the
// application), then each layer below prepends its header in place in front of it, so a
// frame is assembled without moving the payload again (DESIGN.md "Performance").
//
// Gather: a transport whose payload already lies in memory of its own (TCP's send ring)
// attaches it as a tail of up to two spans instead of copying it in; the headers are
// prepended to the buffer as usual and the link writes head and tail in one writev
// (Interface::Transmit, Link::SendGather), so the payload's only copy is the one into the
// device. Whatever needs the packet as one span (data(): loopback, fragmentation, a packet
// queued for neighbour resolution, a capture) or changes its end copies the tail in first,
// so code that knows nothing of tails stays correct.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace pytcp {

class PacketBuffer {
 public:
  // Room in front of the payload for the largest header stack we emit:
  // virtio-net (12) + Ethernet (14) + IPv6 (40) + extension headers (~72) + TCP (60).
  static constexpr size_t kDefaultHeadroom = 256;

  explicit PacketBuffer(size_t capacity, size_t headroom = kDefaultHeadroom)
      : storage_(new uint8_t[capacity + headroom]),
        capacity_(capacity + headroom),
        head_(headroom),
        tail_(headroom) {}

  // Drops the contents and restores `headroom` bytes in front.
  void Reset(size_t headroom = kDefaultHeadroom) {
    assert(headroom <= capacity_);
    head_ = tail_ = headroom;
    ext_a_ = ext_b_ = {};
  }

  // Attaches `a` then `b` after the bytes in the buffer without copying them. They must
  // stay valid and unchanged until the packet is sent or dropped, and fit the tailroom (so
  // that they can be copied in when needed). At most one tail per packet.
  void AttachTail(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    assert(!has_tail());
    assert(a.size() + b.size() <= capacity_ - tail_);
    ext_a_ = a;
    ext_b_ = b;
  }
  bool has_tail() const { return !ext_a_.empty() || !ext_b_.empty(); }
  // With a tail: the bytes in the buffer (the headers) and the tail's two spans.
  std::span<const uint8_t> head_bytes() const { return {storage_.get() + head_, tail_ - head_}; }
  std::span<const uint8_t> tail_a() const { return ext_a_; }
  std::span<const uint8_t> tail_b() const { return ext_b_; }
  // Copies the tail in (no-op without one).
  void Linearize() const {
    for (auto* ext : {&ext_a_, &ext_b_}) {
      if (ext->empty()) continue;
      std::memcpy(storage_.get() + tail_, ext->data(), ext->size());
      tail_ += ext->size();
      *ext = {};
    }
  }

  // Grows the packet at the front by n bytes and returns them (to be filled by the caller).
  std::span<uint8_t> Prepend(size_t n) {
    assert(n <= head_);
    head_ -= n;
    return {storage_.get() + head_, n};
  }
  // Grows the packet at the back by n bytes and returns them.
  std::span<uint8_t> Append(size_t n) {
    Linearize();
    assert(tail_ + n <= capacity_);
    const size_t at = tail_;
    tail_ += n;
    return {storage_.get() + at, n};
  }
  void Append(std::span<const uint8_t> bytes) {
    auto dst = Append(bytes.size());
    if (!bytes.empty()) std::memcpy(dst.data(), bytes.data(), bytes.size());
  }
  // Removes n bytes from the front (e.g. to re-use a payload under different headers).
  void TrimFront(size_t n) {
    Linearize();
    assert(head_ + n <= tail_);
    head_ += n;
  }
  void TruncateTo(size_t n) {
    Linearize();
    assert(n <= size());
    tail_ = head_ + n;
  }

  std::span<uint8_t> data() {
    Linearize();
    return {storage_.get() + head_, tail_ - head_};
  }
  std::span<const uint8_t> data() const {
    Linearize();
    return {storage_.get() + head_, tail_ - head_};
  }
  size_t size() const { return tail_ - head_ + ext_a_.size() + ext_b_.size(); }
  size_t headroom() const { return head_; }
  size_t tailroom() const { return capacity_ - tail_ - ext_a_.size() - ext_b_.size(); }

 private:
  std::unique_ptr<uint8_t[]> storage_;
  size_t capacity_;
  size_t head_;
  // Mutable with the tail: copying the tail in (Linearize) changes how the packet is held,
  // not what it is.
  mutable size_t tail_;
  mutable std::span<const uint8_t> ext_a_;
  mutable std::span<const uint8_t> ext_b_;
};

}  // namespace pytcp
