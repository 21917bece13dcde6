#!/usr/bin/env bash
# The shared stack (pytcpd) at scale, and killed under load (issue 14):
#   - 50 preloaded processes with 20 connections each, all at once, each connection
#     echoing random bytes through the peer (every transfer hash-checked), driven by epoll
#     in each process;
#   - afterwards the daemon serves no socket, holds the fds it held idle, and its memory
#     is back near its idle size; a second round leaves it where the first did;
#   - the daemon SIGKILLed in the middle of 10 such processes' transfers: every client
#     ends (an error, no hang) within seconds, and a new daemon serves.
# Usage: scale_lab_test.sh BUILD_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=$BUILD/shim/libpytcp.so
PROGS=$HERE/shared_programs.py
PY=/usr/bin/python3
lab_up "$(lab_unique_name scale)"
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
RUN=$TMP/run
mkdir -p "$RUN"
ME=10.77.0.2
PORT=9200
PROCS=50
CONNS=20
SIZE=65536
SHIM=(env LD_PRELOAD="$LIB" PYTCP_STACK=shared PYTCP_RUN_DIR="$RUN" PYTCP_DAEMON="$BUILD/pytcpd/pytcpd"
      PYTCP_IFACE="$LAB_TAP" PYTCP_IP4="$ME/24" PYTCP_GW4="$LAB_PEER_IP4" PYTCP_IP6=none
      PYTCP_CONSOLE=off PYTCP_IDLE_EXIT=600 PYTCP_DHCP_CACHE=none PYTCP_LOG=error)
daemon_pid() { cat "$RUN/$LAB_TAP.pid" 2>/dev/null; }
stop_daemon() { lab_stop_daemon "$RUN"; }
lab_defer stop_daemon
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
fds() { ls "/proc/$1/fd" | wc -l; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

ip netns exec "$LAB_PEER_NS" timeout 300 "$PY" "$PROGS" echo-server "$PORT" >"$TMP/server.log" 2>&1 &
SERVER=$!
lab_defer sh -c "kill $SERVER 2>/dev/null; true"
for _ in $(seq 50); do grep -q listening "$TMP/server.log" && break; sleep 0.1; done

# clients N LOGPREFIX [SIZE]: N preloaded scale clients at once; their pids in CLIENTS.
clients() {
  CLIENTS=()
  local i
  for i in $(seq "$1"); do
    lab_exec host "${SHIM[@]}" timeout 120 "$PY" "$PROGS" scale-client "$LAB_PEER_IP4" "$PORT" \
      "$CONNS" "${3:-$SIZE}" >"$TMP/$2.$i.out" 2>&1 &
    CLIENTS+=($!)
  done
}
# quiet: until the daemon serves no socket and its stack holds no connection (10 s).
quiet() {
  for _ in $(seq 100); do
    [[ $(fds "$1") -le $2 ]] && return 0
    sleep 0.1
  done
  return 1
}

# The daemon starts with a first round (one process), which also warms its allocator.
clients 1 warm
wait "${CLIENTS[@]}" || true
check "a first client's $CONNS connections echo (hash)" has "$TMP/warm.1.out" "^scale ok $CONNS$"
PID=$(daemon_pid)
sleep 1.5  # a trim after the last socket (pytcpd trims its heap once idle for a second)
FDS0=$(fds "$PID")
RSS0=$(rss_kb "$PID")

clients "$PROCS" run
START=$SECONDS
wait "${CLIENTS[@]}" || true
echo "$PROCS processes x $CONNS connections x $SIZE bytes echoed in $((SECONDS - START)) s"
OK=$(cat "$TMP"/run.*.out | grep -c "^scale ok $CONNS$" || true)
grep -hv "^scale ok" "$TMP"/run.*.out | head -5 || true
check "$PROCS processes with $CONNS connections each at once: every echo hash-equal ($OK of $PROCS)" \
  test "$OK" -eq "$PROCS"
quiet "$PID" "$FDS0" || true
sleep 1.5
FDS1=$(fds "$PID")
RSS1=$(rss_kb "$PID")
echo "daemon: fds $FDS0 idle, $FDS1 after; RSS $RSS0 kB idle, $RSS1 kB after"
check "the daemon's fds are back at their idle count" test "$FDS1" -le "$FDS0"
check "the daemon's memory is back near its idle size (within 4 MB)" test "$RSS1" -le $((RSS0 + 4096))
# A second round the same: what stays is caches that a next round reuses, not a leak.
clients "$PROCS" again
wait "${CLIENTS[@]}" || true
OK=$(cat "$TMP"/again.*.out | grep -c "^scale ok $CONNS$" || true)
quiet "$PID" "$FDS0" || true
sleep 1.5
FDS2=$(fds "$PID")
RSS2=$(rss_kb "$PID")
echo "daemon after a second round: fds $FDS2, RSS $RSS2 kB"
check "a second round: every echo hash-equal ($OK of $PROCS)" test "$OK" -eq "$PROCS"
check "a second round leaves no more fds and no more memory (within 1 MB) than the first" \
  test "$FDS2" -le "$FDS0" -a "$RSS2" -le $((RSS1 + 1024))

# --- the daemon killed under load ---
clients 10 load $((8 * 1024 * 1024))  # 1.6 GB each way: still running when killed
for _ in $(seq 300); do  # until every client's data flows (30 s)
  [[ $(cat "$TMP"/load.*.out 2>/dev/null | grep -c "^flowing" || true) -ge 10 ]] && break
  sleep 0.1
done
kill -9 "$PID"
START=$SECONDS
HUNG=0
for c in "${CLIENTS[@]}"; do
  for _ in $(seq 150); do kill -0 "$c" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$c" 2>/dev/null; then HUNG=$((HUNG + 1)); kill "$c" 2>/dev/null || true; fi
done
wait "${CLIENTS[@]}" 2>/dev/null || true
echo "after the daemon's death the clients ended within $((SECONDS - START)) s; $HUNG still running"
head -3 "$TMP"/load.1.out || true
check "daemon killed under load: every client ends within 15 s (none hangs)" test "$HUNG" -eq 0
check "daemon killed under load: the clients report failures, not success" \
  test "$(cat "$TMP"/load.*.out | grep -c "^scale ok" || true)" -lt 10
rm -f "$RUN/$LAB_TAP.pid"
clients 1 after
wait "${CLIENTS[@]}" || true
check "a new daemon serves new sockets" has "$TMP/after.1.out" "^scale ok $CONNS$"
check "the new daemon is another process" test "$(daemon_pid)" != "$PID"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
