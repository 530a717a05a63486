# Family 30, push: every booked appointment in the window appears exactly
# once on every push calendar (the own calendar, a sub-calendar inside a
# calendar group, a Microsoft 365 group calendar), as ours: subject per
# push_subject, no attendees of ours (a group calendar adds the group), sensitivity per
# push_private, a body naming TimeTap and the appointment id, the marker
# (an extended property holding the appointment id) and a transactionId
# "timetap-...".  --online gets a Teams meeting whose join URL is stored
# and shown by `appt show`.  Our events come back in the pull as feed rows
# with reason "timetap" and never become [ext] blocks, on any calendar.
# A pass after a pass with no change sends no write and is silent.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 5" "push_subject = TT {subject} for {client} #{id}" "push_private = yes"
CALS="Calendar,Clinic rota,group:Front Desk Team"

# Our events in the emulator, one line each:
# calendar, appointment (marker), subject, start, end, transactionId,
# sensitivity, attendees, showAs, isOnlineMeeting, joinUrl, body, marker ids
our_events() { ours calendar appt subject start end transactionId sensitivity attendees showAs isOnlineMeeting joinUrl body props; }

BROWSER="$TOP/test/fake-browser.sh" run login --groups
expect_rc 0 "login --groups"
grp=$(db "SELECT id FROM calendars WHERE kind = 'group'")
run calendars --cached --pull 1,2,$grp --push 1,2,$grp
expect_rc 0 "roles: pull and push the own calendar, the sub-calendar and the group calendar"
run calendars --cached
check 'grep -E "^2 .*Other calendars/Clinic rota .*pull,push" "$T/out" >/dev/null && grep -E "Front Desk Team \(group\) .*pull,push" "$T/out" >/dev/null' \
    "calendars lists the roles"

day=$(date -u -d '+1 day' +%F)
run appt add --start "${day}T15:00Z" --end "${day}T15:30Z" --subject "Haircut" --client "Bob"
expect_rc 0 "book an appointment with a client"
a1=$(cat "$T/out")
run appt add --start "${day}T16:00Z" --end "${day}T16:45Z" --subject "Video consult" --client "Eve" --online
expect_rc 0 "book an online appointment"
a2=$(cat "$T/out")
run appt add --start "${day}T17:30Z" --end "${day}T18:00Z" --subject "Colour"
expect_rc 0 "book an appointment without a client"
a3=$(cat "$T/out")
run appt add --start "${day}T18:30Z" --end "${day}T19:00Z" --subject "Never here"
a4=$(cat "$T/out")
run appt cancel "$a4"
expect_rc 0 "a cancelled appointment (must never be pushed)"

emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the first pass pulls and pushes"
expect_silent "and is silent"
ext0=$(nblk)
our_events >"$T/ours"
remote_problems "$CALS" "TT {subject} for {client} #{id}" >"$T/problems"
check '[ ! -s "$T/problems" ]' "every booked appointment is exactly once on each of the three push calendars, with the book's subject and times$(sed 's/^/; /' "$T/problems" | head -5 | tr -d '\n')"
check '[ "$(wc -l <"$T/ours")" -eq 9 ]' "nine events of ours in all (3 appointments x 3 calendars), none for the cancelled one"
check '[ "$(awk -F"\t" -v a="$a1" "\$2 == a && \$3 == \"TT Haircut for Bob #$a1\"" "$T/ours" | wc -l)" -eq 3 ]' \
    "push_subject expands {subject}, {client} and {id}"
check '[ "$(awk -F"\t" -v a="$a3" "\$2 == a && \$3 == \"TT Colour for  #$a3\"" "$T/ours" | wc -l)" -eq 3 ]' \
    "an absent client expands to nothing"
