#!/usr/bin/env bash
# libpytcp.so in the lab (issue 5). Usage: shim_lab_test.sh BUILD_DIR
#   - the conformance suite passes natively (the kernel, far namespace -> peer) and under
#     LD_PRELOAD (PyTCP, host namespace, where the kernel has no address): the two agree;
#   - unmodified Debian programs under the shim in the host namespace: nc -u and socat as
#     UDP clients of the peer's echo service, python3 as a UDP client (blocking, timeouts,
#     selectors/epoll, ICMP refused) and as a UDP server the peer talks to;
#   - preloading is harmless: a program that opens no INET socket never touches the TAP,
#     even when none exists; misconfiguration is one line on stderr and a clean failure;
#   - a second process cannot take the TAP from the first: one line, ENETDOWN, no hang.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB=$BUILD/shim/libpytcp.so
CONF=$BUILD/tests/shim/shim_conformance
PY=/usr/bin/python3
lab_up "$(lab_unique_name shim)"
set -a; lab_load "$LAB_NAME"; set +a
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
ME=10.77.0.2
SHIM=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP4="$ME/24" PYTCP_GW4="$LAB_PEER_IP4"
      PYTCP_IP6=none)

passed=0; failed=0
check() {  # check NAME CMD...
  local name=$1; shift
  if "$@"; then echo "ok   - $name"; passed=$((passed + 1)); else echo "FAIL - $name"; failed=$((failed + 1)); fi
}
wait_for() {  # wait_for FILE PATTERN SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
in_host() { lab_exec host "${SHIM[@]}" "$@"; }

# --- conformance: the same program against the kernel and against PyTCP ---
conformance() {  # conformance NS LOCAL_IP RESULT_FILE [PREFIX...]
  local ns=$1 local_ip=$2 out=$3; shift 3
  lab_exec "$ns" "$@" env CONFORMANCE_PEER="$LAB_PEER_IP4" CONFORMANCE_LOCAL="$local_ip" \
    timeout 120 "$CONF" --gtest_brief=1 --gtest_output="json:$out" >"$out.log" 2>&1
}
check "conformance: Linux kernel (far namespace)" conformance far "$LAB_FAR_IP4" "$TMP/kernel.json"
check "conformance: PyTCP under LD_PRELOAD (host namespace)" \
  conformance host "$ME" "$TMP/pytcp.json" "${SHIM[@]}"
results() {  # test name and result, one a line
  "$PY" -c 'import json,sys
for s in json.load(open(sys.argv[1]))["testsuites"]:
  for t in s["testsuite"]: print(s["name"]+"."+t["name"], "FAILED" if t.get("failures") else "OK")' "$1"
}
agree() {
  [[ -f $TMP/kernel.json && -f $TMP/pytcp.json ]] || return 1
  diff <(results "$TMP/kernel.json") <(results "$TMP/pytcp.json")
}
check "conformance: both runs agree test by test" agree
for f in kernel pytcp; do
  grep -E "FAILED|Failure|error" "$TMP/$f.json.log" 2>/dev/null | sed "s/^/    $f: /" | head -40 || true
done

# --- real programs: UDP clients ---
reply=$(echo "hello pytcp" | in_host timeout 10 nc -u -w1 "$LAB_PEER_IP4" 7 || true)
check "nc -u: echo through the peer" test "$reply" = "hello pytcp"
big=$(head -c 3000 /dev/urandom | base64 -w0)
reply=$(printf '%s' "$big" | in_host timeout 10 nc -u -w1 "$LAB_PEER_IP4" 7 || true)
check "nc -u: fragmented 4 KB datagram" test "$reply" = "$big"
reply=$(echo "via socat" | in_host timeout 10 socat -t1 - "UDP:$LAB_PEER_IP4:7" || true)
check "socat: UDP echo" test "$reply" = "via socat"

cat >"$TMP/client.py" <<'PY'
import selectors, socket, sys
peer = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"ping", (peer, 7))
data, addr = s.recvfrom(100)
assert (data, addr) == (b"ping", (peer, 7)), (data, addr)
s.connect((peer, 7))
assert s.getsockname()[0] == "10.77.0.2", s.getsockname()
for i in range(20):
    s.send(b"n%d" % i)
    assert s.recv(100) == b"n%d" % i
s.setblocking(False)
sel = selectors.DefaultSelector()  # epoll
sel.register(s, selectors.EVENT_READ)
assert sel.select(0.05) == []
s.send(b"sel")
assert len(sel.select(3)) == 1
assert s.recv(10) == b"sel"
try:
    s.recv(10)
    raise SystemExit("expected EAGAIN")
except BlockingIOError:
    pass
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.settimeout(3)
r.connect((peer, 9999))
r.send(b"anyone?")
try:
    r.recv(10)
    raise SystemExit("expected ECONNREFUSED")
except ConnectionRefusedError:
    pass
print("python client ok")
PY
out=$(in_host timeout 20 "$PY" "$TMP/client.py" "$LAB_PEER_IP4" 2>&1 || true)
check "python3: UDP client (blocking, timeout, epoll selector, refused)" \
  test "$out" = "python client ok"
[[ $out == "python client ok" ]] || echo "$out" | sed 's/^/    /'

# --- a UDP server under the shim, the kernel peer as client ---
cat >"$TMP/server.py" <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5555))
print("ready", flush=True)
for _ in range(2):
    data, addr = s.recvfrom(2000)
    s.sendto(data.upper(), addr)
PY
in_host timeout 20 "$PY" "$TMP/server.py" >"$TMP/server.log" 2>&1 &
server=$!
lab_defer sh -c "kill $server 2>/dev/null; true"
check "python3 server starts" wait_for "$TMP/server.log" ready 5
reply=$(echo "shout" | lab_exec peer timeout 5 nc -u -w1 "$ME" 5555 || true)
check "python3 UDP server answers the peer's nc -u" test "$reply" = "SHOUT"

# While the server holds the TAP, another shim process cannot have it.
out=$(in_host "$PY" -c '
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
except OSError as e:
    print(e.errno)' 2>"$TMP/busy.err" || true)
check "second process: ENETDOWN while the TAP is taken" test "$out" = "100"
check "second process: exactly one line on stderr" \
  test "$(grep -c '^pytcp: ' "$TMP/busy.err")" = 1 -a "$(wc -l <"$TMP/busy.err")" = 1
reply=$(echo "again" | lab_exec peer timeout 5 nc -u -w1 "$ME" 5555 || true)
check "the first process keeps working" test "$reply" = "AGAIN"
wait "$server" 2>/dev/null || true

# --- preloading is harmless ---
out=$(lab_exec host env LD_PRELOAD="$LIB" PYTCP_IFACE=absent0 sh -c 'cat /etc/hostname >/dev/null; ls / | wc -l' 2>"$TMP/harmless.err")
check "no INET socket: no TAP needed, nothing on stderr" test -n "$out" -a ! -s "$TMP/harmless.err"
err=$(lab_exec host env LD_PRELOAD="$LIB" PYTCP_IP4=bogus "$PY" -c '
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
except OSError as e:
    print(e.errno)' 2>&1 >/dev/null || true)
check "bad PYTCP_IP4: one line naming the variable" \
  test "$(echo "$err" | grep -c "PYTCP_IP4='bogus' is not valid")" = 1

echo "shim lab: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
