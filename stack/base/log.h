// Logging on libfmt with levels and per-subsystem channels.
//
// PYTCP_LOG(channel, level, "format {}", args...) checks the channel's level before any
// argument is formatted, so a filtered message costs one relaxed load and a compare.
// Channels are named (e.g. "tcp", "arp"); the level of each can be set at run time from a
// spec such as "info,tcp=trace,arp=debug" (the PYTCP_LOG variable). Colour is used only
// when the sink is a terminal.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace pytcp {

enum class LogLevel : uint8_t { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3, kTrace = 4 };

std::string_view LogLevelName(LogLevel level);
// Accepts error, warn, info, debug, trace.
bool ParseLogLevel(std::string_view text, LogLevel* level);

// One subsystem's switch. Define one per subsystem as a namespace-scope inline variable;
// it registers itself so that level specs can reach it by name.
class LogChannel {
 public:
  explicit LogChannel(std::string_view name);
  ~LogChannel();  // unregisters: a channel may live shorter than the process
  LogChannel(const LogChannel&) = delete;
  LogChannel& operator=(const LogChannel&) = delete;

  std::string_view name() const { return name_; }
  bool Enabled(LogLevel level) const {
    return static_cast<uint8_t>(level) <= level_.load(std::memory_order_relaxed);
  }
  void set_level(LogLevel level) { level_.store(static_cast<uint8_t>(level)); }
  LogLevel level() const { return static_cast<LogLevel>(level_.load()); }

 private:
  std::string_view name_;
  std::atomic<uint8_t> level_;
};

// Applies a spec "LEVEL[,SUBSYSTEM=LEVEL...]" to all channels (the default level applies
// to channels not named, including those registered later). Returns InvalidArgument
// naming the bad part.
absl::Status ApplyLogSpec(std::string_view spec);
// Sets one channel (or all, with subsystem "" ) to a level.
absl::Status SetLogLevel(std::string_view subsystem, LogLevel level);

// The sink receives fully formatted lines; the default writes to stderr.
using LogSink = std::function<void(LogLevel, std::string_view channel, std::string_view msg)>;
void SetLogSink(LogSink sink);  // empty function restores the default
void WriteLog(const LogChannel& channel, LogLevel level, std::string_view message);

namespace log_internal {
template <typename... Args>
void Format(const LogChannel& channel, LogLevel level, fmt::format_string<Args...> f,
            Args&&... args) {
  WriteLog(channel, level, fmt::format(f, std::forward<Args>(args)...));
}
}  // namespace log_internal

}  // namespace pytcp

#define PYTCP_LOG(channel, level, ...)                                         \
  do {                                                                         \
    if ((channel).Enabled(::pytcp::LogLevel::level)) {                         \
      ::pytcp::log_internal::Format((channel), ::pytcp::LogLevel::level, __VA_ARGS__); \
    }                                                                          \
  } while (0)
