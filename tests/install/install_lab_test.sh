#!/usr/bin/env bash
# `meson install` and the `pytcp` launcher (issue 17 items 2 and 3). Usage:
# install_lab_test.sh BUILD_DIR
# Installs $PYTCP_RELEASE_BUILD (scripts/test's release build), else BUILD_DIR, into a
# temporary DESTDIR, then from there:
#   - every installed piece is where a system looks for it (library, programs, headers,
#     pytcp.pc, man pages);
#   - `pytcp curl` fetches 10 MB from the lab peer (hash checked); what was in LD_PRELOAD
#     stays; `pytcp --shell` runs a shell whose curl uses PyTCP;
#   - the launcher says what is wrong: no TAP device, no permission (as nobody), no daemon;
#   - a small program built with `pkg-config --cflags --libs pytcp` against the installed
#     C++ library runs a Stack that leases an address from the peer's dnsmasq.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
FROM=${PYTCP_RELEASE_BUILD:-$BUILD}
source "$HERE/../../scripts/lib/checks.sh"

TMP=$(mktemp -d)
chmod 755 "$TMP"  # nobody runs the installed launcher below
DEST=$TMP/root
meson install -C "$FROM" --no-rebuild --destdir "$DEST" >"$TMP/install.log" 2>&1 ||
  { cat "$TMP/install.log" >&2; exit 1; }
opt() { meson introspect "$FROM" --buildoptions |
  python3 -c "import json,sys; print(next(o['value'] for o in json.load(sys.stdin) if o['name']=='$1'))"; }
PREFIX=$(opt prefix)
P=$DEST$PREFIX
LIBDIR=$P/$(opt libdir)
echo "installed $FROM into $DEST (prefix $PREFIX)"

lab_up "$(lab_unique_name inst)"
lab_defer rm -rf "$TMP"

check "libpytcp.so in the library directory" test -f "$LIBDIR/libpytcp.so"
check "pytcp and pytcpctl in bin, pytcpd in sbin" test -x "$P/bin/pytcp" -a -x "$P/bin/pytcpctl" -a -x "$P/sbin/pytcpd"
check "the C++ library and its headers" test -f "$LIBDIR/libpytcp-stack.a" -a -f "$P/include/pytcp/stack/stack.h"
check "pytcp.pc for pkg-config" test -f "$LIBDIR/pkgconfig/pytcp.pc"
check "man pages pytcp(1), pytcpctl(1), pytcpd(8)" \
  test -f "$P/share/man/man1/pytcp.1" -a -f "$P/share/man/man1/pytcpctl.1" -a -f "$P/share/man/man8/pytcpd.8"
check "pytcp --help names its options" bash -c "'$P/bin/pytcp' --help | grep -q -- '--pcap FILE'"

PYTCP=("$P/bin/pytcp" --iface "$LAB_TAP" --ip6 none --dhcp-cache none --console off)
URL="http://$LAB_PEER_IP4/10M.bin"
sum=$(lab_exec host "${PYTCP[@]}" curl -sS --max-time 30 "$URL" 2>"$TMP/curl.err" | sha256sum | cut -d' ' -f1)
check "pytcp curl fetches 10 MB from the peer (hash)" test "$sum" = "$LAB_HTTP_10M_SHA256"
sed 's/^/    /' "$TMP/curl.err" | head -5

other=$(ls /lib/x86_64-linux-gnu/libm.so.6 /usr/lib/*/libm.so.6 2>/dev/null | head -1)
preload=$(lab_exec host env LD_PRELOAD="$other" "${PYTCP[@]}" sh -c 'echo "$LD_PRELOAD"')
check "LD_PRELOAD: libpytcp.so first, what was there kept ($preload)" \
  test "$preload" = "$LIBDIR/libpytcp.so:$other"
code=$(echo "curl -sS -o /dev/null -w '%{http_code}' --max-time 20 http://$LAB_PEER_IP4/index.html" |
  lab_exec host env SHELL=/bin/bash "${PYTCP[@]}" --shell 2>/dev/null || true)
check "pytcp --shell: its curl gets the page over PyTCP (HTTP $code)" test "$code" = 200

# The launcher's diagnoses, each in a sentence and with exit status 125.
diagnose() {  # diagnose NAME REGEX CMD...: CMD exits 125 and says REGEX on stderr
  local name=$1 regex=$2; shift 2
  local rc=0
  "$@" >"$TMP/diag.out" 2>"$TMP/diag.err" || rc=$?
  sed 's/^/    /' "$TMP/diag.err"
  check "$name" bash -c '[[ $1 -eq 125 ]] && grep -qE -- "$2" "$3"' _ "$rc" "$regex" "$TMP/diag.err"
}
diagnose "no TAP: says which device is missing" "no network device 'pytcp-none0'" \
  lab_exec host "$P/bin/pytcp" --iface pytcp-none0 true
# Which one depends on the host: /dev/net/tun is 0666 on most, 0600 on some.
diagnose "no permission: nobody may not use $LAB_TAP" "no permission to (attach to $LAB_TAP|open /dev/net/tun)" \
  lab_exec host runuser -u nobody -- "$P/bin/pytcp" --iface "$LAB_TAP" true
diagnose "no daemon: --shared where nobody can start one" "no daemon serves $LAB_TAP" \
  lab_exec host runuser -u nobody -- "$P/bin/pytcp" --iface "$LAB_TAP" --shared --run-dir "$TMP/run" true
rc=0
lab_exec host "$P/bin/pytcp" --iface "$LAB_TAP" nosuchprogram 2>"$TMP/diag.err" || rc=$?
check "no program: exit status 127, 'command not found'" \
  bash -c "[[ $rc -eq 127 ]] && grep -q 'nosuchprogram: command not found' '$TMP/diag.err'"

# The C++ library: pkg-config alone gives the flags; the sysroot maps the .pc's prefix
# into DESTDIR, as for a cross-compiler's staging tree.
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEST
flags=$(pkg-config --cflags --libs pytcp)
echo "    pkg-config --cflags --libs pytcp: $flags"
# shellcheck disable=SC2086
check "a program builds against the installed library with pkg-config's flags" \
  g++ -o "$TMP/embed" "$HERE/embed_example.cc" $flags
out=$(lab_exec host env PYTCP_IFACE="$LAB_TAP" PYTCP_IP6=none PYTCP_DHCP_CACHE=none PYTCP_CONSOLE=off \
  timeout 30 "$TMP/embed" 2>&1 || true)
echo "    $out"
check "it runs a Stack that leases an address from the peer" bash -c "grep -qE '^address 10\.77\.0\.[0-9]+$' <<<'$out'"

echo "install lab: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
