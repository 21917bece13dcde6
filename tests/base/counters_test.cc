#include "stack/base/counters.h"

#include <gtest/gtest.h>

namespace pytcp {
namespace {

enum class DemoCounter : uint16_t { kRx, kTx, kDropShort, kCount };
constexpr std::string_view CounterName(DemoCounter c) {
  switch (c) {
    case DemoCounter::kRx: return "rx";
    case DemoCounter::kTx: return "tx";
    case DemoCounter::kDropShort: return "drop_short";
    case DemoCounter::kCount: break;
  }
  return "?";
}

TEST(CountersTest, IncGetAndDelta) {
  Counters<DemoCounter> c;
  std::map<std::string, uint64_t> before;
  c.AppendTo(&before, "demo.");
  c.Inc(DemoCounter::kRx);
  c.Inc(DemoCounter::kDropShort, 3);
  EXPECT_EQ(c.Get(DemoCounter::kRx), 1u);
  EXPECT_EQ(c.Get(DemoCounter::kTx), 0u);
  std::map<std::string, uint64_t> after;
  c.AppendTo(&after, "demo.");
  const auto delta = CounterDelta(before, after);
  EXPECT_EQ(delta, (std::map<std::string, int64_t>{{"demo.drop_short", 3}, {"demo.rx", 1}}));
  c.Reset();
  EXPECT_EQ(c.Get(DemoCounter::kDropShort), 0u);
}

}  // namespace
}  // namespace pytcp
