#!/usr/bin/env bash
# IPv6 host against the Linux kernel as a real peer (issue 6).
# Usage: ip6_lab_test.sh BUILD_DIR
#   - the stack configures its link-local address (EUI-64) and the peer pings it;
#   - it solicits the peer's router advertisement (dnsmasq, fd77::/64 with SLAAC + RDNSS),
#     configures a global address by SLAAC and the peer pings that (also fragmented);
#   - the far network (fd78::/64) reaches it through the peer as router;
#   - the peer's neighbour table holds the stack's MAC (NS/NA worked both ways);
#   - UDP echo over IPv6 answers nc -6 -u, and a closed port gives the peer's socket
#     ICMPv6 port unreachable;
#   - under LD_PRELOAD (libpytcp.so, IPv4 off): curl -6 fetches 10 MB from [fd77::1] and
#     1 MB from the far network [fd78::2] with equal hashes, and a name from the DNS server
#     the RA announced (RDNSS) resolves to its AAAA record;
#   - python3 under the shim: a link-local peer's scope id, IPV6_JOIN_GROUP and a datagram
#     to the group, the MLDv2 report that announced it, and an MLDv1 query answered in MLDv1;
#   - a static address the peer already holds fails DAD and stays unused.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
SERVICES=$BUILD/stack/examples/udp-services
lab_up "$(lab_unique_name ip6)"
set -a; lab_load "$LAB_NAME"; set +a

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
wait_for() {  # wait_for FILE PATTERN SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
retry() {  # retry TIMES CMD...: until CMD succeeds, half a second apart
  local n=$1 i; shift
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}
start_in_host() {  # start_in_host LOG ENV... -- PROGRAM (STARTED: its pid)
  local log=$1; shift
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  ip netns exec "$LAB_HOST_NS" env "${envs[@]}" "$@" >"$log" 2>&1 &
  STARTED=$!
  lab_defer kill "$STARTED"
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"

MAC=02:00:00:77:00:02
LL=fe80::ff:fe77:2        # RFC 4291 Appendix A from $MAC
GLOBAL=fd77::ff:fe77:2    # SLAAC: the RA's fd77::/64 and the same interface id
COMMON=(PYTCP_IFACE="$LAB_TAP" PYTCP_IP4=none PYTCP_MAC="$MAC" PYTCP_LOG=info)

# --- link-local, SLAAC from the peer's RA, routing through the peer ---
# The peer records the MLDv2 reports the stack sends (to ff02::16, behind a Hop-by-Hop
# Router Alert), to see which groups it announced.
lab_exec peer timeout 30 tcpdump -i "$LAB_PEER_IF" -n -U -w "$TMP/mld.pcap" 'ip6 dst host ff02::16' \
  2>"$TMP/tcpdump.log" &
wait_for "$TMP/tcpdump.log" "listening on" 5 || true
start_in_host "$TMP/stack.log" "${COMMON[@]}" PYTCP_IP6=auto -- "$SERVICES"
pid=$STARTED
check "stack starts" wait_for "$TMP/stack.log" "udp-services: echo" 5
check "peer pings our link-local address" retry 20 lab_exec peer ping -6 -c 1 -W 1 "$LL%$LAB_PEER_IF"
check "SLAAC: peer pings our global address" retry 40 lab_exec peer ping -6 -c 1 -W 1 "$GLOBAL"
check "fragmented ping (-s 3000) both ways" lab_exec peer ping -6 -c 2 -i 0.3 -W 2 -s 3000 "$GLOBAL"
check "far network reaches us through the router" retry 20 lab_exec far ping -6 -c 1 -W 1 "$GLOBAL"
neigh() { lab_exec peer ip -6 neigh show "$GLOBAL" | grep -qi "$MAC"; }
check "peer's neighbour cache holds our MAC" neigh
# Solicited-node groups of the link-local and SLAAC addresses (the same interface id, so
# one group, RFC 4291 2.7.1), announced by MLDv2 state-change reports (RFC 3810 6.1).
mld_announced() {
  tcpdump -r "$TMP/mld.pcap" -n -v 2>/dev/null | grep -q "gaddr ff02::1:ff77:2 to_ex"
}
check "the peer hears MLDv2 reports for our solicited-node group" retry 10 mld_announced
udp_echo() {  # udp_echo TEXT: the echo service returns TEXT
  local reply
  reply=$(printf '%s' "$1" | lab_exec peer timeout 3 nc -6 -u -w 1 "$GLOBAL" 7 || true)
  test "$reply" = "$1"
}
# (udp-services binds its ports once it has given up waiting for an IPv4 address.)
check "UDP echo over IPv6 answers nc -6 -u" retry 30 udp_echo "hello pytcp6"
check "UDP echo of a fragmented datagram over IPv6" \
  udp_echo "$(head -c 3000 /dev/urandom | base64 -w0)"
refused=$(lab_exec peer python3 - "$GLOBAL" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((sys.argv[1], 9999))
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
check "closed port: peer sees ICMPv6 port unreachable" test "$refused" = "refused"
stop "$pid"

# --- the shim: unmodified curl over IPv6 (SLAAC, then TCP through the stack) ---
LIB=$BUILD/shim/libpytcp.so
SHIM6=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP4=none PYTCP_IP6=auto PYTCP_MAC="$MAC")
sum=$(lab_exec host "${SHIM6[@]}" timeout 60 curl -6 -sS "http://[$LAB_PEER_IP6]/10M.bin" \
  2>"$TMP/curl.err" | sha256sum | cut -d' ' -f1 || true)
check "curl -6 under LD_PRELOAD: 10 MB from [$LAB_PEER_IP6], hash equal" \
  test "$sum" = "$LAB_HTTP_10M_SHA256"
sum=$(lab_exec host "${SHIM6[@]}" timeout 30 curl -6 -sS "http://[$LAB_FAR_IP6]/1M.bin" \
  2>>"$TMP/curl.err" | sha256sum | cut -d' ' -f1 || true)
check "curl -6 under LD_PRELOAD: the far network through the router" \
  test "$sum" = "$LAB_HTTP_1M_SHA256"
sum=$(lab_exec host "${SHIM6[@]}" timeout 30 curl -6 -sS "http://v6only.lab/1M.bin" \
  2>>"$TMP/curl.err" | sha256sum | cut -d' ' -f1 || true)
check "curl -6 under LD_PRELOAD: a name resolved to AAAA through the RDNSS server" \
  test "$sum" = "$LAB_HTTP_1M_SHA256"

# getaddrinfo(AF_UNSPEC) with IPv4 (DHCP) and a ULA (SLAAC): RFC 6724 puts IPv4
# (precedence 35) before ULA (3), as glibc does on a kernel host with the same addresses.
order=$(lab_exec host env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP6=auto PYTCP_MAC="$MAC" \
  timeout 20 python3 -c '
import socket, time
for _ in range(50):  # the SLAAC address may come a moment after the DHCP lease
    answers = [a[4][0] for a in socket.getaddrinfo("far.lab", 80, type=socket.SOCK_STREAM)]
    if len(answers) == 2:
        break
    time.sleep(0.1)
print(" ".join(answers))' 2>>"$TMP/curl.err" || true)
check "getaddrinfo orders a name's A and AAAA answers by RFC 6724 (IPv4, then ULA)" \
  test "$order" = "$LAB_FAR_IP4 $LAB_FAR_IP6"

# getifaddrs and an RTM_GETADDR dump (what `ip -6 addr` and dnsmasq read) under the shim
# show the stack's IPv6 addresses on the TAP's index: the link-local one (scope link,
# permanent) and the SLAAC one (scope global, lifetimes from the RA), as the kernel would.
ADDRS_PY=$(cat <<'PY'
import ctypes, socket, struct, sys, time
tap = socket.if_nametoindex(sys.argv[1])
class Sockaddr(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("data", ctypes.c_ubyte * 26)]
class Ifaddrs(ctypes.Structure):
    pass
Ifaddrs._fields_ = [("next", ctypes.POINTER(Ifaddrs)), ("name", ctypes.c_char_p), ("flags", ctypes.c_uint),
                    ("addr", ctypes.POINTER(Sockaddr)), ("netmask", ctypes.POINTER(Sockaddr))]
libc = ctypes.CDLL(None, use_errno=True)  # the process's symbols: the shim's getifaddrs first
def from_getifaddrs():
    head = ctypes.POINTER(Ifaddrs)()
    assert libc.getifaddrs(ctypes.byref(head)) == 0
    out, p = set(), head
    while p:
        e = p.contents
        if e.addr and e.addr.contents.family == socket.AF_INET6 and e.name.decode() == sys.argv[1]:
            a = socket.inet_ntop(socket.AF_INET6, bytes(e.addr.contents.data[6:22]))
            plen = sum(bin(b).count("1") for b in bytes(e.netmask.contents.data[6:22]))
            out.add(f"{a}/{plen}")
        p = e.next
    libc.freeifaddrs(head)
    return out
def from_netlink():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    s.bind((0, 0))
    s.send(struct.pack("=IHHII", 17, 22, 0x301, 7, 0) + bytes([socket.AF_INET6]) + b"\0\0\0")
    out = {}
    while True:
        d, i = s.recv(65536), 0
        while i < len(d):
            ln, typ = struct.unpack_from("=IH", d, i)
            if typ == 3:
                return out
            if typ == 20:
                fam, plen, flags, scope, idx = struct.unpack_from("=BBBBI", d, i + 16)
                j, attrs = i + 24, {}
                while j < i + ln:
                    al, at = struct.unpack_from("=HH", d, j)
                    attrs[at] = d[j + 4:j + al]
                    j += (al + 3) & ~3
                if idx == tap:
                    a = socket.inet_ntop(socket.AF_INET6, attrs[1])
                    pref, valid = struct.unpack_from("=II", attrs[6])
                    out[f"{a}/{plen}"] = (scope, bool(flags & 0x80), valid)
            i += (ln + 3) & ~3
# A program that uses the stack sees its interface (netlink_socket.h): a socket starts it.
user = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for _ in range(50):  # SLAAC comes a moment after start
    nl = from_netlink()
    if len(nl) >= 2:
        break
    time.sleep(0.1)
ga = from_getifaddrs()
for a, (scope, permanent, valid) in sorted(nl.items()):
    print(a, "link" if scope == 253 else "global" if scope == 0 else scope,
          "permanent" if permanent else f"valid {'forever' if valid == 0xffffffff else 'finite'}",
          "getifaddrs" if a in ga else "not-in-getifaddrs")
PY
)
addrs=$(lab_exec host "${SHIM6[@]}" timeout 20 python3 -c "$ADDRS_PY" "$LAB_TAP" 2>>"$TMP/curl.err" || true)
echo "$addrs"
check "the link-local address in the netlink dump and getifaddrs (scope link, permanent)" \
  grep -qx "$LL/64 link permanent getifaddrs" <<<"$addrs"
check "the SLAAC address in the netlink dump and getifaddrs (scope global, the RA's finite lifetime)" \
  grep -qx "$GLOBAL/64 global valid finite getifaddrs" <<<"$addrs"
# The same from the shared stack (pytcpd), whose daemon tells the shim its addresses.
RUN6=$TMP/run6
mkdir -m 700 "$RUN6"
lab_defer lab_stop_daemon "$RUN6"
addrs_shared=$(lab_exec host "${SHIM6[@]}" PYTCP_STACK=shared PYTCP_RUN_DIR="$RUN6" \
  PYTCP_DAEMON="$BUILD/pytcpd/pytcpd" PYTCP_IDLE_EXIT=2 PYTCP_CONSOLE=off \
  timeout 20 python3 -c "$ADDRS_PY" "$LAB_TAP" 2>>"$TMP/curl.err" || true)
echo "$addrs_shared"
check "the shared stack's shim shows the same two IPv6 addresses" test "$addrs_shared" = "$addrs"
# The daemon lets go of the TAP before the next program takes it.
lab_stop_daemon "$RUN6"

# --- the stack as a TCP server over IPv6: python3 under the shim, the kernel peer sends ---
head -c 20000000 /dev/urandom >"$TMP/up6"
want=$(sha256sum <"$TMP/up6" | cut -d' ' -f1)
ip netns exec "$LAB_HOST_NS" "${SHIM6[@]}" timeout 60 python3 - >"$TMP/srv6.log" 2>&1 <<'PY' &
import hashlib, socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 5006))
s.listen(1)
print("ready", flush=True)
c, peer = s.accept()
h = hashlib.sha256()
while True:
    b = c.recv(262144)
    if not b:
        break
    h.update(b)
print("from", peer[0], h.hexdigest(), flush=True)
c.close()
PY
srv=$!
lab_defer kill "$srv"
wait_for "$TMP/srv6.log" ready 10 || true
retry 20 lab_exec peer timeout 60 socat -u "OPEN:$TMP/up6" "TCP6:[$GLOBAL]:5006" || true
wait "$srv" || true
check "TCP over IPv6, the stack as server: 20 MB from the peer, hash equal" \
  grep -q "from $LAB_PEER_IP6 $want" "$TMP/srv6.log"

# --- link-local scope ids, IPv6 multicast sockets and MLDv1: python3 under the shim ---
# The program joins ff15::7777 (IPV6_JOIN_GROUP), answers a datagram from the peer's
# link-local address to the address recvfrom gave it (whose scope id must be the TAP's
# index, as the kernel reports it), and receives a datagram the peer sends to the group.
# Then the peer sends an MLDv1 query: the stack must answer in MLDv1 (RFC 3810 8.2).
PEER_LL=$(lab_exec peer ip -6 -o addr show dev "$LAB_PEER_IF" scope link | awk '{print $4}' | cut -d/ -f1)
lab_exec peer timeout 60 tcpdump -i "$LAB_PEER_IF" -n -U -w "$TMP/mc.pcap" "ip6 and src host $LL" \
  2>"$TMP/tcpdump-mc.log" &
lab_defer kill "$!"
wait_for "$TMP/tcpdump-mc.log" "listening on" 5 || true
ip netns exec "$LAB_HOST_NS" "${SHIM6[@]}" timeout 60 python3 - "$LAB_TAP" >"$TMP/mc.log" 2>&1 <<'PY' &
import socket, struct, sys, time
idx = socket.if_nametoindex(sys.argv[1])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", 5007))
mreq = socket.inet_pton(socket.AF_INET6, "ff15::7777") + struct.pack("@I", idx)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
print("ready", flush=True)
s.settimeout(40)
while True:
    data, addr = s.recvfrom(100)
    if data == b"ping":
        print("unicast from", addr[0], "scope", addr[3], "want", idx, flush=True)
        s.sendto(b"pong", addr)
    elif data == b"mc":
        print("mcast from", addr[0], flush=True)
        break
time.sleep(6)  # keeps the group while the peer's MLDv1 query is answered
PY
mc=$!
lab_defer kill "$mc"
wait_for "$TMP/mc.log" ready 10 || true
peer_udp() {  # peer_udp DST MESSAGE [EXPECT]: from the peer's side of the lab link
  lab_exec peer python3 - "$1" "$2" "$LAB_PEER_IF" "${3:-}" <<'PY'
import socket, sys
dst, msg, ifname, expect = sys.argv[1:5]
idx = socket.if_nametoindex(ifname)
c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
c.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
c.settimeout(1)
c.sendto(msg.encode(), (dst, 5007, 0, idx))
if expect:
    sys.exit(0 if c.recvfrom(100)[0].decode() == expect else 1)
PY
}
check "a reply to the link-local address recvfrom gave reaches the peer" retry 10 peer_udp "$LL" ping pong
check "recvfrom reports the link-local peer with the TAP's index as scope id" \
  grep -Eq "unicast from $PEER_LL scope ([0-9]+) want \1\$" "$TMP/mc.log"
mc_received() { peer_udp ff15::7777 mc && wait_for "$TMP/mc.log" "mcast from" 1; }
check "IPV6_JOIN_GROUP: a datagram to ff15::7777 from the peer arrives" retry 10 mc_received
mldv2_join() { tcpdump -r "$TMP/mc.pcap" -n -v 2>/dev/null | grep -q "gaddr ff15::7777 to_ex"; }
check "the join was announced by an MLDv2 report" retry 10 mldv2_join
lab_exec peer python3 - "$LAB_PEER_IF" <<'PY'
# An MLDv1 general query (RFC 2710 3: 24 bytes) with Router Alert and hop limit 1.
import socket, struct, sys
idx = socket.if_nametoindex(sys.argv[1])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, bytes([0, 0, 5, 2, 0, 0, 1, 0]))
s.sendto(struct.pack("!BBHHH16s", 130, 0, 0, 1000, 0, bytes(16)), ("ff02::1", 0, 0, idx))
PY
mldv1_answer() {
  # tcpdump prints an MLDv1 report as "multicast listener report(no space)max resp delay: 0 addr: G",
  # an MLDv2 one as "multicast listener report v2, N group record(s) [...]".
  tcpdump -r "$TMP/mc.pcap" -n -v 2>/dev/null |
    grep -Eq "multicast listener report ?max resp delay: [0-9]+ addr: ff15::7777"
}
check "an MLDv1 query is answered with an MLDv1 report" retry 10 mldv1_answer
stop "$mc"

# --- a static address the peer already holds: DAD fails, the address is never used ---
start_in_host "$TMP/dad.log" "${COMMON[@]}" PYTCP_IP6="$LAB_PEER_IP6/64" -- "$SERVICES"
pid=$STARTED
check "DAD detects the peer's address" wait_for "$TMP/dad.log" "duplicate address detected: $LAB_PEER_IP6" 8
check "the peer's address still answers from the peer alone" \
  lab_exec peer ping -6 -c 1 -W 1 "$LAB_PEER_IP6"
stop "$pid"

echo "ip6 lab: $passed passed, $failed failed"
if ((failed > 0)); then
  echo "--- stack log"; cat "$TMP/stack.log"
  echo "--- curl"; cat "$TMP/curl.err" 2>/dev/null || true
  exit 1
fi
