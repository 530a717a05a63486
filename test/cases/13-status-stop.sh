# Family 13, status and stop: status (and --json) shows the account, the
# cloud, calendars and roles, token health and the last pass, or that a
# profile is not connected; stop asks first (refuses without a terminal
# unless -y), removes every [ext] block, forgets tokens and calendars,
# keeps booked appointments and other profiles, prints a receipt.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 1"
export BROWSER="$TOP/test/fake-browser.sh"
HOSTPORT=${EMU#http://}
TRUN_STDIN=/dev/null

pid() { db "select id from profiles where name = '$1'"; }
count() { db "select count(*) from $1"; }

# ---- status before anything ----
trun status
expect_rc 0 "status on an empty database"
expect_out '^No profiles yet; run `timetap-sync login`\.$' "status says there is no profile yet"
trun status --json
expect_rc 0 "status --json on an empty database"
check '[ "$(tr -d " \n" <"$T/out")" = "[]" ]' "status --json prints an empty array"
trun -s ghost status
expect_rc 65 "status of an unknown profile exits 65"
expect_err 'no profile ghost' "the message names the profile"
trun status --bogus
expect_rc 64 "status with an unknown argument"

# ---- status of a connected profile ----
trun login
[ $rc -eq 0 ] || not_ok "login (exit $rc)"
trun status
expect_rc 0 "status"
check '[ ! -s "$T/err" ]' "status writes nothing on stderr"
expect_out '^Profile: +default$' "status names the profile"
expect_out "^Account: +ada@contoso\.example \(tenant organizations, cloud $HOSTPORT\)$" "status shows account, tenant and cloud"
expect_out '^Token: +last refreshed [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}; access token valid until [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$' \
    "status shows the token health"
expect_out '^Calendars: Calendar \(pull, push\)$' "status shows the calendar with its roles"
expect_no_out 'Clinic rota' "a calendar without a role is not listed in the text"
expect_out '^Last pass: none yet$' "no pass yet"
trun status --json
expect_rc 0 "status --json"
cat >"$T/status.py" <<'EOF'
import json, sys
from datetime import datetime, timezone
a = json.load(open(sys.argv[1]))
o = [p for p in a if p["profile"] == sys.argv[2]][0]
want = sys.argv[3]
def t(s):
    assert s.endswith("Z"), s
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
if want == "connected":
    assert o["connected"] is True
    assert o["account"] == "ada@contoso.example", o["account"]
    assert o["tenant"] == "organizations"
    assert o["cloud"] == sys.argv[4], o["cloud"]
    assert o["needs_login"] is None
    r, e = t(o["last_token_refresh"]), t(o["access_token_expires"])
    now = datetime.now(timezone.utc)
    assert abs((now - r).total_seconds()) < 120, r
    assert 3000 < (e - r).total_seconds() < 3700, (r, e)
    cals = {c["path"]: c for c in o["calendars"]}
    c = cals["Calendar"]
    assert c["pull"] is True and c["push"] is True and c["kind"] == "user" and c["present"] is True
    assert isinstance(c["number"], int)
    r = cals["Other calendars/Clinic rota"]
    assert r["pull"] is False and r["push"] is False
    for k in o:
        assert "token" not in k or k in ("last_token_refresh", "access_token_expires"), k
    assert "access_token" not in o and "refresh_token" not in o
elif want == "pass":
    p = o["last_pass"]
    assert p["exit_code"] == 75 and p["items"] == 12 and p["added"] == 3, p
    assert p["requests"] == 9 and p["message"] == "budget spent", p
    t(p["started"])
else:
    assert o["connected"] is False
    assert "account" not in o or o["account"] is None
EOF
check 'python3 "$T/status.py" "$T/out" default connected "$HOSTPORT"' "status --json: account, tenant, cloud, token times, calendars and roles"

# A recorded pass shows in status.
db "insert into passes (profile_id, started, finished, exit_code, items, added, changed, removed, pushed, deleted, requests, message)
    values ($(pid default), strftime('%s','now') - 60, strftime('%s','now') - 59, 75, 12, 3, 1, 2, 4, 0, 9, 'budget spent')"
trun status
expect_out '^Last pass: .*, failed: 12 items read, 3 blocks added, 1 changed, 2 removed, 4 pushed, 0 deleted, 9 requests$' \
    "status shows the last pass and its counts"
expect_out '^ +exit 75: budget spent$' "status shows why the last pass failed"
trun status --json
check 'python3 "$T/status.py" "$T/out" default pass' "status --json has last_pass"

# A profile that is not connected (it only has a book).
trun -s walkin appt add --start 2030-01-07T09:00 --end 2030-01-07T10:00 --subject "Walk-in"
[ $rc -eq 0 ] || not_ok "appt add on profile walkin (exit $rc)"
trun status
expect_out '^Profile: +walkin \(not connected; run `timetap-sync -s walkin login`\)$' "status shows the profile that is not connected"
expect_out '^Profile: +default$' "and the connected one"
trun -s walkin status
expect_rc 0 "status -s walkin"
expect_no_out '^Profile: +default' "-s shows only that profile"
trun -s walkin status --json
check 'python3 "$T/status.py" "$T/out" walkin not' "status --json: connected false"

# Token health when a login is needed.
db "update accounts set needs_login = 'AADSTS70008 expired' where profile_id = $(pid default)"
trun status
expect_out '^Token: +login needed: AADSTS70008 expired$' "status shows that a login is needed"
db "update accounts set needs_login = null where profile_id = $(pid default)"

# ---- stop: data to remove and data to keep ----
trun -s other login --device-code
[ $rc -eq 0 ] || not_ok "login -s other (exit $rc)"
D=$(pid default)
O=$(pid other)
DC1=$(db "select id from calendars where profile_id = $D and path = 'Calendar'")
DC2=$(db "select id from calendars where profile_id = $D and path = 'Other calendars/Clinic rota'")
OC1=$(db "select id from calendars where profile_id = $O and path = 'Calendar'")
db "INSERT INTO appointments (profile_id, kind, start_utc, end_utc, subject, source_calendar_id, source_event_id, remote_modified) VALUES
      ($D, 'ext', strftime('%s','2030-01-08T13:00:00'), strftime('%s','2030-01-08T14:00:00'), 'Board meeting', $DC1, 'AAMkEv1', '2030-01-01T08:00:00Z'),
      ($D, 'ext', strftime('%s','2030-01-09T13:00:00'), strftime('%s','2030-01-09T14:00:00'), 'Retro', $DC1, 'AAMkEv2', '2030-01-01T08:00:00Z'),
      ($D, 'ext', strftime('%s','2030-01-10T08:00:00'), strftime('%s','2030-01-10T12:00:00'), 'Clinic shift', $DC2, 'AAMkEv3', '2030-01-01T08:00:00Z'),
      ($O, 'ext', strftime('%s','2030-01-08T13:00:00'), strftime('%s','2030-01-08T14:00:00'), 'Other board', $OC1, 'AAMkEv9', '2030-01-01T08:00:00Z');
    INSERT INTO feed (profile_id, calendar_id, calendar, event_id, loaded, info, seen_at, seq) VALUES
      ($D, $DC1, 'Calendar', 'AAMkEv1', 1, 'updated in Teams', strftime('%s','now'), 1),
      ($D, $DC1, 'Calendar', 'AAMkEvFree', 0, 'free', strftime('%s','now'), 2),
      ($O, $OC1, 'Calendar', 'AAMkEv9', 1, 'updated in Teams', strftime('%s','now'), 3);"
trun appt add --start 2030-01-11T09:00 --end 2030-01-11T10:00 --subject "Haircut" --client "Bob"
booked=$(cat "$T/out")
trun appt add --start 2030-01-12T09:00 --end 2030-01-12T10:00 --subject "Colour"
booked2=$(cat "$T/out")
trun appt cancel "$booked2"
db "INSERT INTO pushed (appt_id, calendar_id, txn_id, event_id, version) VALUES ($booked, $DC1, 'txn-1', 'AAMkPushed1', 1)"
check '[ "$(db "select count(*) from appointments where profile_id = $D and kind = '"'ext'"'")" -eq 3 ]' "three [ext] blocks on profile default before stop"

# ---- stop without a terminal and without -y ----
snap=$(db "select count(*) from appointments; select count(*) from accounts; select count(*) from calendars; select count(*) from feed; select count(*) from pushed")
trun stop
expect_rc 64 "stop without a terminal and without -y exits 64"
expect_err 'run it in a terminal, or add -y' "the refusal says how to proceed"
check '[ "$(grep -c . "$T/err")" -eq 1 ]' "one line on stderr"
check '[ ! -s "$T/out" ]' "nothing on stdout"
check '[ "$(db "select count(*) from appointments; select count(*) from accounts; select count(*) from calendars; select count(*) from feed; select count(*) from pushed")" = "$snap" ]' \
    "nothing was removed"
trun stop --force
expect_rc 64 "stop with an unknown option"
trun stop -y extra
expect_rc 64 "stop with an unexpected argument"
check '[ "$(db "select count(*) from accounts")" -eq 2 ]' "still two accounts"

# ---- stop on a terminal: "n" keeps everything ----
printf 'n\n' | timeout 20 script -qec "'$BIN' stop" /dev/null >"$T/tty.out" 2>&1
rc=$?
check '[ $rc -eq 0 ]' "answering n on a terminal exits 0 (exit $rc)"
check 'grep -q "Stop syncing profile default with ada@contoso.example?" "$T/tty.out"' "stop asks, naming the profile and the account"
check 'grep -q "\[y/N\]" "$T/tty.out"' "the default answer is no"
check 'grep -q "Nothing changed" "$T/tty.out"' "answering n says nothing changed"
check '[ "$(db "select count(*) from appointments; select count(*) from accounts; select count(*) from calendars; select count(*) from feed; select count(*) from pushed")" = "$snap" ]' \
    "answering n removes nothing"

# ---- stop -y ----
rt=$(db "select refresh_token from accounts where profile_id = $D")
trun stop -y
expect_rc 0 "stop -y"
check '[ ! -s "$T/err" ]' "nothing on stderr"
expect_out '^Stopped the sync of profile default with ada@contoso\.example\.$' "the receipt names the profile and the account"
expect_out '^Removed 3 \[ext\] blocks and 2 feed entries; forgot the tokens and 3 calendars\.$' "the receipt counts what was removed"
expect_out '^1 pushed event' "the receipt says the pushed event stays on Microsoft 365"
expect_out 'myapps\.microsoft\.com' "the receipt says where to withdraw the app's access"
check '[ "$(db "select count(*) from accounts where profile_id = $D")" -eq 0 ]' "the account row (and its tokens) is gone"
check '[ "$(db "select count(*) from calendars where profile_id = $D")" -eq 0 ]' "the calendars are forgotten"
check '[ "$(db "select count(*) from appointments where profile_id = $D and kind = '"'ext'"'")" -eq 0 ]' "every [ext] block is removed"
check '[ "$(db "select count(*) from feed where profile_id = $D")" -eq 0 ]' "the feed is cleared"
check '[ "$(db "select count(*) from pushed")" -eq 0 ]' "the push mapping is cleared"
check '[ "$(db "select count(*) from passes where profile_id = $D")" -eq 0 ]' "the pass history is cleared"
check '[ "$(db "select subject || '"'|'"' || coalesce(client, '"''"') || '"'|'"' || status from appointments where id = $booked")" = "Haircut|Bob|booked" ]' \
    "the booked appointment is kept as it was"
check '[ "$(db "select status from appointments where id = $booked2")" = cancelled ]' "the cancelled appointment is kept"
check '[ "$(db "select count(*) from appointments where profile_id = $D and kind = '"'booked'"'")" -eq 2 ]' "only booked appointments remain"
check '! grep -qaF -- "$rt" "$TIMETAP_SYNC_DB"*' "the refresh token is not left in the database files"
# The other profile is untouched.
check '[ "$(db "select count(*) from accounts where profile_id = $O")" -eq 1 ]' "the other profile stays connected"
check '[ "$(db "select count(*) from appointments where profile_id = $O and kind = '"'ext'"'")" -eq 1 ]' "the other profile's [ext] block stays"
check '[ "$(db "select count(*) from feed where profile_id = $O")" -eq 1 ]' "the other profile's feed stays"
check '[ "$(db "select count(*) from calendars where profile_id = $O")" -eq 3 ]' "the other profile's calendars stay (two own, the Teams group)"
trun appt list --from 2030-01-01 --to 2030-02-01
expect_out 'Haircut' "the book still lists the appointment"
expect_no_out 'Board meeting|Retro|Clinic shift' "the book lists no [ext] block of the stopped profile"

# ---- after stop ----
trun status
expect_out '^Profile: +default \(not connected; run `timetap-sync -s default login`\)$' "status shows the profile as not connected"
expect_out '^Profile: +other$' "the other profile is still shown connected"
trun -s default status --json
check 'python3 "$T/status.py" "$T/out" default not' "status --json: connected false after stop"
trun calendars
expect_rc 77 "calendars after stop exits 77"
trun stop -y
expect_rc 65 "stop on a profile that is not connected exits 65"
expect_err 'profile default is not connected; nothing to stop' "the message says there is nothing to stop"
trun -s walkin stop -y
expect_rc 65 "stop on a profile that never connected exits 65"
check '[ "$(db "select count(*) from appointments where profile_id = $(pid walkin)")" -eq 1 ]' "its book is untouched"
trun -s ghost stop -y
expect_rc 65 "stop on an unknown profile exits 65"
check '[ -z "$(pid ghost)" ]' "stop does not create a profile"

# A login after stop starts like the first one.
trun login
expect_rc 0 "login after stop"
check '[ "$(db "select pull || push from calendars where profile_id = $D and is_default = 1")" = 11 ]' "the defaults apply again"

# ---- stop on a terminal: "y" ----
printf 'y\n' | timeout 20 script -qec "'$BIN' -s other stop" /dev/null >"$T/tty.out" 2>&1
rc=$?
check '[ $rc -eq 0 ]' "answering y on a terminal exits 0 (exit $rc)"
check 'grep -q "Stopped the sync of profile other" "$T/tty.out"' "answering y stops"
check '[ "$(db "select count(*) from accounts where profile_id = $O")" -eq 0 ]' "the other profile is disconnected"

# ---- the man page documents status and stop, and revoking access ----
man="$TOP/man/timetap-sync.1"
check 'grep -q "^\.It Cm status" "$man"' "the man page documents status"
check 'grep -q "^\.It Cm stop" "$man"' "the man page documents stop"
check 'grep -qi "myapps\.microsoft\.com\|consent" "$man"' "the man page explains how to withdraw the app's consent"
