#!/usr/bin/env bash
# Name resolution under the shim as glibc does it (issue 19, item 8). Usage:
# names_lab_test.sh BUILD_DIR
#
# Every check runs the same command twice and compares what it prints and its exit status:
# natively (glibc's own resolver over the kernel, in the lab's far namespace) and under
# LD_PRELOAD=libpytcp.so (the shim's resolver over PyTCP, in the host namespace, where the
# kernel has no address). Nothing is hard-coded but that the native answer to a PTR lookup
# of the peer must be a name. Both sides see the same /etc/resolv.conf, /etc/nsswitch.conf
# and /etc/hosts, bind-mounted inside `ip netns exec`'s own mount namespace (the machine's
# files are untouched):
#   - getent hosts of the peer's IPv4 and IPv6 addresses and the far host's: PTR records
#     from the lab's dnsmasq (in-addr.arpa, ip6.arpa); an address without a name;
#   - h_errno and EAI codes seen by CPython (gethostbyaddr, gethostbyname_ex, getnameinfo,
#     getaddrinfo): a name, no such name, no data, a name the server refuses;
#   - an IPv6 name server only, with "search lab" and options edns0 rotate ndots timeout
#     attempts: a short name through the search list, the answers the same;
#   - nsswitch.conf's hosts line: files before dns, dns before files, [NOTFOUND=return],
#     Debian's "files mdns4_minimal [NOTFOUND=return] dns" with a module that is absent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB=$BUILD/shim/libpytcp.so
PROBE=$BUILD/tests/shim/shim_netdb_probe
PY=/usr/bin/python3
lab_up "$(lab_unique_name names)"
set -a; lab_load "$LAB_NAME"; set +a
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
RUN=$TMP/run
mkdir -p "$RUN"
# The shared stack (pytcpd), as a host runs it: its IPv6 address stays usable between the
# programs (a private stack per getent would be tentative, RFC 4862 DAD, at every start).
SHIM=(env LD_PRELOAD="$LIB" PYTCP_STACK=shared PYTCP_RUN_DIR="$RUN"
      PYTCP_DAEMON="$BUILD/pytcpd/pytcpd" PYTCP_IDLE_EXIT=600 PYTCP_IFACE="$LAB_TAP"
      PYTCP_IP4=10.77.0.2/24 PYTCP_GW4="$LAB_PEER_IP4" PYTCP_IP6=fd77::2/64 PYTCP_CONSOLE=off
      PYTCP_DHCP_CACHE=none)
daemon_pid() { cat "$RUN/$LAB_TAP.pid" 2>/dev/null; }
stop_daemon() { lab_stop_daemon "$RUN"; }
lab_defer stop_daemon
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"

# The files both sides see: the hosts file is the machine's, and for the nsswitch checks
# the machine's plus two lab names.
printf 'nameserver %s\n' "$LAB_DNS4" >"$TMP/resolv4.conf"
printf 'nameserver %s\nsearch lab\noptions edns0 rotate ndots:1 timeout:2 attempts:2\n' \
  "$LAB_DNS6" >"$TMP/resolv6.conf"
printf 'nameserver %s\nnameserver %s\nsearch lab\noptions ndots:2\n' "$LAB_DNS6" "$LAB_DNS4" \
  >"$TMP/resolv6-ndots2.conf"
cp /etc/hosts "$TMP/hosts"
{ cat /etc/hosts; printf '%s filespeer.lab filespeer\n10.77.0.77 onlyinfiles.lab\n' \
  "$LAB_PEER_IP4"; } >"$TMP/hosts-lab"
HOSTS=$TMP/hosts
nss() { printf 'passwd: files\nhosts: %s\nnetworks: files\n' "$1" >"$TMP/nss-$2.conf"; }
nss "files dns" files-dns
nss "dns files" dns-files
nss "dns [NOTFOUND=return] files" dns-return
nss "files mdns4_minimal [NOTFOUND=return] dns" debian

