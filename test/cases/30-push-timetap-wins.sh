# SPDX-License-Identifier: ISC
# Family 30, push: TimeTap is the source of truth for its appointments.
# An edited appointment is patched on every push calendar (also when a
# scheduling application writes the appointments table directly); a
# cancelled one is deleted everywhere, and a 404 on the delete counts as
# done; our event edited in Teams is set back; our event deleted in Teams is
# re-created, once; a calendar that loses its push role has our events
# deleted from it.  Each change costs exactly the writes it needs, and the
# pass after it sends none.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 5" "push_subject = {subject} ({client})"
TMPL="{subject} ({client})"

# Our events: calendar, appointment, subject, start, end, showAs, online, joinUrl, id
our_events() { ours calendar appt subject start end showAs isOnlineMeeting joinUrl id; }
ev_of() { our_events | awk -F'\t' -v c="$1" -v a="$2" '$1 == c && $2 == a { print $9 }'; }
ALL="Calendar,Clinic rota,group:Front Desk Team"
# One pass that must succeed silently and leave book and calendars agreeing.
pass() {
	emu DELETE /_emu/requests >/dev/null
	run sync
	expect_rc 0 "$1: the pass succeeds"
	expect_silent "$1: silently"
	remote_problems "${2:-$ALL}" "$TMPL" busy >"$T/problems"
	check '[ ! -s "$T/problems" ]' "$1: every booked appointment exactly once on every push calendar, as booked$(sed 's/^/; /' "$T/problems" | head -4 | tr -d '\n')"
}
quiet_pass() {
	emu DELETE /_emu/requests >/dev/null
	run sync
	expect_rc 0 "$1: the next pass succeeds"
	expect_silent "$1: silently"
	check '[ "$(writes)" -eq 0 ]' "$1: and sends no write"
}

