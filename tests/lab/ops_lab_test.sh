#!/usr/bin/env bash
# Operability in the lab (issue 8). Usage: ops_lab_test.sh BUILD_DIR
#   - Debian's unmodified ping (iputils) under the shim in the host namespace: it opens an
#     ICMP ping socket in the stack; replies from the peer and from the far network, and
#     "Time to live exceeded" from the peer with -t 1 (IP_TTL, IP_RECVERR, MSG_ERRQUEUE);
#   - Debian's unmodified traceroute (UDP probes, IP_RECVERR): hop 1 the peer, hop 2 the
#     far host, as a kernel host would show them;
#   - the same over IPv6 (the stack on its SLAAC address): ping -6 (its reply lines equal to
#     the kernel's own ping -6, addresses and times aside), to the far host through the
#     router, -t 1 ("Time exceeded: Hop limit"), a silent address ("Address unreachable"
#     from us), the peer's link-local address with %tap7 and with -I tap7; traceroute -6;
#   - pytcpctl against a preloaded python3 program that holds a TCP connection to the peer:
#     it is listed (pid, program, interface, address); the peer is in its neighbour table,
#     the default route goes via the peer, the connection is ESTABLISHED with a plausible
#     RTT, counters moved; the console's ping, tcp-echo and udp-echo reach the peer;
#     capture start/stop writes a pcap that tcpdump reads and that holds the connection;
#     clear errors for an unknown pid and for a stack that went away;
#   - the console of an IPv6 program (python3 with a TCP listener and a UDP socket the peer
#     fills): the killed stack's stale socket named by the list and removed when the next
#     stack starts, show sockets (LISTEN with its backlog, the UDP receive queue in bytes),
#     show multicast (the solicited-node group of our SLAAC address, MLDv2), console ping -6,
#     and 'pytcpctl clean' after a kill -9.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB=$BUILD/shim/libpytcp.so
CTL=$BUILD/stack/tools/pytcpctl
lab_up "$(lab_unique_name ops)"
set -a; lab_load "$LAB_NAME"; set +a
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
ME=10.77.0.2
SHIM=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP4="$ME/24" PYTCP_GW4="$LAB_PEER_IP4"
      PYTCP_IP6=none)

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
in_host() { lab_exec host "${SHIM[@]}" "$@"; }

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
in_host timeout 20 ping -c 1 -W 5 10.77.0.50 >"$TMP/ping-unreach.out" 2>&1 || true
check "ping a silent on-link address: Destination Host Unreachable from us" \
  has "$TMP/ping-unreach.out" "From $ME icmp_seq=1 Destination Host Unreachable"
check "ping: no warnings about unsupported options" eval "! grep -q WARNING $TMP/ping.out"
in_host timeout 20 ping -c 1 -W 2 -M do -s 1600 "$LAB_PEER_IP4" >"$TMP/ping-big.out" 2>&1 || true
check "ping -M do -s 1600: a local error with the MTU (IP_RECVERR, SO_EE_ORIGIN_LOCAL)" \
  has "$TMP/ping-big.out" "^ping: local error: message too long, mtu=1500"
in_host timeout 40 traceroute -n -w 2 -q 2 "$LAB_FAR_IP4" >"$TMP/tr.out" 2>&1 || true
cat "$TMP/tr.out"
check "traceroute: hop 1 is the peer" has "$TMP/tr.out" "^ 1  $LAB_PEER_IP4 "
check "traceroute: hop 2 is the far host, and the last" has "$TMP/tr.out" "^ 2  $LAB_FAR_IP4 "
check "traceroute: no hop 3" eval "! grep -q '^ 3 ' $TMP/tr.out"

