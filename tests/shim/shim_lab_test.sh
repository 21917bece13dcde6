#!/usr/bin/env bash
# libpytcp.so in the lab (issue 5). Usage: shim_lab_test.sh BUILD_DIR
#   - the conformance suite passes natively (the kernel, far namespace -> peer) and under
#     LD_PRELOAD (PyTCP, host namespace, where the kernel has no address): the two agree;
#   - unmodified Debian programs under the shim in the host namespace: nc -u and socat as
#     UDP clients of the peer's echo service, python3 as a UDP client (blocking, timeouts,
#     selectors/epoll, ICMP refused) and as a UDP server the peer talks to;
#   - preloading is harmless: a program that opens no INET socket never touches the TAP,
#     even when none exists; misconfiguration is one line on stderr and a clean failure;
#   - a second process cannot take the TAP from the first: one line, ENETDOWN, no hang;
#   - TCP: curl (10 MB with equal hash, POST upload, several URLs on one keep-alive
#     connection, the far network through the gateway), wget, nc as client both ways and
#     as nc -l server for the peer, iperf3 -c and -R, python3 urllib and http.server
#     serving the peer, an asyncio (epoll) echo server, and a program that writes to a
#     slow reader and exits at once (exit and _exit): every byte arrives;
#   - names: with DHCP only (address, gateway and DNS server learned), curl fetches
#     http://peer.lab/ and a CNAME, python3's getaddrinfo/gethostbyname answer through DNS
#     sent by the stack, an unknown name is EAI_NONAME; startup with DHCP stays under 1 s;
#   - fork: a child's use of an inherited stack socket fails with EBADF (one line on stderr)
#     while the parent's connection carries on; fork-then-exec works;
#   - epoll_wait costs the same with 10,000 idle stack sockets registered as with none;
#   - the stack's interface in SIOCGIF* ioctls and getifaddrs (address, netmask, MTU, MAC);
#   - start-up with a static address adds well under 100 ms to a curl run.
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

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
wait_for() {  # wait_for FILE PATTERN SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
in_host() { lab_exec host "${SHIM[@]}" "$@"; }
# bg_in_host LOG CMD...: CMD under the shim in the background; BG is its pid. Not through
# a shell function (a subshell): `ip netns exec` and `env` exec, so BG is `timeout`, which
# passes a kill on to the program and lets the TAP go.
bg_in_host() {
  local log=$1; shift
  ip netns exec "$LAB_HOST_NS" "${SHIM[@]}" timeout 60 "$@" >"$log" 2>&1 &
  BG=$!
  lab_defer sh -c "kill $BG 2>/dev/null; true"
}
stop_bg() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

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
[[ $reply == "$big" ]] || echo "    sent ${#big} bytes, got ${#reply}"
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
bg_in_host "$TMP/server.log" "$PY" "$TMP/server.py"
server=$BG
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


# ============================== TCP ==============================
peer_py() {  # peer_py LOG SCRIPT ARGS...: a python3 program on the peer, in the background
  local log=$1; shift
  lab_exec peer timeout 60 "$PY" "$@" >"$log" 2>&1 &
  lab_defer sh -c "kill $! 2>/dev/null; true"
}

sum=$(in_host timeout 60 curl -sS "http://$LAB_PEER_IP4/10M.bin" | sha256sum | cut -d' ' -f1)
check "curl: 10 MB over HTTP, hash equal" test "$sum" = "$LAB_HTTP_10M_SHA256"
sum=$(in_host timeout 60 wget -q -O - "http://$LAB_PEER_IP4/10M.bin" | sha256sum | cut -d' ' -f1)
check "wget: 10 MB, hash equal" test "$sum" = "$LAB_HTTP_10M_SHA256"
sum=$(in_host timeout 30 curl -sS "http://$LAB_FAR_IP4/1M.bin" | sha256sum | cut -d' ' -f1)
check "curl: the far network through the gateway" test "$sum" = "$LAB_HTTP_1M_SHA256"

# An HTTP/1.1 server on the peer that keeps connections alive and answers POST with the
# SHA-256 of the body.
cat >"$TMP/http11.py" <<'PY'
import hashlib, http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self.reply(("path %s\n" % self.path).encode())
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        self.reply(hashlib.sha256(self.rfile.read(n)).hexdigest().encode())
    def log_message(self, *a):
        pass
print("ready", flush=True)
http.server.ThreadingHTTPServer((sys.argv[1], 8011), H).serve_forever()
PY
peer_py "$TMP/http11.log" "$TMP/http11.py" "$LAB_PEER_IP4"
check "peer HTTP/1.1 server starts" wait_for "$TMP/http11.log" ready 5
head -c 3000000 /dev/urandom >"$TMP/upload"
want=$(sha256sum <"$TMP/upload" | cut -d' ' -f1)
got=$(in_host timeout 30 curl -sS --data-binary "@$TMP/upload" "http://$LAB_PEER_IP4:8011/up" || true)
check "curl: POST a 3 MB upload, hash equal" test "$got" = "$want"
out=$(in_host timeout 30 curl -sS -w '%{num_connects}\n' "http://$LAB_PEER_IP4:8011/a" \
  "http://$LAB_PEER_IP4:8011/b" "http://$LAB_PEER_IP4:8011/c" || true)
check "curl: three URLs on one keep-alive connection" \
  test "$out" = "$(printf 'path /a\n1\npath /b\n0\npath /c\n0')"

reply=$(echo "tcp echo" | in_host timeout 10 nc -N "$LAB_PEER_IP4" 7 || true)
check "nc: client, echo with -N at EOF" test "$reply" = "tcp echo"
head -c 2000000 /dev/urandom >"$TMP/tosend"
lab_exec peer timeout 20 nc -l "$LAB_PEER_IP4" 7020 >"$TMP/peer-got" &
sleep 0.3
in_host timeout 20 nc -N "$LAB_PEER_IP4" 7020 <"$TMP/tosend" || true
wait $! || true
check "nc: client sends 2 MB to the peer's nc -l" cmp -s "$TMP/tosend" "$TMP/peer-got"
lab_exec peer timeout 20 sh -c "nc -N -l $LAB_PEER_IP4 7021 <$TMP/tosend" &
sleep 0.3
in_host timeout 20 nc "$LAB_PEER_IP4" 7021 >"$TMP/host-got" </dev/null || true
wait $! || true
check "nc: client receives 2 MB from the peer's nc -l" cmp -s "$TMP/tosend" "$TMP/host-got"
bg_in_host "$TMP/ncl-got" nc -l "$ME" 7022
ncl=$BG
sleep 0.5
lab_exec peer timeout 20 nc -N "$ME" 7022 <"$TMP/tosend" || true
wait "$ncl" || true
check "nc -l under the shim: the kernel peer sends 2 MB" cmp -s "$TMP/tosend" "$TMP/ncl-got"

out=$(in_host timeout 30 iperf3 -c "$LAB_PEER_IP4" -t 2 2>&1 || true)
check "iperf3 -c (upload)" grep -q "iperf Done" <<<"$out"
out=$(in_host timeout 30 iperf3 -c "$LAB_PEER_IP4" -t 2 -R 2>&1 || true)
check "iperf3 -c -R (download)" grep -q "iperf Done" <<<"$out"
bg_in_host "$TMP/iperf-s.log" iperf3 -s -1 -B "$ME"
iperf_s=$BG
sleep 0.5
out=$(lab_exec peer timeout 30 iperf3 -c "$ME" -t 2 2>&1 || true)
wait "$iperf_s" || true
check "iperf3 -s under the shim, the kernel peer as client" grep -q "iperf Done" <<<"$out"

out=$(in_host timeout 30 "$PY" -c "
import hashlib, urllib.request
print(hashlib.sha256(urllib.request.urlopen('http://$LAB_PEER_IP4/1M.bin').read()).hexdigest())" 2>&1 || true)
check "python3 urllib: 1 MB, hash equal" test "$out" = "$LAB_HTTP_1M_SHA256"
bg_in_host "$TMP/hs.log" "$PY" -m http.server 8080 --bind "$ME" --directory "$LAB_HTTP_ROOT"
hs=$BG
check "python3 http.server starts under the shim" wait_for "$TMP/hs.log" "Serving HTTP" 5
sum=$(lab_exec peer timeout 20 curl -sS "http://$ME:8080/10M.bin" | sha256sum | cut -d' ' -f1)
check "python3 http.server serves the peer's curl 10 MB, hash equal" \
  test "$sum" = "$LAB_HTTP_10M_SHA256"
stop_bg "$hs"

cat >"$TMP/aio.py" <<'PY'
import asyncio, sys
async def echo(r, w):
    while data := await r.read(65536):
        w.write(data.upper())
        await w.drain()
    w.close()
async def main():
    srv = await asyncio.start_server(echo, sys.argv[1], 7030)
    print("ready", type(asyncio.get_running_loop()._selector).__name__, flush=True)
    await asyncio.sleep(20)
asyncio.run(main())
PY
bg_in_host "$TMP/aio.log" "$PY" "$TMP/aio.py" "$ME"
aio=$BG
check "asyncio server starts on epoll" wait_for "$TMP/aio.log" "ready EpollSelector" 5
ok=1
for i in 1 2 3; do
  r=$(echo "client $i" | lab_exec peer timeout 5 nc -N "$ME" 7030 || true)
  [[ $r == "CLIENT $i" ]] || { ok=0; echo "    client $i got '$r'"; }
done
check "asyncio (epoll) echo server answers three kernel clients" test "$ok" = 1
stop_bg "$aio"

# A program that writes to a slow reader and exits at once still delivers every byte.
cat >"$TMP/slow.py" <<'PY'
import socket, sys, time
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen()
print("ready", flush=True)
c, _ = l.accept()
time.sleep(1)
with open(sys.argv[3], "wb") as f:
    while data := c.recv(65536):
        f.write(data)
PY
head -c 1000000 /dev/urandom >"$TMP/exitdata"
port=7040
for how in close exit _exit; do
  port=$((port + 1))
  peer_py "$TMP/slow-$how.log" "$TMP/slow.py" "$LAB_PEER_IP4" "$port" "$TMP/slow-$how.out"
  wait_for "$TMP/slow-$how.log" ready 5 || true
  in_host timeout 30 "$PY" -c "
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2000000)
s.connect(('$LAB_PEER_IP4', $port))
s.sendall(open('$TMP/exitdata', 'rb').read())
if '$how' == 'close': s.close()
if '$how' == '_exit': os._exit(0)" || true
  for ((i = 0; i < 50; i++)); do
    cmp -s "$TMP/exitdata" "$TMP/slow-$how.out" 2>/dev/null && break
    sleep 0.1
  done
  check "write 1 MB to a slow reader, then $how: every byte arrives" \
    cmp -s "$TMP/exitdata" "$TMP/slow-$how.out"
done

# ============================== names, DHCP ==============================
DHCP_SHIM=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP6=none)
start=$(date +%s%N)
sum=$(lab_exec host "${DHCP_SHIM[@]}" timeout 20 curl -sS "http://peer.lab/1M.bin" 2>"$TMP/dhcp.err" |
  sha256sum | cut -d' ' -f1)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "DHCP + DNS: curl http://peer.lab/1M.bin, hash equal (${ms} ms)" \
  test "$sum" = "$LAB_HTTP_1M_SHA256"
