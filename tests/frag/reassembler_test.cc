#include "stack/frag/reassembler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "stack/base/random.h"

namespace pytcp {
namespace {

struct Key {
  uint32_t src;
  uint32_t dst;
  uint16_t id;
  bool operator==(const Key&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const Key& k) {
    return H::combine(std::move(h), k.src, k.dst, k.id);
  }
};

constexpr Key kKey{1, 2, 77};

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + 3);
  return v;
}

struct Frag {
  size_t offset;
  bool more;
};

// Splits `payload` into fragments of `size` bytes (a multiple of 8).
std::vector<Frag> Split(size_t total, size_t size) {
  std::vector<Frag> out;
  for (size_t off = 0; off < total; off += size) out.push_back({off, off + size < total});
  return out;
}

class ReassemblerTest : public ::testing::Test {
 protected:
  Reassembler<Key>::Result Add(const std::vector<uint8_t>& payload, Frag f, size_t size,
                               const Key& key = kKey) {
    const size_t len = std::min(size, payload.size() - f.offset);
    return r_.Add(key, f.offset, f.more, std::span(payload).subspan(f.offset, len), header_,
                  clock_.Now());
  }
  VirtualClock clock_;
  ReassemblyConfig config_;
  Reassembler<Key> r_{config_};
  std::vector<uint8_t> header_{0x45, 0, 0, 0};
};

TEST_F(ReassemblerTest, EveryPermutationOfFourFragmentsCompletes) {
  const auto payload = Pattern(3000);
  auto frags = Split(payload.size(), 800);
  ASSERT_EQ(frags.size(), 4u);
  std::vector<size_t> order(frags.size());
  std::iota(order.begin(), order.end(), 0);
  int permutations = 0;
  do {
    for (size_t i = 0; i < order.size(); ++i) {
      auto res = Add(payload, frags[order[i]], 800);
      if (i + 1 < order.size()) {
        ASSERT_EQ(res.outcome, ReassemblyOutcome::kHeld);
      } else {
        ASSERT_EQ(res.outcome, ReassemblyOutcome::kComplete);
        EXPECT_EQ(res.payload, payload);
        EXPECT_EQ(res.first_header, header_);
      }
    }
    EXPECT_EQ(r_.memory_used(), 0u);
    EXPECT_EQ(r_.datagram_count(), 0u);
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutations, 24);
}

TEST_F(ReassemblerTest, DuplicatesAreIgnored) {
  const auto payload = Pattern(2000);
  auto frags = Split(payload.size(), 1000);
  EXPECT_EQ(Add(payload, frags[0], 1000).outcome, ReassemblyOutcome::kHeld);
  EXPECT_EQ(Add(payload, frags[0], 1000).outcome, ReassemblyOutcome::kDuplicate);
  auto res = Add(payload, frags[1], 1000);
  ASSERT_EQ(res.outcome, ReassemblyOutcome::kComplete);
  EXPECT_EQ(res.payload, payload);
}

TEST_F(ReassemblerTest, OverlapDiscardsDatagramUntilTimeout) {
  const auto payload = Pattern(2400);
  EXPECT_EQ(Add(payload, {0, true}, 1600).outcome, ReassemblyOutcome::kHeld);
  // [800, 2400) overlaps [0, 1600).
  EXPECT_EQ(Add(payload, {800, false}, 1600).outcome, ReassemblyOutcome::kOverlap);
  EXPECT_EQ(r_.memory_used(), 0u);
  // A clean completion attempt afterwards is still refused (RFC 5722).
  EXPECT_EQ(Add(payload, {1600, false}, 800).outcome, ReassemblyOutcome::kDiscarded);
  clock_.Advance(config_.timeout);
  r_.Poll(clock_.Now());
  EXPECT_EQ(r_.datagram_count(), 0u);
  EXPECT_EQ(r_.stats().timeouts, 0u);  // a discarded datagram is not a timeout
}

TEST_F(ReassemblerTest, SameRangeDifferentBytesIsAnOverlap) {
  const auto payload = Pattern(1600);
  auto other = payload;
  other[3] ^= 0xff;
  EXPECT_EQ(Add(payload, {0, true}, 800).outcome, ReassemblyOutcome::kHeld);
  EXPECT_EQ(Add(other, {0, true}, 800).outcome, ReassemblyOutcome::kOverlap);
}

TEST_F(ReassemblerTest, ConflictingEndsDiscard) {
  const auto payload = Pattern(2400);
  EXPECT_EQ(Add(payload, {1600, false}, 800).outcome, ReassemblyOutcome::kHeld);
  EXPECT_EQ(Add(payload, {800, false}, 800).outcome, ReassemblyOutcome::kOverlap);
}

