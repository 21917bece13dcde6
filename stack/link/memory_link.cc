#include "stack/link/memory_link.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "stack/base/random.h"

namespace pytcp {

// One direction of the cable.
struct Direction {
  explicit Direction(uint64_t seed) : rng(seed) {}

  LinkImpairments impairments;
  Random rng;
  // Frames in flight, keyed by (delivery time, send order): equal times keep FIFO order.
  std::map<std::pair<Instant, uint64_t>, std::vector<uint8_t>> queue;
  uint64_t next_seq = 0;
  Instant sender_free_at;  // when the rate-limited sender finishes the last frame
  Counters<MemoryLinkCounter> counters;
  int receiver_event_fd = -1;
  bool signalled = false;  // receiver_event_fd holds a non-zero count
  bool receiver_closed = false;

  // Makes the receiver's eventfd readable exactly when a frame is due.
  void UpdateSignal(Instant now) {
    const bool due = !queue.empty() && queue.begin()->first.first <= now;
    if (due == signalled || receiver_event_fd < 0) return;
    uint64_t v = 1;
    ssize_t n = due ? ::write(receiver_event_fd, &v, sizeof(v))
                    : ::read(receiver_event_fd, &v, sizeof(v));
    (void)n;  // an eventfd write of 1 or a read of a non-zero count cannot fail
    signalled = due;
  }
};

struct MemoryLink::Shared {
  Shared(const MemoryLinkConfig& config, const Clock& c)
      // Distinct streams per direction: impairments one way do not shift the other's draws.
      : clock(&c), dir{Direction(config.seed), Direction(config.seed ^ 0x5a5a'a5a5'0f0f'f0f0ULL)} {
    dir[0].impairments = config.a_to_b;
    dir[1].impairments = config.b_to_a;
  }
  std::mutex mu;
  const Clock* clock;
  Direction dir[2];
};

MemoryLink::Pair MemoryLink::CreatePair(const MemoryLinkConfig& config, const Clock& clock) {
  auto shared = std::make_shared<Shared>(config, clock);
  const int fd_a = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  const int fd_b = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd_a < 0 || fd_b < 0) std::abort();  // out of file descriptors: a test set-up failure
  // a receives on direction 1 (b -> a); b on direction 0.
  shared->dir[1].receiver_event_fd = fd_a;
  shared->dir[0].receiver_event_fd = fd_b;
  Pair pair;
  const size_t max_frame = (config.coalesced_frames ? 65535 : config.mtu) + kMaxLinkHeaderSize;
  pair.a.reset(new MemoryLink(shared, 0, config.mtu, max_frame, fd_a));
  pair.b.reset(new MemoryLink(shared, 1, config.mtu, max_frame, fd_b));
  return pair;
}

MemoryLink::MemoryLink(std::shared_ptr<Shared> shared, int side, uint32_t mtu, size_t max_frame,
                       int event_fd)
    : shared_(std::move(shared)), side_(side), mtu_(mtu), max_frame_(max_frame), event_fd_(event_fd) {}

MemoryLink::~MemoryLink() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    Direction& rx = shared_->dir[1 - side_];
    rx.receiver_closed = true;
    rx.receiver_event_fd = -1;
    rx.queue.clear();
  }
  ::close(event_fd_);
}

