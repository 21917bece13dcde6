// The TCP engine: demultiplexing to connections and listeners, the port table (bind,
// ephemeral ports), RSTs for segments nobody wants, SYN cookies, ICMP errors, and the
// earliest deadline of all connections.
//
// RFCs to read: RFC 9293 §3.10.7.1 (segments for a CLOSED port: the RST to send),
// §3.10.7.2 (LISTEN), RFC 1122 §4.2.3.10 (no TCP to broadcast or multicast addresses),
// RFC 6056 (ephemeral port selection), RFC 6528 (ISNs), RFC 4987 (SYN cookies),
// RFC 5927 and RFC 1191 (ICMP errors and path MTU), RFC 5961 §7 (challenge ACK limit).
//
// Connections are owned jointly: the engine holds every connection that is in its tables
// (shared_ptr), the socket holds the one it uses; an orphaned connection (socket closed)
// lives on in the engine until its close handshake ends. TIME-WAIT of a closed socket is
// a compact record (tcp_time_wait.h), not a connection; both are bounded as on Linux
// (tcp_max_tw_buckets, tcp_max_orphans).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "stack/base/counters.h"
#include "stack/base/packet_buffer.h"
#include "stack/base/random.h"
#include "stack/base/result.h"
#include "stack/ip4/ip4_engine.h"
#include "stack/ip6/ip6_engine.h"
#include "stack/net/ip_address.h"
#include "stack/tcp/tcp_config.h"
#include "stack/tcp/tcp_connection.h"
#include "stack/tcp/tcp_challenge_limit.h"
#include "stack/tcp/tcp_isn.h"
#include "stack/tcp/tcp_listener.h"
#include "stack/tcp/tcp_time_wait.h"
#include "stack/tcp/tcp_types.h"

namespace pytcp {

// One user of a local port: a bound socket, a listener or a connection. The bind rules
// of Linux (inet_csk_bind_conflict) decide which users may share a port.
struct TcpPortUser {
  SocketAddress local;  // ip unspecified: wildcard
  bool reuse_addr = false;
  bool reuse_port = false;
  bool listening = false;
  bool is_connection = false;  // a connection (connect() or accept()), not bind()
  bool registered = false;
  bool ipv6 = false;    // an AF_INET6 socket: IPv6, and IPv4 as v4-mapped unless v6only
  bool v6only = false;  // IPV6_V6ONLY
};

class TcpEngine final : public Ip4Transport, public Ip6Transport, public TcpConnectionEnv {
 public:
  TcpEngine(Ip4Engine* ip4, Random* random, TcpConfig config = {});
  ~TcpEngine() override;
  TcpEngine(const TcpEngine&) = delete;
  TcpEngine& operator=(const TcpEngine&) = delete;

  const TcpConfig& config() const override { return config_; }
  TcpConfig& mutable_config() { return config_; }

  // bind(): reserves `local` for `user` (port 0: an ephemeral port). Errors as errno:
  // EADDRINUSE, EADDRNOTAVAIL (not one of our addresses), EINVAL (already bound).
  Result<void, int> Bind(TcpPortUser* user, SocketAddress local);
  void Unbind(TcpPortUser* user);

  // listen(): `user` is bound to an ephemeral port first if it is not bound yet.
  Result<std::shared_ptr<TcpListener>, int> Listen(TcpPortUser* user, int backlog,
                                                   const TcpConnectionOptions& options);
  // close() of a listening socket: pending and embryonic connections are reset.
  void CloseListener(const std::shared_ptr<TcpListener>& listener, TcpPortUser* user,
                     Instant now);

  // connect(): picks the source address (route) and port (ephemeral unless `user` is
  // bound), sends the SYN. The connection takes over `user`'s port. Errors as errno:
  // ENETUNREACH, EADDRNOTAVAIL (no free port / four-tuple in use), ECONNREFUSED (port 0).
  Result<std::shared_ptr<TcpConnection>, int> Connect(TcpPortUser* user,
                                                      const SocketAddress& remote,
                                                      const TcpConnectionOptions& options,
                                                      Instant now);
  // The socket closed its connection (graceful or abortive, see TcpConnection::Close).
  void CloseConnection(const std::shared_ptr<TcpConnection>& conn, bool abort, Instant now);

