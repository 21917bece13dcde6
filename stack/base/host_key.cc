#include "stack/base/host_key.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace pytcp {
namespace {

constexpr std::string_view kHeader = "pytcp-host-key 1";
constexpr size_t kMaxFile = 256;

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::UnavailableError(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

// The whole of a small file, or nullopt.
std::optional<std::string> ReadSmall(int fd) {
  std::string out;
  char buf[kMaxFile + 1];
  while (out.size() <= kMaxFile) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
  return std::nullopt;
}

std::string Serialize(std::string_view boot, const HostKey& key) {
  std::string hex;
  for (uint8_t b : key) hex += fmt::format("{:02x}", b);
  return fmt::format("{}\nboot {}\nkey {}\n", kHeader, boot, hex);
}

// The key if `text` is a well-formed file of boot `boot`.
std::optional<HostKey> Parse(std::string_view text, std::string_view boot) {
  const std::string expect_prefix = fmt::format("{}\nboot {}\nkey ", kHeader, boot);
  if (!text.starts_with(expect_prefix)) return std::nullopt;
  text.remove_prefix(expect_prefix.size());
  if (text.size() != 2 * sizeof(HostKey) + 1 || text.back() != '\n') return std::nullopt;
  HostKey key{};
  for (size_t i = 0; i < key.size(); ++i) {
    uint8_t v = 0;
    for (char c : text.substr(2 * i, 2)) {
      v = static_cast<uint8_t>(v << 4);
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint8_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint8_t>(c - 'a' + 10);
      } else {
        return std::nullopt;
      }
    }
    key[i] = v;
  }
  return key;
}

absl::StatusOr<std::string> ReadBootId(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot read", path);
  auto text = ReadSmall(fd);
  close(fd);
  if (!text) return Errno("cannot read", path);
  while (!text->empty() && (text->back() == '\n' || text->back() == ' ')) text->pop_back();
  if (text->empty() || text->size() > 64 || text->find_first_of(" \n") != std::string::npos) {
    return absl::UnavailableError(fmt::format("{} holds no boot id", path));
  }
  return *text;
}

enum class Existing { kMissing, kOtherBoot, kFound };

// Reads `path`: the key of this boot, or why there is none.
absl::StatusOr<Existing> ReadExisting(const std::string& path, std::string_view boot,
                                      HostKey* key) {
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Existing::kMissing;
    return Errno("cannot open", path);
  }
  struct stat st{};
  const bool stat_ok = fstat(fd, &st) == 0;
  auto text = ReadSmall(fd);
  close(fd);
  if (!stat_ok || !text) return Errno("cannot read", path);
  // A key others can read or write is no secret: refuse it rather than use it.
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(
        fmt::format("{} is not a private file of uid {}", path, geteuid()));
  }
  if (auto k = Parse(*text, boot)) {
    *key = *k;
    return Existing::kFound;
  }
  return Existing::kOtherBoot;  // or damaged: either way it is replaced
}

// Writes a fresh key to a temporary file private to this process; returns its name.
absl::StatusOr<std::string> WriteTemporary(const std::string& path, std::string_view boot,
                                           HostKey* key) {
  if (getrandom(key->data(), key->size(), 0) != static_cast<ssize_t>(key->size())) {
    return absl::UnavailableError("getrandom failed");
  }
  const std::string tmp = fmt::format("{}.{}.tmp", path, getpid());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", tmp);
  const std::string text = Serialize(boot, *key);
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  if (!ok) {
    unlink(tmp.c_str());
    return Errno("cannot write", tmp);
  }
  return tmp;
}

}  // namespace

absl::StatusOr<HostKey> LoadOrCreateHostKey(const std::string& path,
                                            const std::string& boot_id_path) {
  auto boot = ReadBootId(boot_id_path);
  if (!boot.ok()) return boot.status();
  // The directory may not exist yet (/run is a tmpfs); only its owner may look inside.
  if (const size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    mkdir(path.substr(0, slash).c_str(), 0700);
  }
  // A few rounds: another program may create or replace the file between our steps.
  for (int attempt = 0; attempt < 4; ++attempt) {
    HostKey key{};
    auto existing = ReadExisting(path, *boot, &key);
    if (!existing.ok()) return existing.status();
    if (*existing == Existing::kFound) return key;
    auto tmp = WriteTemporary(path, *boot, &key);
    if (!tmp.ok()) return tmp.status();
    if (*existing == Existing::kMissing) {
      // link(2) fails with EEXIST if another program was first: O_EXCL for a whole file.
      const int rc = link(tmp->c_str(), path.c_str());
      const int err = errno;
      unlink(tmp->c_str());
      if (rc == 0) return key;
      if (err != EEXIST) {
        errno = err;
        return Errno("cannot create", path);
      }
      continue;  // read the winner's key
    }
    // Another boot's file: replace it in one step, then read back whichever key won (two
    // programs replacing it together converge on the last one renamed; the first may keep
    // its own until it exits — a window only a run directory on disk opens).
    if (rename(tmp->c_str(), path.c_str()) != 0) {
      const int err = errno;
      unlink(tmp->c_str());
      errno = err;
      return Errno("cannot replace", path);
    }
  }
  return absl::UnavailableError(fmt::format("{} keeps changing", path));
}

}  // namespace pytcp
