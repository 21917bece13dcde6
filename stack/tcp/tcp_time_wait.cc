#include "stack/tcp/tcp_time_wait.h"

#include <algorithm>
#include <chrono>

namespace pytcp {
namespace {

// Timestamps compare modulo 2^32 like sequence numbers (RFC 7323 §5.2).
bool TsBefore(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

// RFC 7323 §5.5: TS.Recent is only trusted for 24 days of idleness.
constexpr uint32_t kPawsIdleSeconds = 24 * 24 * 3600;

uint32_t Seconds(Instant now) { return static_cast<uint32_t>(now.nanos() / 1'000'000'000); }
uint32_t Millis(Instant now) { return static_cast<uint32_t>(now.nanos() / 1'000'000); }

}  // namespace

TcpTimeWaitAction TcpTimeWaitInput(TcpTimeWaitRecord& tw, const TcpSegment& seg,
                                   const TcpConfig& config, Instant now) {
  TcpTimeWaitAction a;
  const TcpFlags f = seg.flags();
  const bool saw_ts = tw.has(TcpTimeWaitRecord::kTimestamps) && seg.options.timestamps.has_value();
  const uint32_t tsval = saw_ts ? seg.options.timestamps->value : 0;
  // RFC 7323 §5.3 R1 (Linux's tcp_paws_reject): an older TSval is an old duplicate, unless
  // TS.Recent has been idle for 24 days. A RST is not held to it (its TSval may lag).
  const bool paws_reject = saw_ts && !f.rst && TsBefore(tsval, tw.ts_recent) &&
                           Seconds(now) - tw.ts_recent_sec < kPawsIdleSeconds;
  const uint32_t seg_len = seg.len();

  // In window and no text: a bare ACK or a RST at RCV.NXT.
  if (!paws_reject && seg.seq() == tw.rcv_nxt && (seg_len == 0 || f.rst)) {
    if (f.rst) {
      // TIME-WAIT assassination (RFC 1337). Linux (tcp_rfc1337 = 0) lets the RST end
      // TIME-WAIT; with tcp_rfc1337 = 1 it is ignored, which is RFC 1337's fix.
      if (!config.rfc1337) {
        a.verdict = TcpTimeWaitAction::kKill;
        return a;
      }
    } else {
      a.reschedule = true;
    }
    if (saw_ts) {
      tw.ts_recent = tsval;
      tw.ts_recent_sec = Seconds(now);
    }
    return a;
  }

  // RFC 6191 / RFC 9293 §3.10.7.4 (and RFC 1122 §4.2.2.13): a SYN may reopen the
  // connection if it is newer than the old incarnation by sequence number or timestamp.
  // The new ISN is above everything we sent before (Linux's tcp_tw_isn: SND.NXT + 65537),
  // so old duplicates of our side cannot be taken for new data either.
  if (f.syn && !f.rst && !f.ack && !paws_reject &&
      (seg.seq() > tw.rcv_nxt || (saw_ts && TsBefore(tw.ts_recent, tsval)))) {
    a.verdict = TcpTimeWaitAction::kReopen;
    a.isn = tw.snd_nxt + 65535 + 2;
    if (a.isn == SeqNum(0)) a.isn = SeqNum(1);
    return a;
  }
  // Anything else is acknowledged (a retransmitted FIN above all), except RSTs: an old
  // or out-of-window RST is dropped silently, as Linux does (RFC 5961's challenge ACK
  // needs a connection to protect; this one has ended).
  if (f.rst) return a;
  // Linux: "If it is ACKless SYN it may be both old duplicate and new good SYN with random
  // sequence number < rcv_nxt. Do not reschedule in the last case."
  if (paws_reject || f.ack) a.reschedule = true;
  // Linux's tcp_timewait_check_oow_rate_limit: segments without text (or with a SYN)
  // are answered at most once per tcp_invalid_ratelimit, so that two hosts that disagree
  // do not exchange ACKs forever; a FIN or data is always answered.
  const bool text = seg_len > 0 && !f.syn;
  if (!text) {
    const uint32_t ms = Millis(now);
    const uint32_t limit = static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(config.invalid_ratelimit).count());
    if (tw.has(TcpTimeWaitRecord::kOowValid) && ms - tw.last_oow_ms < limit) return a;
    tw.last_oow_ms = ms;
    tw.flags |= TcpTimeWaitRecord::kOowValid;
  }
  a.verdict = TcpTimeWaitAction::kAck;
  return a;
}

TcpTimeWaitTable::TcpTimeWaitTable() : index_(0, Hash{&slab_}, Eq{&slab_}) {}

TcpTimeWaitRecord* TcpTimeWaitTable::Insert(const TcpTimeWaitRecord& r, Instant expiry) {
  uint32_t i;
  if (!free_.empty()) {
    i = free_.back();
    free_.pop_back();
    slab_[i] = r;
  } else {
    i = static_cast<uint32_t>(slab_.size());
    slab_.push_back(r);
  }
  TcpTimeWaitRecord* rec = &slab_[i];
  rec->slot = DeadlineSlot{};
  index_.insert(i);
  heap_.Schedule(rec, expiry);
  AddPort(*rec);
  return rec;
}

TcpTimeWaitRecord* TcpTimeWaitTable::Find(const TcpFourTuple& t) {
  auto it = index_.find(t);
  return it == index_.end() ? nullptr : &slab_[*it];
}

void TcpTimeWaitTable::Erase(TcpTimeWaitRecord* r) {
  auto it = index_.find(r->tuple);
  if (it == index_.end()) return;
  const uint32_t i = *it;
  heap_.Cancel(r);
  RemovePort(*r);
  index_.erase(it);
  if (index_.empty()) {
    // The last one: give the memory back (a burst of 10^6 need not stay allocated).
    slab_.clear();
    slab_.shrink_to_fit();
    free_.clear();
    free_.shrink_to_fit();
  } else {
    free_.push_back(i);
  }
}

size_t TcpTimeWaitTable::Expire(Instant now) {
  size_t n = 0;
  while (TcpTimeWaitRecord* r = heap_.PopDue(now)) {
    // PopDue took it off the heap already; Erase's Cancel is then a no-op.
    Erase(r);
    ++n;
  }
  return n;
}

void TcpTimeWaitTable::AddPort(const TcpTimeWaitRecord& r) {
  constexpr uint8_t kPortFlags =
      TcpTimeWaitRecord::kReuseAddr | TcpTimeWaitRecord::kIpv6 | TcpTimeWaitRecord::kV6only;
  PortUses& uses = ports_[r.tuple.local_port];
  for (PortUse& u : uses) {
    if (u.key.local_ip == r.tuple.local_ip && u.flags == (r.flags & kPortFlags)) {
      ++u.count;
      return;
    }
  }
  PortUse u;
  u.key.local_ip = r.tuple.local_ip;
  u.key.local_port = r.tuple.local_port;
  u.flags = r.flags & kPortFlags;
  u.count = 1;
  uses.push_back(u);
}

void TcpTimeWaitTable::RemovePort(const TcpTimeWaitRecord& r) {
  constexpr uint8_t kPortFlags =
      TcpTimeWaitRecord::kReuseAddr | TcpTimeWaitRecord::kIpv6 | TcpTimeWaitRecord::kV6only;
  auto it = ports_.find(r.tuple.local_port);
  if (it == ports_.end()) return;
  PortUses& uses = it->second;
  for (size_t k = 0; k < uses.size(); ++k) {
    if (uses[k].key.local_ip == r.tuple.local_ip && uses[k].flags == (r.flags & kPortFlags)) {
      if (--uses[k].count == 0) uses.erase(uses.begin() + static_cast<std::ptrdiff_t>(k));
      break;
    }
  }
  if (uses.empty()) ports_.erase(it);
}

size_t TcpTimeWaitTable::MemoryBytes() const {
  // libstdc++'s deque allocates 512-byte blocks (whole records each) plus a map of block
  // pointers; absl's flat_hash_set one control byte per slot (plus a group's worth) and
  // the slot; the heap a pointer per record.
  const size_t per_block = std::max<size_t>(1, 512 / sizeof(TcpTimeWaitRecord));
  const size_t blocks = (slab_.size() + per_block - 1) / per_block;
  size_t bytes = blocks * 512 + blocks * sizeof(void*);
  bytes += free_.capacity() * sizeof(uint32_t);
  bytes += index_.capacity() * (sizeof(uint32_t) + 1) + 16;
  bytes += heap_.capacity() * sizeof(TcpTimeWaitRecord*);
  bytes += ports_.capacity() * (sizeof(uint16_t) + sizeof(PortUses) + 1);
  return bytes;
}

}  // namespace pytcp
