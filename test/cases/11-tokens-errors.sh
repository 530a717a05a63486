# SPDX-License-Identifier: ISC
# Family 11, tokens: errors of the token endpoint.  invalid_grant (AADSTS
# 70008, 50173, 65001) and a revoked grant -> 77 with the command to run,
# remembered so later runs do not retry; temporarily_unavailable, 5xx and
# cut connections -> 75 with the tokens kept; Retry-After honoured.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 1"
export BROWSER="$TOP/test/fake-browser.sh"
# Access tokens live 60 s: every run refreshes.
emu POST /_emu/config '{"token_lifetime": 60}' >/dev/null

DEF="profile_id = (select id from profiles where name = 'default')"
tokens() { db "select access_token || '|' || refresh_token || '|' || access_expires || '|' || coalesce(needs_login, '-') from accounts where $DEF"; }
TOKEN='"match":{"method":"POST","path":"/oauth2/v2.0/token$"}'
HINT='run `timetap-sync -s default login`'

# ---- invalid_grant: a new login is needed ----
for code in 70008 50173 65001; do
	trun login
	[ $rc -eq 0 ] || not_ok "login before AADSTS$code (exit $rc)"
	fault "{\"kind\":\"token_error\",\"error\":\"invalid_grant\",\"error_codes\":[$code],$TOKEN,\"times\":1}"
	emu DELETE /_emu/requests >/dev/null
	trun calendars
	expect_rc 77 "invalid_grant AADSTS$code on refresh exits 77"
	check 'grep -qF -- "$HINT" "$T/err"' "AADSTS$code: stderr says $HINT"
	expect_err "AADSTS$code" "AADSTS$code: the message carries the code"
	expect_err '^timetap-sync: profile default: token refresh: ' "AADSTS$code: the message names the profile and the step"
	check '[ "$(grep -c . "$T/err")" -eq 1 ]' "AADSTS$code: one line on stderr"
	check '[ ! -s "$T/out" ]' "AADSTS$code: nothing on stdout"
	check '[ -n "$(db "select needs_login from accounts where needs_login is not null")" ]' "AADSTS$code: accounts.needs_login is set"
	check '[ "$(grants refresh_token)" -eq 1 ]' "AADSTS$code: one refresh attempt, not retried"
	check '[ "$(emu count GET "^/v1.0/")" -eq 0 ]' "AADSTS$code: no Graph request after a failed refresh"
	emu DELETE /_emu/requests >/dev/null
	trun calendars
	expect_rc 77 "AADSTS$code: a later run also exits 77"
	check 'grep -qF -- "$HINT" "$T/err"' "AADSTS$code: the later run says $HINT"
	check '[ "$(emu count POST "/oauth2/v2.0/token")" -eq 0 ]' "AADSTS$code: the later run does not contact the token endpoint"
	check '[ "$(nreq)" -eq 0 ]' "AADSTS$code: the later run sends nothing at all"
	trun status
	expect_rc 0 "AADSTS$code: status works"
	expect_out '^Token: +login needed' "AADSTS$code: status shows that a login is needed"
	trun status --json
	check 'python3 -c "import json,sys; o=json.load(open(sys.argv[1]))[0]; sys.exit(0 if o[\"needs_login\"] else 1)" "$T/out"' \
	    "AADSTS$code: status --json has needs_login"
done

# A new login clears the mark.
trun login
expect_rc 0 "login again"
check '[ "$(db "select needs_login is null from accounts")" = 1 ]' "the new login clears needs_login"
trun calendars
expect_rc 0 "calendars works after the new login"

# A grant revoked at the identity platform (the emulator answers AADSTS50173).
emu POST /_emu/tokens/revoke >/dev/null
trun calendars
expect_rc 77 "a revoked refresh token exits 77"
check 'grep -qF -- "$HINT" "$T/err"' "the revoked grant: stderr says $HINT"
check '[ -n "$(db "select needs_login from accounts where needs_login is not null")" ]' "the revoked grant: needs_login is set"

# Other profiles name themselves in the hint.
trun -s front login
fault "{\"kind\":\"token_error\",\"error\":\"invalid_grant\",\"error_codes\":[70008],$TOKEN,\"times\":1}"
trun -s front calendars
expect_rc 77 "invalid_grant on profile front"
check 'grep -qF -- "run \`timetap-sync -s front login\`" "$T/err"' "the hint names profile front"

