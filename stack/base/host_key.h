// A secret shared by every program and daemon of the host for one boot, kept in a private
// file that the first of them creates.
//
// TCP needs it (RFC 6528 §3, RFC 7323 §5.4, RFC 6191): ISNs and timestamp offsets must come
// from one key for the whole host, as Linux's net_secret and ts_secret do, or a program
// that reuses a four-tuple right after another program cannot be told apart from an old
// duplicate by a peer in TIME-WAIT. A per-process key made every such SYN look old at
// random, and each cost a second (issue 16).
//
// The file: "pytcp-host-key 1\nboot <boot id>\nkey <64 hex digits>\n", mode 0600, owned by
// the caller, created by link(2) from a private temporary file so that two programs
// starting together agree on one key (the loser of the race reads the winner's file). A
// file from another boot (/proc/sys/kernel/random/boot_id differs) is replaced: after a
// reboot the clocks restart, so the old key promises nothing. /run is a tmpfs and empties
// at boot anyway; the check matters for a PYTCP_RUN_DIR on disk.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace pytcp {

using HostKey = std::array<uint8_t, 32>;

inline constexpr const char* kBootIdPath = "/proc/sys/kernel/random/boot_id";

// Reads this boot's key from `path`, creating the file (and its directory, mode 0700) when
// it is missing or belongs to another boot. Fails when the file cannot be made or read, or
// is not private (another owner, or readable by others): the caller then uses a key of its
// own.
absl::StatusOr<HostKey> LoadOrCreateHostKey(const std::string& path,
                                            const std::string& boot_id_path = kBootIdPath);

}  // namespace pytcp
