// One TCP connection: the transmission control block and its state machine, a pure
// function of (segments, application calls, `now`) to (segments sent, stored deadlines).
//
// RFCs to read: RFC 9293 §3.3 (the TCB variables), §3.10 (event processing — the order
// of checks in Input() follows §3.10.7.4 "Otherwise" step by step), RFC 7323 (window
// scaling, timestamps, PAWS), RFC 2018 and RFC 6675 (SACK and loss recovery), RFC 5681
// and RFC 6582 (congestion control, fast retransmit, NewReno), RFC 6298 (RTO),
// RFC 5961 (blind in-window attacks), RFC 1122 §4.2 (host requirements: delayed ACKs,
// keep-alives, zero-window probing, SWS avoidance), RFC 6191 (TIME-WAIT reuse).
//
// The code is split by topic: tcp_connection.cc (opening, closing, segment arrival and
// acceptance), tcp_receive.cc (reassembly, receive window, delayed ACKs), tcp_send.cc
// (what to send next: segmentation, Nagle, SWS, retransmission choice, building
// segments), tcp_timers.cc (RTO, persist, delayed ACK, keep-alive, TIME-WAIT deadlines).
#pragma once

#include <netinet/tcp.h>  // TCP_* option names for the users of this header

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stack/base/clock.h"
#include "stack/base/counters.h"
#include "stack/base/deadline_heap.h"
#include "stack/tcp/tcp_config.h"
#include "stack/tcp/tcp_congestion.h"
#include "stack/tcp/tcp_info.h"
#include "stack/tcp/tcp_pacing.h"
#include "stack/tcp/tcp_prr.h"
#include "stack/tcp/tcp_rack.h"
#include "stack/tcp/tcp_reassembly.h"
#include "stack/tcp/tcp_ring_buffer.h"
#include "stack/tcp/tcp_rtt.h"
#include "stack/tcp/tcp_sack.h"
#include "stack/tcp/tcp_types.h"