# ---- transient: exit 75, tokens kept, the next run goes on ----
trun login
[ $rc -eq 0 ] || not_ok "login before the transient errors (exit $rc)"
transient() {	# $1 description, $2 fault
	before=$(tokens)
	fault "$2"
	emu DELETE /_emu/requests >/dev/null
	t0=$(date +%s)
	trun calendars
	t1=$(date +%s)
	expect_rc 75 "$1 exits 75"
	expect_err '^timetap-sync: profile default: token refresh: ' "$1: the message names the profile and the step"
	check '[ "$(grep -c . "$T/err")" -eq 1 ]' "$1: one line on stderr"
	check '! grep -q "login" "$T/err"' "$1: no login is suggested"
	check '[ "$(tokens)" = "$before" ]' "$1: the tokens in the store are unchanged"
	check '[ $((t1 - t0)) -le 10 ]' "$1: retries stop quickly with retry_budget = 1 ($((t1 - t0)) s)"
	check '[ "$(emu count GET "^/v1.0/")" -eq 0 ]' "$1: no Graph request"
	emu DELETE /_emu/faults >/dev/null
}
transient "temporarily_unavailable (400, AADSTS90006)" \
    "{\"kind\":\"token_error\",\"error\":\"temporarily_unavailable\",\"error_codes\":[90006],$TOKEN,\"times\":50}"
expect_err 'temporarily_unavailable' "the error is named"
transient "temporarily_unavailable (400, unknown AADSTS code)" \
    "{\"kind\":\"token_error\",\"error\":\"temporarily_unavailable\",\"error_codes\":[90999],$TOKEN,\"times\":50}"
transient "503 from the token endpoint" \
    "{\"kind\":\"status\",\"status\":503,$TOKEN,\"times\":50}"
check '[ "$(grants refresh_token)" -ge 2 ]' "a 503 is retried before giving up"
transient "500 from the token endpoint" \
    "{\"kind\":\"status\",\"status\":500,\"code\":\"server_error\",\"aadsts\":50000,$TOKEN,\"times\":50}"
transient "cut connections to the token endpoint" \
    "{\"kind\":\"cut\",$TOKEN,\"times\":50}"
transient "429 from the token endpoint" \
    "{\"kind\":\"status\",\"status\":429,\"code\":\"temporarily_unavailable\",\"aadsts\":50196,\"retry_after\":\"0.2\",$TOKEN,\"times\":50}"
check '[ "$(db "select needs_login is null from accounts where $DEF")" = 1 ]' "transient errors never mark the account for login"

# The faults gone, the next run refreshes and works.
before=$(db "select refresh_token from accounts where $DEF")
emu DELETE /_emu/requests >/dev/null
trun calendars
expect_rc 0 "the run after the transient errors works"
check '[ "$(grants refresh_token)" -eq 1 ]' "it refreshed once"
check '[ "$(db "select refresh_token from accounts where $DEF")" != "$before" ]' "and stored the rotated refresh token"

# ---- Retry-After on the token endpoint: decimal seconds, honoured ----
emu_config "retry_budget = 5"
fault "{\"kind\":\"status\",\"status\":503,\"retry_after\":\"0.6\",$TOKEN,\"times\":1}"
emu DELETE /_emu/requests >/dev/null
trun calendars
expect_rc 0 "one 503 with Retry-After: 0.6 is retried and the run works"
gap=$(emu GET /_emu/requests | python3 -c '
import json, sys
t = [r["t_start"] for r in json.load(sys.stdin)["requests"] if r["grant_type"] == "refresh_token"]
print("%d %.3f" % (len(t), t[1] - t[0] if len(t) > 1 else -1))')
check '[ "${gap%% *}" -eq 2 ]' "two refresh attempts ($gap)"
check 'python3 -c "import sys; sys.exit(0 if 0.55 <= float(sys.argv[1]) < 3 else 1)" "${gap#* }"' \
    "the retry waited the 0.6 s of Retry-After (${gap#* } s)"
fault "{\"kind\":\"status\",\"status\":503,\"retry_after_date\":2,$TOKEN,\"times\":1}"
emu DELETE /_emu/requests >/dev/null
trun calendars
expect_rc 0 "one 503 with an HTTP-date Retry-After is retried and the run works"
gap=$(emu GET /_emu/requests | python3 -c '
import json, sys
t = [r["t_start"] for r in json.load(sys.stdin)["requests"] if r["grant_type"] == "refresh_token"]
print("%.3f" % (t[1] - t[0] if len(t) > 1 else -1))')
check 'python3 -c "import sys; sys.exit(0 if 0.9 <= float(sys.argv[1]) < 4 else 1)" "$gap"' \
    "the retry waited until the HTTP date ($gap s)"

# ---- an app registration the identity platform rejects: 78 ----
fault "{\"kind\":\"token_error\",\"error\":\"invalid_client\",\"error_codes\":[7000218],\"status\":401,$TOKEN,\"times\":1}"
before=$(tokens)
trun calendars
expect_rc 78 "invalid_client (AADSTS7000218) on refresh exits 78"
expect_err 'invalid_client' "the error is named"
check '[ "$(tokens)" = "$before" ]' "the tokens are kept"
