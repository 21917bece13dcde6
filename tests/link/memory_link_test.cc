#include "stack/link/memory_link.h"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace pytcp {
namespace {

constexpr size_t kFrameSize = 64;

// A frame whose bytes 14..17 carry a sequence number, so deliveries can be told apart.
std::vector<uint8_t> Frame(uint32_t n, size_t size = kFrameSize) {
  std::vector<uint8_t> f(size, 0);
  for (size_t i = 0; i < 6; ++i) f[i] = 0xff;
  f[6] = 0x02;
  f[12] = 0x88;
  f[13] = 0xb5;  // IEEE local experimental EtherType
  f[14] = static_cast<uint8_t>(n >> 24);
  f[15] = static_cast<uint8_t>(n >> 16);
  f[16] = static_cast<uint8_t>(n >> 8);
  f[17] = static_cast<uint8_t>(n);
  for (size_t i = 18; i < size; ++i) f[i] = static_cast<uint8_t>(n * 7 + i);
  return f;
}

uint32_t SeqOf(ByteSpan f) { return LoadBe32(f.data() + 14); }

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

std::vector<std::vector<uint8_t>> Drain(MemoryLink& link) {
  std::vector<std::vector<uint8_t>> out;
  link.Receive([&](ByteSpan f) { out.emplace_back(f.begin(), f.end()); }, SIZE_MAX);
  return out;
}

// Sends `count` frames on a, one every `gap` of virtual time, then runs the clock forward
// delivery by delivery until b has received everything in flight.
std::vector<std::vector<uint8_t>> RunTraffic(const MemoryLinkConfig& config, int count,
                                      Duration gap = Duration(0)) {
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair(config, clock);
  std::vector<std::vector<uint8_t>> got;
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(pair.a->Send(Frame(static_cast<uint32_t>(i))), LinkStatus::kOk);
    for (auto& f : Drain(*pair.b)) got.push_back(std::move(f));
    clock.Advance(gap);
  }
  while (!pair.b->next_delivery_time().is_infinite()) {
    clock.AdvanceTo(pair.b->next_delivery_time());
    for (auto& f : Drain(*pair.b)) got.push_back(std::move(f));
  }
  return got;
}

TEST(MemoryLinkTest, DeliversFramesBothWaysInOrder) {
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair({}, clock);
  for (uint32_t i = 0; i < 5; ++i) ASSERT_EQ(pair.a->Send(Frame(i)), LinkStatus::kOk);
  ASSERT_EQ(pair.b->Send(Frame(100)), LinkStatus::kOk);

  const auto at_b = Drain(*pair.b);
  ASSERT_EQ(at_b.size(), 5u);
  for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(at_b[i], Frame(i));
  const auto at_a = Drain(*pair.a);
  ASSERT_EQ(at_a.size(), 1u);
  EXPECT_EQ(at_a[0], Frame(100));

  EXPECT_EQ(pair.a->tx_counters().Get(MemoryLinkCounter::kSent), 5u);
  EXPECT_EQ(pair.b->rx_counters().Get(MemoryLinkCounter::kDelivered), 5u);
  EXPECT_EQ(pair.a->rx_counters().Get(MemoryLinkCounter::kDelivered), 1u);
  EXPECT_EQ(pair.a->mtu(), 1500u);
}

TEST(MemoryLinkTest, ReceiveHonoursMaxFrames) {
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair({}, clock);
  for (uint32_t i = 0; i < 5; ++i) ASSERT_EQ(pair.a->Send(Frame(i)), LinkStatus::kOk);
  std::vector<uint32_t> seqs;
  auto r = pair.b->Receive([&](ByteSpan f) { seqs.push_back(SeqOf(f)); }, 3);
  EXPECT_EQ(r.frames, 3u);
  EXPECT_EQ(r.status, LinkStatus::kOk);
  EXPECT_EQ(pair.b->pending(), 2u);
  EXPECT_TRUE(Readable(pair.b->wait_fd()));
  r = pair.b->Receive([&](ByteSpan f) { seqs.push_back(SeqOf(f)); }, 3);
  EXPECT_EQ(r.frames, 2u);
  EXPECT_EQ(seqs, (std::vector<uint32_t>{0, 1, 2, 3, 4}));
}

TEST(MemoryLinkTest, WaitFdReadableExactlyWhileFramesAreDue) {
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair({}, clock);
  EXPECT_FALSE(Readable(pair.b->wait_fd()));
  ASSERT_EQ(pair.a->Send(Frame(1)), LinkStatus::kOk);
  EXPECT_TRUE(Readable(pair.b->wait_fd()));
  EXPECT_FALSE(Readable(pair.a->wait_fd()));  // nothing travels toward a
  EXPECT_EQ(Drain(*pair.b).size(), 1u);
  EXPECT_FALSE(Readable(pair.b->wait_fd()));
}

