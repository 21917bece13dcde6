#include "stack/base/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pytcp {
namespace {

LogChannel test_channel("logtest");
LogChannel other_channel("logother");

struct Counted {
  int* formats;
};
}  // namespace
}  // namespace pytcp

template <>
struct fmt::formatter<pytcp::Counted> : fmt::formatter<std::string_view> {
  auto format(const pytcp::Counted& c, fmt::format_context& ctx) const {
    ++*c.formats;
    return fmt::formatter<std::string_view>::format("counted", ctx);
  }
};

namespace pytcp {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogSink([this](LogLevel level, std::string_view channel, std::string_view msg) {
      lines_.push_back(std::string(LogLevelName(level)) + " " + std::string(channel) + " " +
                       std::string(msg));
    });
  }
  void TearDown() override {
    SetLogSink({});
    ASSERT_TRUE(ApplyLogSpec("warn").ok());
  }
  std::vector<std::string> lines_;
};

TEST_F(LogTest, FilteredMessageIsNeverFormatted) {
  ASSERT_TRUE(ApplyLogSpec("warn").ok());
  int formats = 0;
  PYTCP_LOG(test_channel, kDebug, "value {}", Counted{&formats});
  EXPECT_EQ(formats, 0);
  EXPECT_TRUE(lines_.empty());
  PYTCP_LOG(test_channel, kWarn, "value {}", Counted{&formats});
  EXPECT_EQ(formats, 1);
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0], "warn logtest value counted");
}

TEST_F(LogTest, SpecSetsDefaultAndOverrides) {
  ASSERT_TRUE(ApplyLogSpec("error, logtest=trace").ok());
  EXPECT_TRUE(test_channel.Enabled(LogLevel::kTrace));
  EXPECT_FALSE(other_channel.Enabled(LogLevel::kWarn));
  EXPECT_TRUE(other_channel.Enabled(LogLevel::kError));
}

TEST_F(LogTest, ChannelRegisteredAfterSpecGetsItsOverride) {
  ASSERT_TRUE(ApplyLogSpec("warn,late=debug").ok());
  LogChannel late("late");
  EXPECT_TRUE(late.Enabled(LogLevel::kDebug));
}

TEST_F(LogTest, BadSpecNamesTheVariable) {
  const absl::Status s = ApplyLogSpec("loud");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("PYTCP_LOG"), std::string_view::npos);
  EXPECT_NE(s.message().find("loud"), std::string_view::npos);
  EXPECT_FALSE(ApplyLogSpec("tcp=").ok());
  EXPECT_FALSE(ApplyLogSpec("=debug").ok());
}

TEST_F(LogTest, SetLogLevelUnknownSubsystem) {
  EXPECT_FALSE(SetLogLevel("nosuch", LogLevel::kInfo).ok());
  EXPECT_TRUE(SetLogLevel("logtest", LogLevel::kInfo).ok());
  EXPECT_TRUE(test_channel.Enabled(LogLevel::kInfo));
  EXPECT_FALSE(test_channel.Enabled(LogLevel::kDebug));
}

}  // namespace
}  // namespace pytcp
