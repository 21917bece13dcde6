// TIME-WAIT as a compact record instead of a whole connection, and the table that holds
// them: what is left of a connection once the socket is closed and both FINs are
// acknowledged is its four-tuple, where its sequence spaces ended, the last timestamp it
// saw and when it expires — about 80 bytes, where a TcpConnection is a few kilobytes
// (Linux's tcp_timewait_sock does the same for the same reason).
//
// RFCs to read: RFC 9293 §3.10.7.4 (TIME-WAIT: re-ACK a retransmitted FIN and restart the
// 2 MSL timer), RFC 6191 (a new SYN may reopen the connection when its ISN or timestamp is
// beyond the old incarnation's), RFC 1337 (TIME-WAIT assassination by RST), RFC 7323 §5
// (PAWS for segments of the old incarnation). Linux's tcp_timewait_state_process is the
// model for what is answered and how.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "stack/base/clock.h"
#include "stack/base/deadline_heap.h"
#include "stack/tcp/tcp_config.h"
#include "stack/tcp/tcp_types.h"

namespace pytcp {

struct TcpPortUser;

// One connection in TIME-WAIT (Linux's tcp_timewait_sock, without the socket around it).
struct TcpTimeWaitRecord {
  DeadlineSlot slot;   // its place in the table's heap; slot.deadline is the expiry
  TcpFourTuple tuple;
  SeqNum snd_nxt;      // after our FIN
  SeqNum rcv_nxt;      // after the peer's FIN
  uint32_t ts_recent = 0;      // RFC 7323 TS.Recent (with kTimestamps)
  uint32_t ts_recent_sec = 0;  // when TS.Recent was taken, seconds of the clock (Linux's
                               // tw_ts_recent_stamp), for the 24-day PAWS rule
  uint32_t last_oow_ms = 0;    // the last rate-limited ACK, ms of the clock (kOowValid)
  uint16_t window = 0;         // the window field our ACKs carry (already scaled)
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint8_t flags = 0;
  static constexpr uint8_t kTimestamps = 1;  // the connection used timestamps
  static constexpr uint8_t kReuseAddr = 2;   // SO_REUSEADDR (bind rules, as Linux's tw_reuse)
  static constexpr uint8_t kIpv6 = 4;        // from an AF_INET6 socket
  static constexpr uint8_t kV6only = 8;
  static constexpr uint8_t kOowValid = 16;   // last_oow_ms is set

  DeadlineSlot& deadline_slot() { return slot; }
  bool has(uint8_t f) const { return (flags & f) != 0; }
};

// What a segment that found a TIME-WAIT record asks of the engine.
struct TcpTimeWaitAction {
  enum Verdict : uint8_t {
    kNone,    // dropped (or only the record changed)
    kAck,     // send the TIME-WAIT ACK <SEQ=snd_nxt><ACK=rcv_nxt>
    kKill,    // RST in window (RFC 1337 not applied, Linux's default): the record goes
    kReopen,  // RFC 6191: a new SYN; give it to a listener with ISN `isn`, else ACK it
  };
  Verdict verdict = kNone;
  bool reschedule = false;  // 2 MSL starts again (RFC 9293 §3.10.7.4)
  SeqNum isn;
};

// Linux's tcp_timewait_state_process for a connection in TIME-WAIT (a pure function of
// the record, the segment and `now`; it updates TS.Recent and the ACK rate limit).
TcpTimeWaitAction TcpTimeWaitInput(TcpTimeWaitRecord& tw, const TcpSegment& seg,
                                   const TcpConfig& config, Instant now);

// The records, found by four-tuple, expiring in order, and the local ports they hold.
class TcpTimeWaitTable {
 public:
  TcpTimeWaitTable();
  TcpTimeWaitTable(const TcpTimeWaitTable&) = delete;
  TcpTimeWaitTable& operator=(const TcpTimeWaitTable&) = delete;

  // Adds `r` (its tuple not in the table) expiring at `expiry`; returns the stored record.
  TcpTimeWaitRecord* Insert(const TcpTimeWaitRecord& r, Instant expiry);
  TcpTimeWaitRecord* Find(const TcpFourTuple& t);
  bool Contains(const TcpFourTuple& t) const { return index_.contains(t); }
  void Erase(TcpTimeWaitRecord* r);
  void Reschedule(TcpTimeWaitRecord* r, Instant expiry) { heap_.Schedule(r, expiry); }
  // Removes every record that has expired; returns how many.
  size_t Expire(Instant now);
  Instant NextDeadline() const { return heap_.NextDeadline(); }
  size_t size() const { return index_.size(); }
  // The heap memory the table holds (records, index, heap, port table), for the bound
  // that tests/tcp/tcp_time_wait_test.cc checks.
  size_t MemoryBytes() const;

  // The local ports the records hold, for the bind rules (TcpEngine::Conflicts): one
  // entry per distinct (address, family, SO_REUSEADDR) with a count.
  struct PortUse {
    TcpFourTuple key;  // local ip and port only; the rest zero
    uint8_t flags = 0;
    uint32_t count = 0;
  };
  using PortUses = absl::InlinedVector<PortUse, 1>;
  const PortUses* PortUsers(uint16_t port) const {
    auto it = ports_.find(port);
    return it == ports_.end() ? nullptr : &it->second;
  }
  template <typename Fn>  // fn(const TcpTimeWaitRecord&)
  void ForEach(Fn&& fn) const {
    for (uint32_t i : index_) fn(slab_[i]);
  }

 private:
  // The index holds slab positions and hashes them by their record's tuple, so a lookup
  // by tuple finds them without storing the tuple twice (absl heterogeneous lookup).
  struct Hash {
    using is_transparent = void;
    const std::deque<TcpTimeWaitRecord>* slab;
    size_t operator()(uint32_t i) const { return absl::HashOf((*slab)[i].tuple); }
    size_t operator()(const TcpFourTuple& t) const { return absl::HashOf(t); }
  };
  struct Eq {
    using is_transparent = void;
    const std::deque<TcpTimeWaitRecord>* slab;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, const TcpFourTuple& t) const { return (*slab)[a].tuple == t; }
    bool operator()(const TcpFourTuple& t, uint32_t a) const { return (*slab)[a].tuple == t; }
  };
  void AddPort(const TcpTimeWaitRecord& r);
  void RemovePort(const TcpTimeWaitRecord& r);

  std::deque<TcpTimeWaitRecord> slab_;  // stable addresses (the heap points into it)
  std::vector<uint32_t> free_;          // slab positions to reuse
  absl::flat_hash_set<uint32_t, Hash, Eq> index_;
  DeadlineHeap<TcpTimeWaitRecord> heap_;
  absl::flat_hash_map<uint16_t, PortUses> ports_;
};

}  // namespace pytcp