TEST(MemoryLinkTest, RejectsFramesOutsideEthernetSizes) {
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair({}, clock);
  EXPECT_EQ(pair.a->Send(Frame(0, 1500 + 18)), LinkStatus::kOk);
  EXPECT_EQ(pair.a->Send(Frame(0, 1500 + 19)), LinkStatus::kTooBig);
  const std::vector<uint8_t> runt(13, 0);
  EXPECT_EQ(pair.a->Send(runt), LinkStatus::kTooBig);
  EXPECT_EQ(pair.a->tx_counters().Get(MemoryLinkCounter::kSent), 1u);
}

TEST(MemoryLinkTest, SendBatchStopsAtTheFirstFailure) {
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair({}, clock);
  const auto f0 = Frame(0), f1 = Frame(1), big = Frame(2, 2000), f3 = Frame(3);
  const ByteSpan frames[] = {f0, f1, big, f3};
  LinkStatus status = LinkStatus::kOk;
  EXPECT_EQ(pair.a->SendBatch(frames, &status), 2u);
  EXPECT_EQ(status, LinkStatus::kTooBig);
  EXPECT_EQ(pair.a->SendBatch(std::span(frames).first(2), &status), 2u);
  EXPECT_EQ(status, LinkStatus::kOk);
  EXPECT_EQ(Drain(*pair.b).size(), 4u);
}

TEST(MemoryLinkTest, SendToDestroyedEndIsDown) {
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair({}, clock);
  pair.b.reset();
  EXPECT_EQ(pair.a->Send(Frame(1)), LinkStatus::kDown);
}

TEST(MemoryLinkTest, SinkMaySendOnTheSameLink) {
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair({}, clock);
  ASSERT_EQ(pair.a->Send(Frame(7)), LinkStatus::kOk);
  // b echoes from inside its sink: no lock may be held while the sink runs.
  pair.b->Receive([&](ByteSpan f) { EXPECT_EQ(pair.b->Send(f), LinkStatus::kOk); }, 8);
  const auto back = Drain(*pair.a);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(SeqOf(back[0]), 7u);
}

TEST(MemoryLinkTest, SameSeedGivesIdenticalDeliveries) {
  MemoryLinkConfig config;
  config.seed = 1234;
  config.a_to_b.loss = 0.1;
  config.a_to_b.duplicate = 0.1;
  config.a_to_b.corrupt = 0.1;
  config.a_to_b.reorder = 0.1;
  config.a_to_b.delay = std::chrono::microseconds(300);
  config.a_to_b.jitter = std::chrono::microseconds(200);
  const auto first = RunTraffic(config, 2000, std::chrono::microseconds(50));
  const auto second = RunTraffic(config, 2000, std::chrono::microseconds(50));
  EXPECT_EQ(first, second);
  config.seed = 1235;
  const auto other = RunTraffic(config, 2000, std::chrono::microseconds(50));
  EXPECT_NE(first, other);
}

TEST(MemoryLinkTest, LossDropsAboutTheConfiguredFraction) {
  MemoryLinkConfig config;
  config.a_to_b.loss = 0.2;
  const auto got = RunTraffic(config, 10000);
  // Binomial(10000, 0.8): sigma = 40; allow 5 sigma.
  EXPECT_NEAR(static_cast<double>(got.size()), 8000.0, 200.0);
  // Loss drops whole frames and never reorders the survivors.
  for (size_t i = 1; i < got.size(); ++i) ASSERT_LT(SeqOf(got[i - 1]), SeqOf(got[i]));
}

TEST(MemoryLinkTest, LossAppliesOnlyToItsDirection) {
  MemoryLinkConfig config;
  config.a_to_b.loss = 1.0;
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair(config, clock);
  for (uint32_t i = 0; i < 10; ++i) {
    ASSERT_EQ(pair.a->Send(Frame(i)), LinkStatus::kOk);  // lost frames still "sent"
    ASSERT_EQ(pair.b->Send(Frame(i)), LinkStatus::kOk);
  }
  EXPECT_EQ(Drain(*pair.b).size(), 0u);
  EXPECT_EQ(Drain(*pair.a).size(), 10u);
  EXPECT_EQ(pair.a->tx_counters().Get(MemoryLinkCounter::kLost), 10u);
}

TEST(MemoryLinkTest, DuplicationDeliversAdjacentCopies) {
  MemoryLinkConfig config;
  config.a_to_b.duplicate = 0.1;
  const auto got = RunTraffic(config, 10000);
  EXPECT_NEAR(static_cast<double>(got.size()), 11000.0, 200.0);
  size_t copies = 0;
  for (size_t i = 1; i < got.size(); ++i) {
    if (got[i] == got[i - 1]) ++copies;
    ASSERT_LE(SeqOf(got[i - 1]), SeqOf(got[i]));
  }
  EXPECT_EQ(copies, got.size() - 10000);
}

