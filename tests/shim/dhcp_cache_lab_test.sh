#!/usr/bin/env bash
# A DHCP lease cache from another network (issue 19 item 2). Usage:
# dhcp_cache_lab_test.sh BUILD_DIR
#   - the cache names 192.168.99.50 from server and router 192.168.99.1 (file content only:
#     nothing is sent to that network; the only DHCP traffic is the broadcast RFC 2131
#     prescribes, inside the lab's namespaces). The next preloaded program (curl, DHCP only)
#     still gets a lab address and fetches a page from the peer, within 2 s in all;
#   - the stale cache is replaced by the lab's lease, and the program after that starts
#     from it (INIT-REBOOT answered by the peer's dnsmasq).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB=$BUILD/shim/libpytcp.so
lab_up "$(lab_unique_name dhcpc)"
set -a; lab_load "$LAB_NAME"; set +a
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
CACHE=$TMP/dhcp4.lease
SHIM=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP6=none PYTCP_DHCP_CACHE="$CACHE"
      PYTCP_LOG=warn,dhcp4=debug)

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"

cat >"$CACHE" <<LEASE
pytcp-dhcp4-lease 1
address 192.168.99.50/24
server 192.168.99.1
router 192.168.99.1
dns 192.168.99.1
lease 86400
t1 43200
t2 75600
expires $(( $(date +%s) + 86400 ))
LEASE

fetch() {  # fetch LOG: curl under the shim, DHCP only; prints the HTTP code and the time
  lab_exec host "${SHIM[@]}" timeout 20 curl -sS -o /dev/null -w '%{http_code}' \
    "http://$LAB_PEER_IP4/index.html" 2>"$1" || true
}
start=$(date +%s%N)
code=$(fetch "$TMP/stale.log")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "stale cache from 192.168.99.0/24: curl gets the page (HTTP $code)" test "$code" = 200
check "stale cache: the whole run took under 2 s (${ms} ms)" test "$ms" -lt 2000
# What the client met: a NAK (an authoritative server, as the lab's dnsmasq) or silence.
grep -E "NAK|no answer|stale|leased" "$TMP/stale.log" | sed 's/^/    /' | head -8 || true
check "the stale cache is replaced by the lab's lease" \
  grep -Eq "^address 10\.77\.0\.[0-9]+/24$" "$CACHE"
check "the new cache names the peer as server" grep -q "^server $LAB_PEER_IP4$" "$CACHE"
start=$(date +%s%N)
code=$(fetch "$TMP/fresh.log")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "next program starts from the new cache (HTTP $code, ${ms} ms)" test "$code" = 200
check "  by INIT-REBOOT: a REQUEST first, no DISCOVER" \
  bash -c "grep -q 'tx type 3 ' '$TMP/fresh.log' && ! grep -q 'tx type 1 ' '$TMP/fresh.log'"

echo "dhcp cache lab: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
