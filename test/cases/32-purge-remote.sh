# Family 32, stop --purge-remote: before the rest of `stop`, every event this
# tool pushed is deleted, on every target calendar, whatever its date: found
# by the push map and by the marker (not by the window), so also events the
# map forgot and events outside a window that has since shrunk.  Nothing
# else is touched.  With a dead token (or the service down) the profile is
# still cleared locally, the receipt lists what is left on which calendar,
# and the exit status says so: 75, or 77 when the login is gone (man page).
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 2"

# "ours others" per calendar: calendar<TAB>events of ours<TAB>other events
census() {
	emu GET /_emu/ours | python3 -c '
import json, sys
o = json.load(sys.stdin)
for c in o["calendars"]:
    n = sum(1 for e in o["events"] if (e["mailbox"], e["calendar"]) == (c["mailbox"], c["calendar"]))
    print("%s\t%d\t%d" % (c["calendar"], n, c["events"] - n))' | sort
}
ours_total() { census | awk -F'\t' '{ n += $2 } END { print n + 0 }'; }
others() { census | cut -f1,3; }
connect() {
	export TIMETAP_SYNC_DB="$T/$1/timetap.db"
	BROWSER="$TOP/test/fake-browser.sh" run login --groups
	expect_rc 0 "$1: login --groups"
	grp=$(db "SELECT id FROM calendars WHERE kind = 'group'")
	run calendars --cached --pull 1,2,$grp --push 1,2,$grp
	expect_rc 0 "$1: pull and push three calendars"
}
d1=$(date -u -d '+1 day' +%F)

# --- With a live token: everything of ours goes, whatever its date.
connect live
others0=$(others)
run appt add --start "${d1}T15:00Z" --end "${d1}T15:30Z" --subject "Soon"
a1=$(cat "$T/out")
run appt add --start "${d1}T16:00Z" --end "${d1}T16:30Z" --subject "Soon online" --online
run appt add --start "$(date -u -d '+60 day' +%F)T10:00Z" --end "$(date -u -d '+60 day' +%F)T11:00Z" --subject "In two months"
run appt add --start "$(date -u -d '+90 day' +%F)T10:00Z" --end "$(date -u -d '+90 day' +%F)T11:00Z" --subject "In three months"
check '[ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'booked'"'")" -eq 4 ]' "live: four appointments booked"
run sync
expect_rc 0 "live: the pass pushes them"
check '[ "$(ours_total)" -eq 12 ]' "live: twelve events of ours (4 appointments x 3 calendars)"
ext=$(db "SELECT count(*) FROM appointments WHERE kind = 'ext'")
check '[ "$ext" -gt 0 ]' "live: the pull made [ext] blocks ($ext)"
# The map forgets one event (only the marker can find it now) ...
db "DELETE FROM pushed WHERE appt_id = $a1 AND calendar_id = 2"
check '[ "$(db "SELECT count(*) FROM pushed")" -eq 11 ]' "live: the push map forgot one event"
# ... and the window shrinks, leaving two appointments outside it.
emu_config "retry_budget = 2" "window_future_days = 30"
emu DELETE /_emu/requests >/dev/null
run stop -y --purge-remote
expect_rc 0 "live: stop -y --purge-remote succeeds"
expect_out "Deleted 12 pushed events from Microsoft 365" "live: the receipt counts the twelve events deleted"
expect_out "Removed $ext \[ext\] blocks" "live: the receipt counts the blocks removed"
check '[ ! -s "$T/err" ]' "live: nothing on stderr"
check '[ "$(ours_total)" -eq 0 ]' "live: the emulator holds no event of ours on any calendar ($(ours_total) left)"
check '[ "$(others)" = "$others0" ]' "live: no other event was touched"
check '[ "$(nlog GET "*" "/events\?.*singleValueExtendedProperties/Any\(ep: ep/id eq .String \{2f6b5ae5")" -ge 3 ]' \
    "live: it searched the calendars by the marker"
