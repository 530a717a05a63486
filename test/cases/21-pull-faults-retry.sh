# SPDX-License-Identifier: ISC
# Family 21, pull under faults: the retry engine.  429 with Retry-After in
# decimal seconds and as an HTTP date, 503 with Retry-After, 500/502/503/504
# with exponential backoff, a slow response past `timeout`, a cut
# connection; when retries run out (retry_budget spent, or the service stays
# unavailable) the pass stops, every block is kept, and the next pass
# completes; the per-mailbox request budget running out stops the pass with
# exit 75 and the next pass continues.
. "$TOP/test/lib.sh"

emu_setup pull-faults "retry_budget = 3" "timeout = 2"
# Seconds between the end of each request that got fault KIND and the start
# of the next request for the same URL; prints the smallest (or "none").
gap() {
	ctl GET /_emu/requests | python3 -c '
import json, sys
rs = json.load(sys.stdin)["requests"]
gaps = []
for f in rs:
    if f["fault"] != sys.argv[1]:
        continue
    nxt = [r for r in rs if r["seq"] > f["seq"] and r["path"] == f["path"] and r["query"] == f["query"]]
    if nxt:
        gaps.append(nxt[0]["t_start"] - f["t_end"])
print("%.3f" % min(gaps) if gaps else "none")' "$1"
}
ge() { python3 -c 'import sys; sys.exit(0 if sys.argv[1] != "none" and float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }
applied() { has "Added $n" && { [ $n -eq 1 ] || ! has "Added $((n - 1))"; }; }
# After a failed pass: nothing lost; then the next pass completes.
recovers() {
	check 'kept before after' "$1: every previous block is kept"
	check '! has "Added $n"' "$1: the pending change is not half-applied"
	nofault
	run sync
	expect_rc 0 "$1: the next pass completes"
	expect_silent "$1: silently"
	check 'applied && converged Calendar' "$1: the book now matches the mailbox"
}
P='"match": {"path": "calendarView"}'

E8=$(ctl GET /_emu/state | python3 -c '
import json, sys
print(next(e["id"] for c in json.load(sys.stdin)["users"][0]["calendars"] for e in c["events"] if e["subject"] == "Event 8"))')
BROWSER="$TOP/test/fake-browser.sh" run login
expect_rc 0 "login"
run sync
expect_rc 0 "first sync (the default calendar)"
check 'converged Calendar' "first sync: the book matches the mailbox"

# 429 with decimal Retry-After.
change
set_fault "{\"kind\": \"throttle\", \"retry_after\": \"1.5\", $P}"
run sync
expect_rc 0 "429 Retry-After 1.5: the pass completes"
expect_silent "429 Retry-After 1.5: silent"
check 'ge "$(gap throttle)" 1.4' "429 Retry-After 1.5: the retry waited at least 1.5 s"
check 'applied && converged Calendar' "429 Retry-After 1.5: the change arrived"

# 429 with an HTTP-date Retry-After.
change
set_fault "{\"kind\": \"status\", \"status\": 429, \"retry_after_date\": 2, $P}"
run sync
expect_rc 0 "429 Retry-After HTTP-date: the pass completes"
check 'ge "$(gap status)" 0.9' "429 Retry-After HTTP-date (+2 s): the retry waited for the date"
check 'applied && converged Calendar' "429 Retry-After HTTP-date: the change arrived"

# 503 with Retry-After.
change
set_fault "{\"kind\": \"status\", \"status\": 503, \"retry_after\": \"1\", $P}"
run sync
expect_rc 0 "503 Retry-After 1: the pass completes"
check 'ge "$(gap status)" 0.95' "503 Retry-After 1: the retry waited 1 s"
check 'applied && converged Calendar' "503 Retry-After: the change arrived"

# 5xx without Retry-After: exponential backoff.
for st in 500 502 504; do
	change
	set_fault "{\"kind\": \"status\", \"status\": $st, $P}"
	run sync
	expect_rc 0 "$st once: retried, the pass completes"
	expect_silent "$st once: silent"
	check 'applied && converged Calendar' "$st once: the change arrived"
done
change
set_fault "{\"kind\": \"status\", \"status\": 503, \"times\": 3, $P}"
emu_config "retry_budget = 10" "timeout = 2"
run sync
expect_rc 0 "503 three times, no Retry-After: the pass completes"
check 'ctl GET /_emu/requests | python3 -c "
import json, sys
rs = [r for r in json.load(sys.stdin)[\"requests\"] if \"calendarView\" in r[\"path\"]]
t = [r[\"t_start\"] for r in rs]
g = [b - a for a, b in zip(t, t[1:])]
assert len(rs) == 4 and g[0] > 0.2 and g[1] > 1.5 * g[0] and g[2] > 1.5 * g[1], g
"' "backoff without Retry-After grows exponentially"
check 'applied && converged Calendar' "503 three times: the change arrived"
emu_config "retry_budget = 3" "timeout = 2"

# Retries run out.
change
snap before
set_fault "{\"kind\": \"status\", \"status\": 503, \"times\": 100, $P}"
run sync
expect_rc 75 "503 until the retry budget (3 s) is spent: exit 75"
expect_err '^timetap-sync: profile default: calendar "Calendar": .*retry budget of 3 s spent.*503' "the message names the calendar, the budget and the last error"
check '[ "$(wc -l <"$T/err")" = 1 ]' "one line"
snap after
recovers "503 until the budget is spent"

change
snap before
set_fault "{\"kind\": \"throttle\", \"retry_after\": \"30\", $P}"
start=$(date +%s)
run sync
expect_rc 75 "429 Retry-After 30 > retry_budget: exit 75 at once"
check '[ $(($(date +%s) - start)) -lt 5 ]' "429 Retry-After 30: the pass did not wait past its budget"
expect_err 'retry budget' "429 Retry-After 30: the message says the budget is spent"
snap after
recovers "429 Retry-After beyond the budget"

change
snap before
emu_config "retry_budget = 60" "timeout = 2"
set_fault "{\"kind\": \"status\", \"status\": 503, \"retry_after\": \"0.1\", \"times\": 100, $P}"
run sync
expect_rc 69 "503 on every attempt (budget left): service unavailable after retries, exit 69"
expect_err 'calendar "Calendar": .*503' "the message names the calendar and the status"
snap after
emu_config "retry_budget = 3" "timeout = 2"
recovers "503 on every attempt"

# A slow response past `timeout = 2`.
change
set_fault "{\"kind\": \"slow\", \"delay_ms\": 3000, $P}"
run sync
expect_rc 0 "one response slower than the timeout: retried, the pass completes"
check 'applied && converged Calendar' "slow once: the change arrived"
change
snap before
set_fault "{\"kind\": \"slow\", \"delay_ms\": 3000, \"times\": 100, $P}"
emu_config "retry_budget = 1" "timeout = 2"
start=$(date +%s)
run sync
expect_rc 75 "every response slower than the timeout: exit 75"
expect_err 'calendar "Calendar": .*(imeout|timed out)' "the message says it timed out"
check '[ $(($(date +%s) - start)) -lt 10 ]' "slow: the pass ends in bounded time"
emu_config "retry_budget = 3" "timeout = 2"
snap after
recovers "slow responses"
sleep 1		# let the emulator's sleeping handlers finish

# A cut connection.
change
set_fault "{\"kind\": \"cut\", $P}"
run sync
expect_rc 0 "one cut connection: retried, the pass completes"
check 'applied && converged Calendar' "cut once: the change arrived"
change
snap before
set_fault "{\"kind\": \"cut\", \"times\": 100, $P}"
run sync
expect_rc 75 "every connection cut: exit 75"
expect_err 'calendar "Calendar": ' "the message names the calendar"
snap after
recovers "cut connections"

# The mailbox's request budget runs out (429 with a long Retry-After).
run calendars --pull 1,2
run sync
expect_rc 0 "sync with both calendars"
check 'converged "Calendar,Clinic rota"' "both calendars in the book"
ctl POST /_emu/outlook '{"op": "add", "calendar": "Clinic rota", "event": {"subject": "Clinic added", "start": "+9d08:00", "end": "+9d09:00", "showAs": "busy"}}' >/dev/null
ctl POST /_emu/outlook "{\"op\": \"delete\", \"id\": \"$E8\"}" >/dev/null
snap before
ctl POST /_emu/config '{"budget": {"ada@contoso.example": 1}, "reset_requests": true}' >/dev/null
run sync
expect_rc 75 "request budget exhausted: exit 75"
expect_err 'retry budget of 3 s spent.*429' "request budget exhausted: the message says the budget is spent, after a 429"
check '[ "$(wc -l <"$T/err")" = 1 ]' "request budget exhausted: one calendar stopped, one line"
snap after
grep -v '|Event 8$' "$T/before" >"$T/before.kept"
check 'kept before.kept after' "request budget exhausted: every block is kept (but the one deleted in Outlook)"
check '[ "$(has "Clinic added" && echo y)" = "$(has "Event 8" && echo y)" ]' "request budget exhausted: exactly one calendar was read, and it is up to date"
ctl POST /_emu/config '{"budget": {}, "reset_requests": true}' >/dev/null
run sync
expect_rc 0 "the budget back: the next pass continues"
check 'has "Clinic added" && ! has "Event 8"' "the next pass brought both calendars' changes"
check 'converged "Calendar,Clinic rota"' "the book matches the mailbox"
run status --json
expect_out '"exit_code": 0' "status shows the last pass ok"
