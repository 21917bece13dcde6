#!/usr/bin/env bash
# PyTCP as a router between two interfaces (issue 18): one stack on tap7 (10.77.0.2, the
# lab's network, the peer 10.77.0.1 and beyond it the far host 10.78.0.2) and tap8
# (10.78.0.129/25, a kernel host B 10.78.0.130 behind it). PyTCP's tap8 has MTU 1400
# (PYTCP_MTU_tap8), smaller than the hosts': the bottleneck of every path through it.
# Usage: router_lab_test.sh BUILD_DIR
#   - B and the peer ping each other (TTL lowered once), also 8000-byte pings (fragments);
#   - a 1472-byte ping with DF from the peer to B gets "fragmentation needed, mtu 1400",
#     and the peer's kernel keeps that path MTU;
#   - traceroute from B to the far host shows PyTCP (its tap8 address) as hop 1;
#   - curl on B fetches 10 MB from the far host (hash equal): the far host's segments are
#     too big for B's link, PyTCP says so (RFC 1191) and path-MTU discovery settles at 1400;
#   - udhcpc on B's link takes a lease from PyTCP's DHCP server on tap8
#     (PYTCP_DHCP_SERVER_tap8): an address of the pool, PyTCP as router, /25, and the
#     address reaches the peer;
#   - `pytcpctl show interface|routes` list both interfaces;
#   - the shared stack (pytcpd) routes the same way;
#   - PYTCP_IP4_tap8=dhcp: PyTCP's tap8 leases an address from dnsmasq on B's link;
#   - IPv6 on both interfaces (PYTCP_IP6_tap8, PYTCP_RA=1), tap7's MTU 1400: B configures an
#     fd78::/64 address by SLAAC from PyTCP's advertisements on tap8 and takes PyTCP as its
#     default router; B and the peer ping each other (hop limit lowered, 8000-byte pings),
#     B's 1500-byte packets get Packet Too Big (mtu 1400), traceroute -6 shows PyTCP, curl
#     fetches 10 MB to B and B uploads 10 MB to the peer through path-MTU discovery (hashes
#     equal); the console lists tap8's IPv6 route, neighbour and addresses; in-process and
#     shared.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB=$BUILD/shim/libpytcp.so
CTL=$BUILD/stack/tools/pytcpctl
lab_up "$(lab_unique_name rtr)"
set -a; lab_load "$LAB_NAME"; set +a
lab_add_second_tap
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
ME=10.77.0.2
RUN=$TMP/run
mkdir -p "$RUN"
chmod 700 "$RUN"
SHIM=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP,$LAB_TAP2" PYTCP_IP4="$ME/24"
      PYTCP_IP4_tap8="$LAB_B_ROUTER_IP4/25" PYTCP_MTU_tap8=1400
      PYTCP_DHCP_SERVER_tap8=10.78.0.140-10.78.0.150,600 PYTCP_GW4="$LAB_PEER_IP4" PYTCP_IP6=none
      PYTCP_LOG=error PYTCP_FORWARDING=1 PYTCP_RUN_DIR="$RUN"
      PYTCP_DAEMON="$BUILD/pytcpd/pytcpd" PYTCP_IDLE_EXIT=600)
in_b() { ip netns exec "$LAB_B_NS" "$@"; }
lab_defer lab_stop_daemon "$RUN"

# B's network is inside the far host's /24: the peer and the far host reach it through
# PyTCP (fresh_routes).

start_router() {  # start_router process|shared; ROUTER is the program's pid
  lab_start_holder "${SHIM[@]}" PYTCP_STACK="$1" PYTCP_CONSOLE="$TMP/console-$1.sock"
  ROUTER=$LAB_HOLDER_PID
  lab_retry 50 in_b ping -c 1 -W 1 "$LAB_B_ROUTER_IP4"
}

# The kernel keeps a learned path MTU with the route's next hop: a route made anew has none.
fresh_routes() {
  ip -n "$LAB_PEER_NS" route del "$LAB_B_NET4" 2>/dev/null || true
  ip -n "$LAB_PEER_NS" route add "$LAB_B_NET4" via "$ME"
  ip -n "$LAB_FAR_NS" route del "$LAB_B_NET4" 2>/dev/null || true
  ip -n "$LAB_FAR_NS" route add "$LAB_B_NET4" via "$LAB_PEER_FAR_IP4"
}

