# SPDX-License-Identifier: ISC
# Family 19: certificates over TLS.  The emulator serves HTTPS with its own
# CA.  ca_file names a bundle (OpenSSL parses it whole at the first
# handshake); ca_path names a directory of hashed certificates (OpenSSL
# looks the issuer up by hash), which is what the tool uses by default:
# libcurl's CA directory without its bundle.  A certificate the store
# cannot verify is a configuration error, exit 78, and nothing changes.
. "$TOP/test/lib.sh"

emu_start --tls --ca-out "$T/ca.pem" --scenario "$TOP/test/scenarios/demo.json" || exit 1
browser="$T/browser.sh"
printf '#!/bin/sh\nexec curl -s -L --cacert "%s" --max-time 20 -o /dev/null "$1"\n' \
    "$T/ca.pem" >"$browser"
chmod +x "$browser"
# A CA directory: the emulator's CA, hashed; another without it.
mkdir "$T/cadir" "$T/otherdir"
cp "$T/ca.pem" "$T/cadir/emulator.pem"
openssl rehash "$T/cadir" 2>/dev/null
check '[ -n "$(find "$T/cadir" -type l -name "*.0")" ]' "openssl rehash made the hash link"

emu_config "ca_path = $T/cadir"
BROWSER="$browser" run login
expect_rc 0 "login over HTTPS with ca_path"
run sync
expect_rc 0 "a pass over HTTPS verified through the CA directory exits 0"
expect_silent "and is silent"
blocks=$(db "SELECT count(*) FROM appointments WHERE kind = 'ext'")
check '[ "$blocks" -gt 0 ]' "its blocks are in the book ($blocks)"

emu_config "ca_file = $T/ca.pem"
run sync
expect_rc 0 "the same with ca_file (the bundle) exits 0"
expect_silent "and is silent"

# A directory without the emulator's CA: not verified, nothing changes.
emu_config "ca_path = $T/otherdir"
outlook "{\"op\":\"add\",\"event\":{\"subject\":\"Unseen\",\"start\":\"+2d10:00\",\"end\":\"+2d11:00\",\"showAs\":\"busy\"}}"
run sync
expect_rc 78 "a peer the CA directory cannot verify: exit 78 (configuration)"
expect_err "certificate|SSL|verif" "the error says why"
check '[ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'ext'"'")" -eq "$blocks" ]' \
    "no block was removed"
check '[ "$(db "SELECT count(*) FROM appointments WHERE subject = '"'Unseen'"'")" -eq 0 ]' \
    "and nothing was read"

# Bad values name their line.
emu_config "ca_path = $T/ca.pem"
run sync
expect_rc 78 "ca_path naming a file: exit 78"
expect_err "config:4: ca_path: .* is not a directory" "the error names the line and says what it wants"
emu_config "ca_path = $T/none"
run sync
expect_rc 78 "ca_path naming nothing: exit 78"
expect_err "config:4: ca_path: cannot read" "the error names the line"

emu_config "ca_path = $T/cadir"
run sync
expect_rc 0 "with the directory again the pass exits 0"
check '[ "$(db "SELECT count(*) FROM appointments WHERE subject = '"'Unseen'"'")" -eq 1 ]' \
    "and reads what it missed"
