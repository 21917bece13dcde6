// pytcpctl: the command-line client of the stack console (stack/stack_console.h).
//
//   pytcpctl                         list the running stacks (pid, program, interface, addresses)
//   pytcpctl clean                   remove the console sockets of processes that are gone
//   pytcpctl [-p PID | -s SOCKET] COMMAND...
//                                    run a console command against one stack: show interface,
//                                    show sockets --json, ping 10.77.0.1, capture start x.pcap ...
//
// Without -p/-s the only running stack is used (an error names the choice when there are
// several). Stacks are found by their console sockets in $PYTCP_CONSOLE's directory,
// $XDG_RUNTIME_DIR/pytcp and /run/pytcp. A process killed by a signal leaves its socket
// behind: such a "stale" console (its pid is gone and nobody answers on it) is named by the
// list and removed by `clean` (a starting stack also removes the stale ones next to its
// own). Colour (headers, errors) only on a terminal and
// without NO_COLOR. Exit status: 0 done, 1 the command failed, 2 no such stack / usage.
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool g_colour = false;

std::vector<std::string> SearchDirs() {
  std::vector<std::string> dirs;
  if (const char* c = std::getenv("PYTCP_CONSOLE"); c != nullptr && *c != '\0' && std::string(c) != "off") {
    std::string p(c);
    const size_t slash = p.rfind('/');
    dirs.push_back(slash == std::string::npos ? "." : p.substr(0, slash));
  }
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x != nullptr && *x != '\0') {
    dirs.push_back(std::string(x) + "/pytcp");
  }
  dirs.push_back("/run/pytcp");
  return dirs;
}

// Connects to a console socket: the fd, or -1 with errno.
int Connect(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// Sends one command and reads the whole answer (up to `timeout_ms` of silence).
bool Exchange(const std::string& path, const std::string& command, std::string* answer,
              bool stream_to_stdout, int timeout_ms) {
  const int fd = Connect(path);
  if (fd < 0) return false;
  const std::string line = command + "\n";
  if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    close(fd);
    return false;
  }
  shutdown(fd, SHUT_WR);
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) break;
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    if (stream_to_stdout) {
      std::string piece(buf, static_cast<size_t>(n));
      if (answer->empty() && g_colour && piece.rfind("error:", 0) != 0) {
        // The first line of a table is its header: bold.
        const size_t nl = piece.find('\n');
        if (nl != std::string::npos && piece.find("  ") < nl) {
          piece = "\033[1m" + piece.substr(0, nl) + "\033[0m" + piece.substr(nl);
        }
      }
      if (g_colour && piece.rfind("error:", 0) == 0) piece = "\033[31m" + piece + "\033[0m";
      fwrite(piece.data(), 1, piece.size(), stdout);
      fflush(stdout);
    }
    answer->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return true;
}

// The value of "key" in a flat JSON object (a string, a number or a list of strings).
std::string JsonField(const std::string& json, const std::string& key) {
  const size_t k = json.find("\"" + key + "\":");
  if (k == std::string::npos) return "";
  size_t i = k + key.size() + 3;
  while (i < json.size() && json[i] == ' ') ++i;
  if (i >= json.size()) return "";
  if (json[i] == '"') {
    const size_t e = json.find('"', i + 1);
    return e == std::string::npos ? "" : json.substr(i + 1, e - i - 1);
  }
  if (json[i] == '[') {
    const size_t e = json.find(']', i);
    std::string inner = json.substr(i + 1, e == std::string::npos ? std::string::npos : e - i - 1);
    std::string out;
    for (char c : inner) {
      if (c != '"' && c != ' ') out += c;
    }
    return out;
  }
  size_t e = i;
  while (e < json.size() && json[e] != ',' && json[e] != '}') ++e;
  return json.substr(i, e - i);
}

struct Found {
  std::string path;
  std::string pid;
  std::string info;  // JSON, "" when the stack did not answer
  bool stale = false;  // no answer, and its process is gone
};

// The process named by a console file's pid no longer exists (ESRCH; EPERM means it does).
bool ProcessGone(const std::string& pid) {
  if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  return kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH;
}

std::vector<Found> Discover() {
  std::vector<Found> found;
  std::vector<std::string> seen;
  for (const auto& dir : SearchDirs()) {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) continue;
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() < 6 || name.substr(name.size() - 5) != ".sock") continue;
      const std::string path = dir + "/" + name;
      bool dup = false;
      for (const auto& s : seen) dup = dup || s == path;
      if (dup) continue;
      seen.push_back(path);
      Found f{path, name.substr(0, name.size() - 5), ""};
      std::string answer;
      if (Exchange(path, "info", &answer, false, 2000) && answer.rfind('{', 0) == 0) {
        f.info = answer;
        f.pid = JsonField(answer, "pid");
      } else {
        f.stale = ProcessGone(f.pid);
      }
      found.push_back(f);
    }
    closedir(d);
  }
  return found;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows) {
    if (w.size() < r.size()) w.resize(r.size());
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  for (size_t n = 0; n < rows.size(); ++n) {
    std::string line;
    for (size_t i = 0; i < rows[n].size(); ++i) {
      line += rows[n][i];
      if (i + 1 < rows[n].size()) line += std::string(w[i] - rows[n][i].size() + 2, ' ');
    }
    if (n == 0 && g_colour) line = "\033[1m" + line + "\033[0m";
    std::printf("%s\n", line.c_str());
  }
}