check "DHCP + DNS: the whole curl run took under 1 s" test "$ms" -lt 1000
code=$(lab_exec host "${DHCP_SHIM[@]}" timeout 20 curl -sS -o /dev/null -w '%{http_code}' \
  "http://www.lab/index.html" 2>/dev/null || true)
check "DNS: a CNAME (www.lab -> peer.lab)" test "$code" = 200
out=$(lab_exec host "${DHCP_SHIM[@]}" timeout 20 "$PY" -c '
import socket
print(socket.getaddrinfo("far.lab", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
print(socket.gethostbyname("peer.lab"))
try:
    socket.getaddrinfo("nosuch.lab", 80)
except socket.gaierror as e:
    print(e.errno == socket.EAI_NONAME)' 2>"$TMP/names.err" || true)
check "python3: getaddrinfo, gethostbyname, NXDOMAIN through the stack" \
  test "$out" = "$(printf '%s\n%s\nTrue' "$LAB_FAR_IP4" "$LAB_PEER_IP4")"
[[ $out == "$(printf '%s\n%s\nTrue' "$LAB_FAR_IP4" "$LAB_PEER_IP4")" ]] || echo "$out" | sed 's/^/    /'

# ============================== fork, scale ==============================
cat >"$TMP/fork.py" <<'PY'
import os, socket, subprocess, sys
s = socket.create_connection((sys.argv[1], 7))
pid = os.fork()
if pid == 0:
    try:
        s.send(b"child")
        print("child sent")
    except OSError as e:
        print("child errno", e.errno)
    sys.stdout.flush()
    os._exit(0)
os.waitpid(pid, 0)
s.sendall(b"parent")
print(s.recv(10).decode())
print(subprocess.run(["/bin/echo", "exec ok"], capture_output=True, text=True).stdout.strip())
PY
out=$(in_host timeout 20 "$PY" "$TMP/fork.py" "$LAB_PEER_IP4" 2>"$TMP/fork.err" || true)
check "fork: the child gets EBADF, the parent's connection carries on, fork+exec works" \
  test "$out" = "$(printf 'child errno 9\nparent\nexec ok')"
[[ $out == "$(printf 'child errno 9\nparent\nexec ok')" ]] || echo "$out" | sed 's/^/    /'
check "fork: one line on stderr explains" \
  test "$(grep -c 'cannot be used in a forked child' "$TMP/fork.err")" = 1
# CPython's subprocess vforks and closes fds (close_range) in the child, which shares our
# memory: the parent's socket must come through (the child's curl cannot start a stack of
# its own while we hold the TAP, and says so with its status).
in_host timeout 30 "$PY" "$(dirname "${BASH_SOURCE[0]}")/../pytcpd/shared_programs.py" subprocess \
  "$LAB_PEER_IP4" 7 "http://$LAB_PEER_IP4/index.html" >"$TMP/vfork.out" 2>&1 || true
check "subprocess (vfork + close_range) leaves the parent's connection working" \
  has "$TMP/vfork.out" "^subprocess ok "

cat >"$TMP/idle.py" <<'PY'
import resource, select, socket, sys, time
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
ep = select.epoll()
active = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
active.connect((sys.argv[1], 7))
ep.register(active, select.EPOLLIN)
active.send(b"x")
assert ep.poll(3), "no echo"
def cost():
    best = None
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(2000):
            assert len(ep.poll(0)) == 1
        d = time.perf_counter() - t
        best = d if best is None else min(best, d)
    return best
before = cost()
idle = []
for _ in range(10000):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ep.register(s, select.EPOLLIN)
    idle.append(s)
after = cost()
print("ratio %.2f" % (after / before))
PY
out=$(in_host timeout 120 "$PY" "$TMP/idle.py" "$LAB_PEER_IP4" 2>&1 || true)
ratio=${out#ratio }
check "epoll_wait with 10,000 idle stack sockets: same cost ($out)" \
  awk -v r="$ratio" 'BEGIN { exit !(r > 0 && r < 2) }'

cat >"$TMP/ifaces.py" <<'PY'
import ctypes, fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def ioc(req, name):
    return fcntl.ioctl(s.fileno(), req, struct.pack("256s", name.encode()))
tap = sys.argv[1]
print(socket.inet_ntoa(ioc(0x8915, tap)[20:24]))      # SIOCGIFADDR
print(socket.inet_ntoa(ioc(0x891b, tap)[20:24]))      # SIOCGIFNETMASK
print(struct.unpack("i", ioc(0x8921, tap)[16:20])[0])  # SIOCGIFMTU
class sockaddr(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("data", ctypes.c_ubyte * 14)]
class ifaddrs(ctypes.Structure):
    pass
ifaddrs._fields_ = [("next", ctypes.POINTER(ifaddrs)), ("name", ctypes.c_char_p),
                    ("flags", ctypes.c_uint), ("addr", ctypes.POINTER(sockaddr)),
                    ("netmask", ctypes.POINTER(sockaddr)), ("broad", ctypes.POINTER(sockaddr)),
                    ("data", ctypes.c_void_p)]
libc = ctypes.CDLL(None)
head = ctypes.POINTER(ifaddrs)()
assert libc.getifaddrs(ctypes.byref(head)) == 0
found = []
p = head
while p:
    e = p.contents
    if e.addr and e.addr.contents.family == socket.AF_INET:
        found.append("%s=%s" % (e.name.decode(), socket.inet_ntoa(bytes(e.addr.contents.data[2:6]))))
    p = e.next
libc.freeifaddrs(head)
print(" ".join(sorted(found)))
PY
out=$(in_host timeout 20 "$PY" "$TMP/ifaces.py" "$LAB_TAP" 2>&1 || true)
want=$(printf '%s\n255.255.255.0\n1500\nlo=127.0.0.1 %s=%s' "$ME" "$LAB_TAP" "$ME")
check "SIOCGIF* and getifaddrs show the stack's interface" test "$out" = "$want"
[[ $out == "$want" ]] || echo "$out" | sed 's/^/    /'

best_ms() {  # best_ms CMD...: the fastest of three runs, in milliseconds
  local best=999999 i s ms
  for i in 1 2 3; do
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    ms=$(( ($(date +%s%N) - s) / 1000000 ))
    ((ms < best)) && best=$ms
  done
  echo "$best"
}
native=$(best_ms lab_exec far curl -sS -o /dev/null "http://$LAB_PEER_IP4/index.html")
shimmed=$(best_ms in_host curl -sS -o /dev/null "http://$LAB_PEER_IP4/index.html")
check "start-up: curl under the shim ${shimmed} ms vs kernel ${native} ms (< +100 ms)" \
  test $((shimmed - native)) -lt 100

echo "shim lab: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
