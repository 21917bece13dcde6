// What the resolver's configuration files (/etc/hosts, /etc/resolv.conf,
// /etc/nsswitch.conf) share: each is read whole, up to a bound, through the real read(),
// and its lines are split into words at blanks, as glibc splits them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pytcp::shim {

// The file's first `max_size` bytes or so (reading stops at the first 4 KiB block that
// reaches it); nullopt when it cannot be opened.
std::optional<std::string> ReadConfigFile(const char* path, size_t max_size);

// The words of `line` between runs of the characters in `blanks` (the files differ in which
// characters glibc treats as blank).
std::vector<std::string_view> SplitWords(std::string_view line, std::string_view blanks);

}  // namespace pytcp::shim
