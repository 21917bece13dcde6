#!/usr/bin/env bash
# nginx as Debian lays out its default site, unmodified, under libpytcp.so in the lab
# (issues 14 and 19). Usage: nginx_lab_test.sh BUILD_DIR
#   - the site listens on `8080` and `[::]:8080` (an AF_INET and an IPv6-only AF_INET6
#     wildcard on one port), with a second server block on 8081;
#   - the shared stack (PYTCP_STACK=shared): master_process on with two workers, which
#     accept on the listeners they inherited across fork;
#   - the in-process stack (PYTCP_STACK=process): master_process off (one process owns its
#     stack);
#   - each time the peer fetches 10 MB over IPv4 and over IPv6 (hash compared) and ab makes
#     2000 requests over each with none failed;
#   - `pytcpctl show sockets` names the IPv4 listener's holders (master and workers) as the
#     kernel's `ss -p` does.
# The same configuration under the kernel's stack (far namespace) is the reference.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB=$BUILD/shim/libpytcp.so
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $NGINX ]] || { echo "nginx is not installed (scripts/setup installs nginx-light)"; exit 1; }
lab_up "$(lab_unique_name nginx)"
set -a; lab_load "$LAB_NAME"; set +a
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
ME=10.77.0.2
MAC=02:00:00:77:00:02
ME6=fd77::ff:fe77:2  # SLAAC from the peer's fd77::/64 and $MAC's EUI-64
RUN=$TMP/run
mkdir -p "$RUN"
COMMON=(env LD_PRELOAD="$LIB" PYTCP_RUN_DIR="$RUN" PYTCP_DAEMON="$BUILD/pytcpd/pytcpd"
        PYTCP_IFACE="$LAB_TAP" PYTCP_MAC="$MAC" PYTCP_IP4="$ME/24" PYTCP_GW4="$LAB_PEER_IP4"
        PYTCP_IP6=auto PYTCP_CONSOLE=off PYTCP_DHCP_CACHE=none)
stop_daemon() { lab_stop_daemon "$RUN"; }
lab_defer stop_daemon

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
WANT=$(cut -c1-64 "$LAB_HTTP_ROOT/10M.bin.sha256")

# config NAME MASTER(on|off): Debian's default site (listen 8080; listen [::]:8080;) and a
# second server block, everything else kept in $TMP/NAME.
config() {
  local d=$TMP/$1
  mkdir -p "$d/logs"
  cat >"$d/nginx.conf" <<EOF
user root;
worker_processes 2;
master_process $2;
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log notice;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $d/body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  server {
    listen 8080 default_server;
    listen [::]:8080 default_server;
    root $LAB_HTTP_ROOT;
  }
  server {
    listen 8081;
    root $LAB_HTTP_ROOT;
  }
}
EOF
  echo "$d"
}
# serve DIR LABEL NS ADDR4 ADDR6 ENV...: nginx in NS (with ENV before it), then the peer's
# fetches and ab runs over IPv4 and IPv6.
serve() {
  local dir=$1 label=$2 ns=$3 a4=$4 a6=$5; shift 5
  local d; d=$(config "$dir" "${MASTER:-on}")
  ip netns exec "$ns" "$@" timeout 120 "$NGINX" -c "$d/nginx.conf" -p "$d" >"$d/out.log" 2>&1 &
  local pid=$!
  lab_defer sh -c "kill $pid 2>/dev/null; true"
  local url4="http://$a4:8080" url6="http://[$a6]:8080" i
  for i in $(seq 100); do
    lab_exec peer curl -s -m 1 -o /dev/null "$url4/index.html" && lab_exec peer curl -s -m 1 -g -o /dev/null "$url6/index.html" && break
    sleep 0.1
  done
  lab_exec peer curl -s -m 30 -o "$d/v4.bin" "$url4/10M.bin" || true
  lab_exec peer curl -s -m 30 -g -o "$d/v6.bin" "$url6/10M.bin" || true
  lab_exec peer timeout 120 ab -q -n 2000 -c 10 "$url4/index.html" >"$d/ab4.out" 2>&1 || true
  lab_exec peer timeout 120 ab -q -n 2000 -c 10 "$url6/index.html" >"$d/ab6.out" 2>&1 || true
  lab_exec peer curl -s -m 5 -o "$d/second.html" "http://$a4:8081/index.html" || true
  # Who holds the :8080 listener: the kernel's ss -p, and the daemon's console.
  if [[ $dir == kernel ]]; then
    ip netns exec "$ns" ss -Hltnp "sport = :8080" >"$d/holders.out" 2>&1 || true
  elif [[ $dir == shared ]]; then
    "$BUILD/stack/tools/pytcpctl" -s "$RUN/console.sock" show sockets >"$d/holders.out" 2>&1 || true
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  grep -E "Requests per second|Failed requests" "$d/ab4.out" "$d/ab6.out" || true
  tail -3 "$d/out.log" "$d/logs/error.log" 2>/dev/null || true
  check "$label: 10 MB over IPv4 (hash)" test "$(sha256sum "$d/v4.bin" 2>/dev/null | cut -c1-64)" = "$WANT"
  check "$label: 10 MB over IPv6 (hash)" test "$(sha256sum "$d/v6.bin" 2>/dev/null | cut -c1-64)" = "$WANT"
  check "$label: 2000 requests over IPv4, none failed" \
    eval "has $d/ab4.out 'Complete requests: +2000' && has $d/ab4.out 'Failed requests: +0'"
  check "$label: 2000 requests over IPv6, none failed" \
    eval "has $d/ab6.out 'Complete requests: +2000' && has $d/ab6.out 'Failed requests: +0'"
  check "$label: the second server block answers" has "$d/second.html" "PyTCP lab"
  check "$label: nginx logged no error" eval "! grep -qE '\\[(emerg|alert|crit|error)\\]' $d/logs/error.log"
}

MASTER=on serve kernel "kernel" "$LAB_FAR_NS" "$LAB_FAR_IP4" "$LAB_FAR_IP6" env
MASTER=on serve shared "shared stack, master and two workers" "$LAB_HOST_NS" "$ME" "$ME6" \
  "${COMMON[@]}" PYTCP_STACK=shared PYTCP_CONSOLE="$RUN/console.sock"
# nginx processes named as holding the IPv4 :8080 listener (master and workers, as ss -p)
holders() { grep -E "^(tcp +)?LISTEN.*(0\.0\.0\.0|\*):8080 " "$1" | head -1 | grep -o '"nginx",pid=' | wc -l; }
cat "$TMP/kernel/holders.out" "$TMP/shared/holders.out" 2>/dev/null | grep 8080 || true
check "show sockets names the listener's processes as ss -p does ($(holders "$TMP/kernel/holders.out") nginx in both)" \
  test "$(holders "$TMP/shared/holders.out")" -eq "$(holders "$TMP/kernel/holders.out")" -a \
       "$(holders "$TMP/kernel/holders.out")" -eq 3
stop_daemon
MASTER=off serve process "in-process stack, one process" "$LAB_HOST_NS" "$ME" "$ME6" \
  "${COMMON[@]}" PYTCP_STACK=process

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
