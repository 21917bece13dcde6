// Loss recovery beyond the ACK clock: RACK's time-based loss detection (RFC 8985 §6, the
// per-segment times are in tcp_rack.{h,cc}), RFC 6675 NextSeg rules 3 and 4, entering fast
// recovery, undoing a recovery that was not needed (RFC 3522 Eifel detection) and finding
// retransmissions lost again.
//
// RFCs to read: RFC 8985 (RACK-TLP), RFC 6675 §4-§5 (NextSeg, the recovery algorithm),
// RFC 3522 and RFC 4015 (Eifel detection and response).
#include <algorithm>

#include "stack/tcp/tcp_connection.h"

namespace pytcp {

void TcpConnection::RackOnAck(const TcpSegment& seg, Instant now) {
  // RFC 8985 §6.2 step 2: every newly delivered range updates RACK. The ranges are the
  // scoreboard's holes that this ACK fills, by the cumulative ACK and by its SACK blocks
  // (what was SACKed before was delivered before); a D-SACK block lies below SEG.ACK and
  // is none of them.
  if (!sack_ok_) return;
  const SeqNum ack = seg.ack();
  const Duration min_rtt = rtt_.min_rtt();
  auto deliver = [&](SeqNum from, SeqNum to) {
    SeqNum s = from;
    for (int i = 0; i < 64 && s < to; ++i) {
      SeqNum hole_end;
      const SeqNum h = scoreboard_.NextHole(s, to, &hole_end);
      if (h >= to) break;
      rack_.OnDelivered(h, hole_end, min_rtt, now);
      s = hole_end;
    }
  };
  if (ack > snd_una_) deliver(snd_una_, ack);
  const SeqNum floor = SeqMax(ack, snd_una_);
  for (const TcpSackBlock& b : seg.options.sack()) {
    const SeqNum l = SeqMax(b.left, floor);
    const SeqNum r = SeqMin(b.right, snd_nxt_);
    if (l < r) deliver(l, r);
  }
}

bool TcpConnection::RackDetect(Instant now) {
  // A retransmission overtaken by delivered data is looked at again when it will be
  // overdue (DetectLostRetransmissions), in recovery only.
  rack_deadline_ = recovery_ != Recovery::kOpen ? rtx_recheck_ : Instant::Infinite();
  if (!config_.rack || !sack_ok_ || snd_una_ == snd_nxt_ || !rack_.has_delivery()) return false;
  const uint32_t smss = std::max<uint32_t>(mss_cache(), 1);
  const Duration reo = rack_.ReoWnd(recovery_ != Recovery::kOpen, scoreboard_.sacked_bytes() / smss,
                                    DupThresh(), rtt_.min_rtt(), rtt_.srtt());
  const SeqNum from = SeqMax(lost_until_, snd_una_);
  const TcpRack::Verdict v = rack_.DetectLoss(from, reo, now);
  // §6.3: segments sent before the delivered one but not yet overdue are looked at again
  // when they will be.
  rack_deadline_ = EarliestOf(rack_deadline_, v.timeout);
  const SeqNum lost = SeqMin(v.lost_until, snd_nxt_);
  if (!(from < lost)) return false;
  lost_until_ = lost;
  return true;
}

void TcpConnection::OnRackTimeout(Instant now) {
  rack_deadline_ = Instant::Infinite();
  if (!IsSynchronized(state_) || snd_una_ == snd_nxt_) return;
  // §6.3 (RACK_detect_loss_and_arm_timer): the reordering window has passed for segments
  // sent before one already delivered, retransmissions included.
  if (recovery_ != Recovery::kOpen && sack_ok_) DetectLostRetransmissions(now);
  const uint32_t flight = static_cast<uint32_t>(snd_nxt_ - snd_una_);
  if (RackDetect(now) && recovery_ == Recovery::kOpen) EnterFastRecovery(std::max(flight, Pipe()), now);
  Output(now);
}

TcpConnection::RtxResult TcpConnection::SendRescue(Instant now) {
  // RFC 6675 §4 NextSeg() rules 3 and 4, when rule 1 found no lost segment and rule 2 no
  // new data (none queued, or the peer's window is full): in fast recovery, with room in
  // cwnd, the ACK clock is kept running on data not yet deemed lost.
  if (recovery_ != Recovery::kFast || !sack_ok_) return RtxResult::kNone;
  if (Pipe() + mss_cache() > cc_->cwnd()) return RtxResult::kBlocked;
  const SeqNum dend = data_end();
  // Rule 3: the first unSACKed segment above HighRxt and below the highest SACKed octet,
  // lost or not (DupThresh has not yet spoken for it).
  const SeqNum high_sacked = scoreboard_.high_sacked(snd_una_);
  SeqNum start = SeqMax(high_rxt_, snd_una_);
  SeqNum end;
  const SeqNum s3 = scoreboard_.NextHole(start, high_sacked, &end);
  bool rescue = false;
  if (s3 < high_sacked) {
    start = s3;
  } else if (!rescue_valid_ || snd_una_ > rescue_rxt_) {
    // Rule 4: one rescue retransmission per recovery, of the segment holding the highest
    // unSACKed octet — a tail that no later SACK can reveal as lost. RescueRxt becomes the
    // recovery point, and HighRxt is not moved.
    end = scoreboard_.HighestHole(snd_una_, snd_nxt_, &start);
    // A hole already retransmitted (below HighRxt) is not rescued twice.
    if (!(SeqMax(high_rxt_, snd_una_) < end)) return RtxResult::kNone;
    start = SeqMax(start, SeqMax(high_rxt_, snd_una_));
    if (static_cast<uint32_t>(end - start) > MaxPayload()) start = end - MaxPayload();
    rescue = true;
  } else {
    return RtxResult::kNone;
  }
  TcpFlags f;
  f.ack = true;
  uint32_t len = 0;
  if (start < dend) {
    len = std::min({static_cast<uint32_t>(end - start), static_cast<uint32_t>(dend - start), MaxPayload()});
    f.fin = fin_sent_ && start + len == dend && end > dend;
  } else {
    f.fin = fin_sent_;
    if (!f.fin) return RtxResult::kNone;
  }
  f.psh = len > 0 && start + len == dend;
  SendSegment(start, f, static_cast<size_t>(start - snd_buf_seq_), len, now);
  const SeqNum sent_end = start + len + (f.fin ? 1 : 0);
  rack_.OnRetransmit(start, sent_end, now);
  NoteRetransmission(sent_end, now);
  if (rescue) {
    rescue_valid_ = true;
    rescue_rxt_ = recovery_point_;
  } else {
    high_rxt_ = sent_end;
    if (rtx_log_.size() < 4096) rtx_log_.push_back({start, sent_end, snd_nxt_, now});
  }
  env_->counters().Inc(TcpCounter::kTxRetransSegments);
  ++total_retrans_;
  bytes_retrans_ += len;
  if (rtt_timing_ && start < rtt_seq_) rtt_timing_ = false;  // Karn
  return RtxResult::kSent;
}

void TcpConnection::SaveForUndo() {
  undo_valid_ = ts_ok_;
  dsack_undo_ = sack_ok_;
  undo_retrans_ = 0;
  prior_cwnd_ = cc_->cwnd();
  prior_ssthresh_ = cc_->ssthresh();
  recovery_start_una_ = snd_una_;
}

void TcpConnection::ClearRecoveryLogs() {
  rtx_log_.clear();
  rtx_again_.clear();
  rtx_again_bytes_ = 0;
  rtx_recheck_ = Instant::Infinite();
}

bool TcpConnection::DetectSpuriousRecovery(const TcpSegment& seg) {
  // RFC 3522 §2: the first ACK of new data after the retransmission echoes a timestamp
  // older than the first retransmission of that data: the original arrived (reordering,
  // a queue longer than the RTO), the recovery was not needed. The stamp is the first
  // retransmission's, kept until everything retransmitted is acknowledged (Linux's
  // retrans_stamp), so a retransmission from an earlier episode is not taken for the
  // original.
  if (recovery_ == Recovery::kOpen || !undo_valid_ || retrans_stamp_ == 0) return false;
  if (!seg.options.timestamps || seg.options.timestamps->echo_reply == 0) return false;
  undo_valid_ = false;  // only the first ACK of new data decides
  const uint32_t tsecr = seg.options.timestamps->echo_reply;
  if (static_cast<int32_t>(tsecr - retrans_stamp_) >= 0) return false;
  UndoRecovery(true);
  return true;
}

void TcpConnection::UndoRecovery(bool raise_dupthresh) {
  // RFC 4015 §3.2: restore the congestion state from before the response.
  cc_->Undo(prior_cwnd_, prior_ssthresh_);
  dsack_undo_ = false;
  // Reordering of this depth is normal on this path: raise DupThresh to it (Linux's
  // tcp_check_sack_reordering, at most its tcp_max_reordering of 300).
  const uint32_t depth = static_cast<uint32_t>(scoreboard_.high_sacked(snd_una_) - recovery_start_una_) /
                         std::max<uint32_t>(mss_cache(), 1);
  if (raise_dupthresh) {
    reordering_ = std::clamp<int>(static_cast<int>(depth) + 1, reordering_, 300);
    ++reord_seen_;
  }
  if (recovery_ != Recovery::kOpen) rack_.OnRecoveryEnd();
  recovery_ = Recovery::kOpen;
  lost_until_ = snd_una_;
  high_rxt_ = snd_una_;
  ClearRecoveryLogs();
}

void TcpConnection::NoteCwndReduced() {
  if (!ecn_ok_) return;
  cwr_pending_ = true;
  cwr_valid_ = true;
  cwr_high_ = snd_nxt_;
}

void TcpConnection::OnEce(uint32_t flight, Instant now) {
  // RFC 3168 §6.1.2: react to congestion as to a loss, without retransmitting, at most
  // once per window: an ECE acknowledging nothing beyond the window that was reduced
  // echoes congestion already answered (the receiver repeats it until our CWR arrives,
  // which is on the first new data after the reduction). In fast recovery or after a
  // timeout the window is being reduced already.
  if (recovery_ != Recovery::kOpen) return;
  if (cwr_valid_ && !(snd_una_ > cwr_high_)) return;
  env_->counters().Inc(TcpCounter::kEcnReductions);
  cc_->OnCongestionEvent(flight, now);
  NoteCwndReduced();
}

void TcpConnection::OnDsack(const TcpSackBlock& block, Instant now) {
  (void)now;
  env_->counters().Inc(TcpCounter::kRxDsack);
  ++dsack_dups_;
  // RFC 8985 §6.2 step 4: the reordering window grows with D-SACKs.
  rack_.OnDsack(snd_una_, snd_nxt_);
  // RFC 3708 §3 (as Linux's undo_retrans): each D-SACK for data retransmitted in this
  // episode says one retransmission was a duplicate; once all of them have been reported,
  // the loss that started the episode never happened (reordering or a late ACK), and the
  // reduction is undone — during the recovery or after it, as long as no newer episode
  // has started (SaveForUndo). Without timestamps this is the only evidence there is.
  if (!dsack_undo_ || undo_retrans_ <= 0) return;
  if (block.left < recovery_start_una_ || block.right > rtx_max_) return;
  const uint32_t smss = std::max<uint32_t>(mss_cache(), 1);
  undo_retrans_ -= static_cast<int>((static_cast<uint32_t>(block.right - block.left) + smss - 1) / smss);
  if (undo_retrans_ > 0) return;
  env_->counters().Inc(TcpCounter::kDsackUndos);
  // With RACK the reordering window (grown by this D-SACK above) is the response to
  // reordering, as Linux ignores its reordering count for marking once RACK runs; raising
  // DupThresh to the whole depth of the episode as well made every later loss wait for
  // dozens of SACKs (simulated 5 % loss: four times the retransmissions, a reduction per
  // ten losses). Without RACK, DupThresh is the only defence and is raised as for Eifel.
  UndoRecovery(!config_.rack);
}

void TcpConnection::DetectLostRetransmissions(Instant now) {
  const SeqNum high = scoreboard_.high_sacked(snd_una_);
  // RFC 8985 §6.2's rule for a segment sent before one already delivered: lost once it
  // is overdue by the RTT plus a reordering window of min_rtt/4, so a retransmission
  // merely overtaken by later data is given time to arrive.
  const Duration reo_wnd = std::max<Duration>(rtt_.min_rtt() / 4, std::chrono::milliseconds(1));
  const Duration overdue = std::max(rtt_.srtt(), latest_rtt_) + reo_wnd;
  rtx_recheck_ = Instant::Infinite();
  size_t keep = 0;
  for (const RtxRecord& r : rtx_log_) {
    if (r.end <= snd_una_ || scoreboard_.SackedIn(r.start, r.end) == static_cast<uint32_t>(r.end - r.start)) {
      continue;  // delivered
    }
    if (high > r.marker) {
      if (now - r.sent >= overdue) {
        // Data sent after this retransmission has arrived and it has not: lost again.
        env_->counters().Inc(TcpCounter::kLostRetransmits);
        rtx_again_.push_back(r);
        rtx_again_bytes_ += static_cast<uint32_t>(r.end - r.start);
        continue;
      }
      // §6.3: overtaken but not yet overdue. The ACKs that showed it may be the last ones
      // (the whole flight SACKed), so the RACK timer looks again when it will be overdue
      // rather than leaving it to the RTO.
      rtx_recheck_ = EarliestOf(rtx_recheck_, r.sent + overdue);
    }
    rtx_log_[keep++] = r;
  }
  rtx_log_.resize(keep);
}

void TcpConnection::EnterFastRecovery(uint32_t flight, Instant now) {
  env_->counters().Inc(TcpCounter::kFastRetransmits);
  SaveForUndo();
  ClearRecoveryLogs();
  recovery_ = Recovery::kFast;
  rescue_valid_ = false;
  tlp_deadline_ = Instant::Infinite();
  recovery_point_ = snd_nxt_;
  reno_recover_ = snd_nxt_;
  high_rxt_ = snd_una_;
  // RFC 6675 §5 (4.2) / RFC 5681 §3.2 step 3: the first unacknowledged segment is
  // retransmitted at once, whatever the scoreboard says.
  lost_until_ = SeqMax(lost_until_, snd_una_ + MaxPayload());
  force_rtx_ = true;
  cc_->OnCongestionEvent(flight, now);
  // RFC 6937 §3: RecoverFS is the flight before the recovery; from here each ACK sets
  // cwnd (ProcessAck) rather than cwnd falling to ssthresh at once.
  prr_.Start(flight);
  NoteCwndReduced();
  rtt_timing_ = false;
}

}  // namespace pytcp