  void Receive(const Ip4PacketInfo& info, ByteSpan payload, Instant now) override;
  void ReceiveError(const Ip4ErrorInfo& error, Instant now) override;
  // IPv6 (RFC 8200 §8.1 pseudo-header; RFC 8201 Packet Too Big lowers the MSS).
  void set_ip6(Ip6Engine* ip6);
  void Receive(const Ip6PacketInfo& info, ByteSpan payload, Instant now) override;
  void ReceiveError(const Ip6ErrorInfo& error, Instant now) override;

  // Runs the timers that are due; the earliest deadline of all connections (O(1): a
  // deadline heap, stack/base/deadline_heap.h, instead of a scan of every connection).
  void Poll(Instant now);
  Instant NextDeadline() const;
  // Re-files `conn`'s deadline after a call into it from outside the engine (the socket's
  // send/recv/close/shutdown/setsockopt) that may have moved a timer. Every path that
  // calls into a connection ends with this; the engine does it for its own calls. A
  // deadline that moved later without it only costs an early, empty wake-up; one that
  // moved earlier would fire late (TcpConfig::verify_timers checks this in tests).
  void UpdateTimer(TcpConnection* conn);
  size_t timer_count() const { return timers_.size(); }

  const Counters<TcpCounter>& counters() const { return counters_; }
  // Connections in the tables, TIME-WAIT records included.
  size_t connection_count() const { return connections_.size() + time_wait_.size(); }
  size_t time_wait_count() const { return time_wait_.size(); }
  // Connections whose socket is closed and whose close handshake still runs (Linux's
  // tcp_orphan_count).
  size_t orphan_count() const { return orphans_; }
  template <typename Fn>  // fn(const TcpTimeWaitRecord&)
  void ForEachTimeWait(Fn&& fn) const {
    time_wait_.ForEach(fn);
  }
  template <typename Fn>  // fn(const TcpConnection&)
  void ForEachConnection(Fn&& fn) const {
    for (const auto& [key, entry] : connections_) fn(*entry->conn);
  }
  template <typename Fn>  // fn(const TcpListener&)
  void ForEachListener(Fn&& fn) const {
    for (const auto& [port, list] : listeners_) {
      for (const auto& l : list) fn(*l);
    }
  }
  const TcpSecrets& secrets() const { return secrets_; }
  // Keys from the host's key for this boot instead of this process's random (before the
  // first connection: a key change would break the ISN and timestamp continuity it buys).
  void UseHostKey(const HostKey& key) { secrets_ = TcpSecrets(key); }

  // TcpConnectionEnv
  Counters<TcpCounter>& counters() override { return counters_; }
  bool Transmit(const TcpFourTuple& tuple, const TcpHeader& header, ByteSpan a, ByteSpan b,
                uint8_t ttl, uint8_t tos, Instant now) override;
  bool AllowChallengeAck(Instant now) override;
  uint32_t PathMtu(const IpAddress& remote) const override;
  uint32_t TsoMaxSize(const IpAddress& remote) const override;
  uint64_t PathMtuGeneration() const override;

 private:
  struct Entry {
    std::shared_ptr<TcpConnection> conn;
    TcpPortUser user;
    bool orphan = false;  // counted in orphans_
  };

  void Register(TcpPortUser* user);
  void Deregister(TcpPortUser* user);
  bool Conflicts(const TcpPortUser& a, const TcpPortUser& b) const;
  Result<uint16_t, int> PickBindPort(TcpPortUser* user);
  Result<uint16_t, int> PickConnectPort(const IpAddress& local, const SocketAddress& remote);
  // A connection joins the port table as a user of its local port, with its socket's
  // family (accepted ones: the listener's, see listener_family_).
  TcpConnection* Insert(std::shared_ptr<TcpConnection> conn, bool reuse_addr, bool ipv6,
                        bool v6only);
  TcpConnection* InsertAccepted(const TcpListener* listener, std::shared_ptr<TcpConnection> conn);
  void Remove(TcpConnection* conn);
  // A connection in TIME-WAIT whose socket is closed becomes a compact record (or, with
  // tcp_max_tw_buckets records already, just ends, as Linux's tcp_time_wait).
  void EnterTimeWaitRecord(TcpConnection* conn);
  // A segment for a TIME-WAIT record (Linux's tcp_timewait_state_process and its caller).
  void TimeWaitInput(TcpTimeWaitRecord* tw, const TcpSegment& seg, Instant now);
  void SendTimeWaitAck(const TcpTimeWaitRecord& tw, Instant now);
  // The bind rules against the ports that TIME-WAIT records hold: whether `user` overlaps
  // one (`conflict`: and conflicts with it, inet_csk_bind_conflict).
  bool TimeWaitBlocks(const TcpPortUser& user, uint16_t port, bool conflict) const;

