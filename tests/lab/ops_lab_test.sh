#!/usr/bin/env bash
# Operability in the lab (issue 8). Usage: ops_lab_test.sh BUILD_DIR
#   - Debian's unmodified ping (iputils) under the shim in the host namespace: it opens an
#     ICMP ping socket in the stack; replies from the peer and from the far network, and
#     "Time to live exceeded" from the peer with -t 1 (IP_TTL, IP_RECVERR, MSG_ERRQUEUE);
#   - Debian's unmodified traceroute (UDP probes, IP_RECVERR): hop 1 the peer, hop 2 the
#     far host, as a kernel host would show them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB=$BUILD/shim/libpytcp.so
lab_up "$(lab_unique_name ops)"
set -a; lab_load "$LAB_NAME"; set +a
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
ME=10.77.0.2
SHIM=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP4="$ME/24" PYTCP_GW4="$LAB_PEER_IP4"
      PYTCP_IP6=none)

passed=0; failed=0
check() {  # check NAME CMD...
  local name=$1; shift
  if "$@"; then echo "ok   - $name"; passed=$((passed + 1)); else echo "FAIL - $name"; failed=$((failed + 1)); fi
}
in_host() { lab_exec host "${SHIM[@]}" "$@"; }
has() { grep -qE "$2" "$1"; }  # has FILE REGEX

# --- ping and traceroute, unmodified, through the stack ---
in_host timeout 20 ping -c 3 -i 0.2 -W 2 "$LAB_PEER_IP4" >"$TMP/ping.out" 2>&1 || true
cat "$TMP/ping.out"
check "ping -c 3 the peer: 3 replies" has "$TMP/ping.out" "3 packets transmitted, 3 received"
check "ping: replies carry the peer's TTL" has "$TMP/ping.out" "from $LAB_PEER_IP4: icmp_seq=3 ttl=64"
in_host timeout 20 ping -c 2 -i 0.2 -W 2 "$LAB_FAR_IP4" >"$TMP/ping-far.out" 2>&1 || true
check "ping the far host through the gateway (ttl 63)" has "$TMP/ping-far.out" "from $LAB_FAR_IP4: icmp_seq=2 ttl=63"
in_host timeout 20 ping -c 2 -i 0.2 -W 2 -t 1 "$LAB_FAR_IP4" >"$TMP/ping-ttl.out" 2>&1 || true
cat "$TMP/ping-ttl.out"
check "ping -t 1: Time to live exceeded from the peer" \
  has "$TMP/ping-ttl.out" "From $LAB_PEER_IP4 icmp_seq=2 Time to live exceeded"
check "ping: no warnings about unsupported options" eval "! grep -q WARNING $TMP/ping.out"
in_host timeout 40 traceroute -n -w 2 -q 2 "$LAB_FAR_IP4" >"$TMP/tr.out" 2>&1 || true
cat "$TMP/tr.out"
check "traceroute: hop 1 is the peer" has "$TMP/tr.out" "^ 1  $LAB_PEER_IP4 "
check "traceroute: hop 2 is the far host, and the last" has "$TMP/tr.out" "^ 2  $LAB_FAR_IP4 "
check "traceroute: no hop 3" eval "! grep -q '^ 3 ' $TMP/tr.out"

echo "ops lab: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
