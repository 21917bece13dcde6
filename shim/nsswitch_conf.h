// The "hosts" line of nsswitch.conf(5): which sources answer host names and addresses, in
// which order, and when to stop (glibc's nss/nsswitch.c and nss_action_parse.c).
//
// The shim answers names itself (glibc's own modules send their queries with internal
// socket calls that interposition cannot see), so it knows two sources: "files"
// (/etc/hosts) and "dns". Any other source (mdns4_minimal, myhostname, resolve,
// mymachines, nis, ...) is skipped as glibc skips a module it cannot load: it counts as
// UNAVAIL, so its "[NOTFOUND=return]" never fires (Debian's "files mdns4_minimal
// [NOTFOUND=return] dns" still reaches dns).
//
// Criteria: "[STATUS=ACTION ...]" after a source, STATUS one of success notfound unavail
// tryagain (case-insensitive), optionally negated with '!' (every other status), ACTION
// return or continue (merge is for groups and counts as continue). The defaults: return
// on success, continue otherwise.
//
// Without the file or without a hosts line, glibc's default applies: "dns [!UNAVAIL=return]
// files".
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pytcp::shim {

enum class NssStatus : uint8_t { kSuccess, kNotFound, kUnavail, kTryAgain };
enum class NssSource : uint8_t { kFiles, kDns, kOther };

struct NssStep {
  NssSource source = NssSource::kOther;
  std::string name;
  // Indexed by NssStatus: true = return after this source with that status.
  std::array<bool, 4> stop = {true, false, false, false};
  bool ShouldReturn(NssStatus s) const { return stop[static_cast<size_t>(s)]; }
};

// The hosts line of the file's text (glibc's default when it has none).
std::vector<NssStep> ParseNsswitchHosts(std::string_view text);
// /etc/nsswitch.conf (or `path`).
std::vector<NssStep> ReadNsswitchHosts(const char* path = "/etc/nsswitch.conf");

}  // namespace pytcp::shim