BROWSER="$TOP/test/fake-browser.sh" run login --groups
expect_rc 0 "login --groups"
grp=$(db "SELECT id FROM calendars WHERE kind = 'group'")
run calendars --cached --pull 1,2,$grp --push 1,2,$grp
expect_rc 0 "roles: pull and push three calendars"
day=$(date -u -d '+1 day' +%F)
run appt add --start "${day}T15:00Z" --end "${day}T15:30Z" --subject "Haircut" --client "Bob"
a1=$(cat "$T/out")
run appt add --start "${day}T16:00Z" --end "${day}T16:30Z" --subject "Colour" --client "Ann"
a2=$(cat "$T/out")
run appt add --start "${day}T17:00Z" --end "${day}T17:30Z" --subject "Beard" --client "Cid"
a3=$(cat "$T/out")
run appt add --start "${day}T18:00Z" --end "${day}T18:30Z" --subject "Nails" --client "Dee"
a4=$(cat "$T/out")
check '[ -n "$a1" ] && [ -n "$a4" ]' "four appointments booked"
pass "first push"
check '[ "$(emu GET /_emu/state | python3 -c "
import json, sys
s = json.load(sys.stdin)
print(sum(1 for k in (\"users\", \"groups\") for mb in s[k] for c in mb[\"calendars\"] for e in c[\"events\"]
          if (e.get(\"transactionId\") or \"\").startswith(\"timetap-\") and e.get(\"sensitivity\") == \"normal\"))")" -eq 12 ]' \
    "push_private = no: the twelve events of ours have normal sensitivity"
ext0=$(db "SELECT count(*) FROM appointments WHERE kind = 'ext'")
quiet_pass "after the first push"

# appt edit: patched on every calendar, in place.
before=$(our_events | awk -F'\t' -v a="$a1" '$2 == a { print $9 }' | sort)
run appt edit "$a1" --subject "Haircut and beard" --start "${day}T15:15Z" --end "${day}T15:45Z"
expect_rc 0 "appt edit subject and times"
pass "edit"
check '[ "$(nlog PATCH 1 "/events/")" -eq 3 ] && [ "$(nlog POST 1 "/events$")" -eq 0 ] && [ "$(nlog DELETE "*" .)" -eq 0 ]' \
    "edit: three PATCH items in \$batch, no create, no delete"
check '[ "$(our_events | awk -F"\t" -v a="$a1" "\$2 == a { print \$9 }" | sort)" = "$before" ]' "edit: the same three events, patched in place"
quiet_pass "after the edit"

# appt edit --online: an event becomes its Teams meeting, the link is stored.
run appt edit "$a4" --online
expect_rc 0 "appt edit --online"
pass "online"
check '[ "$(our_events | awk -F"\t" -v a="$a4" "\$2 == a && \$7 == \"true\" && \$8 ~ /^https:/" | wc -l)" -eq 1 ] &&
    [ "$(our_events | awk -F"\t" -v a="$a4" "\$2 == a" | wc -l)" -eq 3 ]' \
    "online: one of the appointment's three events is now its Teams meeting (family 38: the others carry its link)"
join=$(db "SELECT join_url FROM appointments WHERE id = $a4")
run appt show "$a4"
check '[ -n "$join" ] && grep -qF -- "$join" "$T/out" && our_events | cut -f8 | grep -qxF -- "$join"' \
    "online: the join URL of its meeting is stored and shown by appt show"
quiet_pass "after going online"

# The event whose Teams meeting is the one stored in the book is deleted in
# Teams and re-created with a new meeting: the book must not keep the link
# of the deleted meeting.
ev=$(our_events | awk -F'\t' -v j="$join" '$8 == j { print $9 }')
check '[ -n "$ev" ]' "online: the event holding the stored meeting is found"
outlook "{\"op\":\"delete\",\"id\":\"$ev\"}"
pass "online event deleted in Teams"
join2=$(db "SELECT join_url FROM appointments WHERE id = $a4")
check '[ -n "$join2" ] && our_events | awk -F"\t" -v a="$a4" "\$2 == a { print \$8 }" | grep -qxF -- "$join2"' \
    "online event deleted in Teams: the stored join URL is one of a meeting that still exists"
quiet_pass "after re-creating the online event"

# --no-online: the meetings go, and so does the link.
run appt edit "$a4" --no-online
expect_rc 0 "appt edit --no-online"
pass "no longer online"
check '[ "$(our_events | awk -F"\t" -v a="$a4" "\$2 == a && (\$7 != \"false\" || \$8 != \"-\")" | wc -l)" -eq 0 ]' \
    "no longer online: none of its events is a Teams meeting"
run appt show "$a4"
check '! grep -q "teams.microsoft.com" "$T/out" && [ -z "$(db "SELECT join_url FROM appointments WHERE id = $a4")" ]' \
    "no longer online: the book forgets the link"
quiet_pass "after going offline"

# appt cancel: deleted everywhere.
run appt cancel "$a2"
expect_rc 0 "appt cancel"
pass "cancel"
check '[ "$(nlog DELETE 1 "/events/")" -eq 3 ] && [ "$(nlog POST 1 .)" -eq 0 ]' "cancel: three DELETE items, nothing else written"
check '[ "$(db "SELECT count(*) FROM pushed WHERE appt_id = $a2")" -eq 0 ]' "cancel: the store forgets the cancelled appointment's events"
quiet_pass "after the cancel"

# A 404 on the delete (the event was already gone) counts as done.
run appt cancel "$a3"
emu POST /_emu/faults '{"faults":[{"kind":"status","status":404,"code":"ErrorItemNotFound","match":{"method":"DELETE","in_batch":true,"path":"/events/"},"times":1}]}' >/dev/null
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "404 on delete: the pass succeeds"
expect_silent "404 on delete: silently"
n404=$(emu GET /_emu/requests | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin)["requests"] if r["method"] == "DELETE" and r["status"] == 404))')
check '[ "$n404" -eq 1 ]' "404 on delete: one DELETE was answered 404"
check '[ "$(db "SELECT count(*) FROM pushed WHERE appt_id = $a3")" -eq 0 ]' "404 on delete: the store counts it as deleted"
left=$(our_events | awk -F'\t' -v a="$a3" '$2 == a { print $9 }')
check '[ "$(printf "%s\n" "$left" | grep -c .)" -eq 1 ]' "404 on delete: (the emulator kept the one it refused)"
# The user had deleted it: make it so, and the pass after has nothing to do.
[ -n "$left" ] && outlook "{\"op\":\"delete\",\"id\":\"$left\"}"
pass "after the 404"
check '[ "$(nlog DELETE "*" .)" -eq 0 ]' "404 on delete: no DELETE is retried"

# Our event edited in Teams: set back on the next pass.
e_rota=$(ev_of "Clinic rota" "$a1")
e_grp=$(ev_of "group:Front Desk Team" "$a1")
outlook "{\"op\":\"edit\",\"id\":\"$e_rota\",\"event\":{\"subject\":\"Edited in Teams\",\"start\":\"${day}T07:00:00Z\",\"end\":\"${day}T07:30:00Z\"}}"
outlook "{\"op\":\"edit\",\"id\":\"$e_grp\",\"event\":{\"showAs\":\"free\"}}"
check 'our_events | grep -q "Edited in Teams"' "Teams edit: the emulator holds the edited event"
pass "Teams edit"
check '[ "$(nlog PATCH 1 "/events/")" -eq 2 ] && [ "$(nlog POST 1 "/events$")" -eq 0 ]' "Teams edit: the two edited events are patched back, nothing else"
check '[ "$(ev_of "Clinic rota" "$a1")" = "$e_rota" ] && [ "$(ev_of "group:Front Desk Team" "$a1")" = "$e_grp" ]' \
    "Teams edit: set back in place (same event ids)"
quiet_pass "after the Teams edit"

# Our event deleted in Teams: re-created once.
e_del=$(ev_of "Calendar" "$a4")
outlook "{\"op\":\"delete\",\"id\":\"$e_del\"}"
check '[ -z "$(ev_of "Calendar" "$a4")" ]' "Teams delete: the event is gone from the emulator"
pass "Teams delete"
check '[ "$(nlog POST 1 "/events$")" -eq 1 ]' "Teams delete: exactly one create"
check '[ "$(ev_of Calendar "$a4" | grep -c .)" -eq 1 ] && [ "$(ev_of Calendar "$a4")" != "$e_del" ]' "Teams delete: one new event"
quiet_pass "after the re-create"
run sync
check '[ "$(ev_of Calendar "$a4" | grep -c .)" -eq 1 ]' "Teams delete: still exactly one after another pass"

# A scheduling application writes the table directly.
sqlite3 "$TIMETAP_SYNC_DB" "UPDATE appointments SET subject = 'Written directly' WHERE id = $a1"
check '[ "$(db "SELECT version FROM appointments WHERE id = $a1")" -gt 1 ]' "direct write: the version moved"
pass "direct write"
check '[ "$(our_events | awk -F"\t" -v a="$a1" "\$2 == a && \$3 == \"Written directly (Bob)\"" | wc -l)" -eq 3 ]' \
    "direct write: the new subject is on the three calendars"
check '[ "$(nlog PATCH 1 "/events/")" -eq 3 ]' "direct write: three PATCH items"
quiet_pass "after the direct write"

# The sub-calendar and the group calendar lose their push role.
run calendars --cached --push 1
expect_rc 0 "calendars --push 1"
pass "push role removed" "Calendar"
check '[ "$(our_events | awk -F"\t" "\$1 != \"Calendar\"" | wc -l)" -eq 0 ]' "push role removed: none of ours left on the sub-calendar and the group calendar"
check '[ "$(nlog DELETE 1 "/events/")" -eq 4 ]' "push role removed: four DELETE items (two appointments, two calendars)"
check '[ "$(our_events | wc -l)" -eq 2 ]' "push role removed: the own calendar keeps its two"
check '[ "$(db "SELECT count(*) FROM pushed p JOIN calendars c ON c.id = p.calendar_id WHERE c.push = 0")" -eq 0 ]' \
    "push role removed: the store keeps no mapping for those calendars"
quiet_pass "after removing the push roles"
check '[ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'ext'"'")" -eq "$ext0" ]' \
    "none of our events ever became an [ext] block ($ext0 blocks throughout)"

# Our event deleted in Teams, and the next pass has to do a full read (the
# delta state expired: 410 Gone).  The full read does not return the event:
# it is gone, and must be re-created like after an @removed.
e_del=$(ev_of "Calendar" "$a1")
outlook "{\"op\":\"delete\",\"id\":\"$e_del\"}"
emu POST /_emu/faults '{"faults":[{"kind":"delta_expired","variant":"gone","match":{"method":"GET","path":"/me/calendarView/delta"},"times":1}]}' >/dev/null
pass "Teams delete before a full read" "Calendar"
check '[ "$(nlog GET 0 "/me/calendarView/delta")" -ge 2 ] && [ "$(emu GET /_emu/faults | grep -c delta_expired)" -eq 0 ]' \
    "Teams delete before a full read: (the delta state expired and the calendar was read in full)"
run sync
check '[ "$(ev_of Calendar "$a1" | grep -c .)" -eq 1 ]' "Teams delete before a full read: re-created by the pass after at the latest"
