# SPDX-License-Identifier: ISC
# Family 21, pull under faults: errors in the middle of a multi-page round
# (page_size = 3).  Nothing is removed on a partial read: a 503 on page 3 of
# a delta round, a failure in the middle of the full read that follows an
# expired delta token, a nextLink that loops, truncated, malformed and
# oversized bodies all leave every previous block in place, and the next
# pass completes and converges.
. "$TOP/test/lib.sh"

emu_setup pull-faults "retry_budget = 1" "timeout = 5" "page_size = 3"
# Pending changes: delete the D oldest known events, add A new ones.
ids=$(ctl GET /_emu/state | python3 -c '
import json, sys
print(" ".join(e["id"] for c in json.load(sys.stdin)["users"][0]["calendars"] if c["name"] == "Calendar" for e in c["events"]))')
k=0
changes() {
	i=0
	for id in $ids; do
		[ $i -ge "$1" ] && break
		ctl POST /_emu/outlook "{\"op\": \"delete\", \"id\": \"$id\"}" >/dev/null
		ids=${ids#"$id"}
		ids=${ids# }
		i=$((i + 1))
	done
	i=0
	while [ $i -lt "$2" ]; do
		k=$((k + 1)) i=$((i + 1))
		id=$(ctl POST /_emu/outlook "{\"op\": \"add\", \"event\": {\"subject\": \"New $k\", \"start\": \"+$((k + 8))d10:00\", \"end\": \"+$((k + 8))d11:00\", \"showAs\": \"busy\"}}" | idof)
		ids="$ids $id"
	done
	ctl DELETE /_emu/requests >/dev/null
}
# A wrapper that bounds one run (a loop must end in an error, not a hang).
printf '#!/bin/sh\nexec timeout 30 "%s" "$@"\n' "$BIN" >"$T/bounded"
chmod +x "$T/bounded"
recovers() {
	nofault
	ctl DELETE /_emu/requests >/dev/null
	run sync
	expect_rc 0 "$1: the next pass completes"
	expect_silent "$1: silently"
	check 'converged Calendar' "$1: the book matches the mailbox"
}

BROWSER="$TOP/test/fake-browser.sh" run login
expect_rc 0 "login"
t0=$(date +%s%N)
run sync
t1=$(date +%s%N)
expect_rc 0 "first sync (3 pages)"
check '[ $(((t1 - t0) / 1000000)) -lt 1500 ]' "a 3-page round against a fast server takes well under a second per page ($(((t1 - t0) / 1000000)) ms)"
check 'converged Calendar' "first sync: the book matches the mailbox"

# A delta round of 9 items (6 deleted, 3 added: 3 pages) whose second page
# fails: page 1 almost surely holds @removed items (all 6 on pages 2-3 has
# odds 1/84).
changes 6 3
snap before
set_fault '{"kind": "status", "status": 503, "times": 100, "match": {"path": "skiptoken"}}'
run sync
expect_rc 75 "503 on page 2 of a delta round: exit 75"
expect_err 'calendar "Calendar": .*503.*next run continues' "the message names the calendar and the error"
check '[ "$(nreq "\"deltatoken\" in r[\"query\"] and r[\"status\"] == 200")" = 1 ]' "page 1 was read before the failure"
snap after
check 'kept before after' "no @removed of the incomplete round was applied: every block is kept"
recovers "503 on page 2"
check '[ "$(nreq "\"deltatoken\" in r[\"query\"]")" = 1 ]' "the next pass replays the same delta round from the stored deltaLink"

# An expired delta token, then a failure in the middle of the full read.
changes 2 2
snap before
set_fault '{"kind": "delta_expired", "variant": "syncStateNotFound", "match": {"path": "deltatoken"}}, {"kind": "status", "status": 503, "times": 100, "match": {"path": "skiptoken"}}'
run sync
expect_rc 75 "expired delta token, then 503 in the full read: exit 75"
snap after
check 'kept before after' "an incomplete full read reconciles nothing: every block is kept"
recovers "503 in the full read"
check '[ "$(nreq "\"startDateTime\" in r[\"query\"] and \"deltatoken\" not in r[\"query\"]")" = 1 ]' "the next pass starts a full read again"

# A nextLink that points back at the page itself.
changes 2 3
snap before
set_fault '{"kind": "nextlink_loop", "match": {"path": "skiptoken"}}'
BIN=$T/bounded run sync
check '[ $rc -ne 124 ]' "a looping nextLink does not hang the pass"
expect_rc 69 "a looping nextLink: exit 69"
expect_err 'calendar "Calendar": .*loop' "the message says the service looped"
snap after
check 'kept before after' "a looping round removes nothing"
recovers "nextLink loop"

# The same page again and again, each time under a new $skiptoken
# (msgraph-sdk-dotnet #3082): detected by content, not by the link.
changes 2 3
snap before
set_fault '{"kind": "nextlink_loop_fresh", "match": {"path": "skiptoken"}}'
BIN=$T/bounded run sync
check '[ $rc -ne 124 ]' "a loop under fresh links does not hang the pass"
expect_rc 69 "a loop under fresh links: exit 69"
expect_err 'calendar "Calendar": .*paging loop' "the message says the service looped"
check '[ "$(grep -c . "$T/err")" -eq 1 ]' "one line"
check '[ "$(nreq "\"skiptoken\" in r[\"query\"]")" -le 4 ]' "stopped within a few pages ($(nreq "\"skiptoken\" in r[\"query\"]") page requests)"
snap after
check 'kept before after' "a looping round removes nothing"
recovers "loop under fresh links"

# Bodies that cannot be read, on page 2.
changes 2 3
snap before
set_fault '{"kind": "truncate", "times": 100, "match": {"path": "skiptoken"}}'
run sync
expect_rc 75 "truncated page 2 (every attempt): exit 75"
expect_err 'calendar "Calendar": ' "truncated: the message names the calendar"
snap after
check 'kept before after' "truncated: every block is kept"
recovers "truncated page"

changes 2 3
snap before
set_fault '{"kind": "malformed", "match": {"path": "skiptoken"}}'
run sync
expect_rc 69 "malformed page 2: exit 69"
expect_err 'calendar "Calendar": .*malformed' "malformed: the message says the response was malformed"
snap after
check 'kept before after' "malformed: every block is kept"
recovers "malformed page"

changes 2 3
snap before
set_fault '{"kind": "oversized", "match": {"path": "skiptoken"}}'
run sync
expect_rc 69 "oversized page 2 (64 MiB): exit 69"
expect_err 'calendar "Calendar": .*larger than' "oversized: the message says the response was too large"
snap after
check 'kept before after' "oversized: every block is kept"
recovers "oversized page"
