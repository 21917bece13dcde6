// Loopback hand-over (DESIGN.md "The shim"): a program under the shim must still reach
// local kernel services. With PYTCP_LOOPBACK=kernel (the default), a stack socket that
// binds or connects to 127.0.0.0/8, or sends to it before anything else, becomes a kernel
// socket: one is created with the options set so far (and O_NONBLOCK, and the local
// address if the program had bound to the wildcard), moved onto the same fd numbers with
// dup3 over the placeholder, and the stack socket is closed. From then on the fd is an
// ordinary kernel socket that the shim no longer sees. epoll registrations move with it.
//
// PYTCP_LOOPBACK=stack keeps such sockets in the stack (whose loopback handles them).
#pragma once

#include "shim/shim_socket.h"
#include "stack/net/ip_address.h"

namespace pytcp::shim {

// Whether a call with this destination/local address on `sock` hands the socket over.
bool ShouldHandOver(const ShimSocket& sock, const SocketAddress& addr);

// Replaces the stack socket named by `fd` (and every dup of it) with a kernel socket.
// Returns 0 or an errno value (the stack socket is unchanged then).
int HandOverToKernel(int fd, ShimSocket& sock);

}  // namespace pytcp::shim
