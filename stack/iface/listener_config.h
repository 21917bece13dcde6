// The timers of a multicast listener protocol, the same variables with the same defaults
// for IGMPv3 over IPv4 (RFC 3376 §8) and MLDv2 over IPv6 (RFC 3810 §9), which IgmpConfig
// and MldConfig share.
#pragma once

#include "stack/base/clock.h"

namespace pytcp {

struct MulticastListenerConfig {
  int robustness = 2;                         // RFC 3376 §8.1, RFC 3810 §9.1
  Duration query_interval = 125s;             // §8.2, §9.2
  Duration query_response_interval = 10s;     // §8.3, §9.3
  Duration unsolicited_report_interval = 1s;  // §8.11, §9.11
  // RFC 3376 §8.12, RFC 3810 §9.12: how long an older-version querier keeps the host in
  // its compatibility mode (older queries carry neither QRV nor QQIC, so the defaults
  // apply).
  Duration OlderVersionQuerierPresentTimeout() const {
    return robustness * query_interval + query_response_interval;
  }
};

}  // namespace pytcp
