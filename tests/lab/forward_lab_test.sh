#!/usr/bin/env bash
# PyTCP forwarding IPv4 (PYTCP_FORWARDING=1; issue 18 item 3, on the one interface a stack
# has today). Usage: forward_lab_test.sh BUILD_DIR
#   A kernel namespace (10.77.0.3) routes the far network through PyTCP (10.77.0.2), and
#   the peer routes 10.77.0.3 back through PyTCP, so both directions cross it:
#   - ping (also 8000-byte pings, fragmented by the sender) reaches the far host;
#   - traceroute shows PyTCP as hop 1, the peer as hop 2 (Time Exceeded from each);
#   - curl fetches 10 MB across it, hash equal (the kernel's TSO/GRO frames forwarded as
#     coalesced frames, their partial checksums completed or left to the TAP);
#   - a kernel host that accepts redirects takes PyTCP's Redirect: its route to the far
#     host then goes straight to the peer (`ip route get`), for IPv4 and for IPv6 (RFC
#     4861 §8.2: the peer's link-local address as the target);
#   - the shared stack (pytcpd) forwards the same way.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB=$BUILD/shim/libpytcp.so
CTL=$BUILD/stack/tools/pytcpctl
lab_up "$(lab_unique_name fwd)"
set -a; lab_load "$LAB_NAME"; set +a
lab_add_kernel_ns 10.77.0.3
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
ME=10.77.0.2
RUN=$TMP/run
mkdir -p "$RUN"
chmod 700 "$RUN"
# The peer's link-local address (EUI-64 of its MAC, RFC 4291 appendix A): IPv6's router.
PEER_LL=$(python3 -c 'import ipaddress, sys; m = [int(x, 16) for x in sys.argv[1].split(":")]; m[0] ^= 2; print(ipaddress.IPv6Address(bytes([0xfe, 0x80] + [0] * 6 + m[:3] + [0xff, 0xfe] + m[3:])).compressed)' "$LAB_PEER_MAC")
SHIM=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP4="$ME/24" PYTCP_GW4="$LAB_PEER_IP4"
      PYTCP_IP6=fd77::2/64 PYTCP_GW6="$PEER_LL" PYTCP_LOG=error PYTCP_FORWARDING=1 PYTCP_RUN_DIR="$RUN"
      PYTCP_DAEMON="$BUILD/pytcpd/pytcpd" PYTCP_IDLE_EXIT=600)
in_kern() { ip netns exec "$LAB_KERN_NS" "$@"; }
lab_defer lab_stop_daemon "$RUN"

# Both directions through PyTCP; the kernel host takes no redirects until the last part.
in_kern sysctl -qw net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.veth-kk.accept_redirects=0
in_kern ip route add "$LAB_FAR_IP4/32" via "$ME"
ip -n "$LAB_PEER_NS" route add 10.77.0.3/32 via "$ME"
lab_defer ip -n "$LAB_PEER_NS" route del 10.77.0.3/32

# The router: a program under the shim that holds its stack (in-process, then shared).
# ROUTER is the program's pid (lab_stop_holder stops it).
start_router() {  # start_router process|shared
  lab_start_holder "${SHIM[@]}" PYTCP_STACK="$1" PYTCP_CONSOLE="$TMP/console-$1.sock"
  ROUTER=$LAB_HOLDER_PID
  lab_retry 50 in_kern ping -c 1 -W 1 "$ME"
}

run_checks() {  # run_checks LABEL
  local label=$1
  in_kern ping -c 3 -i 0.2 -W 2 "$LAB_FAR_IP4" >"$TMP/ping-$label.out" 2>&1 || true
  cat "$TMP/ping-$label.out"
  check "$label: ping the far host through PyTCP" has "$TMP/ping-$label.out" "3 packets transmitted, 3 received"
  # Crossing two routers both ways: TTL 64 - 2.
  check "$label: replies crossed two routers (ttl 62)" has "$TMP/ping-$label.out" "from $LAB_FAR_IP4: icmp_seq=3 ttl=62"
  in_kern ping -c 2 -i 0.2 -W 2 -s 8000 "$LAB_FAR_IP4" >"$TMP/bigping-$label.out" 2>&1 || true
  check "$label: 8000-byte pings (fragments) through PyTCP" has "$TMP/bigping-$label.out" "2 packets transmitted, 2 received"
  in_kern timeout 30 traceroute -n -q 1 -w 2 "$LAB_FAR_IP4" >"$TMP/tr-$label.out" 2>&1 || true
  cat "$TMP/tr-$label.out"
  check "$label: traceroute: hop 1 is PyTCP" has "$TMP/tr-$label.out" "^ 1  $ME "
  check "$label: traceroute: hop 2 the peer, hop 3 the far host" \
    eval "grep -qE '^ 2  $LAB_PEER_IP4 ' $TMP/tr-$label.out && grep -qE '^ 3  $LAB_FAR_IP4 ' $TMP/tr-$label.out"
  in_kern curl -sS -m 60 -o "$TMP/10M-$label.bin" "http://$LAB_FAR_IP4/10M.bin" 2>"$TMP/curl-$label.err" || true
  cat "$TMP/curl-$label.err"
  check "$label: curl 10 MB across PyTCP, hash equal" \
    test "$(sha256sum <"$TMP/10M-$label.bin" | cut -d' ' -f1)" = "$LAB_HTTP_10M_SHA256"
}

