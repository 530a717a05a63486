# SPDX-License-Identifier: ISC
# Family 11, tokens: refresh only within five minutes of expiry; refresh
# token rotation in strict mode over many runs never locks the tool out;
# a rejected access token is not used forever.
. "$TOP/test/lib.sh"

emu_setup demo
export BROWSER="$TOP/test/fake-browser.sh"

token_counter() {
	emu GET /_emu/state | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"].get(sys.argv[1], 0))' "$1"
}

# ---- strict rotation: every refresh token works once ----
emu POST /_emu/config '{"strict_refresh": true, "token_lifetime": 60}' >/dev/null
trun login
expect_rc 0 "login (access tokens live 60 s, refresh tokens are single-use)"
emu DELETE /_emu/requests >/dev/null
used0=$(token_counter refresh_used)
fails=0 same=0 reused=0 needs=0
seen="$T/seen"
db "select refresh_token from accounts" >"$seen"
first_err=""
i=1
while [ $i -le 25 ]; do
	before=$(db "select refresh_token from accounts")
	trun calendars
	after=$(db "select refresh_token from accounts")
	if [ $rc -ne 0 ]; then
		fails=$((fails + 1))
		[ -z "$first_err" ] && first_err="run $i: exit $rc: $(head -1 "$T/err")"
	fi
	[ "$before" = "$after" ] && same=$((same + 1))
	grep -qxF -- "$after" "$seen" && reused=$((reused + 1))
	echo "$after" >>"$seen"
	[ "$(db "select needs_login is null from accounts")" = 1 ] || needs=$((needs + 1))
	i=$((i + 1))
done
check '[ $fails -eq 0 ]' "25 calendars runs in strict mode all exit 0 ($fails failed${first_err:+; $first_err})"
check '[ $same -eq 0 ]' "the stored refresh token changed on every run ($same unchanged)"
check '[ $reused -eq 0 ]' "no stored refresh token was ever one seen before"
check '[ $needs -eq 0 ]' "the account never needed a new login"
check '[ "$(grants refresh_token)" -eq 25 ]' "exactly one refresh per run (25)"
check '[ "$(token_counter refresh_rejected)" -eq 0 ]' "the emulator rejected no refresh token"
check '[ $(( $(token_counter refresh_used) - used0 )) -eq 25 ]' "the emulator saw 25 refresh tokens used once each"
check '[ "$(db "select last_refresh >= strftime('"'%s','now'"') - 60 from accounts")" = 1 ]' "the last refresh time is recorded"
trun -v calendars
expect_rc 0 "a 26th run still works"

# ---- no token request while the access token is valid ----
emu POST /_emu/config '{"token_lifetime": 3600}' >/dev/null
trun calendars
expect_rc 0 "a refresh that brings a one-hour access token"
exp=$(db "select access_expires from accounts")
check '[ "$exp" -gt $(( $(date +%s) + 3000 )) ]' "the new expiry is about an hour away"
rt=$(db "select refresh_token from accounts")
at=$(db "select access_token from accounts")
emu DELETE /_emu/requests >/dev/null
trun calendars
expect_rc 0 "calendars with a valid access token"
trun calendars --json
expect_rc 0 "calendars --json with a valid access token"
check '[ "$(grants refresh_token)" -eq 0 ]' "no refresh_token grant while the access token is valid"
check '[ "$(emu count POST "/oauth2/v2.0/token")" -eq 0 ]' "no request to the token endpoint at all"
check '[ "$(emu count GET "^/v1.0/me/calendar")" -gt 0 ]' "the Graph calls were made"
check '[ "$(db "select refresh_token from accounts")" = "$rt" ]' "the refresh token is unchanged"
check '[ "$(db "select access_token from accounts")" = "$at" ]' "the access token is unchanged"
check '[ "$(db "select access_expires from accounts")" = "$exp" ]' "the expiry is unchanged"

# ---- the five-minute margin: 6 minutes left -> no refresh; 4 -> refresh ----
db "update accounts set access_expires = strftime('%s','now') + 360"
emu DELETE /_emu/requests >/dev/null
trun calendars
expect_rc 0 "calendars with six minutes left"
check '[ "$(grants refresh_token)" -eq 0 ]' "six minutes before expiry: no refresh"
db "update accounts set access_expires = strftime('%s','now') + 240"
trun calendars
expect_rc 0 "calendars with four minutes left"
check '[ "$(grants refresh_token)" -eq 1 ]' "four minutes before expiry: one refresh"
check '[ "$(db "select refresh_token from accounts")" != "$rt" ]' "the rotated refresh token is stored"

# ---- an expired access token (past expiry) is refreshed first ----
db "update accounts set access_expires = strftime('%s','now') - 10"
emu DELETE /_emu/requests >/dev/null
trun calendars
expect_rc 0 "calendars after the access token expired"
check '[ "$(grants refresh_token)" -eq 1 ]' "the expired access token was refreshed"
check '[ "$(emu GET /_emu/requests | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin)[\"requests\"] if r[\"status\"] == 401))")" -eq 0 ]' \
    "no Graph request was sent with the expired token"

# ---- an access token the service rejects (401) is not used forever ----
emu POST /_emu/config '{"strict_refresh": false, "token_lifetime": 3600}' >/dev/null
db "update accounts set access_expires = 0"
trun calendars
expect_rc 0 "calendars with a fresh one-hour access token"
emu POST /_emu/tokens/expire >/dev/null
emu DELETE /_emu/requests >/dev/null
trun calendars
r1=$rc
trun calendars
r2=$rc
check '[ $r1 -eq 0 ] || [ $r1 -eq 75 ]' "a rejected access token: exit 0 (refreshed) or 75 (exit $r1)"
check '[ $r1 -eq 0 ] || [ $r2 -eq 0 ]' "by the next run at the latest the tool refreshes and works (exits $r1, $r2)"
check '[ "$(grants refresh_token)" -ge 1 ]' "a refresh was made after the 401"
