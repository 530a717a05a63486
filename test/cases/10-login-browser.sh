# SPDX-License-Identifier: ISC
# Family 10, login: the browser sign-in (authorization code + PKCE on a
# loopback redirect) completing without a person; what is stored; the
# scopes asked for; default roles; file modes; state and error answers.
. "$TOP/test/lib.sh"

emu_setup demo
export BROWSER="$TOP/test/fake-browser.sh"
# A tenant whose administrator has not consented to Group.ReadWrite.All
# (granted again before the --groups part below).
ctl POST /_emu/consent '{"admin_revoke":["Group.ReadWrite.All"]}' >/dev/null

# The emulator's request log, one line per request, query decoded:
# METHOD PATH?QUERY STATUS GRANT_TYPE
reqlog() {
	emu GET /_emu/requests | python3 -c '
import json, sys
from urllib.parse import unquote
for r in json.load(sys.stdin)["requests"]:
    q = unquote(r["query"] or "")
    print(r["method"], r["path"] + ("?" + q if q else ""), r["status"],
          r["grant_type"] or "-")
' >"$T/log"
}
now=$(date +%s)

# ---- the plain browser login ----
trun login
expect_rc 0 "browser login completes without a person"
expect_out '^Connected profile default to ada@contoso\.example\.$' "login names the account"
expect_out "^  $EMU/organizations/oauth2/v2\.0/authorize\?" "login prints the sign-in address"
expect_out 'code_challenge_method=S256' "the address asks for S256 PKCE"
expect_out 'code_challenge=[A-Za-z0-9_-]{43}(&|$)' "the challenge is 43 base64url characters"
expect_out 'redirect_uri=http%3A%2F%2Flocalhost%3A[0-9]+(&|$)' "the redirect is http://localhost on a port"
check '[ ! -s "$T/err" ]' "a successful login writes nothing on stderr"
reqlog
check '[ "$(grep -c "^GET /organizations/oauth2/v2.0/authorize?" "$T/log")" -eq 1 ]' "one /authorize request"
check 'grep -q "^GET /organizations/oauth2/v2.0/authorize?.*scope=offline_access openid profile User.Read Calendars.ReadWrite MailboxSettings.Read&" "$T/log"' \
    "/authorize asks for offline_access openid profile User.Read Calendars.ReadWrite MailboxSettings.Read"
check '! grep -q "authorize?.*Group.ReadWrite.All" "$T/log"' "no Group.ReadWrite.All without --groups"
check 'grep -q "^GET /organizations/oauth2/v2.0/authorize?.*state=[A-Za-z0-9_-]\{16,\}" "$T/log"' "/authorize carries a state"
check '[ "$(grep -c "^POST /organizations/oauth2/v2.0/token 200 authorization_code$" "$T/log")" -eq 1 ]' \
    "the code is redeemed once, and the emulator accepted the PKCE verifier"
check '! grep -q " refresh_token$" "$T/log"' "no refresh right after login"
check 'grep -q "^GET /v1.0/me 200" "$T/log"' "the account is read from /me"

check '[ "$(db "select upn from accounts")" = ada@contoso.example ]' "the account is stored"
check '[ "$(db "select count(*) from accounts")" -eq 1 ]' "one account row"
scopes=$(db "select scopes from accounts")
check 'case " $scopes " in *" Calendars.ReadWrite "*) true;; *) false;; esac' "stored scopes have Calendars.ReadWrite ($scopes)"
check 'case " $scopes " in *" User.Read "*) true;; *) false;; esac' "stored scopes have User.Read"
check 'case "$scopes" in *Group.ReadWrite.All*) false;; *) true;; esac' "stored scopes lack Group.ReadWrite.All"
check '[ "$(db "select tenant from accounts")" = organizations ]' "the tenant is stored"
check '[ "$(db "select authority_url from accounts")" = "$EMU" ]' "the cloud (authority) is stored"
check '[ "$(db "select graph_url from accounts")" = "$EMU/v1.0" ]' "the Graph root is stored"
check '[ -n "$(db "select refresh_token from accounts where length(refresh_token) > 20")" ]' "a refresh token is stored"
check '[ -n "$(db "select access_token from accounts where length(access_token) > 20")" ]' "an access token is stored"
check '[ "$(db "select access_expires from accounts")" -gt $((now + 3000)) ]' "the access token expiry is stored (about an hour)"
check '[ "$(db "select needs_login is null from accounts")" = 1 ]' "no login needed after login"
uid=$(emu GET /_emu/state | python3 -c 'import json,sys; print([u["id"] for u in json.load(sys.stdin)["users"] if u["upn"]=="ada@contoso.example"][0])')
check '[ "$(db "select user_id from accounts")" = "$uid" ]' "the user id from /me is stored"