namespace pytcp {

class TcpListener;

// What a connection needs from the engine that owns it.
class TcpConnectionEnv {
 public:
  virtual ~TcpConnectionEnv() = default;
  virtual const TcpConfig& config() const = 0;
  virtual Counters<TcpCounter>& counters() = 0;
  // Sends one segment: `header` (ports, sequence numbers, flags, window, options) and a
  // payload given as up to two runs (the send ring may wrap). False when the IP layer
  // refused it (no route...); TCP treats that as a lost segment.
  virtual bool Transmit(const TcpFourTuple& tuple, const TcpHeader& header, ByteSpan a,
                        ByteSpan b, uint8_t ttl, uint8_t tos, Instant now) = 0;
  // RFC 5961 §7: whether one more challenge ACK may be sent now.
  virtual bool AllowChallengeAck(Instant now) = 0;
  // The MTU toward `remote` (for the MSS we announce and the one we send with).
  virtual uint32_t PathMtu(const IpAddress& remote) const = 0;
  // Moves whenever any destination's path MTU changed (stack/net/path_mtu_cache.h): a
  // connection re-reads its PathMtu only then.
  virtual uint64_t PathMtuGeneration() const { return 0; }
  // TCP segmentation offload toward `remote`: the largest IP datagram the device takes and
  // cuts into MTU-sized segments (each with the header of the large one); 0 = none.
  virtual uint32_t TsoMaxSize(const IpAddress& remote) const {
    (void)remote;
    return 0;
  }
};

// Told (under the stack lock) that readiness may have changed: data or EOF to read, room
// to write, connected, reset, closed.
class TcpObserver {
 public:
  virtual ~TcpObserver() = default;
  virtual void OnTcpEvent() = 0;
  // A new urgent pointer arrived (RFC 9293 §3.8.5): the owner gets SIGURG (Linux's
  // sk_send_sigurg, called from tcp_check_urg before the urgent byte itself may be there).
  virtual void OnTcpUrgent() {}
};

// Per-socket settings a connection takes from its socket (or its listener).
struct TcpConnectionOptions {
  bool nodelay = false;                 // TCP_NODELAY
  bool cork = false;                    // TCP_CORK
  bool keepalive = false;               // SO_KEEPALIVE
  std::optional<Duration> keepidle;     // TCP_KEEPIDLE (else the config default)
  std::optional<Duration> keepintvl;    // TCP_KEEPINTVL
  std::optional<int> keepcnt;           // TCP_KEEPCNT
  uint16_t user_mss = 0;                // TCP_MAXSEG (0: none)
  size_t rcvbuf = 0;                    // SO_RCVBUF as set (0: auto-tuned)
  size_t sndbuf = 0;                    // SO_SNDBUF as set (0: auto-tuned)
  std::string congestion;               // TCP_CONGESTION ("" = config default)
  uint8_t ttl = 64;
  uint8_t tos = 0;
  std::optional<Duration> user_timeout; // TCP_USER_TIMEOUT
  bool oobinline = false;               // SO_OOBINLINE: the urgent byte stays in the stream
  int syn_retries = 0;                  // TCP_SYNCNT (0: tcp_syn_retries / tcp_synack_retries)
  // TCP_LINGER2 as Linux stores tp->linger2: 0 = tcp_fin_timeout, < 0 = an orphan in
  // FIN-WAIT-2 is reset at once, else the orphan FIN-WAIT-2 lifetime.
  Duration linger2{0};
  bool linger2_reset = false;           // TCP_LINGER2 < 0
  uint8_t defer_accept = 0;             // TCP_DEFER_ACCEPT in SYN-ACK retransmissions
  uint32_t notsent_lowat = 0;           // TCP_NOTSENT_LOWAT (0: no limit)
  uint32_t window_clamp = 0;            // TCP_WINDOW_CLAMP (0: none)
};

// RFC 7323 §2.3: the receive window shift for a connection with these options (a
// function of the configuration only, so a SYN-cookie listener can recompute it).
uint8_t TcpChooseRcvWscale(const TcpConfig& config, const TcpConnectionOptions& options);

enum class TcpInputResult : uint8_t {
  kOk,
  kClosed,  // the connection reached CLOSED: the engine removes it from its tables
  kReopen,  // RFC 6191: a SYN ended TIME-WAIT; the engine hands it to a listener
};

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(TcpConnectionEnv* env, const TcpFourTuple& tuple,
                const TcpConnectionOptions& options, uint32_t ts_offset);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // --- Opening (tcp_connection.cc) ---
  // RFC 9293 §3.10.1 active OPEN: sends the SYN, enters SYN-SENT.
  void Open(SeqNum iss, Instant now);
  // Passive OPEN from a listener's SYN: enters SYN-RECEIVED and sends the SYN-ACK.
  void AcceptSyn(const TcpSegment& syn, SeqNum iss, TcpListener* listener, Instant now);
  // A listener validated a SYN cookie in `ack`: the connection is set up as if its
  // SYN-ACK had been sent (SYN-RECEIVED); the caller then feeds `ack` to Input().
  void AcceptCookie(const TcpSegment& ack, SeqNum iss, uint16_t mss,
                    std::optional<uint8_t> peer_wscale, bool sack, TcpListener* listener,
                    Instant now);

  // --- Segment arrival (tcp_connection.cc) ---
  TcpInputResult Input(const TcpSegment& seg, Instant now);
  // An ICMP error about this connection (RFC 1122 §4.2.3.9, RFC 5927), its sequence
  // number already checked: a connection still opening is aborted with it (Linux's
  // tcp_v4_err and tcp_v6_err); a synchronized one keeps it as its soft error.
  void OnIcmpError(int error, Instant now);
  // RFC 1191 / RFC 8201: the path MTU toward the peer was lowered (the engine has put the
  // believed value in the shared cache): segments shrink, and what is in flight goes again.
  void OnPathMtu(Instant now);

  // --- Application calls ---
  // Queues up to send_space() bytes; returns how many. `more` (MSG_MORE) holds a partial
  // segment back as TCP_CORK does.
  size_t Send(ByteSpan data, bool more, Instant now, bool urgent = false);
  // Copies readable bytes; `peek` leaves them queued. Returns the count.
  size_t Recv(MutableByteSpan out, bool peek, Instant now);
  // shutdown(SHUT_WR): a FIN after the queued data (Linux changes state at once).
  void ShutdownWrite(Instant now);
  void ShutdownRead();
  // close(): the socket lets go. Unread data or `abort` (SO_LINGER 0) reset the
  // connection (RFC 9293 §3.10.4, RFC 2525 §2.17); otherwise a FIN is queued and the
  // connection lives on, orphaned, until the close handshake ends.
  void Close(bool abort, Instant now);
  // ABORT: RST to the peer in synchronized states, then CLOSED.
  void Abort(Instant now);

