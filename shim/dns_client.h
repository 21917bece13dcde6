// A stub resolver (RFC 1035 §7, RFC 1123 §6.1.3): one question to the configured servers,
// over UDP with a fresh random ID and a fresh ephemeral port for every attempt (RFC 5452
// §9.2), in rounds ("attempts") over the server list, falling back to TCP when an answer
// comes back truncated (RFC 7766 §5, length-prefixed messages per RFC 1035 §4.2.2).
//
// The waits are glibc's (resolv/res_send.c), so that a program waits as long under the
// shim as without it: server i of n is given timeout << i, divided by n for i > 0, in
// every round. "rotate" starts each query at the next server; "edns0" adds an OPT record
// (RFC 6891, a 1200-byte UDP size as glibc).
//
// Answers are checked strictly before anything is taken from them (RFC 5452 §3): the
// datagram must come from the server's address and port (the socket is connected), parse
// completely (stack/wire/dns.h), be a response to a standard query with our ID, and repeat
// our question exactly (name case-insensitively, type, class). Anything else is ignored and
// the wait goes on. From an accepted answer only records of class IN owned by the name
// asked, or by the CNAME chain that starts there (RFC 1034 §3.6.2, at most 16 links), are
// used.
//
// It speaks plain POSIX (socket, connect, send, recv, poll): under the shim those are
// PyTCP's (and a server on 127.0.0.0/8 is reached through the kernel, loopback.h), and
// natively they are the kernel's, which is how tests/shim/dns_client_test.cc drives it
// against scripted servers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/result.h"
#include "stack/net/ip4_address.h"
#include "stack/net/ip6_address.h"
#include "stack/net/ip_address.h"
#include "stack/wire/dns.h"

namespace pytcp::shim {

struct DnsServer {
  IpAddress ip = IpAddress(Ip4Address());  // IPv4 or IPv6 (RDNSS, RFC 8106)
  uint16_t port = kDnsPort;
  uint32_t scope_id = 0;  // an IPv6 link-local server's interface
};

struct DnsClientOptions {
  std::vector<DnsServer> servers;
  int attempts = 2;          // rounds over the server list (resolv.conf "attempts")
  int timeout_ms = 5000;     // resolv.conf "timeout" (see above for the servers after the first)
  bool rotate = false;       // resolv.conf "rotate"
  uint16_t edns_udp_size = 0;  // resolv.conf "edns0": 1200
};

enum class DnsStatus : uint8_t {
  kOk,             // records found
  kNoData,         // the name exists, without records of that type
  kNxDomain,       // the name does not exist
  kServerFailure,  // every server failed (SERVFAIL, REFUSED, NOTIMP) or refused over ICMP
  kNoRecovery,     // a server answered FORMERR or another error glibc does not retry
  kTimeout,        // no acceptable answer in time
  kBadName,        // the name cannot be put in a query
  kNoServers,      // nobody to ask
};

struct DnsResult {
  DnsStatus status = DnsStatus::kTimeout;
  std::string canonical;  // the owner of the records, after CNAMEs
  std::vector<std::string> aliases;  // the names the CNAME chain went through, in order
  std::vector<Ip4Address> a;
  std::vector<Ip6Address> aaaa;
  std::vector<std::string> names;  // PTR targets (DnsNameText), in answer order
  // The last server failure was a SERVFAIL (glibc's search then goes on to the next
  // domain; after REFUSED or silence it stops).
  bool servfail = false;
};

// Asks for `type` (kA, kAaaa or kPtr) records of `name` (dotted; a trailing dot is allowed).
DnsResult DnsResolve(std::string_view name, DnsType type, const DnsClientOptions& options);

// Why an answer was ignored (for tests).
enum class DnsReject : uint8_t {
  kMalformed,      // does not parse
  kNotResponse,    // QR clear
  kWrongId,
  kWrongOpcode,
  kWrongQuestion,  // not exactly our one question
};
// The checks above, for one message; on success the caller may read the view.
Result<DnsView, DnsReject> CheckDnsResponse(ByteSpan message, uint16_t id, std::string_view name,
                                            DnsType type);
// The records of an accepted NOERROR answer, CNAMEs followed.
DnsResult ExtractDnsAnswer(const DnsView& view, std::string_view name, DnsType type);

}  // namespace pytcp::shim