# --- ping -6 and traceroute -6, unmodified, through the stack (SLAAC from the peer's RA) ---
SHIM6=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP4=none PYTCP_IP6=auto)
in_host6() { lab_exec host "${SHIM6[@]}" "$@"; }
# A ping transcript without what differs between hosts and runs: addresses and times.
norm() {
  sed -E 's/from [0-9a-f:.]+(%[a-z0-9]+)?:/from ADDR:/; s/time=[0-9.]+ ms/time=T ms/; s/, time [0-9]+ms$//' "$1" |
    grep -E '^64 bytes|packets transmitted'
}
# First, on a stack that has just started (its SLAAC address still optimistic, the router
# not yet knowing our MAC): the router's errors must come back within traceroute's wait
# (RFC 4429: an optimistic address answers neighbour solicitations).
in_host6 timeout 40 traceroute -6 -n -w 2 -q 2 "$LAB_FAR_IP6" >"$TMP/tr6.out" 2>&1 || true
cat "$TMP/tr6.out"
check "traceroute -6: hop 1 is the router" has "$TMP/tr6.out" "^ 1  $LAB_PEER_IP6 "
check "traceroute -6: hop 2 is the far host, and the last" has "$TMP/tr6.out" "^ 2  $LAB_FAR_IP6 "
check "traceroute -6: no hop 3" eval "! grep -q '^ 3 ' $TMP/tr6.out"
# The kernel's ping -6 over one hop (far -> the peer's far side) is the reference.
lab_exec far timeout 20 ping -6 -c 3 -i 0.2 -W 2 "$LAB_PEER_FAR_IP6" >"$TMP/kping6.out" 2>&1 || true
in_host6 timeout 20 ping -6 -c 3 -i 0.2 -W 2 "$LAB_PEER_IP6" >"$TMP/ping6.out" 2>&1 || true
cat "$TMP/ping6.out"
check "ping -6 -c 3 the peer: 3 replies" has "$TMP/ping6.out" "3 packets transmitted, 3 received, 0% packet loss"
check "ping -6: reply lines as the kernel's ping -6 prints them (hop limit as ttl)" \
  eval "diff <(norm $TMP/kping6.out) <(norm $TMP/ping6.out)"
check "ping -6: the peer's reply line" has "$TMP/ping6.out" "^64 bytes from $LAB_PEER_IP6: icmp_seq=3 ttl=64 time="
check "ping -6: no warnings or errors" eval "! grep -qiE 'warning|error|setsockopt' $TMP/ping6.out"
in_host6 timeout 20 ping -6 -c 2 -i 0.2 -W 2 "$LAB_FAR_IP6" >"$TMP/ping6-far.out" 2>&1 || true
check "ping -6 the far host through the router (hop limit 63)" \
  has "$TMP/ping6-far.out" "from $LAB_FAR_IP6: icmp_seq=2 ttl=63"
in_host6 timeout 20 ping -6 -c 2 -i 0.2 -W 2 -t 1 "$LAB_FAR_IP6" >"$TMP/ping6-hl.out" 2>&1 || true
cat "$TMP/ping6-hl.out"
check "ping -6 -t 1: Time exceeded from the router (IPV6_UNICAST_HOPS, IPV6_RECVERR)" \
  has "$TMP/ping6-hl.out" "From $LAB_PEER_IP6 icmp_seq=2 Time exceeded: Hop limit"
in_host6 timeout 20 ping -6 -c 1 -W 5 fd77::50 >"$TMP/ping6-unreach.out" 2>&1 || true
cat "$TMP/ping6-unreach.out"
check "ping -6 a silent on-link address: Address unreachable from our own address" \
  has "$TMP/ping6-unreach.out" "From fd77:[0-9a-f:]+ icmp_seq=1 Destination unreachable: Address unreachable"
in_host6 timeout 20 ping -6 -c 1 -W 2 -M do -s 1600 "$LAB_PEER_IP6" >"$TMP/ping6-big.out" 2>&1 || true
check "ping -6 -M do -s 1600: a local error with the MTU (IPV6_RECVERR, SO_EE_ORIGIN_LOCAL)" \
  has "$TMP/ping6-big.out" "^ping: local error: message too long, mtu: 1500"
in_host6 timeout 20 ping -6 -c 2 -i 0.2 -W 2 -s 2000 "$LAB_FAR_IP6" >"$TMP/ping6-frag.out" 2>&1 || true
check "ping -6 -s 2000 the far host: fragmented both ways" \
  has "$TMP/ping6-frag.out" "^2008 bytes from $LAB_FAR_IP6: icmp_seq=2 ttl=63"
