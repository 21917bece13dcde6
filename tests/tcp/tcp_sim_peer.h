// A scripted receiver for segment-level loss-recovery tests: it takes what the stack
// sends (through the harness), drops what the test says, and answers every segment that
// arrives one RTT later with an ACK as a SACK receiver builds it (RFC 2018 §4: the block
// of the latest arrival first; RFC 2883: a duplicate reported as a D-SACK block;
// RFC 7323 §4.3: TSecr echoes the segment that last advanced the left edge).
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <vector>

#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {

class SimPeer {
 public:
  // Whether the segment sent is lost on the way (called once per segment sent).
  using DropFn = std::function<bool(const Sent&)>;

  SimPeer(uint32_t rcv_start, Duration rtt, bool timestamps)
      : rcv_nxt_(rcv_start), rtt_(rtt), ts_(timestamps) {}

  // Feeds the segments the stack sent; schedules the ACKs of those that arrive.
  void OnSent(const std::vector<Sent>& sent, const DropFn& drop) {
    for (const Sent& s : sent) {
      all_.push_back(s);
      const uint32_t len = static_cast<uint32_t>(s.payload.size()) + (s.h.flags.fin ? 1 : 0);
      if (len == 0) continue;
      if (drop && drop(s)) {
        ++dropped_;
        continue;
      }
      Arrival a;
      a.at = s.at + rtt_ / 2;
      a.seq = s.seq();
      a.end = s.seq() + len;
      a.tsval = s.h.options.timestamps ? s.h.options.timestamps->value : 0;
      a.ce = false;
      arrivals_.push_back(a);
    }
  }

  // ACKs due by `now` (arrival + RTT/2 for the way back), in arrival order.
  std::vector<TcpHeader> DueAcks(Instant now, uint16_t dport = kOurPort) {
    std::vector<TcpHeader> out;
    std::stable_sort(arrivals_.begin(), arrivals_.end(),
                     [](const Arrival& x, const Arrival& y) { return x.at < y.at; });
    size_t used = 0;
    for (const Arrival& a : arrivals_) {
      if (a.at + rtt_ / 2 > now) break;
      ++used;
      out.push_back(Receive(a, dport));
    }
    arrivals_.erase(arrivals_.begin(), arrivals_.begin() + static_cast<long>(used));
    return out;
  }

  uint16_t window = 65535;  // the window field of every ACK
  uint32_t rcv_nxt() const { return rcv_nxt_; }
  // When the left edge last moved (the arrival of the segment that moved it).
  Instant last_advance() const { return last_advance_; }
  int dropped() const { return dropped_; }
  const std::vector<Sent>& all() const { return all_; }
  bool idle() const { return arrivals_.empty(); }

 private:
  struct Arrival {
    Instant at;
    uint32_t seq;
    uint32_t end;
    uint32_t tsval;
    bool ce;
  };
  static bool Before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

  TcpHeader Receive(const Arrival& a, uint16_t dport) {
    TcpHeader h;
    h.src_port = kPeerPort;
    h.dst_port = dport;
    h.seq = SeqNum(kPeerIsn + 1);
    h.flags.ack = true;
    h.window = window;
    std::optional<TcpSackBlock> dsack;
    const bool old = !Before(rcv_nxt_, a.end);
    bool dup = old;
    for (const auto& [l, r] : ooo_) {
      if (!Before(a.seq, l) && !Before(r, a.end)) dup = true;
    }
    if (dup) {
      dsack = TcpSackBlock{SeqNum(a.seq), SeqNum(a.end)};
    } else if (!Before(rcv_nxt_, a.seq)) {
      // In order: the left edge moves (and over what was queued above it).
      rcv_nxt_ = a.end;
      ts_recent_ = a.tsval;
      last_advance_ = a.at;
      bool merged = true;
      while (merged) {
        merged = false;
        for (auto it = ooo_.begin(); it != ooo_.end(); ++it) {
          if (!Before(rcv_nxt_, it->first)) {
            if (Before(rcv_nxt_, it->second)) rcv_nxt_ = it->second;
            ooo_.erase(it);
            merged = true;
            break;
          }
        }
      }
    } else {
      Insert(a.seq, a.end);
      last_ooo_ = a.seq;
    }
    h.ack = SeqNum(rcv_nxt_);
    if (dsack) h.options.AddSackBlock(*dsack);
    // The block holding the latest out-of-order arrival first, then the others.
    std::vector<std::pair<uint32_t, uint32_t>> blocks(ooo_.begin(), ooo_.end());
    std::stable_sort(blocks.begin(), blocks.end(), [&](const auto& x, const auto& y) {
      const bool xl = !Before(last_ooo_, x.first) && Before(last_ooo_, x.second);
      const bool yl = !Before(last_ooo_, y.first) && Before(last_ooo_, y.second);
      if (xl != yl) return xl;
      return Before(y.first, x.first);
    });
    for (const auto& [l, r] : blocks) {
      if (h.options.sack_block_count >= (ts_ ? 3 : 4)) break;
      h.options.AddSackBlock({SeqNum(l), SeqNum(r)});
    }
    if (ts_) h.options.timestamps = TcpTimestamps{++tsval_, ts_recent_};
    return h;
  }

  void Insert(uint32_t l, uint32_t r) {
    for (auto it = ooo_.begin(); it != ooo_.end();) {
      if (!Before(it->second, l) && !Before(r, it->first)) {
        l = Before(it->first, l) ? it->first : l;
        r = Before(r, it->second) ? it->second : r;
        it = ooo_.erase(it);
      } else {
        ++it;
      }
    }
    ooo_[l] = r;
  }

  uint32_t rcv_nxt_;
  Instant last_advance_;
  Duration rtt_;
  bool ts_;
  uint32_t tsval_ = 1000;
  uint32_t ts_recent_ = 0;
  uint32_t last_ooo_ = 0;
  std::map<uint32_t, uint32_t> ooo_;  // out-of-order ranges (no wrap in these tests)
  std::vector<Arrival> arrivals_;
  std::vector<Sent> all_;
  int dropped_ = 0;
};

}  // namespace pytcp::testing
