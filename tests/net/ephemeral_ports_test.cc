// The ephemeral port search every protocol uses (RFC 6056 §3.3.1, §3.3.3).
#include "stack/net/ephemeral_ports.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

namespace pytcp {
namespace {

TEST(EphemeralPorts, TheRangeIsLinuxsDefault) {
  EXPECT_EQ(kEphemeralPortFirst, 32768);
  EXPECT_EQ(kEphemeralPortLast, 60999);
  EXPECT_EQ(kEphemeralPortCount, 28232u);
}

TEST(EphemeralPorts, StartsAtTheOffsetAndSkipsWhatIsTaken) {
  EXPECT_EQ(SearchEphemeralPort(0, [](uint16_t) { return true; }), kEphemeralPortFirst);
  EXPECT_EQ(SearchEphemeralPort(5, [](uint16_t) { return true; }), kEphemeralPortFirst + 5);
  const std::set<uint16_t> taken = {40000, 40001};
  EXPECT_EQ(SearchEphemeralPort(40000 - kEphemeralPortFirst,
                                [&](uint16_t p) { return !taken.contains(p); }),
            40002);
}

TEST(EphemeralPorts, WrapsOnceAroundTheRangeThenGivesUp) {
  // An offset beyond the range wraps (a keyed hash plus a random number may be anything).
  EXPECT_EQ(SearchEphemeralPort(kEphemeralPortCount + 1, [](uint16_t) { return true; }),
            kEphemeralPortFirst + 1);
  // From the last port, the first free one at the start of the range is found.
  EXPECT_EQ(SearchEphemeralPort(kEphemeralPortCount - 1,
                                [](uint16_t p) { return p == kEphemeralPortFirst; }),
            kEphemeralPortFirst);
  uint32_t asked = 0;
  EXPECT_EQ(SearchEphemeralPort(123, [&](uint16_t) {
              ++asked;
              return false;
            }),
            std::nullopt);
  EXPECT_EQ(asked, kEphemeralPortCount);  // each port asked about once
}

TEST(EphemeralPorts, AFreePortHasNoUserAnEmptyListCountsAsNone) {
  std::map<uint16_t, std::vector<int>> users;
  users[kEphemeralPortFirst] = {1};
  users[kEphemeralPortFirst + 1] = {};  // its last user went
  EXPECT_EQ(FreeEphemeralPort(0, users), kEphemeralPortFirst + 1);
}

}  // namespace
}  // namespace pytcp
