#include "pytcpd/socket_holders.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <utility>
#include <vector>

#include "fmt/format.h"

namespace pytcp::pytcpd {
namespace {

// The inode in a "socket:[INODE]" link, or 0.
ino_t SocketInode(const char* link) {
  constexpr std::string_view kPrefix = "socket:[";
  const std::string_view v(link);
  if (!v.starts_with(kPrefix) || !v.ends_with(']')) return 0;
  return static_cast<ino_t>(std::strtoull(link + kPrefix.size(), nullptr, 10));
}

std::string Comm(const std::string& proc, pid_t pid) {
  std::ifstream in(fmt::format("{}/{}/comm", proc, pid));
  std::string comm;
  std::getline(in, comm);
  return comm;
}

}  // namespace

std::unordered_map<ino_t, std::string> SocketHolders(const std::unordered_set<ino_t>& inodes,
                                                     const std::string& proc) {
  std::map<ino_t, std::vector<std::pair<pid_t, int>>> held;  // inode -> (pid, fd)
  if (DIR* procs = opendir(proc.c_str()); procs != nullptr) {
    while (const dirent* p = readdir(procs)) {
      char* end = nullptr;
      const long pid = std::strtol(p->d_name, &end, 10);
      if (pid <= 0 || *end != '\0') continue;
      const std::string fd_dir = fmt::format("{}/{}/fd", proc, pid);
      DIR* fds = opendir(fd_dir.c_str());
      if (fds == nullptr) continue;  // gone, or not ours to read
      while (const dirent* f = readdir(fds)) {
        char link[64];
        const ssize_t n = readlinkat(dirfd(fds), f->d_name, link, sizeof(link) - 1);
        if (n <= 0) continue;
        link[n] = '\0';
        const ino_t ino = SocketInode(link);
        if (ino != 0 && inodes.contains(ino)) {
          held[ino].emplace_back(static_cast<pid_t>(pid), std::atoi(f->d_name));
        }
      }
      closedir(fds);
    }
    closedir(procs);
  }
  std::unordered_map<ino_t, std::string> out;
  for (auto& [ino, holders] : held) {
    std::sort(holders.begin(), holders.end());
    std::string users = "users:(";
    for (size_t i = 0; i < holders.size(); ++i) {
      users += fmt::format("{}(\"{}\",pid={},fd={})", i == 0 ? "" : ",",
                           Comm(proc, holders[i].first), holders[i].first, holders[i].second);
    }
    out[ino] = users + ")";
  }
  return out;
}

}  // namespace pytcp::pytcpd
