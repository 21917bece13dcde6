#!/usr/bin/env bash
# The Debian package (issue 17 item 6). Usage: package_lab_test.sh BUILD_DIR
# scripts/package builds the .deb from $PYTCP_RELEASE_BUILD (scripts/test's release build,
# prefix /usr), else from build-package in the source tree (configured on first use). Then:
#   - dpkg-deb --info shows the control fields, --contents the installed layout (library,
#     launcher, pytcpctl, pytcpd with its systemd unit, headers, pytcp.pc, man pages);
#   - lintian reports no error;
#   - unpacked (dpkg -x into a temporary directory: the host's package database is not
#     touched), its `pytcp curl` fetches 10 MB from the lab peer.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
source "$SRC/scripts/lib/lab.sh"
lab_require_root
source "$SRC/scripts/lib/checks.sh"
for tool in dpkg-deb lintian; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/setup" >&2; exit 1; }
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
deb=$("$SRC/scripts/package" --build-dir "${PYTCP_RELEASE_BUILD:-$SRC/build-package}" --out "$TMP" | tail -1)
echo "built $deb"
check "scripts/package wrote a .deb" test -f "$deb"

dpkg-deb --info "$deb" >"$TMP/info"
sed 's/^/    /' "$TMP/info" | grep -E 'Package|Version|Architecture|Depends|Installed-Size'
check "dpkg-deb --info: package pytcp with its library dependencies" \
  bash -c "grep -q '^ Package: pytcp$' '$TMP/info' && grep -qE '^ Depends: .*libc6.*' '$TMP/info' && grep -qE '^ Depends: .*libfmt' '$TMP/info'"
dpkg-deb --contents "$deb" | awk '{print $NF}' >"$TMP/contents"
for f in ./usr/bin/pytcp ./usr/bin/pytcpctl ./usr/sbin/pytcpd ./lib/systemd/system/pytcpd.service \
  ./usr/include/pytcp/stack/stack.h ./usr/share/man/man1/pytcp.1.gz ./usr/share/man/man8/pytcpd.8.gz \
  ./usr/share/doc/pytcp/copyright; do
  check "contents: $f" grep -qx -- "$f" "$TMP/contents"
done
check "contents: libpytcp.so, libpytcp-stack.a and pytcp.pc in the library directory" \
  bash -c "grep -qE '^\./usr/lib/[^/]+/libpytcp\.so$' '$TMP/contents' && grep -qE '^\./usr/lib/[^/]+/libpytcp-stack\.a$' '$TMP/contents' && grep -qE '^\./usr/lib/[^/]+/pkgconfig/pytcp\.pc$' '$TMP/contents'"

lintian --fail-on error --no-tag-display-limit "$deb" >"$TMP/lintian" 2>&1 && lint=0 || lint=$?
sed 's/^/    /' "$TMP/lintian"
check "lintian: no errors ($(grep -c '^E:' "$TMP/lintian" || true) E, $(grep -c '^W:' "$TMP/lintian" || true) W)" \
  bash -c "[[ $lint -eq 0 ]] && ! grep -q '^E:' '$TMP/lintian'"

dpkg -x "$deb" "$TMP/x"
chmod 755 "$TMP"
trap - EXIT
lab_up "$(lab_unique_name pkg)"
lab_defer rm -rf "$TMP"
sum=$(lab_exec host "$TMP/x/usr/bin/pytcp" --iface "$LAB_TAP" --ip6 none --dhcp-cache none --console off \
  curl -sS --max-time 30 "http://$LAB_PEER_IP4/10M.bin" 2>"$TMP/curl.err" | sha256sum | cut -d' ' -f1)
sed 's/^/    /' "$TMP/curl.err" | head -5
check "the unpacked package's pytcp curl fetches 10 MB from the peer (hash)" test "$sum" = "$LAB_HTTP_10M_SHA256"
preload=$(lab_exec host "$TMP/x/usr/bin/pytcp" --iface "$LAB_TAP" sh -c 'echo "$LD_PRELOAD"')
check "  through the package's own libpytcp.so ($preload)" bash -c "[[ '$preload' == '$TMP/x/usr/lib/'*/libpytcp.so ]]"

echo "package lab: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
