// Test aid: runs stacks without their threads on a VirtualClock. Each step processes
// every deliverable frame and expired timer of every stack, then jumps the clock to the
// earliest next deadline — a discrete-event simulation, deterministic and fast.
#pragma once

#include <functional>
#include <vector>

#include "stack/base/clock.h"
#include "stack/stack.h"

namespace pytcp::testing {

class Simulator {
 public:
  explicit Simulator(VirtualClock* clock) : clock_(clock) {}
  // Also turns on TCP's timer check (TcpConfig::verify_timers): every test that runs a
  // stack here verifies that the deadline heap is never later than a connection's timer.
  void Add(Stack* stack) {
    stack->tcp().mutable_config().verify_timers = true;
    stacks_.push_back(stack);
  }
  // Extra per-step work (e.g. an application loop or a FramePeer responder).
  void AddHook(std::function<void()> hook) { hooks_.push_back(std::move(hook)); }

  // Runs until `d` of virtual time has passed.
  void RunFor(Duration d) { RunUntil([] { return false; }, d); }

  // Runs until `done()` holds or `limit` of virtual time has passed; returns done().
  bool RunUntil(const std::function<bool()>& done, Duration limit) {
    const Instant until = clock_->Now() + limit;
    while (true) {
      // Settle everything due now (frames sent at zero delay are due at once).
      for (int round = 0; round < 10000; ++round) {
        bool any = false;
        for (Stack* s : stacks_) {
          if (s->NextDeadline() <= clock_->Now()) any = true;
          s->ProcessLink();
          s->RunTimers();
        }
        for (auto& h : hooks_) h();
        if (!any) break;
      }
      if (done()) return true;
      Instant next = Instant::Infinite();
      for (Stack* s : stacks_) next = EarliestOf(next, s->NextDeadline());
      if (next > until) break;
      clock_->AdvanceTo(next);
    }
    clock_->AdvanceTo(until);
    return done();
  }

 private:
  VirtualClock* clock_;
  std::vector<Stack*> stacks_;
  std::vector<std::function<void()>> hooks_;
};

}  // namespace pytcp::testing
