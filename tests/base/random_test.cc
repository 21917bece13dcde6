#include "stack/base/random.h"

#include <gtest/gtest.h>

namespace pytcp {
namespace {

TEST(RandomTest, SameSeedSameSequence) {
  Random a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= x != c.Next();
  }
  EXPECT_TRUE(differs);
}

TEST(RandomTest, BoundsAndChance) {
  Random r(7);
  int hits = 0;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t v = r.Between(10, 20);
    ASSERT_GE(v, 10u);
    ASSERT_LE(v, 20u);
    hits += r.Chance(0.25) ? 1 : 0;
  }
  EXPECT_NEAR(hits, 2500, 250);
  EXPECT_FALSE(r.Chance(0.0));
}

}  // namespace
}  // namespace pytcp
