# SPDX-License-Identifier: ISC
# Family 36, push: what the service changes on its own.  A dismissed
# reminder, a category, a response change an event's changeKey
# (graph-docs resources/event.md) but no field TimeTap owns: no PATCH.
# A create whose transactionId the service has seen is refused
# (ErrorDuplicateTransactionId, alcionai/corso #2490): the event is looked
# up and adopted, or created anew when it is gone -- never a failure on
# every pass.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 5"
export BROWSER="$TOP/test/fake-browser.sh"
trun login
expect_rc 0 "login"
run appt add --start "$(d 1)T17:00Z" --end "$(d 1)T17:30Z" --subject Checkup --client Ivy --online --force
a=$(cat "$T/out")
run sync
expect_rc 0 "the first pass pushes an online appointment"
evof() { remote_events "$1" | awk '{print $2, $4}'; }
ev=$(evof Checkup | awk '{print $1}')
join0=$(evof Checkup | awk '{print $2}')
check '[ -n "$ev" ] && [ "$join0" != "-" ]' "one event with a Teams link"
check '[ "$(db "select join_url from appointments where id = $a")" = "$join0" ]' "the book shows that link"

for op in '"op":"dismiss_reminder"' '"op":"categorize","categories":["Red"]' '"op":"respond","response":"accepted"'; do
	outlook "{$op,\"id\":\"$ev\"}"
	emu DELETE /_emu/requests >/dev/null
	run sync
	expect_rc 0 "a pass after {$op}"
	check '[ "$(writes)" -eq 0 ]' "{$op}: a new changeKey alone sends no PATCH"
done

# An edit of a field we own is set back -- without the body: a body PATCH
# would regenerate the Teams link.
outlook "{\"op\":\"edit\",\"id\":\"$ev\",\"event\":{\"subject\":\"Checkup (moved)\"}}"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the pass after a Teams edit"
check '[ "$(nlog PATCH "*" "/events/")" -eq 1 ]' "one PATCH sets it back"
check '[ "$(evof Checkup | awk "{print \$2}")" = "$join0" ]' "the PATCH sent no body: the Teams link is the same"
# A change of the body rules (push_subject shows the client now) sends the body.
emu_config "retry_budget = 5" "push_subject = {subject} ({client})"
run sync
expect_rc 0 "the pass after push_subject changed"
join1=$(evof "Checkup (Ivy)" | awk '{print $2}')
check '[ "$join1" != "-" ] && [ "$join1" != "$join0" ]' "the body changed, the service made a new link"
check '[ "$(db "select join_url from appointments where id = $a")" = "$join1" ]' "the book shows the link the service returns now"
emu_config "retry_budget = 5"

# ---- libcurl's own re-send: the copy is refused, the event adopted ----
# The connection dies after the service made the events and before any
# byte of the answer: libcurl sends the batch again on a new connection
# by itself; the service refuses the replayed transactionIds.
run appt add --start "$(d 4)T14:00Z" --end "$(d 4)T14:30Z" --subject Resent --force
hits0=$(counter tx_dedup_hits)
set_fault '{"kind":"cut_after_commit","match":{"method":"POST","path":"/\\$batch"},"times":1}'
run sync
r1=$rc
hits1=$(counter tx_dedup_hits)
nofault
run sync
check '[ "$r1" -eq 0 ] || [ "$r1" -eq 75 ]' "a lost answer: the pass ends 0 (re-sent and adopted) or 75 (exit $r1)"
check '[ "$(evof Resent | wc -l)" -eq 1 ]' "exactly one event, after the next pass at the latest"
check '[ "$(counter tx_duplicates)" -eq 0 ]' "no duplicate was made"
check '[ "$r1" -ne 0 ] || [ "$hits1" -gt "$hits0" ]' "a pass that ended 0 did so because the service refused the re-sent copy ($hits0 -> $hits1 refusals)"

# ---- a refused replay of an event deleted before the tool knew it ----
run appt add --start "$(d 3)T14:00Z" --end "$(d 3)T14:30Z" --subject Replay --force
b=$(cat "$T/out")
set_fault '{"kind":"truncate","match":{"method":"POST","path":"/\\$batch"},"times":1}'
run sync
check '[ $rc -eq 75 ]' "a cut answer to the create: 75 (exit $rc)"
nofault
rev=$(evof Replay | awk '{print $1}')
check '[ -n "$rev" ]' "the service did create it"
outlook "{\"op\":\"delete\",\"id\":\"$rev\"}"
# Deleted in Teams before the tool knew it existed: the lookup finds
# nothing and the tool creates it again, once.
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the next pass succeeds"
expect_silent "silently"
check '[ "$(evof Replay | wc -l)" -eq 1 ]' "exactly one event"
check '[ "$(db "select count(*) from pushed where appt_id = $b and event_id is not null")" -eq 1 ]' "mapped"
emu DELETE /_emu/requests >/dev/null
run sync
check '[ "$(writes)" -eq 0 ]' "and the pass after writes nothing"

# ---- a service that does not refuse the re-sent copy ----
# With de-duplication off, libcurl's re-send of a create leaves two
# events with one transactionId; the next read finds the second copy and
# deletes it, keeping the one the store maps.
ctl POST /_emu/config '{"txn_replay": "duplicate"}' >/dev/null
run appt add --start "$(d 5)T14:00Z" --end "$(d 5)T14:30Z" --subject Twice --force
c=$(cat "$T/out")
set_fault '{"kind":"cut_after_commit","match":{"method":"POST","path":"/\\$batch"},"times":1}'
run sync
nofault
dups0=$(counter tx_duplicates)
run sync
expect_rc 0 "the pass after"
n=$(evof Twice | wc -l)
check '[ "$n" -eq 1 ]' "one event of the appointment is left ($n; the service had made $dups0 duplicate(s))"
check '[ "$(evof Twice | awk "{print \$1}")" = "$(db "select event_id from pushed where appt_id = $c")" ]' "the one the store maps"
run appt cancel "$c"
run sync
check '[ "$(evof Twice | wc -l)" -eq 0 ]' "a cancel then leaves nothing behind"

