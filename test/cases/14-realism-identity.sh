# SPDX-License-Identifier: ISC
# Family 14, sign-in and discovery as Microsoft does them: 12 KB access
# tokens through login, calendars, sync, feed and stop; 20 passes each
# refreshing under strict refresh-token rotation; offline_access on every
# refresh; a group calendar chosen after a plain login, without and with
# an administrator's consent; a 401 on a token believed valid (CAE); the
# token endpoint unavailable; a network outage; tokens never sent to a
# host the configuration newly names; a personal Microsoft account.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 5"
export BROWSER="$TOP/test/fake-browser.sh"
ctl POST /_emu/consent '{"admin_revoke":["Group.ReadWrite.All"]}' >/dev/null
ctl POST /_emu/config '{"token_size": [12288, 12288], "strict_refresh": true}' >/dev/null
tokenlen() { db "select length(access_token) from accounts"; }

# ---- 12 KB access tokens all the way ----
trun login
expect_rc 0 "login with 12 KB access tokens"
check '[ "$(tokenlen)" -ge 12000 ]' "the whole 12 KB access token is stored ($(tokenlen) bytes)"
trun calendars
expect_rc 0 "calendars with a 12 KB token"
check '[ "$(nreq "r[\"path\"].startswith(\"/v1.0/\") and r[\"auth_len\"] < 12288")" -eq 0 ] && [ "$(nreq "r[\"path\"].startswith(\"/v1.0/\") and r[\"status\"] == 401")" -eq 0 ]' \
    "every Graph request carried the whole token, none was refused"
run sync
expect_rc 0 "sync with a 12 KB token"
check '[ "$(nblk)" -gt 0 ]' "the sync loaded blocks ($(nblk))"
run feed -n 3
expect_rc 0 "feed"
check '! grep -q "eyJ" "$T/out" "$T/err"' "no token in the feed's output"

# ---- 20 passes, each refreshing, strict rotation ----
i=0 bad=""
while [ $i -lt 20 ]; do
	db "update accounts set access_expires = 0"
	ctl POST /_emu/tokens/expire '{}' >/dev/null
	run -v sync
	[ $rc -eq 0 ] || bad="$bad pass $i: exit $rc;"
	grep -q 'eyJ\|0\.AR\|1\.AR' "$T/err" "$T/out" && bad="$bad pass $i: token in output;"
	i=$((i + 1))
done
check '[ -z "$bad" ]' "20 passes with the access token expired before each all succeed, printing no token$bad"
check '[ "$(ctl GET /_emu/state | python3 -c "import json,sys; print(json.load(sys.stdin)[\"tokens\"][\"refresh_rejected\"])")" -eq 0 ]' \
    "no refresh token was ever refused (each rotated one was stored and used once)"
check '[ "$(nreq "r[\"grant_type\"] == \"refresh_token\" and \"offline_access\" not in (r[\"scope\"] or \"\")")" -eq 0 ] && [ "$(nreq "r[\"grant_type\"] == \"refresh_token\"")" -ge 20 ]' \
    "every refresh asks for offline_access"

# ---- a group calendar chosen after a plain login: no consent ----
grp=$(db "select id from calendars where kind = 'group'")
roles0=$(db "select id, pull, push from calendars order by id")
trun calendars --push "1,$grp"
expect_rc 77 "choosing the Teams calendar without admin consent exits 77"
expect_err 'needs the Group.ReadWrite.All permission.*login --groups.*administrator' "one line says what to do"
check '[ "$(grep -c . "$T/err")" -eq 1 ]' "one line only"
check '[ "$(db "select id, pull, push from calendars order by id")" = "$roles0" ]' "the roles stay as they were"
check '[ "$(db "select needs_login is null from accounts")" = 1 ]' "the account keeps its grant"
check '[ "$(nreq "r[\"grant_type\"] == \"refresh_token\" and \"Group.ReadWrite.All\" in (r[\"scope\"] or \"\") and r[\"status\"] == 400")" -ge 1 ]' \
    "the permission was asked for by incremental consent (a refresh grant), and refused"