PEER_LL=$(lab_exec peer ip -6 -o addr show dev "$LAB_PEER_IF" scope link | awk '{print $4}' | cut -d/ -f1)
in_host6 timeout 20 ping -6 -c 2 -i 0.2 -W 2 "$PEER_LL%$LAB_TAP" >"$TMP/ping6-ll.out" 2>&1 || true
cat "$TMP/ping6-ll.out"
check "ping -6 the peer's link-local address with a scope (%$LAB_TAP)" \
  has "$TMP/ping6-ll.out" "^64 bytes from $PEER_LL%$LAB_TAP: icmp_seq=2 ttl=64"
in_host6 timeout 20 ping -6 -c 2 -i 0.3 -W 2 "ff02::1%$LAB_TAP" >"$TMP/ping6-mc.out" 2>&1 || true
cat "$TMP/ping6-mc.out"
# As on a kernel host: our own answer first (multicast loop), the peer's as a duplicate.
check "ping -6 ff02::1: this host answers first, then the peer" \
  eval "grep -A1 -m1 'icmp_seq=1 ' $TMP/ping6-mc.out | tail -1 | grep -q 'from $PEER_LL%$LAB_TAP: icmp_seq=1 ' &&
        grep -q '2 packets transmitted, 2 received, +1 duplicates' $TMP/ping6-mc.out"
in_host6 timeout 20 ping -6 -c 2 -i 0.2 -W 2 -I "$LAB_TAP" "$PEER_LL" >"$TMP/ping6-dev.out" 2>&1 || true
check "ping -6 -I $LAB_TAP a link-local address (SO_BINDTODEVICE, IPV6_PKTINFO)" \
  has "$TMP/ping6-dev.out" "2 packets transmitted, 2 received"

# A raw ICMPv6 socket (RFC 3542) from python3: ICMP6_FILTER passes echo replies only, the
# echo request leaves with a zero checksum field that the stack fills in (the kernel peer
# answers only a correct one), the reply is read without the IPv6 header.
in_host6 timeout 20 /usr/bin/python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
block = [0xffffffff] * 8
block[129 >> 5] &= ~(1 << (129 & 31))
s.setsockopt(socket.IPPROTO_ICMPV6, 1, struct.pack("8I", *block))
s.settimeout(3)
s.sendto(struct.pack("!BBHHH", 128, 0, 0, 0x4242, 7) + b"raw6", (sys.argv[1], 0))
data, frm = s.recvfrom(1500)
t, c, _, ident, seq = struct.unpack("!BBHHH", data[:8])
print("raw6 reply type=%d id=%x seq=%d from=%s data=%s" % (t, ident, seq, frm[0], data[8:]))
' "$LAB_PEER_IP6" >"$TMP/raw6.out" 2>&1 || true
cat "$TMP/raw6.out"
check "raw ICMPv6 socket: checksum by the stack, ICMP6_FILTER, the peer's echo reply" \
  has "$TMP/raw6.out" "^raw6 reply type=129 id=4242 seq=7 from=$LAB_PEER_IP6 data=b'raw6'"

# --- pytcpctl against a preloaded program holding a TCP connection ---
# The console lands in $XDG_RUNTIME_DIR/pytcp/<pid>.sock; pytcpctl looks there too.
RUNDIR=$TMP/run
mkdir -m 700 "$RUNDIR"
ip netns exec "$LAB_HOST_NS" "${SHIM[@]}" XDG_RUNTIME_DIR="$RUNDIR" timeout 60 /usr/bin/python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7))
print("connected", flush=True)
end = time.time() + 50
while time.time() < end:
    s.sendall(b"pytcpctl lab " * 8)
    got = 0
    while got < 104:
        got += len(s.recv(4096))
    time.sleep(0.1)
' "$LAB_PEER_IP4" >"$TMP/client.log" 2>&1 &
CLIENT=$!
lab_defer sh -c "kill $CLIENT 2>/dev/null; true"
ctl() { XDG_RUNTIME_DIR="$RUNDIR" "$CTL" "$@"; }
for ((i = 0; i < 50; i++)); do grep -q connected "$TMP/client.log" && break; sleep 0.1; done
ctl >"$TMP/list.out" 2>&1 || true
cat "$TMP/list.out"
pid=$(awk '$2 == "python3" && $4 == "10.77.0.2/24" {print $1}' "$TMP/list.out" | head -1)
check "pytcpctl lists the preloaded python3 (pid, program, interface, address)" \
  test -n "$pid" -a "$(awk -v p="$pid" '$1 == p {print $3}' "$TMP/list.out")" = "$LAB_TAP"
