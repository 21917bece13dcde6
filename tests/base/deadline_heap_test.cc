// DeadlineHeap (stack/base/deadline_heap.h): ordering, cancel, re-arm, many timers checked
// against a brute-force model, far and equal deadlines.
#include "stack/base/deadline_heap.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "stack/base/random.h"

namespace pytcp {
namespace {

struct Timer {
  int id = 0;
  DeadlineSlot slot;
  DeadlineSlot& deadline_slot() { return slot; }
};

Instant At(int64_t ns) { return Instant::FromNanos(ns); }

std::vector<int> PopAll(DeadlineHeap<Timer>& h, Instant now) {
  std::vector<int> out;
  while (Timer* t = h.PopDue(now)) out.push_back(t->id);
  return out;
}

TEST(DeadlineHeapTest, EmptyHasNoDeadline) {
  DeadlineHeap<Timer> h;
  EXPECT_TRUE(h.empty());
  EXPECT_TRUE(h.NextDeadline().is_infinite());
  EXPECT_EQ(h.Top(), nullptr);
  EXPECT_EQ(h.PopDue(Instant::Infinite()), nullptr);
}

TEST(DeadlineHeapTest, PopsInDeadlineOrderOnlyWhenDue) {
  DeadlineHeap<Timer> h;
  Timer a{1}, b{2}, c{3};
  h.Schedule(&b, At(200));
  h.Schedule(&c, At(300));
  h.Schedule(&a, At(100));
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.NextDeadline(), At(100));
  EXPECT_EQ(h.PopDue(At(99)), nullptr);
  EXPECT_EQ(PopAll(h, At(250)), (std::vector<int>{1, 2}));
  EXPECT_FALSE(a.slot.scheduled());
  EXPECT_TRUE(a.slot.deadline.is_infinite());
  EXPECT_EQ(h.NextDeadline(), At(300));
  EXPECT_EQ(PopAll(h, At(300)), (std::vector<int>{3}));  // due exactly at its deadline
  EXPECT_TRUE(h.empty());
}

TEST(DeadlineHeapTest, CancelRemovesFromAnyPosition) {
  DeadlineHeap<Timer> h;
  std::vector<Timer> t(7);
  for (int i = 0; i < 7; ++i) {
    t[i].id = i;
    h.Schedule(&t[i], At(10 * (i + 1)));
  }
  h.Cancel(&t[0]);  // the top
  h.Cancel(&t[6]);  // the last element
  h.Cancel(&t[3]);  // the middle
  h.Cancel(&t[3]);  // twice: no-op
  EXPECT_TRUE(h.Valid());
  EXPECT_FALSE(t[3].slot.scheduled());
  EXPECT_EQ(PopAll(h, Instant::Infinite()), (std::vector<int>{1, 2, 4, 5}));
}

TEST(DeadlineHeapTest, InfiniteDeadlineCancels) {
  DeadlineHeap<Timer> h;
  Timer a{1};
  h.Schedule(&a, At(5));
  h.Schedule(&a, Instant::Infinite());
  EXPECT_TRUE(h.empty());
  EXPECT_FALSE(a.slot.scheduled());
  h.Schedule(&a, Instant::Infinite());  // never scheduled: stays out
  EXPECT_TRUE(h.empty());
}

TEST(DeadlineHeapTest, RearmMovesEarlierAndLater) {
  DeadlineHeap<Timer> h;
  Timer a{1}, b{2}, c{3};
  h.Schedule(&a, At(100));
  h.Schedule(&b, At(200));
  h.Schedule(&c, At(300));
  h.Schedule(&c, At(50));  // earlier: becomes the top
  EXPECT_EQ(h.Top(), &c);
  h.Schedule(&c, At(400));  // later: sinks below the others
  EXPECT_EQ(h.Top(), &a);
  h.Schedule(&a, At(100));  // unchanged
  EXPECT_EQ(h.size(), 3u);
  EXPECT_TRUE(h.Valid());
  EXPECT_EQ(PopAll(h, Instant::Infinite()), (std::vector<int>{1, 2, 3}));
  // A popped object can be scheduled again.
  h.Schedule(&b, At(1));
  EXPECT_EQ(PopAll(h, At(1)), (std::vector<int>{2}));
}

TEST(DeadlineHeapTest, FarAndEqualDeadlines) {
  DeadlineHeap<Timer> h;
  Timer near{1}, far{2}, farther{3}, same1{4}, same2{5};
  const Instant last = Instant::FromNanos(std::numeric_limits<int64_t>::max() - 1);  // just short of infinite
  h.Schedule(&farther, last);
  h.Schedule(&far, At(int64_t{7200} * 1'000'000'000));  // a 2 h keep-alive
  h.Schedule(&near, At(1));
  h.Schedule(&same1, At(50));
  h.Schedule(&same2, At(50));
  EXPECT_EQ(PopAll(h, At(50)).size(), 3u);  // near and both equal ones
  EXPECT_EQ(h.NextDeadline(), At(int64_t{7200} * 1'000'000'000));
  EXPECT_EQ(PopAll(h, last), (std::vector<int>{2, 3}));
}

// Many timers under random schedule / re-arm / cancel / pop, checked against a model.
TEST(DeadlineHeapTest, ManyTimersMatchAModel) {
  Random rng(42);
  constexpr int kTimers = 2000;
  std::vector<Timer> t(kTimers);
  for (int i = 0; i < kTimers; ++i) t[i].id = i;
  std::map<int, int64_t> model;  // id -> deadline
  DeadlineHeap<Timer> h;
  int64_t now = 0;
  for (int step = 0; step < 100000; ++step) {
    const int id = static_cast<int>(rng.Below(kTimers));
    switch (rng.Below(4)) {
      case 0:
      case 1: {  // schedule or re-arm, sometimes far in the future
        const int64_t d = now + static_cast<int64_t>(rng.Below(rng.Below(10) == 0 ? 1'000'000'000 : 1000));
        h.Schedule(&t[id], At(d));
        model[id] = d;
        break;
      }
      case 2:
        h.Cancel(&t[id]);
        model.erase(id);
        break;
      case 3: {  // time passes; every due timer leaves, earliest first
        now += static_cast<int64_t>(rng.Below(50));
        int64_t prev = -1;
        while (Timer* x = h.PopDue(At(now))) {
          ASSERT_TRUE(model.contains(x->id));
          const int64_t d = model[x->id];
          ASSERT_LE(d, now);
          ASSERT_GE(d, prev);
          prev = d;
          model.erase(x->id);
        }
        for (const auto& [mid, d] : model) ASSERT_GT(d, now) << mid;
        break;
      }
    }
    ASSERT_EQ(h.size(), model.size());
    if (step % 997 == 0) {
      ASSERT_TRUE(h.Valid());
    }
  }
  int64_t earliest = std::numeric_limits<int64_t>::max();
  for (const auto& [mid, d] : model) earliest = std::min(earliest, d);
  if (!model.empty()) {
    EXPECT_EQ(h.NextDeadline(), At(earliest));
  }
}

}  // namespace
}  // namespace pytcp
