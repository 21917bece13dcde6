#include "stack/net/seq_num.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <sstream>

#include "absl/container/flat_hash_set.h"

namespace pytcp {
namespace {

constexpr uint32_t kTop = 0xffffffffu;
constexpr uint32_t kHalf = 0x80000000u;  // 2^31

static_assert(SeqNum(kTop) + 1 == SeqNum(0));
static_assert(SeqNum(0) - 1 == SeqNum(kTop));
static_assert(SeqNum(kTop - 5) < SeqNum(5));
static_assert(SeqNum(5) - SeqNum(kTop - 4) == 10);

TEST(SeqNum, ArithmeticWrapsModulo2To32) {
  EXPECT_EQ((SeqNum(kTop) + 1).value(), 0u);
  EXPECT_EQ((SeqNum(kTop - 9) + 20).value(), 10u);
  EXPECT_EQ((SeqNum(5) - 10).value(), kTop - 4);
  SeqNum s(kTop - 1);
  s += 3;
  EXPECT_EQ(s.value(), 1u);
  s -= 2;
  EXPECT_EQ(s.value(), kTop);
  // Adding the whole space is the identity.
  EXPECT_EQ(SeqNum(1234) + kTop + 1, SeqNum(1234));
}

TEST(SeqNum, SignedDistanceAcrossTheWrap) {
  EXPECT_EQ(SeqNum(5) - SeqNum(kTop - 4), 10);
  EXPECT_EQ(SeqNum(kTop - 4) - SeqNum(5), -10);
  EXPECT_EQ(SeqNum(100) - SeqNum(100), 0);
  EXPECT_EQ(SeqNum(kHalf - 1) - SeqNum(0), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(SeqNum(0) - SeqNum(kHalf - 1), -std::numeric_limits<int32_t>::max());
}

TEST(SeqNum, ComparisonsAcrossTheWrap) {
  const SeqNum before(kTop - 100);
  const SeqNum after(50);
  EXPECT_LT(before, after);
  EXPECT_LE(before, after);
  EXPECT_GT(after, before);
  EXPECT_GE(after, before);
  EXPECT_FALSE(after < before);
  EXPECT_FALSE(before > after);
  EXPECT_NE(before, after);
  EXPECT_LE(after, after);
  EXPECT_GE(after, after);
  EXPECT_FALSE(after < after);
  // Without the wrap, plain order.
  EXPECT_LT(SeqNum(1000), SeqNum(2000));
  EXPECT_GT(SeqNum(kTop), SeqNum(kTop - 1));
}

TEST(SeqNum, OrderHoldsUpToHalfTheSpace) {
  // RFC 9293 §3.4: comparisons are meaningful for numbers less than 2^31 apart.
  for (const uint32_t base : {0u, 1u, kHalf - 1, kHalf, kHalf + 1, kTop - 1, kTop}) {
    SCOPED_TRACE(base);
    const SeqNum a(base);
    const SeqNum b = a + (kHalf - 1);
    EXPECT_LT(a, b);
    EXPECT_GT(b, a);
    EXPECT_FALSE(b < a);
  }
  // At exactly 2^31 apart the order is undefined: both sides read as "before".
  EXPECT_LT(SeqNum(0), SeqNum(kHalf));
  EXPECT_LT(SeqNum(kHalf), SeqNum(0));
}

TEST(SeqNum, InRangeAcrossTheWrap) {
  const SeqNum lo(kTop - 9);  // window of 20 starting 10 before the wrap
  const SeqNum hi = lo + 20;
  EXPECT_EQ(hi.value(), 10u);
  EXPECT_TRUE(lo.InRange(lo, hi));
  EXPECT_TRUE(SeqNum(kTop).InRange(lo, hi));
  EXPECT_TRUE(SeqNum(0).InRange(lo, hi));
  EXPECT_TRUE(SeqNum(9).InRange(lo, hi));
  EXPECT_FALSE(SeqNum(10).InRange(lo, hi));  // hi is exclusive
  EXPECT_FALSE(SeqNum(kTop - 10).InRange(lo, hi));
  EXPECT_FALSE(SeqNum(kHalf).InRange(lo, hi));
  // An empty window holds nothing.
  EXPECT_FALSE(lo.InRange(lo, lo));
}

TEST(SeqNum, MaxMinAcrossTheWrap) {
  EXPECT_EQ(SeqMax(SeqNum(kTop), SeqNum(3)), SeqNum(3));
  EXPECT_EQ(SeqMin(SeqNum(kTop), SeqNum(3)), SeqNum(kTop));
  EXPECT_EQ(SeqMax(SeqNum(3), SeqNum(kTop)), SeqNum(3));
  EXPECT_EQ(SeqMin(SeqNum(3), SeqNum(kTop)), SeqNum(kTop));
  EXPECT_EQ(SeqMax(SeqNum(7), SeqNum(7)), SeqNum(7));
}

TEST(SeqNum, FormatsAsTheNumber) {
  EXPECT_EQ(SeqNum(0).ToString(), "0");
  EXPECT_EQ(SeqNum(kTop).ToString(), "4294967295");
  EXPECT_EQ(fmt::format("{}", SeqNum(123456)), "123456");
  EXPECT_EQ(fmt::format("{:08x}", SeqNum(0xbeef)), "0000beef");
  std::ostringstream os;
  os << SeqNum(42);
  EXPECT_EQ(os.str(), "42");
}

TEST(SeqNum, Hashes) {
  absl::flat_hash_set<SeqNum> set = {SeqNum(1), SeqNum(kTop)};
  EXPECT_TRUE(set.contains(SeqNum(0) - 1));
  EXPECT_FALSE(set.contains(SeqNum(2)));
}

}  // namespace
}  // namespace pytcp