ctl -p "$pid" show neighbours >"$TMP/neigh.out" 2>&1 || true
cat "$TMP/neigh.out"
check "show neighbours: the peer with its MAC" has "$TMP/neigh.out" "^$LAB_PEER_IP4 +$LAB_PEER_MAC +(REACHABLE|STALE|DELAY|PROBE)"
ctl -p "$pid" show routes >"$TMP/routes.out" 2>&1 || true
cat "$TMP/routes.out"
check "show routes: default via the peer" has "$TMP/routes.out" "^default via $LAB_PEER_IP4 dev $LAB_TAP"
ctl -p "$pid" show sockets >"$TMP/sockets.out" 2>&1 || true
cat "$TMP/sockets.out"
check "show sockets: the connection is ESTABLISHED" has "$TMP/sockets.out" "^tcp +ESTABLISHED .* $LAB_PEER_IP4:7 "
ctl -p "$pid" show sockets --json >"$TMP/sockets.json" 2>&1 || true
rtt_ok=$(python3 -c '
import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r["proto"] == "tcp" and r["peer"].endswith(":7")]
print("yes" if rows and 0 < float(rows[0]["rtt_ms"]) < 200 and int(rows[0]["cwnd"]) > 0 else "no")
' "$TMP/sockets.json" 2>&1 || true)
check "show sockets --json: a plausible RTT (0-200 ms) and cwnd" test "$rtt_ok" = yes
c1=$(ctl -p "$pid" show counters --json | python3 -c 'import json,sys; print({r["counter"]: r["value"] for r in json.load(sys.stdin)}.get("tcp.tx_segments", 0))')
sleep 0.5
c2=$(ctl -p "$pid" show counters --json | python3 -c 'import json,sys; print({r["counter"]: r["value"] for r in json.load(sys.stdin)}.get("tcp.tx_segments", 0))')
check "show counters: tcp.tx_segments moved ($c1 -> $c2)" test "$c2" -gt "$c1" -a "$c1" -gt 0
ctl -p "$pid" show interface >"$TMP/iface.out" 2>&1 || true
check "show interface: the TAP and its MTU" has "$TMP/iface.out" "^$LAB_TAP +[0-9a-f:]{17} +1500 "
ctl -p "$pid" ping "$LAB_PEER_IP4" 3 200 >"$TMP/cping.out" 2>&1 || true
cat "$TMP/cping.out"
check "console ping reaches the peer with RTT statistics" has "$TMP/cping.out" "3 transmitted, 3 received"
check "console tcp-echo" eval "ctl -p $pid tcp-echo $LAB_PEER_IP4 | grep -q 'bytes back'"
check "console udp-echo" eval "ctl -p $pid udp-echo $LAB_PEER_IP4 | grep -q 'bytes back'"
check "console log level change" eval "ctl -p $pid log warn tcp | grep -q 'log level warn for tcp'"
ctl -p "$pid" capture start "$TMP/live.pcap" >/dev/null
sleep 1
ctl -p "$pid" capture stop >/dev/null
tcpdump -nr "$TMP/live.pcap" >"$TMP/pcap.txt" 2>&1 || true
head -3 "$TMP/pcap.txt"
check "capture: tcpdump reads the pcap and it holds the connection" \
  has "$TMP/pcap.txt" "10\.77\.0\.2\.[0-9]+ > $LAB_PEER_IP4\.7: Flags"
ctl -p "$pid" frobnicate >"$TMP/garbage.out" 2>&1 && rc=0 || rc=$?
check "unknown console command: an error and exit 1" test "$rc" = 1 -a -n "$(grep 'unknown command' "$TMP/garbage.out")"
ctl -p 1 show routes >"$TMP/nopid.out" 2>&1 && rc=0 || rc=$?
check "unknown pid: a clear error and exit 2" test "$rc" = 2 -a -n "$(grep 'no PyTCP stack with pid 1' "$TMP/nopid.out")"
# A stack that went away (killed: its console socket stays behind).
kill -KILL "$pid" 2>/dev/null || true
wait "$CLIENT" 2>/dev/null || true
ctl -p "$pid" show routes >"$TMP/gone.out" 2>&1 && rc=0 || rc=$?
cat "$TMP/gone.out"
check "vanished stack: a clear error and exit 2" test "$rc" = 2 -a -n "$(grep 'went away' "$TMP/gone.out")"
ctl >"$TMP/list-stale.out" 2>&1 || true
cat "$TMP/list-stale.out"
check "pytcpctl list names the killed stack's console as stale" \
  has "$TMP/list-stale.out" "stale console $RUNDIR/pytcp/$pid.sock: pid $pid is gone"

