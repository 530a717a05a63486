# SPDX-License-Identifier: ISC
# Family 38, push: one Teams meeting per online appointment.  The event on
# the first push calendar holds the meeting (isOnlineMeeting); the events on
# the other push calendars carry its join URL in their text, so every
# calendar shows the same link (not one meeting per calendar).  When the
# meeting gets a new link (its event deleted in Outlook and created again,
# or a body PATCH: microsoft-graph-docs #18896) the other events are written
# again with it, in the same pass; when the calendar holding it leaves the
# push role, the next one takes the meeting over.  The book shows the link
# the service has now, also when it changed in Outlook.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 5"
# links: one line per event of ours with subject $1: calendar, online,
# joinUrl ("-"), the link in its text ("-").
links() {
	emu GET /_emu/state | python3 -c '
import json, re, sys
s = json.load(sys.stdin)
for k in ("users", "groups"):
    for mb in s[k]:
        for c in mb["calendars"]:
            name = c["name"] if k == "users" else "group:" + mb["displayName"]
            for e in c["events"]:
                if e.get("subject") != sys.argv[1]:
                    continue
                m = re.search(r"Join the Teams meeting: (\S+)", (e.get("body") or {}).get("content") or "")
                print(name.replace(" ", "_"), str(bool(e.get("isOnlineMeeting"))).lower(),
                      (e.get("onlineMeeting") or {}).get("joinUrl") or "-", m.group(1) if m else "-")' "$1" | sort
}
# consistent FILE: one meeting, every other event carrying its link; prints
# the link.
consistent() {
	python3 - "$1" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1])]
meet = [r for r in rows if r[1] == "true"]
if len(meet) == 1 and all(r[1] == "false" and r[2] == "-" and r[3] == meet[0][2] for r in rows if r is not meet[0]):
    print(meet[0][2])
EOF
}

BROWSER="$TOP/test/fake-browser.sh" run login --groups
expect_rc 0 "login --groups"
grp=$(db "SELECT id FROM calendars WHERE kind = 'group'")
run calendars --cached --pull 1 --push 1,2,$grp
expect_rc 0 "three push calendars"
run appt add --start "$(d 1)T17:00Z" --end "$(d 1)T17:30Z" --subject "Video consult" --online
a=$(cat "$T/out")
run appt add --start "$(d 1)T18:00Z" --end "$(d 1)T18:30Z" --subject "Plain"
run sync
expect_rc 0 "the first pass"
expect_silent "is silent"
links "Video consult" >"$T/l1"
sed 's/^/# /' "$T/l1"
l1=$(consistent "$T/l1")
check '[ "$(wc -l <"$T/l1")" -eq 3 ] && [ -n "$l1" ]' "three events, one Teams meeting, the other two carry its join URL"
check 'grep -q "^Calendar true" "$T/l1"' "the event on the first push calendar holds the meeting"
check '[ "$(db "SELECT join_url FROM appointments WHERE id = $a")" = "$l1" ]' "the book shows the meeting's link"
run appt show "$a"
check 'grep -qF -- "$l1" "$T/out"' "appt show prints it"
check '[ "$(links Plain | awk "\$2 != \"false\" || \$4 != \"-\"" | wc -l)" -eq 0 ]' "an appointment that is not online has no meeting and no link"
emu DELETE /_emu/requests >/dev/null
run sync
check '[ "$(writes)" -eq 0 ]' "the next pass sends no write"

# The meeting's event is deleted in Outlook: created again (a new meeting),
# and the two others get its new link in the same pass.
ev=$(evid "Video consult")
outlook "{\"user\":\"ada@contoso.example\",\"op\":\"delete\",\"id\":\"$ev\"}"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the pass after the meeting's event was deleted in Outlook"
links "Video consult" >"$T/l2"
l2=$(consistent "$T/l2")
check '[ "$(wc -l <"$T/l2")" -eq 3 ] && [ -n "$l2" ] && [ "$l2" != "$l1" ]' "one new meeting; the other two events carry its new link$(sed 's/^/; /' "$T/l2" | tr -d '\n')"
check '[ "$(db "SELECT join_url FROM appointments WHERE id = $a")" = "$l2" ]' "the book shows the new link"
np=$(nlog PATCH '*' /events/) nc=$(nlog POST '*' '/events$')
check '[ "$nc" -eq 1 ] && [ "$np" -eq 3 ]' "one create, and two updates besides the one that found the deleted event gone ($nc, $np)"
emu DELETE /_emu/requests >/dev/null
run sync
check '[ "$(writes)" -eq 0 ]' "then no write"

