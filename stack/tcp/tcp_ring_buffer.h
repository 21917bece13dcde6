// A byte ring for the send and receive buffers of a connection (smoltcp's
// storage::RingBuffer): the one allocation happens when the buffer is sized or grown by
// auto-tuning, never per packet.
//
// The readable bytes are [0, size()). The receive side also writes beyond size() — the
// out-of-order area — with WriteAt() and makes those bytes readable with Commit() once the
// hole before them is filled.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "stack/base/bytes.h"

namespace pytcp {

class TcpRingBuffer {
 public:
  TcpRingBuffer() = default;
  explicit TcpRingBuffer(size_t capacity) { Resize(capacity); }

  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }
  size_t free() const { return capacity_ - size_; }
  bool empty() const { return size_ == 0; }

  // Grows (or shrinks down to at least size() + keep) the storage, keeping the first
  // `keep` bytes past size() (the out-of-order area) along with the readable ones.
  void Resize(size_t capacity, size_t keep = 0) {
    const size_t live = std::min(size_ + keep, capacity_);
    assert(capacity >= live);
    std::unique_ptr<uint8_t[]> next(new uint8_t[capacity == 0 ? 1 : capacity]);
    CopyOut(0, MutableByteSpan(next.get(), live));
    storage_ = std::move(next);
    capacity_ = capacity;
    head_ = 0;
  }

  // Appends up to free() bytes; returns how many.
  size_t Write(ByteSpan data) {
    const size_t n = std::min(data.size(), free());
    WriteAt(size_, data.first(n));
    size_ += n;
    return n;
  }
  // Writes at `offset` from the read position without making the bytes readable.
  // offset + data.size() must not exceed capacity().
  void WriteAt(size_t offset, ByteSpan data) {
    assert(offset + data.size() <= capacity_);
    ForEachRun(offset, data.size(), [&](size_t pos, size_t done, size_t n) {
      std::memcpy(storage_.get() + pos, data.data() + done, n);
    });
  }
  // Makes n bytes written past size() readable.
  void Commit(size_t n) {
    assert(size_ + n <= capacity_);
    size_ += n;
  }

  // Copies bytes starting at `offset` into out (up to what is readable); returns the count.
  size_t Peek(size_t offset, MutableByteSpan out) const {
    if (offset >= size_) return 0;
    const size_t n = std::min(out.size(), size_ - offset);
    CopyOut(offset, out.first(n));
    return n;
  }
  // The readable bytes [offset, offset + len) as at most two contiguous runs.
  std::pair<ByteSpan, ByteSpan> Slice(size_t offset, size_t len) const {
    assert(offset + len <= size_);
    if (len == 0) return {};
    const size_t pos = Wrap(head_ + offset);
    const size_t first = std::min(len, capacity_ - pos);
    return {ByteSpan(storage_.get() + pos, first), ByteSpan(storage_.get(), len - first)};
  }
  void Consume(size_t n) {
    assert(n <= size_);
    // The head moves even when the ring empties: out-of-order bytes past size() stay
    // where they were written.
    head_ = Wrap(head_ + n);
    size_ -= n;
  }
  // Moves the (empty) ring's read position back to the start of its storage. The caller
  // knows nothing lies past size() (no out-of-order bytes): a ring that keeps emptying then
  // reuses the same few cache-warm kilobytes instead of walking through all its storage.
  void Rewind() {
    assert(size_ == 0);
    head_ = 0;
  }
  void Clear() {
    head_ = 0;
    size_ = 0;
  }

 private:
  size_t Wrap(size_t i) const { return i >= capacity_ ? i - capacity_ : i; }
  // Calls fn(pos, done, n) for each contiguous run of the storage that holds the `len`
  // bytes from `offset` past the read position: n bytes at storage index pos are bytes
  // [done, done + n) of them. Two runs when they wrap around the end, else one.
  template <typename Fn>
  void ForEachRun(size_t offset, size_t len, Fn&& fn) const {
    size_t pos = Wrap(head_ + offset);
    size_t done = 0;
    while (done < len) {
      const size_t n = std::min(len - done, capacity_ - pos);
      fn(pos, done, n);
      done += n;
      pos = 0;
    }
  }
  void CopyOut(size_t offset, MutableByteSpan out) const {
    if (out.empty()) return;
    ForEachRun(offset, out.size(), [&](size_t pos, size_t done, size_t n) {
      std::memcpy(out.data() + done, storage_.get() + pos, n);
    });
  }

  std::unique_ptr<uint8_t[]> storage_;
  size_t capacity_ = 0;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace pytcp