  // --- Urgent data (tcp_urgent.cc; RFC 9293 §3.8.5, RFC 6093, as Linux) ---
  // recv(MSG_OOB) as tcp_recv_urg: 0 and the byte, or EINVAL (none, already read,
  // SO_OOBINLINE), EAGAIN (announced, not arrived), 0 with *eof at the end of the stream.
  int RecvUrgent(uint8_t* byte, bool peek, bool* eof);
  // POLLPRI: the urgent byte has arrived and was not read with MSG_OOB.
  bool urgent_valid() const { return (urg_data_ & kUrgValid) != 0; }
  // SIOCATMARK: the next byte to read is the urgent mark.
  bool at_mark() const { return urg_data_ != 0 && urg_seq_ == CopiedSeq(); }
  // A read that copied something stops at the mark (tcp_recvmsg_locked).
  bool stop_at_mark() const { return at_mark(); }
  // Bytes a read can return now: an urgent byte at the mark that is out of the stream
  // does not count (tcp_poll's target + 1).
  size_t readable_data() const;
  void set_oobinline(bool on) { opts_.oobinline = on; }
  // TCP_QUICKACK (Linux's __tcp_sock_set_quickack): 0 enters "ping-pong" (delayed ACK)
  // mode, otherwise it is left and a pending ACK goes at once.
  void SetQuickAck(int value, Instant now);
  bool pingpong() const { return pingpong_; }
  // TCP_WINDOW_CLAMP's current value (getsockopt).
  uint32_t window_clamp() const;

  // --- Timers (tcp_timers.cc) ---
  Instant NextDeadline() const;
  // Runs every timer that is due; returns kClosed when the connection ended.
  TcpInputResult OnTimer(Instant now);

  // --- Observation ---
  TcpState state() const { return state_; }
  const TcpFourTuple& tuple() const { return tuple_; }
  TcpListener* listener() const { return listener_; }
  void clear_listener() { listener_ = nullptr; }
  void set_observer(TcpObserver* o) { observer_ = o; }
  bool orphaned() const { return orphaned_; }
  // The error a socket reports (SO_ERROR, or from the next call), 0 when none.
  int error() const { return error_; }
  int TakeError() {
    const int e = error_;
    error_ = 0;
    return e;
  }
  // Linux's sk_err_soft: the last ICMP error about a synchronized connection. It aborts
  // nothing (RFC 1122 §4.2.3.9: routing is unreliable) but is what a connection that
  // finally times out reports instead of ETIMEDOUT (tcp_write_err), and SO_ERROR shows
  // (and clears) it when there is no hard error (sock_getsockopt).
  int soft_error() const { return soft_error_; }
  int TakeSoftError() {
    const int e = soft_error_;
    soft_error_ = 0;
    return e;
  }
  // Whether the connection ended by a reset or an error (Linux's SHUTDOWN_MASK after
  // tcp_done): the socket is then readable, writable and hung up.
  bool done() const { return done_; }
  bool was_established() const { return was_established_; }
  size_t readable() const { return rcv_buf_.size(); }
  // The peer's FIN has been received in order (reads return 0 once the data is gone).
  bool fin_received() const { return fin_received_; }
  bool shut_rd() const { return shut_rd_; }
  bool shut_wr() const { return fin_queued_; }
  // Room in the send buffer (in bytes of payload).
  size_t send_space() const;
  size_t send_capacity() const;
  size_t send_queued() const { return snd_buf_.size(); }
  size_t unsent() const;
  // Linux's sk_stream_is_writeable: free space at least half of what is queued.
  bool writable() const;
  // The receive buffer's capacity (the window it can offer).
  size_t recv_capacity() const;
  uint16_t mss() const { return mss_; }
  uint32_t cwnd() const { return cc_->cwnd(); }
  uint32_t snd_wnd() const { return snd_wnd_; }
  SeqNum snd_una() const { return snd_una_; }
  SeqNum snd_nxt() const { return snd_nxt_; }
  SeqNum rcv_nxt() const { return rcv_nxt_; }
  const TcpRttEstimator& rtt() const { return rtt_; }
  std::string_view congestion_name() const { return cc_->name(); }
  // TCP_INFO (tcp_info.cc): Linux's whole struct, filled as tcp_get_info does.
  void FillInfo(TcpInfo* info, Instant now) const;
  // TIME-WAIT as a compact record (tcp_time_wait.h) takes these from the connection.
  uint32_t ts_recent() const { return ts_recent_; }
  Instant ts_recent_time() const { return ts_recent_time_; }
  bool timestamps_ok() const { return ts_ok_; }
  uint32_t ts_offset() const { return ts_offset_; }
  uint8_t rcv_wscale() const { return rcv_wscale_; }
  uint32_t rcv_wnd() const {
    return rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  }
  Instant timewait_deadline() const { return timewait_deadline_; }