# The meeting's link changes in Outlook (someone removes the Teams meeting
# and adds a new one): the book and the other events follow the service.
ev=$(evid "Video consult")
outlook "{\"user\":\"ada@contoso.example\",\"op\":\"edit\",\"id\":\"$ev\",\"event\":{\"isOnlineMeeting\":false}}"
outlook "{\"user\":\"ada@contoso.example\",\"op\":\"edit\",\"id\":\"$ev\",\"event\":{\"isOnlineMeeting\":true}}"
run sync
expect_rc 0 "the pass after the meeting was made anew in Outlook"
links "Video consult" >"$T/l3"
l3=$(consistent "$T/l3")
check '[ -n "$l3" ] && [ "$l3" != "$l2" ] && [ "$(db "SELECT join_url FROM appointments WHERE id = $a")" = "$l3" ]' \
    "the book and the other events carry the link the service has now$(sed 's/^/; /' "$T/l3" | tr -d '\n')"
run sync
expect_rc 0 "another pass"
links "Video consult" >"$T/l3b"
check 'cmp -s "$T/l3" "$T/l3b"' "the link stays"

# The calendar holding the meeting leaves the push role: its event goes,
# the next push calendar's event becomes the meeting.
run calendars --cached --push 2,$grp
expect_rc 0 "push only to the sub-calendar and the group calendar"
run sync
expect_rc 0 "the pass after the role change"
links "Video consult" >"$T/l4"
l4=$(consistent "$T/l4")
check '[ "$(wc -l <"$T/l4")" -eq 2 ] && [ -n "$l4" ] && grep -q "^Clinic_rota true" "$T/l4"' \
    "two events left; the sub-calendar's holds the meeting, the group's carries its link$(sed 's/^/; /' "$T/l4" | tr -d '\n')"
check '[ "$(db "SELECT join_url FROM appointments WHERE id = $a")" = "$l4" ]' "the book shows it"
run appt show "$a"
check 'grep -qF -- "$l4" "$T/out"' "appt show prints it"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "a pass after"
check '[ "$(writes)" -eq 0 ]' "sends no write"
remote_problems "Clinic rota,group:Front Desk Team" >"$T/problems"
check '[ ! -s "$T/problems" ]' "every appointment once on each push calendar$(sed 's/^/; /' "$T/problems" | tr -d '\n')"

# Made online later: the meeting is added to the first push calendar's
# event; the other gets the link.
b=$(db "SELECT id FROM appointments WHERE subject = 'Plain'")
run appt edit "$b" --online
expect_rc 0 "appt edit --online"
run sync
expect_rc 0 "the pass after"
links Plain >"$T/l5"
l5=$(consistent "$T/l5")
check '[ -n "$l5" ] && grep -q "^Clinic_rota true" "$T/l5" && [ "$(db "SELECT join_url FROM appointments WHERE id = $b")" = "$l5" ]' \
    "one meeting, the other event carries its link, the book shows it$(sed 's/^/; /' "$T/l5" | tr -d '\n')"

# No longer online: no meeting, and no event's text carries a link.
run appt edit "$b" --no-online
expect_rc 0 "appt edit --no-online"
run sync
expect_rc 0 "the pass after"
links Plain >"$T/l6"
check '[ "$(wc -l <"$T/l6")" -eq 2 ] && [ "$(awk "\$2 != \"false\" || \$3 != \"-\" || \$4 != \"-\"" "$T/l6" | wc -l)" -eq 0 ] &&
    [ -z "$(db "SELECT join_url FROM appointments WHERE id = $b")" ]' \
    "neither event is a meeting or carries a link, the book forgets it$(sed 's/^/; /' "$T/l6" | tr -d '\n')"
