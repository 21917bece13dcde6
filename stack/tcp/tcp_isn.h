// Keyed hashes of a connection's four-tuple: initial sequence numbers (RFC 6528),
// timestamp offsets per address pair, ephemeral port offsets and SYN cookies.
//
// RFCs to read: RFC 6528 §3 (ISN = M + F(localip, localport, remoteip, remoteport,
// secretkey), M a 4-microsecond timer, F a keyed pseudorandom function — SipHash-2-4 here,
// as in Linux's secure_tcp_seq), RFC 7323 §7.1 (a timestamp offset per connection so
// TSval does not leak the host's uptime), RFC 6191 (why both must continue the old
// incarnation's on a reused four-tuple), RFC 4987 §3.6 (SYN cookies).
#pragma once

#include <cstdint>
#include <optional>

#include "stack/base/bytes.h"
#include "stack/base/clock.h"
#include "stack/base/host_key.h"
#include "stack/base/random.h"
#include "stack/base/siphash.h"
#include "stack/net/seq_num.h"
#include "stack/tcp/tcp_types.h"

namespace pytcp {

// The keys, all derived from one secret. With the host's key for the boot
// (stack/base/host_key.h) every program and daemon of the host computes the same ISNs and
// timestamp offsets, as every socket of a Linux host does from net_secret and ts_secret:
// on `now` from CLOCK_MONOTONIC, a new connection on a reused four-tuple continues the
// sequence and timestamp clocks of the old one, whichever program made either.
class TcpSecrets {
 public:
  // The keys: one per use, as Linux keeps net_secret, ts_secret and syncookie_secret[2].
  enum Key { kIsnKey, kTsKey, kCookieKey0, kCookieKey1, kPortKey, kKeys };

  // A key of this process only (when the host's key is unavailable, and in tests).
  explicit TcpSecrets(Random& random);
  explicit TcpSecrets(const HostKey& key);

  // RFC 6528 §3: the clock term M ticks every 4 microseconds.
  SeqNum Isn(const TcpFourTuple& t, Instant now) const;
  // Added to the millisecond clock in TSval. Linux's secure_tcp_ts_off hashes only the
  // two addresses: every connection between two hosts shares one TSval clock, so the
  // peer's TIME-WAIT (which remembers the last TSval per four-tuple) sees any new SYN as
  // newer (RFC 6191 §2), whatever local port the old connection had.
  uint32_t TsOffset(const TcpFourTuple& t) const;
  // The start of the ephemeral port search for a destination (RFC 6056 §3.3.3's F;
  // Linux's secure_ipv4_port_ephemeral).
  uint32_t PortOffset(const TcpFourTuple& t) const;
  // A keyed 32-bit hash of the tuple and two extra words (used by SYN cookies).
  uint32_t Hash(const TcpFourTuple& t, uint32_t a, uint32_t b, Key key) const;

 private:
  uint64_t keys_[kKeys][2];
};

// SYN cookies as Linux makes them (net/ipv4/syncookies.c): the ISN of our SYN-ACK carries
// a keyed hash of the tuple, a minute counter and an index into a table of MSS values, so
// a listener whose SYN queue is full keeps no state until the handshake completes. When
// the peer uses timestamps, the low six bits of our TSval carry its window scale, SACK
// and ECN choices (cookie_init_timestamp), which come back in TSecr.
class TcpSynCookies {
 public:
  explicit TcpSynCookies(const TcpSecrets* secrets) : secrets_(secrets) {}

  struct Decoded {
    uint16_t mss;
  };
  // The cookie to use as our ISN for a SYN with sequence `peer_isn`; `mss` is rounded
  // down to the table.
  SeqNum Make(const TcpFourTuple& t, SeqNum peer_isn, uint16_t mss, Instant now) const;
  // Checks the ACK of a cookie SYN-ACK (cookie = SEG.ACK - 1, peer_isn = SEG.SEQ - 1).
  std::optional<Decoded> Check(const TcpFourTuple& t, SeqNum peer_isn, SeqNum cookie,
                               Instant now) const;

  // Options carried in the low bits of TSval.
  struct TsOptions {
    std::optional<uint8_t> wscale;  // the peer's shift
    bool sack = false;
  };
  static uint32_t EncodeTs(uint32_t tsval, const TsOptions& o);
  static TsOptions DecodeTs(uint32_t tsecr);

 private:
  const TcpSecrets* secrets_;
};

}  // namespace pytcp
