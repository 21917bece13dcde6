// What libpytcp.so and pytcpd say to each other (DESIGN.md "One stack for the host").
//
// The shape, and why:
// - Every stack socket of a program is one end of an AF_UNIX SOCK_STREAM socketpair that
//   the daemon made; the daemon holds the other end. The kernel counts the references to
//   the program's end across fork, dup, exec and SCM_RIGHTS, so the daemon learns that the
//   last one is gone (POLLHUP on its end) without being told, also when a process dies.
// - A TCP connection's data flows through the pair as a plain byte stream: the daemon
//   writes what TCP received into its end and sends what the program wrote into the
//   other. So read/write/poll/epoll on a connected socket are the kernel's own calls on
//   the pair, and they keep working in a program image that has no shim (after exec of a
//   static binary, or through stdio's internal calls).
// - A listener or a datagram socket has no byte stream: its pair carries one "token" byte
//   per queued connection or datagram, so the kernel's poll shows POLLIN exactly while
//   there may be something to take; the program takes it with a request (ACCEPT, RECV).
// - Requests go over a control connection of the calling thread (SOCK_SEQPACKET, one
//   message per request and per reply), never over the pair, which may be shared by
//   several processes. A request that names a socket carries the program's fd for it
//   with SCM_RIGHTS: that is the proof that the caller holds the socket, and the daemon
//   finds the socket by the kernel's SO_COOKIE of the end it receives.
//
// Both sides are built from the same tree and run on one machine, so the messages are
// plain structs in host byte order; the first request of every connection (kHello)
// checks the protocol version.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>
#include <string>
#include <type_traits>

#include "stack/net/ip_address.h"
#include "stack/socket/socket.h"

