#include "stack/base/result.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pytcp {
namespace {

enum class DemoError { kShort, kBad };

Result<std::string, DemoError> Parse(int n) {
  if (n < 0) return Err{DemoError::kBad};
  return std::string(static_cast<size_t>(n), 'x');
}

TEST(ResultTest, ValueOrError) {
  auto ok = Parse(3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "xxx");
  EXPECT_EQ(ok->size(), 3u);
  auto bad = Parse(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), DemoError::kBad);
}

}  // namespace
}  // namespace pytcp

#include "stack/base/packet_buffer.h"

namespace pytcp {
namespace {

TEST(PacketBufferTest, PrependInFrontOfPayload) {
  PacketBuffer buf(100, 16);
  buf.Append(std::span<const uint8_t>(std::vector<uint8_t>{5, 6, 7}));
  auto hdr = buf.Prepend(2);
  hdr[0] = 3;
  hdr[1] = 4;
  buf.Prepend(1)[0] = 2;
  EXPECT_EQ(std::vector<uint8_t>(buf.data().begin(), buf.data().end()),
            (std::vector<uint8_t>{2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(buf.headroom(), 13u);
  buf.TrimFront(3);
  EXPECT_EQ(buf.size(), 3u);
  buf.Reset(16);
  EXPECT_EQ(buf.size(), 0u);
}

TEST(PacketBufferTest, AttachedTailIsSentInPlaceOrCopiedInWhenNeeded) {
  const std::vector<uint8_t> ring_end{5, 6}, ring_start{7, 8, 9};
  PacketBuffer buf(100, 16);
  buf.AttachTail(ring_end, ring_start);
  buf.Prepend(2)[0] = 3;
  EXPECT_TRUE(buf.has_tail());
  EXPECT_EQ(buf.size(), 7u);
  EXPECT_EQ(buf.head_bytes().size(), 2u);
  EXPECT_EQ(buf.tail_a().data(), ring_end.data()) << "not copied";
  EXPECT_EQ(buf.tail_b().data(), ring_start.data());
  EXPECT_EQ(buf.tailroom(), 100u - 5u);
  // Reading it as one span copies the tail in, after the headers.
  buf.Prepend(1)[0] = 1;
  auto all = buf.data();
  EXPECT_FALSE(buf.has_tail());
  all[2] = 4;  // the byte Prepend(2) left unset
  EXPECT_EQ(std::vector<uint8_t>(buf.data().begin(), buf.data().end()),
            (std::vector<uint8_t>{1, 3, 4, 5, 6, 7, 8, 9}));
  // Appending after a tail keeps the order.
  PacketBuffer b2(100, 16);
  b2.AttachTail(ring_end, {});
  b2.Append(std::span<const uint8_t>(ring_start));
  EXPECT_EQ(std::vector<uint8_t>(b2.data().begin(), b2.data().end()),
            (std::vector<uint8_t>{5, 6, 7, 8, 9}));
  b2.Reset(16);
  EXPECT_FALSE(b2.has_tail());
  EXPECT_EQ(b2.size(), 0u);
}

}  // namespace
}  // namespace pytcp
