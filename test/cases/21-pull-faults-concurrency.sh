# SPDX-License-Identifier: ISC
# Family 21, pull under faults: at most 4 requests in flight per mailbox.
# Six pull calendars in one mailbox, every response delayed (latency_ms),
# two pages per calendar: the emulator never has to answer 429
# ApplicationThrottled (its MailboxConcurrency limit), and the log never
# shows more than 4 overlapping requests; also while retrying throttled
# requests.
. "$TOP/test/lib.sh"

emu_setup pull-concurrency "retry_budget = 10" "page_size = 2"
# "throttled max n": 429 ApplicationThrottled count, the largest number of
# overlapping Graph requests of the user's mailbox, and the request count.
inflight() {
	ctl GET /_emu/requests | python3 -c '
import json, sys
rs = [r for r in json.load(sys.stdin)["requests"] if r["path"].startswith("/v1.0/") and r["t_end"]]
thr = sum(1 for r in rs if r["fault"] == "concurrency")
ev = sorted([(r["t_start"], 1) for r in rs] + [(r["t_end"], -1) for r in rs])
cur = top = 0
for _, d in ev:
    cur += d
    top = max(top, cur)
print(thr, top, len(rs))'
}

BROWSER="$TOP/test/fake-browser.sh" run login
expect_rc 0 "login"
run calendars --pull 1,2,3,4,5,6
expect_rc 0 "six pull calendars"
run calendars
check '[ "$(grep -c "pull" "$T/out")" = 6 ]' "six calendars have the pull role"

ctl POST /_emu/config '{"latency_ms": 400}' >/dev/null
ctl DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "sync of six calendars with 400 ms latency"
expect_silent "silent"
read -r thr top nr <<EOF
$(inflight)
EOF
check '[ "$thr" = 0 ]' "no 429 ApplicationThrottled (got $thr)"
check '[ "$top" -le 4 ]' "never more than 4 requests in flight for the mailbox (max $top)"
check '[ "$top" -ge 3 ]' "the calendars are read concurrently (max $top in flight)"
check '[ "$nr" = 13 ]' "two pages per calendar and the mailbox's time zone, no retry (13 requests, got $nr)"
check '[ "$(nblk)" = 18 ]' "every calendar's events are blocks (18)"

# Throttling on top: every first request of each calendar's next round is
# refused once with Retry-After 1; the retries must respect the limit too.
for c in 1 2 3 4 5 6; do
	ctl POST /_emu/outlook "{\"op\": \"add\", \"calendar\": \"$([ $c = 1 ] && echo Calendar || echo "Rota $(echo ABCDE | cut -c$((c - 1)))")\", \"event\": {\"subject\": \"New $c\", \"start\": \"+$((c + 10))d09:00\", \"end\": \"+$((c + 10))d10:00\", \"showAs\": \"busy\"}}" >/dev/null
done
ctl POST /_emu/faults '{"faults": [{"kind": "throttle", "retry_after": "1", "times": 6, "match": {"path": "deltatoken"}}]}' >/dev/null
ctl DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "sync with every calendar throttled once"
read -r thr top nr <<EOF
$(inflight)
EOF
check '[ "$thr" = 0 ]' "throttled retries: no 429 ApplicationThrottled (got $thr)"
check '[ "$top" -le 4 ]' "throttled retries: never more than 4 in flight (max $top)"
check '[ "$nr" = 12 ]' "throttled retries: one retry per calendar (12 requests, got $nr)"
check '[ "$(nblk)" = 24 ]' "throttled retries: every new event arrived (24 blocks)"
