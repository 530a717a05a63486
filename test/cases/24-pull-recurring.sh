# Family 24, pull: recurring meetings as calendarView/delta serves them.
# Occurrences arrive sparse (id, type, seriesMasterId, start, end only:
# no subject, no showAs -- microsoft-graph-docs #1716, #7632, #22197) and
# the series master comes in the round too.  Every occurrence of a busy
# series blocks, with the master's subject; the master itself never does;
# a change of the master's show-as reaches every occurrence; a deleted
# occurrence loses its block.
. "$TOP/test/lib.sh"

emu_setup demo
export BROWSER="$TOP/test/fake-browser.sh"
trun login
expect_rc 0 "login"
run calendars --pull 1,2
expect_rc 0 "pull Calendar and Clinic rota"

# The emulator's world is the hard one: check it, so that this test
# cannot pass against a kind one.
ctl GET /_emu/config | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["sparse_occurrences"] is True else 1)'
check '[ $? -eq 0 ]' "the emulator serves sparse occurrences"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the first sync"
expect_silent "silently"
series() { remote_events "$1" | awk '{print $2}'; }	# a series is stored once
mstand=$(series "Daily stand-up")
mshift=$(series "Clinic shift (morning)")
nstand=$(db "select count(*) from appointments where kind = 'ext' and subject like 'Daily stand-up%'")
nshift=$(db "select count(*) from appointments where kind = 'ext' and subject = 'Clinic shift (morning)'")
check '[ "$nstand" -ge 8 ]' "the daily busy stand-up blocks every day of the window ($nstand blocks, from occurrences without showAs)"
check '[ "$nshift" -eq 4 ]' "the weekly busy shift on the sub-calendar blocks all 4 weeks ($nshift)"
check '[ "$(db "select count(*) from appointments where source_event_id in ('"'$mstand'"', '"'$mshift'"')")" -eq 0 ]' \
    "no series master is a block"
check '[ "$(db "select count(*) from series")" -eq 2 ]' "both series are remembered"
check '[ "$(nreq "r[\"method\"] == \"GET\" and \"/events/\" in r[\"path\"]")" -eq 0 ]' \
    "the masters came in the round: no extra request"
run feed --all --json
check 'python3 -c "import json,sys; a=[r for r in json.load(open(sys.argv[1])) if r[\"subject\"] == \"Daily stand-up\"]; sys.exit(0 if a and all(r[\"loaded\"] for r in a) else 1)" "$T/out"' \
    "the feed lists the occurrences with the master's subject, loaded"

# The master becomes Free in Outlook: every occurrence stops blocking.
outlook "{\"op\":\"showas\",\"id\":\"$mstand\",\"showAs\":\"free\"}"
run sync
expect_rc 0 "the pass after the series became free"
check '[ "$(db "select count(*) from appointments where kind = '"'ext'"' and subject = '"'Daily stand-up'"'")" -eq 0 ]' \
    "no occurrence of a free series blocks (the moved exception keeps its own show-as)"
outlook "{\"op\":\"showas\",\"id\":\"$mstand\",\"showAs\":\"busy\"}"
run sync
check '[ "$(db "select count(*) from appointments where kind = '"'ext'"' and subject like '"'Daily stand-up%'"'")" -eq "$nstand" ]' \
    "busy again: every occurrence blocks again"

# One occurrence deleted in Outlook: its block goes, the others stay.
outlook "{\"op\":\"delete_occurrence\",\"id\":\"$mshift\",\"index\":2}"
run sync
expect_rc 0 "the pass after an occurrence was deleted"
check '[ "$(db "select count(*) from appointments where kind = '"'ext'"' and subject = '"'Clinic shift (morning)'"'")" -eq 3 ]' \
    "the deleted occurrence lost its block, three stay"

# A full read after the window moves (a new day's re-base) agrees too.
db "update calendars set window_start = window_start - 86400"
run sync
expect_rc 0 "a full re-read"
check '[ "$(db "select count(*) from appointments where kind = '"'ext'"' and subject like '"'Daily stand-up%'"'")" -eq "$nstand" ] && [ "$(db "select count(*) from appointments where kind = '"'ext'"' and subject = '"'Clinic shift (morning)'"'")" -eq 3 ]' \
    "the full read keeps every occurrence's block, and the deleted one stays gone"
check '[ "$(db "select count(*) from appointments where source_event_id in ('"'$mstand'"', '"'$mshift'"')")" -eq 0 ]' \
    "still no master as a block"

# A round whose occurrences come without their master, for a store that
# does not know the series (a new database here): the master is read by
# its id (GET .../events/{id}), then the occurrences take its fields.
export TIMETAP_SYNC_DB="$T/second.db"
trun login
run calendars --pull 1,2
fault '{"kind": "omit_masters", "match": {"path": "calendarView/delta"}, "times": 20}'
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "a pass whose rounds carry no series master"
expect_silent "silently"
nofault
check '[ "$(db "select count(*) from appointments where kind = '"'ext'"' and subject like '"'Daily stand-up%'"'")" -eq "$nstand" ] && [ "$(db "select count(*) from appointments where kind = '"'ext'"' and subject = '"'Clinic shift (morning)'"'")" -eq 3 ]' \
    "every occurrence blocks with its master's subject, read by id"
got=$(emu GET /_emu/requests | python3 -c '
import json, sys
from urllib.parse import unquote
ids = sys.argv[1:]
gets = [unquote(r["path"]) for r in json.load(sys.stdin)["requests"] if r["method"] == "GET" and "/events/" in r["path"]]
print(len(gets), sum(1 for i in ids if sum(1 for g in gets if g.endswith("/events/" + i)) == 1))' "$mstand" "$mshift")
check '[ "$got" = "2 2" ]' "one GET per master, by its id ($got)"
check '[ "$(db "select count(*) from series")" -eq 2 ]' "both series are remembered"
emu DELETE /_emu/requests >/dev/null
run sync
expect_silent "the next pass is silent"
check '[ "$(nreq "r[\"method\"] == \"GET\" and \"/events/\" in r[\"path\"]")" -eq 0 ]' "and reads no master again"
