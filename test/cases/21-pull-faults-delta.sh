# SPDX-License-Identifier: ISC
# Family 21, pull under faults: an invalid delta state on the stored
# deltaLink (400 syncStateNotFound, 400 resyncRequired, 400
# InvalidDeltaToken, 410 Gone; also on a later page of a round) means a full
# read and reconciliation of that calendar only, not an error: exit 0, the
# changes made meanwhile arrive, deleted events lose their blocks, unchanged
# blocks keep their ids.  An invalid state that persists is an error that
# keeps every block.
. "$TOP/test/lib.sh"

emu_setup pull-faults "retry_budget = 2" "page_size = 3"
idsnap() { db "SELECT id || '|' || source_event_id FROM appointments WHERE kind = 'ext' ORDER BY 1" >"$T/$1"; }
DEFAULT_DELTA='^/v1.0/me/calendarView/delta\\?.*deltatoken'

first_sync 1,2
change 8
run sync
expect_rc 0 "second sync (the deltaLinks are stored)"
check 'converged' "the book matches the mailbox"

for v in syncStateNotFound resyncRequired InvalidDeltaToken gone; do
	change 8
	idsnap ids.before
	set_fault "{\"kind\": \"delta_expired\", \"variant\": \"$v\", \"match\": {\"path\": \"$DEFAULT_DELTA\"}}"
	run sync
	expect_rc 0 "$v on the stored deltaLink: exit 0"
	expect_silent "$v: silent (not an error)"
	check '[ "$(nreq "r[\"fault\"] == \"delta_expired\"")" = 1 ]' "$v: the fault was served"
	check '[ "$(nreq "r[\"path\"] == \"/v1.0/me/calendarView/delta\" and \"startDateTime\" in r[\"query\"] and \"deltatoken\" not in r[\"query\"]")" = 1 ]' "$v: a full read of that calendar followed"
	check '[ "$(nreq "\"/me/calendars/\" in r[\"path\"] and \"startDateTime\" in r[\"query\"]")" = 0 ]' "$v: the other calendar kept its delta state"
	check 'has "Added $n" && ! has "Added $((n - 1))"' "$v: the change made meanwhile arrived (one added, one deleted)"
	check 'converged' "$v: the book matches the mailbox"
	idsnap ids.after
	check '[ "$(comm -23 "$T/ids.before" "$T/ids.after" | wc -l)" = 1 ]' "$v: unchanged blocks keep their ids (only the deleted one is gone)"
	run feed --all --json
	check 'python3 -c "
import json, sys
r = [x for x in json.load(open(sys.argv[1])) if x[\"subject\"] == sys.argv[2]]
assert r and r[0][\"reason\"] == \"removed\" and not r[0][\"loaded\"], r
" "$T/out" "Added $((n - 1))"' "$v: the feed shows the deleted event removed"
	ctl DELETE /_emu/requests >/dev/null
	run sync
	expect_silent "$v: the next pass is silent"
	check '[ "$(nreq "\"deltatoken\" in r[\"query\"]")" = 2 ] && [ "$(nreq True)" = 2 ]' "$v: and it uses delta again on both calendars (a new deltaLink was stored)"
done

# The token expires on a later page of a delta round.
change 8
for i in 1 2 3; do
	ctl POST /_emu/outlook "{\"op\": \"add\", \"event\": {\"subject\": \"Extra $i\", \"start\": \"+$((i + 30))d10:00\", \"end\": \"+$((i + 30))d11:00\", \"showAs\": \"busy\"}}" >/dev/null
done
ctl DELETE /_emu/requests >/dev/null
set_fault '{"kind": "delta_expired", "variant": "syncStateNotFound", "match": {"path": "^/v1.0/me/calendarView/delta\\?.*skiptoken"}}'
run sync
expect_rc 0 "syncStateNotFound on page 2 of a delta round: exit 0"
check '[ "$(nreq "r[\"fault\"] == \"delta_expired\"")" = 1 ]' "page 2: the fault was served"
check 'converged' "page 2: full read, the book matches the mailbox"

# An invalid state that persists (the full read is refused too).
change 8
snap before
set_fault "{\"kind\": \"delta_expired\", \"variant\": \"gone\", \"times\": 100, \"match\": {\"path\": \"^/v1.0/me/calendarView/delta\"}}"
run sync
check '[ $rc -ne 0 ]' "410 on every request: not a success"
expect_err 'calendar "Calendar": .*410' "410 on every request: the message names the calendar and the status"
check '[ "$(nreq "r[\"fault\"] == \"delta_expired\"")" -le 3 ]' "410 on every request: the full read is tried once, not in a loop"
snap after
check 'kept before after || { grep -v "|Added $((n - 1))\$" "$T/before" >"$T/b2"; kept b2 after; }' "410 on every request: every block of that calendar is kept"
ctl DELETE /_emu/faults >/dev/null
run sync
expect_rc 0 "the next pass completes"
check 'converged' "and the book matches the mailbox"
