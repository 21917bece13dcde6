// The sender's SACK scoreboard on its own (RFC 6675 §3-§4, RFC 2018, RFC 2883): what
// it records, forgets, and derives (IsLost's boundary, the holes NextSeg walks).
#include "stack/tcp/tcp_sack.h"

#include <gtest/gtest.h>

#include <vector>

namespace pytcp {
namespace {

SeqNum S(uint32_t v) { return SeqNum(v); }

uint32_t AddBlocks(TcpSackScoreboard& sb, std::vector<TcpSackBlock> blocks, uint32_t una,
                   uint32_t max) {
  return sb.Add(blocks, S(una), S(max));
}

TEST(TcpSackScoreboardTest, MergesOverlappingAndAdjacentBlocks) {
  TcpSackScoreboard sb;
  EXPECT_EQ(AddBlocks(sb, {{S(2000), S(3000)}}, 0, 10000), 1000u);
  EXPECT_EQ(AddBlocks(sb, {{S(3000), S(4000)}}, 0, 10000), 1000u);  // touching: one range
  EXPECT_EQ(sb.range_count(), 1u);
  EXPECT_EQ(AddBlocks(sb, {{S(2500), S(3500)}}, 0, 10000), 0u);  // already known
  EXPECT_EQ(AddBlocks(sb, {{S(6000), S(7000)}, {S(1000), S(2500)}}, 0, 10000), 2000u);
  EXPECT_EQ(sb.range_count(), 2u);
  EXPECT_EQ(sb.sacked_bytes(), 4000u);
  EXPECT_EQ(sb.high_sacked(S(0)), S(7000));
  // A block bridging the gap joins both ranges.
  EXPECT_EQ(AddBlocks(sb, {{S(4000), S(6000)}}, 0, 10000), 2000u);
  EXPECT_EQ(sb.range_count(), 1u);
  EXPECT_EQ(sb.sacked_bytes(), 6000u);
}

TEST(TcpSackScoreboardTest, IgnoresDsackAndBlocksBeyondWhatWasSent) {
  TcpSackScoreboard sb;
  // RFC 2883: a block at or below SND.UNA reports a duplicate, not data in flight.
  EXPECT_EQ(AddBlocks(sb, {{S(500), S(1000)}}, 1000, 5000), 0u);
  // Beyond SND.MAX: nothing we sent; empty or inverted: nothing at all.
  EXPECT_EQ(AddBlocks(sb, {{S(4000), S(6000)}, {S(3000), S(3000)}, {S(3500), S(3400)}}, 1000,
                      5000),
            0u);
  EXPECT_TRUE(sb.empty());
  // Straddling SND.UNA: only the part above counts.
  EXPECT_EQ(AddBlocks(sb, {{S(800), S(1500)}}, 1000, 5000), 500u);
  EXPECT_TRUE(sb.IsSacked(S(1000)));
}

TEST(TcpSackScoreboardTest, CumulativeAckForgetsWhatItCovers) {
  TcpSackScoreboard sb;
  (void)AddBlocks(sb, {{S(1000), S(2000)}, {S(3000), S(4000)}}, 0, 5000);
  sb.AdvanceUna(S(3500));
  EXPECT_EQ(sb.range_count(), 1u);
  EXPECT_EQ(sb.sacked_bytes(), 500u);
  EXPECT_FALSE(sb.IsSacked(S(1500)));
  EXPECT_TRUE(sb.IsSacked(S(3500)));
  EXPECT_FALSE(sb.IsSacked(S(4000)));
  sb.AdvanceUna(S(4000));
  EXPECT_TRUE(sb.empty());
  EXPECT_EQ(sb.sacked_bytes(), 0u);
}

TEST(TcpSackScoreboardTest, SackedInCountsOnlyTheOverlap) {
  TcpSackScoreboard sb;
  (void)AddBlocks(sb, {{S(1000), S(2000)}, {S(3000), S(4000)}}, 0, 5000);
  EXPECT_EQ(sb.SackedIn(S(0), S(5000)), 2000u);
  EXPECT_EQ(sb.SackedIn(S(1500), S(3500)), 1000u);
  EXPECT_EQ(sb.SackedIn(S(2000), S(3000)), 0u);
}

TEST(TcpSackScoreboardTest, LostBoundaryFollowsDupThresh) {
  // RFC 6675 §4 IsLost: DupThresh (3) SACKed segments, or more than 2 * SMSS SACKed bytes,
  // above an unSACKed byte make it lost.
  constexpr uint32_t kSmss = 1000;
  TcpSackScoreboard sb;
  (void)AddBlocks(sb, {{S(1000), S(2000)}}, 0, 10000);
  EXPECT_EQ(sb.LostBoundary(S(0), kSmss, 3), S(0));  // one segment: nothing lost yet
  (void)AddBlocks(sb, {{S(3000), S(4000)}}, 0, 10000);
  EXPECT_EQ(sb.LostBoundary(S(0), kSmss, 3), S(0));  // two
  (void)AddBlocks(sb, {{S(5000), S(6000)}}, 0, 10000);
  // Three SACKed segments above [0, 1000): lost; the holes between are not yet.
  EXPECT_EQ(sb.LostBoundary(S(0), kSmss, 3), S(1000));

  TcpSackScoreboard bytes;
  (void)AddBlocks(bytes, {{S(1000), S(3001)}}, 0, 10000);  // 2001 bytes > 2 * SMSS
  EXPECT_EQ(bytes.LostBoundary(S(0), kSmss, 3), S(1000));
}

TEST(TcpSackScoreboardTest, HolesForNextSeg) {
  TcpSackScoreboard sb;
  (void)AddBlocks(sb, {{S(1000), S(2000)}, {S(3000), S(4000)}}, 0, 5000);
  SeqNum end;
  EXPECT_EQ(sb.NextHole(S(0), S(5000), &end), S(0));
  EXPECT_EQ(end, S(1000));
  EXPECT_EQ(sb.NextHole(S(1000), S(5000), &end), S(2000));
  EXPECT_EQ(end, S(3000));
  EXPECT_EQ(sb.NextHole(S(3500), S(5000), &end), S(4000));
  EXPECT_EQ(end, S(5000));
  EXPECT_EQ(sb.NextHole(S(3500), S(4000), &end), S(4000));  // none below the limit
  EXPECT_EQ(end, S(4000));

  // RFC 6675 NextSeg rule 4 (rescue): the highest unSACKed range below the limit.
  SeqNum start;
  EXPECT_EQ(sb.HighestHole(S(0), S(5000), &start), S(5000));
  EXPECT_EQ(start, S(4000));
  EXPECT_EQ(sb.HighestHole(S(0), S(4000), &start), S(3000));
  EXPECT_EQ(start, S(2000));
}

TEST(TcpSackScoreboardTest, BoundedRangesForgetTheLowest) {
  TcpSackScoreboard sb(2);
  (void)AddBlocks(sb, {{S(1000), S(1100)}, {S(2000), S(2100)}, {S(3000), S(3100)}}, 0, 5000);
  EXPECT_EQ(sb.range_count(), 2u);
  EXPECT_EQ(sb.sacked_bytes(), 200u);
  EXPECT_FALSE(sb.IsSacked(S(1000)));  // forgotten: at worst retransmitted (RFC 2018 §8)
  EXPECT_TRUE(sb.IsSacked(S(3000)));
}

TEST(TcpSackScoreboardTest, WorksAcrossSequenceWraparound) {
  TcpSackScoreboard sb;
  const uint32_t una = 0xffffff00u;
  EXPECT_EQ(AddBlocks(sb, {{S(una + 0x80), S(una + 0x180)}}, una, una + 0x400), 0x100u);
  EXPECT_TRUE(sb.IsSacked(S(0)));  // past the wrap
  EXPECT_TRUE(sb.IsSacked(S(una + 0x80)));
  EXPECT_FALSE(sb.IsSacked(S(una)));
  sb.AdvanceUna(S(0x40));
  EXPECT_EQ(sb.sacked_bytes(), 0x40u);
}

}  // namespace
}  // namespace pytcp
