# SPDX-License-Identifier: ISC
# Family 31, push under faults: no duplicates by construction.  Every create
# has a transactionId recorded as an intent before the request; when the
# outcome is unknown (the $batch response is lost after the service
# committed it, a 5xx on a create item, a response slower than `timeout`)
# the pass exits 75 without creating again, and the next pass looks the
# event up by its marker (GET ...events?$filter=singleValueExtendedProperties
# /Any(...)) before it would create: exactly one event per appointment per
# calendar, whatever happened.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 5" "timeout = 2"
ALL="Calendar,Clinic rota,group:Front Desk Team"

# Of appointment $1, how many events of ours the emulator holds.
copies() { ours appt | grep -cx "$1"; }
LOOKUP='singleValueExtendedProperties/Any\(ep: ep/id eq .String \{2f6b5ae5'

BROWSER="$TOP/test/fake-browser.sh" run login --groups
expect_rc 0 "login --groups"
grp=$(db "SELECT id FROM calendars WHERE kind = 'group'")
run calendars --cached --pull 1 --push 1,2,$grp
expect_rc 0 "roles: push to three calendars in two mailboxes"
day=$(date -u -d '+1 day' +%F)
run appt add --start "${day}T15:00Z" --end "${day}T15:30Z" --subject "Before"
run sync
expect_rc 0 "a first clean pass"
book() {
	run appt add --start "${day}T$1Z" --end "${day}T$2Z" --subject "$3" --force
	cat "$T/out"
}

# A) One lost $batch response: the service created the events, the answer
# never came.  The pass must not send the creates again.
a=$(book 15:30 16:00 "Lost once")
fault '{"kind":"cut_after_commit","match":{"method":"POST","path":"/\\$batch$"},"times":1}'
emu DELETE /_emu/requests >/dev/null
dd0=$(counter tx_dedup_hits)
run sync
# libcurl sends a request again by itself when a reused connection dies
# before any answer; the transactionId makes the service drop the copy.
# So the pass ends 75 (outcome unknown) or 0 (the copy was answered).
check '[ "$rc" -eq 75 ] || { [ "$rc" -eq 0 ] && [ "$(counter tx_dedup_hits)" -gt "$dd0" ]; }' \
    "lost response: exit 75, or 0 when the re-sent copy was dropped by its transactionId (exit $rc)"
emu DELETE /_emu/faults >/dev/null
run sync
expect_rc 0 "lost response: the next pass succeeds"
check '[ "$(copies "$a")" -eq 3 ]' "lost response: exactly one event per calendar ($(copies "$a") in all)"

# B) The response is lost every time (also when libcurl re-sends the request
# by itself on another connection): exit 75; the next pass resolves by lookup and creates nothing.
a=$(book 16:00 16:30 "Lost always")
fault '{"kind":"cut_after_commit","match":{"method":"POST","path":"/\\$batch$"},"times":20}'
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 75 "lost responses: the pass exits 75"
expect_err "appointment $a: .*outcome unknown; the next run checks before creating again" "lost responses: it names the appointment and says the next run checks"
check '[ "$(copies "$a")" -eq 3 ]' "lost responses: the service did create the three events"
check '[ "$(db "SELECT count(*) FROM pushed WHERE appt_id = $a AND event_id IS NULL AND attempted = 1 AND txn_id LIKE '"'timetap-%'"'")" -eq 3 ]' \
    "lost responses: the three intents are kept (attempted, no event id)"
emu DELETE /_emu/faults >/dev/null
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "lost responses: the next pass succeeds"
expect_silent "lost responses: silently"
check '[ "$(nlog GET 1 "$LOOKUP.* eq .[0-9a-f]*[.][0-9]*:$a.\)")" -eq 0 ]' "lost responses: the pull's read of each calendar found the three by their transactionId and adopted them: no lookup needed"
check '[ "$(nlog POST 1 "/events$")" -eq 0 ]' "lost responses: and creates none of them again"
check '[ "$(copies "$a")" -eq 3 ]' "lost responses: exactly one event per calendar"
check '[ "$(db "SELECT count(*) FROM pushed WHERE appt_id = $a AND event_id IS NOT NULL")" -eq 3 ]' "lost responses: the store maps the events found"
remote_problems "$ALL" >"$T/problems"
check '[ ! -s "$T/problems" ]' "lost responses: book and calendars agree$(sed 's/^/; /' "$T/problems" | head -3 | tr -d '\n')"

