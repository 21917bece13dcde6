// Why an IPv4 or IPv6 send failed, and the errno a socket reports for it. One list for
// both families: each engine returns the subset that applies to it.
#pragma once

#include <cstdint>

#include "stack/base/result.h"

namespace pytcp {

enum class IpSendError : uint8_t {
  kNoRoute,          // ENETUNREACH
  kNoSource,         // EADDRNOTAVAIL
  kTooBig,           // EMSGSIZE (IPv4: DF set and larger than the MTU)
  kBroadcastDenied,  // EACCES (IPv4: SO_BROADCAST not set)
  kLinkError,        // ENOBUFS
  kHostUnreachable,  // EHOSTUNREACH
  kDisabled,         // ENETDOWN (IPv6 disabled on the interface, RFC 4862 §5.4.5)
};
int ToErrno(IpSendError e);
// A send's outcome as a socket reports it: Ok, or the errno of its IpSendError.
inline Result<void, int> ToErrno(const Result<void, IpSendError>& sent) {
  if (!sent.ok()) return Err{ToErrno(sent.error())};
  return Ok();
}

}  // namespace pytcp
