#!/usr/bin/env bash
# Ancillary data and IPv4 multicast under the shim (issue 19, item 7). Usage:
# multicast_lab_test.sh BUILD_DIR
#   - dnsmasq under LD_PRELOAD=libpytcp.so answers DNS on its wildcard socket: it learns
#     each query's interface from IP_PKTINFO (--interface=tap7 answers; --interface=veth-h,
#     an interface the query did not come in on, is silent, as dnsmasq is on Linux);
#   - an mDNS-style exchange on 224.0.0.251:5353 (TTL 255, as mDNS sends) and a
#     source-specific one (IP_ADD_SOURCE_MEMBERSHIP, 232.77.0.1 from the peer only)
#     between mcast_probe.py and a kernel responder in the peer namespace, both directions:
#     the same program run natively (a kernel namespace on the lab's bridge) and under the
#     shim prints the same (the answer, its TTL, IP_PKTINFO's destination, whether its own
#     query looped back), and the responder hears both queries with TTL 255;
#   - the same under the shared stack (PYTCP_STACK=shared: pytcpd's sockets, the control
#     messages carried in the pair's DatagramHeader);
#   - the IGMPv3 reports on the wire (tcpdump in the peer namespace) are, packet for packet,
#     what the Linux kernel sends for the same program: TOS 0xc0, TTL 1, DF, identification
#     0, Router Alert, to 224.0.0.22, TO_EX({}) twice on join and TO_IN({}) twice on leave,
#     ALLOW({S}) and BLOCK({S}) for the source-specific join.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=$BUILD/shim/libpytcp.so
PROBE=$HERE/mcast_probe.py
PY=/usr/bin/python3
command -v tcpdump >/dev/null || { echo "SKIP: no tcpdump" >&2; exit 77; }
command -v dnsmasq >/dev/null || { echo "SKIP: no dnsmasq" >&2; exit 77; }
lab_up "$(lab_unique_name mcast)"
set -a; lab_load "$LAB_NAME"; set +a
lab_add_kernel_ns
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
ME=10.77.0.2
SHIM=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP4="$ME/24" PYTCP_GW4="$LAB_PEER_IP4"
      PYTCP_IP6=none PYTCP_DHCP_CACHE=none)
# The shared stack (pytcpd): the sockets are the daemon's, their control messages travel in
# the pair's DatagramHeader.
RUN=$TMP/run
mkdir -p "$RUN"
SHARED=("${SHIM[@]}" PYTCP_STACK=shared PYTCP_RUN_DIR="$RUN" PYTCP_DAEMON="$BUILD/pytcpd/pytcpd"
        PYTCP_IDLE_EXIT=600 PYTCP_CONSOLE=off)
