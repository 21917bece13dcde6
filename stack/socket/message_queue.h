// The receive queue of a message socket (ICMP ping and raw sockets, IPv4 and IPv6): whole
// messages with the sender, the TTL or hop limit they arrived with and their arrival time,
// bounded by SO_RCVBUF as Linux charges an skb's truesize (payload plus overhead), so a full
// queue drops the newest message but an empty one always takes one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/net/ip_address.h"

namespace pytcp {

struct ReceivedMessage {
  IpAddress from;
  uint8_t hops = 0;  // TTL (IPv4) or hop limit (IPv6)
  int64_t stamp_ns = 0;
  std::vector<uint8_t> data;
};

class ReceivedMessageQueue {
 public:
  // What one queued message costs against SO_RCVBUF besides its payload.
  static constexpr size_t kOverhead = 256;

  // Queues a copy of `bytes`; false (nothing queued) when it would go past `limit`.
  bool Push(const IpAddress& from, uint8_t hops, int64_t stamp_ns, ByteSpan bytes, size_t limit) {
    const size_t charge = bytes.size() + kOverhead;
    if (bytes_ + charge > limit && !queue_.empty()) return false;
    queue_.push_back(ReceivedMessage{from, hops, stamp_ns, std::vector<uint8_t>(bytes.begin(), bytes.end())});
    bytes_ += charge;
    return true;
  }
  bool empty() const { return queue_.empty(); }
  size_t size() const { return queue_.size(); }
  size_t bytes() const { return bytes_; }
  const ReceivedMessage& front() const { return queue_.front(); }
  // Bytes of the next message (FIONREAD), 0 when none.
  size_t next_size() const { return queue_.empty() ? 0 : queue_.front().data.size(); }
  void Pop() {
    bytes_ -= queue_.front().data.size() + kOverhead;
    queue_.pop_front();
  }
  void Clear() {
    queue_.clear();
    bytes_ = 0;
  }

 private:
  std::deque<ReceivedMessage> queue_;
  size_t bytes_ = 0;
};

}  // namespace pytcp
