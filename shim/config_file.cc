#include "shim/config_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "shim/libc.h"

namespace pytcp::shim {

std::optional<std::string> ReadConfigFile(const char* path, size_t max_size) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[4096];
  ssize_t n;
  while (text.size() < max_size && (n = libc().read(fd, buf, sizeof(buf))) > 0) {
    text.append(buf, static_cast<size_t>(n));
  }
  libc().close(fd);
  return text;
}

std::vector<std::string_view> SplitWords(std::string_view line, std::string_view blanks) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    i = std::min(line.find_first_not_of(blanks, i), line.size());
    const size_t j = std::min(line.find_first_of(blanks, i), line.size());
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace pytcp::shim
