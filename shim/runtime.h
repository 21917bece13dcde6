// Lifecycle: the one Stack of the process, started lazily on the first intercepted INET
// socket (so that a shell with LD_PRELOAD exported never grabs the TAP), stopped at exit,
// and what fork() means for it. The first socket() returns once the stack has a usable
// IPv4 address (a static one at once with optimistic conflict detection; a DHCP lease),
// waiting at most 5 s for it.
//
// Misconfiguration (a bad PYTCP_* variable, no TAP device, no permission) is reported once
// as one line on stderr, "pytcp: ...", and every INET socket() then fails with:
//   EINVAL    a PYTCP_* variable has a bad value (the line names it and what is accepted);
//   EACCES    not allowed to attach to the TAP device (needs CAP_NET_ADMIN or ownership);
//   ENETDOWN  the TAP device cannot be used (missing, busy, not a TAP, /dev/net/tun absent).
// The failure is remembered: the process does not retry on every socket().
//
// Exit (exit(), return from main, _exit()): see ShutdownForExit.
//
// With PYTCP_STACK=shared none of this applies: the stack is pytcpd's (daemon_channel.h,
// remote_socket.h), sockets are socketpair ends the kernel shares across fork and exec,
// and AcquireStack() starts nothing (it fails with ENETDOWN).
//
// fork() (in-process): the child gets a copy of the parent's memory but not its stack thread, and the
// parent's stack may have been in the middle of anything. So in the child every stack
// socket inherited from the parent is dead: calls on it fail with EBADF (one line on
// stderr says why), closing it only closes the fd, and nothing is ever sent on the
// parent's behalf. A new INET socket in the child starts a stack of its own, which fails
// with ENETDOWN while the parent holds the TAP. fork-then-exec works: stack sockets are
// close-on-exec in the kernel (see fd_table.h), and the new image starts from scratch.
#pragma once

#include "stack/stack.h"

namespace pytcp::shim {

// The running stack (started now if need be), or nullptr with *err set to the errno the
// socket call should fail with.
Stack* AcquireStack(int* err) noexcept;

// The stack this process started and still runs, or nullptr; never starts one. For the
// waits that lend the stack's link to the waiting thread (poll, select, epoll_wait).
Stack* RunningStack() noexcept;

// True on the thread that is starting the stack: its own socket calls (if any) go to libc.
bool InStackStartup() noexcept;

// True in the child of vfork() (or posix_spawn, clone(CLONE_VM)) before it execs: it
// shares the parent's memory, so nothing may change the fd table or a socket there (its
// close/close_range/dup2 only close its own copies of the fds). Known by the process id,
// which pthread_atfork's child handler updates after a real fork and nothing else does.
bool IsVforkChild() noexcept;

// Exit: closes the stack sockets still open, gives their connections up to
// PYTCP_EXIT_TIMEOUT seconds (default 5) to deliver what was written and have the FIN
// acknowledged, then stops the stack. Runs from atexit() and from the interposed _exit();
// does nothing in a (v)fork child or when no stack runs.
void ShutdownForExit() noexcept;

// PYTCP_LOOPBACK, read from the environment on first use.
LoopbackMode LoopbackSetting() noexcept;

// Writes "pytcp: <message>\n" on stderr, once per distinct `key`.
void ReportOnce(const char* key, const std::string& message) noexcept;

}  // namespace pytcp::shim
