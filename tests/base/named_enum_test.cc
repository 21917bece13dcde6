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

PYTCP_NAMED_ENUM_UPPER(DemoState, uint8_t,
  kSynSent,
  kFinWait1,
  kTTLExpired,
);

TEST(NamedEnumTest, UpperNamesAreCapitalsWithANumberAWordOfItsOwn) {
  EXPECT_EQ(ToString(DemoState::kSynSent), "SYN_SENT");
  EXPECT_EQ(ToString(DemoState::kFinWait1), "FIN_WAIT_1");
  EXPECT_EQ(ToString(DemoState::kTTLExpired), "TTL_EXPIRED");
}

}  // namespace
}  // namespace pytcp
