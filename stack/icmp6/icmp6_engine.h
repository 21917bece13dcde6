// ICMPv6 (RFC 4443) for a host: echo replies, error generation under the rules of §2.4,
// delivery of received errors to the transport that sent the offending packet (and Packet
// Too Big to path MTU discovery), and dispatch of ND and MLD messages to their engines.
//
// RFCs to read: RFC 4443 (§2.2 source of a message, §2.4 processing rules: (c) quote as
// much as fits in 1280 bytes, (e) never about errors, redirects or multicast except Packet
// Too Big and option code 2, (f) rate limiting; §3 errors; §4 echo), RFC 8201 §4 (Packet
// Too Big), RFC 4861 §6.1/§7.1 (ND messages are ICMPv6), RFC 3810 §5 (so are MLD messages).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "stack/base/counters.h"
#include "stack/base/token_bucket.h"
#include "stack/ip6/ip6_engine.h"
#include "stack/wire/icmp6.h"

namespace pytcp {

class NdEngine;
class MldEngine;

PYTCP_COUNTERS(Icmp6Counter,
  kRxMessages,
  kRxDropMalformed,
  kRxDropTentative,  // RFC 4862 §5.4: only NS/NA may reach a tentative address
  kRxEchoRequests,
  kRxEchoReplies,
  kRxErrors,
  kRxPacketTooBig,
  kTxEchoReplies,
  kTxErrors,
  kTxRateLimited,
  kTxSuppressed,  // RFC 4443 §2.4 (e): an error we must not send
  // An echo reply or an error not sent because the source it would go to does not
  // identify one node (RFC 4443 §2.4 (e.6), RFC 4291 §2.5.2, §2.7), one counter per
  // reason (an error counted here is also counted in tx_suppressed).
  kNoReplySrcUnspecified,
  kNoReplySrcMulticast,
);

// The errno a socket reports for an ICMPv6 error, as Linux maps them (icmpv6_err_convert).
int Icmp6ErrorToErrno(uint8_t type, uint8_t code);

class Icmp6Engine final : public Ip6Transport, public Ip6ErrorSender {
 public:
  // Every valid message, before the engine acts on it (raw ICMPv6 sockets take a copy of
  // each, ping sockets their echo replies); returning true consumes the message.
  using MessageListener = std::function<bool(const Ip6PacketInfo&, const Icmp6View&, Instant)>;
  // An ICMPv6 error about an ICMPv6 message we sent (received, or an ND failure detected
  // here), for ping and raw sockets (RFC 4443 §2.4 (d): errors go to the sending process).
  using ErrorListener = std::function<void(const Ip6ErrorInfo&, Instant)>;

  Icmp6Engine(Ip6Engine* ip6, NdEngine* nd, MldEngine* mld, double error_rate_per_second = 100,
              double error_burst = 50);

  void Receive(const Ip6PacketInfo& info, ByteSpan payload, Instant now) override;
  void SendError(const Icmp6Header& header, ByteSpan packet, bool to_multicast,
                 bool allow_multicast, Instant now) override;

  // An ND failure about a queued ICMPv6 message (Ip6Engine reports it to the transport).
  void ReceiveError(const Ip6ErrorInfo& error, Instant now) override {
    if (error_listener_) error_listener_(error, now);
  }

  void set_listener(MessageListener l) { listener_ = std::move(l); }
  void set_error_listener(ErrorListener l) { error_listener_ = std::move(l); }
  const Counters<Icmp6Counter>& counters() const { return counters_; }

 private:
  void DeliverError(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now);

  Ip6Engine* ip6_;
  NdEngine* nd_;
  MldEngine* mld_;
  TokenBucket error_bucket_;
  MessageListener listener_;
  ErrorListener error_listener_;
  Counters<Icmp6Counter> counters_;
};

}  // namespace pytcp
