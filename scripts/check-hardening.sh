#!/bin/sh
# SPDX-License-Identifier: ISC
#
# check-hardening.sh BINARY: whether BINARY has the hardening Debian builds
# with (make check runs it on its build): a position-independent
# executable (type DYN, FLAGS_1 PIE), a read-only relocation segment
# (GNU_RELRO) bound at start (BIND_NOW), the stack protector
# (__stack_chk_fail) and fortified calls (__*_chk).  readelf (binutils)
# is enough; hardening-check (devscripts) is run as well where it is
# installed.  One line per missing property on stderr, exit 1.
set -u
bin=${1:?usage: check-hardening.sh BINARY}
[ -f "$bin" ] || { echo "check-hardening: no $bin" >&2; exit 1; }
export LC_ALL=C
fail=0
missing() { echo "check-hardening: $bin: $*" >&2; fail=1; }

d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
readelf -hW "$bin" >"$d/header" && readelf -dW "$bin" >"$d/dynamic" &&
    readelf -lW "$bin" >"$d/segments" &&
    readelf --dyn-syms -W "$bin" >"$d/symbols" || exit 1

# What readelf must show: which output, a regex, what its lack means.
while IFS=';' read -r part re lack; do
	grep -Eq -- "$re" "$d/$part" || missing "$lack"
done <<'EOF'
header;Type: +DYN;not position-independent (ELF type is not DYN): build with -fPIE -pie
dynamic;\(FLAGS_1\).* PIE;no PIE in FLAGS_1: linked without -pie
segments;GNU_RELRO;no GNU_RELRO segment: linked without -Wl,-z,relro
dynamic;\(BIND_NOW\)|\(FLAGS\).*BIND_NOW|\(FLAGS_1\).* NOW;not bound now: linked without -Wl,-z,now
symbols; __stack_chk_fail;no __stack_chk_fail: compiled without -fstack-protector-strong
symbols; __[a-z_]+_chk(@|$);no fortified call (__*_chk): compiled without -D_FORTIFY_SOURCE=2 or -O
EOF

if command -v hardening-check >/dev/null 2>&1; then
	hardening-check "$bin" >&2 || missing "hardening-check (above) fails"
fi
[ $fail -eq 0 ] && echo "check-hardening: $bin: PIE, RELRO, BIND_NOW, stack protector, fortified calls"
exit $fail
