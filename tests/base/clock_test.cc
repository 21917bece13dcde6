#include "stack/base/clock.h"

#include <gtest/gtest.h>

namespace pytcp {
namespace {

TEST(InstantTest, ArithmeticAndOrder) {
  const Instant a = Instant::FromNanos(1000);
  const Instant b = a + 5us;
  EXPECT_EQ(b.nanos(), 6000);
  EXPECT_EQ(b - a, Duration(5000));
  EXPECT_LT(a, b);
  EXPECT_EQ(EarliestOf(a, b), a);
}

TEST(InstantTest, InfiniteStaysInfinite) {
  const Instant inf = Instant::Infinite();
  EXPECT_TRUE(inf.is_infinite());
  EXPECT_TRUE((inf + 10s).is_infinite());
  EXPECT_LT(Instant::FromNanos(0) + 1000s, inf);
}

TEST(VirtualClockTest, MovesOnlyWhenAdvanced) {
  VirtualClock clock;
  const Instant start = clock.Now();
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(250ms);
  EXPECT_EQ(clock.Now() - start, Duration(250'000'000));
  clock.AdvanceTo(start);  // never backwards
  EXPECT_EQ(clock.Now() - start, Duration(250'000'000));
}

TEST(RealClockTest, IsMonotonic) {
  const Instant a = RealClock::Instance().Now();
  const Instant b = RealClock::Instance().Now();
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace pytcp

#include "stack/base/token_bucket.h"

namespace pytcp {
namespace {

TEST(TokenBucketTest, BurstThenRate) {
  VirtualClock clock;
  TokenBucket bucket(/*rate=*/10, /*burst=*/3);
  int taken = 0;
  for (int i = 0; i < 10; ++i) taken += bucket.TryTake(clock.Now()) ? 1 : 0;
  EXPECT_EQ(taken, 3);
  clock.Advance(100ms);  // one token
  EXPECT_TRUE(bucket.TryTake(clock.Now()));
  EXPECT_FALSE(bucket.TryTake(clock.Now()));
  clock.Advance(10s);  // refills to the burst, not beyond
  taken = 0;
  for (int i = 0; i < 10; ++i) taken += bucket.TryTake(clock.Now()) ? 1 : 0;
  EXPECT_EQ(taken, 3);
}

}  // namespace
}  // namespace pytcp
