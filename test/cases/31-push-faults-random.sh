# SPDX-License-Identifier: ISC
# Family 31, push under faults: 20 passes under random injected faults
# (throttling, 503, 500 on a create item, lost responses, slow responses
# past `timeout`; in and out of $batch) with appointments added, edited and
# cancelled and our events edited or deleted in Teams between the passes.
# Every pass exits 0, 75 or 69; two clean passes later the calendars hold every
# booked appointment exactly once on every push calendar as the book says,
# nothing for the cancelled ones, no duplicate anywhere, and the pull has
# not turned any of them into a block.  The RNG is seeded (PUSH_SEED).
. "$TOP/test/lib.sh"

seed=${PUSH_SEED:-20251125}
echo "# seed $seed"

emu_setup demo "retry_budget = 3" "timeout = 2" "push_subject = {subject} #{id}"
ALL="Calendar,Clinic rota,group:Front Desk Team"

# Ids of our events in the emulator, one a line.
our_ids() { ours id; }
booked_ids() { db "SELECT id FROM appointments WHERE kind = 'booked' AND status = 'booked' ORDER BY id"; }
nth() { sed -n "$(( $2 + 1 ))p" "$1"; }

BROWSER="$TOP/test/fake-browser.sh" run login --groups
expect_rc 0 "login --groups"
grp=$(db "SELECT id FROM calendars WHERE kind = 'group'")
run calendars --cached --pull 1,$grp --push 1,2,$grp
expect_rc 0 "roles: pull two calendars, push to three"
# A pass before booking: the blocks are in the book, so that the bookings
# below, --force over whatever they hit, are chosen conflicts (never told).
run sync
expect_rc 0 "a pass before booking pulls the blocks"
slot=0
book() {
	rnd 20; d=$(date -u -d "+$((1 + R)) day" +%F)
	rnd 10; h=$(printf %02d $((8 + R)))
	rnd 2; m=$((R * 30))
	"$BIN" appt add --start "${d}T$h:$(printf %02d $m)Z" --end "${d}T$h:$(printf %02d $((m + 20)))Z" \
	    --subject "Appt $slot" --client "C$slot" --force >/dev/null 2>&1
	slot=$((slot + 1))
}
i=0
while [ $i -lt 12 ]; do book; i=$((i + 1)); done
run sync
expect_rc 0 "a first clean pass pushes the first twelve"
ext0=$(db "SELECT count(*) FROM appointments WHERE kind = 'ext'")

# SPEC = one random fault (a variable, not $(...): rnd must advance the seed)
B='/\\$batch$'
fault_spec() {
	rnd 3; times=$((R + 1))
	rnd 2; skip=$R
	rnd 10
	case $R in
	0) SPEC="{\"kind\":\"throttle\",\"retry_after\":\"0.5\",\"match\":{\"in_batch\":true},\"times\":$times,\"skip\":$skip}" ;;
	1) SPEC="{\"kind\":\"throttle\",\"retry_after\":\"1\",\"match\":{\"method\":\"POST\",\"path\":\"$B\"},\"times\":1}" ;;
	2) SPEC="{\"kind\":\"status\",\"status\":503,\"retry_after\":\"0.5\",\"match\":{\"method\":\"GET\",\"path\":\"delta\"},\"times\":$times}" ;;
	3) SPEC="{\"kind\":\"status\",\"status\":503,\"match\":{\"in_batch\":true},\"times\":$times,\"skip\":$skip}" ;;
	4) SPEC="{\"kind\":\"cut_after_commit\",\"match\":{\"method\":\"POST\",\"path\":\"$B\"},\"times\":$times}" ;;
	5) SPEC="{\"kind\":\"cut_after_commit\",\"match\":{\"method\":\"GET\",\"path\":\"delta\"},\"times\":1}" ;;
	6) rnd 1200; SPEC="{\"kind\":\"slow\",\"delay_ms\":$((300 + R)),\"match\":{\"method\":\"POST\",\"path\":\"$B\"},\"times\":$times}" ;;
	7) SPEC="{\"kind\":\"slow\",\"delay_ms\":2600,\"match\":{\"method\":\"POST\",\"path\":\"$B\"},\"times\":1}" ;;
	8) SPEC="{\"kind\":\"status\",\"status\":500,\"match\":{\"method\":\"POST\",\"in_batch\":true,\"path\":\"/events$\"},\"times\":$times,\"skip\":$skip}" ;;
	9) SPEC="{\"kind\":\"slow\",\"delay_ms\":2500,\"match\":{\"method\":\"GET\",\"path\":\"delta\"},\"times\":1}" ;;
	esac
}