# The delete of a second copy fails (503 on every try), or the pass is
# killed between the read that found it and the delete, or the service
# refuses the access token (a CAE 401): the copy is remembered with the
# read, and a later pass deletes it -- an unchanged copy never shows in a
# delta again.  (Found by family 42.)
twice() {	# a new appointment, pushed with a lost answer: two events
	run appt add --start "$(d $1)T14:00Z" --end "$(d $1)T14:30Z" --subject "$2" --force
	set_fault '{"kind":"cut_after_commit","match":{"method":"POST","path":"/\\$batch"},"times":1}'
	run sync
	nofault
}
twice 8 "Copy A"
set_fault '{"kind":"status","status":503,"match":{"method":"DELETE","in_batch":true},"times":40}'
run sync
check '[ "$rc" -eq 75 ] && grep -q "second copy.*(the next run continues)" "$T/err"' "the copy's delete fails: exit 75, and the line says the next run continues ($rc)"
check '[ "$(evof "Copy A" | wc -l)" -eq 2 ]' "both events are still there"
nofault
run sync
expect_rc 0 "the next pass"
check '[ "$(evof "Copy A" | wc -l)" -eq 1 ]' "deletes the copy it remembered"
twice 9 "Copy B"
# The read is committed, then the pass is held (its $batch is slow) and killed.
set_fault '{"kind":"slow","delay_ms":4000,"match":{"method":"POST","path":"/\\$batch"},"times":1}'
"$BIN" sync >/dev/null 2>&1 &
pid=$!
w=0
while [ $w -lt 100 ] && [ "$(db "select count(*) from strays")" -eq 0 ]; do sleep 0.05; w=$((w + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
check '[ "$(db "select count(*) from strays")" -eq 1 ]' "a pass killed after the read remembered the copy"
settle 10
nofault
run sync
expect_rc 0 "the pass after the kill"
check '[ "$(evof "Copy B" | wc -l)" -eq 1 ] && [ "$(db "select count(*) from strays")" -eq 0 ]' "deletes it"
twice 10 "Copy C"
emu POST /_emu/tokens/cae '{"cae_code": "TokenIssuedBeforeRevocationTimestamp"}' >/dev/null
run sync
expect_rc 0 "a pass whose token is refused meanwhile (refreshed once)"
check '[ "$(evof "Copy C" | wc -l)" -eq 1 ]' "the copy is deleted after the refresh"
ctl POST /_emu/config '{"txn_replay": "error"}' >/dev/null

# ---- text that is not UTF-8 ----
run appt add --start "$(d 6)T14:00Z" --end "$(d 6)T14:30Z" --subject "$(printf 'Caf\351')" --force
expect_rc 64 "appt add refuses a Latin-1 subject"
expect_err 'subject is not valid UTF-8' "in one line"
# A scheduling application writes such a row straight into the table.
db "INSERT INTO appointments (profile_id, start_utc, end_utc, subject, client)
    VALUES ((SELECT id FROM profiles WHERE name = 'default'),
    strftime('%s', '$(d 6)T15:00:00'), strftime('%s', '$(d 6)T15:30:00'),
    CAST(X'436166E9' AS TEXT), CAST(X'4AF872676E' AS TEXT))"
run sync
expect_rc 0 "a pass with that row succeeds"
expect_err 'not UTF-8 pushed with the bad bytes replaced' "and says so once"
check '[ "$(evof "Caf?" | wc -l)" -eq 1 ]' "the event is pushed, the bad byte replaced"
run sync
expect_silent "the next pass is silent"

# ---- a subject longer than Outlook keeps ----
# push_subject "{subject} for {client}" with 200 CJK characters and 100
# emoji: 405 characters (an emoji is two); Outlook keeps 255 (OutlookGoogleCalendarSync
# #2202) and so does the tool, cut at a character, so the event read back
# equals what was written: no PATCH on every pass.
emu_config "retry_budget = 5" "push_subject = {subject} for {client}"
long=$(python3 -c 'print("\u65e5" * 200)') emo=$(python3 -c 'print("\U0001f642" * 100)')
run appt add --start "$(d 7)T14:00Z" --end "$(d 7)T14:30Z" --subject "$long" --client "$emo$emo" --force
expect_rc 64 "appt add refuses a client of 400 characters"
expect_err '^timetap-sync: client is longer than 255 characters$' "in one line"
run appt add --start "$(d 7)T14:00Z" --end "$(d 7)T14:30Z" --subject "$long" --client "$emo" --force
expect_rc 0 "appt add with a 600-byte subject and an 400-byte client (200 and 200 characters)"
run sync
expect_rc 0 "the pass pushes it"
got=$(emu GET /_emu/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
e = [e for u in s["users"] for c in u["calendars"] for e in c["events"] if (e.get("subject") or "").startswith("\u65e5" * 200)]
print(len(e), len(e[0]["subject"].encode("utf-16-le")) // 2 if e else 0, e[0]["subject"].endswith("\U0001f642") if e else "")')
check '[ "$got" = "1 255 True" ]' "one event, its subject cut to 255 characters at a whole emoji ($got)"
emu DELETE /_emu/requests >/dev/null
run sync
expect_silent "the next pass is silent"
check '[ "$(writes)" -eq 0 ]' "and sends no PATCH"