int List() {
  std::vector<std::vector<std::string>> rows = {{"PID", "PROGRAM", "INTERFACE", "ADDRESSES", "CONSOLE"}};
  std::vector<Found> stale, silent;
  for (const auto& f : Discover()) {
    if (f.info.empty()) {
      (f.stale ? stale : silent).push_back(f);
      continue;
    }
    rows.push_back({f.pid, JsonField(f.info, "program"), JsonField(f.info, "interface"),
                    JsonField(f.info, "addresses"), f.path});
  }
  if (rows.size() > 1) PrintTable(rows);
  for (const auto& f : silent) {
    std::fprintf(stderr, "pytcpctl: pid %s is running but its console %s does not answer\n",
                 f.pid.c_str(), f.path.c_str());
  }
  for (const auto& f : stale) {
    std::fprintf(stderr, "pytcpctl: stale console %s: pid %s is gone ('pytcpctl clean' removes it)\n",
                 f.path.c_str(), f.pid.c_str());
  }
  if (rows.size() == 1) {
    std::fprintf(stderr, "pytcpctl: no running PyTCP stack found\n");
    return 2;
  }
  return 0;
}

// Removes the stale consoles (process gone, nobody answering); a live one is never touched.
int Clean() {
  int removed = 0;
  for (const auto& f : Discover()) {
    if (!f.stale) continue;
    if (unlink(f.path.c_str()) == 0) {
      std::printf("removed %s (pid %s is gone)\n", f.path.c_str(), f.pid.c_str());
      ++removed;
    } else {
      std::fprintf(stderr, "pytcpctl: cannot remove %s: %s\n", f.path.c_str(), std::strerror(errno));
    }
  }
  if (removed == 0) std::printf("no stale console sockets\n");
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: pytcpctl                      list the running stacks\n"
               "       pytcpctl clean                remove console sockets of processes that are gone\n"
               "       pytcpctl [-p PID | -s SOCKET] COMMAND...\n"
               "commands: show interface|addresses|neighbours|routes|sockets|counters|dhcp|dhcp-leases|multicast [--json]\n"
               "          ping ADDRESS [COUNT [INTERVAL_MS]]   tcp-echo|udp-echo ADDRESS [PORT]\n"
               "          log LEVEL [SUBSYSTEM]   capture start FILE   capture stop   info\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  g_colour = isatty(1) != 0 && std::getenv("NO_COLOR") == nullptr;
  std::string pid, path;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "-p" || a == "--pid") && i + 1 < argc) {
      pid = argv[++i];
    } else if ((a == "-s" || a == "--socket") && i + 1 < argc) {
      path = argv[++i];
    } else if (a == "-h" || a == "--help") {
      return Usage();
    } else {
      break;
    }
  }
  std::string command;
  // Appended in two steps: GCC 12 at -O3 warns (-Wrestrict, a false positive, GCC bug
  // 105329) about the temporary of `"" + std::string`.
  for (; i < argc; ++i) {
    if (!command.empty()) command += ' ';
    command += argv[i];
  }
  if (command.empty() || command == "list") {
    if (!pid.empty() || !path.empty()) return Usage();
    return List();
  }
  if (command == "clean") {
    if (!pid.empty() || !path.empty()) return Usage();
    return Clean();
  }
  if (path.empty()) {
    std::vector<Found> live;
    for (const auto& f : Discover()) {
      if (!pid.empty() && f.pid == pid) {
        if (f.info.empty()) {
          if (f.stale) {
            std::fprintf(stderr,
                         "pytcpctl: the stack of pid %s went away (stale console %s; "
                         "'pytcpctl clean' removes it)\n",
                         pid.c_str(), f.path.c_str());
          } else {
            std::fprintf(stderr, "pytcpctl: pid %s does not answer on %s (busy or stopped?)\n",
                         pid.c_str(), f.path.c_str());
          }
          return 2;
        }
        path = f.path;
      }
      if (!f.info.empty()) live.push_back(f);
    }
    if (path.empty() && !pid.empty()) {
      std::fprintf(stderr, "pytcpctl: no PyTCP stack with pid %s (run pytcpctl to list them)\n",
                   pid.c_str());
      return 2;
    }
    if (path.empty()) {
      if (live.empty()) {
        std::fprintf(stderr, "pytcpctl: no running PyTCP stack found\n");
        return 2;
      }
      if (live.size() > 1) {
        std::fprintf(stderr, "pytcpctl: %zu stacks are running; choose one with -p PID:\n", live.size());
        for (const auto& f : live) std::fprintf(stderr, "  %s\n", f.pid.c_str());
        return 2;
      }
      path = live[0].path;
    }
  }
  std::string answer;
  if (!Exchange(path, command, &answer, true, 30000)) {
    std::fprintf(stderr, "pytcpctl: cannot reach the stack at %s: %s%s\n", path.c_str(),
                 std::strerror(errno),
                 errno == ECONNREFUSED || errno == ENOENT ? " (the stack went away)" : "");
    return 2;
  }
  if (answer.empty()) {
    std::fprintf(stderr, "pytcpctl: the stack closed the connection without an answer\n");
    return 1;
  }
  return answer.rfind("error:", 0) == 0 ? 1 : 0;
}