check '[ "$(awk -F"\t" "\$1 !~ /^group:/ && \$8 != 0" "$T/ours" | wc -l)" -eq 0 ]' "no event of ours on a user calendar has attendees"
# A group calendar makes meetings (microsoft-graph-docs #315): the service
# adds the group and the creator; nothing the tool can send prevents it.
check '[ "$(awk -F"\t" "\$1 ~ /^group:/ && \$8 != 2" "$T/ours" | wc -l)" -eq 0 ]' "on the group calendar the service made the group and the creator attendees"
inv=$(emu GET /_emu/state | python3 -c 'import json,sys; s=json.load(sys.stdin); print(sum(u["counters"].get("invitations_sent", 0) for u in s["users"]))')
check '[ "$inv" -eq 0 ]' "no invitation was sent from a user's mailbox"
check '[ "$(awk -F"\t" "\$7 != \"private\"" "$T/ours" | wc -l)" -eq 0 ]' "push_private = yes: every event of ours is private"
check '[ "$(awk -F"\t" "\$9 != \"busy\"" "$T/ours" | wc -l)" -eq 0 ]' "our events show the time as busy"
check '[ "$(awk -F"\t" "\$6 !~ /^timetap-/" "$T/ours" | wc -l)" -eq 0 ]' "every event of ours carries a transactionId starting timetap-"
check '[ "$(cut -f6 "$T/ours" | sort -u | wc -l)" -eq 9 ]' "one transactionId per event"
check '[ "$(awk -F"\t" -v m="$MARK" "\$13 != m" "$T/ours" | wc -l)" -eq 0 ]' "the marker is the one fixed named extended property"
bad=$(awk -F'\t' '{ if (index($12, "TimeTap") == 0 || index($12, "appointment " $2) == 0) print }' "$T/ours" | wc -l)
check '[ "$bad" -eq 0 ]' "the body names TimeTap as the source and the appointment id"
check 'awk -F"\t" -v a="$a1" "\$2 == a" "$T/ours" | grep -q "for Bob"' "the body names the client"
check '[ "$(awk -F"\t" -v a="$a2" "\$2 == a && \$10 == \"true\" && \$11 ~ /^https:\/\/teams\.microsoft\.com\//" "$T/ours" | wc -l)" -eq 1 ] &&
    [ "$(awk -F"\t" -v a="$a2" "\$2 == a && \$1 == \"Calendar\" && \$10 == \"true\"" "$T/ours" | wc -l)" -eq 1 ]' \
    "the online appointment is one Teams meeting, held by its event on the first push calendar"
link=$(awk -F'\t' -v a="$a2" '$2 == a && $10 == "true" { print $11 }' "$T/ours")
check '[ -n "$link" ] && [ "$(awk -F"\t" -v a="$a2" -v l="$link" "\$2 == a && \$10 == \"false\" && index(\$12, \"Join the Teams meeting: \" l) > 0" "$T/ours" | wc -l)" -eq 2 ]' \
    "its events on the other two calendars carry the same join URL in their text"
check '[ "$(awk -F"\t" -v a="$a2" "\$2 != a && \$10 != \"false\"" "$T/ours" | wc -l)" -eq 0 ]' \
    "the other appointments are not online meetings"
join=$(db "SELECT join_url FROM appointments WHERE id = $a2")
check '[ -n "$join" ] && awk -F"\t" "{ print \$11 }" "$T/ours" | grep -qxF -- "$join"' \
    "the join URL of one of its Teams meetings is stored in the book"
run appt show "$a2"
expect_rc 0 "appt show of the online appointment"
check 'grep -qF -- "$join" "$T/out"' "appt show prints the join URL"
run appt show "$a1"
check '! grep -q "teams.microsoft.com" "$T/out"' "appt show prints no join URL for an appointment that is not online"
check '[ "$(db "SELECT count(*) FROM pushed WHERE event_id IS NOT NULL")" -eq 9 ]' "the store maps the nine events"
check '[ "$("$BIN" status --json | python3 -c "import json, sys; p = json.load(sys.stdin)[0][\"last_pass\"]; print(p[\"exit_code\"], p[\"pushed\"])")" = "0 9" ]' \
    "status: the first pass pushed nine events"