RESOLV=$TMP/resolv4.conf
NSS=$TMP/nss-files-dns.conf
# run_in NS OUT PREFIX... -- CMD...: CMD in NS with the lab's files mounted; its output and
# exit status in OUT.
run_in() {
  local ns=$1 out=$2; shift 2
  local prefix=()
  while [[ $1 != -- ]]; do prefix+=("$1"); shift; done
  shift
  local rc=0
  ip netns exec "$ns" "${prefix[@]}" timeout 60 sh -c '
    mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/nsswitch.conf &&
      mount --bind "$3" /etc/hosts || exit 99
    shift 3
    exec "$@"' sh "$RESOLV" "$NSS" "$HOSTS" "$@" >"$out" 2>&1 || rc=$?
  echo "exit status $rc" >>"$out"
}
n=0
# same NAME CMD...: natively and under the shim, the same output and exit status.
same() {
  local name=$1; shift
  n=$((n + 1))
  run_in "$LAB_FAR_NS" "$TMP/$n.native" -- "$@"
  run_in "$LAB_HOST_NS" "$TMP/$n.shim" "${SHIM[@]}" -- "$@"
  if diff "$TMP/$n.native" "$TMP/$n.shim" >"$TMP/$n.diff"; then
    check "$name" true
  else
    check "$name" false
    sed 's/^/    /' "$TMP/$n.diff" | head -40
  fi
}
# The native answer of the last `same` has a name for ADDR (the lab's DNS did answer).
named() { grep -qE "^$1 +[a-z]" "$TMP/$n.native"; }

cat >"$TMP/errors.py" <<'EOF'
import socket, sys
def show(what, f):
    try:
        print(what, f())
    except socket.herror as e:
        print(what, "herror", e.errno, e.strerror)
    except socket.gaierror as e:
        print(what, "gaierror", e.errno, e.strerror)
for a in sys.argv[1].split(","):
    show("gethostbyaddr " + a, lambda: socket.gethostbyaddr(a))
    show("getnameinfo " + a, lambda: socket.getnameinfo((a, 80), 0))
    show("getnameinfo NAMEREQD " + a, lambda: socket.getnameinfo((a, 80), socket.NI_NAMEREQD))
for name in sys.argv[2].split(","):
    show("gethostbyname_ex " + name, lambda: socket.gethostbyname_ex(name))
    show("getaddrinfo " + name, lambda: sorted({(ai[0].name, ai[4][0]) for ai in
                                                   socket.getaddrinfo(name, 80)}))
    show("getaddrinfo inet6 " + name, lambda: sorted({ai[4][0] for ai in
                                                      socket.getaddrinfo(name, 80, socket.AF_INET6)}))
EOF
# 10.77.0.55 and fd77::55 have no name in the lab's reverse zones (NXDOMAIN); 10.78.0.55 is
# outside them (REFUSED).
ADDRS="$LAB_PEER_IP4,$LAB_PEER_IP6,$LAB_FAR_IP4,10.77.0.55,fd77::55,10.78.0.55"
NAMES="peer.lab,www.lab,nosuch.lab,v6only.lab,v4only.lab,example.com"

# The daemon starts with the first program; its static IPv6 address is usable once DAD is
# over (about a second): wait for an IPv6 exchange with the name server before comparing.
cat >"$TMP/warm.py" <<'EOF'
import socket, sys, time
for _ in range(100):
    try:
        socket.getaddrinfo("peer.lab", 80, socket.AF_INET6)
        sys.exit(0)
    except socket.gaierror:
        time.sleep(0.1)
sys.exit(1)
EOF
RESOLV=$TMP/resolv6.conf
run_in "$LAB_HOST_NS" "$TMP/warm.out" "${SHIM[@]}" -- "$PY" "$TMP/warm.py"
check "the shared stack is up and asks the IPv6 name server" grep -q "exit status 0" "$TMP/warm.out"
RESOLV=$TMP/resolv4.conf

