# SPDX-License-Identifier: ISC
# Family 50, many staff (issue 13).  Shards: with --shard K/N, N runs
# pass every profile exactly once, the same ones each time; bad values
# and --shard with -s are usage errors.  The appointments table is the
# integration point and stays writable while passes run.  Ten profiles,
# each a staff member with busy events and booked appointments; while a
# multi-profile sync passes them all (several times, with Outlook edits
# in between so that every pass writes blocks), another process -- the
# booking application, with a busy timeout as an application sets one --
# inserts and edits appointments without pause.  Neither side ever fails:
# the profile list and every calendar list are read whole before a
# profile syncs, so no read transaction spans a pass.
. "$TOP/test/lib.sh"

N=10
python3 - "$N" >"$T/staff.json" <<'PY'
import json, sys
n = int(sys.argv[1])
users = []
for i in range(n):
    users.append({"upn": "staff%d@contoso.example" % i, "displayName": "Staff %d" % i,
                  "calendars": [{"name": "Calendar", "default": True}],
                  "events": [{"subject": "Busy %d.%d" % (i, k), "start": "+%dd%02d:00" % (k + 1, 8 + i % 8),
                              "end": "+%dd%02d:30" % (k + 1, 8 + i % 8), "showAs": "busy"}
                             for k in range(6)]})
print(json.dumps({"tenant": "contoso.example", "users": users}))
PY
emu_start --scenario "$T/staff.json"
emu_config "retry_budget = 5"
i=0
bad=0
while [ $i -lt $N ]; do
	ctl POST /_emu/config "{\"login_user\": \"staff$i@contoso.example\"}" >/dev/null
	BROWSER="$TOP/test/fake-browser.sh" "$BIN" -s "staff$i" login >/dev/null 2>"$T/err" || bad=$((bad + 1))
	"$BIN" -s "staff$i" appt add --start "$(d 2)T0$((i % 8 + 1)):00Z" --end "$(d 2)T0$((i % 8 + 1)):45Z" --subject "Client $i" >/dev/null 2>&1 || bad=$((bad + 1))
	i=$((i + 1))
done
check '[ "$bad" -eq 0 ]' "ten staff profiles logged in, each with a booked appointment"
run sync
expect_rc 0 "a first pass over the ten profiles"
check '[ "$(nblk)" -eq $((N * 6)) ]' "every staff member's busy events are blocks ($(nblk))"

# Shards, from the summary lines of -v (one per profile passed).
for n in 1 2 3 4 7; do
	: >"$T/shards"
	k=1
	while [ $k -le $n ]; do
		"$BIN" -v sync --shard "$k/$n" 2>&1 >/dev/null |
		    sed -n 's/^timetap-sync: profile \([^:]*\): [0-9]* items read.*/\1/p' >"$T/shard.$k"
		cat "$T/shard.$k" >>"$T/shards"
		k=$((k + 1))
	done
	check '[ "$(sort -u "$T/shards" | wc -l)" -eq $N ] && [ "$(wc -l <"$T/shards")" -eq $N ]' \
	    "$n shards pass each of the $N profiles exactly once"
	[ $n -eq 3 ] && cp "$T/shard.2" "$T/shard.3of2"
done
"$BIN" -v sync --shard 2/3 2>&1 >/dev/null | sed -n 's/^timetap-sync: profile \([^:]*\): [0-9]* items read.*/\1/p' >"$T/again"
check 'cmp -s "$T/again" "$T/shard.3of2" && [ -s "$T/again" ]' "a shard passes the same profiles each time ($(tr '\n' ' ' <"$T/again"))"
for bad in 0/3 4/3 3 a/b 1/0 1/1001 "1/2x"; do
	run sync --shard "$bad"
	expect_rc 64 "--shard $bad is a usage error"
done
expect_err "^timetap-sync: sync: --shard wants K/N with 1 <= K <= N <= 1000, not '1/2x'" "naming what it wants"
run -s staff1 sync --shard 1/2
expect_rc 64 "--shard with -s is a usage error"

# The booking application: inserts and edits appointments of every staff
# member, far in the future (outside the window: no push), for as long as
# the file $T/writing exists; every failure is counted.
: >"$T/writing"
python3 - "$TIMETAP_SYNC_DB" "$T/writing" "$T/writer" <<'PY' &
import os, sqlite3, sys, time
db, flag, out = sys.argv[1:4]
con = sqlite3.connect(db, timeout=10, isolation_level=None)
ok = fail = 0
errors = []
start = 2000000000
t_end = time.time() + 240
while os.path.exists(flag) and time.time() < t_end:
    try:
        con.execute("BEGIN IMMEDIATE")
        for pid, in con.execute("SELECT id FROM profiles ORDER BY id").fetchall():
            start += 3600
            con.execute("INSERT INTO appointments (profile_id, start_utc, end_utc, subject)"
                        " VALUES (?, ?, ?, 'From the booking app')", (pid, start, start + 1800))
            con.execute("UPDATE appointments SET client = 'edited', version = version + 1,"
                        " updated_at = strftime('%s', 'now') WHERE id = (SELECT max(id)"
                        " FROM appointments WHERE profile_id = ? AND kind = 'booked')", (pid,))
        con.execute("COMMIT")
        ok += 1
    except sqlite3.Error as e:
        fail += 1
        errors.append(str(e))
        try:
            con.execute("ROLLBACK")
        except sqlite3.Error:
            pass
    time.sleep(0.005)
