#!/usr/bin/env bash
# The files the stack creates, and secure execution (issue 17 items 4 and 5). Usage:
# security_lab_test.sh BUILD_DIR SETUID_PROBE
# In the lab, programs under the shim run with umask 000 (so nothing below is 0600 by luck):
#   - PYTCP_PCAP naming a symlink, a hard link or another user's file: refused, the file
#     behind it unchanged; an own 0644 file there becomes a 0600 capture;
#   - a fresh capture, the DHCP lease cache, the console socket (PYTCP_CONSOLE and the
#     default under XDG_RUNTIME_DIR, whose directory is 0700) are 0600;
#   - pytcpd started on demand: its control socket, pid file, log and start lock are 0600; a
#     symlink planted at its pid file is not followed;
#   - neither libpytcp.so nor pytcpd calls umask().
# Then, in a private network and mount namespace (a tap7 of its own, a tmpfs on /run, an
# overlay on /etc whose ld.so.preload names the shim; nothing of the host changes):
#   - SETUID_PROBE run by root: PYTCP_PCAP is honoured (the preload works here);
#   - the same program setuid root, started by nobody (AT_SECURE): PYTCP_PCAP,
#     PYTCP_CONSOLE and XDG_RUNTIME_DIR are ignored, the stack runs on its defaults.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR SETUID_PROBE}" && pwd)
PROBE=${2:?usage: $0 BUILD_DIR SETUID_PROBE}
LIB=$BUILD/shim/libpytcp.so
source "$HERE/../../scripts/lib/checks.sh"
lab_up "$(lab_unique_name sec)"
TMP=$(mktemp -d)
lab_defer rm -rf "$TMP"
chmod 755 "$TMP"

mode() { stat -c %a "$1" 2>/dev/null || echo missing; }
# A preloaded curl with umask 000 and the given extra PYTCP_* settings; its stderr in $TMP/err.
shim_curl() {
  lab_exec host env "$@" bash -c "umask 000; exec env LD_PRELOAD='$LIB' PYTCP_IFACE='$LAB_TAP' PYTCP_IP6=none \
    curl -sS -o /dev/null -w '%{http_code}' --max-time 20 http://$LAB_PEER_IP4/index.html" 2>"$TMP/err" || true
}

echo "keep me" >"$TMP/victim"
ln -s "$TMP/victim" "$TMP/link.pcap"
shim_curl PYTCP_PCAP="$TMP/link.pcap" PYTCP_DHCP_CACHE=none PYTCP_CONSOLE=off >/dev/null
sed 's/^/    /' "$TMP/err" | head -3
check "PYTCP_PCAP at a symlink: not followed, its target unchanged" \
  bash -c "[[ \$(cat '$TMP/victim') == 'keep me' && -L '$TMP/link.pcap' ]]"
check "  and the refusal names the symlink" grep -q "link.pcap is a symlink" "$TMP/err"
ln "$TMP/victim" "$TMP/hard.pcap"
shim_curl PYTCP_PCAP="$TMP/hard.pcap" PYTCP_DHCP_CACHE=none PYTCP_CONSOLE=off >/dev/null
check "PYTCP_PCAP at a hard link: refused, the file unchanged" \
  bash -c "[[ \$(cat '$TMP/victim') == 'keep me' ]] && grep -q 'other hard links' '$TMP/err'"
echo "nobody's" >"$TMP/other.pcap"
chown nobody "$TMP/other.pcap"
shim_curl PYTCP_PCAP="$TMP/other.pcap" PYTCP_DHCP_CACHE=none PYTCP_CONSOLE=off >/dev/null
check "PYTCP_PCAP at another user's file: refused, the file unchanged" \
  bash -c "[[ \$(cat '$TMP/other.pcap') == \"nobody's\" ]] && grep -q 'belongs to uid' '$TMP/err'"
echo "old" >"$TMP/own.pcap"
chmod 644 "$TMP/own.pcap"
code=$(shim_curl PYTCP_PCAP="$TMP/own.pcap" PYTCP_DHCP_CACHE=none PYTCP_CONSOLE=off)
check "an own 0644 file at PYTCP_PCAP becomes a 0600 capture (HTTP $code)" \
  bash -c "[[ \$(stat -c %a '$TMP/own.pcap') == 600 && \$(od -An -tx1 -N4 '$TMP/own.pcap' | tr -d ' ') == d4c3b2a1 ]]"

code=$(shim_curl PYTCP_PCAP="$TMP/new.pcap" PYTCP_DHCP_CACHE="$TMP/lease" PYTCP_CONSOLE=off)
check "fresh capture 0600 with umask 000 (HTTP $code)" test "$(mode "$TMP/new.pcap")" = 600
check "DHCP lease cache 0600" test "$(mode "$TMP/lease")" = 600
check "  no temporary file left beside it" bash -c "! ls '$TMP'/lease.tmp* 2>/dev/null"

