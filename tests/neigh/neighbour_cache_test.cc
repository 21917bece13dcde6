#include "stack/neigh/neighbour_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stack/net/ip4_address.h"

namespace pytcp {
namespace {

constexpr Ip4Address kPeer(10, 77, 0, 1);
constexpr MacAddress kPeerMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x01});
constexpr MacAddress kOtherMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x02});

class RecordingActions : public NeighbourCache<Ip4Address>::Actions {
 public:
  void SendSolicitation(const Ip4Address&, std::optional<MacAddress> unicast, Instant now) override {
    solicitations.push_back(unicast.has_value() ? "unicast" : "broadcast");
    solicited_at.push_back(now);
  }
  void TransmitQueued(const Ip4Address&, const MacAddress& mac,
                      std::vector<uint8_t> packet) override {
    transmitted.emplace_back(mac, packet);
  }
  void ResolutionFailed(const Ip4Address&, std::vector<std::vector<uint8_t>> dropped,
                        Instant now) override {
    failed_packets += dropped.size();
    ++failures;
    failed_at = now;
  }
  std::vector<std::string> solicitations;
  std::vector<Instant> solicited_at;  // the time each callback was given
  Instant failed_at;
  std::vector<std::pair<MacAddress, std::vector<uint8_t>>> transmitted;
  size_t failed_packets = 0;
  int failures = 0;
};

class NeighbourCacheTest : public ::testing::Test {
 protected:
  NeighbourCache<Ip4Address>::ResolveResult Send(uint8_t marker, MacAddress* mac) {
    std::vector<uint8_t> packet{marker};
    return cache_.Resolve(kPeer, clock_.Now(), mac, &packet);
  }
  // Advances the virtual clock to each deadline until `until`, polling as the loop would.
  void RunUntil(Instant until) {
    while (true) {
      const Instant next = cache_.NextDeadline();
      if (next > until) break;
      clock_.AdvanceTo(next);
      cache_.Poll(clock_.Now());
    }
    clock_.AdvanceTo(until);
  }
  NeighbourState StateOf() const { return cache_.Find(kPeer)->state; }

  VirtualClock clock_;
  RecordingActions actions_;
  NeighbourCacheConfig config_;
  NeighbourCache<Ip4Address> cache_{config_, &actions_};
};

TEST_F(NeighbourCacheTest, FirstPacketIsQueuedNotLost) {
  MacAddress mac;
  EXPECT_EQ(Send(1, &mac), NeighbourCache<Ip4Address>::ResolveResult::kQueued);
  EXPECT_EQ(Send(2, &mac), NeighbourCache<Ip4Address>::ResolveResult::kQueued);
  EXPECT_EQ(actions_.solicitations, std::vector<std::string>{"broadcast"});
  EXPECT_EQ(StateOf(), NeighbourState::kIncomplete);
  cache_.OnAdvertisement(kPeer, kPeerMac, /*solicited=*/true, /*override=*/true, false,
                         clock_.Now());
  EXPECT_EQ(StateOf(), NeighbourState::kReachable);
  ASSERT_EQ(actions_.transmitted.size(), 2u);
  EXPECT_EQ(actions_.transmitted[0].first, kPeerMac);
  EXPECT_EQ(actions_.transmitted[0].second, std::vector<uint8_t>{1});
  EXPECT_EQ(actions_.transmitted[1].second, std::vector<uint8_t>{2});
  EXPECT_EQ(Send(3, &mac), NeighbourCache<Ip4Address>::ResolveResult::kResolved);
  EXPECT_EQ(mac, kPeerMac);
}

TEST_F(NeighbourCacheTest, RetriesThenFailsAndHandsBackPackets) {
  MacAddress mac;
  const Instant start = clock_.Now();
  (void)Send(1, &mac);
  RunUntil(clock_.Now() + 10s);
  EXPECT_EQ(actions_.solicitations.size(), 3u);  // MAX_MULTICAST_SOLICIT
  // Each callback is given the time it happens at (RETRANS_TIMER apart, 1 s), which the
  // engines pass on (ND's solicitation, the transports' EHOSTUNREACH) instead of storing
  // a time of their own.
  ASSERT_EQ(actions_.solicited_at.size(), 3u);
  EXPECT_EQ(actions_.solicited_at[0], start);
  EXPECT_EQ(actions_.solicited_at[1], start + 1s);
  EXPECT_EQ(actions_.solicited_at[2], start + 2s);
  EXPECT_EQ(actions_.failed_at, start + 3s);
  EXPECT_EQ(actions_.failures, 1);
  EXPECT_EQ(actions_.failed_packets, 1u);
  EXPECT_EQ(cache_.Find(kPeer), nullptr);
}

TEST_F(NeighbourCacheTest, QueueIsBoundedKeepingNewest) {
  MacAddress mac;
  for (uint8_t i = 0; i < 10; ++i) (void)Send(i, &mac);
  EXPECT_EQ(cache_.Find(kPeer)->queue.size(), config_.max_queued_per_entry);
  cache_.OnAdvertisement(kPeer, kPeerMac, true, true, false, clock_.Now());
  ASSERT_EQ(actions_.transmitted.size(), config_.max_queued_per_entry);
  EXPECT_EQ(actions_.transmitted.back().second, std::vector<uint8_t>{9});
}

