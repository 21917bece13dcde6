// netbench: the load generator of scripts/bench. Plain POSIX sockets only, so the same
// binary runs natively (the kernel's TCP/IP) and under LD_PRELOAD=libpytcp.so (PyTCP's).
//
//   netbench server PORT                 TCP echo server (epoll) + UDP counter on PORT
//   netbench rr  HOST PORT SECONDS       one connection, 1-byte request/response, back to
//                                        back: p50/p99 latency (µs) and transactions/s
//   netbench crr HOST PORT SECONDS       connect, 1-byte exchange, close, repeated:
//                                        connections/s (until the ephemeral ports run
//                                        out, if they do: "ports_exhausted")
//   netbench udp HOST PORT SECONDS SIZE  UDP datagrams of SIZE bytes as fast as send()
//                                        takes them; the server's count gives received/s
//
// Clients print one JSON object on stdout. The server runs until killed.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "netbench: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

sockaddr_in Addr(const char* host, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    std::fprintf(stderr, "netbench: bad IPv4 address %s\n", host);
    std::exit(2);
  }
  return a;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---- server ----
// UDP datagrams are counted; a datagram "?" is answered with the count so far and resets it.
int Server(int port) {
  const int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(ls, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) Die("bind tcp");
  if (listen(ls, 4096) != 0) Die("listen");
  const int us = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const int big = 8 << 20;
  setsockopt(us, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  if (bind(us, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) Die("bind udp");
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = ls;
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  ev.data.fd = us;
  epoll_ctl(ep, EPOLL_CTL_ADD, us, &ev);
  uint64_t udp_count = 0;
  std::vector<char> buf(1 << 16);
  epoll_event events[64];
  for (;;) {
    const int n = epoll_wait(ep, events, 64, -1);
    if (n < 0 && errno != EINTR) Die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == ls) {
        for (;;) {
          const int c = accept4(ls, nullptr, nullptr, SOCK_NONBLOCK);
          if (c < 0) break;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
      } else if (fd == us) {
        for (;;) {
          sockaddr_in from{};
          socklen_t fl = sizeof(from);
          const ssize_t r = recvfrom(us, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
          if (r < 0) break;
          if (r == 1 && buf[0] == '?') {
            const std::string reply = std::to_string(udp_count);
            sendto(us, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
            udp_count = 0;
          } else {
            ++udp_count;
          }
        }
      } else {
        const ssize_t r = read(fd, buf.data(), buf.size());
        if (r <= 0) {
          if (r < 0 && errno == EAGAIN) continue;
          close(fd);  // closing removes it from the epoll set
          continue;
        }
        ssize_t off = 0;
        while (off < r) {
          const ssize_t w = write(fd, buf.data() + off, static_cast<size_t>(r - off));
          if (w <= 0) break;
          off += w;
        }
      }
    }
  }
}

int Connect(const sockaddr_in& to) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) Die("socket");
  if (connect(s, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0) Die("connect");
  const int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return s;
}

bool Exchange(int s) {
  char c = 'x';
  if (write(s, &c, 1) != 1) return false;
  return read(s, &c, 1) == 1;
}

int RequestResponse(const sockaddr_in& to, double seconds) {
  const int s = Connect(to);
  std::vector<double> lat;
  lat.reserve(1 << 20);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto t = start;
  while (t < end) {
    if (!Exchange(s)) Die("exchange");
    const auto now = Clock::now();
    lat.push_back(std::chrono::duration<double, std::micro>(now - t).count());
    t = now;
  }
  const double elapsed = Seconds(t - start);
  close(s);
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat[std::min(lat.size() - 1, static_cast<size_t>(p * static_cast<double>(lat.size())))]; };
  std::printf("{\"transactions\": %zu, \"rate\": %.1f, \"p50_us\": %.2f, \"p99_us\": %.2f}\n", lat.size(),
              static_cast<double>(lat.size()) / elapsed, pct(0.50), pct(0.99));
  return 0;
}

int ConnectRequestResponse(const sockaddr_in& to, double seconds) {
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  uint64_t n = 0;
  auto now = start;
  bool exhausted = false;
  while (now < end) {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) Die("socket");
    if (connect(s, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0) {
      // Every ephemeral port towards this server is in TIME-WAIT (60 s each, about 28,000
      // ports: a client above ~470 connections/s runs out, with Linux's stack as with
      // ours). The rate up to that point is the figure; the run says it stopped early.
      if (errno == EADDRNOTAVAIL && n >= 1000) {
        close(s);
        exhausted = true;
        break;
      }
      Die("connect");
    }
    const int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (!Exchange(s)) Die("exchange");
    close(s);
    ++n;
    now = Clock::now();
  }
  std::printf("{\"connections\": %llu, \"rate\": %.1f, \"ports_exhausted\": %s}\n",
              static_cast<unsigned long long>(n), static_cast<double>(n) / Seconds(now - start),
              exhausted ? "true" : "false");
  return 0;
}

int Udp(const sockaddr_in& to, double seconds, size_t size) {
  const int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) Die("socket");
  if (connect(s, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0) Die("connect");
  timeval tv{0, 200000};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char q = '?';
  char reply[64];
  // Reset the server's count (and drain a stale answer).
  send(s, &q, 1, 0);
  (void)recv(s, reply, sizeof(reply), 0);
  std::vector<char> payload(std::max<size_t>(size, 2), 'u');
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  uint64_t sent = 0, failed = 0;
  auto now = start;
  while (now < end) {
    for (int i = 0; i < 64; ++i) {
      if (send(s, payload.data(), payload.size(), 0) == static_cast<ssize_t>(payload.size())) {
        ++sent;
      } else {
        ++failed;
      }
    }
    now = Clock::now();
  }
  const double elapsed = Seconds(now - start);
  usleep(100000);  // let the last datagrams arrive
  long long received = -1;
  for (int attempt = 0; attempt < 10 && received < 0; ++attempt) {
    send(s, &q, 1, 0);
    const ssize_t r = recv(s, reply, sizeof(reply) - 1, 0);
    if (r > 0) {
      reply[r] = 0;
      received = std::atoll(reply);
    }
  }
  close(s);
  std::printf("{\"sent\": %llu, \"send_failed\": %llu, \"received\": %lld, \"sent_rate\": %.1f, \"rate\": %.1f}\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(failed), received,
              static_cast<double>(sent) / elapsed, static_cast<double>(received) / elapsed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "server" && argc == 3) return Server(std::atoi(argv[2]));
  if ((mode == "rr" || mode == "crr") && argc == 5) {
    const sockaddr_in to = Addr(argv[2], std::atoi(argv[3]));
    return mode == "rr" ? RequestResponse(to, std::atof(argv[4])) : ConnectRequestResponse(to, std::atof(argv[4]));
  }
  if (mode == "udp" && argc == 6) {
    return Udp(Addr(argv[2], std::atoi(argv[3])), std::atof(argv[4]), static_cast<size_t>(std::atoi(argv[5])));
  }
  std::fprintf(stderr,
               "usage: netbench server PORT | rr HOST PORT SECONDS | crr HOST PORT SECONDS |"
               " udp HOST PORT SECONDS SIZE\n");
  return 2;
}
