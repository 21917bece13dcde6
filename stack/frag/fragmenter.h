// The send side of fragmentation, shared by IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5):
// the payload is cut into pieces of one size, a multiple of 8 bytes, but the last; each
// piece gets the headers of its family in front and is sent before the next is cut.
#pragma once

#include <algorithm>
#include <cstddef>

#include "stack/base/bytes.h"
#include "stack/base/packet_buffer.h"

namespace pytcp {

// For each piece of `payload` (`per_fragment` bytes but the last), held alone in `buf` with
// `headroom` bytes free in front, emit(buf, offset, more) prepends the headers (offset: the
// piece's place in the payload; more: another piece follows) and send(buf) sends it. The
// first failed send ends the walk and is returned.
template <typename Emit, typename Send>
auto SendFragments(ByteSpan payload, size_t per_fragment, PacketBuffer& buf, size_t headroom,
                   Emit&& emit, Send&& send) -> decltype(send(buf)) {
  for (size_t off = 0; off < payload.size(); off += per_fragment) {
    const size_t len = std::min(per_fragment, payload.size() - off);
    buf.Reset(headroom);
    buf.Append(payload.subspan(off, len));
    emit(buf, off, off + len < payload.size());
    auto sent = send(buf);
    if (!sent.ok()) return sent;
  }
  return Ok();
}

}  // namespace pytcp
