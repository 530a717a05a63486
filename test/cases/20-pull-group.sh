# Family 20, pull: a Microsoft 365 group (Teams) calendar as a pull calendar,
# read with delta when the service offers it, and with plain calendarView
# reads (full read + reconciliation every pass) when delta on the group is
# refused (emulator config group_delta = false).
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 3"
blk() {
	db "SELECT datetime(a.start_utc, 'unixepoch') || '|' || datetime(a.end_utc, 'unixepoch')
	    || '|' || c.path FROM appointments a JOIN calendars c ON c.id = a.source_calendar_id
	    WHERE a.kind = 'ext' AND a.subject = '$1' ORDER BY a.start_utc"
}
ngrp() { db "SELECT count(*) FROM appointments a JOIN calendars c ON c.id = a.source_calendar_id WHERE a.kind = 'ext' AND c.kind = 'group'"; }
gid=$(emu GET /_emu/state | python3 -c '
import json, sys
print(next(g["id"] for g in json.load(sys.stdin)["groups"] if g["displayName"] == "Front Desk Team"))')
G="Front Desk Team (group)"
connect() {
	export TIMETAP_SYNC_DB="$T/$1/timetap.db"
	BROWSER="$TOP/test/fake-browser.sh" run login --groups
	expect_rc 0 "$1: login --groups"
	run calendars
	n=$(awk '/Front Desk Team \(group\)/ { print $1 }' "$T/out")
	check '[ -n "$n" ]' "$1: calendars lists the group calendar"
	run calendars --pull "1,$n"
	expect_rc 0 "$1: pull the default and the group calendar"
}

# With delta on the group calendar.
connect delta
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "delta: sync"
expect_silent "delta: silent"
check '[ "$(nreq "r[\"path\"] == \"/v1.0/groups/$gid/calendarView/delta\"")" = 1 ]' "delta: the group calendar is read with calendarView/delta"
check '[ "$(blk "Front desk cover: Grace")" = "$(d 1) 08:00:00|$(d 1) 12:00:00|$G" ]' "delta: a group event is a block from the group calendar"
check '[ "$(blk "Holiday: Linus")" = "$(d 4) 00:00:00|$(d 6) 00:00:00|$G" ]' "delta: the group's all-day oof blocks its days"
check '[ "$(ngrp)" = 3 ]' "delta: three group blocks"
emu POST /_emu/outlook "{\"user\": \"ada@contoso.example\", \"op\": \"add\", \"calendar\": \"group:$gid\", \"event\": {\"subject\": \"Group add\", \"start\": \"+7d10:00\", \"end\": \"+7d11:00\", \"showAs\": \"busy\"}}" >/dev/null
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "delta: sync after a group change"
check '[ "$(blk "Group add")" = "$(d 7) 10:00:00|$(d 7) 11:00:00|$G" ]' "delta: the new group event arrives"
check '[ "$(nreq "\"/groups/\" in r[\"path\"] and \"deltatoken\" in r[\"query\"]")" = 1 ]' "delta: by the group's stored deltaLink"

# Without delta on group calendars: fall back to plain calendarView.
emu POST /_emu/config '{"group_delta": false}' >/dev/null
connect plain
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "no group delta: sync still succeeds"
expect_silent "no group delta: silent (the fallback is not an error)"
check '[ "$(nreq "r[\"path\"] == \"/v1.0/groups/$gid/calendarView\" and r[\"status\"] == 200")" = 1 ]' "no group delta: one plain calendarView read of the group"
check '[ "$(ngrp)" = 4 ]' "no group delta: the four group events are blocks"
check '[ "$(blk "Team meeting")" = "$(d 2) 16:00:00|$(d 2) 16:30:00|$G" ]' "no group delta: the block is right"
check '[ "$(blk "Holiday: Linus")" = "$(d 4) 00:00:00|$(d 6) 00:00:00|$G" ]' "no group delta: the all-day block is right"
check '[ -n "$(blk "Budget review with finance")" ]' "no group delta: the user calendar is still read with delta"

# Later passes: plain reads, with reconciliation.
emu POST /_emu/outlook "{\"user\": \"ada@contoso.example\", \"op\": \"add\", \"calendar\": \"group:$gid\", \"event\": {\"subject\": \"Group add 2\", \"start\": \"+8d10:00\", \"end\": \"+8d11:00\", \"showAs\": \"oof\"}}" >/dev/null
tm=$(emu GET /_emu/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(next(e["id"] for g in s["groups"] for c in g["calendars"] for e in c["events"] if e["subject"] == "Team meeting"))')
emu POST /_emu/outlook "{\"op\": \"delete\", \"id\": \"$tm\"}" >/dev/null
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "no group delta: sync after group changes"
check '[ "$(nreq "\"/groups/\" in r[\"path\"] and \"/delta\" in r[\"path\"]")" = 0 ]' "no group delta: the fallback is remembered (no delta request on the group)"
check '[ "$(blk "Group add 2")" = "$(d 8) 10:00:00|$(d 8) 11:00:00|$G" ]' "no group delta: an added group event arrives"
check '[ -z "$(blk "Team meeting")" ]' "no group delta: a deleted group event loses its block (reconciliation)"
check '[ "$(ngrp)" = 4 ]' "no group delta: four group blocks"
run feed --all --json
check 'python3 -c "
import json, sys
r = [x for x in json.load(open(sys.argv[1])) if x[\"subject\"] == \"Team meeting\"]
assert r and r[0][\"reason\"] == \"removed\" and r[0][\"loaded\"] is False, r
" "$T/out"' "no group delta: the feed shows the group event removed"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "no group delta: a no-change pass"
expect_silent "no group delta: the no-change pass is silent"
check '[ "$(nreq True)" = 2 ]' "no group delta: one request per pull calendar"
check '[ "$(nreq "r[\"method\"] != \"GET\"")" = 0 ]' "no group delta: no write"