TEST(MemoryLinkTest, ReorderingLetsLaterFramesOvertake) {
  MemoryLinkConfig config;
  config.seed = 9;
  config.a_to_b.reorder = 0.2;
  config.a_to_b.reorder_delay = std::chrono::microseconds(250);
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair(config, clock);
  std::vector<uint32_t> seqs;
  auto take = [&] { pair.b->Receive([&](ByteSpan f) { seqs.push_back(SeqOf(f)); }, SIZE_MAX); };
  for (uint32_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(pair.a->Send(Frame(i)), LinkStatus::kOk);
    take();
    clock.Advance(std::chrono::microseconds(100));
  }
  clock.Advance(std::chrono::milliseconds(1));
  take();

  ASSERT_EQ(seqs.size(), 1000u);  // reordering loses nothing
  size_t inversions = 0;
  for (size_t i = 1; i < seqs.size(); ++i) inversions += seqs[i] < seqs[i - 1] ? 1 : 0;
  const uint64_t held = pair.a->tx_counters().Get(MemoryLinkCounter::kReordered);
  EXPECT_NEAR(static_cast<double>(held), 200.0, 70.0);
  // A held frame (250 us) is overtaken by the next two frames (sent 100 us apart), so every
  // held frame shows up out of order, unless its successor was held too.
  EXPECT_GT(inversions, held / 2);
  std::vector<uint32_t> sorted = seqs;
  std::sort(sorted.begin(), sorted.end());
  for (uint32_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
}

TEST(MemoryLinkTest, CorruptionFlipsExactlyOneBit) {
  MemoryLinkConfig config;
  config.a_to_b.corrupt = 1.0;
  const auto got = RunTraffic(config, 500);
  ASSERT_EQ(got.size(), 500u);
  std::vector<bool> bit_seen(kFrameSize * 8, false);
  for (size_t n = 0; n < got.size(); ++n) {
    const auto want = Frame(static_cast<uint32_t>(n));
    ASSERT_EQ(got[n].size(), want.size());
    int flipped = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      const uint8_t diff = got[n][i] ^ want[i];
      flipped += std::popcount(diff);
      for (int b = 0; b < 8; ++b)
        if (diff & (1 << b)) bit_seen[i * 8 + b] = true;
    }
    ASSERT_EQ(flipped, 1) << "frame " << n;
  }
  // The flipped bit is spread over the frame, not stuck in one place.
  EXPECT_GT(std::count(bit_seen.begin(), bit_seen.end(), true), 300);
}

TEST(MemoryLinkTest, CorruptionProbability) {
  MemoryLinkConfig config;
  config.a_to_b.corrupt = 0.05;
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair(config, clock);
  size_t changed = 0;
  for (uint32_t i = 0; i < 4000; ++i) {
    ASSERT_EQ(pair.a->Send(Frame(i)), LinkStatus::kOk);
    for (const auto& f : Drain(*pair.b)) changed += f != Frame(i) ? 1 : 0;
  }
  EXPECT_EQ(changed, pair.a->tx_counters().Get(MemoryLinkCounter::kCorrupted));
  EXPECT_NEAR(static_cast<double>(changed), 200.0, 70.0);
}

TEST(MemoryLinkTest, DelayFollowsTheVirtualClock) {
  MemoryLinkConfig config;
  config.a_to_b.delay = std::chrono::milliseconds(5);
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair(config, clock);
  const Instant sent_at = clock.Now();
  ASSERT_EQ(pair.a->Send(Frame(1)), LinkStatus::kOk);
  EXPECT_EQ(pair.b->next_delivery_time(), sent_at + std::chrono::milliseconds(5));
  EXPECT_FALSE(Readable(pair.b->wait_fd()));
  EXPECT_EQ(Drain(*pair.b).size(), 0u);

  clock.Advance(std::chrono::microseconds(4999));
  EXPECT_EQ(Drain(*pair.b).size(), 0u);
  clock.Advance(std::chrono::microseconds(1));
  EXPECT_EQ(Drain(*pair.b).size(), 1u);
  EXPECT_TRUE(pair.b->next_delivery_time().is_infinite());
  // The reverse direction is not delayed.
  ASSERT_EQ(pair.b->Send(Frame(2)), LinkStatus::kOk);
  EXPECT_EQ(Drain(*pair.a).size(), 1u);
}

