// The text form of a DHCPv4 lease, for the lease cache file that lets a restarted stack go
// through INIT-REBOOT (RFC 2131 §3.2) instead of a full DISCOVER.
//
// Format: a header line, then one "key value" line per field, '\n'-terminated:
//
//   pytcp-dhcp4-lease 1
//   address 10.77.0.50/24
//   server 10.77.0.1
//   router 10.77.0.1        (optional)
//   dns 10.77.0.1           (optional, repeated, at most 16)
//   mtu 1500                (optional)
//   domain lab.example      (optional)
//   lease 3600              (seconds; t1 <= t2 <= lease)
//   t1 1800
//   t2 3150
//   expires 1700003600      (wall-clock expiry, Unix seconds)
//
// Monotonic Instants mean nothing in another process, so the file holds the wall-clock
// expiry instead and the parsed lease has `requested` and `acquired` at Instant(): the
// caller decides from `expires` whether the cached address is still worth an INIT-REBOOT.
// The parser is strict (unknown or repeated keys, bad values, missing fields, stray
// whitespace all reject the file): a damaged cache costs one DISCOVER, a misread one could
// configure a wrong address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "stack/dhcp4/dhcp4_lease.h"

namespace pytcp {

inline constexpr std::string_view kDhcp4LeaseFileHeader = "pytcp-dhcp4-lease 1";
inline constexpr size_t kDhcp4LeaseFileMaxSize = 4096;
inline constexpr size_t kDhcp4LeaseFileMaxDns = 16;

std::string SerializeLease(const Dhcp4Lease& l, int64_t expires_unix);
std::optional<std::pair<Dhcp4Lease, int64_t>> ParseLease(std::string_view text);

}  // namespace pytcp