# --- the console of an IPv6 program: listener, UDP queue, multicast, ping -6, stale sockets ---
ip netns exec "$LAB_HOST_NS" "${SHIM6[@]}" XDG_RUNTIME_DIR="$RUNDIR" timeout 60 /usr/bin/python3 -c '
import socket, time
l = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
l.bind(("::", 8080))
l.listen(5)
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.bind(("::", 9999))
print("ready", flush=True)
time.sleep(50)
' >"$TMP/server6.log" 2>&1 &
SERVER6=$!
lab_defer sh -c "kill $SERVER6 2>/dev/null; true"
for ((i = 0; i < 50; i++)); do grep -q ready "$TMP/server6.log" && break; sleep 0.1; done
check "a starting stack removed the stale console of the killed one" test ! -e "$RUNDIR/pytcp/$pid.sock"
ctl >"$TMP/list6.out" 2>&1 || true
cat "$TMP/list6.out"
pid6=$(awk '$2 == "python3" {print $1}' "$TMP/list6.out" | head -1)
me6=$(awk '$2 == "python3" {print $4}' "$TMP/list6.out" | head -1 | tr ',' '\n' | grep '^fd77:' | cut -d/ -f1)
check "pytcpctl lists the IPv6 program with its SLAAC address ($me6)" test -n "$pid6" -a -n "$me6"
lab_exec peer python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for _ in range(3): s.sendto(b"q" * 100, (sys.argv[1], 9999))
' "$me6" || true
sleep 0.3
ctl -p "$pid6" show sockets >"$TMP/sockets6.out" 2>&1 || true
cat "$TMP/sockets6.out"
check "show sockets: the TCP listener with its backlog" has "$TMP/sockets6.out" "^tcp +LISTEN +0 +5 +\*:8080 "
check "show sockets: the UDP socket's receive queue (3 x (100 + 256) bytes)" \
  has "$TMP/sockets6.out" "^udp6 +UNCONN +1068 +0 +\*:9999 "
ctl -p "$pid6" show multicast >"$TMP/mcast6.out" 2>&1 || true
cat "$TMP/mcast6.out"
sn=$(python3 -c 'import ipaddress,sys; a=int(ipaddress.IPv6Address(sys.argv[1])); print(ipaddress.IPv6Address((0xff02 << 112) | (1 << 32) | (0xff << 24) | (a & 0xffffff)))' "${me6:-::}")
check "show multicast: the solicited-node group of our SLAAC address ($sn), reported by MLDv2" \
  has "$TMP/mcast6.out" "^inet6 +$sn +33:33:ff:[0-9a-f:]+ +solicited-node +MLDv2"
check "show multicast: all-nodes" has "$TMP/mcast6.out" "^inet6 +ff02::1 +33:33:00:00:00:01 "
ctl -p "$pid6" ping "$LAB_PEER_IP6" 3 200 >"$TMP/cping6.out" 2>&1 || true
cat "$TMP/cping6.out"
check "console ping -6 reaches the peer" has "$TMP/cping6.out" "3 transmitted, 3 received"
ctl -p "$pid6" ping "$PEER_LL%$LAB_TAP" 2 200 >"$TMP/cping6ll.out" 2>&1 || true
check "console ping -6 to the peer's link-local address with its zone" \
  has "$TMP/cping6ll.out" "2 transmitted, 2 received"
kill -KILL "$pid6" 2>/dev/null || true
wait "$SERVER6" 2>/dev/null || true
ctl clean >"$TMP/clean.out" 2>&1 || true
cat "$TMP/clean.out"
check "pytcpctl clean removes the killed stack's console" \
  test -n "$(grep "removed $RUNDIR/pytcp/$pid6.sock" "$TMP/clean.out")" -a ! -e "$RUNDIR/pytcp/$pid6.sock"

echo "ops lab: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
