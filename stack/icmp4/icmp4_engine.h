// ICMPv4 (RFC 792) for a host: echo replies, error generation, and delivery of received
// errors to the transport that sent the offending datagram.
//
// RFCs to read: RFC 792, RFC 1122 §3.2.2 (which errors to send and never to send),
// RFC 1812 §4.3.2.3 (quote as much as fits in 576 bytes), §4.3.2.8 (rate limiting),
// RFC 1191 (fragmentation needed carries the next-hop MTU).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "stack/base/counters.h"
#include "stack/base/token_bucket.h"
#include "stack/ip4/ip4_engine.h"
#include "stack/wire/icmp4.h"

namespace pytcp {

PYTCP_COUNTERS(Icmp4Counter,
  kRxMessages,
  kRxDropMalformed,
  kRxEchoRequests,
  kRxEchoReplies,
  kRxErrors,
  kRxDropBroadcastEcho,
  kTxEchoReplies,
  kTxUnreachable,
  kTxTimeExceeded,
  kTxRedirect,  // a router's (PYTCP_FORWARDING), RFC 1812 §5.2.7.2
  kTxRateLimited,
  // RFC 1122 §3.2.1.3, §3.2.2: an echo reply or an error not sent because the source it
  // would go to is invalid, one counter per reason.
  kNoReplySrcThisNetwork,  // 0.0.0.0/8
  kNoReplySrcBroadcast,    // 255.255.255.255 or one of our directed broadcasts
  kNoReplySrcMulticast,    // 224.0.0.0/4
  kNoReplySrcReserved,     // 240.0.0.0/4
);

// The errno a socket reports for an ICMPv4 error, as Linux maps them (icmp_err_convert).
int Icmp4ErrorToErrno(uint8_t type, uint8_t code);

class Icmp4Engine final : public Ip4Transport, public Ip4ErrorSender {
 public:
  // Echo replies (and requests, for raw/ping sockets) not consumed by the engine.
  using MessageListener = std::function<bool(const Ip4PacketInfo&, const Icmp4View&, Instant)>;

  Icmp4Engine(Ip4Engine* ip4, double error_rate_per_second = 100, double error_burst = 50);

  void Receive(const Ip4PacketInfo& info, ByteSpan payload, Instant now) override;
  // Locally detected errors about ICMP messages we sent (an ARP failure): to the listener.
  void ReceiveError(const Ip4ErrorInfo& error, Instant now) override {
    if (local_error_listener_) local_error_listener_(error, now);
  }

  // Ip4ErrorSender
  void SendUnreachable(const Ip4PacketInfo& info, ByteSpan datagram, uint8_t code,
                       Instant now) override;
  void SendTimeExceeded(ByteSpan datagram, uint8_t code, Instant now) override;
  void SendForwardingError(const Icmp4Header& header, ByteSpan datagram, Instant now) override;

  // Raw/ping sockets register here; a listener returning true has consumed the message.
  void set_listener(MessageListener l) { listener_ = std::move(l); }
  using LocalErrorListener = std::function<void(const Ip4ErrorInfo&, Instant)>;
  void set_local_error_listener(LocalErrorListener l) { local_error_listener_ = std::move(l); }
  // Linux default net.ipv4.icmp_echo_ignore_broadcasts=1.
  void set_ignore_broadcast_echo(bool on) { ignore_broadcast_echo_ = on; }

  const Counters<Icmp4Counter>& counters() const { return counters_; }

 private:
  void SendError(Ip4Address dst, const Icmp4Header& header, ByteSpan datagram, Instant now);
  void DeliverError(const Ip4PacketInfo& info, const Icmp4View& icmp, Instant now);
  // False (and the reason counted) when `src`, the source of a datagram we would answer,
  // may not receive a reply or an error (RFC 1122 §3.2.1.3, §3.2.2). Our own addresses
  // from outside never get here: the IPv4 engine drops them (rx_drop_bad_source).
  bool MayAnswer(Ip4Address src);

  Ip4Engine* ip4_;
  TokenBucket error_bucket_;
  MessageListener listener_;
  LocalErrorListener local_error_listener_;
  bool ignore_broadcast_echo_ = true;
  Counters<Icmp4Counter> counters_;
};

}  // namespace pytcp
