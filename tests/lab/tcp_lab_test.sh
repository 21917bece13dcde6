#!/usr/bin/env bash
# TCP against the Linux kernel as a real peer (issue: TCP). Usage: tcp_lab_test.sh BUILD_DIR
#   - echo both ways: the peer's nc talks to the stack's tcp-services (echo, daytime) and
#     the stack's tcp-echo-client talks to the peer's echo service;
#   - 100 MB in each direction with the stack as client and as server, hashes equal;
#   - the same under impairment: delay, 2% loss, reordering, duplication, with netem on the
#     peer where the kernel has sch_netem, else with tests/lab/impair-relay (a seeded
#     user-space netem) between the stack's TAP and the lab bridge;
#   - a kernel client is refused on a closed port;
#   - a kernel RST in the middle of a transfer is ECONNRESET for the stack's sender.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
SERVICES=$BUILD/stack/examples/tcp-services
ECHO_CLIENT=$BUILD/stack/examples/tcp-echo-client
TRANSFER=$BUILD/tests/lab/tcp-transfer
BIG_MB=${PYTCP_TCP_LAB_MB:-100}
lab_up "$(lab_unique_name tcp)"
set -a; lab_load "$LAB_NAME"; set +a

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
wait_for() {  # wait_for FILE PATTERN SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# Waits until the peer listens on TCP port $1.
peer_listening() {
  local i
  for ((i = 0; i < 50; i++)); do
    lab_exec peer ss -Hltn "sport = :$1" | grep -q LISTEN && return 0
    sleep 0.1
  done
  return 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
ADDR=10.77.0.2
IFACE=$LAB_TAP
STACK_ENV=(PYTCP_IP4="$ADDR/24" PYTCP_GW4="$LAB_PEER_IP4" PYTCP_IP6=none
  PYTCP_LOG=warn)
# HOST: the command prefix that runs a program with the stack's environment in the host
# namespace. Used directly (not through a function) for background programs, so that $!
# is the program's pid and `kill` reaches it.
set_host() { HOST=(ip netns exec "$LAB_HOST_NS" env PYTCP_IFACE="$IFACE" "${STACK_ENV[@]}"); }
set_host
in_host() { "${HOST[@]}" "$@"; }

head -c "$((BIG_MB * 1024 * 1024))" /dev/urandom >"$TMP/big"
BIG_SHA=$(sha256sum <"$TMP/big" | cut -d' ' -f1)
sha() { sha256sum <"$1" | cut -d' ' -f1; }

# --- the example services, the kernel peer as client ---
"${HOST[@]}" "$SERVICES" >"$TMP/services.log" 2>&1 &
svc=$!
lab_defer kill "$svc"
check "tcp-services starts" wait_for "$TMP/services.log" "tcp-services: address" 5
reply=$(printf 'hello over tcp' | lab_exec peer timeout 5 nc -N "$ADDR" 7 || true)
check "echo service answers the peer's nc" test "$reply" = "hello over tcp"
head -c 3000000 /dev/urandom >"$TMP/echo-in"
lab_exec peer timeout 20 nc -N "$ADDR" 7 <"$TMP/echo-in" >"$TMP/echo-out" || true
check "echo service returns 3 MB unchanged" cmp -s "$TMP/echo-in" "$TMP/echo-out"
day=$(lab_exec peer timeout 5 nc -d "$ADDR" 13 || true)
check "daytime service sends the date" grep -qE '[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}' <<<"$day"
refused=$(lab_exec peer python3 - "$ADDR" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(5)
try:
    s.connect((sys.argv[1], 4321))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print(type(e).__name__)
PY
)
check "a kernel client is refused on a closed port" test "$refused" = "refused"
stop "$svc"

# --- the example echo client against the kernel's echo service ---
out=$(in_host timeout 20 "$ECHO_CLIENT" "$LAB_PEER_IP4" 7 5 2000 2>&1) && rc=0 || rc=$?
check "tcp-echo-client: five echoes from the kernel peer" \
  test "$rc" = 0 -a "$(grep -c 'bytes from' <<<"$out")" = 5

# --- bulk transfers, both directions, the stack as client and as server ---
# transfer_all LABEL LIMIT: the four combinations, each within LIMIT seconds, hashes checked.
transfer_all() {
  local label=$1 limit=$2 port=5001 pid got
  # stack client sends
  lab_exec peer timeout "$limit" socat -u "TCP-LISTEN:$port,reuseaddr" "CREATE:$TMP/peer-got" &
  pid=$!
  peer_listening "$port" || true
  in_host timeout "$limit" "$TRANSFER" connect-send "$LAB_PEER_IP4" "$port" <"$TMP/big" \
    2>"$TMP/t1.log" || true
  wait "$pid" || true
  got=$(sha "$TMP/peer-got" 2>/dev/null || echo none)
  check "$label: stack client sends ${BIG_MB} MB, hash equal" test "$got" = "$BIG_SHA"
  rm -f "$TMP/peer-got"
  # stack client receives
  port=$((port + 1))
  lab_exec peer timeout "$limit" socat -u "OPEN:$TMP/big" "TCP-LISTEN:$port,reuseaddr" &
  pid=$!
  peer_listening "$port" || true
  in_host timeout "$limit" "$TRANSFER" connect-recv "$LAB_PEER_IP4" "$port" >"$TMP/host-got" \
    2>"$TMP/t2.log" || true
  wait "$pid" || true
  check "$label: stack client receives ${BIG_MB} MB, hash equal" test "$(sha "$TMP/host-got")" = "$BIG_SHA"
  rm -f "$TMP/host-got"
  # stack server receives
  port=$((port + 1))
  "${HOST[@]}" timeout "$limit" "$TRANSFER" listen-recv "$port" >"$TMP/host-got" 2>"$TMP/t3.log" &
  pid=$!
  wait_for "$TMP/t3.log" listening 5 || true
  lab_exec peer timeout "$limit" socat -u "OPEN:$TMP/big" "TCP:$ADDR:$port" || true
  wait "$pid" || true
  check "$label: stack server receives ${BIG_MB} MB, hash equal" test "$(sha "$TMP/host-got")" = "$BIG_SHA"
  rm -f "$TMP/host-got"
  # stack server sends
  port=$((port + 1))
  "${HOST[@]}" timeout "$limit" "$TRANSFER" listen-send "$port" <"$TMP/big" 2>"$TMP/t4.log" &
  pid=$!
  wait_for "$TMP/t4.log" listening 5 || true
  lab_exec peer timeout "$limit" socat -u "TCP:$ADDR:$port" "CREATE:$TMP/peer-got" || true
  wait "$pid" || true
  got=$(sha "$TMP/peer-got" 2>/dev/null || echo none)
  check "$label: stack server sends ${BIG_MB} MB, hash equal" test "$got" = "$BIG_SHA"
  rm -f "$TMP/peer-got"
  for f in "$TMP"/t[1-4].log; do grep -H "tcp-transfer: [a-z ]*: E" "$f" || true; done
}
SECONDS=0
transfer_all "clean path" 120
echo "# clean path: ${SECONDS}s"

# --- the same under impairment ---
if lab_exec peer tc qdisc add dev "$LAB_PEER_IF" root netem delay 2ms 1ms loss 2% \
    reorder 10% 50% duplicate 1% 2>/dev/null; then
  lab_defer ip netns exec "$LAB_PEER_NS" tc qdisc del dev "$LAB_PEER_IF" root
  how="netem on the peer"
  relay=""
else
  # No sch_netem in this kernel: a fresh lab (its tap7 never carried a stack's offload
  # settings and its peer has no neighbour entry for us yet), where the stack moves to tap8
  # on its own bridge br1 and the relay copies frames between br1 (through tap9) and the
  # lab bridge (through tap7).
  lab_up "$(lab_unique_name tcpi)"
  set -a; lab_load "$LAB_NAME"; set +a
  h() { lab_exec host "$@"; }
  h ip tuntap add name tap8 mode tap
  h ip tuntap add name tap9 mode tap
  h ip link add br1 type bridge
  for d in br1 tap8 tap9; do h sysctl -qw "net.ipv6.conf.$d.disable_ipv6=1"; done
  h ip link set tap8 master br1
  h ip link set tap9 master br1
  for d in br1 tap8 tap9; do h ip link set "$d" up; done
  ip netns exec "$LAB_HOST_NS" "$BUILD/tests/lab/impair-relay" "$LAB_TAP" tap9 --loss 0.02 \
    --duplicate 0.01 --reorder 0.05 --delay-us 2000 --jitter-us 500 --seed 7 2>"$TMP/relay.log" &
  relay=$!
  lab_defer kill "$relay"
  check "impair-relay attaches" wait_for "$TMP/relay.log" relaying 5
  IFACE=tap8
  set_host
  how="impair-relay"
fi
SECONDS=0
transfer_all "impaired path ($how: delay, 2% loss, reordering, duplication)" 300
echo "# impaired: ${SECONDS}s"
if [[ -n $relay ]]; then
  stop "$relay"
  cat "$TMP/relay.log"
  check "the relay dropped, duplicated and reordered frames" \
    grep -qE "lost [1-9][0-9]* duplicated [1-9][0-9]* reordered [1-9]" "$TMP/relay.log"
  IFACE=$LAB_TAP
  set_host
else
  lab_exec peer tc qdisc del dev "$LAB_PEER_IF" root
fi

# --- a kernel RST in the middle of a transfer ---
lab_exec peer python3 - 5100 >"$TMP/rst.log" 2>&1 <<'PY' &
import socket, struct, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(sys.argv[1])))
srv.listen(1)
conn, _ = srv.accept()
got = 0
while got < 1_000_000:
    got += len(conn.recv(65536))
# SO_LINGER with a zero timeout: close() sends RST (RFC 9293 3.10.4 ABORT).
conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
conn.close()
print("reset after", got)
PY
pid=$!
peer_listening 5100 || true
in_host timeout 60 "$TRANSFER" connect-send "$LAB_PEER_IP4" 5100 <"$TMP/big" 2>"$TMP/rst-host.log" \
  && rc=0 || rc=$?
wait "$pid" || true
check "a kernel RST mid-transfer is ECONNRESET" \
  grep -q "tcp-transfer: send: ECONNRESET" "$TMP/rst-host.log"
check "the peer did reset after 1 MB" grep -q "reset after" "$TMP/rst.log"

echo "$passed passed, $failed failed"
((failed == 0))
