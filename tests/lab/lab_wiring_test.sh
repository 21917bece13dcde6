#!/usr/bin/env bash
# The lab's wiring, without PyTCP: scripts/lab up gives the namespaces, addresses, routes
# and services DESIGN.md promises, the kernel in the host namespace is mute, and
# scripts/lab down leaves nothing behind (no namespace, interface, process or state).
set -euo pipefail
# shellcheck source=../../scripts/lib/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() { echo "ok: $*"; }

our_links() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort; }
links_before=$(our_links)

lab_up "$(lab_unique_name wiring)"
ok "lab $LAB_NAME up"
for ns in "$LAB_HOST_NS" "$LAB_PEER_NS" "$LAB_FAR_NS"; do
  [[ -e /run/netns/$ns ]] || fail "namespace $ns missing"
done

# Host namespace: bridge with tap7 and the veth; no kernel addresses, IPv6 off.
for dev in "$LAB_BRIDGE" "$LAB_TAP" "$LAB_HOST_VETH"; do
  addrs=$(lab_exec host ip -o addr show dev "$dev")
  [[ -z $addrs ]] || fail "kernel has addresses on $dev in the host namespace: $addrs"
  [[ $(lab_exec host sysctl -n "net.ipv6.conf.$dev.disable_ipv6") == 1 ]] ||
    fail "IPv6 is not disabled on $dev"
done
for dev in "$LAB_TAP" "$LAB_HOST_VETH"; do
  lab_exec host ip -o link show dev "$dev" | grep -q "master $LAB_BRIDGE" ||
    fail "$dev is not on $LAB_BRIDGE"
done
tapinfo=$(lab_exec host ip -d link show dev "$LAB_TAP")
grep -q "tun type tap" <<<"$tapinfo" && grep -q "persist on" <<<"$tapinfo" ||
  fail "$LAB_TAP is not a persistent TAP device: $tapinfo"
lab_exec host ip route show | grep -q . && fail "the host namespace has IPv4 routes"
ok "host namespace: $LAB_TAP and $LAB_HOST_VETH on $LAB_BRIDGE, no addresses, IPv6 off"

# The bridge carries frames: put a temporary kernel address on it and ping it from peer.
lab_exec host ip addr add 10.77.0.250/24 dev "$LAB_BRIDGE"
lab_exec peer ping -c 3 -i 0.2 -W 2 -q 10.77.0.250 >/dev/null || fail "peer cannot ping 10.77.0.250 on the bridge"
ok "peer pings a temporary address on the bridge"
# ... and the far network answers through the peer.
lab_exec host ip route add default via "$LAB_PEER_IP4"
lab_exec host ping -c 2 -i 0.2 -W 2 -q "$LAB_FAR_IP4" >/dev/null || fail "far is not reachable via the peer"
ok "far $LAB_FAR_IP4 reachable from the bridge via the peer"
lab_exec host ip addr del 10.77.0.250/24 dev "$LAB_BRIDGE"
lab_exec peer ping -c 1 -W 1 -q 10.77.0.250 >/dev/null 2>&1 && fail "10.77.0.250 still answers"

# Peer and far addresses and routing, both families.
lab_exec far ping -c 1 -W 2 -q "$LAB_PEER_IP4" >/dev/null || fail "far cannot ping the peer (IPv4)"
lab_exec far ping -6 -c 1 -W 2 -q "$LAB_PEER_IP6" >/dev/null || fail "far cannot ping the peer (IPv6)"
lab_exec peer ping -6 -c 1 -W 2 -q "$LAB_FAR_IP6" >/dev/null || fail "peer cannot ping far (IPv6)"
ok "peer $LAB_PEER_IP4 $LAB_PEER_IP6 <-> far $LAB_FAR_IP4 $LAB_FAR_IP6"