namespace pytcp::pytcpd {

// 2: DatagramHeader carries the datagram's control messages (DatagramAncillary).
// 3: HostInfo carries the interface's IPv6 addresses.
// 4: kHostInfo asks for one of the stack's interfaces (arg[0], by position); HostInfo
//    says how many there are.
inline constexpr uint32_t kProtocolVersion = 4;

// Where the daemon of an interface listens: $PYTCP_RUN_DIR (default /run/pytcp), then
// "IFACE.sock".
std::string ControlSocketPath(const std::string& iface);
std::string RunDirectory();

enum class Op : uint16_t {
  kHello = 1,      // arg0: version; payload: the program's settings (ProgramSettings()).
                   // Reply: result = daemon pid; payload: the daemon's settings that
                   // differ, "NAME=value ..." (empty when they agree).
  kSocket,         // arg0 domain, arg1 type (no flags), arg2 protocol, arg3 how many (0 is
                   // one; at most kMaxFdsPerMessage). Reply: the fds attached, result
                   // how many.
  kBind,           // addr
  kListen,         // arg0 backlog
  kConnect,        // addr (unspec: AF_UNSPEC); arg0 1 = do not wait (O_NONBLOCK); arg1 the
                   // filler bytes the program wrote into the pair (to be not writable while
                   // connecting), which the daemon drains once the handshake is over
  kAccept,         // Reply: the new socket's fd attached, addr = peer, arg0 its domain.
  kShutdown,       // arg0 how (the daemon's part: SHUT_RD, and SHUT_WR for message sockets)
  kGetName,        // arg0 1 = peer. Reply: addr.
  kSetOption,      // arg0 level, arg1 name, payload value
  kGetOption,      // arg0 level, arg1 name, arg2 the caller's length, payload the caller's
                   // value (read first by IP_MSFILTER). Reply: payload.
  kSend,           // datagram sockets: payload, addr (has_addr), arg0 flags, arg1 1 when
                   // the payload starts with a DatagramAncillary (control messages); the first
                   // send of a socket (it binds), and those whose errors the caller must
                   // see at once (broadcast, large); the others go through the pair
  kRecv,           // datagram sockets' error queue (MSG_ERRQUEUE): arg0 flags, arg1 room.
                   // Reply: payload, addr, arg0 the full size, arg1 out flags.
  kWaitConnected,  // until a connecting socket is connected or failed. Reply: its error.
  kStatus,         // arg0 0: why a stream ended, or a datagram socket's pending error.
                   // Reply: result = the error, given once (0: orderly EOF, none, or
                   // told already), as a socket's error is read once. arg0 1 (a poll's
                   // POLLERR): whether an error is pending, not taken. arg0 2: the
                   // socket's poll bits (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP).
  kIoctl,          // arg0 request (FIONREAD, SIOCOUTQ). Reply: result.
  kHostInfo,       // Reply: payload = HostInfo.
  kIdentify,       // an fd the program did not know (inherited across exec, received by
                   // SCM_RIGHTS). Reply: arg0 domain, arg1 type; result protocol;
                   // has_addr 1 when connected (addr = peer), and 2 when listening.
  kArp,            // SIOCSARP/SIOCGARP/SIOCDARP on the stack's ARP cache: arg0 the request,
                   // payload a struct arpreq (the program checked CAP_NET_ADMIN). Reply:
                   // result 0 or -1 with the errno; SIOCGARP's arpreq as payload.
};

// Requests carry no more payload than this (a datagram, an option value).
inline constexpr size_t kMaxPayload = 65536;

struct Request {
  uint32_t id = 0;  // echoed in the reply, so a late reply to an abandoned request is known
  Op op = Op::kHello;
  uint8_t has_addr = 0;
  uint8_t pad = 0;
  int32_t arg[4] = {0, 0, 0, 0};
  SocketAddress addr;
  uint32_t payload_len = 0;
  // payload follows
};

struct Reply {
  uint32_t id = 0;
  int32_t result = 0;  // >= 0, or -1 with `error`
  int32_t error = 0;
  int32_t arg[2] = {0, 0};
  uint8_t has_addr = 0;
  SocketAddress addr;
  uint32_t payload_len = 0;
  // payload follows
};

static_assert(std::is_trivially_copyable_v<Request>);
static_assert(std::is_trivially_copyable_v<Reply>);

// A datagram socket's pair is SOCK_SEQPACKET and carries the datagrams themselves, one
// message each with this header in front: program -> daemon the datagrams to send,
// daemon -> program those received, so that a send or a receive is one system call on the
// pair and no request (the kernel keeps the boundaries, truncates as UDP does, and its
// poll on the pair is POLLIN exactly while a datagram waits). Daemon -> program, a header
// alone of kind kDatagramError marks that an error is pending (an ICMP error on a
// connected socket): the receive that meets it takes the error with kStatus.
enum : uint32_t { kDatagramData = 1, kDatagramError = 2 };
// A datagram's control messages, both ways: program -> daemon what sendmsg's msg_control
// asked for (SendAncillary: IP_PKTINFO's source, IP_TOS, IP_TTL and their IPv6 forms),
// daemon -> program what the socket's options ask to be told (RecvAncillary: SO_TIMESTAMP,
// IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS).
// The daemon's socket has the options (kSetOption), so it fills what they ask for.
struct DatagramAncillary {
  static constexpr uint32_t kTimestamp = 1, kTtl = 2, kHopLimit = 4, kPktinfo = 8,
                            kPktinfo6 = 16, kTos = 32, kTclass = 64;
  uint32_t bits = 0;  // daemon -> program: which of the received values are there
  int32_t send_tos = -1;
  int32_t send_ttl = -1;
  IpAddress send_src;  // unspecified: none
  int64_t timestamp_ns = 0;
  Ip4Address pktinfo_addr;
  Ip4Address pktinfo_spec_dst;
  Ip6Address pktinfo6_addr;
  uint8_t ttl = 0, hoplimit = 0, tos = 0, tclass = 0;