  // --- Options that change after creation ---
  TcpConnectionOptions& options() { return opts_; }
  void set_nodelay(bool on, Instant now);
  void set_cork(bool on, Instant now);
  void set_keepalive(bool on, Instant now);
  void SetKeepaliveTimes(Instant now);  // after TCP_KEEPIDLE etc. changed
  bool SetCongestion(std::string_view name);
  void SetRecvBuffer(size_t bytes, Instant now);
  void SetSendBuffer(size_t bytes);

  // --- The owning engine's bookkeeping (tcp_engine.cc; nothing else touches it) ---
  // Its place in the engine's deadline heap (NextDeadline() as the engine last saw it), and
  // whether the engine's tables hold it (a socket may keep a connection the engine dropped).
  DeadlineSlot& deadline_slot() { return deadline_slot_; }
  bool in_engine() const { return in_engine_; }
  void set_in_engine(bool on) { in_engine_ = on; }

 private:
  enum class Recovery : uint8_t { kOpen, kFast, kLoss };

  // tcp_recovery.cc
  void RackOnAck(const TcpSegment& seg, Instant now);
  // RFC 8985 §6.2 step 5: raises lost_until_ to what RACK finds lost; true when it moved.
  bool RackDetect(Instant now);
  void OnRackTimeout(Instant now);
  enum class RtxResult : uint8_t { kNone, kSent, kBlocked };
  RtxResult SendRescue(Instant now);  // RFC 6675 NextSeg rules 3 and 4

  // tcp_connection.cc
  TcpInputResult InputSynSent(const TcpSegment& seg, Instant now);
  bool Acceptable(const TcpSegment& seg) const;
  TcpInputResult OnReset(Instant now);
  // Every send-side sequence variable at the initial send sequence number (RFC 9293
  // §3.3.2): nothing sent or acknowledged yet, data to start after the SYN.
  void InitSendSequence(SeqNum iss);
  void NegotiateOptions(const TcpOptions& peer, bool we_offered_all);
  void EnterEstablished(Instant now);
  void EnterTimeWait(Instant now);
  void ReleaseBuffersAfterFin();
  void EnterClosed(int error);
  bool FinAcked() const { return fin_sent_ && snd_una_ == data_end() + 1; }
  void ProcessAck(const TcpSegment& seg, Instant now);
  void EnterFastRecovery(uint32_t flight, Instant now);
  void SaveForUndo();
  bool DetectSpuriousRecovery(const TcpSegment& seg);
  // RFC 2883 §5 / RFC 3708: a D-SACK block arrived.
  void OnDsack(const TcpSackBlock& block, Instant now);
  // The congestion response of the last episode was not needed: restore it (RFC 4015 §3.2)
  // and take the reordering seen as normal for the path.
  void UndoRecovery(bool raise_dupthresh);
  void DetectLostRetransmissions(Instant now);
  void ClearRecoveryLogs();
  int DupThresh() const;
  void ArmTlp(Instant now);
  void OnTlpTimeout(Instant now);
  void NoteRetransmission(SeqNum end, Instant now);
  void SendChallengeAck(Instant now);
  // The ACK answering an invalid segment, rate-limited (tcp_oow_rate_limited).
  void SendInvalidAck(const TcpSegment& seg, Instant now);
  // Whether an ACK to an invalid segment or a challenge ACK must wait (and if not, notes
  // that one goes now).
  bool OowLimited(Instant now);
  void UpdateTsRecent(const TcpSegment& seg, Instant now);
  void Notify();

