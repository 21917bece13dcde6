#!/usr/bin/env bash
# Static routes (issue 18 item 2). Usage: routes_lab_test.sh BUILD_DIR
#   The stack on 10.77.0.2/24 and fd77::2/64 with no default gateway, beside a kernel
#   namespace (10.77.0.3, fd77::3) configured the same way with `ip route`, as the
#   reference:
#   - no route to the far network: connect fails with the kernel's errno (ENETUNREACH);
#   - PYTCP_ROUTES="10.78.0.0/24 via 10.77.0.1 metric 5, fd78::/64 via fd77::1": curl fetches
#     the far host's page over IPv4 and IPv6, equal to the kernel's fetch;
#   - `pytcpctl show routes` prints the kernel's `ip route` and `ip -6 route` lines for the
#     same routes (the device and our address in place of the kernel's);
#   - `pytcpctl route del` makes a running program's connects fail as the kernel's do, and
#     `route add` gives the route back; a gateway on no connected network is refused by
#     both;
#   - a bad PYTCP_ROUTES stops the program with a message naming the variable.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB=$BUILD/shim/libpytcp.so
CTL=$BUILD/stack/tools/pytcpctl
lab_up "$(lab_unique_name routes)"
set -a; lab_load "$LAB_NAME"; set +a
lab_add_kernel_ns 10.77.0.3
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
ME=10.77.0.2
ROUTES="10.78.0.0/24 via $LAB_PEER_IP4 metric 5, fd78::/64 via fd77::1"
SHIM=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP4="$ME/24" PYTCP_IP6=fd77::2/64
      PYTCP_LOG=error PYTCP_STACK=process PYTCP_RUN_DIR="$TMP/run")
in_host() { lab_exec host "${SHIM[@]}" "$@"; }
in_kern() { ip netns exec "$LAB_KERN_NS" "$@"; }

# The kernel namespace as the stack: its address, IPv6 on, no default route.
in_kern sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
in_kern ip addr add fd77::3/64 dev veth-kk nodad
in_kern ip route del default

cat >"$TMP/connect.py" <<'PY'
import errno, socket, sys
try:
    socket.create_connection((sys.argv[1], 80), timeout=5).close()
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
PY

# --- no route ---
in_kern python3 "$TMP/connect.py" "$LAB_FAR_IP4" >"$TMP/kern-noroute.out" 2>&1 || true
in_host python3 "$TMP/connect.py" "$LAB_FAR_IP4" >"$TMP/noroute.out" 2>&1 || true
echo "no route: kernel $(cat "$TMP/kern-noroute.out"), PyTCP $(cat "$TMP/noroute.out")"
check "no route to the far network: connect fails as the kernel's ($(cat "$TMP/kern-noroute.out"))" \
  test "$(cat "$TMP/noroute.out")" = "$(cat "$TMP/kern-noroute.out")" -a "$(cat "$TMP/noroute.out")" != connected

# --- PYTCP_ROUTES, against the same routes in the kernel ---
in_kern ip route add 10.78.0.0/24 via "$LAB_PEER_IP4" metric 5
in_kern ip -6 route add fd78::/64 via fd77::1
in_kern curl -sS -m 10 -o "$TMP/kern-far.html" "http://$LAB_FAR_IP4/"
in_host env PYTCP_ROUTES="$ROUTES" curl -sS -m 10 -o "$TMP/far4.html" "http://$LAB_FAR_IP4/" \
  2>"$TMP/curl4.err" || true
# The stack's static IPv6 address is usable once DAD is over (1-2 s, RFC 4862 §5.4; the
# kernel's here has nodad), so curl tries again until then.
in_host env PYTCP_ROUTES="$ROUTES" curl -sS -m 10 --retry 8 --retry-all-errors --retry-delay 1 \
  -o "$TMP/far6.html" "http://[fd78::2]/" 2>"$TMP/curl6.err" || true
cat "$TMP/curl4.err" "$TMP/curl6.err"
kern_hash=$(sha256sum <"$TMP/kern-far.html")
check "PYTCP_ROUTES: curl reaches the far host over IPv4 (the kernel's page)" \
  test -s "$TMP/far4.html" -a "$(sha256sum <"$TMP/far4.html")" = "$kern_hash"
check "PYTCP_ROUTES: curl reaches the far host over IPv6" \
  test -s "$TMP/far6.html" -a "$(sha256sum <"$TMP/far6.html" 2>/dev/null)" = "$kern_hash"