with open(out, "w") as f:
    f.write("%d %d %s\n" % (ok, fail, "; ".join(sorted(set(errors)))[:300]))
PY
WPID=$!
passes_bad=0
k=0
while [ $k -lt 4 ]; do
	j=0
	while [ $j -lt $N ]; do
		outlook "{\"user\":\"staff$j@contoso.example\",\"op\":\"add\",\"event\":{\"subject\":\"New $k.$j\",\"start\":\"+$((k + 3))d15:00\",\"end\":\"+$((k + 3))d16:00\",\"showAs\":\"busy\"}}"
		j=$((j + 1))
	done
	# Two of the passes run four profiles at once (--jobs 4).
	jobs=""
	[ $k -ge 2 ] && jobs="--jobs 4"
	"$BIN" sync $jobs >/dev/null 2>"$T/err$k" || { passes_bad=$((passes_bad + 1)); sed 's/^/# /' "$T/err$k" | head -3; }
	k=$((k + 1))
done
rm -f "$T/writing"
wait "$WPID"
read -r wok wfail wwhy <"$T/writer"
check '[ "$passes_bad" -eq 0 ]' "four multi-profile passes (two with --jobs 4), each writing blocks, all exit 0 while the booking application writes"
check '[ "$wok" -gt 10 ] && [ "$wfail" -eq 0 ]' "the booking application's $wok transactions all committed ($wfail failed${wwhy:+: $wwhy})"
check '[ "$(nblk)" -eq $((N * 10)) ]' "every new busy event became a block ($(nblk) of $((N * 10)))"
check '[ "$(db "SELECT count(*) FROM appointments WHERE subject = '"'"'From the booking app'"'"'")" -eq $((wok * N)) ]' \
    "every appointment the application inserted is in the book"
run sync
expect_rc 0 "a pass after it"
expect_silent "and it is silent"

# --jobs: every profile passed, in parallel; one failing profile stops
# no other; the exit status is the most serious; bad values refused.
before=$(db "SELECT count(*) FROM passes")
db "UPDATE accounts SET refresh_token = 'revoked-by-the-test', access_token = NULL, access_expires = 0 WHERE upn = 'staff3@contoso.example'"
ctl POST /_emu/config '{"latency_ms": 100}' >/dev/null
t0=$(date +%s%N)
run sync --jobs 5
t1=$(date +%s%N)
expect_rc 77 "sync --jobs 5 with one profile's grant gone exits 77"
check '[ "$(grep -c . "$T/err")" -eq 1 ] && grep -q "profile staff3" "$T/err"' "one line, naming that profile"
check '[ "$(db "SELECT count(*) FROM passes")" -eq $((before + N)) ]' "every profile was passed ($(($(db "SELECT count(*) FROM passes") - before)) of $N)"
check '[ "$(db "SELECT count(*) FROM passes WHERE id > '"$before"' AND exit_code = 0")" -eq $((N - 1)) ]' "the nine others passed with exit 0"
echo "# --jobs 5, 10 profiles, 100 ms latency: $(( (t1 - t0) / 1000000 )) ms"
for bad in 0 65 x -1; do
	run sync --jobs "$bad"
	expect_rc 64 "--jobs $bad is a usage error"
done

# The service unreachable: every profile fails fast (each handle gives
# up after two quick tries), one line per profile, exit 75; nothing lost.
nblk0=$(nblk)
emu_stop
t0=$(date +%s%N)
run sync --jobs 5
t1=$(date +%s%N)
expect_rc 77 "with the service unreachable, sync --jobs 5 exits 77: the most serious, the revoked profile's"
check '[ "$(grep -c "Couldn.t connect" "$T/err")" -eq $((N - 1)) ] && [ "$(grep -c . "$T/err")" -eq $N ]' "one line for each profile ($(grep -c . "$T/err") lines)"
expect_err '^timetap-sync: profile staff3 needs a new login .*; run `timetap-sync -s staff3 login`$' "the revoked profile's line names its own login"
check '[ "$(nblk)" -eq "$nblk0" ]' "no block was lost"
echo "# unreachable: $N profiles failed in $(( (t1 - t0) / 1000000 )) ms with --jobs 5"
t0=$(date +%s%N)
run sync
t1=$(date +%s%N)
expect_rc 77 "and one after another, the same"
echo "# unreachable: $N profiles failed in $(( (t1 - t0) / 1000000 )) ms one after another"
