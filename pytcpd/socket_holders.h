// Which processes hold a socket of the daemon's, for `pytcpctl show sockets` (as `ss -p`).
//
// A program's socket is its end of an AF_UNIX pair (server.h), a kernel socket with an
// inode; every fd that refers to it, in any process, reads as "socket:[INODE]" in
// /proc/PID/fd. So, as ss does, the holders are found by reading those links: the kernel
// already counts the references, and nothing has to be told about fork, exec or
// SCM_RIGHTS. Processes the daemon may not look into (another user's, without root) are
// left out, as ss leaves them out.
#pragma once

#include <sys/types.h>

#include <string>
#include <unordered_map>
#include <unordered_set>

namespace pytcp::pytcpd {

// For each inode of `inodes` that some process holds: `users:(("comm",pid=P,fd=F),...)`,
// processes in pid order, as `ss -p` prints them. `proc` is the procfs mount (tests).
std::unordered_map<ino_t, std::string> SocketHolders(const std::unordered_set<ino_t>& inodes,
                                                     const std::string& proc = "/proc");

}  // namespace pytcp::pytcpd
