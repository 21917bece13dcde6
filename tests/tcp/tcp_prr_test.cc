// TcpPrr on its own (RFC 6937 §3): the proportional part and the slow-start reduction
// bound.
#include "stack/tcp/tcp_prr.h"

#include <gtest/gtest.h>

namespace pytcp {
namespace {

constexpr uint32_t kMss = 1000;

TEST(TcpPrrTest, AboveSsthreshSendsInProportion) {
  // RecoverFS 20 segments, ssthresh 14 (CUBIC's 0.7): 7 segments per 10 delivered.
  TcpPrr prr;
  prr.Start(20 * kMss);
  uint32_t sent = 0;
  uint32_t pipe = 19 * kMss;
  for (int i = 0; i < 10; ++i) {
    pipe -= kMss;  // the ACK delivered one segment
    const uint32_t cwnd = prr.OnAck(kMss, pipe, 14 * kMss, kMss);
    while (cwnd >= pipe + kMss) {
      prr.OnSent(kMss);
      pipe += kMss;
      ++sent;
    }
  }
  EXPECT_EQ(sent, 7u);
}

TEST(TcpPrrTest, BelowSsthreshCatchesUpNoFasterThanSlowStart) {
  // Heavy loss left pipe far below ssthresh: each ACK lets out what it delivered plus one
  // segment (PRR-SSRB), until pipe reaches ssthresh.
  TcpPrr prr;
  prr.Start(20 * kMss);
  EXPECT_EQ(prr.OnAck(kMss, 2 * kMss, 10 * kMss, kMss), 4 * kMss);  // pipe 2 + (1 + 1)
  prr.OnSent(2 * kMss);
  // A fraction of a segment is rounded up to a whole one.
  EXPECT_EQ(prr.OnAck(kMss / 2, 3 * kMss + 100, 10 * kMss, kMss), 5 * kMss + 100);
  prr.OnSent(3 * kMss);
  // Never beyond ssthresh.
  EXPECT_EQ(prr.OnAck(5 * kMss, 9 * kMss, 10 * kMss, kMss), 10 * kMss);
}

}  // namespace
}  // namespace pytcp
