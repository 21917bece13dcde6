// A program for security_lab_test.sh: installed setuid root and started by an unprivileged
// user with libpytcp.so in /etc/ld.so.preload, it makes one socket (which starts the
// in-process stack) and reports what the stack made: whether the kernel marked it
// AT_SECURE, and the console socket at the default path (the stack ignores PYTCP_CONSOLE
// and XDG_RUNTIME_DIR in such a process). The test checks that PYTCP_PCAP was ignored.
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

int main() {
  std::printf("uid %d euid %d at_secure %lu\n", static_cast<int>(getuid()), static_cast<int>(geteuid()),
              getauxval(AT_SECURE));
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  std::printf("socket %s\n", fd >= 0 ? "ok" : "failed");
  const std::string console = "/run/pytcp/" + std::to_string(getpid()) + ".sock";
  struct stat st {};
  if (lstat(console.c_str(), &st) == 0) {
    std::printf("console %s mode %o uid %d\n", console.c_str(), st.st_mode & 07777, static_cast<int>(st.st_uid));
  } else {
    std::printf("console none\n");
  }
  if (fd >= 0) close(fd);
  return 0;
}
