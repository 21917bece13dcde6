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

}  // namespace
}  // namespace pytcp
