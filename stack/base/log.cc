#include "stack/base/log.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <vector>

#include "stack/base/comma_list.h"

namespace pytcp {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<LogChannel*> channels;
  LogLevel default_level = LogLevel::kWarn;
  std::vector<std::pair<std::string, LogLevel>> overrides;
  LogSink sink;
};

Registry& GetRegistry() {
  static auto* registry = new Registry();  // never destroyed: channels outlive exit
  return *registry;
}

constexpr std::string_view kLevelNames[] = {"error", "warn", "info", "debug", "trace"};

LogLevel LevelFor(Registry& r, std::string_view name) {
  for (const auto& [sub, level] : r.overrides) {
    if (sub == name) return level;
  }
  return r.default_level;
}

void DefaultSink(LogLevel level, std::string_view channel, std::string_view msg) {
  static const bool colour = isatty(STDERR_FILENO) != 0;
  static constexpr std::string_view kColours[] = {"\033[31m", "\033[33m", "\033[32m", "\033[36m",
                                                  "\033[90m"};
  const auto idx = static_cast<size_t>(level);
  std::string line =
      colour ? fmt::format("{}pytcp[{}] {:<5} {}: {}\033[0m\n", kColours[idx], getpid(),
                           kLevelNames[idx], channel, msg)
             : fmt::format("pytcp[{}] {:<5} {}: {}\n", getpid(), kLevelNames[idx], channel, msg);
  // One write per line so that lines from several threads do not interleave.
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace

std::string_view LogLevelName(LogLevel level) { return kLevelNames[static_cast<size_t>(level)]; }

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  for (size_t i = 0; i < std::size(kLevelNames); ++i) {
    if (text == kLevelNames[i]) {
      *level = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

LogChannel::LogChannel(std::string_view name) : name_(name) {
  Registry& r = GetRegistry();
  std::lock_guard lock(r.mu);
  level_.store(static_cast<uint8_t>(LevelFor(r, name)));
  r.channels.push_back(this);
}

LogChannel::~LogChannel() {
  Registry& r = GetRegistry();
  std::lock_guard lock(r.mu);
  std::erase(r.channels, this);
}

absl::Status ApplyLogSpec(std::string_view spec) {
  LogLevel default_level = LogLevel::kWarn;
  std::vector<std::pair<std::string, LogLevel>> overrides;
  for (std::string_view part : SplitCommaList(spec, false)) {
    LogLevel level;
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      if (!ParseLogLevel(part, &level)) {
        return absl::InvalidArgumentError(
            fmt::format("PYTCP_LOG: unknown level '{}' (accepted: error, warn, info, debug, "
                        "trace, optionally followed by ,SUBSYSTEM=LEVEL)",
                        part));
      }
      default_level = level;
    } else {
      std::string_view sub = part.substr(0, eq);
      std::string_view lvl = part.substr(eq + 1);
      if (sub.empty() || !ParseLogLevel(lvl, &level)) {
        return absl::InvalidArgumentError(fmt::format(
            "PYTCP_LOG: bad override '{}' (expected SUBSYSTEM=LEVEL with LEVEL one of error, "
            "warn, info, debug, trace)",
            part));
      }
      overrides.emplace_back(std::string(sub), level);
    }
  }
  Registry& r = GetRegistry();
  std::lock_guard lock(r.mu);
  r.default_level = default_level;
  r.overrides = std::move(overrides);
  for (LogChannel* c : r.channels) c->set_level(LevelFor(r, c->name()));
  return absl::OkStatus();
}

absl::Status SetLogLevel(std::string_view subsystem, LogLevel level) {
  Registry& r = GetRegistry();
  std::lock_guard lock(r.mu);
  if (subsystem.empty()) {
    r.default_level = level;
    r.overrides.clear();
    for (LogChannel* c : r.channels) c->set_level(level);
    return absl::OkStatus();
  }
  bool found = false;
  for (LogChannel* c : r.channels) {
    if (c->name() == subsystem) {
      c->set_level(level);
      found = true;
    }
  }
  if (!found) return absl::NotFoundError(fmt::format("no log subsystem named '{}'", subsystem));
  std::erase_if(r.overrides, [&](const auto& o) { return o.first == subsystem; });
  r.overrides.emplace_back(std::string(subsystem), level);
  return absl::OkStatus();
}

void SetLogSink(LogSink sink) {
  Registry& r = GetRegistry();
  std::lock_guard lock(r.mu);
  r.sink = std::move(sink);
}

void WriteLog(const LogChannel& channel, LogLevel level, std::string_view message) {
  Registry& r = GetRegistry();
  LogSink sink;
  {
    std::lock_guard lock(r.mu);
    sink = r.sink;
  }
  if (sink) {
    sink(level, channel.name(), message);
  } else {
    DefaultSink(level, channel.name(), message);
  }
}

}  // namespace pytcp