TEST_F(ReassemblerTest, BadLengths) {
  const auto payload = Pattern(2000);
  // A non-final fragment that is not a multiple of 8.
  EXPECT_EQ(r_.Add(kKey, 0, true, std::span(payload).first(100), header_, clock_.Now()).outcome,
            ReassemblyOutcome::kBadLength);
  // Past 65535.
  EXPECT_EQ(r_.Add(kKey, 65528, false, std::span(payload).first(16), header_, clock_.Now()).outcome,
            ReassemblyOutcome::kBadLength);
  // Past the known end.
  EXPECT_EQ(Add(payload, {1000, false}, 1000).outcome, ReassemblyOutcome::kHeld);
  EXPECT_EQ(r_.Add(kKey, 2000, true, std::span(payload).first(8), header_, clock_.Now()).outcome,
            ReassemblyOutcome::kBadLength);
}

TEST_F(ReassemblerTest, MissingPieceTimesOutAndFreesMemory) {
  const auto payload = Pattern(3000);
  EXPECT_EQ(Add(payload, {0, true}, 1004).outcome, ReassemblyOutcome::kBadLength);  // 1004 % 8 != 0
  EXPECT_EQ(Add(payload, {0, true}, 1008).outcome, ReassemblyOutcome::kHeld);
  EXPECT_GT(r_.memory_used(), 0u);
  EXPECT_EQ(r_.NextDeadline(), clock_.Now() + config_.timeout);
  clock_.Advance(config_.timeout - 1ns);
  r_.Poll(clock_.Now());
  EXPECT_EQ(r_.datagram_count(), 1u);
  clock_.Advance(1ns);
  std::vector<uint8_t> seen_header;
  std::vector<uint8_t> seen_data;
  r_.Poll(clock_.Now(), [&](const Key&, std::span<const uint8_t> h, std::span<const uint8_t> d) {
    seen_header.assign(h.begin(), h.end());
    seen_data.assign(d.begin(), d.end());
  });
  EXPECT_EQ(seen_data, std::vector<uint8_t>(payload.begin(), payload.begin() + 8));
  EXPECT_EQ(r_.datagram_count(), 0u);
  EXPECT_EQ(r_.memory_used(), 0u);
  EXPECT_EQ(r_.stats().timeouts, 1u);
  EXPECT_EQ(seen_header, header_);
}

TEST_F(ReassemblerTest, FloodHitsMemoryCapAndFreshDatagramStillCompletes) {
  ReassemblyConfig small;
  small.memory_cap = 64 * 1024;
  Reassembler<Key> r(small);
  const auto chunk = Pattern(1480);
  // 1000 incomplete datagrams, each holding a first fragment.
  for (uint16_t id = 0; id < 1000; ++id) {
    auto res = r.Add(Key{9, 9, id}, 0, true, std::span(chunk).first(1480), {}, clock_.Now());
    ASSERT_NE(res.outcome, ReassemblyOutcome::kNoMemory);
    ASSERT_LE(r.memory_used(), small.memory_cap);
    clock_.Advance(1ms);
  }
  EXPECT_GT(r.stats().evicted, 0u);
  // A new, real datagram still gets through.
  const auto payload = Pattern(2000);
  ASSERT_EQ(r.Add(kKey, 0, true, std::span(payload).first(1000), {}, clock_.Now()).outcome,
            ReassemblyOutcome::kHeld);
  auto res = r.Add(kKey, 1000, false, std::span(payload).subspan(1000), {}, clock_.Now());
  ASSERT_EQ(res.outcome, ReassemblyOutcome::kComplete);
  EXPECT_EQ(res.payload, payload);
}

TEST_F(ReassemblerTest, RandomOrdersWithDuplicatesAlwaysComplete) {
  Random rng(1234);
  for (int round = 0; round < 200; ++round) {
    const size_t total = 8 + rng.Below(20000);
    const size_t size = 8 * (1 + rng.Below(200));
    const auto payload = Pattern(total);
    auto frags = Split(total, size);
    std::vector<Frag> sent = frags;
    for (size_t i = 0; i < frags.size(); ++i) {
      if (rng.Chance(0.3)) sent.push_back(frags[i]);
    }
    for (size_t i = sent.size(); i > 1; --i) std::swap(sent[i - 1], sent[rng.Below(i)]);
    bool complete = false;
    const Key key{7, 8, static_cast<uint16_t>(round)};
    for (const Frag& f : sent) {
      auto res = Add(payload, f, size, key);
      if (complete) {
        // A duplicate arriving after completion starts a new (never completing) datagram.
        continue;
      }
      ASSERT_NE(res.outcome, ReassemblyOutcome::kOverlap);
      if (res.outcome == ReassemblyOutcome::kComplete) {
        EXPECT_EQ(res.payload, payload);
        complete = true;
      }
    }
    EXPECT_TRUE(complete) << "round " << round;
  }
}

}  // namespace
}  // namespace pytcp
