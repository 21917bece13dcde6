// /etc/hosts (hosts(5)): one address per line followed by its canonical name and aliases;
// '#' starts a comment. Lookups compare names case-insensitively (RFC 4343), as glibc's
// files backend does.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/net/ip4_address.h"
#include "stack/net/ip6_address.h"

namespace pytcp::shim {

struct HostsEntry {
  bool v6 = false;
  Ip4Address a4;
  Ip6Address a6;
  std::string canonical;
  std::vector<std::string> aliases;
};

// Unparseable lines are skipped, as glibc skips them.
std::vector<HostsEntry> ParseHosts(std::string_view text);
// The hosts file's entries (empty when it cannot be read).
std::vector<HostsEntry> ReadHosts(const char* path = "/etc/hosts");

// What the hosts file says about `name` for one family: the addresses in file order, the
// canonical name of the first matching line and the other names of the matching lines.
struct HostsMatch {
  std::string canonical;
  std::vector<std::string> aliases;
  std::vector<HostsEntry> entries;  // the matching lines
};
std::optional<HostsMatch> LookupHosts(const std::vector<HostsEntry>& hosts, std::string_view name,
                                      bool v6);
// The first line with this address (reverse lookup).
const HostsEntry* LookupHostsAddress(const std::vector<HostsEntry>& hosts, bool v6,
                                     const Ip4Address& a4, const Ip6Address& a6);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace pytcp::shim
