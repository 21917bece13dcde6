// A transmit buffer with headroom: a transport writes its payload (the one copy from the
// application), then each layer below prepends its header in place in front of it, so a
// frame is assembled without moving the payload again (DESIGN.md "Performance").
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
  }

  // Grows the packet at the front by n bytes and returns them (to be filled by the caller).
  std::span<uint8_t> Prepend(size_t n) {
    assert(n <= head_);
    head_ -= n;
    return {storage_.get() + head_, n};
  }
  // Grows the packet at the back by n bytes and returns them.
  std::span<uint8_t> Append(size_t n) {
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
    assert(head_ + n <= tail_);
    head_ += n;
  }
  void TruncateTo(size_t n) {
    assert(n <= size());
    tail_ = head_ + n;
  }

  std::span<uint8_t> data() { return {storage_.get() + head_, tail_ - head_}; }
  std::span<const uint8_t> data() const { return {storage_.get() + head_, tail_ - head_}; }
  size_t size() const { return tail_ - head_; }
  size_t headroom() const { return head_; }
  size_t tailroom() const { return capacity_ - tail_; }

 private:
  std::unique_ptr<uint8_t[]> storage_;
  size_t capacity_;
  size_t head_;
  size_t tail_;
};

}  // namespace pytcp
