// The host-wide budget of RFC 5961 challenge ACKs (§7), as Linux keeps it since the fix
// for CVE-2016-5696 (tcp_send_challenge_ack): a fixed count per second was a side channel —
// an off-path attacker who spent it could count the challenge ACKs another connection
// drew and so find its sequence numbers. The count allowed in each second is drawn
// afresh, uniform in [limit/2, limit*3/2), and each connection is further limited to one
// challenge ACK per 500 ms (TcpConnection::OowLimited), so no single peer can exhaust it.
#pragma once

#include <cstdint>

#include "stack/base/clock.h"
#include "stack/base/random.h"

namespace pytcp {

class TcpChallengeAckLimit {
 public:
  explicit TcpChallengeAckLimit(Random* random) : random_(random) {}

  // Whether one more challenge ACK may be sent now under net.ipv4.tcp_challenge_ack_limit
  // = `limit` per second.
  bool Allow(uint32_t limit, Instant now) {
    if (limit == 0) return false;
    const int64_t second = now.nanos() / 1'000'000'000;
    if (second != second_) {
      second_ = second;
      const uint64_t half = (uint64_t{limit} + 1) / 2;
      count_ = random_->Between(half, uint64_t{limit} + half - 1);
    }
    if (count_ == 0) return false;
    --count_;
    return true;
  }

 private:
  Random* random_;
  int64_t second_ = -1;
  uint64_t count_ = 0;
};

}  // namespace pytcp
