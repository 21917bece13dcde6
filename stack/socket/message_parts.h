// Scatter/gather for the socket API's lists of spans (Socket::SendMsg/RecvMsg) over
// protocols whose own calls take one buffer: a message socket sends all parts as one
// message and scatters one received message over the parts (udp(7), icmp(7)); a stream
// gathers a few small parts into one send so they leave in one segment. One scratch
// buffer per thread, so the usual call allocates nothing after its first.
#pragma once

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "stack/base/bytes.h"

namespace pytcp {

inline std::vector<uint8_t>& ThreadScratch() {
  thread_local std::vector<uint8_t> buffer;
  return buffer;
}

inline size_t TotalSize(std::span<const ByteSpan> parts) {
  size_t n = 0;
  for (const auto& p : parts) n += p.size();
  return n;
}
inline size_t TotalSize(std::span<const MutableByteSpan> parts) {
  size_t n = 0;
  for (const auto& p : parts) n += p.size();
  return n;
}

// All of `parts` as one span: the part itself when there is one, else a copy in the
// thread's scratch buffer.
inline ByteSpan Gather(std::span<const ByteSpan> parts) {
  if (parts.size() == 1) return parts[0];
  std::vector<uint8_t>& buf = ThreadScratch();
  buf.clear();
  for (const auto& p : parts) buf.insert(buf.end(), p.begin(), p.end());
  return ByteSpan(buf.data(), buf.size());
}

// Copies the first `n` bytes of `src` over `parts` in order.
inline void Scatter(const uint8_t* src, size_t n, std::span<const MutableByteSpan> parts) {
  for (const auto& p : parts) {
    const size_t k = std::min(n, p.size());
    if (k > 0) std::memcpy(p.data(), src, k);
    src += k;
    n -= k;
  }
}

// Receives into `parts` through `recv_one(MutableByteSpan)` (a SysResult<size_t>): into
// the one part directly, else into the scratch buffer (at most `max_message` bytes, the
// longest message that can arrive) and scattered from there. The result is recv_one's,
// which may exceed what was copied (MSG_TRUNC).
template <typename RecvOne>
auto RecvScattered(std::span<const MutableByteSpan> parts, size_t max_message, RecvOne&& recv_one)
    -> decltype(recv_one(MutableByteSpan())) {
  if (parts.size() == 1) return recv_one(parts[0]);
  const size_t room = std::min(TotalSize(parts), max_message);
  std::vector<uint8_t>& buf = ThreadScratch();
  buf.resize(room);
  auto r = recv_one(MutableByteSpan(buf.data(), room));
  if (r.ok()) Scatter(buf.data(), std::min(*r, room), parts);
  return r;
}

}  // namespace pytcp