# udhcpc's script: the lease's values into a file, the address onto the interface.
cat >"$TMP/udhcpc.sh" <<'SCRIPT'
#!/bin/sh
case "$1" in
  bound|renew)
    echo "ip=$ip subnet=$subnet router=$router serverid=$serverid lease=$lease" >"$LEASE_OUT"
    ip addr add "$ip/25" dev "$interface"
    ;;
esac
exit 0
SCRIPT
chmod +x "$TMP/udhcpc.sh"

dhcp_checks() {  # dhcp_checks LABEL
  local label=$1 ip
  in_b env LEASE_OUT="$TMP/lease-$label" timeout 30 \
    udhcpc -i veth-bb -f -q -n -t 5 -T 2 -s "$TMP/udhcpc.sh" >"$TMP/udhcpc-$label.out" 2>&1 || true
  cat "$TMP/lease-$label" 2>/dev/null || cat "$TMP/udhcpc-$label.out"
  check "$label: udhcpc on B's link got a lease from PyTCP on tap8" \
    has "$TMP/lease-$label" "^ip=10\.78\.0\.1(4[0-9]|50) subnet=255\.255\.255\.128 router=$LAB_B_ROUTER_IP4 serverid=$LAB_B_ROUTER_IP4 lease=600$"
  ip=$(sed -n 's/^ip=\([0-9.]*\) .*/\1/p' "$TMP/lease-$label" 2>/dev/null || true)
  in_b ping -c 2 -i 0.2 -W 2 -I "${ip:-10.78.0.140}" "$LAB_PEER_IP4" >"$TMP/dhcp-ping-$label.out" 2>&1 || true
  check "$label: the leased address reaches the peer across PyTCP" has "$TMP/dhcp-ping-$label.out" "2 packets transmitted, 2 received"
  "$CTL" -s "$TMP/console-$label.sock" show dhcp-leases >"$TMP/leases-$label.out" 2>&1 || true
  cat "$TMP/leases-$label.out"
  check "$label: show dhcp-leases: B's address bound on tap8 to its MAC" \
    has "$TMP/leases-$label.out" "^tap8 +${ip//./\\.} +$(in_b cat /sys/class/net/veth-bb/address) +bound +[0-9]+"
  [[ -n $ip ]] && ip -n "$LAB_B_NS" addr del "$ip/25" dev veth-bb 2>/dev/null || true
}

