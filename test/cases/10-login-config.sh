# SPDX-License-Identifier: ISC
# Family 10, login: what login refuses before it talks to anyone --
# no client_id, http:// for a host that is not loopback, bad options --
# and an app registration the identity platform rejects.
. "$TOP/test/lib.sh"

emu_start --scenario "$TOP/test/scenarios/demo.json" || exit 1
export BROWSER="$TOP/test/fake-browser.sh"
unset DISPLAY WAYLAND_DISPLAY
CID="client_id = 11111111-2222-3333-4444-555555555555"

naccounts() { [ -f "$TIMETAP_SYNC_DB" ] && db "select count(*) from accounts" || echo 0; }

# ---- no client_id ----
config "authority_url = $EMU" "graph_url = $EMU/v1.0"
trun login
expect_rc 78 "login without client_id exits 78"
expect_err 'client_id' "the message names client_id"
check '[ "$(grep -c . "$T/err")" -eq 1 ]' "one line on stderr"
trun login --device-code
expect_rc 78 "device login without client_id exits 78"
check '[ "$(nreq)" -eq 0 ]' "nothing was sent to the identity platform"
check '[ "$(naccounts)" -eq 0 ]' "no account stored"

# ---- http:// only for loopback hosts ----
# (A device login with a short budget: should a bad URL slip through, the
# run ends in seconds instead of waiting for a browser.)
qrun() {
	last_cmd="timetap-sync $*"
	timeout 15 "$BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}
emu DELETE /_emu/requests >/dev/null
for u in http://login.example.com http://login.microsoftonline.com:80 \
    http://localhost.example.com http://127.0.0.1.example.com \
    http://localhost:1@login.example.com http://127.0.0.1:8080@login.example.com; do
	config "$CID" "retry_budget = 1" "timeout = 3" "authority_url = $u" "graph_url = $EMU/v1.0"
	qrun login --device-code
	expect_rc 78 "authority_url = $u is refused"
	expect_err "authority_url: .*must be https://" "the refusal of $u says https://"
	config "$CID" "retry_budget = 1" "timeout = 3" "authority_url = $EMU" "graph_url = $u/v1.0"
	qrun login --device-code
	expect_rc 78 "graph_url = $u/v1.0 is refused"
	expect_err "graph_url: .*must be https://" "the refusal of $u/v1.0 says https://"
done
check '[ "$(nreq)" -eq 0 ]' "nothing was sent for a refused configuration"
check '[ "$(naccounts)" -eq 0 ]' "no account stored"
config "$CID" "authority_url = ftp://$(echo "$EMU" | sed 's,^http://,,')" "graph_url = $EMU/v1.0"
trun login
expect_rc 78 "a non-http scheme is refused"

# The refusal holds for every command, not only login.
config "$CID" "authority_url = http://login.example.com" "graph_url = $EMU/v1.0"
trun status
expect_rc 78 "status with a non-loopback http:// authority exits 78"
trun calendars
expect_rc 78 "calendars with a non-loopback http:// authority exits 78"

# ---- usage errors ----
emu_config
emu DELETE /_emu/requests >/dev/null
trun login --password
expect_rc 64 "unknown login option"
expect_err "login: unknown option '--password'" "the option is named"
trun login extra
expect_rc 64 "unexpected login argument"
check '[ "$(nreq)" -eq 0 ]' "usage errors send nothing"

# ---- the identity platform rejects the app registration ----
emu POST /_emu/config '{"client_id": "99999999-0000-0000-0000-000000000000"}' >/dev/null
trun login --device-code
expect_rc 78 "an unknown client_id (unauthorized_client) is a configuration error"
expect_err 'unauthorized_client' "the error is named"
emu POST /_emu/config '{"client_id": null}' >/dev/null
emu POST /_emu/faults '{"faults":[{"kind":"token_error","error":"invalid_client","error_codes":[7000218],"status":401,"match":{"path":"/oauth2/v2.0/token"},"times":1}]}' >/dev/null
trun login
expect_rc 78 "invalid_client (AADSTS7000218) when redeeming the code exits 78"
expect_err 'invalid_client' "the error is named"
expect_err 'redeeming the sign-in code' "the step is named"
check '[ "$(naccounts)" -eq 0 ]' "no account stored"

# ---- national clouds: the stored account keeps the configured roots ----
trun -s cloud login
expect_rc 0 "login with the configured authority and Graph roots"
check '[ "$(db "select authority_url || '"' '"' || graph_url from accounts")" = "$EMU $EMU/v1.0" ]' "the roots are stored with the account"
config "$CID" "tenant = contoso.example" "authority_url = $EMU" "graph_url = $EMU/v1.0"
emu DELETE /_emu/requests >/dev/null
trun -s tenant login --device-code
expect_rc 0 "login with a tenant domain"
check '[ "$(emu count POST "^/contoso.example/oauth2/v2.0/devicecode$")" -eq 1 ]' "the tenant is in the identity platform path"
check '[ "$(db "select tenant from accounts a join profiles p on p.id = a.profile_id where p.name = '"'tenant'"'")" = contoso.example ]' \
    "the tenant is stored"
