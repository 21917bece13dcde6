#!/usr/bin/env bash
# The shared stack (pytcpd, PYTCP_STACK=shared) in the lab: the process model of issue 14.
# Usage: shared_lab_test.sh BUILD_DIR
#
# Every program runs unmodified under libpytcp.so in the host namespace, where the kernel
# has no address, against the peer; the programs that judge themselves (shared_programs.py)
# also run with the kernel's stack (far namespace -> peer) and must print the same:
#   - the daemon starts on demand from the first program, and serves a second one: a
#     preloaded HTTP server keeps serving the peer while preloaded curls fetch from the
#     peer and from the server on the host's own address (hashes compared);
#   - ForkingTCPServer: three concurrent 1 MB echoes from the peer;
#   - socat TCP-LISTEN:…,fork EXEC:cat (fork, then exec of a program that reads and writes
#     the socket as its stdin/stdout);
#   - a socket kept across exec (bash's /dev/tcp, then exec python3 on fd 3), its data and
#     the socket calls (family, type, peer) in the new image;
#   - subprocess.run(curl) while holding a connection that is used afterwards;
#   - a socket passed with SCM_RIGHTS to another process, which uses it;
#   - SIGKILL of a program mid-connection: the peer sees the FIN Linux would send and a
#     new SYN to the dead program's port is refused;
#   - an SO_REUSEPORT group of two processes: both get some of 40 new connections;
#   - port 80 needs CAP_NET_BIND_SERVICE (EACCES without it, as the kernel); a program
#     whose PYTCP_* settings differ from the daemon's is told so in one line;
#   - the conformance suite in shared mode (issue 19's system-call contract cases
#     included): every case passes, as it does natively;
#   - the daemon killed: a blocked client returns (no hang) and a new daemon serves;
#   - afterwards the daemon holds no socket and as few fds as when it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=$BUILD/shim/libpytcp.so
CONF=$BUILD/tests/shim/shim_conformance
PROGS=$HERE/shared_programs.py
PY=/usr/bin/python3
lab_up "$(lab_unique_name shared)"
set -a; lab_load "$LAB_NAME"; set +a
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
RUN=$TMP/run  # the daemon's control socket and pid file
mkdir -p "$RUN"
ME=10.77.0.2
SHIM=(env LD_PRELOAD="$LIB" PYTCP_STACK=shared PYTCP_RUN_DIR="$RUN" PYTCP_DAEMON="$BUILD/pytcpd/pytcpd"
      PYTCP_IFACE="$LAB_TAP" PYTCP_IP4="$ME/24" PYTCP_GW4="$LAB_PEER_IP4" PYTCP_DNS="$LAB_DNS4"
      PYTCP_IP6=none PYTCP_CONSOLE=off PYTCP_IDLE_EXIT=600 PYTCP_DHCP_CACHE=none)
