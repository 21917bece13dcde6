// RACK (RFC 8985 §6): time-based loss detection. A segment is lost once a segment sent
// after it has been delivered and it is overdue by the round-trip time of that delivery
// plus a reordering window — instead of counting duplicate ACKs, so that the tail of a
// flight, a retransmission and a flight too short for DupThresh are all covered.
//
// RFCs to read: RFC 8985 §6.1 (per-segment transmit times), §6.2 (updating RACK on each
// ACK, the reordering window and its adaptation to D-SACKs), §6.3 (the reordering
// timer), RFC 2883 (D-SACK).
//
// The connection keeps its SACK scoreboard, its HighRxt and its "lost below" boundary
// (RFC 6675's shape); RACK supplies that boundary from transmit times. Only original
// transmissions are judged here: they leave in sequence order, so the segments RACK marks
// lost are always a prefix of them, which keeps the connection's one-boundary model. A
// retransmitted range gets its own record (split off its neighbours) so that its delivery
// is never mistaken for the original's (Karn's ambiguity, §6.2 step 2); whether a
// retransmission was lost again is the connection's rtx log (tcp_connection.cc).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "stack/base/clock.h"
#include "stack/net/seq_num.h"

namespace pytcp {

class TcpRack {
 public:
  // §6.1: a transmission of new data [start, end) at `now` (a TSO piece is one record:
  // its segments left together).
  void OnSend(SeqNum start, SeqNum end, Instant now);
  // [start, end) was sent again at `now` (a fast retransmission, an RTO resend, a probe).
  void OnRetransmit(SeqNum start, SeqNum end, Instant now);
  // The cumulative ACK reached `una`: what lies below is forgotten.
  void AdvanceUna(SeqNum una);

  // §6.2 step 2-3: the range [start, end) was delivered (acknowledged or SACKed). Updates
  // RACK.xmit_ts/end_seq/rtt from the transmission that was delivered, and RACK.reord
  // when it was sent before data delivered already.
  void OnDelivered(SeqNum start, SeqNum end, Duration min_rtt, Instant now);

  // §6.2 step 4 (with §6.2 step 5's adaptation): the reordering window.
  // `in_recovery` and `sacked_segments >= dupthresh` make it zero until reordering is seen.
  Duration ReoWnd(bool in_recovery, uint32_t sacked_segments, int dupthresh, Duration min_rtt,
                  Duration srtt) const;
  // §6.2 step 5 / §7 of RFC 8985's reo_wnd adaptation: a D-SACK arrived (RFC 2883). The
  // window grows by min_RTT/4 at most once per round trip (`snd_nxt` marks the round) and
  // is kept for 16 recoveries (`OnRecoveryEnd`), then falls back to one step.
  void OnDsack(SeqNum snd_una, SeqNum snd_nxt);
  void OnRecoveryEnd();

  struct Verdict {
    SeqNum lost_until;  // every original transmission below is lost (unSACKed bytes)
    Instant timeout = Instant::Infinite();  // §6.3: when to look again
  };
  // §6.2 step 5 (RACK_detect_loss): the originals sent before RACK.xmit_ts that are
  // overdue by RACK.rtt + reo_wnd. `from` is where the caller's boundary stands already.
  Verdict DetectLoss(SeqNum from, Duration reo_wnd, Instant now) const;

  bool has_delivery() const { return have_; }
  Duration rtt() const { return rtt_; }
  bool reordering_seen() const { return reord_; }
  int reo_wnd_mult() const { return reo_wnd_mult_; }
  size_t records() const { return segs_.size(); }

 private:
  struct Record {
    SeqNum start;
    SeqNum end;
    Instant xmit;
    bool retransmitted = false;
  };
  // The record holding `s` (segs_.end() when none).
  std::deque<Record>::iterator Find(SeqNum s);
  // Splits the record holding `s` so that one begins at `s`.
  void SplitAt(SeqNum s);
  // §6.2 step 2: a newer delivered transmission becomes RACK's reference.
  void Advance(Instant xmit, SeqNum end, Instant now);

  std::deque<Record> segs_;  // by sequence; originals in transmit order
  bool have_ = false;        // RACK.xmit_ts is set
  Instant xmit_ts_;          // RACK.xmit_ts
  SeqNum end_seq_;           // RACK.end_seq
  SeqNum fack_;              // RACK.fack: the highest end delivered
  Duration rtt_{0};          // RACK.rtt
  bool reord_ = false;       // RACK.reord
  // RFC 8985 §6.2 step 4's adaptation.
  int reo_wnd_mult_ = 1;
  int reo_wnd_persist_ = 0;
  bool dsack_round_valid_ = false;
  SeqNum dsack_round_;
};

}  // namespace pytcp