emu GET /_emu/requests >"$T/log.json"
nbatch=$(python3 -c '
import json, sys
print(sum(1 for r in json.load(open(sys.argv[1]))["requests"] if r["method"] == "POST" and r["path"] == "/v1.0/$batch"))' "$T/log.json")
ncreate=$(python3 -c '
import json, sys
print(sum(1 for r in json.load(open(sys.argv[1]))["requests"] if r["method"] == "POST" and r["path"].endswith("/events")))' "$T/log.json")
ninbatch=$(python3 -c '
import json, sys
print(sum(1 for r in json.load(open(sys.argv[1]))["requests"] if r["method"] == "POST" and r["path"].endswith("/events") and r["in_batch"]))' "$T/log.json")
check '[ "$nbatch" -ge 2 ] && [ "$nbatch" -le 4 ]' "the writes went in \$batch requests (one per mailbox: $nbatch)"
check '[ "$ncreate" -eq 9 ] && [ "$ninbatch" -eq 9 ]' "nine creates, every one an item inside a \$batch ($ninbatch of $ncreate)"

# The next pass reads our events back: never a block, shown as timetap.
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the second pass"
expect_silent "is silent"
check '[ "$(writes)" -eq 0 ]' "a pass after a pass with no change sends no write (no POST, PATCH, DELETE or \$batch)"
check '[ "$(nblk)" -eq "$ext0" ]' "our events never became [ext] blocks (still $ext0 blocks)"
check '[ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'ext'"' AND (subject LIKE '"'TT %'"' OR subject IN ('"'Haircut'"', '"'Video consult'"', '"'Colour'"'))")" -eq 0 ]' \
    "no block carries the subject of one of our events"
run feed --all --json
expect_rc 0 "feed --all --json"
python3 - "$T/out" "$a1,$a2,$a3" >"$T/feedcheck" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
want = sys.argv[2].split(",")
ours = [r for r in rows if r["subject"].startswith("TT ")]
cals = {}
for r in ours:
    if r["reason"] != "timetap" or r["loaded"] or str(r["id"]) not in want:
        print("bad row", r)
    if not r["subject"].endswith("#%s" % r["id"]):
        print("subject/id mismatch", r)
    cals.setdefault(r["calendar"], set()).add(str(r["id"]))
for c in ("Calendar", "Other calendars/Clinic rota", "Front Desk Team (group)"):
    if cals.get(c) != set(want):
        print("calendar %s: timetap rows for %s, want %s" % (c, sorted(cals.get(c, [])), want))
if len(ours) != 9:
    print("%d rows of ours, want 9" % len(ours))
EOF
check '[ ! -s "$T/feedcheck" ]' "the feed shows each of our events on each of the three calendars as reason timetap with the appointment id$(sed 's/^/; /' "$T/feedcheck" | head -3 | tr -d '\n')"
run feed --all
check 'grep -E "^$a1 .*TT Haircut for Bob #$a1 .*timetap" "$T/out" >/dev/null' "the feed table shows the appointment id in the ID column and the reason timetap"

emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "a third pass"
expect_silent "is silent"
check '[ "$(writes)" -eq 0 ]' "and sends no write either"
our_events >"$T/ours2"
check 'cmp -s "$T/ours" "$T/ours2"' "the events of ours are untouched by the passes without change"
lastpass() {
	"$BIN" status --json | python3 -c '
import json, sys
p = json.load(sys.stdin)[0]["last_pass"]
print(p["exit_code"], p["pushed"], p["deleted"])'
}
check '[ "$(lastpass)" = "0 0 0" ]' "status: the last pass pushed and deleted nothing"

# ---- the subject template hides the client: it leaves every event ----
emu_config "retry_budget = 5" "push_subject = Booked" "push_private = yes"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "a pass after push_subject changed to 'Booked'"
our_events >"$T/ours3"
check '[ "$(wc -l <"$T/ours3")" -eq 9 ] && [ "$(awk -F"\t" "\$3 != \"Booked\"" "$T/ours3" | wc -l)" -eq 0 ]' \
    "every event already pushed now has the subject Booked"
check '! grep -q "Bob" "$T/ours3"' "the client's name is nowhere in the events (subject, body)"
# The body changed, and a body PATCH gives the Teams meeting a new link
# (microsoft-graph-docs #18896): the same pass writes it into the two other
# events of that appointment.
np=$(nlog "PATCH" "*" "/events/") nc=$(nlog "POST" "*" "/events")
check '[ "$np" -eq 11 ] && [ "$nc" -eq 0 ]' \
    "nine updates and two for the meeting's new link, no create ($np PATCH, $nc POST)"
link2=$(awk -F'\t' -v a="$a2" '$2 == a && $10 == "true" { print $11 }' "$T/ours3")
check '[ -n "$link2" ] && [ "$link2" != "$link" ] && [ "$(db "SELECT join_url FROM appointments WHERE id = $a2")" = "$link2" ] &&
    [ "$(awk -F"\t" -v a="$a2" -v l="$link2" "\$2 == a && \$10 == \"false\" && index(\$12, l) > 0" "$T/ours3" | wc -l)" -eq 2 ]' \
    "the book and the two other events carry the meeting's new link"
emu DELETE /_emu/requests >/dev/null
run sync
check '[ "$(writes)" -eq 0 ]' "the next pass sends no write"