run sync
expect_rc 0 "the next pass works as before"

# ---- with an administrator's consent: chosen, named, pushed to ----
ctl POST /_emu/consent '{"admin_grant":["Group.ReadWrite.All"]}' >/dev/null
trun calendars --push "1,$grp"
expect_rc 0 "with admin consent, choosing the Teams calendar works"
expect_err 'group calendar pushes meetings' "a warning that group events are meetings"
check '[ "$(db "select push || limited || name from calendars where id = $grp")" = "10Front Desk Team" ]' "the group calendar pushes and is named now"
check 'db "select scopes from accounts" | grep -q Group.ReadWrite.All' "the group permission is stored"
trun appt add --start "$(d 2)T09:00Z" --end "$(d 2)T09:30Z" --subject "Group push" --force
expect_rc 0 "book an appointment"
run sync
expect_rc 0 "sync pushes to the Teams calendar"
check '[ "$(ctl GET /_emu/state | python3 -c "import json,sys; s=json.load(sys.stdin); print(sum(1 for g in s[\"groups\"] for c in g[\"calendars\"] for e in c[\"events\"] if e.get(\"subject\") == \"Group push\"))")" -eq 1 ]' \
    "the appointment is on the Teams calendar once"

# ---- a 401 on a token believed valid (continuous access evaluation) ----
fault '{"kind":"unauthorized","match":{"method":"GET","path":"calendarView"},"times":1,"revoke":true}'
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "a CAE 401 mid-pass: one refresh, the read sent again, the pass succeeds"
n401=$(nreq "r[\"status\"] == 401") nref=$(grants refresh_token)
check '[ "$n401" -ge 1 ] && [ "$nref" -eq 1 ]' "every round refused with the revoked token ($n401) was redone after one refresh ($nref)"
check '[ ! -s "$T/err" ]' "silently"
nofault
set_fault '{"kind":"unauthorized","match":{"method":"GET","path":"calendarView"},"times":100}'
run sync
expect_rc 75 "a 401 again after the refresh: exit 75"
check '[ "$(grants refresh_token)" -le 2 ]' "only one forced refresh in the pass"
nofault
run sync
expect_rc 0 "the next pass works"

# ---- the token endpoint unavailable: 75, tokens kept ----
rt=$(db "select refresh_token from accounts")
db "update accounts set access_expires = 0"
set_fault '{"kind":"token_error","error":"temporarily_unavailable","error_codes":[50033],"status":503,"times":100}'
run sync
expect_rc 75 "temporarily_unavailable from the token endpoint exits 75"
check '[ "$(db "select refresh_token from accounts")" = "$rt" ] && [ "$(db "select needs_login is null from accounts")" = 1 ]' \
    "the tokens are kept, no login asked for"
nofault

# ---- a network outage: 75, fast ----
cp "$TIMETAP_SYNC_CONFIG" "$T/config.good"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed "s#^graph_url = .*#graph_url = http://127.0.0.1:$port/v1.0#; s#^authority_url = .*#authority_url = http://127.0.0.1:$port#" \
    "$T/config.good" >"$TIMETAP_SYNC_CONFIG"
db "update accounts set authority_url = 'http://127.0.0.1:$port', graph_url = 'http://127.0.0.1:$port/v1.0'"
t0=$(date +%s)
run sync
t1=$(date +%s)
expect_rc 75 "connection refused: exit 75"
check '[ $((t1 - t0)) -le 5 ]' "within seconds ($((t1 - t0)) s)"
expect_err 'next run continues' "the line says it is temporary"
db "update accounts set authority_url = '$EMU', graph_url = '$EMU/v1.0'"
cp "$T/config.good" "$TIMETAP_SYNC_CONFIG"

