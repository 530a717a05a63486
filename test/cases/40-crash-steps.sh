# SPDX-License-Identifier: ISC
# Family 40, crash recovery (the isync way): a pass with pulls and pushes
# to do (edits on both sides, recurring series renamed and added, online
# appointments whose Teams link goes to a second calendar) is run once to
# count its durable steps; then, for every step N, from the same initial
# state (database and mailbox), the binary is stopped at step N
# (TIMETAP_SYNC_CRASH_AT), run again, and the final book and calendars
# must equal the uncrashed result: no duplicate, no lost appointment, no
# lost block, no lost refresh token (lib.sh crash_*; family 43 is the
# same over shared and group calendars).
. "$TOP/test/lib.sh"

emu_start --scenario "$TOP/test/scenarios/demo.json" --state "$T/emu.state"
CRASH_PORT=${EMU##*:}
emu_config "window_future_days = 30"
BROWSER="$TOP/test/fake-browser.sh" run login --groups
expect_rc 0 "login"
grp=$(db "SELECT id FROM calendars WHERE kind = 'group'")
run calendars --cached --pull 1,2,$grp --push 1,$grp
expect_rc 0 "roles: pull three calendars, push to the own and the group calendar"
day=$(date -u -d '+1 day' +%F)
run appt add --start "${day}T15:00" --end "${day}T15:30" --subject "Haircut" --client Bob
a1=$(cat "$T/out")
run appt add --start "${day}T16:00" --end "${day}T16:30" --subject "Colour"
a2=$(cat "$T/out")
run appt add --start "${day}T17:00" --end "${day}T17:30" --subject "Video consult" --online
a3=$(cat "$T/out")
run sync
expect_rc 0 "the first pass pushes three appointments to two calendars"

# Work for the pass under test, on both sides.
run appt edit "$a1" --subject "Haircut and beard"
run appt cancel "$a2"
run appt add --start "${day}T18:00" --end "${day}T18:45" --subject "Late client" --online
emu POST /_emu/outlook "{\"op\":\"add\",\"event\":{\"subject\":\"New busy meeting\",\"start\":\"${day}T08:00:00Z\",\"end\":\"${day}T09:00:00Z\",\"showAs\":\"busy\"}}" >/dev/null
ev=$(emu events ada@contoso.example | awk -F'\t' '$2 == "Retrospective" {print $6; exit}')
[ -n "$ev" ] && emu POST /_emu/outlook "{\"op\":\"delete\",\"id\":\"$ev\"}" >/dev/null
ours=$(emu events ada@contoso.example | awk -F'\t' '$2 == "Video consult" {print $6; exit}')
emu POST /_emu/outlook "{\"op\":\"edit\",\"id\":\"$ours\",\"event\":{\"subject\":\"Edited in Teams\"}}" >/dev/null
# Recurring meetings (sparse occurrences in delta): the series master is
# renamed, and a new weekly series appears (its master read by id).
sm=$(emu events ada@contoso.example | awk -F'\t' '$2 == "Daily stand-up" {print $6; exit}')
emu POST /_emu/outlook "{\"op\":\"edit\",\"id\":\"$sm\",\"event\":{\"subject\":\"Daily huddle\"}}" >/dev/null
emu POST /_emu/outlook "{\"op\":\"add\",\"event\":{\"subject\":\"Weekly supervision\",\"start\":\"${day}T11:00:00Z\",\"end\":\"${day}T12:00:00Z\",\"showAs\":\"busy\",\"recurrence\":{\"pattern\":{\"type\":\"weekly\",\"interval\":1},\"range\":{\"type\":\"numbered\",\"numberOfOccurrences\":4}}}}" >/dev/null
check '[ -n "$ev" ] && [ -n "$ours" ] && [ -n "$sm" ]' "the mailbox changes were made"

crash_prepare ada@contoso.example "group:$(db "SELECT container FROM calendars WHERE kind = 'group'")"
crash_reference
check 'grep -q "Haircut and beard" "$T/ref.remote" && ! grep -q "Colour" "$T/ref.remote"' \
    "the reference has the edit and not the cancelled appointment"
check '! grep -q "Edited in Teams" "$T/ref.remote"' "the reference set our event back"
check 'grep -q "^group:Front Desk Team	Haircut and beard" "$T/ref.remote"' "the snapshots hold the group calendar's events too"
check 'grep -q "New busy meeting" "$T/ref.book" && ! grep -q "Retrospective" "$T/ref.book"' \
    "the reference book has the new block and lost the deleted one"
check '[ "$(grep -c "Weekly supervision" "$T/ref.book")" -eq 4 ] && grep -q "Daily huddle" "$T/ref.book" && ! grep -q "Daily stand-up	" "$T/ref.book"' \
    "the reference book has the new series' four occurrences and the renamed one"

crash_every_step
