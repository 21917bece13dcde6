// The receiver's out-of-order ranges on their own (RFC 9293 §3.10.7.4, RFC 2018 §4).
#include "stack/tcp/tcp_reassembly.h"

#include <gtest/gtest.h>

#include <array>

namespace pytcp {
namespace {

SeqNum S(uint32_t v) { return SeqNum(v); }

TEST(TcpReassemblyTest, MergesAndAdvances) {
  TcpReassembly r;
  EXPECT_TRUE(r.Add(S(2000), S(3000)));
  EXPECT_TRUE(r.Add(S(4000), S(5000)));
  EXPECT_EQ(r.range_count(), 2u);
  EXPECT_TRUE(r.Add(S(3000), S(4000)));  // fills the gap: one range
  EXPECT_EQ(r.range_count(), 1u);
  EXPECT_TRUE(r.Covers(S(2500), S(4500)));
  EXPECT_FALSE(r.Covers(S(1500), S(2500)));
  EXPECT_EQ(r.SpanFrom(S(1000)), 4000u);
  // RCV.NXT reaching the range's start takes it all.
  EXPECT_EQ(r.Advance(S(1000)), S(1000));  // not there yet
  EXPECT_EQ(r.Advance(S(2000)), S(5000));
  EXPECT_TRUE(r.empty());
}

TEST(TcpReassemblyTest, AdvancePastAPartOfARange) {
  TcpReassembly r;
  (void)r.Add(S(2000), S(3000));
  (void)r.Add(S(6000), S(7000));
  EXPECT_EQ(r.Advance(S(2500)), S(3000));
  EXPECT_EQ(r.range_count(), 1u);
  EXPECT_EQ(r.highest(), S(7000));
}

TEST(TcpReassemblyTest, SackBlocksMostRecentFirst) {
  TcpReassembly r;
  (void)r.Add(S(2000), S(2100));
  (void)r.Add(S(3000), S(3100));
  (void)r.Add(S(4000), S(4100));
  (void)r.Add(S(2100), S(2200));  // the first range grows last
  std::array<TcpSackBlock, 4> out{};
  ASSERT_EQ(r.SackBlocks(out.data(), 4), 3u);
  // RFC 2018 §4: the block with the latest arrival first, then the most recently changed.
  EXPECT_EQ(out[0], (TcpSackBlock{S(2000), S(2200)}));
  EXPECT_EQ(out[1], (TcpSackBlock{S(4000), S(4100)}));
  EXPECT_EQ(out[2], (TcpSackBlock{S(3000), S(3100)}));
  ASSERT_EQ(r.SackBlocks(out.data(), 1), 1u);
  EXPECT_EQ(out[0], (TcpSackBlock{S(2000), S(2200)}));
}

TEST(TcpReassemblyTest, BoundRefusesANewRangeButStillMerges) {
  TcpReassembly r(2);
  EXPECT_TRUE(r.Add(S(2000), S(2100)));
  EXPECT_TRUE(r.Add(S(3000), S(3100)));
  EXPECT_FALSE(r.Add(S(4000), S(4100)));  // the segment is dropped; the peer resends it
  EXPECT_TRUE(r.Add(S(3100), S(3200)));   // growing a held range needs no new one
  EXPECT_EQ(r.range_count(), 2u);
}

TEST(TcpReassemblyTest, WorksAcrossSequenceWraparound) {
  TcpReassembly r;
  (void)r.Add(S(0xfffffff0u), S(0x10));
  EXPECT_TRUE(r.Covers(S(0xfffffff8u), S(0x8)));
  EXPECT_EQ(r.Advance(S(0xffffffe0u)), S(0xffffffe0u));
  EXPECT_EQ(r.Advance(S(0xfffffff0u)), S(0x10));
}

}  // namespace
}  // namespace pytcp