# --- PTR records: in-addr.arpa and ip6.arpa ---
same "getent hosts $LAB_PEER_IP4 (in-addr.arpa PTR)" getent hosts "$LAB_PEER_IP4"
check "  the native answer is the lab DNS's name for $LAB_PEER_IP4" named "$LAB_PEER_IP4"
same "getent hosts $LAB_PEER_IP6 (ip6.arpa PTR)" getent hosts "$LAB_PEER_IP6"
check "  the native answer is the lab DNS's name for $LAB_PEER_IP6" named "$LAB_PEER_IP6"
same "getent hosts $LAB_FAR_IP4 (another network's address)" getent hosts "$LAB_FAR_IP4"
same "getent hosts 10.77.0.55 (no name: the same exit status)" getent hosts 10.77.0.55
same "getent hosts 10.78.0.55 (the server refuses: the same exit status)" getent hosts 10.78.0.55
same "getent hosts peer.lab (forward, AAAA then A)" getent hosts peer.lab
same "h_errno and EAI codes (CPython)" "$PY" "$TMP/errors.py" "$ADDRS" "$NAMES"
same "h_errno, return codes, names, aliases (C: _r and plain forms, getaddrinfo)" \
  "$PROBE" ${ADDRS//,/ } ${NAMES//,/ }
check "  natively, no name in the lab's reverse zone is HOST_NOT_FOUND (h_errno 1)" \
  grep -q "^gethostbyaddr_r 10.77.0.55: rc=0 h_errnop=1 " "$TMP/$n.native"
check "  natively, a refused PTR query is TRY_AGAIN (h_errno 2)" \
  grep -q "^gethostbyaddr_r 10.78.0.55: rc=0 h_errnop=2 " "$TMP/$n.native"

# --- an IPv6 name server, a search list and options ---
RESOLV=$TMP/resolv6.conf
same "IPv6 name server: getent hosts $LAB_PEER_IP4" getent hosts "$LAB_PEER_IP4"
same "IPv6 name server, search lab: getent hosts peer" getent hosts peer
same "IPv6 name server, search lab: getent ahosts far" getent ahostsv4 far
same "IPv6 name server: h_errno and EAI codes (CPython)" "$PY" "$TMP/errors.py" "$ADDRS" \
  "peer,nosuch,$NAMES"
same "IPv6 name server: h_errno, return codes, names (C)" "$PROBE" ${ADDRS//,/ } peer nosuch \
  ${NAMES//,/ }
RESOLV=$TMP/resolv6-ndots2.conf
same "ndots:2: the search list before the name itself (C)" "$PROBE" peer www.lab example.com
RESOLV=$TMP/resolv4.conf

# --- nsswitch.conf ---
HOSTS=$TMP/hosts-lab
NSS=$TMP/nss-files-dns.conf
same "hosts: files dns -- the hosts file's name and aliases for $LAB_PEER_IP4" \
  getent hosts "$LAB_PEER_IP4"
check "  the native answer came from the hosts file" grep -q filespeer "$TMP/$n.native"
same "hosts: files dns -- a name only in the hosts file" getent hosts onlyinfiles.lab
NSS=$TMP/nss-dns-files.conf
same "hosts: dns files -- DNS's name for $LAB_PEER_IP4 first" getent hosts "$LAB_PEER_IP4"
same "hosts: dns files -- a name only in the hosts file" getent hosts onlyinfiles.lab
NSS=$TMP/nss-dns-return.conf
same "hosts: dns [NOTFOUND=return] files -- the file is not read" getent hosts onlyinfiles.lab
NSS=$TMP/nss-debian.conf
same "hosts: files mdns4_minimal [NOTFOUND=return] dns -- dns still answers" getent hosts peer.lab
same "hosts: files mdns4_minimal [NOTFOUND=return] dns -- PTR" getent hosts "$LAB_PEER_IP6"

echo "names lab: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
