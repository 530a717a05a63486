# Family 40, crash recovery (the isync way): a pass with pulls and pushes
# to do (edits on both sides, recurring series renamed and added, online
# appointments whose Teams link goes to a second calendar) is run once to count its durable steps; then, for every step N,
# from the same initial state (database and mailbox), the binary is
# stopped at step N (TIMETAP_SYNC_CRASH_AT), run again, and the final
# book and calendars must equal the uncrashed result: no duplicate, no
# lost appointment, no lost block, no lost refresh token.
. "$TOP/test/lib.sh"

emu_start --scenario "$TOP/test/scenarios/demo.json" --state "$T/emu.state"
port=${EMU##*:}
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

emu_stop
cp "$T/emu.state" "$T/emu.initial"
cp "$TIMETAP_SYNC_DB" "$T/db.initial"

restore() {
	emu_stop
	cp "$T/emu.initial" "$T/emu.state"
	cp "$T/db.initial" "$TIMETAP_SYNC_DB"
	rm -f "$TIMETAP_SYNC_DB-wal" "$TIMETAP_SYNC_DB-shm"
	emu_start --state "$T/emu.state" --listen "127.0.0.1:$port"
}
snapshot() {
	book_lines >"$1.book"
	{ emu_events ada@contoso.example; emu_events "group:Front Desk Team"; } >"$1.remote"
}

# The reference: the pass without a crash.
restore
TIMETAP_SYNC_CRASH_COUNT="$T/steps" run sync
expect_rc 0 "the uncrashed pass"
steps=$(cat "$T/steps")
run sync
expect_rc 0 "a second pass after it"
expect_silent "and it is silent"
snapshot "$T/ref"
check 'grep -q "Haircut and beard" "$T/ref.remote" && ! grep -q "Colour" "$T/ref.remote"' \
    "the reference has the edit and not the cancelled appointment"
check '! grep -q "Edited in Teams" "$T/ref.remote"' "the reference set our event back"
check 'grep -q "New busy meeting" "$T/ref.book" && ! grep -q "Retrospective" "$T/ref.book"' \
    "the reference book has the new block and lost the deleted one"
check '[ "$(grep -c "Weekly supervision" "$T/ref.book")" -eq 4 ] && grep -q "Daily huddle" "$T/ref.book" && ! grep -q "Daily stand-up	" "$T/ref.book"' \
    "the reference book has the new series' four occurrences and the renamed one"
check '[ "$(sort "$T/ref.remote" | uniq -d | wc -l)" -eq 0 ]' "the reference has no duplicate"
check '[ "$steps" -gt 10 ]' "the pass has $steps durable steps"

bad=0
n=1
while [ "$n" -le "$steps" ] && [ "$n" -le 400 ]; do
	restore
	TIMETAP_SYNC_CRASH_AT=$n "$BIN" sync >/dev/null 2>&1
	crc=$?
	"$BIN" sync >/dev/null 2>"$T/err1"
	r1=$?
	"$BIN" sync >/dev/null 2>"$T/err2"
	r2=$?
	snapshot "$T/run"
	if [ "$crc" -ne 99 ] || [ "$r2" -ne 0 ] ||
	    ! cmp -s "$T/run.book" "$T/ref.book" ||
	    ! cmp -s "$T/run.remote" "$T/ref.remote"; then
		bad=$((bad + 1))
		echo "# crash at step $n: crash exit $crc, re-runs $r1/$r2"
		diff "$T/ref.book" "$T/run.book" | sed 's/^/#   book /' | head -5
		diff "$T/ref.remote" "$T/run.remote" | sed 's/^/#   remote /' | head -5
		sed 's/^/#   /' "$T/err1" "$T/err2" | head -4
	fi
	n=$((n + 1))
done
check '[ "$bad" -eq 0 ]' "a crash at each of the $steps steps converges to the uncrashed result"
