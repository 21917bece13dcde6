// Conformance (issue 19 item 5): epoll's fairness. When more level-triggered items are
// ready than maxevents, the kernel moves each reported item to the tail of its ready list
// (ep_send_events re-adds it, ep_done_scan puts the unreported ones back in front), so
// successive epoll_wait calls report different items; stack sockets and kernel fds in one
// set take turns the same way.
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <set>
#include <vector>

#include "tests/shim/conformance.h"

namespace {

using namespace conformance;  // NOLINT: the suite's own helpers

// A UDP socket with one datagram waiting (sent to itself), registered level-triggered
// for EPOLLIN under data `tag`.
int ReadableUdpIn(int ep, uint32_t tag) {
  const int fd = Udp();
  sockaddr_in a = Addr(LocalIp(), 0);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  if (sendto(fd, "r", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 1) return -1;
  if (PollOnce(fd, POLLIN, 3000) != POLLIN) return -1;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = tag;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) return -1;
  return fd;
}

// The tags reported by `calls` epoll_wait calls of maxevents `max`.
std::vector<uint32_t> Reports(int ep, int calls, int max) {
  std::vector<uint32_t> seen;
  std::vector<epoll_event> got(static_cast<size_t>(max));
  for (int i = 0; i < calls; ++i) {
    const int n = epoll_wait(ep, got.data(), max, 1000);
    EXPECT_EQ(n, max);
    for (int k = 0; k < n; ++k) seen.push_back(got[static_cast<size_t>(k)].data.u32);
  }
  return seen;
}

TEST(EpollFairness, LevelTriggeredItemsTakeTurns) {
  Fd ep(epoll_create1(0));
  std::vector<Fd> socks;
  for (uint32_t tag = 1; tag <= 4; ++tag) {
    socks.emplace_back(ReadableUdpIn(ep.get(), tag));
    ASSERT_GE(socks.back().get(), 0);
  }
  // Four ready, one reported per call: four calls see all four, in turn.
  const std::vector<uint32_t> one = Reports(ep.get(), 4, 1);
  EXPECT_EQ(std::set<uint32_t>(one.begin(), one.end()).size(), 4u);
  // Two per call: two calls see all four.
  const std::vector<uint32_t> two = Reports(ep.get(), 2, 2);
  EXPECT_EQ(std::set<uint32_t>(two.begin(), two.end()).size(), 4u);
}

TEST(EpollFairness, StackSocketsDoNotStarveAPipe) {
  Fd ep(epoll_create1(0));
  std::vector<Fd> socks;
  for (uint32_t tag = 1; tag <= 3; ++tag) {
    socks.emplace_back(ReadableUdpIn(ep.get(), tag));
    ASSERT_GE(socks.back().get(), 0);
  }
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  Fd r(p[0]), w(p[1]);
  ASSERT_EQ(write(w.get(), "p", 1), 1);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = 99;
  ASSERT_EQ(epoll_ctl(ep.get(), EPOLL_CTL_ADD, r.get(), &ev), 0);
  // Level-triggered, all four stay ready: within a few rounds each is reported, the pipe
  // too (the kernel's list rotates; the stack's sockets must not take every slot).
  const std::vector<uint32_t> seen = Reports(ep.get(), 8, 1);
  const std::set<uint32_t> distinct(seen.begin(), seen.end());
  EXPECT_EQ(distinct.size(), 4u);
  EXPECT_EQ(distinct.count(99), 1u);
  const std::vector<uint32_t> pairs = Reports(ep.get(), 4, 2);
  EXPECT_EQ(std::set<uint32_t>(pairs.begin(), pairs.end()).count(99), 1u);
}

}  // namespace
