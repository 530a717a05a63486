# SPDX-License-Identifier: ISC
# Family 31, push under faults: writes go in JSON $batch requests of at most
# 20 items per mailbox, with at most 4 requests in flight per mailbox (the
# service throttles a fifth with 429 ApplicationThrottled); a 429 on an item
# inside a batch is retried after that item's Retry-After, alone, and
# everything is created exactly once; when the retry_budget does not allow
# the wait the pass stops with exit 75 and the next pass finishes the work
# without a duplicate.
. "$TOP/test/lib.sh"

emu_setup demo

# Facts from the request log, as shell assignments.
logfacts() {
	emu GET /_emu/requests | python3 -c '
import collections, json, sys
rs = json.load(sys.stdin)["requests"]
items = [r for r in rs if r["in_batch"]]
per = collections.Counter(r["batch_id"] for r in items)
env = [r for r in rs if r["path"] == "/v1.0/$batch"]
app = [r for r in rs if r["fault"] == "concurrency"]
t429 = [r for r in items if r["status"] == 429 and r["fault"] == "throttle"]
creates = [r for r in items if r["method"] == "POST" and r["path"].endswith("/events")]
# Largest number of requests in flight at once for one mailbox.
peak = 0
for mb in set(r["mailbox"] for r in rs if r["mailbox"]):
    ev = []
    for r in rs:
        if r["mailbox"] == mb and r["t_end"]:
            ev += [(r["t_start"], 1), (r["t_end"], -1)]
    cur = 0
    for _, d in sorted(ev, key=lambda x: (x[0], x[1])):
        cur += d
        peak = max(peak, cur)
first429 = min((r["t_end"] for r in t429), default=0)
later = [r["t_start"] for r in env if first429 and r["t_start"] > first429]
print("nbatch=%d maxitems=%d nitems=%d appthrottled=%d peak=%d n429=%d ncreate=%d gap=%.2f" % (
    len(env), max(per.values(), default=0), len(items), len(app), peak, len(t429), len(creates),
    (min(later) - first429) if later else -1))'
}

BROWSER="$TOP/test/fake-browser.sh" run login --groups
expect_rc 0 "login --groups"
run calendars --cached --pull 1 --push 1,2
expect_rc 0 "roles: pull the own calendar, push to it and to the sub-calendar (one mailbox)"

# 45 appointments, 90 creates in one mailbox.
i=0
bad=0
while [ $i -lt 45 ]; do
	d=$(date -u -d "+$((10 + i / 9)) day" +%F)
	h=$(printf %02d $((9 + i % 9)))
	"$BIN" appt add --start "${d}T$h:00Z" --end "${d}T$h:45Z" --subject "Bulk $i" >/dev/null 2>&1 || bad=$((bad + 1))
	i=$((i + 1))
done
check '[ "$bad" -eq 0 ]' "45 appointments booked on free slots"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "90 creates: the pass succeeds"
expect_silent "90 creates: silently"
eval "$(logfacts)"
check '[ "$maxitems" -le 20 ] && [ "$maxitems" -ge 1 ]' "90 creates: at most 20 items per \$batch (largest $maxitems)"
check '[ "$nbatch" -ge 5 ]' "90 creates: in at least five \$batch requests ($nbatch)"
check '[ "$appthrottled" -eq 0 ]' "90 creates: never a 429 ApplicationThrottled for more than 4 requests in flight ($appthrottled)"
check '[ "$(counter throttled_concurrency)" -eq 0 ]' "90 creates: the mailbox's concurrency-throttle counter stays 0"
check '[ "$peak" -le 4 ]' "90 creates: at most 4 requests in flight for the mailbox (peak $peak)"
remote_problems "Calendar,Clinic rota" >"$T/problems"
check '[ ! -s "$T/problems" ]' "90 creates: every appointment exactly once on both calendars$(sed 's/^/; /' "$T/problems" | head -3 | tr -d '\n')"
check '[ "$(counter tx_dedup_hits)" -eq 0 ]' "90 creates: no create was sent twice"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the pass after"
expect_silent "is silent"
check '[ "$(emu count POST "batch")" -eq 0 ]' "and sends no \$batch"

