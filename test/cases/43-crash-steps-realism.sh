# SPDX-License-Identifier: ISC
# Family 43, crash recovery at every durable step (lib.sh crash_*) of a
# pass over the realistic world: ada@fabrikam's own calendar, the one Bob
# shares with her (writable) and a Teams calendar, de-duplication off.
# The pass under test has to: delete a second copy of one of our events
# (left by a create the network sent twice), write a Teams meeting's new
# link into the other calendars' events (the meeting was replaced in
# Outlook), push a new online appointment (the meeting first, its link
# after), read the mailbox's time zone (then every calendar again: the
# all-day days changed), and take in a new series on Bob's calendar.
# A crash at any step converges to the uncrashed result.
. "$TOP/test/lib.sh"

emu_start --scenario "$TOP/test/scenarios/realism.json" --state "$T/emu.state"
CRASH_PORT=${EMU##*:}
emu_config "window_future_days = 30" "retry_budget = 5"
ctl POST /_emu/consent '{"admin_grant":["Group.ReadWrite.All"]}' >/dev/null
ctl POST /_emu/config '{"login_user": "ada@fabrikam.example", "txn_replay": "duplicate"}' >/dev/null
BOB="Bob's calendar"
BROWSER="$TOP/test/fake-browser.sh" run login --groups
expect_rc 0 "login --groups"
cid() { db "SELECT remote_id FROM calendars WHERE name = '$(printf %s "$1" | sed "s/'/''/g")'"; }
run calendars --cached --pull "$(cid Calendar),$(cid "$BOB")" --push "$(cid Calendar),$(cid "$BOB"),$(cid "Team 1")"
expect_rc 0 "pull the own and Bob's calendars, push to them and to Team 1"
run appt add --start "$(d 2)T09:00Z" --end "$(d 2)T09:30Z" --subject Consult --client Dora
run appt add --start "$(d 2)T10:00Z" --end "$(d 2)T10:30Z" --subject "Video call" --online
vc=$(cat "$T/out")
run sync
expect_rc 0 "the first pass"

# The work of the pass under test.
run appt add --start "$(d 3)T09:00Z" --end "$(d 3)T09:30Z" --subject Twice
set_fault '{"kind":"cut_after_commit","match":{"method":"POST","path":"/\\$batch"},"times":1}'
run sync
nofault
settle 10
check '[ "$(counter tx_duplicates)" -ge 1 ]' "a create sent twice left a second copy ($(counter tx_duplicates))"
run appt add --start "$(d 4)T11:00Z" --end "$(d 4)T11:45Z" --subject "New video call" --online
ev=$(ours calendar appt id | awk -F'\t' -v a="$vc" '$1 == "Calendar" && $2 == a { print $3 }')
outlook "{\"user\":\"ada@fabrikam.example\",\"op\":\"edit\",\"id\":\"$ev\",\"event\":{\"isOnlineMeeting\":false}}"
outlook "{\"user\":\"ada@fabrikam.example\",\"op\":\"edit\",\"id\":\"$ev\",\"event\":{\"isOnlineMeeting\":true}}"
outlook "{\"user\":\"ada@fabrikam.example\",\"op\":\"time_zone\",\"timeZone\":\"Tokyo Standard Time\"}"
db "UPDATE accounts SET mailbox_zone_at = 1"
outlook "{\"user\":\"ada@fabrikam.example\",\"op\":\"add\",\"calendar\":\"$BOB\",\"event\":{\"subject\":\"Bob's rounds\",\"start\":\"+1d13:00\",\"end\":\"+1d14:00\",\"showAs\":\"busy\",\"recurrence\":{\"pattern\":{\"type\":\"weekly\",\"interval\":1},\"range\":{\"type\":\"numbered\",\"numberOfOccurrences\":3}}}}"
outlook "{\"user\":\"ada@fabrikam.example\",\"op\":\"add\",\"event\":{\"subject\":\"Offsite\",\"start\":\"+5d\",\"end\":\"+6d\",\"isAllDay\":true,\"showAs\":\"oof\"}}"
check '[ -n "$ev" ]' "the mailbox changes were made"

crash_prepare ada@fabrikam.example bob@fabrikam.example "group:$(db "SELECT container FROM calendars WHERE name = 'Team 1'")"
crash_reference
remote_problems "Calendar,$BOB,group:Team 1" >"$T/problems"
check '[ ! -s "$T/problems" ]' "the reference: every appointment once on each push calendar, the copy gone$(sed 's/^/; /' "$T/problems" | head -3 | tr -d '\n')"
check '[ "$(ours appt isOnlineMeeting joinUrl | awk -F"\t" -v a="$vc" "\$1 == a && \$2 == \"true\"" | wc -l)" -eq 1 ]' \
    "the reference: one Teams meeting for the online appointment"
check 'grep -q "Bob.s rounds" "$T/ref.book" && grep -q "Offsite" "$T/ref.book"' "the reference book has the new series and the all-day event"
check 'grep -q "^group:Team 1	" "$T/ref.remote"' "the snapshots hold the Teams calendar's events too"
crash_every_step
