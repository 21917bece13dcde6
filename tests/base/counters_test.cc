#include "stack/base/counters.h"

#include <gtest/gtest.h>

namespace pytcp {
namespace {

PYTCP_COUNTERS(DemoCounter,
  kRx,
  kTx,  // a comment, with a comma, is not a name
  kDropShort,
);

PYTCP_COUNTERS(NamingCounter,
  kRxV1Queries,
  kIp6Disabled,
  kRxDropTTLExpired,
  kTxDropTooBig,
  kFinWait2,
);

TEST(CountersTest, NamesAreTheEnumeratorsInSnakeCase) {
  EXPECT_EQ(static_cast<int>(DemoCounter::kCount), 3);
  EXPECT_EQ(CounterName(DemoCounter::kRx), "rx");
  EXPECT_EQ(CounterName(DemoCounter::kTx), "tx");
  EXPECT_EQ(CounterName(DemoCounter::kDropShort), "drop_short");
  EXPECT_EQ(CounterName(NamingCounter::kRxV1Queries), "rx_v1_queries");
  EXPECT_EQ(CounterName(NamingCounter::kIp6Disabled), "ip6_disabled");
  EXPECT_EQ(CounterName(NamingCounter::kRxDropTTLExpired), "rx_drop_ttl_expired");
  EXPECT_EQ(CounterName(NamingCounter::kTxDropTooBig), "tx_drop_too_big");
  EXPECT_EQ(CounterName(NamingCounter::kFinWait2), "fin_wait2");
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
