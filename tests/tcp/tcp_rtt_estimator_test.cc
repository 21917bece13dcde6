// The RTO computation on its own (RFC 6298 §2, §5; Linux's tcp_set_rto reading of the
// minimum).
#include "stack/tcp/tcp_rtt.h"

#include <gtest/gtest.h>

#include <chrono>

namespace pytcp {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TcpRttEstimator Linux() { return TcpRttEstimator(seconds(1), milliseconds(200), seconds(120)); }

TEST(TcpRttEstimatorTest, InitialRtoBeforeAnySample) {
  const TcpRttEstimator rtt = Linux();
  EXPECT_FALSE(rtt.has_sample());
  EXPECT_EQ(rtt.rto(), seconds(1));  // RFC 6298 §2.1
}

TEST(TcpRttEstimatorTest, FirstAndLaterSamples) {
  TcpRttEstimator rtt = Linux();
  rtt.Sample(milliseconds(100));
  // §2.2: SRTT = R, RTTVAR = R/2; RTO = SRTT + max(4 * RTTVAR, 200 ms) = 100 + 200.
  EXPECT_EQ(rtt.srtt(), milliseconds(100));
  EXPECT_EQ(rtt.rttvar(), milliseconds(50));
  EXPECT_EQ(rtt.rto(), milliseconds(300));
  rtt.Sample(milliseconds(200));
  // §2.3: RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5.
  EXPECT_EQ(rtt.rttvar(), std::chrono::microseconds(62500));
  EXPECT_EQ(rtt.srtt(), std::chrono::microseconds(112500));
  EXPECT_EQ(rtt.rto(), std::chrono::microseconds(112500 + 250000));
  EXPECT_EQ(rtt.min_rtt(), milliseconds(100));
}

TEST(TcpRttEstimatorTest, MinimumIsAddedNotAFloor) {
  // A steady path: RTTVAR decays, and the 200 ms term keeps the RTO above SRTT + 200 ms
  // (a floor of 200 ms would fire on a 150 ms path with a 40 ms delayed ACK).
  TcpRttEstimator rtt = Linux();
  for (int i = 0; i < 200; ++i) rtt.Sample(milliseconds(150));
  EXPECT_EQ(rtt.rto(), milliseconds(350));
}

TEST(TcpRttEstimatorTest, BackoffDoublesUntilTheMaximumAndStaysUntilReset) {
  TcpRttEstimator rtt = Linux();
  rtt.Sample(milliseconds(100));
  rtt.Backoff();
  EXPECT_EQ(rtt.rto(), milliseconds(600));  // §5.5
  rtt.Backoff();
  EXPECT_EQ(rtt.rto(), milliseconds(1200));
  for (int i = 0; i < 20; ++i) rtt.Backoff();
  EXPECT_EQ(rtt.rto(), seconds(120));  // §2.5: at most the maximum
  // Karn (§5.7 / tcp_ack_update_rtt): a new sample alone keeps the backoff; the
  // connection resets it when the sample is valid.
  rtt.Sample(milliseconds(100));
  EXPECT_EQ(rtt.rto(), seconds(120));
  rtt.ResetBackoff();
  EXPECT_LT(rtt.rto(), seconds(1));
}

TEST(TcpRttEstimatorTest, FallbackAfterARetransmittedHandshake) {
  TcpRttEstimator rtt = Linux();
  rtt.Fallback(seconds(3));  // RFC 6298 §5.7
  EXPECT_EQ(rtt.rto(), seconds(3));
  rtt.Sample(milliseconds(100));
  EXPECT_EQ(rtt.rto(), milliseconds(300));
  rtt.Fallback(seconds(3));  // a sample exists: no effect
  EXPECT_EQ(rtt.rto(), milliseconds(300));
}

TEST(TcpRttEstimatorTest, NegativeSamplesAreIgnored) {
  TcpRttEstimator rtt = Linux();
  rtt.Sample(milliseconds(-5));
  EXPECT_FALSE(rtt.has_sample());
}

}  // namespace
}  // namespace pytcp
