// A user-space stand-in for `tc netem`, for kernels built without sch_netem (as this
// project's CI machine is): it attaches to two TAP devices and copies every frame from
// each to the other, dropping, duplicating, delaying, jittering and reordering frames with
// a seeded generator, the same for both directions. The lab test puts it between the
// stack's own bridge and the lab bridge, so every frame between PyTCP and the kernel peer
// crosses it. Usage:
//   impair-relay TAP_A TAP_B [--loss P] [--duplicate P] [--reorder P] [--delay-us N]
//                [--jitter-us N] [--seed N]
// It prints "relaying" once both devices are attached and its counters on SIGTERM/SIGINT.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;

struct Impairments {
  double loss = 0, duplicate = 0, reorder = 0;
  int64_t delay_us = 0, jitter_us = 0;
};

struct Pending {
  int64_t due_us;
  uint64_t order;  // keeps frames with the same due time in arrival order
  int out_fd;
  std::vector<uint8_t> frame;
  bool operator>(const Pending& o) const {
    return due_us != o.due_us ? due_us > o.due_us : order > o.order;
  }
};

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int AttachTap(const char* name) {
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  // No offloads: the kernel segments and checksums before a frame reaches us, even when a
  // stack that used this device before had turned them on (the setting outlives it).
  if (ioctl(fd, TUNSETIFF, &ifr) != 0 || ioctl(fd, TUNSETOFFLOAD, 0) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: {} TAP_A TAP_B [--loss P] [--duplicate P] [--reorder P] "
                       "[--delay-us N] [--jitter-us N] [--seed N]\n", argv[0]);
    return 2;
  }
  Impairments imp;
  uint64_t seed = 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    const char* v = argv[i + 1];
    if (opt == "--loss") imp.loss = std::atof(v);
    else if (opt == "--duplicate") imp.duplicate = std::atof(v);
    else if (opt == "--reorder") imp.reorder = std::atof(v);
    else if (opt == "--delay-us") imp.delay_us = std::atoll(v);
    else if (opt == "--jitter-us") imp.jitter_us = std::atoll(v);
    else if (opt == "--seed") seed = std::strtoull(v, nullptr, 10);
    else {
      fmt::print(stderr, "impair-relay: unknown option {}\n", opt);
      return 2;
    }
  }
  const int fds[2] = {AttachTap(argv[1]), AttachTap(argv[2])};
  for (int i = 0; i < 2; ++i) {
    if (fds[i] < 0) {
      fmt::print(stderr, "impair-relay: cannot attach to {}: {}\n", argv[1 + i], strerror(errno));
      return 1;
    }
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> queue;
  uint64_t order = 0, relayed = 0, lost = 0, duplicated = 0, reordered = 0;
  std::vector<uint8_t> buf(65536 + 64);
  fmt::print(stderr, "impair-relay: relaying {} <-> {}\n", argv[1], argv[2]);

  while (!g_stop) {
    int timeout_ms = 100;
    if (!queue.empty()) {
      const int64_t wait = queue.top().due_us - NowUs();
      timeout_ms = wait <= 0 ? 0 : static_cast<int>(std::min<int64_t>((wait + 999) / 1000, 100));
    }
    pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    if (poll(p, 2, timeout_ms) < 0 && errno != EINTR) break;
    const int64_t now = NowUs();
    for (int i = 0; i < 2; ++i) {
      if ((p[i].revents & POLLIN) == 0) continue;
      for (;;) {
        const ssize_t n = read(fds[i], buf.data(), buf.size());
        if (n <= 0) break;
        if (coin(rng) < imp.loss) {
          ++lost;
          continue;
        }
        int64_t due = now + imp.delay_us;
        if (imp.jitter_us > 0) due += static_cast<int64_t>(coin(rng) * static_cast<double>(imp.jitter_us));
        if (coin(rng) < imp.reorder) {  // held back so that later frames overtake it
          due += 1000 + imp.delay_us;
          ++reordered;
        }
        std::vector<uint8_t> frame(buf.begin(), buf.begin() + n);
        const int out = fds[1 - i];
        if (coin(rng) < imp.duplicate) {
          queue.push(Pending{due, order++, out, frame});
          ++duplicated;
        }
        queue.push(Pending{due, order++, out, std::move(frame)});
      }
    }
    while (!queue.empty() && queue.top().due_us <= NowUs()) {
      const Pending& f = queue.top();
      if (write(f.out_fd, f.frame.data(), f.frame.size()) > 0) ++relayed;
      queue.pop();
    }
  }
  fmt::print(stderr, "impair-relay: relayed {} lost {} duplicated {} reordered {}\n", relayed, lost,
             duplicated, reordered);
  close(fds[0]);
  close(fds[1]);
  return 0;
}
