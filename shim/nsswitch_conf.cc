#include "shim/nsswitch_conf.h"

#include <optional>

#include "shim/config_file.h"
#include "shim/hosts_file.h"

namespace pytcp::shim {
namespace {

constexpr std::string_view kDefaultHosts = "dns [!UNAVAIL=return] files";

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::optional<NssStatus> StatusNamed(std::string_view s) {
  if (EqualsIgnoreCase(s, "success")) return NssStatus::kSuccess;
  if (EqualsIgnoreCase(s, "notfound")) return NssStatus::kNotFound;
  if (EqualsIgnoreCase(s, "unavail")) return NssStatus::kUnavail;
  if (EqualsIgnoreCase(s, "tryagain")) return NssStatus::kTryAgain;
  return std::nullopt;
}

// One "STATUS=ACTION" item into `step`; false when it does not parse (glibc then drops
// the rest of the line's criteria for that source; we keep what parsed before).
bool ApplyCriterion(std::string_view item, NssStep* step) {
  bool negate = false;
  if (!item.empty() && item[0] == '!') {
    negate = true;
    item.remove_prefix(1);
  }
  const size_t eq = item.find('=');
  if (eq == std::string_view::npos) return false;
  const auto status = StatusNamed(item.substr(0, eq));
  const std::string_view action = item.substr(eq + 1);
  bool stop;
  if (EqualsIgnoreCase(action, "return")) {
    stop = true;
  } else if (EqualsIgnoreCase(action, "continue") || EqualsIgnoreCase(action, "merge")) {
    stop = false;
  } else {
    return false;
  }
  if (!status) return false;
  for (size_t s = 0; s < step->stop.size(); ++s) {
    if ((s == static_cast<size_t>(*status)) != negate) step->stop[s] = stop;
  }
  return true;
}

std::vector<NssStep> ParseSpec(std::string_view spec) {
  std::vector<NssStep> steps;
  size_t i = 0;
  while (i < spec.size()) {
    while (i < spec.size() && IsBlank(spec[i])) ++i;
    if (i >= spec.size()) break;
    if (spec[i] == '[') {
      const size_t close = spec.find(']', i);
      const std::string_view body =
          spec.substr(i + 1, (close == std::string_view::npos ? spec.size() : close) - i - 1);
      i = close == std::string_view::npos ? spec.size() : close + 1;
      if (steps.empty()) continue;  // criteria before any source: meaningless, ignored
      size_t k = 0;
      while (k < body.size()) {
        while (k < body.size() && IsBlank(body[k])) ++k;
        size_t e = k;
        while (e < body.size() && !IsBlank(body[e])) ++e;
        if (e > k && !ApplyCriterion(body.substr(k, e - k), &steps.back())) break;
        k = e;
      }
      continue;
    }
    size_t e = i;
    while (e < spec.size() && !IsBlank(spec[e]) && spec[e] != '[') ++e;
    NssStep step;
    step.name = std::string(spec.substr(i, e - i));
    if (step.name == "files") {
      step.source = NssSource::kFiles;
    } else if (step.name == "dns") {
      step.source = NssSource::kDns;
    }
    steps.push_back(std::move(step));
    i = e;
  }
  return steps;
}

}  // namespace

std::vector<NssStep> ParseNsswitchHosts(std::string_view text) {
  std::optional<std::string_view> spec;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    size_t i = 0;
    while (i < line.size() && IsBlank(line[i])) ++i;
    line.remove_prefix(i);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view db = line.substr(0, colon);
    while (!db.empty() && IsBlank(db.back())) db.remove_suffix(1);
    if (db == "hosts") spec = line.substr(colon + 1);  // the last one wins, as in glibc
  }
  if (!spec) return ParseSpec(kDefaultHosts);
  return ParseSpec(*spec);
}

std::vector<NssStep> ReadNsswitchHosts(const char* path) {
  const std::optional<std::string> text = ReadConfigFile(path, 65536);
  return text ? ParseNsswitchHosts(*text) : ParseSpec(kDefaultHosts);
}

}  // namespace pytcp::shim