run_checks() {  # run_checks LABEL
  local label=$1
  fresh_routes
  dhcp_checks "$label"
  in_b ping -c 3 -i 0.2 -W 2 "$LAB_PEER_IP4" >"$TMP/ping-$label.out" 2>&1 || true
  cat "$TMP/ping-$label.out"
  check "$label: B pings the peer across PyTCP (ttl 63)" has "$TMP/ping-$label.out" "from $LAB_PEER_IP4: icmp_seq=3 ttl=63"
  lab_exec peer ping -c 3 -i 0.2 -W 2 "$LAB_B_IP4" >"$TMP/pingb-$label.out" 2>&1 || true
  check "$label: the peer pings B across PyTCP" has "$TMP/pingb-$label.out" "3 packets transmitted, 3 received"
  in_b ping -c 2 -i 0.2 -W 2 -s 8000 "$LAB_PEER_IP4" >"$TMP/bigping-$label.out" 2>&1 || true
  check "$label: 8000-byte pings (fragments) from B" has "$TMP/bigping-$label.out" "2 packets transmitted, 2 received"
  lab_exec peer ping -c 2 -i 0.2 -W 2 -s 8000 "$LAB_B_IP4" >"$TMP/bigpingb-$label.out" 2>&1 || true
  check "$label: 8000-byte pings to B (fragments re-cut for its MTU)" has "$TMP/bigpingb-$label.out" "2 packets transmitted, 2 received"
  lab_exec peer ping -c 2 -i 0.3 -W 2 -M do -s 1472 "$LAB_B_IP4" >"$TMP/df-$label.out" 2>&1 || true
  cat "$TMP/df-$label.out"
  check "$label: DF too big for tap8: fragmentation needed, mtu 1400" \
    eval "grep -qE 'mtu ?= ?1400' $TMP/df-$label.out"
  ip -n "$LAB_PEER_NS" route get "$LAB_B_IP4" >"$TMP/peer-pmtu-$label.out" 2>&1 || true
  check "$label: the peer's kernel keeps B's path MTU (1400)" has "$TMP/peer-pmtu-$label.out" "mtu 1400"
  in_b timeout 30 traceroute -n -q 1 -w 2 "$LAB_FAR_IP4" >"$TMP/tr-$label.out" 2>&1 || true
  cat "$TMP/tr-$label.out"
  check "$label: traceroute: hop 1 is PyTCP's tap8 address" has "$TMP/tr-$label.out" "^ 1  $LAB_B_ROUTER_IP4 "
  check "$label: traceroute: then the peer and the far host" \
    eval "grep -qE '^ 2  $LAB_PEER_IP4 ' $TMP/tr-$label.out && grep -qE '^ 3  $LAB_FAR_IP4 ' $TMP/tr-$label.out"
  in_b curl -sS -m 60 -o "$TMP/10M-$label.bin" "http://$LAB_FAR_IP4/10M.bin" 2>"$TMP/curl-$label.err" || true
  cat "$TMP/curl-$label.err"
  check "$label: curl 10 MB from the far host to B across PyTCP, hash equal" \
    test "$(sha256sum <"$TMP/10M-$label.bin" | cut -d' ' -f1)" = "$LAB_HTTP_10M_SHA256"
  ip -n "$LAB_FAR_NS" route get "$LAB_B_IP4" >"$TMP/pmtu-$label.out" 2>&1 || true
  cat "$TMP/pmtu-$label.out"
  check "$label: the far host learned B's path MTU from PyTCP (1400)" has "$TMP/pmtu-$label.out" "mtu 1400"
}

# --- in-process ---
check "the in-process router answers on tap8" start_router process
run_checks process
"$CTL" -s "$TMP/console-process.sock" show interface >"$TMP/iface.out" 2>&1 || true
cat "$TMP/iface.out"
check "show interface: both TAPs, tap8 with its own MTU" \
  eval "grep -qE '^$LAB_TAP +[0-9a-f:]{17} +1500 ' $TMP/iface.out && grep -qE '^tap8 +[0-9a-f:]{17} +1400 ' $TMP/iface.out"
"$CTL" -s "$TMP/console-process.sock" show routes >"$TMP/routes.out" 2>&1 || true
cat "$TMP/routes.out"
check "show routes: tap8's connected network" has "$TMP/routes.out" "^10.78.0.128/25 dev tap8 proto kernel scope link src $LAB_B_ROUTER_IP4"
"$CTL" -s "$TMP/console-process.sock" show counters --json >"$TMP/counters.json" 2>&1 || true
toobig=$(python3 -c 'import json,sys; print({r["counter"]: r["value"] for r in json.load(open(sys.argv[1]))}.get("ip4.fwd_drop_too_big", 0))' "$TMP/counters.json" 2>/dev/null || echo 0)
check "the router sent fragmentation needed ($toobig times)" test "$toobig" -gt 0
lab_stop_holder "$ROUTER"

# --- the shared stack: pytcpd, started by the first program, routes ---
check "the shared stack's router answers on tap8" start_router shared
run_checks shared
lab_stop_holder "$ROUTER"

# --- IPv6 across the router (both interfaces, PYTCP_IP6_tap8): PyTCP is fd77::2 on tap7
# (MTU 1400 there now, the bottleneck of B's uploads) and fd78::1/64 on tap8, advertising
# fd78::/64 there (PYTCP_RA). B configures itself by SLAAC from those advertisements and
# reaches the peer; the peer reaches B through PyTCP. The far link's fd78::/64 is taken
# off the peer for this part: B's network is fd78::/64 now. ---
ip -n "$LAB_PEER_NS" -6 addr del "$LAB_PEER_FAR_IP6/64" dev veth-pf 2>/dev/null || true
ip -n "$LAB_PEER_NS" -6 route replace fd78::/64 via fd77::2
in_b sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.veth-bb.disable_ipv6=0 \
  net.ipv6.conf.veth-bb.accept_ra=2 net.ipv6.conf.veth-bb.autoconf=1 net.ipv6.conf.veth-bb.accept_dad=0
