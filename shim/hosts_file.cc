#include "shim/hosts_file.h"

#include "shim/config_file.h"

namespace pytcp::shim {
namespace {

constexpr std::string_view kBlanks = " \t\r";

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::vector<HostsEntry> ParseHosts(std::string_view text) {
  std::vector<HostsEntry> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const auto f = SplitWords(line, kBlanks);
    if (f.size() < 2) continue;
    HostsEntry e;
    std::string_view addr = f[0];
    // A zone ("fe80::1%eth0") names an interface; the address is what is before it.
    if (const size_t pct = addr.find('%'); pct != std::string_view::npos) addr = addr.substr(0, pct);
    if (auto a4 = Ip4Address::Parse(addr)) {
      e.a4 = *a4;
    } else if (auto a6 = Ip6Address::Parse(addr)) {
      e.v6 = true;
      e.a6 = *a6;
    } else {
      continue;
    }
    e.canonical = std::string(f[1]);
    for (size_t i = 2; i < f.size(); ++i) e.aliases.emplace_back(f[i]);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<HostsEntry> ReadHosts(const char* path) {
  const std::optional<std::string> text = ReadConfigFile(path, size_t{1} << 22);
  return text ? ParseHosts(*text) : std::vector<HostsEntry>{};
}

std::optional<HostsMatch> LookupHosts(const std::vector<HostsEntry>& hosts, std::string_view name,
                                      bool v6) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::optional<HostsMatch> m;
  for (const HostsEntry& e : hosts) {
    if (e.v6 != v6) continue;
    bool hit = EqualsIgnoreCase(e.canonical, name);
    for (const auto& a : e.aliases) hit = hit || EqualsIgnoreCase(a, name);
    if (!hit) continue;
    if (!m) {
      m.emplace();
      m->canonical = e.canonical;
    }
    if (!EqualsIgnoreCase(e.canonical, m->canonical)) m->aliases.push_back(e.canonical);
    for (const auto& a : e.aliases) m->aliases.push_back(a);
    m->entries.push_back(e);
  }
  return m;
}

const HostsEntry* LookupHostsAddress(const std::vector<HostsEntry>& hosts, bool v6,
                                     const Ip4Address& a4, const Ip6Address& a6) {
  for (const HostsEntry& e : hosts) {
    if (e.v6 == v6 && (v6 ? e.a6 == a6 : e.a4 == a4)) return &e;
  }
  return nullptr;
}

}  // namespace pytcp::shim