check '[ "$(nlog DELETE "*" "/events/")" -eq 12 ]' "live: twelve DELETEs, one per event"
check '[ "$(nlog DELETE "*" "/events/")" -eq "$(emu GET /_emu/requests | python3 -c "
import json, sys
print(sum(1 for r in json.load(sys.stdin)[\"requests\"] if r[\"method\"] == \"DELETE\" and r[\"in_batch\"]))")" ]' \
    "live: the deletes went in \$batch"
check '[ "$(db "SELECT count(*) FROM accounts")" -eq 0 ]' "live: the account (and its tokens) is gone"
check '[ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'ext'"'")" -eq 0 ]' "live: every [ext] block is gone"
check '[ "$(db "SELECT count(*) FROM pushed")" -eq 0 ] && [ "$(db "SELECT count(*) FROM calendars")" -eq 0 ]' "live: the push map and the calendars are gone"
check '[ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'booked'"'")" -eq 4 ]' "live: the booked appointments stay"
run sync
check '[ "$(ours_total)" -eq 0 ]' "live: a later sync does not push anything again (no profile connected)"

# --- With a dead token: cleared locally all the same; the receipt says what is left.
emu_config "retry_budget = 2"
connect dead
run appt add --start "${d1}T15:00Z" --end "${d1}T15:30Z" --subject "Stays"
run appt add --start "${d1}T16:00Z" --end "${d1}T16:30Z" --subject "Stays too"
run sync
expect_rc 0 "dead: the pass pushes two appointments"
check '[ "$(ours_total)" -eq 6 ]' "dead: six events of ours"
ext=$(db "SELECT count(*) FROM appointments WHERE kind = 'ext'")
emu POST /_emu/tokens/revoke >/dev/null
emu POST /_emu/tokens/expire >/dev/null
db "UPDATE accounts SET access_expires = 0"
run stop -y --purge-remote
check '[ "$rc" -eq 75 ] || [ "$rc" -eq 77 ]' "dead: stop --purge-remote exits 75 or 77 (exit $rc)"
expect_rc 77 "dead: exit 77 when the login is gone, as the man page documents"
expect_out "Stopped the sync of profile default" "dead: the profile is stopped all the same"
expect_out "could not delete the rest" "dead: the receipt says the pushed events could not be deleted"
left_has() {
	line=$(grep "^Left on Microsoft 365: " "$T/out")
	for part in "$@"; do
		case "$line" in *"$part"*) ;; *) return 1 ;; esac
	done
	[ "$(printf '%s\n' "$line" | grep -oE '[0-9]+ on ' | wc -l)" -eq "$#" ]
}
check 'left_has "2 on Calendar" "2 on Other calendars/Clinic rota" "2 on Front Desk Team (group)"' \
    "dead: the receipt lists what is left on each calendar"
expect_err "pushed events remain on Microsoft 365" "dead: one line on stderr says events remain"
check '[ "$(grep -c . "$T/err")" -eq 1 ]' "dead: exactly one line on stderr"
check '! grep -Eq "eyJ|refresh_token|access_token" "$T/out" "$T/err"' "dead: no token in the output"
check '[ "$(db "SELECT count(*) FROM accounts")" -eq 0 ]' "dead: the account row is gone"
check '[ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'ext'"'")" -eq 0 ]' "dead: every [ext] block is gone ($ext before)"
check '[ "$(ours_total)" -eq 6 ]' "dead: (the six events are indeed still there)"

# --- With the service down: 75, and the receipt lists what is left.
connect down
run appt add --start "${d1}T17:00Z" --end "${d1}T17:30Z" --subject "Down"
run sync
expect_rc 0 "down: the pass pushes one appointment"
n0=$(ours_total)
emu POST /_emu/faults '{"faults":[{"kind":"status","status":503,"retry_after":"1","match":{"path":"/events"},"times":1000}]}' >/dev/null
run stop -y --purge-remote
expect_rc 75 "down: stop --purge-remote exits 75 while the service is down"
check 'left_has "1 on Calendar" "1 on Other calendars/Clinic rota" "1 on Front Desk Team (group)"' \
    "down: the receipt lists what is left on each calendar"
check '[ "$(db "SELECT count(*) FROM accounts")" -eq 0 ] && [ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'ext'"'")" -eq 0 ]' \
    "down: cleared locally all the same"
emu DELETE /_emu/faults >/dev/null
check '[ "$(ours_total)" -eq "$n0" ]' "down: (nothing was deleted remotely)"