  // A received segment of either IP version: count, drop it if it was not sent to a unicast
  // address (`to_unicast`), parse (checksum over `pseudo`, unless the link vouched for
  // it), demux.
  void ParseAndDemux(ByteSpan payload, uint32_t pseudo, bool checksum_valid,
                     const IpAddress& src, const IpAddress& dst, uint8_t ecn, bool to_unicast,
                     Instant now);
  void Demux(const TcpSegment& seg, Instant now);
  // The listener for a SYN from `from`:`from_port` to `ip`:`port` (an SO_REUSEPORT group's
  // member chosen by the source, as reuseport_select_sock).
  TcpListener* FindListener(const IpAddress& ip, uint16_t port, const IpAddress& from,
                            uint16_t from_port) const;
  // `isn`: the ISN a SYN that reopened a TIME-WAIT record must start above (tcp_tw_isn).
  void HandleListen(TcpListener* listener, const TcpSegment& seg, Instant now,
                    std::optional<SeqNum> isn = std::nullopt);
  bool TryCookie(TcpListener* listener, const TcpSegment& seg, Instant now);
  void SendCookieSynAck(TcpListener* listener, const TcpSegment& syn, const TcpFourTuple& t,
                        Instant now);
  void SendResetFor(const TcpSegment& seg, Instant now);
  bool Transmit6(const TcpFourTuple& tuple, const TcpHeader& header, ByteSpan a, ByteSpan b,
                 uint8_t ttl, uint8_t tos, Instant now);
  // tx_ = the segment: offloaded (a TSO super-frame) or copied and checksummed.
  void EmitSegment(const TcpHeader& header, ByteSpan a, ByteSpan b, uint32_t pseudo, bool tso);
  // Counts a send the IP engine refused; true when it took the segment.
  bool Sent(Result<void, IpSendError> sent);
  // The connection an ICMP error is about, if the error quotes a sequence number in flight
  // (RFC 5927 §4.1); nullptr otherwise.
  template <typename Addr>
  std::shared_ptr<TcpConnection> BelievedErrorTarget(const IpErrorInfo<Addr>& error);
  // A connection that reached CLOSED leaves the tables; any other's timer is re-filed.
  void RemoveIfClosed(TcpConnection* conn);

  Ip4Engine* ip4_;
  Ip6Engine* ip6_ = nullptr;
  // The family of each listener's socket (AF_INET6 / IPV6_V6ONLY), for FindListener.
  absl::flat_hash_map<const TcpListener*, std::pair<bool, bool>> listener_family_;
  Random* random_;
  TcpConfig config_;
  TcpSecrets secrets_;
  TcpSynCookies cookies_;
  TcpChallengeAckLimit challenge_;
  absl::flat_hash_map<TcpFourTuple, std::unique_ptr<Entry>> connections_;
  TcpTimeWaitTable time_wait_;
  size_t orphans_ = 0;
  // Every connection in connections_ with a finite NextDeadline(), earliest first.
  DeadlineHeap<TcpConnection> timers_;
  std::vector<std::shared_ptr<TcpConnection>> due_;  // Poll's scratch (no allocation per turn)
  absl::flat_hash_map<uint16_t, std::vector<TcpPortUser*>> ports_;
  absl::flat_hash_map<uint16_t, std::vector<std::shared_ptr<TcpListener>>> listeners_;
  // The segment being sent: its headers, and its payload either attached from the send ring
  // (a TSO super-frame, whose checksum the device completes) or copied in (a segment whose
  // checksum is computed here, which reads the bytes anyway).
  PacketBuffer tx_{65536 + 256};
  void EmitOffloaded(const TcpHeader& header, ByteSpan a, ByteSpan b, uint32_t pseudo);
  void EmitCopied(const TcpHeader& header, ByteSpan a, ByteSpan b, uint32_t pseudo);
  Counters<TcpCounter> counters_;
};

}  // namespace pytcp