  bool has_send() const { return send_tos >= 0 || send_ttl >= 0 || !send_src.is_unspecified(); }
  void SetSend(const SendAncillary& a) {
    send_tos = a.tos;
    send_ttl = a.ttl;
    send_src = a.src;
  }
  SendAncillary Send() const {
    SendAncillary a;
    a.tos = send_tos;
    a.ttl = send_ttl;
    a.src = send_src;
    return a;
  }
  void SetReceived(const RecvAncillary& a) {
    bits = (a.has_timestamp ? kTimestamp : 0) | (a.has_ttl ? kTtl : 0) |
           (a.has_hoplimit ? kHopLimit : 0) | (a.has_pktinfo ? kPktinfo : 0) |
           (a.has_pktinfo6 ? kPktinfo6 : 0) | (a.has_tos ? kTos : 0) | (a.has_tclass ? kTclass : 0);
    timestamp_ns = a.timestamp_ns;
    pktinfo_addr = a.pktinfo_addr;
    pktinfo_spec_dst = a.pktinfo_spec_dst;
    pktinfo6_addr = a.pktinfo6_addr;
    ttl = a.ttl;
    hoplimit = a.hoplimit;
    tos = a.tos;
    tclass = a.tclass;
  }
  RecvAncillary Received() const {
    RecvAncillary a;
    a.has_timestamp = (bits & kTimestamp) != 0;
    a.timestamp_ns = timestamp_ns;
    a.has_ttl = (bits & kTtl) != 0;
    a.ttl = ttl;
    a.has_hoplimit = (bits & kHopLimit) != 0;
    a.hoplimit = hoplimit;
    a.has_pktinfo = (bits & kPktinfo) != 0;
    a.pktinfo_addr = pktinfo_addr;
    a.pktinfo_spec_dst = pktinfo_spec_dst;
    a.has_pktinfo6 = (bits & kPktinfo6) != 0;
    a.pktinfo6_addr = pktinfo6_addr;
    a.has_tos = (bits & kTos) != 0;
    a.tos = tos;
    a.has_tclass = (bits & kTclass) != 0;
    a.tclass = tclass;
    return a;
  }
};
static_assert(std::is_trivially_copyable_v<DatagramAncillary>);

struct DatagramHeader {
  uint32_t kind = kDatagramData;
  uint32_t length = 0;  // the datagram's full length (what follows may be cut short)
  int32_t flags = 0;    // program -> daemon: the send's flags
  uint32_t has_addr = 0;
  SocketAddress addr;   // the destination, or the source
  DatagramAncillary anc;
};
static_assert(std::is_trivially_copyable_v<DatagramHeader>);

// kHostInfo's payload: what getifaddrs, SIOCGIF*, SO_BINDTODEVICE and name resolution
// need from the stack (fixed sizes; unused entries zero).
struct HostInfo {
  uint32_t interface_count = 0;  // the stack's interfaces (this is the one asked for)
  char iface[16] = {};
  uint8_t mac[6] = {};
  uint32_t mtu = 0;
  uint32_t ifindex = 0;
  uint32_t ip4_count = 0;
  uint32_t ip4[8] = {};       // host order
  uint8_t ip4_prefix[8] = {};
  uint32_t dns4_count = 0;
  uint32_t dns4[4] = {};
  uint32_t dns6_count = 0;
  uint8_t dns6[4][16] = {};
  // The IPv6 addresses, every state (Ip6AddressState, Ip6AddressSource as numbers) with
  // their lifetimes left in seconds (0xFFFFFFFF: infinite).
  uint32_t ip6_count = 0;
  uint8_t ip6[8][16] = {};
  uint8_t ip6_prefix[8] = {};
  uint8_t ip6_state[8] = {};
  uint8_t ip6_source[8] = {};
  uint32_t ip6_preferred[8] = {};
  uint32_t ip6_valid[8] = {};
};
static_assert(std::is_trivially_copyable_v<HostInfo>);

// One message with up to one fd attached (SCM_RIGHTS). Returns bytes sent or -1 (errno).
ssize_t SendMessage(int sock, std::span<const std::span<const uint8_t>> parts, int fd);
// Receives one message into `buf`; *fd gets an attached fd (MSG_CMSG_CLOEXEC) or -1.
// Returns bytes received, 0 at EOF, -1 (errno). A message cut short (MSG_TRUNC) fails with
// EMSGSIZE, its fd closed.
ssize_t ReceiveMessage(int sock, std::span<uint8_t> buf, int* fd);
// The same with every attached fd: the first in *fd, the others appended to `more`.
ssize_t ReceiveMessage(int sock, std::span<uint8_t> buf, int* fd, std::vector<int>* more);
// Sends one message with several fds attached (at most kMaxFdsPerMessage).
inline constexpr size_t kMaxFdsPerMessage = 16;
ssize_t SendMessage(int sock, std::span<const std::span<const uint8_t>> parts,
                    std::span<const int> fds);

// The PYTCP_* settings a daemon and its programs should agree on, "NAME=value\n" each, as
// this process's environment has them.
std::string ProgramSettings();

// The kernel's id of the socket behind `fd` (SO_COOKIE), 0 when it has none.
uint64_t SocketCookie(int fd);

}  // namespace pytcp::pytcpd
