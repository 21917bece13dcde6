// What the shim costs calls that are not on stack sockets (DESIGN.md: "negligible"): the
// same loops run natively and under LD_PRELOAD=libpytcp.so (tests/shim/passthrough_bench.sh
// prints both side by side). Each line: the call, nanoseconds per call (median of 5 runs).
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

namespace {

double NsPerCall(int iterations, const std::function<void()>& body) {
  std::vector<double> runs;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) body();
    const auto t1 = std::chrono::steady_clock::now();
    runs.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / iterations);
  }
  std::sort(runs.begin(), runs.end());
  return runs[2];
}

}  // namespace

int main() {
  int p[2];
  if (pipe(p) != 0) return 1;
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
  char c = 'x';
  constexpr int kN = 200000;
  struct Case {
    const char* name;
    std::function<void()> body;
  };
  std::vector<Case> cases = {
      {"write+read 1 byte (pipe)",
       [&] {
         (void)!write(p[1], &c, 1);
         (void)!read(p[0], &c, 1);
       }},
      {"poll 1 ready fd (pipe)",
       [&] {
         (void)!write(p[1], &c, 1);
         pollfd pf{p[0], POLLIN, 0};
         poll(&pf, 1, 0);
         (void)!read(p[0], &c, 1);
       }},
      {"epoll_wait 1 ready fd",
       [&] {
         (void)!write(p[1], &c, 1);
         epoll_event out{};
         epoll_wait(ep, &out, 1, 0);
         (void)!read(p[0], &c, 1);
       }},
      {"fcntl F_GETFL", [&] { fcntl(p[0], F_GETFL); }},
      {"close(dup(fd))", [&] { close(dup(p[0])); }},
      {"socket(AF_UNIX)+close", [&] { close(socket(AF_UNIX, SOCK_DGRAM, 0)); }},
  };
  for (const auto& k : cases) std::printf("%-28s %8.1f\n", k.name, NsPerCall(kN, k.body));
  return 0;
}
