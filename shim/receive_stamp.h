// SIOCGSTAMP for a datagram socket (sock_gettstamp, sock_recv_timestamp), kept by the
// shim for the stack's sockets in both modes: each message received is noted; the stamp
// is the time of the last one once a SIOCGSTAMP asked for it, "now" for one asked after
// a receive that was not stamped, and ENOENT before any.
#pragma once

#include <sys/time.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace pytcp::shim {

class ReceiveStamp {
 public:
  void NoteReceived() {
    if (stamping_.load(std::memory_order_relaxed)) {
      ns_.store(RealtimeNs(), std::memory_order_relaxed);
    } else if (ns_.load(std::memory_order_relaxed) < 0) {
      ns_.store(0, std::memory_order_relaxed);
    }
  }

  // 0 and the stamp, or ENOENT.
  int Get(timeval* tv) {
    stamping_.store(true, std::memory_order_relaxed);  // sock_enable_timestamp(SOCK_TIMESTAMP)
    int64_t ns = ns_.load(std::memory_order_relaxed);
    if (ns < 0) return ENOENT;
    if (ns == 0) {
      ns = RealtimeNs();
      ns_.store(ns, std::memory_order_relaxed);
    }
    tv->tv_sec = static_cast<time_t>(ns / 1000000000);
    tv->tv_usec = static_cast<suseconds_t>((ns % 1000000000) / 1000);
    return 0;
  }

 private:
  static int64_t RealtimeNs() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }

  std::atomic<int64_t> ns_{-1};  // -1 nothing received, 0 received without a stamp
  std::atomic<bool> stamping_{false};
};

}  // namespace pytcp::shim