  // tcp_urgent.cc
  static constexpr uint16_t kUrgValid = 0x100, kUrgNotYet = 0x200, kUrgRead = 0x400;
  // The sequence number of the next byte the application reads (Linux's copied_seq).
  SeqNum CopiedSeq() const {
    return rcv_nxt_ - static_cast<uint32_t>(rcv_buf_.size()) - (fin_received_ ? 1u : 0u);
  }
  // RFC 9293 §3.10.7.4 sixth step (Linux's tcp_urg / tcp_check_urg).
  void ProcessUrg(const TcpSegment& seg);
  // SEG.URG and the urgent pointer of a segment starting at `seq` (Linux's
  // __tcp_transmit_skb): set while SND.UP is ahead of it.
  void FillUrgent(TcpHeader* h, SeqNum seq);
  bool urgent_mode() const { return snd_urg_ && snd_una_ < snd_up_; }
  // Orphan FIN-WAIT-2 lifetime (Linux's tcp_fin_time).
  Duration FinTime() const;
  // TCP_DEFER_ACCEPT: the bare ACK that completes a handshake is dropped (tcp_check_req).
  bool DeferBareAck(const TcpSegment& seg);

  // tcp_receive.cc
  void ReceiveText(const TcpSegment& seg, Instant now);
  void ProcessFin(Instant now);
  void CommitInOrder(SeqNum new_nxt);
  uint32_t WindowToAdvertise() const;
  void AfterAppRead(size_t copied, Instant now);
  void EnsureBuffers();
  void ScheduleAck(uint32_t bytes, Instant now);

  // tcp_send.cc
  void Output(Instant now);
  bool SendOne(Instant now, bool* window_blocked);
  RtxResult SendRetransmission(Instant now);
  void TransmitNew(uint32_t len, bool with_fin, Instant now);
  void SendSynSegment(Instant now);
  void SendAck(Instant now);
  void SendProbe(Instant now);  // <SEQ=SND.UNA-1>: zero-window probe and keep-alive
  void SendRst(SeqNum seq, Instant now, bool with_ack = false);
  // `ect`: the datagram carries ECT(0) (RFC 3168 §6.1.2: new data of an ECN connection).
  bool SendSegment(SeqNum seq, TcpFlags flags, size_t data_offset, size_t len, Instant now,
                   bool ect = false);
  // RFC 3168 §6.1.2: an ECE from the peer.
  // `flight` is the data in flight before the ACK that carried it.
  void OnEce(uint32_t flight, Instant now);
  // Any reduction of cwnd: the next new data says so with CWR, and ECEs for the same
  // window are not answered again.
  void NoteCwndReduced();
  void FillOptions(TcpOptions* o, bool syn, Instant now) const;
  uint32_t Pipe() const;
  SeqNum LostPoint() const;
  uint32_t MaxPayload() const;  // the one segmentation limit (see tcp_send.cc)
  uint32_t TsoPayload() const;  // MaxPayload() times what the device segments (ditto)
  uint32_t mss_cache() const;   // MSS less the options every segment carries
  SeqNum data_end() const { return snd_buf_seq_ + static_cast<uint32_t>(snd_buf_.size()); }
  uint32_t TsNow(Instant now) const;
  void ArmRetransmitTimer(Instant now, bool restart);
  uint64_t PacingRate() const;  // bytes per second, 0 = unpaced
  // Linux's tcp_slow_start_after_idle_check, when the application queues data.
  void MaybeRestartAfterIdle(Instant now);
  void UpdateMss();
  // The MSS follows the path MTU of the shared cache, down after an ICMP error (of this
  // connection or another to the same destination) and up again once it aged out
  // (Linux's tcp_current_mss and tcp_sync_mss). True when the MSS went down.
  bool SyncPathMtu();
  uint64_t pmtu_generation_ = 0;
  void MaybeGrowSendBuffer();

