#include "stack/tcp/tcp_rack.h"

#include <algorithm>

namespace pytcp {

void TcpRack::OnSend(SeqNum start, SeqNum end, Instant now) {
  if (!(start < end)) return;
  // New data only ever extends the sequence space; a record that would overlap the last
  // one (a FIN sent again as "new") is folded into it.
  if (!segs_.empty() && start < segs_.back().end) {
    if (segs_.back().end < end) segs_.back().end = end;
    return;
  }
  segs_.push_back(Record{start, end, now, false});
}

std::deque<TcpRack::Record>::iterator TcpRack::Find(SeqNum s) {
  // Records are disjoint and sorted: the first whose end lies beyond s.
  auto it = std::upper_bound(segs_.begin(), segs_.end(), s,
                             [](SeqNum v, const Record& r) { return v < r.end; });
  if (it == segs_.end() || s < it->start) return segs_.end();
  return it;
}

void TcpRack::SplitAt(SeqNum s) {
  auto it = Find(s);
  if (it == segs_.end() || it->start == s) return;
  Record tail = *it;
  tail.start = s;
  it->end = s;
  segs_.insert(it + 1, tail);
}

void TcpRack::OnRetransmit(SeqNum start, SeqNum end, Instant now) {
  if (!(start < end)) return;
  SplitAt(start);
  SplitAt(end);
  for (auto it = Find(start); it != segs_.end() && it->start < end; ++it) {
    it->xmit = now;
    it->retransmitted = true;
  }
}

void TcpRack::AdvanceUna(SeqNum una) {
  while (!segs_.empty() && segs_.front().end <= una) segs_.pop_front();
  if (!segs_.empty() && segs_.front().start < una) segs_.front().start = una;
  if (dsack_round_valid_ && una >= dsack_round_) dsack_round_valid_ = false;
}

void TcpRack::OnDelivered(SeqNum start, SeqNum end, Duration min_rtt, Instant now) {
  if (!(start < end)) return;
  auto it = Find(end - 1);
  if (it == segs_.end()) return;
  const Record& r = *it;
  if (r.retransmitted) {
    // §6.2 step 2: a retransmitted range counts only when the delivery cannot be the
    // original's: at least min_RTT after the retransmission left. RFC 8985 also offers
    // the ACK's timestamp echo, but for SACKed data it echoes the last in-order segment,
    // not the one SACKed (RFC 7323 §4.3), so a probe that repaired a tail would never
    // count; Linux's tcp_rack_advance uses the min_RTT test alone, and so do we.
    if (r.xmit + min_rtt > now) return;
  } else if (have_ && r.end < fack_) {
    // §6.2 step 3: an original delivered after data sent later: the path reorders.
    reord_ = true;
  }
  if (!have_ || fack_ < r.end) fack_ = r.end;
  Advance(r.xmit, r.end, now);
}

void TcpRack::Advance(Instant xmit, SeqNum end, Instant now) {
  // RACK_sent_after(): the later transmission, ties broken by the higher sequence.
  if (have_ && (xmit < xmit_ts_ || (xmit == xmit_ts_ && !(end_seq_ < end)))) return;
  have_ = true;
  xmit_ts_ = xmit;
  end_seq_ = end;
  rtt_ = now - xmit;
}

Duration TcpRack::ReoWnd(bool in_recovery, uint32_t sacked_segments, int dupthresh,
                         Duration min_rtt, Duration srtt) const {
  // §6.2 step 4: without reordering seen, a loss is declared as soon as DupThresh's
  // evidence is there (in recovery, or with DupThresh segments SACKed): RACK then is at
  // least as quick as RFC 6675.
  if (!reord_) {
    if (in_recovery) return Duration{0};
    if (sacked_segments >= static_cast<uint32_t>(dupthresh)) return Duration{0};
  }
  return std::min<Duration>(min_rtt * reo_wnd_mult_ / 4, srtt);
}

void TcpRack::OnDsack(SeqNum snd_una, SeqNum snd_nxt) {
  if (dsack_round_valid_ && snd_una >= dsack_round_) dsack_round_valid_ = false;
  // A D-SACK means a retransmission was not needed: the path reorders (or delays) more
  // than the window allowed for. Grow it once per round trip that sees one. (RACK.reord
  // itself is set only by an original delivered out of order, §6.2 step 3.)
  if (dsack_round_valid_) return;
  dsack_round_valid_ = true;
  dsack_round_ = snd_nxt;
  reo_wnd_mult_ = std::min(reo_wnd_mult_ + 1, 64);
  reo_wnd_persist_ = 16;
}

void TcpRack::OnRecoveryEnd() {
  if (reo_wnd_persist_ > 0 && --reo_wnd_persist_ == 0) reo_wnd_mult_ = 1;
}

TcpRack::Verdict TcpRack::DetectLoss(SeqNum from, Duration reo_wnd, Instant now) const {
  Verdict v;
  v.lost_until = from;
  if (!have_) return v;
  auto it = std::upper_bound(segs_.begin(), segs_.end(), from,
                             [](SeqNum s, const Record& r) { return s < r.end; });
  for (; it != segs_.end(); ++it) {
    const Record& r = *it;
    // Retransmissions are judged by the connection's rtx log; they do not end the scan,
    // since originals above them may still have been sent before RACK.xmit_ts.
    if (r.retransmitted) continue;
    // Only what was sent before the delivered reference can be judged (§6.2 step 5:
    // RACK_sent_after(RACK.xmit_ts, RACK.end_seq, Segment...)). Originals leave in
    // sequence order, so nothing further along qualifies either.
    if (!(r.xmit < xmit_ts_ || (r.xmit == xmit_ts_ && r.end < end_seq_))) break;
    const Instant deadline = r.xmit + rtt_ + reo_wnd;
    if (deadline <= now) {
      v.lost_until = SeqMax(v.lost_until, r.end);
      continue;
    }
    // §6.3: not yet overdue; look again when it will be (later originals are later still).
    v.timeout = deadline;
    break;
  }
  return v;
}

}  // namespace pytcp
