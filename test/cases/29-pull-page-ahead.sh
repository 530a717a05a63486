# SPDX-License-Identifier: ISC
# Family 29, pull: the next page asked ahead.  Microsoft's delta pages name
# their @odata.nextLink before "value" (delta-query-events.md), so the tool
# asks for the next page as soon as the head of a page has come, while the
# rest of it still arrives (page_transfer_ms: a page of events sends its
# first 16 KB, then the rest later, as a page crosses a real network).  With
# the link after "value" (link_last) it cannot, and asks when the page has
# come.  Either way every event blocks once; a page cut after its head is
# asked again, the page asked ahead is taken or dropped, nothing is lost.
. "$TOP/test/lib.sh"

# Generated mailbox, 1,000 events (600 in the default calendar).
emu_start --generate 1000 || exit 1
emu_config "page_size = 50"
BROWSER="$TOP/test/fake-browser.sh" run login
expect_rc 0 "login"
run calendars --pull Calendar
expect_rc 0 "only the default calendar pulls"
# The delta pages of the default calendar, in order: when each was asked,
# when its last byte went, and the link each page had.
pages() {
	emu GET /_emu/requests | python3 -c '
import json, sys
for r in json.load(sys.stdin)["requests"]:
    if r["path"] == "/v1.0/me/calendarView/delta" and r["status"] == 200:
        print("%.3f %.3f %s" % (r["t_start"], r["t_sent"] or 0, r["items"]))'
}
# How many pages were asked before the page before them had come, how
# many pages, and the read's time in ms (first asked to last sent).
ahead() {
	python3 -c '
import sys
rows = [l.split() for l in open(sys.argv[1])]
print(sum(1 for a, b in zip(rows, rows[1:]) if float(b[0]) < float(a[1])), len(rows),
      int(1000 * (float(rows[-1][1]) - float(rows[0][0]))) if rows else 0)' "$1"
}
blocks() { db "SELECT count(*) FROM appointments WHERE kind = 'ext'"; }
# A full read of the calendar (its deltaLink forgotten), silent, exit 0;
# then $early, $n and $ms of its pages, kept in $T/$1.
full_read() {
	db "UPDATE calendars SET delta_link = NULL"
	emu DELETE /_emu/requests >/dev/null
	run sync
	expect_rc 0 "$2 exits 0"
	expect_silent "and is silent"
	pages >"$T/$1"
	set -- $(ahead "$T/$1")
	early=$1 n=$2 ms=$3
}

ctl POST /_emu/config '{"page_transfer_ms": 300}' >/dev/null
full_read first "a first pass over pages that take 300 ms to arrive"
ms_first=$ms
want=$(blocks)
check '[ "$want" -gt 100 ]' "the events block ($want)"
# At most 3 pages of a round are asked ahead, so not every one can be.
check '[ "$n" -ge 4 ] && [ "$early" -ge $(((n - 1) / 2)) ]' \
    "the next pages were asked before the page naming them had come ($early of $((n - 1)))"

# The same read with the link after "value": no page can be asked ahead.
ctl POST /_emu/config '{"link_last": true}' >/dev/null
full_read last "a full read with the nextLink after \"value\""
ms_last=$ms
check '[ "$(blocks)" -eq "$want" ]' "every event still blocks once ($(blocks))"
check '[ "$n" -ge 4 ] && [ "$early" -eq 0 ]' \
    "no page was asked before the page naming it had come ($early of $((n - 1)))"
check '[ "$ms_first" -lt "$ms_last" ]' \
    "the read took longer with the link last ($ms_first ms with it first, $ms_last ms last)"
check '[ "$(wc -l <"$T/last")" -eq "$(wc -l <"$T/first")" ]' \
    "as many pages as with the link first"

# A page cut after its head: the tool has asked the next page already.
ctl POST /_emu/config '{"link_last": false}' >/dev/null
db "UPDATE calendars SET delta_link = NULL"
fault '{"kind": "truncate", "match": {"path": "me/calendarView/delta.*skiptoken"}, "skip": 1, "times": 1}'
full_read cut "a full read with a page cut half-way (the page is asked again)"
check '[ "$(blocks)" -eq "$want" ]' "every event blocks once ($(blocks))"
check '[ "$(db "SELECT count(*) FROM (SELECT source_event_id FROM appointments WHERE kind = '"'ext'"' GROUP BY source_calendar_id, source_event_id HAVING count(*) > 1)")" -eq 0 ]' \
    "no event has two blocks"
nofault
run sync
expect_rc 0 "the next pass exits 0"
expect_silent "and is silent"
check '[ "$(blocks)" -eq "$want" ]' "and removes nothing ($(blocks))"
