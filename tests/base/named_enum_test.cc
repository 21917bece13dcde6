#include "stack/base/named_enum.h"

#include <gtest/gtest.h>

namespace pytcp {
namespace {

PYTCP_NAMED_ENUM(DemoError, uint8_t,
  // A comment, with a comma, is not a name.
  kTooShort,
  kBadTTLValue,  // an acronym is one word
  kFinWait2,
);

TEST(NamedEnumTest, ToStringIsTheEnumeratorInSnakeCase) {
  static_assert(CountEnumNames("kA, kB,\n kC") == 3);
  EXPECT_EQ(ToString(DemoError::kTooShort), "too_short");
  EXPECT_EQ(ToString(DemoError::kBadTTLValue), "bad_ttl_value");
  EXPECT_EQ(ToString(DemoError::kFinWait2), "fin_wait2");
  // Only a cast makes a value past the last enumerator.
  EXPECT_EQ(ToString(static_cast<DemoError>(3)), "unknown");
}

}  // namespace
}  // namespace pytcp