# The console sockets exist while the program runs: python3 reports them itself.
console_modes() {  # console_modes ENV...: prints the modes of the program's console and its directory
  lab_exec host env "$@" bash -c "umask 000; exec env LD_PRELOAD='$LIB' PYTCP_IFACE='$LAB_TAP' PYTCP_IP6=none \
    PYTCP_DHCP_CACHE=none python3 -c '
import os, socket
s = socket.create_connection((\"$LAB_PEER_IP4\", 80), timeout=10)
path = os.environ.get(\"PYTCP_CONSOLE\") or os.environ[\"XDG_RUNTIME_DIR\"] + \"/pytcp/%d.sock\" % os.getpid()
print(\"%o %o\" % (os.lstat(path).st_mode & 0o7777, os.stat(os.path.dirname(path)).st_mode & 0o7777))
'" 2>"$TMP/err" || true
}
read -r sock_mode _ < <(console_modes PYTCP_CONSOLE="$TMP/c.sock") || true
check "console socket at PYTCP_CONSOLE: 0600 ($sock_mode)" test "$sock_mode" = 600
mkdir -m 700 "$TMP/xdg"
read -r sock_mode dir_mode < <(console_modes XDG_RUNTIME_DIR="$TMP/xdg") || true
check "default console under XDG_RUNTIME_DIR: socket 0600 ($sock_mode), directory 0700 ($dir_mode)" \
  test "$sock_mode $dir_mode" = "600 700"
mkdir -m 777 "$TMP/xdg-open"
mkdir -m 777 "$TMP/xdg-open/pytcp"
read -r sock_mode _ < <(console_modes XDG_RUNTIME_DIR="$TMP/xdg-open") || true
check "a console directory writable by others is refused (no console)" \
  bash -c "[[ -z '$sock_mode' ]] && grep -q 'is writable by others' '$TMP/err'"

# pytcpd on demand, with a symlink planted at its pid file.
RUN=$TMP/run
mkdir -m 755 "$RUN"
ln -s "$TMP/victim" "$RUN/$LAB_TAP.pid"
code=$(shim_curl PYTCP_STACK=shared PYTCP_RUN_DIR="$RUN" PYTCP_DHCP_CACHE=none PYTCP_CONSOLE=off PYTCP_IDLE_EXIT=60)
check "pytcpd started on demand serves curl (HTTP $code)" test "$code" = 200
check "pytcpd control socket 0600" test "$(mode "$RUN/$LAB_TAP.sock")" = 600
check "start lock $LAB_TAP.sock.start 0600" test "$(mode "$RUN/$LAB_TAP.sock.start")" = 600
check "log of the daemon started on demand, $LAB_TAP.log, 0600" test "$(mode "$RUN/$LAB_TAP.log")" = 600
check "a symlink at the pid file is not followed (target unchanged)" \
  bash -c "[[ \$(cat '$TMP/victim') == 'keep me' && -L '$RUN/$LAB_TAP.pid' ]]"
# Our daemon is the pytcpd whose environment names our run directory (others' tests may
# run daemons of their own).
stop_our_daemon() {
  local p
  for p in $(pgrep -x pytcpd || true); do
    if { tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | grep -qx "PYTCP_RUN_DIR=$RUN"; then kill "$p"; fi
  done
  for _ in $(seq 50); do [[ -e $RUN/$LAB_TAP.sock ]] || break; sleep 0.1; done
}
lab_defer stop_our_daemon
stop_our_daemon
check "  and the daemon leaves it in place when it stops" test -L "$RUN/$LAB_TAP.pid"
rm -f "$RUN/$LAB_TAP.pid"
code=$(shim_curl PYTCP_STACK=shared PYTCP_RUN_DIR="$RUN" PYTCP_DHCP_CACHE=none PYTCP_CONSOLE=off PYTCP_IDLE_EXIT=60)
check "pid file 0600 (HTTP $code)" test "$(mode "$RUN/$LAB_TAP.pid")" = 600
stop_our_daemon
check "libpytcp.so and pytcpd do not call umask()" \
  bash -c "! nm -D --undefined-only '$LIB' '$BUILD/pytcpd/pytcpd' | grep -qw umask"

# Secure execution, in namespaces of our own.
SU=$TMP/suid
mkdir -m 755 "$SU" "$SU/out" "$TMP/ov" "$TMP/ov/up" "$TMP/ov/work"
install -m 0755 "$LIB" "$SU/libpytcp.so"
install -o root -g root -m 4755 "$PROBE" "$SU/probe"
unshare -n -m --propagation private bash -s >"$TMP/suid.log" 2>&1 <<SCRIPT || true
set -e
ip link set lo up
ip tuntap add dev tap7 mode tap
ip link set tap7 up
mount -t tmpfs -o mode=755 tmpfs /run
mount -t overlay overlay -o lowerdir=/etc,upperdir=$TMP/ov/up,workdir=$TMP/ov/work /etc
echo $SU/libpytcp.so >/etc/ld.so.preload
echo "== root"
env PYTCP_PCAP=$SU/out/root.pcap PYTCP_IP4=192.0.2.10/24 PYTCP_IP6=none timeout 20 $SU/probe
echo "== nobody, setuid"
runuser -u nobody -- env PYTCP_PCAP=$SU/out/suid.pcap PYTCP_CONSOLE=$SU/out/c.sock XDG_RUNTIME_DIR=$SU/out \
  PYTCP_IP6=none timeout 20 $SU/probe
SCRIPT
sed 's/^/    /' "$TMP/suid.log"
check "the host's /etc/ld.so.preload is untouched" bash -c "! grep -qs '$SU' /etc/ld.so.preload"
check "run by root from /etc/ld.so.preload: PYTCP_PCAP honoured" test -f "$SU/out/root.pcap"
check "setuid root started by nobody: AT_SECURE, the stack started" \
  bash -c "grep -q 'uid 65534 euid 0 at_secure 1' '$TMP/suid.log' && grep -A2 'nobody, setuid' '$TMP/suid.log' | grep -q 'socket ok'"
check "  PYTCP_PCAP ignored: no capture" test ! -e "$SU/out/suid.pcap"
check "  PYTCP_CONSOLE and XDG_RUNTIME_DIR ignored: the console at /run/pytcp, 0600, root's" \
  bash -c "! ls '$SU/out/' | grep -q sock && grep -A3 'nobody, setuid' '$TMP/suid.log' | grep -qE 'console /run/pytcp/[0-9]+\.sock mode 600 uid 0'"

echo "security lab: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
