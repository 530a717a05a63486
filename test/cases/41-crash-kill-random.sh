# SPDX-License-Identifier: ISC
# Family 41, crash safety under kill -9 at random moments of a large first
# sync: a 2000-event mailbox, three pull calendars, two push calendars and
# 200 booked appointments.  Eight times, `sync` is started and killed with
# SIGKILL after a random 0.05-0.6 s, then four more times at a random
# moment of the push (it runs after the pull, which takes longer than 0.6 s
# here); then two clean passes.  The book's
# [ext] blocks and the calendars must equal a reference made from a clean
# database against the same mailbox (regenerated: same content, new ids):
# no lost block, no duplicate event, every appointment exactly once on each
# push calendar.  The RNG is seeded (KILL_SEED).
. "$TOP/test/lib.sh"

seed=${KILL_SEED:-777}
echo "# seed $seed"

emu_start --generate 2000 || exit 1
emu_config "retry_budget = 60"

setup() {
	export TIMETAP_SYNC_DB="$T/$1/timetap.db"
	mkdir -p -m 700 "$T/$1"
	BROWSER="$TOP/test/fake-browser.sh" run login --groups
	expect_rc 0 "$1: login --groups"
	grp=$(db "SELECT id FROM calendars WHERE kind = 'group'")
	run calendars --cached --pull 1,2,$grp --push 1,$grp
	expect_rc 0 "$1: pull three calendars, push to the own and the group calendar"
	# 200 appointments, the same for both databases (a fixed LCG).
	s=12345 i=0 bad=0
	while [ $i -lt 200 ]; do
		s=$(( (s * 1103515245 + 12345) % 2147483648 ))
		day=$(( (s / 65536) % 170 + 1 ))
		h=$(( (s / 256) % 12 + 7 ))
		d=$(date -u -d "+$day day" +%F)
		"$BIN" appt add --start "${d}T$(printf %02d $h):10Z" --end "${d}T$(printf %02d $h):50Z" \
		    --subject "Appt $i" --force >/dev/null 2>&1 || bad=$((bad + 1))
		i=$((i + 1))
	done
	check '[ "$bad" -eq 0 ]' "$1: 200 appointments booked"
}
# Snapshot: the [ext] blocks and the emulator's events (without ids).
snapshot() {
	"$BIN" appt list --from 2000-01-01 --json | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["kind"] == "ext":
        print("\t".join(str(x) for x in (a["calendar"], a["subject"], a["starts_at"], a["ends_at"], a["all_day"])))
' | sort >"$1.book"
	{ emu_events ada@contoso.example; emu_events "group:Front Desk Team"; } >"$1.remote"
}

# The reference: a clean database, two passes.
setup ref
t0=$(date +%s%N)
run sync
t1=$(date +%s%N)
dur=$(( (t1 - t0) / 1000000 ))
echo "# the reference's first pass took $dur ms"
# (the fixed bookings hit blocks pulled after them: told, once)
expect_rc 2 "ref: the first pass tells the conflicts of the bookings the pull put blocks over"
run sync
expect_rc 0 "ref: a second pass"
expect_silent "ref: is silent"
snapshot "$T/ref"
remote_problems "Calendar,group:Front Desk Team" >"$T/problems"
check '[ ! -s "$T/problems" ]' "ref: every appointment exactly once on both push calendars$(head -3 "$T/problems" | sed 's/^/; /' | tr -d '\n')"
next=$(grep -c . "$T/ref.book")
check '[ "$next" -gt 500 ]' "ref: $next [ext] blocks"

# The same mailbox again (same content, new ids); a new database.
emu POST /_emu/reset '{"generate": 2000}' >/dev/null
n=$(emu events | wc -l)
check '[ "$n" -gt 1500 ] && ! emu events | grep -q "Appt "' "the mailbox is regenerated without our events ($n events)"
setup kill
progress() {
	mapped=$(db "SELECT count(*) FROM pushed WHERE event_id IS NOT NULL")
	open=$(db "SELECT count(*) FROM pushed WHERE event_id IS NULL AND attempted")
	blocks=$(db "SELECT count(*) FROM appointments WHERE kind = 'ext'")
}
# kill_once MS [push]: start a pass, SIGKILL it after MS milliseconds (with
# "push": MS after its first create intent is committed).
kill_once() {
	"$BIN" sync >/dev/null 2>&1 &
	pid=$!
	if [ "${2:-}" = push ]; then
		w=0
		while [ $w -lt 500 ] && kill -0 "$pid" 2>/dev/null &&
		    [ "$(sqlite3 "$TIMETAP_SYNC_DB" "SELECT count(*) FROM pushed WHERE attempted" 2>/dev/null || echo 0)" -le "$mapped" ]; do
			sleep 0.02
			w=$((w + 1))
		done
	fi
	sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	code=$?
	codes="$codes $code"
	before=$mapped
	progress
	echo "# kill ${2:+in the push }after $1 ms (exit $code): $blocks blocks, $mapped of 400 events mapped, $open creates of unknown outcome"
	if [ "$code" -eq 137 ] && { [ "$open" -gt 0 ] || { [ "$mapped" -gt "$before" ] && [ "$mapped" -lt 400 ]; }; }; then
		in_push=$((in_push + 1))
	fi
}
codes=""
in_push=0
progress
# Eight kills early in the pass (0.05-0.6 s) ...
k=1
while [ $k -le 8 ]; do
	rnd 551
	kill_once $((50 + R))
	k=$((k + 1))
done
# ... and four at a random moment of the push, which starts only after the
# pull (longer than 0.6 s here).
k=1
while [ $k -le 4 ]; do
	rnd 400
	kill_once "$R" push
	k=$((k + 1))
done
echo "# exit statuses of the killed runs:$codes"
check 'echo "$codes" | grep -q 137' "runs were really killed (SIGKILL)"
check '[ "$in_push" -ge 1 ]' "kills interrupted the push ($in_push times)"
run sync
r1=$rc
sed 's/^/# first clean pass: /' "$T/err" | head -3
run sync
expect_rc 0 "the second clean pass after the kills exits 0"
expect_silent "and is silent"
check '[ "$r1" -eq 0 ] || [ "$r1" -eq 75 ]' "the first clean pass exits 0 or 75 ($r1)"
snapshot "$T/run"
remote_problems "Calendar,group:Front Desk Team" >"$T/problems"
check '[ ! -s "$T/problems" ]' "every appointment exactly once on both push calendars, no duplicate$(head -4 "$T/problems" | sed 's/^/; /' | tr -d '\n')"
check '[ "$(grep -c . "$T/run.book")" -eq "$next" ]' "the number of [ext] blocks equals the reference's ($(grep -c . "$T/run.book") vs $next)"
check 'cmp -s "$T/ref.book" "$T/run.book"' "the [ext] blocks equal the reference$(diff "$T/ref.book" "$T/run.book" | grep '^[<>]' | head -3 | sed 's/^/; /' | tr '\t\n' '  ')"
check '[ "$(sort "$T/run.remote" | uniq -d | grep -c "Appt ")" -eq 0 ]' "no duplicate event of ours remotely"
check 'cmp -s "$T/ref.remote" "$T/run.remote"' "the calendars equal the reference$(diff "$T/ref.remote" "$T/run.remote" | grep '^[<>]' | head -3 | sed 's/^/; /' | tr '\t\n' '  ')"
check '[ "$(db "SELECT count(*) FROM accounts WHERE refresh_token IS NOT NULL AND needs_login IS NULL")" -eq 1 ]' \
    "the refresh token survived the kills"