stop_daemon() { lab_stop_daemon "$RUN"; }
lab_defer stop_daemon
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
BGS=()
bg() {  # bg NS LOG CMD...: CMD in NS in the background (killed at exit)
  local ns=$1 log=$2; shift 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  BGS+=($!)
  lab_defer sh -c "kill $! 2>/dev/null; true"
}
wait_for() {  # wait_for FILE PATTERN SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# --- dnsmasq: DNS on a wildcard socket, the interface from IP_PKTINFO ---
cat >"$TMP/dnsq.py" <<'PYEOF'
import socket, struct, sys
q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
for part in sys.argv[2].split("."):
    q += bytes([len(part)]) + part.encode()
q += b"\0" + struct.pack("!HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(q, (sys.argv[1], 53))
try:
    data, src = s.recvfrom(512)
except socket.timeout:
    print("no answer")
    sys.exit(1)
an = struct.unpack("!H", data[6:8])[0]
print(f"from {src[0]} rcode {data[3] & 0xf} answers {an} {socket.inet_ntoa(data[-4:]) if an else '-'}")
PYEOF
dnsmasq_run() {  # dnsmasq_run IFACE LOG: dnsmasq under the shim, wildcard socket, in the background
  : >"$TMP/empty.conf"
  bg "$LAB_HOST_NS" "$2" "${SHIM[@]}" timeout 30 dnsmasq -k -C "$TMP/empty.conf" \
    --interface="$1" --port=53 --no-resolv --no-hosts --address=/mcast.lab/10.77.0.42 \
    --user=root --group=root --pid-file= --log-queries --log-facility=-
  DNSMASQ=$!
  wait_for "$2" "cleared cache" 10
}
query() { lab_exec peer timeout 10 "$PY" "$TMP/dnsq.py" "$ME" mcast.lab >"$1" 2>&1; }
dnsmasq_run "$LAB_TAP" "$TMP/dnsmasq-tap.log" || true
query "$TMP/dns-tap.out" || true
check "dnsmasq under the shim answers on its wildcard socket, from the address asked" \
  has "$TMP/dns-tap.out" "^from $ME rcode 0 answers 1 10\.77\.0\.42$"
check "... and logs the query from the peer" has "$TMP/dnsmasq-tap.log" "query\[A\] mcast.lab from $LAB_PEER_IP4"
kill "$DNSMASQ" 2>/dev/null || true; wait "$DNSMASQ" 2>/dev/null || true
dnsmasq_run veth-h "$TMP/dnsmasq-veth.log" || true
query "$TMP/dns-veth.out" || true
check "dnsmasq --interface=veth-h ignores a query that came in on $LAB_TAP (IP_PKTINFO's index)" \
  has "$TMP/dns-veth.out" "^no answer$"
kill "$DNSMASQ" 2>/dev/null || true; wait "$DNSMASQ" 2>/dev/null || true

# --- multicast exchanges, natively and under the shim, with the IGMP reports compared ---
# exchange NAME WHERE GROUP PORT [SOURCE]: the probe as a member in WHERE (kern or host),
# the peer's IGMP traffic captured meanwhile; output in $TMP/NAME.{out,igmp}.
exchange() {
  local name=$1 where=$2 group=$3 port=$4 source=${5:-} src_ip prefix=()
  if [[ $where == kern ]]; then src_ip=$LAB_KERN_IP4; else src_ip=$ME; prefix=("${SHIM[@]}"); fi
  if [[ $where == shared ]]; then where=host; prefix=("${SHARED[@]}"); fi
  ip netns exec "$LAB_PEER_NS" timeout 30 tcpdump -i "$LAB_PEER_IF" -nn -U -w "$TMP/$name.pcap" \
    igmp >"$TMP/$name.tcpdump" 2>&1 &
  local cap=$!
  wait_for "$TMP/$name.tcpdump" "listening on" 10 || true
  local rc=0
  ip netns exec "${LAB_NAME}-$where" "${prefix[@]}" timeout 30 "$PY" "$PROBE" member "$group" \
    "$port" $source >"$TMP/$name.raw" 2>&1 || rc=$?
  sleep 0.5
  kill "$cap" 2>/dev/null || true; wait "$cap" 2>/dev/null || true
  echo "exit $rc" >>"$TMP/$name.raw"
  sed "s/$src_ip/ME/g" "$TMP/$name.raw" >"$TMP/$name.out"
  # The member's IGMP messages, with what varies between runs taken out (the time and the
  # source address); the identification stays: Linux sends 0.
  tcpdump -r "$TMP/$name.pcap" -nn -vv -t "src host $src_ip" 2>/dev/null | paste - - |
    sed -E "s/$src_ip/ME/g; s/[[:space:]]+/ /g" >"$TMP/$name.igmp"
}
same() { diff "$1" "$2" >&2; }

bg "$LAB_PEER_NS" "$TMP/responder-asm.log" timeout 120 "$PY" -u "$PROBE" responder 224.0.0.251 5353 "$LAB_PEER_IP4"
sleep 1
exchange asm-kernel kern 224.0.0.251 5353
exchange asm-shim host 224.0.0.251 5353
check "mDNS group: the probe natively (kernel) is answered" has "$TMP/asm-kernel.out" "^answer A probe from $LAB_PEER_IP4:5353 ttl 255 to 224\.0\.0\.251$"
check "mDNS group: under the shim the same output (answer, TTL, IP_PKTINFO, own loop, exit)" \
  same "$TMP/asm-kernel.out" "$TMP/asm-shim.out"
check "mDNS group: the peer heard the shim's query with TTL 255" \
  has "$TMP/responder-asm.log" "^query from $ME:5353 ttl 255$"
check "mDNS group: the kernel sends TO_EX twice and TO_IN twice" \
  test "$(grep -c 'to_ex { }' "$TMP/asm-kernel.igmp")/$(grep -c 'to_in { }' "$TMP/asm-kernel.igmp")" = 2/2
check "mDNS group: PyTCP's IGMPv3 reports are the kernel's, packet for packet" \
  same "$TMP/asm-kernel.igmp" "$TMP/asm-shim.igmp"

bg "$LAB_PEER_NS" "$TMP/responder-ssm.log" timeout 120 "$PY" -u "$PROBE" responder 232.77.0.1 5000 "$LAB_PEER_IP4"
sleep 1
exchange ssm-kernel kern 232.77.0.1 5000 "$LAB_PEER_IP4"
exchange ssm-shim host 232.77.0.1 5000 "$LAB_PEER_IP4"
check "source-specific: natively answered, own query filtered out (INCLUDE {peer})" \
  sh -c "grep -q '^answer A probe from $LAB_PEER_IP4:5000 ttl 255 to 232\.77\.0\.1$' $TMP/ssm-kernel.out &&
         grep -q '^own query looped back: no$' $TMP/ssm-kernel.out"
check "source-specific: under the shim the same output" same "$TMP/ssm-kernel.out" "$TMP/ssm-shim.out"
check "source-specific: the kernel sends ALLOW and BLOCK of the peer, twice each" \
  test "$(grep -c "allow { $LAB_PEER_IP4 }" "$TMP/ssm-kernel.igmp")/$(grep -c "block { $LAB_PEER_IP4 }" "$TMP/ssm-kernel.igmp")" = 2/2
check "source-specific: PyTCP's IGMPv3 reports are the kernel's, packet for packet" \
  same "$TMP/ssm-kernel.igmp" "$TMP/ssm-shim.igmp"

# Last: the daemon keeps the TAP until it is stopped.
exchange asm-shared shared 224.0.0.251 5353
check "mDNS group, shared stack (pytcpd): the same output (control messages through the pair)" \
  same "$TMP/asm-kernel.out" "$TMP/asm-shared.out"
check "mDNS group, shared stack: the kernel's IGMPv3 reports" same "$TMP/asm-kernel.igmp" "$TMP/asm-shared.igmp"

stop_daemon

for f in asm-kernel asm-shim asm-shared ssm-kernel ssm-shim; do
  sed "s/^/    $f: /" "$TMP/$f.out" "$TMP/$f.igmp"
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
