#!/usr/bin/env bash
# The stack's own loopback (issue 19, item 6). Usage: loopback_lab_test.sh BUILD_DIR
#   - tests/shim/loopback_test.cc (TCP and UDP between threads over 127.0.0.0/8 and ::1, a
#     wildcard listener reached over loopback, refusals) passes natively, on the kernel's lo
#     in the lab's host namespace;
#   - then the kernel's lo is taken down there (a connection to 127.0.0.1 through the
#     kernel now fails: checked), and the same program passes under LD_PRELOAD with
#     PYTCP_LOOPBACK=stack, in-process (PYTCP_STACK=process) and through the shared daemon
#     (PYTCP_STACK=shared; there without the case that reuses a just-closed UDP port: the
#     daemon closes a socket a moment after the program does): only the stack can have
#     carried it;
#   - with PYTCP_LOOPBACK=kernel (the default, lo still up) the sockets are handed to the
#     kernel and the program passes as well, but for a wildcard listener (it stays in the
#     stack, which the kernel's loopback does not reach);
#   - the runs agree test by test, and a program of the shared stack reaches a listener of
#     another program over 127.0.0.1 (between processes, through pytcpd).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB=$BUILD/shim/libpytcp.so
PROG=$BUILD/tests/shim/shim_loopback
PY=/usr/bin/python3
lab_up "$(lab_unique_name loop)"
set -a; lab_load "$LAB_NAME"; set +a
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
RUN=$TMP/run
mkdir -p "$RUN"
COMMON=(env LD_PRELOAD="$LIB" PYTCP_LOOPBACK=stack PYTCP_IFACE="$LAB_TAP" PYTCP_IP4=10.77.0.2/24
        PYTCP_IP6=fd77::2/64 PYTCP_CONSOLE=off PYTCP_DHCP_CACHE=none PYTCP_RUN_DIR="$RUN"
        PYTCP_DAEMON="$BUILD/pytcpd/pytcpd" PYTCP_IDLE_EXIT=600)
daemon_pid() { cat "$RUN/$LAB_TAP.pid" 2>/dev/null; }
stop_daemon() { lab_stop_daemon "$RUN"; }
lab_defer stop_daemon
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"

run() {  # run RESULT_JSON [PREFIX...] [-- GTEST_ARGS...]
  local out=$1; shift
  local prefix=()
  while [[ $# -gt 0 && $1 != -- ]]; do prefix+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  lab_exec host "${prefix[@]}" timeout 120 "$PROG" --gtest_brief=1 --gtest_output="json:$out" "$@" \
    >"$out.log" 2>&1
}
results() {
  "$PY" -c 'import json,sys
for s in json.load(open(sys.argv[1]))["testsuites"]:
  for t in s["testsuite"]: print(s["name"]+"."+t["name"], "FAILED" if t.get("failures") else "OK")' "$1"
}
agree() {
  [[ -f $1 && -f $2 ]] || return 1
  diff <(results "$1") <(results "$2")
}
show_failures() {
  grep -E "Failure|FAILED|rror" "$1.log" 2>/dev/null | sed "s/^/    $(basename "$1"): /" | head -30 || true
}

check "loopback: Linux kernel (lo in the host namespace)" run "$TMP/kernel.json"
show_failures "$TMP/kernel.json"

# The default, PYTCP_LOOPBACK=kernel: the same program, its loopback sockets handed over to
# the kernel (shim/loopback.h). A wildcard listener stays in the stack there, out of the
# kernel's loopback's reach (a known limit of that mode; shim/README.md): those cases are
# left out.
check "loopback: PYTCP_LOOPBACK=kernel (handed to the kernel's lo; no wildcard listeners)" \
  run "$TMP/handover.json" "${COMMON[@]}" PYTCP_LOOPBACK=kernel PYTCP_STACK=process \
  -- --gtest_filter=-*Wildcard*:*AnyAddress*
show_failures "$TMP/handover.json"

lab_exec host ip link set lo down
kernel_lo_down() {
  ! lab_exec host "$PY" -c "import socket; socket.create_connection(('127.0.0.1', 9), 1)" 2>/dev/null
}
check "the kernel's lo is down (the kernel cannot carry loopback now)" kernel_lo_down

check "loopback: PyTCP in-process (PYTCP_LOOPBACK=stack)" \
  run "$TMP/process.json" "${COMMON[@]}" PYTCP_STACK=process
show_failures "$TMP/process.json"
check "in-process: agrees with the kernel test by test" agree "$TMP/kernel.json" "$TMP/process.json"

# The shared stack closes a socket when the daemon sees its pair's last fd go, a moment
# after close() returns (pytcpd/README.md): the case that reuses a just-closed UDP port
# at once is left out here.
check "loopback: PyTCP shared daemon (PYTCP_LOOPBACK=stack; all but a just-closed port)" \
  run "$TMP/shared.json" "${COMMON[@]}" PYTCP_STACK=shared -- --gtest_filter=-*ClosedPort*
show_failures "$TMP/shared.json"
check "shared: the daemon served it (its pid file)" test -n "$(daemon_pid)"

# Between processes through the one stack of pytcpd: a server program and a client program.
between_processes() {
  lab_exec host "${COMMON[@]}" PYTCP_STACK=shared timeout 30 "$PY" -c '
import socket, subprocess, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
port = l.getsockname()[1]
client = subprocess.Popen([sys.executable, "-c",
  "import socket; c = socket.create_connection((\"127.0.0.1\", %d), 5); c.sendall(b\"between processes\"); print(c.recv(100).decode())" % port],
  stdout=subprocess.PIPE)
s, peer = l.accept()
data = s.recv(100)
s.sendall(data.upper())
out = client.communicate(timeout=10)[0].decode().strip()
assert peer[0] == "127.0.0.1", peer
assert out == "BETWEEN PROCESSES", out
' 
}
check "shared: two programs talk over 127.0.0.1 through pytcpd" between_processes

lab_exec host ip link set lo up
echo "loopback lab: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