TEST(MemoryLinkTest, DelayedFrameSignalsWaitFdOnceDueAndTouched) {
  MemoryLinkConfig config;
  config.a_to_b.delay = std::chrono::milliseconds(1);
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair(config, clock);
  ASSERT_EQ(pair.a->Send(Frame(1)), LinkStatus::kOk);
  clock.Advance(std::chrono::milliseconds(1));
  // The next send re-evaluates the queue: the first frame is now due.
  ASSERT_EQ(pair.a->Send(Frame(2)), LinkStatus::kOk);
  EXPECT_TRUE(Readable(pair.b->wait_fd()));
  EXPECT_EQ(Drain(*pair.b).size(), 1u);
  EXPECT_FALSE(Readable(pair.b->wait_fd()));
}

TEST(MemoryLinkTest, RateLimitSerializesFrames) {
  MemoryLinkConfig config;
  config.a_to_b.rate_bytes_per_second = 1'000'000;  // 1000-byte frame = 1 ms on the wire
  config.a_to_b.delay = std::chrono::milliseconds(2);
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair(config, clock);
  const Instant t0 = clock.Now();
  for (uint32_t i = 0; i < 10; ++i) ASSERT_EQ(pair.a->Send(Frame(i, 1000)), LinkStatus::kOk);
  for (int i = 0; i < 10; ++i) {
    // Frame i finishes serializing at (i + 1) ms and arrives 2 ms later.
    const Instant want = t0 + std::chrono::milliseconds(i + 3);
    ASSERT_EQ(pair.b->next_delivery_time(), want) << i;
    clock.AdvanceTo(want);
    const auto got = Drain(*pair.b);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(SeqOf(got[0]), static_cast<uint32_t>(i));
  }
  // An idle sender starts the next frame immediately.
  clock.Advance(std::chrono::milliseconds(100));
  const Instant t1 = clock.Now();
  ASSERT_EQ(pair.a->Send(Frame(99, 500)), LinkStatus::kOk);
  EXPECT_EQ(pair.b->next_delivery_time(), t1 + std::chrono::microseconds(2500));
}

TEST(MemoryLinkTest, QueueLimitTailDrops) {
  MemoryLinkConfig config;
  config.a_to_b.queue_limit = 4;
  config.a_to_b.delay = std::chrono::milliseconds(1);
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair(config, clock);
  for (uint32_t i = 0; i < 10; ++i) ASSERT_EQ(pair.a->Send(Frame(i)), LinkStatus::kOk);
  EXPECT_EQ(pair.b->pending(), 4u);
  EXPECT_EQ(pair.a->tx_counters().Get(MemoryLinkCounter::kQueueDropped), 6u);
  clock.Advance(std::chrono::milliseconds(1));
  const auto got = Drain(*pair.b);
  ASSERT_EQ(got.size(), 4u);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(SeqOf(got[i]), i);
  // Room again once the queue drained.
  ASSERT_EQ(pair.a->Send(Frame(10)), LinkStatus::kOk);
  EXPECT_EQ(pair.b->pending(), 1u);
}

TEST(MemoryLinkTest, ImpairmentsCanChangeMidRun) {
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair({}, clock);
  LinkImpairments lossy;
  lossy.loss = 1.0;
  pair.a->set_tx_impairments(lossy);
  ASSERT_EQ(pair.a->Send(Frame(1)), LinkStatus::kOk);
  pair.a->set_tx_impairments({});
  ASSERT_EQ(pair.a->Send(Frame(2)), LinkStatus::kOk);
  const auto got = Drain(*pair.b);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(SeqOf(got[0]), 2u);
}

TEST(MemoryLinkTest, ConcurrentSendersAndReceiver) {
  auto pair = MemoryLink::CreatePair({}, RealClock::Instance());
  constexpr uint32_t kPerThread = 5000;
  auto send = [&](uint32_t base) {
    for (uint32_t i = 0; i < kPerThread; ++i) {
      while (pair.a->Send(Frame(base + i)) != LinkStatus::kOk) {
      }
    }
  };
  std::thread t1(send, 0), t2(send, 1'000'000);
  std::vector<uint32_t> last = {UINT32_MAX, UINT32_MAX};
  size_t received = 0;
  bool ordered = true;
  while (received < 2 * kPerThread) {
    pollfd p{pair.b->wait_fd(), POLLIN, 0};
    ASSERT_GE(::poll(&p, 1, 5000), 1) << "receiver starved after " << received;
    pair.b->Receive(
        [&](ByteSpan f) {
          const uint32_t s = SeqOf(f);
          uint32_t& prev = last[s >= 1'000'000 ? 1 : 0];
          ordered &= prev == UINT32_MAX || s > prev;
          prev = s;
          ++received;
        },
        64);
  }
  t1.join();
  t2.join();
  EXPECT_TRUE(ordered);  // each sender's frames stay in order
  EXPECT_EQ(received, 2 * kPerThread);
}

}  // namespace
}  // namespace pytcp
