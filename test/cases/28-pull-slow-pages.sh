# SPDX-License-Identifier: ISC
# Family 28, pull: pages the service is too slow to serve.  A mailbox with
# a daily recurring meeting is slow to page through (calendarView/delta
# expands the series; microsoft-graph-docs #3657, #6499): a page slower than
# the gateway allows answers 504 UnknownError, and a page slower than the
# tool's own timeout never answers.  The tool asks again with half as many
# events per page (down to 25) and keeps that size for the rest of the
# round: the pass completes, every occurrence blocks, nothing is lost.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 60" "page_size = 500"
# The delta pages asked, one a line: status and the page size asked.
sizes() {
	emu GET /_emu/requests | python3 -c '
import json, re, sys
for r in json.load(sys.stdin)["requests"]:
    if r["path"] == "/v1.0/me/calendarView/delta":
        m = re.search(r"odata\.maxpagesize=(\d+)", " ".join(r.get("prefer") or []))
        print(r["status"], m.group(1) if m else "-")'
}
BROWSER="$TOP/test/fake-browser.sh" run login
expect_rc 0 "login"
# 150 daily occurrences and 60 single events, on top of the demo's.
outlook "{\"op\":\"add\",\"event\":{\"subject\":\"Ward round\",\"start\":\"+1d07:00\",\"end\":\"+1d07:30\",\"showAs\":\"busy\",\"recurrence\":{\"pattern\":{\"type\":\"daily\",\"interval\":1},\"range\":{\"type\":\"numbered\",\"numberOfOccurrences\":150}}}}"
i=0
while [ $i -lt 60 ]; do
	outlook "{\"op\":\"add\",\"event\":{\"subject\":\"Single $i\",\"start\":\"+$((i + 2))d15:00\",\"end\":\"+$((i + 2))d15:30\",\"showAs\":\"busy\"}}"
	i=$((i + 1))
done
# 10 ms per occurrence, a 1 s gateway: a page of 500, 250 or 125 items of
# this calendar takes longer than the gateway allows; one of 62 does not.
ctl POST /_emu/config '{"page_occurrence_ms": 10, "gateway_timeout_s": 1}' >/dev/null
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the pass through pages that time out at the gateway exits 0"
expect_silent "and is silent"
check '[ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'ext'"' AND subject = '"'Ward round'"'")" -eq 150 ]' \
    "every occurrence of the daily meeting blocks"
check '[ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'ext'"' AND subject LIKE '"'Single %'"'")" -eq 60 ]' \
    "every single event blocks"
sizes >"$T/sizes"
sed 's/^/# /' "$T/sizes" | tr '\n' ' '; echo
# Which pages time out depends on how many occurrences each holds; the
# rule does not: after a 504 the same page is asked with half the size,
# and the size never grows again within the round.
verdict=$(python3 -c '
import sys
rows = [l.split() for l in open(sys.argv[1])]
bad = [i for i, (st, n) in enumerate(rows) if st == "504" and (i + 1 >= len(rows) or int(rows[i + 1][1]) != max(25, int(n) // 2))]
grow = [i for i in range(1, len(rows)) if int(rows[i][1]) > int(rows[i - 1][1])]
print("ok" if rows and rows[0] == ["504", "500"] and not bad and not grow and rows[-1][0] == "200" else "bad %s %s" % (bad, grow))' "$T/sizes")
check '[ "$verdict" = ok ]' "a page of 500 timed out; each 504 was asked again with half as many events, never more after ($verdict)"

# The tool's own timeout: a page that never comes within `timeout`.
emu_config "retry_budget = 60" "page_size = 500" "timeout = 2"
ctl POST /_emu/config '{"page_occurrence_ms": 0, "gateway_timeout_s": 30}' >/dev/null
outlook "{\"op\":\"add\",\"event\":{\"subject\":\"Late addition\",\"start\":\"+3d18:00\",\"end\":\"+3d18:30\",\"showAs\":\"busy\"}}"
fault '{"kind": "slow", "delay_ms": 4000, "match": {"path": "calendarView/delta"}, "times": 1}'
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "a pass whose first page outlasts the timeout exits 0"
expect_silent "and is silent"
check 'has "Late addition"' "the page asked again brought the new event"
sizes >"$T/sizes"
check '[ "$(tail -1 "$T/sizes" | cut -d" " -f2)" = 250 ]' "it was asked again with 250 events ($(tr '\n' ' ' <"$T/sizes"))"
nofault
run sync
expect_silent "the next pass is silent"