# --- in-process ---
check "the in-process router answers" start_router process
# First, while the router has sent this host no redirect yet (they back off per source):
# a host that takes redirects has its first packet forwarded and is told of the peer.
in_kern sysctl -qw net.ipv4.conf.all.accept_redirects=1 net.ipv4.conf.veth-kk.accept_redirects=1
in_kern ip route flush cache 2>/dev/null || true
in_kern ping -c 2 -i 0.3 -W 2 "$LAB_FAR_IP4" >"$TMP/ping-redirect.out" 2>&1 || true
in_kern ip route get "$LAB_FAR_IP4" >"$TMP/route-get.out" 2>&1 || true
cat "$TMP/route-get.out"
check "the kernel host took PyTCP's redirect: its route to the far host goes to the peer" \
  has "$TMP/route-get.out" "^$LAB_FAR_IP4 via $LAB_PEER_IP4 dev veth-kk"
in_kern sysctl -qw net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.veth-kk.accept_redirects=0
in_kern ip route flush cache 2>/dev/null || true
in_kern ip route del "$LAB_FAR_IP4/32"
in_kern ip route add "$LAB_FAR_IP4/32" via "$ME"

# IPv6 (RFC 4861 §8.2): the kernel host (fd77::3, no RAs taken) sends to the far host
# through PyTCP's link-local address; PyTCP forwards to the peer on the same link and
# redirects the host, whose route then goes to the peer's link-local address directly.
in_kern sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.veth-kk.disable_ipv6=0 \
  net.ipv6.conf.veth-kk.accept_ra=0 net.ipv6.conf.all.accept_redirects=1 \
  net.ipv6.conf.veth-kk.accept_redirects=1
in_kern ip -6 addr add fd77::3/64 dev veth-kk nodad
"$CTL" -s "$TMP/console-process.sock" show addresses >"$TMP/addrs6.out" 2>&1 || true
ME_LL=$(grep -oE 'fe80::[0-9a-f:]+' "$TMP/addrs6.out" | head -n 1 || true)
for ((i = 0; i < 30; i++)); do  # the host's own link-local address out of DAD
  in_kern ip -6 addr show dev veth-kk scope link | grep -q tentative || break
  sleep 0.1
done
in_kern ip -6 route add "$LAB_FAR_IP6/128" via "${ME_LL:-fe80::1}" dev veth-kk
in_kern ping -6 -c 2 -i 0.3 -W 2 "$LAB_FAR_IP6" >"$TMP/ping6-redirect.out" 2>&1 || true
cat "$TMP/ping6-redirect.out"
check "IPv6: the kernel host reaches the far host through PyTCP ($ME_LL)" \
  has "$TMP/ping6-redirect.out" "2 packets transmitted, 2 received"
in_kern ip -6 route get "$LAB_FAR_IP6" >"$TMP/route6-get.out" 2>&1 || true
cat "$TMP/route6-get.out"
check "IPv6: the kernel host took PyTCP's Redirect: its route to the far host goes to the peer ($PEER_LL)" \
  has "$TMP/route6-get.out" "^$LAB_FAR_IP6 from :: via $PEER_LL dev veth-kk"
run_checks process
"$CTL" -s "$TMP/console-process.sock" show counters --json >"$TMP/counters.json" 2>&1 || true
forwarded=$(python3 -c 'import json,sys; print({r["counter"]: r["value"] for r in json.load(open(sys.argv[1]))}.get("ip4.fwd_forwarded", 0))' "$TMP/counters.json" 2>/dev/null || echo 0)
# 10 MB both ways in 64 KB coalesced frames (GRO in, TSO out) is about 160 frames of data
# alone; each a datagram to the forwarding code.
check "the router counted what it forwarded ($forwarded datagrams, coalesced)" test "$forwarded" -gt 150

lab_stop_holder "$ROUTER"

# --- the shared stack: pytcpd started by the first program forwards ---
check "the shared stack's router answers" start_router shared
run_checks shared
lab_stop_holder "$ROUTER"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
