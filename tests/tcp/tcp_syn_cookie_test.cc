// SYN cookies on their own (net/ipv4/syncookies.c's scheme): what a cookie carries, how
// long it is good for, and that it is bound to the connection it was made for.
#include <gtest/gtest.h>

#include "stack/base/random.h"
#include "stack/tcp/tcp_isn.h"

namespace pytcp {
namespace {

constexpr int64_t kMinute = 60LL * 1000 * 1000 * 1000;

TcpFourTuple Tuple(uint16_t remote_port = 40000) {
  TcpFourTuple t;
  t.local_ip = IpAddress(*Ip4Address::Parse("10.77.0.2"));
  t.remote_ip = IpAddress(*Ip4Address::Parse("10.77.0.1"));
  t.local_port = 80;
  t.remote_port = remote_port;
  return t;
}

class TcpSynCookieTest : public ::testing::Test {
 protected:
  Random random_{42};
  TcpSecrets secrets_{random_};
  TcpSynCookies cookies_{&secrets_};
  const Instant t0_ = Instant::FromNanos(10 * kMinute + 5);
};

TEST_F(TcpSynCookieTest, RoundTripCarriesTheMssRoundedDownToTheTable) {
  const SeqNum peer_isn(123456);
  for (const auto& [mss, expected] :
       std::vector<std::pair<uint16_t, uint16_t>>{{1460, 1460}, {1400, 1300}, {9000, 1460}, {536, 536}, {100, 536}}) {
    const SeqNum cookie = cookies_.Make(Tuple(), peer_isn, mss, t0_);
    const auto d = cookies_.Check(Tuple(), peer_isn, cookie, t0_);
    ASSERT_TRUE(d.has_value()) << mss;
    EXPECT_EQ(d->mss, expected) << mss;
  }
}

TEST_F(TcpSynCookieTest, BoundToTheTupleAndThePeersIsn) {
  const SeqNum peer_isn(777);
  const SeqNum cookie = cookies_.Make(Tuple(), peer_isn, 1460, t0_);
  EXPECT_FALSE(cookies_.Check(Tuple(40001), peer_isn, cookie, t0_).has_value());
  // As in Linux, the MSS index is added, not hashed: an ISN or cookie a few units off
  // decodes to another table entry, and anything further to no entry (an off-path
  // attacker knows neither the cookie nor the hash to start from).
  EXPECT_FALSE(cookies_.Check(Tuple(), peer_isn + 1000, cookie, t0_).has_value());
  EXPECT_FALSE(cookies_.Check(Tuple(), peer_isn, cookie + 1000, t0_).has_value());
  EXPECT_FALSE(cookies_.Check(Tuple(), peer_isn, cookie + 1, t0_).has_value());  // index 4
}

TEST_F(TcpSynCookieTest, ExpiresAfterTwoMinutes) {
  const SeqNum peer_isn(99);
  const SeqNum cookie = cookies_.Make(Tuple(), peer_isn, 1460, t0_);
  EXPECT_TRUE(cookies_.Check(Tuple(), peer_isn, cookie, Instant::FromNanos(t0_.nanos() + kMinute)).has_value());
  EXPECT_FALSE(cookies_.Check(Tuple(), peer_isn, cookie, Instant::FromNanos(t0_.nanos() + 2 * kMinute)).has_value());
}

TEST_F(TcpSynCookieTest, AnotherHostKeyRejectsTheCookie) {
  Random other_random{43};
  TcpSecrets other{other_random};
  TcpSynCookies other_cookies{&other};
  const SeqNum cookie = cookies_.Make(Tuple(), SeqNum(5), 1460, t0_);
  EXPECT_FALSE(other_cookies.Check(Tuple(), SeqNum(5), cookie, t0_).has_value());
}

TEST_F(TcpSynCookieTest, TimestampCarriesWindowScaleAndSack) {
  // cookie_init_timestamp: the options live in TSval's low six bits, and TSval never
  // moves forward of the real clock.
  const uint32_t tsval = 1000000;
  const uint32_t ts = TcpSynCookies::EncodeTs(tsval, {7, true});
  EXPECT_LE(ts, tsval);
  const auto o = TcpSynCookies::DecodeTs(ts);
  ASSERT_TRUE(o.wscale.has_value());
  EXPECT_EQ(*o.wscale, 7);
  EXPECT_TRUE(o.sack);
  const auto none = TcpSynCookies::DecodeTs(TcpSynCookies::EncodeTs(tsval, {std::nullopt, false}));
  EXPECT_FALSE(none.wscale.has_value());
  EXPECT_FALSE(none.sack);
}

}  // namespace
}  // namespace pytcp
