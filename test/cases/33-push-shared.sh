# Family 33, push: a calendar someone else shared with the user (owner is
# not the user, canEdit true) as a push target.  Graph answers 404 for its
# events under /me/events/{id} (microsoft-graph-docs #6765): every write
# goes through the calendar's own path, and no 404 from a wrong path ever
# makes the tool create the event again.
. "$TOP/test/lib.sh"

emu_setup realism
export BROWSER="$TOP/test/fake-browser.sh"
emu POST /_emu/config '{"login_user": "ada@fabrikam.example"}' >/dev/null
BOB="Bob's calendar"
trun login
expect_rc 0 "login"
trun calendars --push "Calendar,Other calendars/$BOB"
expect_rc 0 "the shared calendar (writable) is a push target"
run appt add --start "$(d 2)T09:00Z" --end "$(d 2)T10:00Z" --subject Consult --client Dora
a1=$(cat "$T/out")
run appt add --start "$(d 3)T09:00Z" --end "$(d 3)T10:00Z" --subject Review
a2=$(cat "$T/out")
run sync
expect_rc 0 "the first pass pushes"
remote_problems "Calendar,$BOB" >"$T/problems"
check '[ ! -s "$T/problems" ]' "each appointment once on both calendars$(sed 's/^/; /' "$T/problems" | tr -d '\n')"

emu DELETE /_emu/requests >/dev/null
run appt edit "$a1" --subject "Consult (long)"
run sync
expect_rc 0 "an edit in the book is pushed"
remote_problems "Calendar,$BOB" >"$T/problems"
check '[ ! -s "$T/problems" ]' "both copies updated$(sed 's/^/; /' "$T/problems" | tr -d '\n')"
check '[ "$(nlog "PATCH" "*" "^/v1.0/me/calendars/[^/]+/events/")" -eq 2 ]' "two PATCHes, through the calendars' own paths"

# Someone edits our event on Bob's calendar: set back, not re-created.
ev=$(emu GET /_emu/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(next(e["id"] for u in s["users"] for c in u["calendars"] if c["name"] == sys.argv[1] for e in c["events"] if e.get("subject") == "Review"))' "$BOB")
outlook "{\"user\":\"ada@fabrikam.example\",\"op\":\"edit\",\"id\":\"$ev\",\"event\":{\"subject\":\"Review (changed by Bob)\"}}"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the pass after a Teams edit on the shared calendar"
remote_problems "Calendar,$BOB" >"$T/problems"
check '[ ! -s "$T/problems" ]' "the edit is set back, nothing duplicated$(sed 's/^/; /' "$T/problems" | tr -d '\n')"
check '[ "$(nlog "POST" "*" "events$")" -eq 0 ]' "no create"

run appt cancel "$a2"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "a cancel is pushed"
remote_problems "Calendar,$BOB" >"$T/problems"
check '[ ! -s "$T/problems" ]' "the cancelled appointment's events are gone$(sed 's/^/; /' "$T/problems" | tr -d '\n')"
check '[ "$(nlog "DELETE" "*" "^/v1.0/me/calendars/[^/]+/events/")" -eq 2 ]' "two DELETEs through the calendars' paths"
check '[ "$(nlog "PATCH|DELETE|GET" "*" "^/v1.0/me/events/")" -eq 0 ]' "nothing addressed through /me/events/{id}"

run stop -y --purge-remote
expect_rc 0 "stop --purge-remote"
expect_out '^Deleted 2 pushed events from Microsoft 365\.$' "deletes both remaining events, one on the shared calendar"
remote_problems "" >"$T/problems"
check '! grep -q "events of ours" "$T/problems"' "nothing of ours is left$(sed 's/^/; /' "$T/problems" | tr -d '\n')"
