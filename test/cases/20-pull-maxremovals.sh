# SPDX-License-Identifier: ISC
# Family 20, pull: max_removals.  A pass that would remove more than the
# allowed share of a calendar's blocks (more than 10 and more than half, by
# default) stops with exit 3 (its own code: it needs a person, so not 75) and a message naming --force, and removes
# nothing; `sync --force` accepts.  Both for @removed items of a delta round
# and for reconciliation after a full read (here: a window re-base).
. "$TOP/test/lib.sh"

emu_setup pull-many "retry_budget = 3"
ncal() { db "SELECT count(*) FROM appointments a JOIN calendars c ON c.id = a.source_calendar_id WHERE a.kind = 'ext' AND c.name = '$1'"; }
nremoved() { db "SELECT count(*) FROM feed WHERE reason = 'removed'"; }
ids=$(emu GET /_emu/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
ev = sorted((e["subject"], e["id"]) for c in s["users"][0]["calendars"] for e in c["events"] if e["subject"].startswith("Meeting"))
print(" ".join(i for _, i in ev))')
delete_meetings() {	# delete_meetings FROM TO (1-based, inclusive)
	i=0
	for id in $ids; do
		i=$((i + 1))
		[ $i -ge "$1" ] && [ $i -le "$2" ] && emu POST /_emu/outlook "{\"op\": \"delete\", \"id\": \"$id\"}" >/dev/null
	done
}

first_sync 1,2
check '[ "$(ncal Calendar)" = 24 ] && [ "$(ncal "Clinic rota")" = 20 ]' "24 + 20 blocks"

delete_meetings 1 3
run sync
expect_rc 0 "3 deletions are below the cap"
check '[ "$(ncal Calendar)" = 21 ]' "the 3 blocks are removed"

delete_meetings 4 18
run sync
expect_rc 3 "15 of 21 deletions: the pass stops with exit 3"
expect_err 'calendar "Calendar": would remove 15 of 21 blocks' "the message says how many of how many"
expect_err 'max_removals' "the message names max_removals"
expect_err 'sync --force' "the message names --force"
check '[ "$(wc -l <"$T/err")" = 1 ]' "one line for the one problem"
check '[ "$(ncal Calendar)" = 21 ]' "nothing was removed"
check '[ "$(nremoved)" = 3 ]' "the feed shows no removal for them"
check '[ "$(ncal "Clinic rota")" = 20 ]' "the other calendar is unaffected"
run status --json
expect_out '"exit_code": 3' "status --json records the stopped pass (exit_code 3)"
run sync
expect_rc 3 "the next pass stops again (nothing lost in between)"
check '[ "$(ncal Calendar)" = 21 ]' "still nothing removed"
run sync --force
expect_rc 0 "sync --force accepts"
check '[ "$(ncal Calendar)" = 6 ]' "--force removed the 15 blocks"
check '[ "$(nremoved)" = 18 ]' "the feed shows the 15 removals"
run sync
expect_silent "the pass after --force is silent"

# Absolute cap.
emu_config "retry_budget = 3" "max_removals = 2"
delete_meetings 19 21
run sync
expect_rc 3 "max_removals = 2: 3 removals stop the pass"
expect_err 'would remove 3 of 6' "the message counts them"
check '[ "$(ncal Calendar)" = 6 ]' "nothing removed"
emu_config "retry_budget = 3"
run sync
expect_rc 0 "with the default share, 3 removals pass"
check '[ "$(ncal Calendar)" = 3 ]' "the 3 blocks are removed"

# Reconciliation after a full read: a smaller window would drop all 20
# blocks of the sub-calendar.
emu_config "retry_budget = 3" "window_future_days = 30"
run sync
expect_rc 3 "window re-base dropping 20 of 20 blocks stops with exit 3"
expect_err 'calendar "Other calendars/Clinic rota": would remove 20 of 20 blocks' "the message names the calendar and the counts"
expect_err 'sync --force' "the message names --force"
check '[ "$(ncal "Clinic rota")" = 20 ]' "nothing removed"
check '[ "$(ncal Calendar)" = 3 ]' "the other calendar is unaffected"
run sync --force
expect_rc 0 "sync --force accepts the re-base"
check '[ "$(ncal "Clinic rota")" = 0 ]' "the 20 blocks outside the window are removed"
run sync
expect_rc 0 "the next pass"
expect_silent "is silent"