  // tcp_timers.cc
  void OnRetransmitTimeout(Instant now);
  void OnPersistTimeout(Instant now);
  void OnKeepaliveTimeout(Instant now);
  // TCP_USER_TIMEOUT (if set) has passed since `start`.
  bool UserTimedOut(Instant start, Instant now) const;
  Instant ClampToUserTimeout(Instant deadline, Instant start, Instant now) const;
  // A segment passed validation (RFC 9293 §3.10.7.4 checks one to five): the peer is
  // alive. Only then are keep-alive and probe counts reset (Linux's rcv_tstamp and
  // icsk_probes_out, both set in tcp_ack).
  void NoteAlive(Instant now);
  Instant KeepaliveDeadline() const;
  // The error of a connection given up on a timeout: the soft error if an ICMP error came
  // meanwhile, else ETIMEDOUT (Linux's tcp_write_err).
  int TimeoutError() const { return soft_error_ != 0 ? soft_error_ : ETIMEDOUT; }
  // tcp_info.cc: statistics that TCP_INFO reports.
  enum class Chrono : uint8_t { kIdle, kBusy, kRwndLimited, kSndbufLimited };
  void SetChrono(Chrono c, Instant now);
  void NoteDataIn(const TcpSegment& seg, Instant now);  // data_segs_in, rcv_rtt
  void NoteDelivered(uint32_t bytes, bool ce, Instant now);  // delivered, delivery rate
  Duration KeepIdle() const;
  Duration KeepIntvl() const;
  int KeepCnt() const;

  DeadlineSlot deadline_slot_;
  bool in_engine_ = false;
  TcpConnectionEnv* env_;
  const TcpConfig& config_;
  TcpFourTuple tuple_;
  TcpConnectionOptions opts_;
  TcpState state_ = TcpState::kClosed;
  TcpObserver* observer_ = nullptr;
  TcpListener* listener_ = nullptr;  // set while a passive connection awaits accept()
  bool passive_ = false;
  bool orphaned_ = false;
  bool done_ = false;
  bool was_established_ = false;
  int error_ = 0;
  int soft_error_ = 0;  // Linux's sk_err_soft

  // Send sequence space (RFC 9293 §3.3.1). snd_nxt_ is the highest sequence sent
  // (Linux's snd_nxt never moves back); retransmissions are chosen by the scoreboard.
  SeqNum iss_;
  SeqNum snd_una_;
  SeqNum snd_nxt_;
  SeqNum snd_wl1_;
  SeqNum snd_wl2_;
  uint32_t snd_wnd_ = 0;
  uint32_t max_snd_wnd_ = 0;
  TcpRingBuffer snd_buf_;
  SeqNum snd_buf_seq_;  // sequence number of snd_buf_[0]
  bool fin_queued_ = false;
  bool fin_sent_ = false;
  SeqNum snd_sml_;  // end of the last small segment sent (Minshall's Nagle)
  bool more_ = false;  // MSG_MORE on the last send: hold a partial segment back
  size_t snd_capacity_ = 0;
  bool snd_locked_ = false;