# C) A 500 on one create item: ambiguous; looked up, then created once.
a=$(book 16:30 17:00 "Item 500")
fault '{"kind":"status","status":500,"match":{"method":"POST","in_batch":true,"path":"/me/calendar/events$"},"times":1}'
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 75 "500 on a create item: exit 75"
expect_err "calendar \"Calendar\": creating appointment $a: HTTP 500.*outcome unknown" "500 on a create item: one line naming the calendar, the appointment and the unknown outcome"
check '[ "$(grep -c . "$T/err")" -eq 1 ]' "500 on a create item: only that item failed"
check '[ "$(copies "$a")" -eq 2 ]' "500 on a create item: the other two calendars have it"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "500 on a create item: the next pass succeeds"
check '[ "$(nlog GET 1 "$LOOKUP.* eq .[0-9a-f]*[.][0-9]*:$a.\)")" -eq 1 ]' "500 on a create item: it looks that one up by the marker"
check '[ "$(nlog POST 1 "/events$")" -eq 1 ]' "500 on a create item: not found, so it is created, once"
check '[ "$(copies "$a")" -eq 3 ]' "500 on a create item: exactly one event per calendar"

# D) A $batch slower than `timeout`: the service commits after the tool gave
# up.  Once it has, the next pass finds the events and creates none.
a=$(book 17:00 17:30 "Slow batch")
fault '{"kind":"slow","delay_ms":3500,"match":{"method":"POST","path":"/\\$batch$"},"times":1}'
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 75 "slow batch: exit 75"
expect_err "Timeout.*outcome unknown" "slow batch: a timeout, outcome unknown"
check 'settle' "slow batch: (the emulator finished the slow request)"
n_before=$(copies "$a")
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "slow batch: the next pass succeeds"
check '[ "$(nlog GET 1 "$LOOKUP")" -eq 0 ] && [ "$(db "SELECT count(*) FROM pushed WHERE event_id IS NULL")" -eq 0 ]' "slow batch: the read found the timed-out creates by their transactionId and adopted them"
check '[ "$n_before" -eq 3 ] && [ "$(copies "$a")" -eq 3 ]' "slow batch: exactly one event per calendar ($(copies "$a"))"

# E) The same, but the next pass comes while the service is still working
# on the timed-out request (cron every minute, a very slow service).  The
# recorded transactionId is what makes the service refuse a second event.
a=$(book 17:30 18:00 "Still in flight")
fault '{"kind":"slow","delay_ms":4000,"match":{"method":"POST","path":"/\\$batch$"},"times":2}'
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 75 "in flight: the pass times out with exit 75"
run sync
r2=$rc
check 'settle' "in flight: (the emulator finished the slow requests)"
run sync
expect_rc 0 "in flight: a later pass succeeds"
check '[ "$(copies "$a")" -eq 3 ]' "in flight: still exactly one event per calendar after a pass that ran while the create was in flight ($(copies "$a") events, middle pass exit $r2)"
remote_problems "$ALL" >"$T/problems"
check '[ ! -s "$T/problems" ]' "at the end book and calendars agree, no duplicate$(sed 's/^/; /' "$T/problems" | head -3 | tr -d '\n')"

# F) The $batch response is lost after the service created the event; the
# request is sent again (by libcurl, on a fresh connection) and this time
# the service answers the item with 503.  The 503 says nothing about the
# first attempt: the event exists and must not be created a second time, and
# cancelling the appointment must leave nothing behind.
run calendars --cached --push 1
run sync --force
expect_rc 0 "lost, then 503: push to the own calendar only from now on (one \$batch per pass; --force past the removal cap)"
a=$(book 18:00 18:30 "Lost then 503")
fault '{"kind":"cut_after_commit","match":{"method":"POST","path":"/\\$batch$"},"times":1},{"kind":"status","status":503,"match":{"method":"POST","in_batch":true,"path":"/me/calendar/events$"},"times":1,"skip":1}'
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 75 "lost, then 503: the pass exits 75"
emu DELETE /_emu/faults >/dev/null
run sync
expect_rc 0 "lost, then 503: the next pass succeeds"
run sync
check '[ "$(copies "$a")" -eq 1 ]' "lost, then 503: exactly one event ($(copies "$a") events)"
run appt cancel "$a"
run sync
expect_rc 0 "lost, then 503: the pass after cancelling it succeeds"
check '[ "$(copies "$a")" -eq 0 ]' "lost, then 503: no event of the cancelled appointment is left behind ($(copies "$a"))"
