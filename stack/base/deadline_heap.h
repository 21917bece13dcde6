// DeadlineHeap: the earliest of many deadlines, kept current as they move.
//
// An engine with many timed objects (TCP connections) needs three things on every turn of
// the event loop: the earliest deadline (how long to sleep), the objects that are due, and
// to move one object's deadline when a segment or a call re-arms its timers. A scan of all
// objects gives the first two in O(n) — with thousands of connections in TIME-WAIT that
// scan was a third of the time of a connect/close benchmark (bench/README.md).
//
// Why an indexed binary min-heap (each object records its position, so its deadline is
// moved in place) rather than the alternatives:
// - A heap with lazy invalidation (push a new entry on every change, skip stale ones when
//   they surface) accumulates garbage at the rate deadlines move: TCP re-arms its
//   retransmission timer on nearly every ACK, i.e. thousands of stale entries per RTO in a
//   bulk transfer, and the entries must not dangle once an object is freed.
// - A hierarchical timer wheel gives O(1) insert/cancel but quantises deadlines to its
//   tick (Linux's is 1-4 ms and its timers are "expected to be cancelled") and must cascade
//   far deadlines (2 h keep-alives, TIME-WAIT's 60 s) between levels; the tests drive the
//   stack with an exact virtual clock and expect deadlines to the nanosecond.
// With an index per object, Schedule/Cancel are O(log n) with no garbage, NextDeadline is
// O(1), and an object that is freed is simply Cancel()ed first. At the connection counts
// of this stack (n up to ~1e5 in TIME-WAIT) log n is about 17 compares.
//
// T provides `DeadlineSlot& deadline_slot()`; the heap owns nothing (it holds pointers, and
// the owner must Cancel an object before destroying it). Equal deadlines leave in an order
// that depends only on the sequence of calls (deterministic under a virtual clock).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "stack/base/clock.h"

namespace pytcp {

// An object's place in a DeadlineHeap.
struct DeadlineSlot {
  static constexpr size_t kNone = std::numeric_limits<size_t>::max();
  size_t index = kNone;  // position in the heap; kNone when not scheduled
  Instant deadline = Instant::Infinite();
  bool scheduled() const { return index != kNone; }
};

template <typename T>
class DeadlineHeap {
 public:
  // Sets `t`'s deadline; Instant::Infinite() cancels it. O(log n); a deadline that does
  // not change costs nothing.
  void Schedule(T* t, Instant deadline) {
    DeadlineSlot& s = t->deadline_slot();
    if (deadline.is_infinite()) {
      Cancel(t);
      return;
    }
    if (!s.scheduled()) {
      s.deadline = deadline;
      s.index = heap_.size();
      heap_.push_back(t);
      SiftUp(s.index);
      return;
    }
    if (deadline == s.deadline) return;
    const bool earlier = deadline < s.deadline;
    s.deadline = deadline;
    if (earlier) {
      SiftUp(s.index);
    } else {
      SiftDown(s.index);
    }
  }

  // Removes `t` (no-op when it is not scheduled). O(log n).
  void Cancel(T* t) {
    DeadlineSlot& s = t->deadline_slot();
    if (!s.scheduled()) return;
    const size_t i = s.index;
    s.index = DeadlineSlot::kNone;
    s.deadline = Instant::Infinite();
    T* last = heap_.back();
    heap_.pop_back();
    if (i == heap_.size()) return;  // `t` was the last element
    Place(i, last);
    // The element moved into the hole may belong above or below it.
    if (i > 0 && Key(i) < Key(Parent(i))) {
      SiftUp(i);
    } else {
      SiftDown(i);
    }
  }

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  size_t capacity() const { return heap_.capacity(); }  // for memory accounting
  Instant NextDeadline() const {
    return heap_.empty() ? Instant::Infinite() : heap_.front()->deadline_slot().deadline;
  }
  T* Top() const { return heap_.empty() ? nullptr : heap_.front(); }

  // Removes and returns the object with the earliest deadline when that deadline is at or
  // before `now`; nullptr otherwise.
  T* PopDue(Instant now) {
    if (heap_.empty() || heap_.front()->deadline_slot().deadline > now) return nullptr;
    T* t = heap_.front();
    Cancel(t);
    return t;
  }

  // For tests: the heap property holds and every slot names its own position.
  bool Valid() const {
    for (size_t i = 0; i < heap_.size(); ++i) {
      if (heap_[i]->deadline_slot().index != i) return false;
      if (i > 0 && Key(i) < Key(Parent(i))) return false;
    }
    return true;
  }

 private:
  static size_t Parent(size_t i) { return (i - 1) / 2; }
  Instant Key(size_t i) const { return heap_[i]->deadline_slot().deadline; }
  void Place(size_t i, T* t) {
    heap_[i] = t;
    t->deadline_slot().index = i;
  }
  void SiftUp(size_t i) {
    T* t = heap_[i];
    const Instant key = t->deadline_slot().deadline;
    while (i > 0 && key < Key(Parent(i))) {
      const size_t p = Parent(i);
      Place(i, heap_[p]);
      i = p;
    }
    Place(i, t);
  }
  void SiftDown(size_t i) {
    T* t = heap_[i];
    const Instant key = t->deadline_slot().deadline;
    const size_t n = heap_.size();
    while (true) {
      size_t c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && Key(c + 1) < Key(c)) ++c;
      if (!(Key(c) < key)) break;
      Place(i, heap_[c]);
      i = c;
    }
    Place(i, t);
  }

  std::vector<T*> heap_;
};

}  // namespace pytcp
