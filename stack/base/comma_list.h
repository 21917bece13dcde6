// Comma-separated lists as PYTCP_LOG and the PYTCP_* settings carry them (DESIGN.md
// "Configuration"): parts split on commas, spaces and tabs around each part trimmed.
#pragma once

#include <string_view>
#include <vector>

namespace pytcp {

inline std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// With `keep_empty` an empty part stays in its place (a setting can then be refused with
// the empty item named); without, it is dropped.
inline std::vector<std::string_view> SplitCommaList(std::string_view s, bool keep_empty) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t comma = s.find(',');
    const std::string_view part = TrimBlanks(s.substr(0, comma));
    if (keep_empty || !part.empty()) parts.push_back(part);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return parts;
}

}  // namespace pytcp