daemon_pid() { cat "$RUN/$LAB_TAP.pid" 2>/dev/null; }
stop_daemon() { lab_stop_daemon "$RUN"; }
lab_defer stop_daemon

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
in_host() { lab_exec host "${SHIM[@]}" "$@"; }
# bg NS LOG CMD...: in the background; BG is its pid (timeout's, which passes a kill on).
bg() {
  local ns=$1 log=$2; shift 2
  ip netns exec "$ns" timeout 120 "$@" >"$log" 2>&1 &
  BG=$!
  lab_defer sh -c "kill $BG 2>/dev/null; true"
}
stop_bg() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
wait_port() {  # wait_port NS HOST PORT: until something listens there (5 s)
  for _ in $(seq 50); do
    ip netns exec "$1" "$PY" -c "import socket,sys; socket.create_connection(('$2', $3), 1).close()" \
      2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
sha() { sha256sum "$1" | cut -c1-64; }
WANT_1M=$(cut -c1-64 "$LAB_HTTP_ROOT/1M.bin.sha256")
WANT_10M=$(cut -c1-64 "$LAB_HTTP_ROOT/10M.bin.sha256")

# --- two programs at once; the daemon starts on demand ---
bg "$LAB_HOST_NS" "$TMP/http.log" "${SHIM[@]}" "$PY" -m http.server 8080 --directory "$LAB_HTTP_ROOT"
HTTP=$BG
check "a preloaded HTTP server starts the daemon and listens" wait_port "$LAB_PEER_NS" "$ME" 8080
check "the daemon runs, started on demand (pid file)" test -n "$(daemon_pid)"
FDS0=$(ls "/proc/$(daemon_pid)/fd" | wc -l)
lab_exec peer curl -s -o "$TMP/a.bin" "http://$ME:8080/1M.bin" || true
check "the peer fetches 1 MB from the preloaded server (hash)" test "$(sha "$TMP/a.bin")" = "$WANT_1M"
in_host curl -s -o "$TMP/b.bin" "http://$LAB_PEER_IP4/10M.bin" || true
check "meanwhile a preloaded curl fetches 10 MB from the peer (hash)" test "$(sha "$TMP/b.bin")" = "$WANT_10M"
in_host curl -s -o "$TMP/c.bin" "http://$ME:8080/10M.bin" || true
check "a preloaded curl fetches 10 MB from the preloaded server on our own address" \
  test "$(sha "$TMP/c.bin")" = "$WANT_10M"
in_host curl -s -o "$TMP/d.html" "http://far.lab/" || true
check "a name through the daemon's DNS servers (far.lab)" has "$TMP/d.html" "far|PyTCP lab"
stop_bg "$HTTP"

# --- ForkingTCPServer: the kernel first (far namespace), then the shared stack ---
bg "$LAB_FAR_NS" "$TMP/fork-k.log" "$PY" "$PROGS" fork-echo 9100
K=$BG
wait_port "$LAB_PEER_NS" "$LAB_FAR_IP4" 9100 || true
lab_exec peer timeout 60 "$PY" "$PROGS" echo-check "$LAB_FAR_IP4" 9100 3 1000000 >"$TMP/fork-k.out" 2>&1 || true
stop_bg "$K"
bg "$LAB_HOST_NS" "$TMP/fork.log" "${SHIM[@]}" "$PY" "$PROGS" fork-echo 9100
S=$BG
wait_port "$LAB_PEER_NS" "$ME" 9100 || true
lab_exec peer timeout 60 "$PY" "$PROGS" echo-check "$ME" 9100 3 1000000 >"$TMP/fork.out" 2>&1 || true
stop_bg "$S"
check "ForkingTCPServer, kernel: three 1 MB echoes" has "$TMP/fork-k.out" "^echo ok 3$"
check "ForkingTCPServer under the shim: three 1 MB echoes" has "$TMP/fork.out" "^echo ok 3$"

# --- socat fork + EXEC:cat ---
bg "$LAB_HOST_NS" "$TMP/socat.log" "${SHIM[@]}" socat TCP-LISTEN:9101,reuseaddr,fork EXEC:cat
S=$BG
wait_port "$LAB_PEER_NS" "$ME" 9101 || true
lab_exec peer timeout 60 "$PY" "$PROGS" echo-check "$ME" 9101 2 300000 >"$TMP/socat.out" 2>&1 || true
stop_bg "$S"
check "socat TCP-LISTEN,fork EXEC:cat: two 300 kB echoes through forked, exec'ed cats" \
  has "$TMP/socat.out" "^echo ok 2$"

# --- exec keeps the socket ---
EXEC_PROG='import os, socket; os.write(3, b"across exec\n"); print(os.read(3, 100).decode().strip()); s = socket.socket(fileno=3); print(s.family.name, s.type.name, s.getpeername()[1])'
lab_exec far bash -c "exec 3<>/dev/tcp/$LAB_PEER_FAR_IP4/7; exec $PY -c '$EXEC_PROG'" >"$TMP/exec-k.out" 2>&1 || true
in_host bash -c "exec 3<>/dev/tcp/$LAB_PEER_IP4/7; exec $PY -c '$EXEC_PROG'" >"$TMP/exec.out" 2>&1 || true
check "a socket kept across exec, kernel" has "$TMP/exec-k.out" "^across exec$"
check "a socket kept across exec under the shim" has "$TMP/exec.out" "^across exec$"
check "after exec the socket calls know it, kernel (family, type, peer port)" \
  has "$TMP/exec-k.out" "^AF_INET SOCK_STREAM 7$"
check "after exec the socket calls know it under the shim (SO_PEERCRED, then the daemon)" \
  has "$TMP/exec.out" "^AF_INET SOCK_STREAM 7$"

# --- subprocess while holding a connection ---
lab_exec far timeout 60 "$PY" "$PROGS" subprocess "$LAB_PEER_FAR_IP4" 7 "http://$LAB_PEER_FAR_IP4/1M.bin" \
  >"$TMP/sub-k.out" 2>&1 || true
in_host timeout 60 "$PY" "$PROGS" subprocess "$LAB_PEER_IP4" 7 "http://$LAB_PEER_IP4/1M.bin" \
  >"$TMP/sub.out" 2>&1 || true
check "subprocess.run(curl) while holding a connection, kernel" has "$TMP/sub-k.out" "^subprocess ok 200$"
check "subprocess.run(curl) while holding a connection under the shim" has "$TMP/sub.out" "^subprocess ok 200$"

# --- SCM_RIGHTS ---
lab_exec far timeout 30 "$PY" "$PROGS" scm-rights "$LAB_PEER_FAR_IP4" 7 >"$TMP/scm-k.out" 2>&1 || true
in_host timeout 30 "$PY" "$PROGS" scm-rights "$LAB_PEER_IP4" 7 >"$TMP/scm.out" 2>&1 || true
check "a socket passed with SCM_RIGHTS is used by the receiver, kernel" has "$TMP/scm-k.out" "^scm-rights ok$"
check "a socket passed with SCM_RIGHTS is used by the receiver under the shim" has "$TMP/scm.out" "^scm-rights ok$"

# --- SIGKILL mid-connection ---
bg "$LAB_FAR_NS" "$TMP/kill-k.log" "$PY" "$PROGS" hold-and-stream 9102 "$TMP/victim-k.pid"
for _ in $(seq 50); do [[ -s $TMP/victim-k.pid ]] && break; sleep 0.1; done
lab_exec peer timeout 30 "$PY" "$PROGS" peer-kill "$LAB_FAR_IP4" 9102 "$TMP/victim-k.pid" >"$TMP/kill-k.out" 2>&1 || true
bg "$LAB_HOST_NS" "$TMP/kill.log" "${SHIM[@]}" "$PY" "$PROGS" hold-and-stream 9102 "$TMP/victim.pid"
for _ in $(seq 50); do [[ -s $TMP/victim.pid ]] && break; sleep 0.1; done
lab_exec peer timeout 30 "$PY" "$PROGS" peer-kill "$ME" 9102 "$TMP/victim.pid" >"$TMP/kill.out" 2>&1 || true
cat "$TMP/kill-k.out" "$TMP/kill.out"
check "SIGKILL, kernel: the peer sees the connection end and a new SYN refused" \
  has "$TMP/kill-k.out" "got 1000000 end fin new-syn refused"
check "SIGKILL under the shim: the same as the kernel" \
  has "$TMP/kill.out" "got 1000000 end fin new-syn refused"

# --- an SO_REUSEPORT group across processes: both members get connections ---
reuseport_run() {  # reuseport_run NS ENV... : two members in NS, 40 connections from the peer
  local ns=$1 tag=$2 addr=$3; shift 3
  bg "$ns" "$TMP/rp-$tag-1.out" "$@" "$PY" "$PROGS" reuseport 9300; local b1=$BG
  bg "$ns" "$TMP/rp-$tag-2.out" "$@" "$PY" "$PROGS" reuseport 9300; local b2=$BG
  for _ in $(seq 50); do
    [[ $(cat "$TMP/rp-$tag-1.out" "$TMP/rp-$tag-2.out" | grep -c listening) -eq 2 ]] && break
    sleep 0.1
  done
  lab_exec peer "$PY" "$PROGS" connect-many "$addr" 9300 40 >"$TMP/rp-$tag-c.out" 2>&1 || true
  wait "$b1" "$b2" 2>/dev/null || true
  cat "$TMP/rp-$tag-1.out" "$TMP/rp-$tag-2.out" "$TMP/rp-$tag-c.out"
}
both_got_some() {  # both_got_some TAG: 40 in all, each member some
  local a b
  a=$(awk '/^accepted/ {print $2}' "$TMP/rp-$1-1.out"); b=$(awk '/^accepted/ {print $2}' "$TMP/rp-$1-2.out")
  [[ -n $a && -n $b && $((a + b)) -eq 40 && $a -gt 0 && $b -gt 0 ]]
}
reuseport_run "$LAB_FAR_NS" k "$LAB_FAR_IP4" env
reuseport_run "$LAB_HOST_NS" s "$ME" "${SHIM[@]}"
check "SO_REUSEPORT in two processes, kernel: both accept some of 40 connections" both_got_some k
check "SO_REUSEPORT in two processes under the shim: the same" both_got_some s

# --- privileged ports (CAP_NET_BIND_SERVICE), and a program whose settings differ ---
BIND80='import socket
s = socket.socket()
try:
    s.bind(("0.0.0.0", 80)); print("bound 80")
except OSError as e:
    print("bind 80:", e.errno)'
NOCAP=(setpriv --bounding-set=-net_bind_service --inh-caps=-net_bind_service)
lab_exec far "${NOCAP[@]}" "$PY" -c "$BIND80" >"$TMP/bind-k.out" 2>&1 || true
in_host "${NOCAP[@]}" "$PY" -c "$BIND80" >"$TMP/bind.out" 2>&1 || true
in_host "$PY" -c "$BIND80" >"$TMP/bind-root.out" 2>&1 || true
check "bind port 80 without CAP_NET_BIND_SERVICE, kernel: EACCES" has "$TMP/bind-k.out" "^bind 80: 13$"
check "bind port 80 without CAP_NET_BIND_SERVICE under the shim: EACCES" has "$TMP/bind.out" "^bind 80: 13$"
check "bind port 80 with it under the shim" has "$TMP/bind-root.out" "^bound 80$"
lab_exec host "${SHIM[@]}" PYTCP_IP4=10.77.0.9/24 "$PY" -c \
  'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)' >"$TMP/differ.out" 2>&1 || true
cat "$TMP/differ.out"
check "a program with other settings is told once which of the daemon's stand" \
  eval "[ \$(grep -c 'already serves' $TMP/differ.out) = 1 ] && grep -q 'PYTCP_IP4=$ME/24' $TMP/differ.out"

# --- the conformance suite in shared mode ---
in_host env CONFORMANCE_PEER="$LAB_PEER_IP4" CONFORMANCE_LOCAL="$ME" timeout 300 "$CONF" \
  --gtest_brief=1 >"$TMP/conf.out" 2>&1 || true
{ grep -E '^\[  FAILED  \] [A-Za-z]+\.[A-Za-z]+ \(' "$TMP/conf.out" || true; } | awk '{print $4}' | sort -u >"$TMP/conf.failed"
check "conformance in shared mode: the suite ran to its end" has "$TMP/conf.out" "PASSED"
cat "$TMP/conf.failed"
check "conformance in shared mode: every case passes ($(grep -c . "$TMP/conf.failed" || true) failed)" \
  test ! -s "$TMP/conf.failed"

# --- back to idle, then the daemon killed ---
sleep 1
PID=$(daemon_pid)
FDS1=$(ls "/proc/$PID/fd" | wc -l)
echo "daemon fds: $FDS0 after start, $FDS1 now"
check "the daemon is back to its idle fds (no socket left behind)" test "$FDS1" -le "$FDS0"
bg "$LAB_HOST_NS" "$TMP/blocked.log" "${SHIM[@]}" "$PY" -c "
import socket, time
s = socket.create_connection(('$LAB_PEER_IP4', 7))
print('connected', flush=True)
t = time.monotonic()
try:
    d = s.recv(10); print('recv', d, flush=True)
except OSError as e:
    print('error', e.errno, flush=True)
print('returned after', round(time.monotonic() - t, 1), flush=True)"
B=$BG
for _ in $(seq 50); do grep -q connected "$TMP/blocked.log" && break; sleep 0.1; done
kill -9 "$PID"
for _ in $(seq 50); do grep -q returned "$TMP/blocked.log" && break; sleep 0.1; done
cat "$TMP/blocked.log"
check "daemon killed: a client blocked in recv returns at once (no hang)" has "$TMP/blocked.log" "returned after"
stop_bg "$B"
rm -f "$RUN/$LAB_TAP.pid"
in_host curl -s -o "$TMP/e.bin" "http://$LAB_PEER_IP4/1M.bin" || true
check "a new daemon serves new sockets" test "$(sha "$TMP/e.bin")" = "$WANT_1M"
check "the new daemon is another process" test "$(daemon_pid)" != "$PID"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