SHIM6=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP,$LAB_TAP2" PYTCP_IP4="$ME/24" PYTCP_MTU=1400
       PYTCP_IP4_tap8="$LAB_B_ROUTER_IP4/25" PYTCP_IP6=fd77::2/64 PYTCP_IP6_tap8=fd78::1/64
       PYTCP_GW4="$LAB_PEER_IP4" PYTCP_LOG=error PYTCP_FORWARDING=1 PYTCP_RA=1 PYTCP_RUN_DIR="$RUN"
       PYTCP_DAEMON="$BUILD/pytcpd/pytcpd" PYTCP_IDLE_EXIT=600)
head -c 10000000 /dev/urandom >"$TMP/up.bin"
UP_SHA=$(sha256sum <"$TMP/up.bin" | cut -d' ' -f1)

too_big6() {  # too_big6 LABEL: PyTCP's count of Packet Too Big sent while forwarding
  "$CTL" -s "$TMP/console6-$1.sock" show counters --json 2>/dev/null |
    python3 -c 'import json,sys; print({r["counter"]: r["value"] for r in json.load(sys.stdin)}.get("ip6.fwd_drop_too_big", 0))' 2>/dev/null ||
    echo 0
}

run_checks6() {  # run_checks6 process|shared
  local label=$1 slaac="" i
  lab_start_holder "${SHIM6[@]}" PYTCP_STACK="$label" PYTCP_CONSOLE="$TMP/console6-$label.sock"
  ROUTER=$LAB_HOLDER_PID
  in_b ip -6 addr flush dev veth-bb scope global 2>/dev/null || true
  in_b ip -6 route flush cache 2>/dev/null || true  # the path MTU an earlier run taught
  for ((i = 0; i < 200; i++)); do  # PyTCP's first RA on tap8 comes within a second or two
    slaac=$(in_b ip -6 -o addr show dev veth-bb scope global | grep -oE 'fd78::[0-9a-f:]+' | head -n 1 || true)
    [[ -n $slaac ]] && break
    sleep 0.1
  done
  in_b ip -6 addr show dev veth-bb >"$TMP/b-addr6-$label.out" 2>&1 || true
  in_b ip -6 route show default >"$TMP/b-route6-$label.out" 2>&1 || true
  cat "$TMP/b-addr6-$label.out" "$TMP/b-route6-$label.out"
  check "$label v6: B formed an fd78::/64 address by SLAAC from PyTCP's tap8 advertisement ($slaac)" test -n "$slaac"
  check "$label v6: B's default route is PyTCP's tap8 link-local address" \
    has "$TMP/b-route6-$label.out" "^default via fe80::[0-9a-f:]+ dev veth-bb proto ra"
  # PyTCP's fd77::2 is usable (its route to the peer's network with it) once DAD is over.
  lab_retry 50 in_b ping -6 -c 1 -W 1 "$LAB_PEER_IP6"
  in_b ping -6 -c 2 -i 0.3 -W 2 -M do -s 1452 "$LAB_PEER_IP6" >"$TMP/ptb-$label.out" 2>&1 || true
  cat "$TMP/ptb-$label.out"
  check "$label v6: 1500 bytes toward tap7 (MTU 1400): Packet too big, mtu 1400" \
    eval "grep -qiE 'packet too big: ?mtu ?= ?1400' $TMP/ptb-$label.out"
  in_b ip -6 route get "$LAB_PEER_IP6" >"$TMP/b-pmtu-$label.out" 2>&1 || true
  check "$label v6: B's kernel keeps the peer's path MTU (1400)" has "$TMP/b-pmtu-$label.out" "mtu 1400"
  in_b ping -6 -c 3 -i 0.2 -W 2 "$LAB_PEER_IP6" >"$TMP/ping6-$label.out" 2>&1 || true
  cat "$TMP/ping6-$label.out"
  check "$label v6: B pings the peer across PyTCP (hop limit 63)" has "$TMP/ping6-$label.out" "from $LAB_PEER_IP6: icmp_seq=3 ttl=63"
  lab_exec peer ping -6 -c 3 -i 0.2 -W 2 "${slaac:-fd78::1234}" >"$TMP/ping6b-$label.out" 2>&1 || true
  check "$label v6: the peer pings B's SLAAC address across PyTCP" has "$TMP/ping6b-$label.out" "3 packets transmitted, 3 received"
  in_b ping -6 -c 2 -i 0.2 -W 2 -s 8000 "$LAB_PEER_IP6" >"$TMP/bigping6-$label.out" 2>&1 || true
  check "$label v6: 8000-byte pings (B's fragments) across PyTCP" has "$TMP/bigping6-$label.out" "2 packets transmitted, 2 received"
  in_b timeout 30 traceroute -6 -n -q 1 -w 2 "$LAB_PEER_IP6" >"$TMP/tr6-$label.out" 2>&1 || true
  cat "$TMP/tr6-$label.out"
  check "$label v6: traceroute: hop 1 is PyTCP's tap8 address, then the peer" \
    eval "grep -qE '^ 1  fd78::1 ' $TMP/tr6-$label.out && grep -qE '^ 2  $LAB_PEER_IP6 ' $TMP/tr6-$label.out"
  in_b curl -6 -sS -m 60 -o "$TMP/10M6-$label.bin" "http://[$LAB_PEER_IP6]/10M.bin" 2>"$TMP/curl6-$label.err" || true
  cat "$TMP/curl6-$label.err"
  check "$label v6: curl 10 MB from the peer to B across PyTCP, hash equal" \
    test "$(sha256sum <"$TMP/10M6-$label.bin" | cut -d' ' -f1)" = "$LAB_HTTP_10M_SHA256"
  # B's upload: full-size segments toward a 1400-byte link, Packet Too Big, and TCP's
  # path-MTU discovery on B (RFC 8201) settles; the peer receives every byte.
  ip netns exec "$LAB_PEER_NS" timeout 60 nc -6 -l -p 9100 >"$TMP/up-$label.bin" 2>/dev/null &
  local sink=$!
  lab_retry 50 eval "ip netns exec $LAB_PEER_NS ss -ltn | grep -q ':9100 '"
  in_b ip -6 route flush cache 2>/dev/null || true
  local toobig_before toobig_after
  toobig_before=$(too_big6 "$label")
  in_b timeout 60 nc -6 -N "$LAB_PEER_IP6" 9100 <"$TMP/up.bin" >/dev/null 2>&1 || true
  wait "$sink" 2>/dev/null || true
  toobig_after=$(too_big6 "$label")
  check "$label v6: B uploads 10 MB to the peer across PyTCP's 1400-byte link, hash equal" \
    test "$(sha256sum <"$TMP/up-$label.bin" | cut -d' ' -f1)" = "$UP_SHA"
  check "$label v6: the upload's full-size segments got Packet Too Big ($toobig_before -> $toobig_after)" \
    test "$toobig_after" -gt "$toobig_before"
  "$CTL" -s "$TMP/console6-$label.sock" show routes >"$TMP/routes6-$label.out" 2>&1 || true
  "$CTL" -s "$TMP/console6-$label.sock" show neighbours >"$TMP/neigh6-$label.out" 2>&1 || true
  "$CTL" -s "$TMP/console6-$label.sock" show addresses >"$TMP/addr6-$label.out" 2>&1 || true
  cat "$TMP/routes6-$label.out" "$TMP/neigh6-$label.out" "$TMP/addr6-$label.out"
  check "$label v6: show routes: fd78::/64 on tap8" has "$TMP/routes6-$label.out" "^fd78::/64 dev tap8 proto kernel"
  check "$label v6: show neighbours: B's SLAAC address on tap8" has "$TMP/neigh6-$label.out" "^${slaac:-none} .* tap8$"
  check "$label v6: show addresses: fd78::1/64 and a link-local address on tap8" \
    eval "grep -qE '^inet6 +fd78::1/64 .* tap8$' $TMP/addr6-$label.out && grep -qE '^inet6 +fe80::[0-9a-f:]+/64 .* tap8$' $TMP/addr6-$label.out"
  if [[ $label == shared ]]; then
    # Another program of the host sees both of the daemon's interfaces in getifaddrs
    # (hostname -I under the shim).
    ip netns exec "$LAB_HOST_NS" "${SHIM6[@]}" PYTCP_STACK=shared hostname -I >"$TMP/hostname-I.out" 2>&1 || true
    cat "$TMP/hostname-I.out"
    check "shared: getifaddrs (hostname -I) lists both interfaces' addresses" \
      eval "grep -qw '$ME' $TMP/hostname-I.out && grep -qw '$LAB_B_ROUTER_IP4' $TMP/hostname-I.out && grep -qw fd77::2 $TMP/hostname-I.out && grep -qw fd78::1 $TMP/hostname-I.out"
  fi
  lab_stop_holder "$ROUTER"
  lab_stop_daemon "$RUN"
}

