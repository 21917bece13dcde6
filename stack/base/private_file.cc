#include "stack/base/private_file.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pytcp {
namespace {

absl::Status Errno(const std::string& what, const std::string& path, int err) {
  return absl::PermissionDeniedError(absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

// The checks on an opened file: it is ours, regular and not hard-linked elsewhere.
absl::Status CheckOwnRegular(int fd, const std::string& path, bool single_link) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return Errno("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return absl::PermissionDeniedError(path + " is not a regular file");
  if (st.st_uid != geteuid()) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, " belongs to uid ", st.st_uid, ", not to this process (uid ", geteuid(), ")"));
  }
  if (single_link && st.st_nlink != 1) {
    return absl::PermissionDeniedError(path + " has other hard links; refusing to write it");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status EnsureOwnDirectory(const std::string& dir, mode_t mode) {
  if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) return Errno("cannot create", dir, errno);
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) return Errno("cannot stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return absl::PermissionDeniedError(dir + " is not a directory");
  if (st.st_uid != geteuid()) {
    return absl::PermissionDeniedError(
        absl::StrCat(dir, " belongs to uid ", st.st_uid, ", not to this process (uid ", geteuid(), ")"));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(dir, " is writable by others (mode ", absl::Hex(st.st_mode & 07777), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> OpenOwnFile(const std::string& path, int flags, bool truncate) {
  const int fd = open(path.c_str(), flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    // ELOOP is what O_NOFOLLOW reports for a symlink.
    if (errno == ELOOP) return absl::PermissionDeniedError(path + " is a symlink; refusing to follow it");
    return Errno("cannot open", path, errno);
  }
  absl::Status s = CheckOwnRegular(fd, path, /*single_link=*/true);
  if (s.ok() && fchmod(fd, 0600) != 0) s = Errno("cannot chmod", path, errno);
  if (s.ok() && truncate && ftruncate(fd, 0) != 0) s = Errno("cannot truncate", path, errno);
  if (!s.ok()) {
    close(fd);
    return s;
  }
  return fd;
}

absl::StatusOr<int> OpenOwnFileForReading(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path, errno);
  if (absl::Status s = CheckOwnRegular(fd, path, /*single_link=*/false); !s.ok()) {
    close(fd);
    return s;
  }
  return fd;
}

absl::Status ReplaceOwnFile(const std::string& path, const std::string& contents) {
  // The pid makes the name ours; a leftover of a dead process with our pid is unlinked
  // (unlink removes a symlink itself, never its target) and O_EXCL makes a fresh file.
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  unlink(tmp.c_str());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", tmp, errno);
  const bool written = write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size());
  const int write_errno = errno;
  close(fd);
  if (!written) {
    unlink(tmp.c_str());
    return Errno("cannot write", tmp, write_errno);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    unlink(tmp.c_str());
    return Errno("cannot rename to", path, e);
  }
  return absl::OkStatus();
}

absl::Status BindUnixSocket(int fd, const std::string& path, mode_t mode) {
  sockaddr_un sun{};
  if (path.empty() || path.size() >= sizeof(sun.sun_path)) {
    return absl::InvalidArgumentError("socket path empty or too long: " + path);
  }
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::PermissionDeniedError(path + " exists and is not a socket; refusing to remove it");
    }
    unlink(path.c_str());  // a stale socket (the caller found nobody answering there)
  }
  if (fchmod(fd, mode) != 0) return Errno("cannot chmod the socket for", path, errno);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&sun), sizeof(sun)) != 0) {
    return Errno("cannot bind", path, errno);
  }
  // The umask may have taken bits that `mode` asks for (a group's write permission, which
  // connect() needs); adding them now opens nothing beyond `mode`. AT_SYMLINK_NOFOLLOW: had
  // the node been swapped for a symlink meanwhile, its target is not touched.
  if (fchmodat(AT_FDCWD, path.c_str(), mode, AT_SYMLINK_NOFOLLOW) != 0) {
    const int e = errno;
    unlink(path.c_str());
    return Errno("cannot chmod", path, e);
  }
  return absl::OkStatus();
}

}  // namespace pytcp
