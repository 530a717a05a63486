#!/bin/sh
# SPDX-License-Identifier: ISC
# make demo: the whole workflow against the bundled Graph emulator, over
# HTTPS with a throwaway CA, in a scratch directory.  The emulator plays
# Microsoft 365 (a realistic mailbox: test/scenarios/demo.json) and the
# "browser" that approves the sign-in (test/fake-browser.sh).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=$top/timetap-sync
D=$(mktemp -d)
EMU_PID=""
trap '[ -n "$EMU_PID" ] && kill $EMU_PID 2>/dev/null; rm -rf "$D"' EXIT INT TERM
export TIMETAP_SYNC_DB="$D/data/timetap.db" TIMETAP_SYNC_CONFIG="$D/config"
mkdir -m 700 "$D/data"
export BROWSER="$top/test/fake-browser.sh"
# The stand-in browser trusts the throwaway CA, as a real one would be told to.
export CURL_CA_BUNDLE="$D/ca.pem"
bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
tt() { printf '\n\033[1m$ timetap-sync %s\033[0m\n' "$*"; "$BIN" "$@"; rc=$?; [ $rc -eq 0 ] || echo "(exit $rc)"; }
outlook() { python3 "$top/test/emuctl.py" "$EMU" POST /_emu/outlook "$1" >/dev/null; }
remote() { python3 "$top/test/emuctl.py" "$EMU" events "$1" | cut -f1-4 | sed 's/^/    /'; }

python3 "$top/test/graph_emulator.py" --listen 127.0.0.1:0 --tls \
    --ca-out "$D/ca.pem" --scenario "$top/test/scenarios/demo.json" \
    >"$D/emu.out" 2>"$D/emu.err" &
EMU_PID=$!
i=0
while [ -z "$(sed -n 's/^listening //p' "$D/emu.out")" ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
EMU=$(sed -n 's/^listening //p' "$D/emu.out")
[ -n "$EMU" ] || { echo "demo: the emulator did not start"; cat "$D/emu.err"; exit 1; }
cat >"$D/config" <<EOF2
# Microsoft 365 is played by the emulator at $EMU
client_id = 11111111-2222-3333-4444-555555555555
authority_url = $EMU
graph_url = $EMU/v1.0
ca_file = $D/ca.pem
EOF2

bold "timetap-sync demo -- Microsoft 365 is the emulator at $EMU (HTTPS)"
echo "Config:"; sed 's/^/    /' "$D/config"

bold "1. Connect Ada's Office 365 / Teams account (the browser sign-in is approved by a stand-in)"
echo "(Realistic tokens: access tokens of 1.2 to 12 KB; the Teams calendar is found"
echo " through Ada's group memberships, which a plain login may read.)"
tt login
tt calendars
grp=$(sqlite3 "$TIMETAP_SYNC_DB" "SELECT id FROM calendars WHERE kind = 'group' AND name = 'Front Desk Team'")
bold "Pull Busy time from the calendar, the Clinic rota sub-calendar and the Teams calendar; push to Calendar and the Teams calendar"
echo "(The Teams calendar needs Group.ReadWrite.All.  Contoso's administrator has"
echo " consented to it for the app, so Ada's token already carries it and the group"
echo " is named; without that consent it is listed by id, and choosing it asks for"
echo " the permission by incremental consent or says who must grant it.)"
tt calendars --pull 1,2,"$grp" --push 1,"$grp"
tt calendars
tt status

bold "2. The first sync (TimeTap's own takes about 30 minutes)"
tt -v sync
tt feed -n 40
tt appt list

bold "3. Ada changes things in Outlook"
day=$(date -u -d '+1 day' +%F)
outlook "{\"op\":\"add\",\"event\":{\"subject\":\"Parent-teacher meeting\",\"start\":\"${day}T18:00:00Z\",\"end\":\"${day}T19:00:00Z\",\"showAs\":\"busy\"}}"
lunch=$(python3 "$top/test/emuctl.py" "$EMU" events ada@contoso.example | awk -F'\t' '$2 == "Lunch" {print $6; exit}')
outlook "{\"op\":\"showas\",\"id\":\"$lunch\",\"showAs\":\"busy\"}"
echo "    added \"Parent-teacher meeting\" tomorrow 18:00 UTC; marked Lunch as Busy"
tt -v sync
tt feed -n 4

bold "4. Book clients in TimeTap: one in person, one online (Teams)"
tt appt add --start "${day}T15:00" --end "${day}T15:45" --subject "Haircut" --client "Bob"
tt appt add --start "${day}T16:00" --end "${day}T16:30" --subject "Video consult" --client "Alice" --online
tt appt add --start "${day}T18:30" --end "${day}T19:00" --subject "Late slot" --client "Eve"
echo "(refused: the new Outlook meeting blocks that time)"
tt -v sync
tt appt show 2>/dev/null "$(sqlite3 "$TIMETAP_SYNC_DB" "SELECT id FROM appointments WHERE subject = 'Video consult'")"
echo; echo "Ada's calendars at Microsoft 365 now hold:"
remote ada@contoso.example | grep -E 'Haircut|Video consult'
remote "group:Front Desk Team" | grep -E 'Haircut|Video consult'

bold "5. Someone edits the TimeTap event in Teams: TimeTap wins"
ev=$(python3 "$top/test/emuctl.py" "$EMU" events ada@contoso.example | awk -F'\t' '$2 == "Haircut" {print $6; exit}')
outlook "{\"op\":\"edit\",\"id\":\"$ev\",\"event\":{\"subject\":\"Haircut (moved by a colleague)\"}}"
tt -v sync
remote ada@contoso.example | grep -E 'Haircut'
echo "The feed lists TimeTap's own events as not loaded, with their appointment ID:"
tt feed -n 6

bold "6. Why is a slot not bookable? What is open tomorrow? The week at a glance"
tt explain "${day}T18:30Z" --duration 30m
tt free --from "$day" --to "$(date -u -d '+2 day' +%F)" --days all
tt agenda --week

bold "7. A meeting is added in Outlook on top of a booked appointment: the pass tells the conflict"
vs=$(sqlite3 "$TIMETAP_SYNC_DB" "SELECT start_utc FROM appointments WHERE subject = 'Video consult'")
cs=$(date -u -d "@$vs" +%FT%TZ)
ce=$(date -u -d "@$((vs + 3600))" +%FT%TZ)
outlook "{\"op\":\"add\",\"event\":{\"subject\":\"Supplier call\",\"start\":\"$cs\",\"end\":\"$ce\",\"showAs\":\"busy\"}}"
echo "    added \"Supplier call\" in Outlook over the video consult"
echo "(The plan of the next pass first: sync --dry-run reads, saves and sends nothing.)"
tt sync --dry-run
tt sync
echo "(Told once, on stderr so that cron mails it, with exit 2; the next pass is silent.)"
tt sync
tt conflicts
tt explain "$cs"
tt agenda --days 2 --from "$day"

bold "8. Cancel the haircut in TimeTap"
tt appt cancel "$(sqlite3 "$TIMETAP_SYNC_DB" "SELECT id FROM appointments WHERE subject = 'Haircut'")"
tt -v sync
echo "Haircut events left at Microsoft 365: $(python3 "$top/test/emuctl.py" "$EMU" events ada@contoso.example | grep -c Haircut)"

bold "9. Passes with nothing changed: one request per calendar, no write"
"$BIN" sync
tt -v sync

bold "10. Stop the sync, deleting the events it pushed"
tt stop -y --purge-remote
tt status
tt appt list