  // Loss recovery (RFC 6675 / RFC 6582).
  Recovery recovery_ = Recovery::kOpen;
  SeqNum recovery_point_;
  SeqNum high_rxt_;    // end of the highest retransmitted range (RFC 6675 HighRxt + 1)
  SeqNum lost_until_;  // bytes below are lost regardless of SACK (RTO, first retransmit)
  SeqNum reno_recover_;  // RFC 6582 "recover"
  // The end of the highest range ever retransmitted (never moves back): an ACK from at or
  // above it acknowledges only data sent once (Karn's condition for an RTT sample).
  SeqNum rtx_max_;
  int dupacks_ = 0;
  bool force_rtx_ = false;  // the first retransmission of an episode ignores cwnd
  int reordering_ = 3;      // DupThresh, raised when reordering is seen (Linux's reordering)
  // RFC 3522 (Eifel detection) and RFC 4015 (response): what to restore when the ACK of
  // a retransmission turns out to be the ACK of the original.
  bool undo_valid_ = false;
  uint32_t retrans_stamp_ = 0;  // TSval of the first retransmission not yet acknowledged
  SeqNum retrans_high_;         // end of the highest retransmission since
  // RFC 3708: retransmitted segments of the episode not yet reported by a D-SACK
  // (Linux's undo_retrans); when it reaches zero every retransmission was needless.
  bool dsack_undo_ = false;
  int undo_retrans_ = 0;
  uint32_t prior_cwnd_ = 0;
  uint32_t prior_ssthresh_ = 0;
  SeqNum recovery_start_una_;
  // Retransmissions of this recovery episode with the SND.NXT of their sending: when data
  // sent after one is SACKed while it is not, the retransmission was lost too (Linux's
  // tcp_mark_lost_retrans) and goes again without waiting for the RTO.
  struct RtxRecord {
    SeqNum start;
    SeqNum end;
    SeqNum marker;
    Instant sent;
  };
  std::vector<RtxRecord> rtx_log_;
  std::vector<RtxRecord> rtx_again_;
  uint32_t rtx_again_bytes_ = 0;
  // When the earliest retransmission already overtaken by delivered data will be overdue
  // (DetectLostRetransmissions finds it; RackDetect arms the RACK timer for it).
  Instant rtx_recheck_ = Instant::Infinite();
  TcpSackScoreboard scoreboard_;
  TcpRack rack_;  // RFC 8985 transmit times and RACK state
  TcpPrr prr_;    // RFC 6937 state of the current fast recovery
  TcpPacer pacer_;
  Instant pacing_deadline_ = Instant::Infinite();  // when paced data may go next
  Instant rack_deadline_ = Instant::Infinite();  // §6.3 reordering timer
  // RFC 6675 RescueRxt: one rescue retransmission per recovery (NextSeg rule 4).
  bool rescue_valid_ = false;
  SeqNum rescue_rxt_;
  std::unique_ptr<TcpCongestionControl> cc_;
  uint32_t max_pipe_ = 0;  // largest pipe since the last ACK (RFC 7661 cwnd-limited test)

  // Receive sequence space.
  SeqNum irs_;
  SeqNum rcv_nxt_;
  SeqNum rcv_adv_;  // right edge of the window last advertised (never moved back)
  TcpRingBuffer rcv_buf_;
  TcpReassembly ooo_;
  std::optional<SeqNum> ooo_fin_;
  // RFC 2883 D-SACK: data that arrived twice, reported as the first SACK block of the next
  // ACK (then forgotten), so that the sender can tell a needless retransmission and, as
  // Linux does, widen its reordering window instead of retransmitting again.
  std::optional<TcpSackBlock> dsack_;
  void NoteDuplicate(SeqNum left, SeqNum right);
  bool fin_received_ = false;
  bool shut_rd_ = false;
  size_t rcv_capacity_ = 0;
  bool rcv_locked_ = false;
  uint32_t rcv_mss_ = 536;  // largest segment seen (Linux's rcv_mss)
  size_t copied_in_rtt_ = 0;  // receive auto-tuning (Linux's DRS)
  Instant rcv_rtt_start_;

  // Options.
  uint16_t mss_ = 536;        // effective send MSS (RFC 9293 §3.7.1 Eff.snd.MSS basis)
  uint16_t peer_mss_ = 536;
  uint16_t adv_mss_ = 536;    // what we announced
  uint8_t snd_wscale_ = 0;
  uint8_t rcv_wscale_ = 0;
  bool ws_ok_ = false;
  bool sack_ok_ = false;
  bool ts_ok_ = false;
  uint32_t ts_offset_;
  // RFC 3168 ECN.
  bool ecn_ok_ = false;       // negotiated on the SYNs (§6.1.1)
  bool ece_pending_ = false;  // receiver: CE seen; ECE on every ACK until a CWR (§6.1.3)
  bool cwr_pending_ = false;  // sender: CWR on the next new data segment (§6.1.2)
  bool cwr_valid_ = false;    // sender: a reduction was made for the window below cwr_high_
  SeqNum cwr_high_;
  uint32_t ts_recent_ = 0;
  Instant ts_recent_time_;
  // When the last ACK to an invalid segment or challenge ACK went (Linux's last_oow_ack_time).
  std::optional<Instant> last_oow_ack_;
  SeqNum last_ack_sent_;