# A 429 inside a batch: those items alone are retried after their Retry-After.
i=0
while [ $i -lt 10 ]; do
	d=$(date -u -d "+20 day" +%F)
	h=$(printf %02d $((8 + i)))
	"$BIN" appt add --start "${d}T$h:00Z" --end "${d}T$h:30Z" --subject "Throttled $i" >/dev/null 2>&1
	i=$((i + 1))
done
emu POST /_emu/faults '{"faults":[{"kind":"throttle","retry_after":"1.5","match":{"method":"POST","in_batch":true,"path":"/events$"},"times":3}]}' >/dev/null
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "429 in a batch: the pass succeeds"
expect_silent "429 in a batch: silently"
eval "$(logfacts)"
check '[ "$n429" -eq 3 ]' "429 in a batch: three items were throttled"
check '[ "$ncreate" -eq 23 ]' "429 in a batch: 20 creates and the 3 throttled ones once more ($ncreate create items)"
check '[ "$nbatch" -eq 2 ]' "429 in a batch: the throttled items went again in one more \$batch ($nbatch in all)"
check 'awk -v g="$gap" "BEGIN { exit !(g >= 1.4) }"' "429 in a batch: retried after their Retry-After of 1.5 s (after $gap s)"
remote_problems "Calendar,Clinic rota" >"$T/problems"
check '[ ! -s "$T/problems" ]' "429 in a batch: everything exactly once$(sed 's/^/; /' "$T/problems" | head -3 | tr -d '\n')"
check '[ "$(counter tx_dedup_hits)" -eq 0 ]' "429 in a batch: no create was sent twice after success"
emu DELETE /_emu/faults >/dev/null

# With no retry budget: exit 75, and the next pass finishes without duplicates.
emu_config "retry_budget = 0"
i=0
while [ $i -lt 5 ]; do
	d=$(date -u -d "+21 day" +%F)
	h=$(printf %02d $((8 + i)))
	"$BIN" appt add --start "${d}T$h:00Z" --end "${d}T$h:30Z" --subject "Budget $i" >/dev/null 2>&1
	i=$((i + 1))
done
emu POST /_emu/faults '{"faults":[{"kind":"throttle","retry_after":"1","match":{"method":"POST","in_batch":true,"path":"/events$"},"times":3}]}' >/dev/null
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 75 "retry_budget = 0: a 429 inside a batch stops the pass with exit 75"
expect_err '429' "retry_budget = 0: the message names the throttling"
check '[ "$(grep -c . "$T/err")" -eq 3 ]' "retry_budget = 0: one line per item left undone"
check '[ "$(grep -c "next run" "$T/err")" -eq 3 ]' "retry_budget = 0: each says the next run continues"
eval "$(logfacts)"
check '[ "$ncreate" -eq 10 ]' "retry_budget = 0: no retry within the pass"
check '[ "$(db "SELECT count(*) FROM pushed WHERE event_id IS NULL")" -eq 3 ]' "retry_budget = 0: the three refused creates are still to do"
emu DELETE /_emu/faults >/dev/null
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "retry_budget = 0: the next pass finishes"
expect_silent "retry_budget = 0: silently"
eval "$(logfacts)"
check '[ "$ncreate" -eq 3 ]' "retry_budget = 0: it creates the three, nothing else"
remote_problems "Calendar,Clinic rota" >"$T/problems"
check '[ ! -s "$T/problems" ]' "retry_budget = 0: everything exactly once$(sed 's/^/; /' "$T/problems" | head -3 | tr -d '\n')"
check '[ "$(counter tx_dedup_hits)" -eq 0 ]' "retry_budget = 0: no create was sent twice"
