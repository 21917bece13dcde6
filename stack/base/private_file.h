#pragma once
// Files the stack creates for itself (pcap captures, the DHCP lease cache, the start lock
// and pid file of pytcpd) and the AF_UNIX sockets it listens on (console, daemon). A
// program under the shim may run as root, even system-wide from /etc/ld.so.preload, so
// none of these may become a way to overwrite or expose someone else's file:
//   - the last component is never followed if it is a symlink (O_NOFOLLOW), and an
//     existing file is used only if it is a regular file of ours with one link (a hard
//     link to /etc/shadow in /tmp is refused, not truncated);
//   - files are created 0600 (sockets 0600, or 0660 for a group) without touching the
//     process-wide umask, which other threads of the program share;
//   - a directory the stack picks itself must belong to us and be writable by nobody
//     else, so nobody can swap entries in it.
// Every function reports what is wrong in its Status, naming the path.

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pytcp {

// Makes `dir` (one level, `mode`) if it is missing, then checks it: a directory (not a
// symlink to one), owned by the effective user, not writable by group or others.
absl::Status EnsureOwnDirectory(const std::string& dir, mode_t mode = 0700);

// Opens `path` for writing (`flags`: O_WRONLY or O_RDWR, plus O_APPEND etc.), creating it
// 0600 if missing. An existing entry must be a regular file owned by the effective user
// with one link; its mode is set to 0600. `truncate` empties it after these checks (never
// O_TRUNC, which would truncate before them). The fd is O_CLOEXEC.
absl::StatusOr<int> OpenOwnFile(const std::string& path, int flags, bool truncate);

// Opens `path` for reading only if it is a regular file owned by the effective user (a
// lease cache planted by another user is not believed). O_CLOEXEC.
absl::StatusOr<int> OpenOwnFileForReading(const std::string& path);

// Replaces `path` with `contents` atomically: a fresh temporary file beside it (O_EXCL,
// 0600) renamed over it. rename() replaces a symlink at `path` rather than following it.
absl::Status ReplaceOwnFile(const std::string& path, const std::string& contents);

// Binds the AF_UNIX socket `fd` at `path` with permissions `mode` (0600, or 0660 to let a
// group in). Linux's bind takes the new node's mode from the socket's inode (minus the
// umask), so an fchmod before bind means the node is never more open than `mode`, with no
// window and no umask() call. A stale socket at `path` is removed first; anything else
// there (a file, a symlink, a directory) is refused, never unlinked.
absl::Status BindUnixSocket(int fd, const std::string& path, mode_t mode);

}  // namespace pytcp