TEST_F(NeighbourCacheTest, ReachableToStaleToDelayToProbeToGone) {
  MacAddress mac;
  (void)Send(1, &mac);
  cache_.OnAdvertisement(kPeer, kPeerMac, true, true, false, clock_.Now());
  RunUntil(clock_.Now() + config_.reachable_time + 1ms);
  EXPECT_EQ(StateOf(), NeighbourState::kStale);
  // Using a STALE entry sends at once, and starts DELAY.
  EXPECT_EQ(Send(2, &mac), NeighbourCache<Ip4Address>::ResolveResult::kResolved);
  EXPECT_EQ(StateOf(), NeighbourState::kDelay);
  actions_.solicitations.clear();
  RunUntil(clock_.Now() + config_.delay_first_probe_time + 1ms);
  EXPECT_EQ(StateOf(), NeighbourState::kProbe);
  EXPECT_EQ(actions_.solicitations, std::vector<std::string>{"unicast"});
  RunUntil(clock_.Now() + 5s);
  EXPECT_EQ(cache_.Find(kPeer), nullptr);
  EXPECT_EQ(actions_.solicitations.size(), 3u);
}

TEST_F(NeighbourCacheTest, ProbeAnsweredReturnsToReachable) {
  MacAddress mac;
  (void)Send(1, &mac);
  cache_.OnAdvertisement(kPeer, kPeerMac, true, true, false, clock_.Now());
  RunUntil(clock_.Now() + config_.reachable_time + 1ms);
  (void)Send(2, &mac);
  RunUntil(clock_.Now() + config_.delay_first_probe_time + 1ms);
  ASSERT_EQ(StateOf(), NeighbourState::kProbe);
  cache_.OnAdvertisement(kPeer, kPeerMac, true, false, false, clock_.Now());
  EXPECT_EQ(StateOf(), NeighbourState::kReachable);
}

TEST_F(NeighbourCacheTest, UpperLayerConfirmationSkipsProbing) {
  MacAddress mac;
  (void)Send(1, &mac);
  cache_.OnAdvertisement(kPeer, kPeerMac, true, true, false, clock_.Now());
  RunUntil(clock_.Now() + config_.reachable_time + 1ms);
  (void)Send(2, &mac);
  ASSERT_EQ(StateOf(), NeighbourState::kDelay);
  cache_.ConfirmReachable(kPeer, clock_.Now());
  EXPECT_EQ(StateOf(), NeighbourState::kReachable);
}

TEST_F(NeighbourCacheTest, SolicitationCreatesStaleAndChangedMacGoesStale) {
  cache_.OnSolicitationFrom(kPeer, kPeerMac, clock_.Now());
  EXPECT_EQ(StateOf(), NeighbourState::kStale);
  cache_.OnAdvertisement(kPeer, kPeerMac, true, true, false, clock_.Now());
  EXPECT_EQ(StateOf(), NeighbourState::kReachable);
  // Unsolicited, no override, different MAC: keep the old MAC but mark it suspect.
  cache_.OnAdvertisement(kPeer, kOtherMac, false, false, false, clock_.Now());
  EXPECT_EQ(StateOf(), NeighbourState::kStale);
  EXPECT_EQ(cache_.Find(kPeer)->mac, kPeerMac);
  // With override the new MAC is taken.
  cache_.OnAdvertisement(kPeer, kOtherMac, false, true, false, clock_.Now());
  EXPECT_EQ(cache_.Find(kPeer)->mac, kOtherMac);
}

TEST_F(NeighbourCacheTest, UnsolicitedAdvertisementForUnknownIsIgnored) {
  cache_.OnAdvertisement(kPeer, kPeerMac, false, true, false, clock_.Now());
  EXPECT_EQ(cache_.Find(kPeer), nullptr);
  cache_.MergeIfPresent(kPeer, kPeerMac, clock_.Now());
  EXPECT_EQ(cache_.Find(kPeer), nullptr);
}

TEST_F(NeighbourCacheTest, BoundedSizeEvictsIdleEntries) {
  NeighbourCacheConfig small;
  small.max_entries = 4;
  NeighbourCache<Ip4Address> cache(small, &actions_);
  for (uint8_t i = 1; i <= 10; ++i) {
    cache.OnSolicitationFrom(Ip4Address(10, 77, 0, i), kPeerMac, clock_.Now());
    clock_.Advance(1ms);
  }
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_NE(cache.Find(Ip4Address(10, 77, 0, 10)), nullptr);
  EXPECT_EQ(cache.Find(Ip4Address(10, 77, 0, 1)), nullptr);
}

TEST_F(NeighbourCacheTest, FullOfPendingEntriesDropsNewResolution) {
  NeighbourCacheConfig small;
  small.max_entries = 2;
  NeighbourCache<Ip4Address> cache(small, &actions_);
  MacAddress mac;
  for (uint8_t i = 1; i <= 2; ++i) {
    std::vector<uint8_t> p{i};
    EXPECT_EQ(cache.Resolve(Ip4Address(10, 77, 0, i), clock_.Now(), &mac, &p),
              NeighbourCache<Ip4Address>::ResolveResult::kQueued);
  }
  std::vector<uint8_t> p{3};
  EXPECT_EQ(cache.Resolve(Ip4Address(10, 77, 0, 3), clock_.Now(), &mac, &p),
            NeighbourCache<Ip4Address>::ResolveResult::kDropped);
}

}  // namespace
}  // namespace pytcp