LinkStatus MemoryLink::Send(ByteSpan frame) {
  if (frame.size() < kMinFrameSize || frame.size() > max_frame_) {
    return LinkStatus::kTooBig;
  }
  std::lock_guard<std::mutex> lock(shared_->mu);
  Direction& d = shared_->dir[side_];
  if (d.receiver_closed) return LinkStatus::kDown;
  const LinkImpairments& imp = d.impairments;
  const Instant now = shared_->clock->Now();
  d.counters.Inc(MemoryLinkCounter::kSent);

  // The queue limit applies before the wire: a full queue drops at the sender, like a
  // qdisc, and the frame never occupies the sender.
  if (imp.queue_limit != 0 && d.queue.size() >= imp.queue_limit) {
    d.counters.Inc(MemoryLinkCounter::kQueueDropped);
    d.UpdateSignal(now);
    return LinkStatus::kOk;
  }

  // Serialization: the frame starts when the sender is free and takes size / rate.
  Instant done = now;
  if (imp.rate_bytes_per_second != 0) {
    const Instant start = std::max(now, d.sender_free_at);
    // Frames are at most 64 KB, so size * 1e9 fits easily in 64 bits.
    const auto ns = static_cast<int64_t>(uint64_t{frame.size()} * 1'000'000'000u /
                                         imp.rate_bytes_per_second);
    done = start + Duration(ns);
    d.sender_free_at = done;
  }

  // Draws happen in a fixed order, and only for impairments that are enabled, so a given
  // seed and configuration always make the same decisions for the same frames.
  if (imp.loss > 0 && d.rng.Chance(imp.loss)) {
    d.counters.Inc(MemoryLinkCounter::kLost);
    d.UpdateSignal(now);
    return LinkStatus::kOk;
  }
  std::vector<uint8_t> bytes(frame.begin(), frame.end());
  if (imp.corrupt > 0 && d.rng.Chance(imp.corrupt)) {
    const uint64_t bit = d.rng.Below(bytes.size() * 8);
    bytes[bit / 8] = static_cast<uint8_t>(bytes[bit / 8] ^ (1u << (bit % 8)));
    d.counters.Inc(MemoryLinkCounter::kCorrupted);
  }
  const bool duplicate = imp.duplicate > 0 && d.rng.Chance(imp.duplicate);
  Instant at = done + imp.delay;
  if (imp.jitter.count() > 0) {
    at += Duration(static_cast<int64_t>(d.rng.Below(static_cast<uint64_t>(imp.jitter.count()) + 1)));
  }
  if (imp.reorder > 0 && d.rng.Chance(imp.reorder)) {
    at += imp.reorder_delay;
    d.counters.Inc(MemoryLinkCounter::kReordered);
  }
  if (duplicate) {
    d.queue.emplace(std::make_pair(at, d.next_seq++), bytes);
    d.counters.Inc(MemoryLinkCounter::kDuplicated);
  }
  d.queue.emplace(std::make_pair(at, d.next_seq++), std::move(bytes));
  d.UpdateSignal(now);
  return LinkStatus::kOk;
}

ReceiveResult MemoryLink::Receive(FrameSink sink, size_t max_frames) {
  ReceiveResult result;
  std::vector<uint8_t> frame;
  while (result.frames < max_frames) {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      Direction& d = shared_->dir[1 - side_];
      const Instant now = shared_->clock->Now();
      if (d.queue.empty() || d.queue.begin()->first.first > now) {
        d.UpdateSignal(now);
        break;
      }
      frame = std::move(d.queue.begin()->second);
      d.queue.erase(d.queue.begin());
      d.counters.Inc(MemoryLinkCounter::kDelivered);
      d.UpdateSignal(now);
    }
    // No lock held: the sink may send on this link (an ARP reply, a TCP ACK).
    ++result.frames;
    sink(ByteSpan(frame.data(), frame.size()), RxFrameInfo{});
  }
  return result;
}

Instant MemoryLink::next_delivery_time() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  const Direction& d = shared_->dir[1 - side_];
  return d.queue.empty() ? Instant::Infinite() : d.queue.begin()->first.first;
}

size_t MemoryLink::pending() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->dir[1 - side_].queue.size();
}

Counters<MemoryLinkCounter> MemoryLink::tx_counters() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->dir[side_].counters;
}

Counters<MemoryLinkCounter> MemoryLink::rx_counters() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->dir[1 - side_].counters;
}

void MemoryLink::set_tx_impairments(const LinkImpairments& impairments) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->dir[side_].impairments = impairments;
}

}  // namespace pytcp
