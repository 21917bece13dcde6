#include "stack/tcp/tcp_engine.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "stack/base/log.h"
#include "stack/net/bind_overlap.h"
#include "stack/wire/checksum.h"
#include "stack/net/ephemeral_ports.h"
#include "stack/tcp/tcp_pmtu.h"

namespace pytcp {
namespace {
LogChannel log_tcp_engine("tcp");


BindKey KeyOf(const TcpPortUser& u) { return BindKey{u.local.ip, u.ipv6, u.v6only}; }

// inet_rcv_saddr_equal(new, existing, match_wildcard=true): stack/net/bind_overlap.h.
bool Overlap(const TcpPortUser& user, const TcpPortUser& other) {
  return BindAddressesOverlap(KeyOf(user), KeyOf(other));
}
}  // namespace

TcpEngine::TcpEngine(Ip4Engine* ip4, Random* random, TcpConfig config)
    : ip4_(ip4),
      random_(random),
      config_(std::move(config)),
      secrets_(*random),
      cookies_(&secrets_),
      challenge_(random) {
  ip4_->RegisterTransport(IpProto::kTcp, this);
}

TcpEngine::~TcpEngine() {
  for (auto& [key, entry] : connections_) entry->conn->set_observer(nullptr);
}

// ---------------------------------------------------------------------------------
// Ports.

bool TcpEngine::Conflicts(const TcpPortUser& a, const TcpPortUser& b) const {
  // Linux's inet_csk_bind_conflict: a new user `a` conflicts with an existing `b` when
  // their addresses overlap, unless both set SO_REUSEPORT, or both set SO_REUSEADDR and
  // `b` is not listening (this is what lets a restarted server listen again while its
  // old connections sit in TIME-WAIT, and what stops two listeners on one port).
  if (!Overlap(a, b)) return false;
  if (a.reuse_port && b.reuse_port) return false;
  if (a.reuse_addr && b.reuse_addr && !b.listening) return false;
  return true;
}

void TcpEngine::Register(TcpPortUser* user) {
  ports_[user->local.port].push_back(user);
  user->registered = true;
}

void TcpEngine::Deregister(TcpPortUser* user) {
  if (!user->registered) return;
  RemovePortUser(ports_, user->local.port, user);
  user->registered = false;
}

Result<uint16_t, int> TcpEngine::PickBindPort(TcpPortUser* user) {
  // RFC 6056 §3.3.1: a random start, then a linear search of the range.
  const auto port = SearchEphemeralPort(
      static_cast<uint32_t>(random_->Below(kEphemeralPortCount)), [&](uint16_t p) {
        auto it = ports_.find(p);
        if (it == ports_.end()) return !TimeWaitBlocks(*user, p, /*conflict=*/false);
        for (const TcpPortUser* other : it->second) {
          if (Overlap(*user, *other)) return false;
        }
        return !TimeWaitBlocks(*user, p, /*conflict=*/false);
      });
  if (!port) return Err{EADDRINUSE};  // Linux: bind(port 0) with the range exhausted
  return *port;
}

Result<uint16_t, int> TcpEngine::PickConnectPort(const IpAddress& local,
                                                 const SocketAddress& remote) {
  // RFC 6056 §3.3.3-like: the starting point is a keyed hash of the destination plus a
  // random offset; a port is usable when only connections (not bind()) use it and the
  // four-tuple is unique (Linux's __inet_hash_connect).
  TcpFourTuple probe{local, remote.ip, 0, remote.port};
  const uint32_t offset =
      secrets_.PortOffset(probe) + static_cast<uint32_t>(random_->Below(kEphemeralPortCount));
  const auto port = SearchEphemeralPort(offset, [&](uint16_t p) {
    auto it = ports_.find(p);
    if (it != ports_.end()) {
      for (const TcpPortUser* other : it->second) {
        if (!other->is_connection) return false;
      }
    }
    probe.local_port = p;
    // A four-tuple in TIME-WAIT is not reused either (Linux's __inet_check_established
    // without tcp_tw_reuse).
    return !connections_.contains(probe) && !time_wait_.Contains(probe);
  });
  if (!port) return Err{EADDRNOTAVAIL};  // Linux: connect() with no free ephemeral port
  return *port;
}

Result<void, int> TcpEngine::Bind(TcpPortUser* user, SocketAddress local) {
  if (user->registered) return Err{EINVAL};
  // __inet6_bind: "Binding to v4-mapped address on a v6-only socket makes no sense".
  if (user->ipv6 && user->v6only && local.ip.is_v4()) return Err{EINVAL};
  if (!local.ip.is_unspecified()) {
    if (!local.ip.is_v4()) {
      if (ip6_ == nullptr || !user->ipv6 ||
          (!ip6_->addresses().IsOurs(local.ip.v6()) && !local.ip.v6().is_loopback())) {
        return Err{EADDRNOTAVAIL};
      }
    } else {
      const Ip4Address a = local.ip.v4();
      if (!ip4_->addresses().IsOurs(a) && !a.is_loopback()) return Err{EADDRNOTAVAIL};
    }
  }
  user->local.ip = local.ip;
  // __inet6_bind makes a socket bound to a specific IPv6 address IPV6_V6ONLY before it
  // checks the port, and restores the old value when the port is taken.
  const bool saved_v6only = user->v6only;
  user->v6only = EffectiveV6only(KeyOf(*user));
  if (local.port == 0) {
    auto port = PickBindPort(user);
    if (!port.ok()) {
      user->v6only = saved_v6only;
      return Err{port.error()};
    }
    local.port = *port;
  } else {
    user->local.port = local.port;
    if (auto it = ports_.find(local.port); it != ports_.end()) {
      for (const TcpPortUser* other : it->second) {
        if (Conflicts(*user, *other)) {
          user->v6only = saved_v6only;
          return Err{EADDRINUSE};
        }
      }
    }
    if (TimeWaitBlocks(*user, local.port, /*conflict=*/true)) {
      user->v6only = saved_v6only;
      return Err{EADDRINUSE};
    }
  }
  user->local = local;
  Register(user);
  return Ok();
}

void TcpEngine::Unbind(TcpPortUser* user) { Deregister(user); }

// ---------------------------------------------------------------------------------
// Connections and listeners.

TcpConnection* TcpEngine::Insert(std::shared_ptr<TcpConnection> conn, bool reuse_addr,
                                  bool ipv6, bool v6only) {
  auto entry = std::make_unique<Entry>();
  entry->conn = std::move(conn);
  entry->user.local = entry->conn->tuple().local();
  entry->user.reuse_addr = reuse_addr;
  // The socket's family: an IPv6 connection from an AF_INET6 socket carries
  // LOOPBACK4_IPV6 in bind comparisons (tcp_v6_connect, tcp_v6_syn_recv_sock).
  entry->user.ipv6 = ipv6 || !entry->user.local.ip.is_v4();
  entry->user.v6only = v6only;
  entry->user.is_connection = true;
  TcpConnection* raw = entry->conn.get();
  raw->set_in_engine(true);
  Register(&entry->user);
  connections_[raw->tuple()] = std::move(entry);
  return raw;
}

TcpConnection* TcpEngine::InsertAccepted(const TcpListener* listener,
                                          std::shared_ptr<TcpConnection> conn) {
  // A child socket has its listener's family and IPV6_V6ONLY (sk_clone_lock copies them).
  const auto f = listener_family_.find(listener);
  const auto [ipv6, v6only] = f != listener_family_.end() ? f->second : std::pair{false, false};
  return Insert(std::move(conn), listener->reuse_addr, ipv6, v6only);
}

void TcpEngine::Remove(TcpConnection* conn) {
  auto it = connections_.find(conn->tuple());
  if (it == connections_.end() || it->second->conn.get() != conn) return;
  if (it->second->orphan) --orphans_;
  timers_.Cancel(conn);
  conn->set_in_engine(false);
  Deregister(&it->second->user);
  connections_.erase(it);
}

Result<std::shared_ptr<TcpListener>, int> TcpEngine::Listen(TcpPortUser* user, int backlog,
                                                            const TcpConnectionOptions& options) {
  if (!user->registered) {
    auto r = Bind(user, SocketAddress{user->local.ip, 0, 0});
    if (!r.ok()) return Err{r.error()};
  }
  // Linux re-checks the port for a listener (inet_csk_listen_start → get_port).
  user->listening = true;
  if (auto it = ports_.find(user->local.port); it != ports_.end()) {
    for (const TcpPortUser* other : it->second) {
      if (other != user && Conflicts(*user, *other)) {
        user->listening = false;
        return Err{EADDRINUSE};
      }
    }
  }
  if (TimeWaitBlocks(*user, user->local.port, /*conflict=*/true)) {
    user->listening = false;
    return Err{EADDRINUSE};
  }
  // listen(2): the backlog is capped at somaxconn (a negative one means the cap).
  if (backlog < 0 || backlog > config_.max_backlog) backlog = config_.max_backlog;
  auto listener = std::make_shared<TcpListener>(user->local, backlog, options);
  listener->reuse_addr = user->reuse_addr;
  listeners_[user->local.port].push_back(listener);
  listener_family_[listener.get()] = {user->ipv6, user->v6only};
  return listener;
}

void TcpEngine::CloseListener(const std::shared_ptr<TcpListener>& listener, TcpPortUser* user,
                              Instant now) {
  listener_family_.erase(listener.get());
  auto it = listeners_.find(listener->local().port);
  if (it != listeners_.end()) {
    std::erase(it->second, listener);
    if (it->second.empty()) listeners_.erase(it);
  }
  listener->set_observer(nullptr);
  // Linux's inet_csk_listen_stop: connections never accepted are reset.
  for (auto& conn : listener->TakeQueue()) {
    conn->clear_listener();
    conn->Close(/*abort=*/true, now);
    Remove(conn.get());
  }
  std::vector<TcpConnection*> embryonic;
  for (auto& [key, entry] : connections_) {
    if (entry->conn->listener() == listener.get()) embryonic.push_back(entry->conn.get());
  }
  for (TcpConnection* c : embryonic) {
    c->Close(/*abort=*/true, now);
    c->clear_listener();
    Remove(c);
  }
  user->listening = false;
  Deregister(user);
}

Result<std::shared_ptr<TcpConnection>, int> TcpEngine::Connect(TcpPortUser* user,
                                                               const SocketAddress& remote,
                                                               const TcpConnectionOptions& options,
                                                               Instant now) {
  if (remote.port == 0) return Err{ECONNREFUSED};
  IpAddress dst = remote.ip;
  if (dst.is_unspecified()) {
    dst = user->ipv6 && user->v6only ? IpAddress(Ip6Address::Loopback())
                                     : IpAddress(Ip4Address(127, 0, 0, 1));  // as Linux does
  }
  IpAddress route_src;
  if (!dst.is_v4()) {
    // IPv6 (RFC 8200): only from an AF_INET6 socket.
    if (ip6_ == nullptr || !user->ipv6) return Err{ENETUNREACH};
    if (dst.is_multicast()) return Err{ENETUNREACH};
    const Ip6Address hint = user->local.ip.is_unspecified() || user->local.ip.is_v4()
                                ? Ip6Address()
                                : user->local.ip.v6();
    auto route = ip6_->Route(dst.v6(), hint);
    if (!route.ok()) return Err{ToErrno(route.error())};
    if (route->src.is_unspecified()) return Err{EADDRNOTAVAIL};
    route_src = IpAddress(route->src);
  } else {
    if (user->ipv6 && user->v6only) return Err{ENETUNREACH};
    if (dst.is_multicast() || dst.v4().is_limited_broadcast()) return Err{ENETUNREACH};
    const Ip4Address hint = user->local.ip.is_unspecified() ? Ip4Address() : user->local.ip.v4();
    auto route = ip4_->Route(dst.v4(), hint);
    if (!route.ok()) return Err{ToErrno(route.error())};
    if (route->broadcast || route->multicast) return Err{ENETUNREACH};
    route_src = IpAddress(route->src);
  }
  const IpAddress local_ip = user->local.ip.is_unspecified() ? route_src : user->local.ip;
  const SocketAddress to{dst, remote.port, 0};
  TcpFourTuple tuple{local_ip, dst, 0, remote.port};
  if (user->registered) {
    tuple.local_port = user->local.port;
    if (connections_.contains(tuple) || time_wait_.Contains(tuple)) return Err{EADDRNOTAVAIL};
  } else {
    auto port = PickConnectPort(local_ip, to);
    if (!port.ok()) return Err{port.error()};
    tuple.local_port = *port;
  }
  Deregister(user);
  user->local = tuple.local();
  auto conn = std::make_shared<TcpConnection>(this, tuple, options, secrets_.TsOffset(tuple));
  Insert(conn, user->reuse_addr, user->ipv6, user->v6only);
  conn->Open(secrets_.Isn(tuple, now), now);
  RemoveIfClosed(conn.get());
  return conn;
}

void TcpEngine::CloseConnection(const std::shared_ptr<TcpConnection>& conn, bool abort,
                                Instant now) {
  conn->Close(abort, now);
  if (conn->state() == TcpState::kClosed) {
    Remove(conn.get());
    return;
  }
  if (conn->state() == TcpState::kTimeWait) {
    EnterTimeWaitRecord(conn.get());
    return;
  }
  // The connection is an orphan now (its close handshake runs without a socket). Linux's
  // tcp_close: with more than tcp_max_orphans of them, tcp_check_oom resets it instead
  // (LINUX_MIB_TCPABORTONMEMORY), so that peers that never finish cannot pin memory.
  auto it = connections_.find(conn->tuple());
  if (it != connections_.end() && it->second->conn == conn && !it->second->orphan) {
    if (orphans_ >= config_.max_orphans) {
      counters_.Inc(TcpCounter::kAbortOnMemory);
      PYTCP_LOG(log_tcp_engine, kDebug, "too many orphaned connections ({}): reset", orphans_);
      conn->Abort(now);
      Remove(conn.get());
      return;
    }
    it->second->orphan = true;
    ++orphans_;
  }
  UpdateTimer(conn.get());
}

void TcpEngine::EnterTimeWaitRecord(TcpConnection* conn) {
  auto it = connections_.find(conn->tuple());
  if (it == connections_.end() || it->second->conn.get() != conn) return;
  if (time_wait_.size() >= config_.max_tw_buckets) {
    // Linux's tcp_time_wait without a bucket: "TCP: time wait bucket table overflow",
    // the connection simply ends (LINUX_MIB_TCPTIMEWAITOVERFLOW).
    counters_.Inc(TcpCounter::kTimeWaitOverflow);
    Remove(conn);
    return;
  }
  TcpTimeWaitRecord r;
  r.tuple = conn->tuple();
  r.snd_nxt = conn->snd_nxt();
  r.rcv_nxt = conn->rcv_nxt();
  if (conn->timestamps_ok()) {
    r.flags |= TcpTimeWaitRecord::kTimestamps;
    r.ts_recent = conn->ts_recent();
    r.ts_recent_sec = static_cast<uint32_t>(conn->ts_recent_time().nanos() / 1'000'000'000);
  }
  r.window = static_cast<uint16_t>(std::min<uint32_t>(conn->rcv_wnd() >> conn->rcv_wscale(), 65535));
  r.ttl = conn->options().ttl;
  r.tos = conn->options().tos;
  const TcpPortUser& u = it->second->user;
  if (u.reuse_addr) r.flags |= TcpTimeWaitRecord::kReuseAddr;
  if (u.ipv6) r.flags |= TcpTimeWaitRecord::kIpv6;
  if (u.v6only) r.flags |= TcpTimeWaitRecord::kV6only;
  // What is left of 2 MSL (the socket may have been closed some time into TIME-WAIT).
  const Instant expiry = conn->timewait_deadline();
  Remove(conn);
  time_wait_.Insert(r, expiry);
}

bool TcpEngine::TimeWaitBlocks(const TcpPortUser& user, uint16_t port, bool conflict) const {
  const TcpTimeWaitTable::PortUses* uses = time_wait_.PortUsers(port);
  if (uses == nullptr) return false;
  for (const TcpTimeWaitTable::PortUse& use : *uses) {
    TcpPortUser tw;
    tw.local = SocketAddress{use.key.local_ip, port, 0};
    tw.reuse_addr = (use.flags & TcpTimeWaitRecord::kReuseAddr) != 0;
    tw.ipv6 = (use.flags & TcpTimeWaitRecord::kIpv6) != 0;
    tw.v6only = (use.flags & TcpTimeWaitRecord::kV6only) != 0;
    tw.is_connection = true;
    tw.registered = true;
    if (conflict ? Conflicts(user, tw) : Overlap(user, tw)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------
// Receiving.

void TcpEngine::Receive(const Ip4PacketInfo& info, ByteSpan payload, Instant now) {
  const uint32_t pseudo = PseudoHeaderSum4(info.src, info.dst, static_cast<uint8_t>(IpProto::kTcp),
                                           static_cast<uint32_t>(payload.size()));
  ParseAndDemux(payload, pseudo, info.l4_checksum_valid, IpAddress(info.src), IpAddress(info.dst),
                static_cast<uint8_t>(info.tos & 3), !info.to_broadcast && !info.to_multicast, now);
}

void TcpEngine::ParseAndDemux(ByteSpan payload, uint32_t pseudo, bool checksum_valid,
                              const IpAddress& src, const IpAddress& dst, uint8_t ecn,
                              bool to_unicast, Instant now) {
  counters_.Inc(TcpCounter::kRxSegments);
  // RFC 1122 §4.2.3.10 and RFC 9293 §3.9.1: a segment to a broadcast or multicast address
  // is discarded.
  if (!to_unicast) {
    counters_.Inc(TcpCounter::kRxDropNotUnicast);
    return;
  }
  // The link may vouch for the checksum (a frame the local kernel left partial, or one it
  // verified; stack/link/virtio_net.cc): then the bytes are not summed a second time.
  auto parsed = TcpView::Parse(payload, pseudo,
                               checksum_valid ? ChecksumPolicy::kSkip : ChecksumPolicy::kVerify);
  if (!parsed.ok()) {
    counters_.IncUnparsed(parsed.error());
    PYTCP_LOG(log_tcp_engine, kDebug, "drop segment from {}: {}", src.ToString(),
              ToString(parsed.error()));
    return;
  }
  Demux(TcpSegment{*parsed, parsed->options().Decode(), src, dst, ecn}, now);
}

void TcpEngine::Demux(const TcpSegment& seg, Instant now) {
  const TcpFourTuple key{seg.dst, seg.src, seg.view.dst_port(), seg.view.src_port()};
  if (auto it = connections_.find(key); it != connections_.end()) {
    std::shared_ptr<TcpConnection> conn = it->second->conn;  // kept alive through Input
    const TcpInputResult r = conn->Input(seg, now);
    if (r == TcpInputResult::kOk && conn->state() != TcpState::kClosed) {
      if (conn->state() == TcpState::kTimeWait && conn->orphaned()) {
        EnterTimeWaitRecord(conn.get());
      } else {
        UpdateTimer(conn.get());
      }
      return;
    }
    Remove(conn.get());
    if (r != TcpInputResult::kReopen) return;
  } else if (TcpTimeWaitRecord* tw = time_wait_.Find(key)) {
    TimeWaitInput(tw, seg, now);
    return;
  }
  if (TcpListener* listener = FindListener(seg.dst, seg.view.dst_port(), seg.src, seg.view.src_port())) {
    HandleListen(listener, seg, now);
    return;
  }
  counters_.Inc(TcpCounter::kRxNoConnection);
  SendResetFor(seg, now);
}

void TcpEngine::TimeWaitInput(TcpTimeWaitRecord* tw, const TcpSegment& seg, Instant now) {
  const TcpTimeWaitAction a = TcpTimeWaitInput(*tw, seg, config_, now);
  if (a.reschedule) time_wait_.Reschedule(tw, now + config_.time_wait);
  switch (a.verdict) {
    case TcpTimeWaitAction::kNone:
      return;
    case TcpTimeWaitAction::kAck:
      SendTimeWaitAck(*tw, now);
      return;
    case TcpTimeWaitAction::kKill:
      counters_.Inc(TcpCounter::kTimeWaitKilled);
      time_wait_.Erase(tw);
      return;
    case TcpTimeWaitAction::kReopen:
      // tcp_v4_rcv's TCP_TW_SYN: a listener takes the SYN and TIME-WAIT ends; without one
      // the SYN is answered as any other segment.
      if (TcpListener* l = FindListener(seg.dst, seg.view.dst_port(), seg.src, seg.view.src_port())) {
        counters_.Inc(TcpCounter::kTimeWaitRecycled);
        time_wait_.Erase(tw);
        HandleListen(l, seg, now, a.isn);
        return;
      }
      SendTimeWaitAck(*tw, now);
      return;
  }
}

void TcpEngine::SendTimeWaitAck(const TcpTimeWaitRecord& tw, Instant now) {
  // Linux's tcp_v4_timewait_ack: <SEQ=SND.NXT><ACK=RCV.NXT>, the last window, and the
  // timestamps of the connection (TSval on its clock, TSecr = TS.Recent).
  TcpHeader h;
  h.src_port = tw.tuple.local_port;
  h.dst_port = tw.tuple.remote_port;
  h.seq = tw.snd_nxt;
  h.ack = tw.rcv_nxt;
  h.flags.ack = true;
  h.window = tw.window;
  if (tw.has(TcpTimeWaitRecord::kTimestamps)) {
    const uint32_t tsval =
        static_cast<uint32_t>(now.nanos() / 1'000'000) + secrets_.TsOffset(tw.tuple);
    h.options.timestamps = TcpTimestamps{tsval, tw.ts_recent};
  }
  counters_.Inc(TcpCounter::kTxSegments);
  Transmit(tw.tuple, h, {}, {}, tw.ttl, tw.tos, now);
}

TcpListener* TcpEngine::FindListener(const IpAddress& ip, uint16_t port,
                                     const IpAddress& from, uint16_t from_port) const {
  auto it = listeners_.find(port);
  if (it == listeners_.end()) return nullptr;
  // Linux's compute_score (inet_hashtables.c): a listener on the address itself ranks
  // above a wildcard one, and for IPv4 an AF_INET wildcard above an AF_INET6 one.
  // Listeners of one rank can only be an SO_REUSEPORT group (a bind of another would have
  // conflicted): reuseport_select_sock spreads new connections over the group by a hash
  // of the source, so each connection always finds the same member.
  absl::InlinedVector<TcpListener*, 4> best;
  int best_rank = 0;
  for (const auto& l : it->second) {
    // An AF_INET listener takes only IPv4; an AF_INET6 one IPv6, and IPv4 unless
    // IPV6_V6ONLY (ipv6(7)).
    bool ipv6 = false;
    if (auto f = listener_family_.find(l.get()); f != listener_family_.end()) {
      const bool v6only = f->second.second;
      ipv6 = f->second.first;
      if (ip.is_v4() ? (ipv6 && v6only) : !ipv6) continue;
    }
    const IpAddress& bound = l->local().ip;
    int rank;
    if (bound == ip) {
      rank = 3;
    } else if (!bound.is_unspecified() || (!ip.is_v4() && bound.is_v4())) {
      continue;  // `::` takes both versions, ::ffff:0.0.0.0 (a v4-mapped wildcard) IPv4 only
    } else {
      rank = ip.is_v4() && !ipv6 ? 2 : 1;
    }
    if (rank > best_rank) {
      best.clear();
      best_rank = rank;
    }
    if (rank == best_rank) best.push_back(l.get());
  }
  if (best.empty()) return nullptr;
  if (best.size() == 1) return best.front();
  const size_t h = absl::HashOf(TcpFourTuple{ip, from, port, from_port});
  return best[h % best.size()];
}

void TcpEngine::SendResetFor(const TcpSegment& seg, Instant now) {
  // RFC 9293 §3.10.7.1: never a RST for a RST. An ACK is answered <SEQ=SEG.ACK><RST>,
  // anything else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><RST,ACK>.
  const TcpFlags f = seg.flags();
  if (f.rst) return;
  const TcpFourTuple t{seg.dst, seg.src, seg.view.dst_port(), seg.view.src_port()};
  TcpHeader h;
  h.src_port = t.local_port;
  h.dst_port = t.remote_port;
  h.flags.rst = true;
  if (f.ack) {
    h.seq = seg.ack();
  } else {
    h.seq = SeqNum(0);
    h.ack = seg.seq() + seg.len();
    h.flags.ack = true;
  }
  counters_.Inc(TcpCounter::kTxSegments);
  counters_.Inc(TcpCounter::kTxRst);
  Transmit(t, h, {}, {}, 64, 0, now);
}

void TcpEngine::HandleListen(TcpListener* listener, const TcpSegment& seg, Instant now,
                             std::optional<SeqNum> isn) {
  const TcpFlags f = seg.flags();
  // RFC 9293 §3.10.7.2: a RST is ignored; an ACK draws <SEQ=SEG.ACK><RST> unless it
  // completes a SYN-cookie handshake.
  if (f.rst) return;
  if (f.ack) {
    if (!f.syn && config_.syncookies && TryCookie(listener, seg, now)) return;
    counters_.Inc(TcpCounter::kRxNoConnection);
    SendResetFor(seg, now);
    return;
  }
  if (!f.syn) return;
  // Linux (tcp_conn_request): a SYN is dropped while the accept queue is full.
  if (listener->AcceptQueueFull()) {
    counters_.Inc(TcpCounter::kListenOverflows);
    counters_.Inc(TcpCounter::kListenDrops);
    return;
  }
  const TcpFourTuple t{seg.dst, seg.src, seg.view.dst_port(), seg.view.src_port()};
  if (listener->SynQueueFull()) {
    // RFC 4987 §3.6: with the SYN queue full, answer statelessly with a cookie.
    if (config_.syncookies) {
      SendCookieSynAck(listener, seg, t, now);
    } else {
      counters_.Inc(TcpCounter::kListenDrops);
    }
    return;
  }
  auto conn = std::make_shared<TcpConnection>(this, t, listener->options(), secrets_.TsOffset(t));
  InsertAccepted(listener, conn);
  listener->AddEmbryonic();
  conn->AcceptSyn(seg, isn.value_or(secrets_.Isn(t, now)), listener, now);
  RemoveIfClosed(conn.get());
}

void TcpEngine::SendCookieSynAck(TcpListener* listener, const TcpSegment& syn,
                                 const TcpFourTuple& t, Instant now) {
  const uint32_t mtu = PathMtu(t.remote_ip);
  const uint32_t overhead = t.remote_ip.is_v4() ? 40 : 60;  // IP + TCP headers
  uint16_t our_mss = static_cast<uint16_t>(mtu > overhead ? mtu - overhead : 536);
  if (listener->options().user_mss != 0) our_mss = std::min(our_mss, listener->options().user_mss);
  const uint16_t peer_mss = syn.options.mss.value_or(config_.default_mss);
  const SeqNum cookie = cookies_.Make(t, syn.seq(), std::min(peer_mss, our_mss), now);
  listener->NoteOverflow(now);
  TcpHeader h;
  h.src_port = t.local_port;
  h.dst_port = t.remote_port;
  h.seq = cookie;
  h.ack = syn.seq() + 1;
  h.flags.syn = true;
  h.flags.ack = true;
  const size_t rcv = listener->options().rcvbuf > 0 ? listener->options().rcvbuf / 2
                                                    : config_.rcvbuf_initial / 2;
  h.window = static_cast<uint16_t>(std::min<size_t>(rcv, 65535));
  h.options.mss = our_mss;
  // Without timestamps there is nowhere to keep the peer's window scale and SACK choice,
  // so (as Linux) the cookie SYN-ACK offers neither.
  if (syn.options.timestamps && config_.timestamps) {
    TcpSynCookies::TsOptions o;
    if (syn.options.window_scale && config_.window_scaling) {
      o.wscale = std::min<uint8_t>(*syn.options.window_scale, 14);
      h.options.window_scale = TcpChooseRcvWscale(config_, listener->options());
    }
    o.sack = syn.options.sack_permitted && config_.sack;
    h.options.sack_permitted = o.sack;
    const uint32_t tsval =
        static_cast<uint32_t>(now.nanos() / 1'000'000) + secrets_.TsOffset(t);
    h.options.timestamps = TcpTimestamps{TcpSynCookies::EncodeTs(tsval, o),
                                         syn.options.timestamps->value};
  }
  counters_.Inc(TcpCounter::kSyncookiesSent);
  counters_.Inc(TcpCounter::kTxSegments);
  Transmit(t, h, {}, {}, listener->options().ttl, listener->options().tos, now);
}

bool TcpEngine::TryCookie(TcpListener* listener, const TcpSegment& seg, Instant now) {
  // No cookie was sent lately: this ACK is not the answer to one (and draws the RST of
  // RFC 9293 §3.10.7.2), whatever its number.
  if (!listener->RecentOverflow(now)) return false;
  const TcpFourTuple t{seg.dst, seg.src, seg.view.dst_port(), seg.view.src_port()};
  auto decoded = cookies_.Check(t, seg.seq() - 1, seg.ack() - 1, now);
  if (!decoded) {
    counters_.Inc(TcpCounter::kSyncookiesFailed);
    return false;
  }
  counters_.Inc(TcpCounter::kSyncookiesRecv);
  if (listener->AcceptQueueFull()) {
    counters_.Inc(TcpCounter::kListenOverflows);
    return true;  // dropped; the peer retransmits
  }
  TcpSynCookies::TsOptions o;
  if (seg.options.timestamps && config_.timestamps) {
    o = TcpSynCookies::DecodeTs(seg.options.timestamps->echo_reply);
  }
  auto conn = std::make_shared<TcpConnection>(this, t, listener->options(), secrets_.TsOffset(t));
  InsertAccepted(listener, conn);
  listener->AddEmbryonic();
  conn->AcceptCookie(seg, seg.ack() - 1, decoded->mss, o.wscale, o.sack, listener, now);
  const TcpInputResult r = conn->Input(seg, now);
  if (r != TcpInputResult::kOk || conn->state() == TcpState::kClosed) {
    Remove(conn.get());
  } else {
    UpdateTimer(conn.get());
  }
  return true;
}

template <typename Addr>
std::shared_ptr<TcpConnection> TcpEngine::BelievedErrorTarget(const IpErrorInfo<Addr>& error) {
  if (error.orig_l4.size() < 8) return nullptr;
  const TcpFourTuple key{IpAddress(error.orig_src), IpAddress(error.orig_dst),
                         LoadBe16(error.orig_l4, 0), LoadBe16(error.orig_l4, 2)};
  auto it = connections_.find(key);
  if (it == connections_.end()) return nullptr;
  std::shared_ptr<TcpConnection> conn = it->second->conn;
  // RFC 5927 §4.1: only an error quoting a sequence number in flight is believed.
  const SeqNum seq(LoadBe32(error.orig_l4, 4));
  if (seq < conn->snd_una() || seq > conn->snd_nxt()) return nullptr;
  return conn;
}

void TcpEngine::ReceiveError(const Ip4ErrorInfo& error, Instant now) {
  if (error.protocol != IpProto::kTcp) return;
  std::shared_ptr<TcpConnection> conn = BelievedErrorTarget(error);
  if (conn == nullptr) return;
  if (error.icmp_type == 3 && error.icmp_code == 4) {
    // RFC 1191 "fragmentation needed and DF set": the believed value (plateaus, min_pmtu:
    // tcp_pmtu.h) lowers the path MTU of the destination for every connection to it.
    const uint32_t mtu = TcpUsablePmtu4(error.mtu, ip4_->PathMtu(error.orig_dst));
    ip4_->UpdatePathMtu(error.orig_dst, mtu, now);
    conn->OnPathMtu(now);
  } else {
    conn->OnIcmpError(error.error, now);
  }
  RemoveIfClosed(conn.get());
}

// ---------------------------------------------------------------------------------
// Timers and output.

void TcpEngine::UpdateTimer(TcpConnection* conn) {
  if (conn->in_engine()) timers_.Schedule(conn, conn->NextDeadline());
}

void TcpEngine::Poll(Instant now) {
  // Take every connection that is due first, then run them: each runs at most once per
  // Poll (as the scan did) even if its timer re-arms at `now`, and a connection's timer
  // cannot disturb the heap while it is being walked.
  due_.clear();
  time_wait_.Expire(now);
  while (TcpConnection* c = timers_.PopDue(now)) due_.push_back(c->shared_from_this());
  for (auto& c : due_) {
    if (!c->in_engine()) continue;
    // The heap may have been early (a deadline moved later without UpdateTimer): OnTimer
    // runs only the timers that are due, so an early call changes nothing.
    if (c->OnTimer(now) == TcpInputResult::kClosed || c->state() == TcpState::kClosed) {
      Remove(c.get());
    } else {
      UpdateTimer(c.get());
    }
  }
  due_.clear();
}

Instant TcpEngine::NextDeadline() const {
  const Instant next = EarliestOf(timers_.NextDeadline(), time_wait_.NextDeadline());
  if (config_.verify_timers) {
    for (const auto& [key, entry] : connections_) {
      const Instant d = entry->conn->NextDeadline();
      if (d < next) {
        PYTCP_LOG(log_tcp_engine, kError,
                  "timer heap out of date: a connection is due {} ns before the heap's {}",
                  (next - d).count(), next.nanos());
        std::abort();
      }
    }
  }
  return next;
}

bool TcpEngine::AllowChallengeAck(Instant now) {
  return challenge_.Allow(config_.challenge_ack_limit, now);
}

uint32_t TcpEngine::PathMtu(const IpAddress& remote) const {
  if (!remote.is_v4()) return ip6_ != nullptr ? ip6_->PathMtu(remote.v6()) : ip4_->mtu();
  return ip4_->PathMtu(remote.v4());
}

uint64_t TcpEngine::PathMtuGeneration() const {
  // Both caches only count up, so their sum moves whenever either does.
  return ip4_->pmtu_generation() + (ip6_ != nullptr ? ip6_->pmtu_generation() : 0);
}

uint32_t TcpEngine::TsoMaxSize(const IpAddress& remote) const {
  // Segments to our own addresses take the loopback queue, not the device: no TSO there.
  // And the device cuts at its own MTU (TapLink: gso_size = MTU - IP - TCP header), so TSO
  // is used only where that is the path MTU (not below a Packet Too Big, an RA's MTU
  // option or a PYTCP_MTU smaller than the device's).
  if (!remote.is_v4()) {
    if (ip6_ == nullptr || remote.v6().is_loopback() || ip6_->addresses().IsOurs(remote.v6()) ||
        ip6_->PathMtu(remote.v6()) != ip6_->device_mtu()) {
      return 0;
    }
    return ip6_->tso_max_size();
  }
  if (remote.v4().is_loopback() || ip4_->addresses().IsOurs(remote.v4()) ||
      ip4_->mtu() != ip4_->device_mtu()) {
    return 0;
  }
  return ip4_->tso_max_size();
}

void TcpEngine::RemoveIfClosed(TcpConnection* conn) {
  if (conn->state() == TcpState::kClosed) {
    Remove(conn);
  } else {
    UpdateTimer(conn);
  }
}

void TcpEngine::EmitSegment(const TcpHeader& header, ByteSpan a, ByteSpan b, uint32_t pseudo,
                            bool tso) {
  if (tso) {
    // A TSO super-frame: the device checksums each segment it cuts (stack/link/tap_link.cc),
    // so only the pseudo-header part goes in; summing 64 KB here would be wasted. The
    // payload is not copied either: it goes to the device from the send ring.
    EmitOffloaded(header, a, b, pseudo);
  } else {
    EmitCopied(header, a, b, pseudo);
  }
}

bool TcpEngine::Sent(Result<void, IpSendError> sent) {
  if (!sent.ok()) counters_.Inc(TcpCounter::kTxDropError);
  return sent.ok();
}

void TcpEngine::EmitOffloaded(const TcpHeader& header, ByteSpan a, ByteSpan b, uint32_t pseudo) {
  tx_.Reset();
  tx_.AttachTail(a, b);
  header.EmitForOffload(tx_.Prepend(header.header_size()), pseudo);
}

void TcpEngine::EmitCopied(const TcpHeader& header, ByteSpan a, ByteSpan b, uint32_t pseudo) {
  tx_.Reset();
  if (!a.empty()) tx_.Append(a);
  if (!b.empty()) tx_.Append(b);
  const ByteSpan payload = tx_.data();
  header.Emit(tx_.Prepend(header.header_size()), payload, pseudo);
}

bool TcpEngine::Transmit(const TcpFourTuple& tuple, const TcpHeader& header, ByteSpan a,
                         ByteSpan b, uint8_t ttl, uint8_t tos, Instant now) {
  if (!tuple.remote_ip.is_v4() || !tuple.local_ip.is_v4()) {
    return Transmit6(tuple, header, a, b, ttl, tos, now);
  }
  const size_t tcp_length = header.header_size() + a.size() + b.size();
  EmitSegment(header, a, b,
              PseudoHeaderSum4(tuple.local_ip.v4(), tuple.remote_ip.v4(),
                               static_cast<uint8_t>(IpProto::kTcp), static_cast<uint32_t>(tcp_length)),
              tcp_length + kIp4MinHeaderSize > ip4_->mtu() && TsoMaxSize(tuple.remote_ip) > 0);
  Ip4SendParams params;
  params.src = tuple.local_ip.v4();
  params.dst = tuple.remote_ip.v4();
  params.protocol = IpProto::kTcp;
  params.ttl = ttl;
  params.tos = tos;
  params.dont_fragment = true;  // RFC 1191: TCP does path MTU discovery
  return Sent(ip4_->Send(params, tx_, now));
}

// ---------------------------------------------------------------------------------
// IPv6.

void TcpEngine::set_ip6(Ip6Engine* ip6) {
  ip6_ = ip6;
  ip6_->RegisterTransport(static_cast<uint8_t>(IpProto::kTcp), this);
}

void TcpEngine::Receive(const Ip6PacketInfo& info, ByteSpan payload, Instant now) {
  const uint32_t pseudo = PseudoHeaderSum6(info.src, info.dst, static_cast<uint8_t>(IpProto::kTcp),
                                           static_cast<uint32_t>(payload.size()));
  ParseAndDemux(payload, pseudo, info.l4_checksum_valid, IpAddress(info.src), IpAddress(info.dst),
                static_cast<uint8_t>(info.traffic_class & 3), !info.to_multicast, now);
}

void TcpEngine::ReceiveError(const Ip6ErrorInfo& error, Instant now) {
  std::shared_ptr<TcpConnection> conn = BelievedErrorTarget(error);
  if (conn == nullptr) return;
  if (error.icmp_type == static_cast<uint8_t>(Icmp6Type::kPacketTooBig)) {
    // RFC 8201 §4, once believed (the ICMPv6 engine leaves TCP's Packet Too Big to us):
    // the IPv6 engine keeps it (never below 1280) for every connection to the destination.
    if (ip6_ != nullptr) ip6_->UpdatePathMtu(error.orig_dst, error.mtu, now);
    conn->OnPathMtu(now);
  } else {
    conn->OnIcmpError(error.error, now);  // as for IPv4
  }
  RemoveIfClosed(conn.get());
}

bool TcpEngine::Transmit6(const TcpFourTuple& tuple, const TcpHeader& header, ByteSpan a,
                          ByteSpan b, uint8_t ttl, uint8_t tos, Instant now) {
  if (ip6_ == nullptr || tuple.remote_ip.is_v4() || tuple.local_ip.is_v4()) return false;
  const size_t tcp_length = header.header_size() + a.size() + b.size();
  EmitSegment(header, a, b,
              PseudoHeaderSum6(tuple.local_ip.v6(), tuple.remote_ip.v6(),
                               static_cast<uint8_t>(IpProto::kTcp), static_cast<uint32_t>(tcp_length)),
              tcp_length + kIp6HeaderSize > ip6_->PathMtu(tuple.remote_ip.v6()) &&
                  TsoMaxSize(tuple.remote_ip) > 0);
  Ip6SendParams params;
  params.src = tuple.local_ip.v6();
  params.dst = tuple.remote_ip.v6();
  params.next_header = static_cast<uint8_t>(IpProto::kTcp);
  params.hop_limit = ttl;
  params.traffic_class = tos;
  params.dont_fragment = true;  // RFC 8201: TCP does path MTU discovery
  return Sent(ip6_->Send(params, tx_, now));
}

}  // namespace pytcp