lab_stop_daemon "$RUN"  # the shared run's pytcpd still holds the TAPs

# --- A DHCP client on the further interface (PYTCP_IP4_tap8=dhcp): dnsmasq on B serves
# B's link; PyTCP's tap8 takes a lease there while tap7 stays static. ---
in_b dnsmasq --keep-in-foreground --port=0 --interface=veth-bb --bind-interfaces \
  --dhcp-range=10.78.0.200,10.78.0.210,255.255.255.128,600 --dhcp-option=3,"$LAB_B_IP4" \
  --dhcp-leasefile="$TMP/b.leases" --pid-file="$TMP/b-dnsmasq.pid" --log-facility=- \
  >"$TMP/b-dnsmasq.log" 2>&1 &
B_DNSMASQ=$!
lab_defer sh -c "kill $B_DNSMASQ 2>/dev/null; true"
lab_start_holder env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP,$LAB_TAP2" PYTCP_IP4="$ME/24" \
  PYTCP_IP4_tap8=dhcp PYTCP_IP6=none PYTCP_DHCP_CACHE=none PYTCP_LOG=error \
  PYTCP_CONSOLE="$TMP/console-dhcpc.sock"
leased=""
for ((i = 0; i < 100; i++)); do
  leased=$("$CTL" -s "$TMP/console-dhcpc.sock" show addresses 2>/dev/null |
           sed -n 's|^inet *\(10\.78\.0\.2[01][0-9]\)/25 .*dhcp *tap8$|\1|p' | head -n 1 || true)
  [[ -n $leased ]] && break
  sleep 0.1