# ---- tokens never go to a host the configuration newly names ----
E1=$EMU P1=$EMU_PID
emu_start --scenario "$TOP/test/scenarios/demo.json" || exit 1
E2=$EMU EMU=$E1
sed "s#$E1#$E2#g" "$T/config.good" >"$TIMETAP_SYNC_CONFIG"
db "update accounts set access_expires = 0"
for cmd in sync calendars; do
	run $cmd
	expect_rc 77 "$cmd with a changed authority_url and graph_url exits 77"
done
expect_err "issued by $E1 for $E1, but the configuration names $E2" "the line names both hosts"
check '[ "$(curl -sf "$E2/_emu/requests" | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"requests\"]))")" -eq 0 ]' \
    "the new host received no request at all"
kill $EMU_PID 2>/dev/null; wait $EMU_PID 2>/dev/null
EMU_PID=$P1
cp "$T/config.good" "$TIMETAP_SYNC_CONFIG"
run -s default stop -y --purge-remote
expect_rc 0 "with the old hosts back, stop --purge-remote works with the 12 KB token"

# ---- a personal Microsoft account ----
emu POST /_emu/reset "{\"scenario\": $(cat "$TOP/test/scenarios/realism.json")}" >/dev/null
emu POST /_emu/config '{"login_user": "pat@outlook.example"}' >/dev/null
trun -s pat login
expect_rc 0 "a personal account logs in"
expect_out 'personal Microsoft account: no group calendars, no Teams meetings' "login says what it lacks"
check '[ "$(db "select tenant_id from accounts a join profiles p on p.id = a.profile_id where p.name = '"'pat'"'")" = 9188040d-6c67-4c5b-b112-36a304b66dad ]' \
    "the consumer tenant is recorded"
check '[ "$(nreq "r[\"path\"].startswith(\"/v1.0/me/memberOf\")")" -eq 0 ]' "no group listing for a personal account"
trun -s pat appt add --start "$(d 3)T09:00Z" --end "$(d 3)T10:00Z" --subject Call --online
expect_rc 65 "appt add --online is refused for a personal account"
expect_err 'personal Microsoft account, which cannot create Teams meetings' "with the reason"
trun -s pat status --json
check 'python3 -c "import json,sys; a=json.load(open(sys.argv[1])); sys.exit(0 if a[0][\"personal\"] is True and a[0][\"group_permission\"] is False else 1)" "$T/out"' \
    "status --json says personal, no group permission"

# ---- calendars shared by other people: kind shared, with the owner ----
emu POST /_emu/config '{"login_user": "ada@fabrikam.example"}' >/dev/null
trun -s fab login
expect_rc 0 "a work account with calendars shared by others logs in"
trun -s fab calendars --json
cat >"$T/shared.py" <<'PY'
import json, sys
a = {o["name"]: o for o in json.load(open(sys.argv[1]))}
assert a["Calendar"]["kind"] == "user" and a["Calendar"]["owner"] == "ada@fabrikam.example", a["Calendar"]
b, c = a["Bob's calendar"], a["Carol's calendar"]
assert b["kind"] == "shared" and b["owner"] == "bob@fabrikam.example" and b["writable"], b
assert c["kind"] == "shared" and c["owner"] == "carol@fabrikam.example" and not c["writable"], c
g = [o for o in a.values() if o["kind"] == "group"]
assert len(g) == 7 and all(o["needs_permission"] and o["limited"] for o in g), g
PY
check 'python3 "$T/shared.py" "$T/out" 2>"$T/py.err"' "calendars --json: shared calendars with their owners; the seven Teams groups (not the security group) by id"
sed 's/^/# /' "$T/py.err"
trun -s fab calendars
expect_out "Other calendars/Bob's calendar +shared +yes" "the table shows kind shared"
trun -s fab calendars --push "Other calendars/Carol's calendar"
expect_rc 64 "a calendar shared read-only is not a push target"
trun -s fab2 login
expect_rc 0 "a second profile on the same account"
expect_err 'profile fab2: profile fab is connected to the same account \(ada@fabrikam\.example\); both sync its calendars' \
    "warns that two profiles hold one mailbox"
