// TapLink without privileges or a lab: the errors must say how to fix the problem.
// The lab suite (tests/lab/tap_link_lab_test.cc) exchanges real frames.
#include "stack/link/tap_link.h"

#include <net/if.h>

#include <string>

#include <gtest/gtest.h>

namespace pytcp {
namespace {

TEST(TapLinkTest, MissingDeviceSaysHowToCreateIt) {
  auto link = TapLink::Open("pytcp-nosuch0");
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.status().code(), absl::StatusCode::kNotFound);
  const std::string msg(link.status().message());
  EXPECT_NE(msg.find("pytcp-nosuch0 does not exist"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ip tuntap add name pytcp-nosuch0 mode tap"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ip link set pytcp-nosuch0 up"), std::string::npos) << msg;
}

TEST(TapLinkTest, MissingDeviceIsNotCreated) {
  ASSERT_FALSE(TapLink::Open("pytcp-nosuch1").ok());
  // Attaching must never create a device behind the caller's back.
  EXPECT_EQ(::if_nametoindex("pytcp-nosuch1"), 0u);
}

TEST(TapLinkTest, BadNames) {
  EXPECT_EQ(TapLink::Open("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TapLink::Open("a-name-longer-than-15").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TapLinkTest, NonTapDeviceIsRefused) {
  // "lo" exists everywhere but is not a TAP device. Without privileges /dev/net/tun may not
  // even open; either way the error names the problem and nothing is changed.
  auto link = TapLink::Open("lo");
  ASSERT_FALSE(link.ok());
  const auto code = link.status().code();
  EXPECT_TRUE(code == absl::StatusCode::kFailedPrecondition ||
              code == absl::StatusCode::kPermissionDenied || code == absl::StatusCode::kUnavailable)
      << link.status();
  if (code == absl::StatusCode::kFailedPrecondition) {
    EXPECT_NE(link.status().message().find("lo exists but is not a TAP device"), std::string::npos)
        << link.status();
  }
}

}  // namespace
}  // namespace pytcp
