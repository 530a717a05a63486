# SPDX-License-Identifier: ISC
# Family 13, the locks: while another process holds a profile's lock,
# calendars, login, sync and stop of that profile exit 75 at once with a
# one-line message and change nothing; status still reads; afterwards
# everything works.  Profiles lock apart (issue 13): while one profile is
# held -- a login waiting for a person -- another profile syncs, and a
# sync of every profile passes the free ones and names the held one.
. "$TOP/test/lib.sh"

emu_setup demo
export BROWSER="$TOP/test/fake-browser.sh"
TRUN_STDIN=/dev/null

ms() { date +%s%3N; }

trun login
[ $rc -eq 0 ] || not_ok "login (exit $rc)"
snap=$(db "select refresh_token, access_token, access_expires from accounts; select id, pull, push from calendars")

flock "$TIMETAP_SYNC_DB.locks/default" sleep 4 &
holder=$!
i=0
while [ $i -lt 50 ] && flock -n "$TIMETAP_SYNC_DB.locks/default" true; do sleep 0.05; i=$((i + 1)); done
check '! flock -n "$TIMETAP_SYNC_DB.locks/default" true' "the test holds the lock"
emu DELETE /_emu/requests >/dev/null

t0=$(ms)
trun calendars
t1=$(ms)
expect_rc 75 "calendars while the lock is held exits 75"
check '[ $((t1 - t0)) -lt 1500 ]' "it exits at once ($((t1 - t0)) ms)"
check '[ "$(grep -c . "$T/err")" -eq 1 ]' "a one-line message"
expect_err '^timetap-sync: another timetap-sync run is using profile default of .*timetap\.db; try again later$' "the message says another run holds the profile"
check '[ ! -s "$T/out" ]' "nothing on stdout"
trun calendars --pull 2
expect_rc 75 "setting roles while the lock is held exits 75"
t0=$(ms)
trun login
t1=$(ms)
expect_rc 75 "login while the lock is held exits 75"
check '[ $((t1 - t0)) -lt 1500 ]' "login exits at once ($((t1 - t0)) ms)"
trun stop -y
expect_rc 75 "stop -y while the lock is held exits 75"
expect_err 'another timetap-sync run' "stop says why"
check '[ ! -s "$T/out" ]' "stop prints no receipt"
check '[ "$(nreq)" -eq 0 ]' "nothing was sent to the emulator while locked"
check '[ "$(db "select refresh_token, access_token, access_expires from accounts; select id, pull, push from calendars")" = "$snap" ]' \
    "nothing changed in the store while locked"
trun status
expect_rc 0 "status still works while the lock is held"
expect_out '^Account: +ada@contoso\.example' "status shows the account"

wait $holder
trun calendars
expect_rc 0 "calendars works once the lock is released"
trun calendars --pull 2
expect_rc 0 "roles can be set once the lock is released"

# Two runs at once: one works, the other exits 75 at once.
emu POST /_emu/config '{"latency_ms": 300}' >/dev/null
timeout 60 "$BIN" calendars >"$T/a.out" 2>"$T/a.err" &
a=$!
sleep 0.3
timeout 60 "$BIN" calendars >"$T/b.out" 2>"$T/b.err"
rb=$?
wait $a
ra=$?
check '[ $ra -eq 0 ] && [ $rb -eq 75 ]' "two concurrent runs: the first works, the second exits 75 (exits $ra, $rb)"
check 'grep -q "another timetap-sync run" "$T/b.err"' "the second says why"

# Profiles lock apart.
ctl POST /_emu/config '{"login_user": "grace@contoso.example"}' >/dev/null
trun -s grace login
expect_rc 0 "a second profile, grace"
flock "$TIMETAP_SYNC_DB.locks/default" sleep 6 &
holder=$!
i=0
while [ $i -lt 50 ] && flock -n "$TIMETAP_SYNC_DB.locks/default" true; do sleep 0.05; i=$((i + 1)); done
check '! flock -n "$TIMETAP_SYNC_DB.locks/default" true' "the test holds default's lock"
t0=$(ms)
trun -s default sync
t1=$(ms)
expect_rc 75 "a second pass of default exits 75"
check '[ $((t1 - t0)) -lt 1500 ] && [ "$(grep -c . "$T/err")" -eq 1 ]' "at once, in one line ($((t1 - t0)) ms)"
expect_err '^timetap-sync: another timetap-sync run is using profile default of .*; try again later$' "naming the profile"
trun -s grace sync
expect_rc 0 "grace syncs while default is held"
expect_silent "silently"
trun -s grace calendars --cached
expect_rc 0 "and its calendars can be listed"
trun sync
expect_rc 75 "a sync of every profile while default is held exits 75"
check '[ "$(grep -c . "$T/err")" -eq 1 ] && grep -q "profile default" "$T/err"' "one line, naming default"
check '[ "$(db "SELECT count(*) FROM passes p JOIN profiles f ON f.id = p.profile_id WHERE f.name = '"'"'grace'"'"'")" -ge 2 ]' "grace was passed all the same"
wait $holder

# A login waiting for a person holds only its own profile.
emu POST /_emu/config '{"latency_ms": 0}' >/dev/null
BROWSER=true timeout 60 "$BIN" -s grace login --browser >"$T/l.out" 2>"$T/l.err" &
lpid=$!
i=0
while [ $i -lt 600 ] && flock -n "$TIMETAP_SYNC_DB.locks/grace" true; do sleep 0.05; i=$((i + 1)); done
check '! flock -n "$TIMETAP_SYNC_DB.locks/grace" true' "a login waiting for the browser holds grace's lock"
trun -s default sync
expect_rc 0 "default syncs meanwhile"
trun -s grace sync
expect_rc 75 "a pass of grace waits for the next run"
kill $lpid 2>/dev/null
wait $lpid 2>/dev/null
trun -s grace sync
expect_rc 0 "once the login is gone, grace syncs"
