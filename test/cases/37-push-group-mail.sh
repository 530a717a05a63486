# Family 37, push: a Teams (group) calendar makes meetings, and its members
# may be mailed (microsoft-graph-docs #315; no request prevents it).  The
# tool keeps that mail to the minimum: one invitation when an appointment
# is pushed, an update only when a field members see changed, one
# cancellation when it is cancelled -- and it warns when a group calendar
# is chosen for push.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 5"
export BROWSER="$TOP/test/fake-browser.sh"
trun login
expect_rc 0 "login"
grp=$(db "select id from calendars where kind = 'group'")
trun calendars --push "$grp"
expect_rc 0 "push to the Teams calendar only"
expect_err 'group calendar pushes meetings: the group becomes an attendee' "a warning, once, when it is chosen"
mail() {	# invitations updates cancellations of the group's mailbox
	emu GET /_emu/state | python3 -c '
import json, sys
g = [g for g in json.load(sys.stdin)["groups"] if g["displayName"] == "Front Desk Team"][0]["counters"]
print(g.get("invitations_sent", 0), g.get("updates_sent", 0), g.get("cancellations_sent", 0))'
}
m0=$(mail)
run appt add --start "$(d 2)T10:00Z" --end "$(d 2)T10:30Z" --subject "Team slot" --force
a=$(cat "$T/out")
run sync
expect_rc 0 "the push"
read -r i1 u1 c1 <<M
$(mail)
M
check '[ "$i1" -ge 1 ] && [ "$u1" -eq 0 ]' "the create sent invitations ($i1), no update"
ev=$(emu GET /_emu/state | python3 -c '
import json, sys
g = [g for g in json.load(sys.stdin)["groups"] if g["displayName"] == "Front Desk Team"][0]
print([e["id"] for c in g["calendars"] for e in c["events"] if e.get("subject") == "Team slot"][0])')
for k in 1 2 3; do run sync; done
gid=$(emu GET /_emu/state | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin)["groups"] if g["displayName"] == "Front Desk Team"][0])')
outlook "{\"user\":\"ada@contoso.example\",\"calendar\":\"group:$gid\",\"op\":\"categorize\",\"id\":\"$ev\",\"categories\":[\"Blue\"]}"
run sync
check '[ "$(mail)" = "$i1 0 $c1" ]' "passes without change and a category change send no mail ($(mail))"
run appt edit "$a" --subject "Team slot (longer)" --end "$(d 2)T11:00Z" --force
run sync
read -r i2 u2 c2 <<M
$(mail)
M
check '[ "$i2" -eq "$i1" ] && [ "$u2" -ge 1 ]' "an edit members see: updates ($u2), no new invitation"
run appt cancel "$a"
run sync
read -r i3 u3 c3 <<M
$(mail)
M
check '[ "$u3" -eq "$u2" ] && [ "$c3" -gt "$c1" ]' "the cancel: cancellations ($c3), no further update"
check 'grep -q "^\.Sh CAVEATS" "$TOP/man/timetap-sync.1" && grep -q "does not$" "$TOP/man/timetap-sync.1"' "the man page says so (CAVEATS)"