# --- the console: show routes as ip route, route del and add on a running program ---
cat >"$TMP/prober.py" <<'PY'
import errno, socket, sys, time
last, end = None, time.monotonic() + 40
while time.monotonic() < end:
    try:
        socket.create_connection((sys.argv[1], 80), timeout=2).close()
        state = "connected"
    except OSError as e:
        state = errno.errorcode.get(e.errno, str(e.errno))
    if state != last:
        print(state, flush=True)
        last = state
    time.sleep(0.05)
PY
CONSOLE=$TMP/console.sock
lab_exec host "${SHIM[@]}" PYTCP_ROUTES="$ROUTES" PYTCP_CONSOLE="$CONSOLE" \
  python3 "$TMP/prober.py" "$LAB_FAR_IP4" >"$TMP/prober.out" 2>&1 &
PROBER=$!
lab_defer sh -c "kill $PROBER 2>/dev/null; true"
ctl() { "$CTL" -s "$CONSOLE" "$@"; }
# Waits until the prober's last state is $1 (10 s at most).
last_state_is() {
  for ((i = 0; i < 100; i++)); do
    [[ "$(tail -1 "$TMP/prober.out" 2>/dev/null)" == "$1" ]] && return 0
    sleep 0.1
  done
  return 1
}
check "the prober connects through the configured route" last_state_is connected

# fd77::/64 is on-link once the address passed DAD or the peer's RA said so (Linux shows
# one route for both, with the RA's lifetime).
for ((i = 0; i < 50; i++)); do
  ctl show routes >"$TMP/routes.out" 2>&1 || true
  grep -q '^fd77::/64 ' "$TMP/routes.out" && break
  sleep 0.1
done
cat "$TMP/routes.out"
# The kernel's lines for the same table, with its device and address replaced by ours.
{ in_kern ip route; in_kern ip -6 route show fd78::/64; in_kern ip -6 route show fd77::/64; } |
  sed -e "s/veth-kk/$LAB_TAP/g" -e "s/src 10\.77\.0\.3/src $ME/" -e 's/ *$//' |
  sed -E 's/ expires [0-9]+sec//' | sort >"$TMP/kern-routes.txt"
cat "$TMP/kern-routes.txt"
grep -Ev '^(fe80::|default via fe80)' "$TMP/routes.out" | sed -E -e 's/ *$//' -e 's/ expires [0-9]+sec//' |
  sort >"$TMP/our-routes.txt"
check "show routes prints the kernel's ip route lines for the same routes" \
  diff "$TMP/kern-routes.txt" "$TMP/our-routes.txt"

ctl route del 10.78.0.0/24 >"$TMP/del.out" 2>&1 || true
check "route del: done" has "$TMP/del.out" "^deleted 10.78.0.0/24$"
in_kern ip route del 10.78.0.0/24
in_kern python3 "$TMP/connect.py" "$LAB_FAR_IP4" >"$TMP/kern-deleted.out" 2>&1 || true
check "route del: the running program's connects now fail as the kernel's ($(cat "$TMP/kern-deleted.out"))" \
  last_state_is "$(cat "$TMP/kern-deleted.out")"
ctl route add 10.78.0.0/24 via "$LAB_PEER_IP4" metric 5 >"$TMP/add.out" 2>&1 || true
check "route add: done" has "$TMP/add.out" "^added 10.78.0.0/24 via $LAB_PEER_IP4 metric 5$"
check "route add: the program connects again" last_state_is connected
# A gateway on no connected network: Linux refuses it ("Nexthop has invalid gateway").
in_kern ip route add 10.78.0.128/25 via 10.78.0.1 >"$TMP/kern-badgw.out" 2>&1 && krc=0 || krc=$?
ctl route add 10.78.0.128/25 via 10.78.0.1 >"$TMP/badgw.out" 2>&1 && rc=0 || rc=$?
cat "$TMP/kern-badgw.out" "$TMP/badgw.out"
check "a gateway on no connected network is refused, as by the kernel" \
  test "$krc" != 0 -a "$rc" != 0 -a -n "$(grep 'Nexthop has invalid gateway' "$TMP/badgw.out")"
kill "$PROBER" 2>/dev/null || true
wait "$PROBER" 2>/dev/null || true

# --- bad configuration fails fast, naming the variable ---
in_host env PYTCP_ROUTES="10.78.0.0/24 via" python3 -c 'import socket; socket.socket()' \
  >"$TMP/bad.out" 2>&1 && rc=0 || rc=$?
cat "$TMP/bad.out"
check "a bad PYTCP_ROUTES stops the program with a message naming it" \
  test "$rc" != 0 -a -n "$(grep "PYTCP_ROUTES='10.78.0.0/24 via' is not valid: route '10.78.0.0/24 via': 'via' needs a value" "$TMP/bad.out")"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