pass=1
bad_rc=""
n75=0
while [ $pass -le 20 ]; do
	# Changes on both sides.
	rnd 3; k=$R
	while [ $k -gt 0 ]; do
		k=$((k - 1))
		booked_ids >"$T/booked"
		nb=$(grep -c . "$T/booked")
		rnd 5
		case $R in
		0) book ;;
		1) rnd "$nb"; id=$(nth "$T/booked" "$R")
		   rnd 2
		   if [ $R -eq 0 ]; then
			"$BIN" appt edit "$id" --subject "Edited $pass" >/dev/null 2>&1
		   else
			rnd 20; d=$(date -u -d "+$((1 + R)) day" +%F)
			"$BIN" appt edit "$id" --start "${d}T19:00Z" --end "${d}T19:40Z" --force >/dev/null 2>&1
		   fi ;;
		2) if [ "$nb" -gt 4 ]; then rnd "$nb"; "$BIN" appt cancel "$(nth "$T/booked" "$R")" >/dev/null 2>&1; fi ;;
		3|4) our_ids >"$T/ids"
		   ni=$(grep -c . "$T/ids")
		   if [ "$ni" -gt 0 ]; then
			rnd "$ni"; ev=$(nth "$T/ids" "$R")
			rnd 5
			if [ $R -lt 3 ]; then
				emu POST /_emu/outlook "{\"op\":\"edit\",\"id\":\"$ev\",\"event\":{\"subject\":\"Changed in Teams\",\"showAs\":\"free\"}}" >/dev/null
			else
				emu POST /_emu/outlook "{\"op\":\"delete\",\"id\":\"$ev\"}" >/dev/null
			fi
		   fi ;;
		esac
	done
	# Faults for this pass.
	rnd 3; nf=$((R + 1))
	specs=""
	while [ $nf -gt 0 ]; do
		fault_spec
		specs="$specs${specs:+,}$SPEC"
		nf=$((nf - 1))
	done
	emu POST /_emu/faults "{\"faults\":[$specs]}" >/dev/null || printf '# bad fault spec: %s\n' "$specs"
	[ -n "${PUSH_VERBOSE:-}" ] && printf '# pass %d faults: %s\n' "$pass" "$specs"
	"$BIN" sync >/dev/null 2>"$T/err.$pass"
	r=$?
	[ $r -eq 75 ] && n75=$((n75 + 1))
	if [ $r -ne 0 ] && [ $r -ne 75 ] && [ $r -ne 69 ]; then
		bad_rc="$bad_rc pass $pass: exit $r ($(head -1 "$T/err.$pass"));"
	fi
	emu DELETE /_emu/faults >/dev/null
	settle 10 || echo "# pass $pass: the emulator did not settle"
	pass=$((pass + 1))
done
echo "# $n75 of 20 passes stopped with exit 75"
check '[ -z "$bad_rc" ]' "every pass under faults exits 0, 75 (temporary) or 69 (unavailable after retries)$bad_rc"

emu DELETE /_emu/requests >/dev/null
run sync
r1=$rc
run sync
expect_rc 0 "the second clean pass exits 0"
expect_silent "and is silent"
check '[ "$r1" -eq 0 ] || [ "$r1" -eq 75 ]' "the first clean pass exits 0 or 75 ($r1)"
remote_problems "$ALL" "{subject} #{id}" busy >"$T/problems"
check '[ ! -s "$T/problems" ]' "after 20 faulty passes and two clean ones: every booked appointment exactly once on every push calendar, as booked, nothing for the cancelled, no duplicate$(sed 's/^/; /' "$T/problems" | head -6 | tr -d '\n')"
nbooked=$(booked_ids | grep -c .)
ncancelled=$(db "SELECT count(*) FROM appointments WHERE kind = 'booked' AND status = 'cancelled'")
echo "# $nbooked booked, $ncancelled cancelled"
check '[ "$(db "SELECT count(*) FROM pushed WHERE event_id IS NOT NULL")" -eq $((nbooked * 3)) ]' \
    "the store maps exactly one event per booked appointment and push calendar"
check '[ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'ext'"'")" -eq "$ext0" ]' "no event of ours became a block"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "one more pass"
check '[ "$(emu count "*" "batch")" -eq 0 ]' "and it sends no \$batch"
