// An in-memory Ethernet cable with seeded impairments, for tests: CreatePair() returns two
// ends; a frame sent on one is received on the other. Each direction has its own
// impairments (loss, duplication, reordering, corruption, delay and jitter, a rate limit and
// a queue limit, after Linux's netem) and its own Random stream derived from the seed, so
// the same seed and the same sequence of calls give the same deliveries, bit for bit.
//
// Time comes from a Clock: a frame is receivable once clock.Now() reaches its delivery
// time. With a VirtualClock a test driver advances time to next_delivery_time() and calls
// Receive(); nothing happens behind its back.
//
// Thread-safe: both ends share one mutex, so stacks on separate threads can use the two
// ends. wait_fd() is an eventfd that is readable while a frame is receivable; it is brought
// up to date on every Send() and Receive(). A frame that becomes due only because time
// passed is announced by next_delivery_time(), which an event loop uses as a poll timeout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "stack/base/clock.h"
#include "stack/base/counters.h"
#include "stack/link/link.h"

namespace pytcp {

// What happens to frames in one direction. Probabilities are 0..1 per frame.
struct LinkImpairments {
  double loss = 0.0;       // the frame is dropped
  double duplicate = 0.0;  // the frame is delivered twice (the copy right after it)
  double corrupt = 0.0;    // one uniformly chosen bit of the frame is flipped
  // The frame is held back by reorder_delay, so frames sent after it overtake it.
  double reorder = 0.0;
  Duration reorder_delay = std::chrono::milliseconds(1);
  Duration delay{0};   // propagation delay added to every frame
  Duration jitter{0};  // plus a uniform extra delay in [0, jitter] (which also reorders)
  // Serialization: a frame of n bytes occupies the sender for n / rate seconds, and frames
  // queue behind each other. 0 = unlimited.
  uint64_t rate_bytes_per_second = 0;
  // Frames in flight in this direction (queued, serializing or propagating), as netem's
  // `limit`; a frame sent into a full queue is dropped. 0 = unlimited.
  size_t queue_limit = 0;
};

struct MemoryLinkConfig {
  uint64_t seed = 1;
  uint32_t mtu = 1500;
  // Frames up to 64 KB pass, as a TAP with receive offloads hands over the kernel's
  // coalesced (GRO) frames (LinkFeatures::rx_gro); mtu() stays the same.
  bool coalesced_frames = false;
  LinkImpairments a_to_b;
  LinkImpairments b_to_a;
};

// Per-direction packet-flow counters (see stack/base/counters.h).
PYTCP_COUNTERS(MemoryLinkCounter,
  kSent,         // frames accepted by Send()
  kDelivered,    // frames handed to the receiver (duplicates included)
  kLost,         // dropped by `loss`
  kDuplicated,   // extra copies made by `duplicate`
  kCorrupted,    // frames with a flipped bit
  kReordered,    // frames held back by `reorder`
  kQueueDropped, // dropped because the queue was at queue_limit
);

class MemoryLink final : public Link {
 public:
  struct Pair {
    std::unique_ptr<MemoryLink> a;
    std::unique_ptr<MemoryLink> b;
  };
  // `clock` must outlive both ends.
  static Pair CreatePair(const MemoryLinkConfig& config, const Clock& clock);

  ~MemoryLink() override;
  MemoryLink(const MemoryLink&) = delete;
  MemoryLink& operator=(const MemoryLink&) = delete;

  // kTooBig for frames outside [14, mtu + 18] bytes (64 KB + 18 with coalesced_frames);
  // kDown once the other end is gone.
  // A frame lost to an impairment or a full queue still returns kOk, as on a real wire.
  [[nodiscard]] LinkStatus Send(ByteSpan frame) override;
  ReceiveResult Receive(FrameSink sink, size_t max_frames) override;
  using Link::Receive;
  int wait_fd() const override { return event_fd_; }
  // Delivery time of the earliest frame travelling toward this end; Infinite if none.
  Instant next_delivery_time() const override;
  uint32_t mtu() const override { return mtu_; }

  // Frames travelling toward this end (not yet received).
  size_t pending() const;
  // Counters of the direction this end sends on, and of the one it receives from.
  Counters<MemoryLinkCounter> tx_counters() const;
  Counters<MemoryLinkCounter> rx_counters() const;
  // Replaces the impairments of frames this end sends from now on (frames in flight keep
  // their delivery times). Lets a test open and close a lossy period.
  void set_tx_impairments(const LinkImpairments& impairments);

 private:
  struct Shared;
  MemoryLink(std::shared_ptr<Shared> shared, int side, uint32_t mtu, size_t max_frame, int event_fd);

  std::shared_ptr<Shared> shared_;
  int side_;  // 0 = a, 1 = b; this end sends on direction side_, receives on 1 - side_
  uint32_t mtu_;
  size_t max_frame_;
  int event_fd_;
};

}  // namespace pytcp
