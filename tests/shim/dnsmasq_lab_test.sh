#!/usr/bin/env bash
# dnsmasq under the shim as a DHCP and DNS server (issue 19's "dnsmasq under the shim
# answering DHCP and DNS on a wildcard socket"). Usage: dnsmasq_lab_test.sh BUILD_DIR
#
# Debian's dnsmasq learns its interfaces' addresses from NETLINK_ROUTE dumps (RTM_GETADDR,
# with MSG_PEEK|MSG_TRUNC reads), learns each DHCP request's interface from IP_PKTINFO on
# its wildcard socket on port 67, asks SIOCGIFADDR for that interface's address, and
# unicasts its answer to a client that has no address yet after putting the client's MAC
# in the ARP cache with SIOCSARP (RFC 2131 §4.1; the client here does not set the
# broadcast bit). So, with the same dnsmasq command line:
#   - natively, in a kernel namespace on the lab's bridge (the reference), and under
#     LD_PRELOAD=libpytcp.so on the lab host (10.77.0.2 on the TAP), in-process
#     (PYTCP_STACK=process) and with the shared stack (pytcpd):
#   - busybox udhcpc in a namespace of its own on the bridge obtains a lease in the range,
#     from that server, with the same options; the lease file names the client's MAC and
#     address; the offer and the ack reached the client by unicast to the offered address
#     (tcpdump in the client's namespace), as the kernel's dnsmasq sends them, and dnsmasq
#     logged no failed ARP-cache injection;
#   - dig from the peer and from the client (over its new address) gets the host record.
# The lab's own DHCP server (the peer's dnsmasq) is stopped first so that only the server
# under test answers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB=$BUILD/shim/libpytcp.so
for tool in dnsmasq udhcpc dig tcpdump; do
  command -v "$tool" >/dev/null || { echo "SKIP: no $tool (scripts/setup installs it)" >&2; exit 77; }
done
lab_up "$(lab_unique_name dnsm)"
set -a; lab_load "$LAB_NAME"; set +a
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
ME=10.77.0.2
FIRST=10.77.0.50
LAST=10.77.0.60
RECORD_NAME=web.dhcp.lab
RECORD_IP=10.77.0.80

# Only the server under test answers DHCP.
kill "$(cat "$LAB_RUN_DIR/dnsmasq.pid")"

# The kernel reference server's namespace (10.77.0.3), and the client's: a veth on the
# bridge with no address until the lease.
lab_add_kernel_ns
CLIENT_NS=$LAB_NAME-dhc
ip netns add "$CLIENT_NS"
lab_defer ip netns del "$CLIENT_NS"
ip netns exec "$CLIENT_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$LAB_HOST_NS" link add veth-c type veth peer name veth-cc netns "$CLIENT_NS"
ip -n "$LAB_HOST_NS" link set veth-c master "$LAB_BRIDGE" up
ip -n "$CLIENT_NS" link set lo up
ip -n "$CLIENT_NS" link set veth-cc address 02:00:00:77:00:cc up
CLIENT_MAC=02:00:00:77:00:cc

SHIM=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP4="$ME/24" PYTCP_GW4="$LAB_PEER_IP4"
      PYTCP_IP6=none PYTCP_DHCP_CACHE=none PYTCP_CONSOLE=off)
PROCESS=("${SHIM[@]}" PYTCP_STACK=process)
RUN=$TMP/run
mkdir -p "$RUN"
SHARED=("${SHIM[@]}" PYTCP_STACK=shared PYTCP_RUN_DIR="$RUN" PYTCP_DAEMON="$BUILD/pytcpd/pytcpd"
        PYTCP_IDLE_EXIT=600)
stop_daemon() { lab_stop_daemon "$RUN"; }
lab_defer stop_daemon

wait_for() {  # wait_for FILE PATTERN SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# udhcpc's script: the lease's values into a file, the address onto the interface.
cat >"$TMP/udhcpc.sh" <<'EOF'
#!/bin/sh
case "$1" in
  bound|renew)
    echo "ip=$ip subnet=$subnet router=$router dns=$dns serverid=$serverid lease=$lease" >"$LEASE_OUT"
    ip addr add "$ip/24" dev "$interface"
    ;;
esac
exit 0
EOF
chmod +x "$TMP/udhcpc.sh"

