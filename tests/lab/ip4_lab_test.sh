#!/usr/bin/env bash
# IPv4 host against the Linux kernel as a real peer (issue: IPv4 host).
# Usage: ip4_lab_test.sh BUILD_DIR
#   - the peer pings the stack (also ping -s 8000, fragmented both ways);
#   - the far network pings it through the peer, which routes (gateway path);
#   - a UDP echo service on the stack answers nc -u from the peer;
#   - a datagram to a closed port makes the peer's socket see ICMP port unreachable;
#   - a second static address answers too;
#   - an address the peer already holds is refused (strict and optimistic ACD).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
STACK=$BUILD/stack/examples/pytcp-stack
SERVICES=$BUILD/stack/examples/udp-services
lab_up "$(lab_unique_name ip4)"
set -a; lab_load "$LAB_NAME"; set +a

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
wait_for() {  # wait_for FILE PATTERN SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# start_in_host LOG ENV... -- PROGRAM: runs PROGRAM in the host namespace in the
# background; sets STARTED to its pid (no subshell, so the pid is our child).
start_in_host() {
  local log=$1; shift
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  ip netns exec "$LAB_HOST_NS" env "${envs[@]}" "$@" >"$log" 2>&1 &
  STARTED=$!
  lab_defer kill "$STARTED"
}
# Stops a program and waits until it has exited (it holds the TAP until then).
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
COMMON=(PYTCP_IFACE="$LAB_TAP" PYTCP_IP6=none PYTCP_LOG=info)

# --- a stack with two static addresses and the peer as gateway ---
start_in_host "$TMP/stack.log" "${COMMON[@]}" PYTCP_IP4=10.77.0.2/24,10.77.0.3/24 \
  PYTCP_GW4="$LAB_PEER_IP4" -- "$SERVICES"
pid=$STARTED
check "stack starts" wait_for "$TMP/stack.log" "udp-services: echo" 5
check "peer pings the stack" lab_exec peer ping -c 3 -i 0.2 -W 2 10.77.0.2
check "fragmented ping (-s 8000) both ways" lab_exec peer ping -c 2 -i 0.3 -W 2 -s 8000 10.77.0.2
check "second static address answers" lab_exec peer ping -c 2 -i 0.2 -W 2 10.77.0.3
check "far network reaches the stack through the gateway" \
  lab_exec far ping -c 2 -i 0.2 -W 2 10.77.0.2
echo_reply=$(echo "hello pytcp" | lab_exec peer timeout 5 nc -u -w 1 10.77.0.2 7 || true)
check "UDP echo answers nc -u" test "$echo_reply" = "hello pytcp"
big=$(head -c 4000 /dev/urandom | base64 -w0)
big_reply=$(printf '%s' "$big" | lab_exec peer timeout 5 nc -u -w 1 10.77.0.2 7 || true)
check "UDP echo of a fragmented datagram" test "$big_reply" = "$big"
refused=$(lab_exec peer python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(("10.77.0.2", 9999))
s.send(b"anyone?")
try:
    s.recv(100)
    print("answered")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
PY
)
check "closed port: peer sees ICMP port unreachable" test "$refused" = "refused"
stop "$pid"

# --- the peer already holds the address we are configured with ---
for mode in strict optimistic; do
  start_in_host "$TMP/acd-$mode.log" "${COMMON[@]}" PYTCP_IP4="$LAB_PEER_IP4/24" \
    PYTCP_ACD=$mode -- "$STACK"
  pid=$STARTED
  check "ACD ($mode): address held by the peer is refused" \
    wait_for "$TMP/acd-$mode.log" "address $LAB_PEER_IP4/24 duplicate" 12
  stop "$pid"
done

# --- DHCPv4 from the peer's dnsmasq, release on stop, INIT-REBOOT from the cache ---
CACHE=$TMP/dhcp4.lease
start_in_host "$TMP/dhcp.log" "${COMMON[@]}" PYTCP_IP4=dhcp PYTCP_DHCP_CACHE="$CACHE" \
  PYTCP_LOG=info,dhcp4=debug -- "$STACK"
pid=$STARTED
check "DHCP lease within a second" wait_for "$TMP/dhcp.log" "address 10\.77\.0\.1[0-9][0-9]/24" 1
leased=$(grep -o "address 10\.77\.0\.1[0-9][0-9]" "$TMP/dhcp.log" | head -1 | cut -d' ' -f2)
check "peer pings the leased address $leased" lab_exec peer ping -c 2 -i 0.2 -W 2 "$leased"
check "dnsmasq holds the lease" grep -q "$leased" "$LAB_RUN_DIR/dnsmasq.leases"
stop "$pid"
released() { ! grep -q "$leased" "$LAB_RUN_DIR/dnsmasq.leases"; }
check "lease released on stop" bash -c "for i in \$(seq 30); do grep -q '$leased' '$LAB_RUN_DIR/dnsmasq.leases' || exit 0; sleep 0.1; done; exit 1"
check "lease cached" test -s "$CACHE"
start_in_host "$TMP/dhcp2.log" "${COMMON[@]}" PYTCP_IP4=dhcp PYTCP_DHCP_CACHE="$CACHE" \
  PYTCP_LOG=info,dhcp4=debug -- "$STACK"
pid=$STARTED
check "restart gets the same address" wait_for "$TMP/dhcp2.log" "address $leased/24" 2
check "restart used INIT-REBOOT (a REQUEST first, no DISCOVER)" \
  bash -c "! grep -q 'tx type 1 ' '$TMP/dhcp2.log' && grep -q 'tx type 3 ' '$TMP/dhcp2.log'"
stop "$pid"

echo "ip4 lab: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
