// SipHash-2-4 (Aumasson and Bernstein, 2012): the keyed pseudorandom function behind TCP's
// ISNs and timestamp offsets (RFC 6528), SYN cookies and RFC 7217's stable IPv6
// interface identifiers. A leaf utility, so that neither protocol reaches into the other.
#pragma once

#include <cstdint>

#include "stack/base/bytes.h"

namespace pytcp {

// SipHash-2-4 of `data` under the 128-bit key (k0, k1).
uint64_t SipHash24(uint64_t k0, uint64_t k1, ByteSpan data);

}  // namespace pytcp