# run NAME WHERE SERVER_IP IFACE [PREFIX...]: dnsmasq in WHERE (kern: natively; host: under
# PREFIX), a lease for the client, DNS from the peer and from the client; results in
# $TMP/NAME.*.
run() {
  local name=$1 where=$2 server=$3 iface=$4; shift 4
  local ns=$LAB_NAME-$where
  : >"$TMP/$name.leases"
  : >"$TMP/empty.conf"
  ip netns exec "$ns" "$@" timeout 60 dnsmasq -k -C "$TMP/empty.conf" --interface="$iface" \
    --port=53 --no-resolv --no-hosts --host-record="$RECORD_NAME,$RECORD_IP" \
    --dhcp-range="$FIRST,$LAST,255.255.255.0,1h" --dhcp-leasefile="$TMP/$name.leases" \
    --user=root --group=root --pid-file= --log-dhcp --log-queries --log-facility=- \
    >"$TMP/$name.dnsmasq" 2>&1 &
  local server_pid=$!
  lab_defer sh -c "kill $server_pid 2>/dev/null; true"
  wait_for "$TMP/$name.dnsmasq" "cleared cache" 15 || echo "  $name: dnsmasq did not start" >&2
  ip netns exec "$CLIENT_NS" timeout 30 tcpdump -i veth-cc -nn -U -l 'udp and (port 67 or port 68)' \
    >"$TMP/$name.tcpdump" 2>"$TMP/$name.tcpdump.err" &
  local cap=$!
  wait_for "$TMP/$name.tcpdump.err" "listening on" 10 || true
  ip netns exec "$CLIENT_NS" env LEASE_OUT="$TMP/$name.lease" timeout 30 \
    udhcpc -i veth-cc -f -q -n -t 5 -T 2 -s "$TMP/udhcpc.sh" >"$TMP/$name.udhcpc" 2>&1 || true
  lab_exec peer timeout 10 dig @"$server" "$RECORD_NAME" +short +time=2 +tries=2 \
    >"$TMP/$name.dig-peer" 2>&1 || true
  ip netns exec "$CLIENT_NS" timeout 10 dig @"$server" "$RECORD_NAME" +short +time=2 +tries=2 \
    >"$TMP/$name.dig-client" 2>&1 || true
  sleep 0.3  # tcpdump's last lines (-U -l: written as they come)
  kill "$cap" 2>/dev/null || true; wait "$cap" 2>/dev/null || true
  kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true
  ip -n "$CLIENT_NS" addr flush dev veth-cc
}

# verify NAME SERVER_IP: the checks for one run.
verify() {
  local name=$1 server=$2 ip=""
  ip=$(sed -n 's/^ip=\([0-9.]*\) .*/\1/p' "$TMP/$name.lease" 2>/dev/null || true)
  check "$name: udhcpc got a lease" test -n "$ip"
  check "$name: the address $ip is in $FIRST-$LAST" \
    "${PY:-/usr/bin/python3}" -c "import ipaddress,sys; a=ipaddress.ip_address(sys.argv[1]); sys.exit(not ipaddress.ip_address('$FIRST') <= a <= ipaddress.ip_address('$LAST'))" "${ip:-0.0.0.0}"
  check "$name: from server $server, which is the router; /24, one hour" \
    has "$TMP/$name.lease" "subnet=255\.255\.255\.0 router=$server dns=$server serverid=$server lease=3600$"
  check "$name: the lease file names the client's MAC and address" \
    has "$TMP/$name.leases" "^[0-9]+ $CLIENT_MAC ${ip//./\\.} "
  check "$name: dnsmasq logged DHCPACK for it" has "$TMP/$name.dnsmasq" "DHCPACK\(.*\) ${ip//./\\.} $CLIENT_MAC"
  check "$name: the offer and the ack were unicast to $ip (no broadcast)" \
    eval "[ \$(grep -cE '${server//./\\.}\.67 > ${ip//./\\.}\.68' $TMP/$name.tcpdump) -ge 2 ] && ! grep -q '255\.255\.255\.255\.68' $TMP/$name.tcpdump"
  check "$name: no failed ARP-cache injection" eval "! grep -q 'ARP-cache injection failed' $TMP/$name.dnsmasq"
  check "$name: dig from the peer gets the host record" has "$TMP/$name.dig-peer" "^${RECORD_IP//./\\.}$"
  check "$name: dig from the client (over its leased address) gets it" \
    has "$TMP/$name.dig-client" "^${RECORD_IP//./\\.}$"
}

run kernel kern "$LAB_KERN_IP4" veth-kk
verify kernel "$LAB_KERN_IP4"
run process host "$ME" "$LAB_TAP" "${PROCESS[@]}"
verify process "$ME"
check "process: dnsmasq saw the stack's address on $LAB_TAP (no 'does not currently exist')" \
  eval "! grep -q 'interface $LAB_TAP does not currently exist' $TMP/process.dnsmasq"
run shared host "$ME" "$LAB_TAP" "${SHARED[@]}"
verify shared "$ME"
# The same lease, option for option, from the kernel's dnsmasq and from the shim's.
normal() { sed -e "s/$LAB_KERN_IP4/SERVER/g" -e "s/$ME/SERVER/g" -e 's/^ip=[0-9.]* //' "$1"; }
check "the lease's options are the kernel dnsmasq's" \
  eval "[ -s $TMP/kernel.lease ] && diff <(normal $TMP/kernel.lease) <(normal $TMP/process.lease) && diff <(normal $TMP/kernel.lease) <(normal $TMP/shared.lease)"

for f in process shared kernel; do
  grep -E "DHCP|ARP|warning|failed|error" "$TMP/$f.dnsmasq" 2>/dev/null | sed "s/^/    $f: /" | head -20 || true
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