# Default roles: the default calendar pulls and pushes, nothing else.
check '[ "$(db "select pull || push from calendars where path = '"'Calendar'"'")" = 11 ]' "default calendar: pull and push"
check '[ "$(db "select pull || push from calendars where path = '"'Other calendars/Clinic rota'"'")" = 00 ]' "sub-calendar: no roles"
check '[ "$(db "select count(*) from calendars where kind = '"'user'"'")" -eq 2 ]' "both calendars discovered"
check '[ "$(db "select count(*) || limited from calendars where kind = '"'group'"'")" = 11 ]' \
    "the Teams group is discovered through memberOf without the group permission, by id (limited information)"
reqlog
check 'grep -q "^GET /v1.0/me/memberOf/microsoft.graph.group?.*\$count=true.* 200 " "$T/log"' "memberOf is read with \$count=true"
check '[ "$(nreq "r[\"path\"].startswith(\"/v1.0/me/memberOf\") and r[\"consistency_level\"] == \"eventual\"")" -ge 1 ] && [ "$(nreq "r[\"path\"].startswith(\"/v1.0/me/memberOf\") and r[\"consistency_level\"] != \"eventual\"")" -eq 0 ]' \
    "every memberOf request carries ConsistencyLevel: eventual"

# Files: database 0600 in a 0700 directory; lock 0600; nothing readable by others.
check '[ "$(stat -c %a "$TIMETAP_SYNC_DB")" = 600 ]' "database mode 0600 after login"
check '[ "$(stat -c %a "$(dirname "$TIMETAP_SYNC_DB")")" = 700 ]' "database directory mode 0700"
check '[ "$(stat -c %a "$TIMETAP_SYNC_DB.locks")" = 700 ] && [ "$(stat -c %a "$TIMETAP_SYNC_DB.locks/default")" = 600 ]' "the profile's lock file mode 0600, in a 0700 directory"
check '[ -z "$(find "$(dirname "$TIMETAP_SYNC_DB")" -perm /077)" ]' "no file next to the database is open to others"

# ---- logging in again replaces the tokens, keeps chosen roles ----
rt1=$(db "select refresh_token from accounts")
db "update calendars set pull = 1, push = 0 where path = 'Other calendars/Clinic rota';
    update calendars set pull = 0, push = 1 where path = 'Calendar'"
emu DELETE /_emu/requests >/dev/null
trun login
expect_rc 0 "a second login works"
check '[ "$(db "select refresh_token from accounts")" != "$rt1" ]' "the second login stores new tokens"
check '[ "$(db "select count(*) from accounts")" -eq 1 ]' "still one account row"
check '[ "$(db "select count(*) from calendars")" -eq 3 ]' "no duplicate calendar rows"
check '[ "$(db "select pull || push from calendars where path = '"'Other calendars/Clinic rota'"'")" = 10 ]' \
    "roles chosen before are kept (sub-calendar pull)"
check '[ "$(db "select pull || push from calendars where path = '"'Calendar'"'")" = 01 ]' \
    "roles chosen before are kept (default calendar push only)"

# ---- login --groups asks for Group.ReadWrite.All and names group calendars ----
ctl POST /_emu/consent '{"admin_grant":["Group.ReadWrite.All"]}' >/dev/null
emu DELETE /_emu/requests >/dev/null
trun login --groups
expect_rc 0 "login --groups"
reqlog
check 'grep -q "^GET /organizations/oauth2/v2.0/authorize?.*scope=offline_access openid profile User.Read Calendars.ReadWrite MailboxSettings.Read Group.ReadWrite.All&" "$T/log"' \
    "--groups adds Group.ReadWrite.All to /authorize"
check 'db "select scopes from accounts" | grep -q "Group.ReadWrite.All"' "the group scope is stored"
check '[ "$(db "select path from calendars where kind = '"'group'"'")" = "Front Desk Team (group)" ]' \
    "the Microsoft 365 group calendar is named once the permission is granted"
check '[ "$(db "select limited from calendars where kind = '"'group'"'")" = 0 ]' "no longer limited"
check '[ "$(db "select count(*) from calendars where path like '"'All staff%'"'")" -eq 0 ]' "a security group is not a calendar"

# ---- a browser that also asks for /favicon.ico first: the wait goes on ----
cat >"$T/browser-favicon" <<EOF
#!/bin/sh
r=\$(printf '%s' "\$1" | sed -n 's/.*[?&]redirect_uri=\([^&]*\).*/\1/p' | sed 's/%3A/:/g; s/%2F/\//g')
curl -s -o /dev/null --max-time 5 "\$r/favicon.ico"
exec "$TOP/test/fake-browser.sh" "\$1"
EOF
chmod +x "$T/browser-favicon"
BROWSER="$T/browser-favicon" trun -s favicon login
expect_rc 0 "a stray request on the loopback port does not end the wait"
check '[ "$(db "select upn from accounts a join profiles p on p.id = a.profile_id where p.name = '"'favicon'"'")" = ada@contoso.example ]' \
    "the profile is connected"

