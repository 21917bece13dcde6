#include "stack/base/result.h"

#include <gtest/gtest.h>

#include <string>

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