  // Urgent data (tcp_urgent.cc). Sender: SND.UP (RFC 9293 §3.3.1), past the last urgent
  // byte as Linux sets it. Receiver: Linux's urg_data (state | the byte) and urg_seq.
  bool snd_urg_ = false;
  SeqNum snd_up_;
  uint16_t urg_data_ = 0;
  SeqNum urg_seq_;
  // TCP_DEFER_ACCEPT: the handshake's bare ACK came and was dropped (inet_rsk->acked).
  bool defer_acked_ = false;

  // ACK scheduling.
  bool pingpong_ = false;  // TCP_QUICKACK 0 (Linux's pingpong mode): no quick ACKs
  bool ack_now_ = false;
  int quickack_ = 0;
  uint32_t unacked_bytes_ = 0;

  // Timers (stored deadlines; Infinite when not armed).
  Instant rtx_deadline_ = Instant::Infinite();
  Instant persist_deadline_ = Instant::Infinite();
  Instant delack_deadline_ = Instant::Infinite();
  Instant timewait_deadline_ = Instant::Infinite();  // TIME-WAIT and orphaned FIN-WAIT-2
  Instant cork_deadline_ = Instant::Infinite();
  // RFC 8985 §7 tail loss probe.
  Instant tlp_deadline_ = Instant::Infinite();
  bool tlp_in_flight_ = false;
  bool tlp_was_rtx_ = false;
  SeqNum tlp_end_;
  SeqNum last_seg_start_;  // where the last new-data segment began (the TLP repeats it)
  uint32_t tlp_tsval_ = 0;
  int retransmits_ = 0;    // consecutive RTO expiries
  int persist_backoff_ = 0;  // the persist interval's doubling (Linux's icsk_backoff)
  int probes_out_ = 0;       // zero-window probes not answered (Linux's icsk_probes_out)
  // The first probe of this zero window (Linux's icsk_probes_tstamp), the TCP_USER_TIMEOUT
  // start while probing.
  Instant probes_start_ = Instant::Infinite();
  int keepalive_probes_ = 0;
  Instant last_keepalive_;
  Instant last_rx_;
  Instant last_data_sent_;
  Instant last_data_recv_;
  // TCP_USER_TIMEOUT start while retransmitting: the oldest unacknowledged transmission
  // (Linux's retrans_stamp), taken at the first timeout from when the timer was armed.
  Instant rtx_start_ = Instant::Infinite();
  Instant rtx_armed_;

  // RTT: one timed segment at a time (Karn's rule, RFC 6298 §3).
  TcpRttEstimator rtt_;
  Duration latest_rtt_{0};  // the most recent sample (RFC 8985's RACK.rtt)
  bool rtt_timing_ = false;
  SeqNum rtt_seq_;
  Instant rtt_start_;

  // TCP_INFO statistics.
  uint32_t total_retrans_ = 0;
  uint32_t lost_out_ = 0;
  uint64_t bytes_acked_ = 0;
  uint64_t bytes_received_ = 0;
  uint32_t segs_out_ = 0;
  uint32_t segs_in_ = 0;
  uint32_t data_segs_out_ = 0;
  uint32_t data_segs_in_ = 0;
  uint64_t bytes_sent_ = 0;     // data octets sent, retransmissions included (RFC 4898)
  uint64_t bytes_retrans_ = 0;
  uint32_t dsack_dups_ = 0;
  uint32_t reord_seen_ = 0;
  uint32_t rcv_ooopack_ = 0;
  uint64_t delivered_bytes_ = 0;  // acknowledged or SACKed for the first time
  uint32_t delivered_ce_ = 0;     // segments delivered with an ECE (Linux's delivered_ce)
  // The delivery rate over the last round trip (Linux's rate sample, simplified: bytes
  // delivered over at least one SRTT).
  Instant rate_start_;
  uint64_t rate_start_bytes_ = 0;
  uint64_t delivery_rate_ = 0;  // bytes per second
  Duration rcv_rtt_{0};         // receiver's RTT estimate (Linux's rcv_rtt_est)
  // Linux's chrono: time busy sending, limited by the peer's window or by the send buffer.
  Chrono chrono_ = Chrono::kIdle;
  Instant chrono_start_;
  std::array<Duration, 4> chrono_time_{};
  uint16_t total_rto_ = 0;
  uint16_t total_rto_recoveries_ = 0;
  Duration total_rto_time_{0};
  Instant rto_recovery_start_ = Instant::Infinite();
};

}  // namespace pytcp