done
"$CTL" -s "$TMP/console-dhcpc.sock" show addresses >"$TMP/dhcpc-addr.out" 2>&1 || true
cat "$TMP/dhcpc-addr.out" "$TMP/b.leases" 2>/dev/null || true
check "dhcp on tap8: PyTCP's further interface leased an address from B's dnsmasq ($leased)" test -n "$leased"
check "dhcp on tap8: tap7 kept its static address" has "$TMP/dhcpc-addr.out" "^inet +$ME/24 .* static +$LAB_TAP$"
tap8_mac=$("$CTL" -s "$TMP/console-dhcpc.sock" show interface 2>/dev/null | awk '$1 == "tap8" {print $2}' || true)
check "dhcp on tap8: dnsmasq's lease is PyTCP's tap8 MAC ($tap8_mac) with that address" \
  has "$TMP/b.leases" "^[0-9]+ ${tap8_mac:-none} ${leased:-none} "
# The lease is taken before its conflict check has announced it: B's first ARP may race
# PyTCP's probes, so the first answer may take a moment (as for any fresh address).
lab_retry 30 in_b ping -c 1 -W 1 "${leased:-10.78.0.200}" || true
in_b ping -c 2 -i 0.2 -W 2 "${leased:-10.78.0.200}" >"$TMP/dhcpc-ping.out" 2>&1 || true
cat "$TMP/dhcpc-ping.out"
check "dhcp on tap8: B pings PyTCP's leased address" has "$TMP/dhcpc-ping.out" "2 packets transmitted, 2 received"
lab_stop_holder "$LAB_HOLDER_PID"
kill "$B_DNSMASQ" 2>/dev/null || true

run_checks6 process
run_checks6 shared

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