# ---- a forged state is refused ----
cat >"$T/browser-badstate" <<'EOF'
#!/bin/sh
loc=$(curl -s -o /dev/null -w '%{redirect_url}' --max-time 10 "$1")
loc=$(printf '%s' "$loc" | sed 's/\([?&]\)state=[^&]*/\1state=forged/')
exec curl -s -o /dev/null --max-time 10 "$loc"
EOF
chmod +x "$T/browser-badstate"
BROWSER="$T/browser-badstate" trun -s forged login
expect_rc 77 "an answer with a wrong state is refused"
expect_err 'wrong state' "the refusal says why"
check '[ "$(db "select count(*) from accounts a join profiles p on p.id = a.profile_id where p.name = '"'forged'"'")" -eq 0 ]' \
    "nothing is stored for the refused sign-in"

# ---- the identity platform answers with an error ----
cat >"$T/browser-deny" <<'EOF'
#!/bin/sh
r=$(printf '%s' "$1" | sed -n 's/.*[?&]redirect_uri=\([^&]*\).*/\1/p' | sed 's/%3A/:/g; s/%2F/\//g')
s=$(printf '%s' "$1" | sed -n 's/.*[?&]state=\([^&]*\).*/\1/p')
exec curl -s -o /dev/null --max-time 10 "$r/?error=access_denied&error_description=AADSTS65004%3A+The+user+declined&state=$s"
EOF
chmod +x "$T/browser-deny"
BROWSER="$T/browser-deny" trun -s denied login
expect_rc 77 "a declined consent exits 77"
expect_err 'sign-in refused: access_denied' "the refusal names the error"
check '[ "$(grep -c . "$T/err")" -eq 1 ]' "one line on stderr"

# ---- no browser at all: the printed address is followed by someone else ----
unset BROWSER DISPLAY WAYLAND_DISPLAY
timeout 60 "$BIN" -s headless login >"$T/hl.out" 2>"$T/hl.err" &
hl=$!
i=0
url=""
while [ $i -lt 100 ] && [ -z "$url" ]; do
	url=$(sed -n 's/^  \(http.*authorize?.*\)$/\1/p' "$T/hl.out")
	[ -z "$url" ] && sleep 0.1
	i=$((i + 1))
done
check '[ -n "$url" ]' "without a browser the address is printed"
[ -n "$url" ] && curl -s -L --max-time 20 -o /dev/null "$url"
wait $hl
rc=$?
check '[ "$rc" -eq 0 ]' "following the printed address completes the login (exit $rc)"
check 'grep -q "^Connected profile headless to ada@contoso.example.$" "$T/hl.out"' "the headless login names the account"
check 'grep -q "timetap-sync -s headless calendars" "$T/hl.out"' "the hint names the profile"
export BROWSER="$TOP/test/fake-browser.sh"

# ---- a profile signed in to another account: refused unless asked ----
emu POST /_emu/config '{"login_user": "grace@contoso.example"}' >/dev/null
rt_ada=$(db "select refresh_token from accounts where profile_id = 1")
blk_ada=$(db "select count(*) from calendars where profile_id = 1")
trun login
expect_rc 65 "a sign-in as another account on a connected profile is refused (exit 65)"
expect_err 'profile default is connected to ada@contoso\.example, but this sign-in was grace@contoso\.example; nothing changed.*--switch-account' \
    "one line names both accounts and the option"
check '[ "$(db "select upn from accounts where profile_id = 1")" = ada@contoso.example ] && [ "$(db "select refresh_token from accounts where profile_id = 1")" = "$rt_ada" ]' \
    "the profile keeps ada's account and tokens"
check '[ "$(db "select count(*) from calendars where profile_id = 1")" = "$blk_ada" ]' "and its calendars"
trun login --switch-account
expect_rc 0 "login --switch-account replaces the account"
expect_out '^Replaced ada@contoso\.example on profile default' "it says what it replaced"
check '[ "$(db "select upn from accounts where profile_id = 1")" = grace@contoso.example ]' "the new account is stored"
graceid=$(emu GET /_emu/state | python3 -c 'import json,sys; print([c["id"] for u in json.load(sys.stdin)["users"] if u["upn"]=="grace@contoso.example" for c in u["calendars"]][0])')
check '[ "$(db "select pull || push from calendars where profile_id = 1 and remote_id = '"'$graceid'"'")" = 11 ]' \
    "the new account's default calendar gets pull and push"
check '[ "$(db "select count(*) from calendars where profile_id = 1 and present = 1 and (pull or push) and remote_id != '"'$graceid'"'")" -eq 0 ]' \
    "no role stays on a calendar of the old account"
