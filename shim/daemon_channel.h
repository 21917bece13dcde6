// The shared stack's side in a program (PYTCP_STACK=shared): the control connection
// to pytcpd (pytcpd/protocol.h), the daemon started when none serves the interface, and
// what the program asks it.
//
// Each thread has its own control connection, so a call that waits for its answer (a
// blocking connect) never holds up another thread's calls, and no reply is ever read by
// the wrong thread. A connection belongs to the process that opened it: after fork the
// child opens its own (the parent's is never written to from the child), and in a vfork
// child (which shares the parent's memory) a connection is opened for the one call and
// closed again, so nothing the child does changes the parent's state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pytcpd/protocol.h"

namespace pytcp::shim {

struct DaemonReply {
  pytcpd::Reply rep;
  std::vector<uint8_t> payload;
  int fd = -1;  // an fd the daemon attached (close-on-exec), or -1
  std::vector<int> more_fds;  // the others, when it attached several (kSocket's batch)
};

// PYTCP_STACK: true for "shared" (pytcpd), false for "process" (the default for now: an
// in-process stack, as before). A bad value is reported once and taken as "process".
bool SharedStack() noexcept;

// Sends `req` with `payload`, and `fd` attached when >= 0 (the socket the request is
// about), on this thread's connection, and waits up to `timeout_ms` (-1: for ever) for
// the reply. Returns 0, or the errno the socket call should fail with: ENETDOWN when no
// daemon can be reached or started (one line on stderr says why), EINTR when a signal
// interrupted the wait (the late reply is recognised and dropped), ETIMEDOUT.
// Only a request for a new socket (kSocket) or for the host's addresses (kHostInfo) starts
// a daemon when none serves: the sockets of a daemon that died died with it (ENETDOWN).
int CallDaemon(pytcpd::Request& req, std::span<const uint8_t> payload, int fd, DaemonReply* out,
               int timeout_ms = -1);

// The daemon's pid (0 until a connection was made).
pid_t DaemonPid() noexcept;

// The daemon's view of the host: one of the stack's interfaces (by position; the first
// by default) with its addresses, how many there are, the DNS servers. False when the
// daemon cannot say (also for a position beyond the last).
bool DaemonHostInfo(pytcpd::HostInfo* info, uint32_t position = 0);

}  // namespace pytcp::shim
