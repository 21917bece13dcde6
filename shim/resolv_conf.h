// resolv.conf(5) as glibc's resolver reads it (resolv/res_init.c): the name servers, the
// search list and the options the shim's resolver honours.
//
// - "nameserver ADDR": IPv4 or IPv6 (an IPv6 link-local one may carry "%zone"); glibc uses
//   the first three (MAXNS) and so do we. None at all: glibc asks 127.0.0.1 (and so, under
//   the shim, the kernel's loopback, or the stack's with PYTCP_LOOPBACK=stack).
// - "search D..." and "domain D": the last of them wins; without either, the domain part of
//   the host name (glibc's default). The LOCALDOMAIN environment variable replaces them.
// - "options": ndots:N (default 1, at most 15), timeout:N seconds (default 5, at most 30),
//   attempts:N (default 2, at most 5), rotate, edns0; others (single-request, trust-ad,
//   use-vc, no-aaaa ...) are accepted and ignored, as an old glibc ignores a new option.
//   The RES_OPTIONS environment variable is read after the file and overrides it.
//
// Lines starting with '#' or ';' are comments; unknown keywords are ignored (glibc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shim/dns_client.h"

namespace pytcp::shim {

struct ResolvConf {
  static constexpr int kMaxNameservers = 3;  // glibc's MAXNS
  std::vector<DnsServer> nameservers;
  std::vector<std::string> search;
  int ndots = 1;
  int timeout_s = 5;  // glibc's RES_TIMEOUT
  int attempts = 2;   // glibc's RES_DFLRETRY
  bool rotate = false;
  bool edns0 = false;
};

// The file's text; the environment is not looked at.
ResolvConf ParseResolvConf(std::string_view text);
// One "options" line's words (also RES_OPTIONS' value) applied to `conf`.
void ApplyResolvOptions(std::string_view options, ResolvConf* conf);
// /etc/resolv.conf (or `path`) with LOCALDOMAIN, RES_OPTIONS and the host name's domain
// applied as glibc applies them.
ResolvConf ReadResolvConf(const char* path = "/etc/resolv.conf");

// The names a query for `name` tries, in order (glibc's res_nsearch): a name with a
// trailing dot is tried as it is and only so; a name with at least `ndots` dots is tried
// as it is first, then with each search domain; one with fewer dots with each search
// domain first, then as it is.
std::vector<std::string> SearchCandidates(std::string_view name, const ResolvConf& conf);

}  // namespace pytcp::shim