# Services listen where promised.
listening() {  # ns t|u port
  ip netns exec "$1" ss -Hln"$2" "sport = :$3" | grep -q .
}
for port in 53 "$LAB_HTTP_PORT" "$LAB_IPERF_PORT" 7 9 13 19; do
  listening "$LAB_PEER_NS" t "$port" || fail "nothing listens on peer tcp/$port"
done
for port in 53 67 7 9 13; do
  listening "$LAB_PEER_NS" u "$port" || fail "nothing listens on peer udp/$port"
done
ok "peer listens: dns 53, dhcp 67, http $LAB_HTTP_PORT, iperf3 $LAB_IPERF_PORT, echo/discard/daytime/chargen"

# ... and answer.
sum=$(lab_exec far curl -sf "http://$LAB_PEER_IP4:$LAB_HTTP_PORT/10M.bin" | sha256sum | cut -d' ' -f1)
[[ $sum == "$LAB_HTTP_10M_SHA256" ]] || fail "10M.bin over HTTP has sha256 $sum, want $LAB_HTTP_10M_SHA256"
lab_exec far curl -sf -g "http://[$LAB_PEER_IP6]:$LAB_HTTP_PORT/index.html" | grep -q "PyTCP lab peer" ||
  fail "HTTP over IPv6"
ok "HTTP serves 10M.bin (sha256 matches) over IPv4 and index.html over IPv6"
[[ $(echo hello-tcp | lab_exec far timeout 5 socat -t 2 - "TCP:$LAB_PEER_IP4:7") == hello-tcp ]] || fail "TCP echo"
[[ $(echo hello-udp | lab_exec far timeout 5 socat -t 0.5 - "UDP:$LAB_PEER_IP4:7") == hello-udp ]] || fail "UDP echo"
[[ $(echo hello-udp6 | lab_exec far timeout 5 socat -t 0.5 - "UDP6:[$LAB_PEER_IP6]:7") == hello-udp6 ]] || fail "UDP6 echo"
ok "echo over TCP, UDP and UDP6"
dns() { lab_exec far "$PYTCP_ROOT/scripts/lib/dns_query.py" "$@"; }
[[ $(dns @"$LAB_DNS4" far.lab A) == "$LAB_FAR_IP4" ]] || fail "DNS A far.lab: $(dns @"$LAB_DNS4" far.lab A)"
[[ $(dns @"$LAB_DNS6" peer.lab AAAA) == "$LAB_PEER_IP6" ]] || fail "DNS AAAA peer.lab"
ok "DNS answers far.lab A and peer.lab AAAA"
lab_exec far iperf3 -c "$LAB_PEER_IP4" -p "$LAB_IPERF_PORT" -n 4M >/dev/null || fail "iperf3"
ok "iperf3 server answers"

# Down leaves nothing behind.
pids=$(for f in "$LAB_RUN_DIR"/*.pid; do read -r p <"$f" || [[ -n $p ]]; echo "$p"; done)
name=$LAB_NAME
lab_down "$name"
for ns in "$LAB_HOST_NS" "$LAB_PEER_NS" "$LAB_FAR_NS"; do
  [[ -e /run/netns/$ns ]] && fail "namespace $ns left behind"
done
[[ -e $LAB_RUN_DIR ]] && fail "$LAB_RUN_DIR left behind"
for pid in $pids; do
  [[ -e /proc/$pid ]] && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] &&
    fail "process $pid ($(cat /proc/"$pid"/comm 2>/dev/null)) left running"
done
links_after=$(our_links)
new=$(comm -13 <(echo "$links_before") <(echo "$links_after") | grep -E '^(tap7|br0|veth-[hpf]+)$' || true)
[[ -z $new ]] || fail "interfaces left in the root namespace: $new"
"$LAB_SCRIPT" down "$name" >/dev/null || fail "a second down is not idempotent"
ok "down removed namespaces, state, $(echo "$pids" | wc -w) services; a second down is a no-op"
echo "PASS"
