# Family 20, pull: every classification and reason of SPEC section 4 against
# the emulator (test/scenarios/pull-classify.json): busy and oof load; free,
# tentative, workingElsewhere, unknown, cancelled, ours and unreadable items
# do not, each with its reason; all-day, multi-day, midnight-crossing and
# recurring events become the right blocks; block_showas, block_all_day and
# pull_subjects change the outcome.
. "$TOP/test/lib.sh"

emu_start --scenario "$TOP/test/scenarios/pull-classify.json" || exit 1
# One line per [ext] block of one subject: start|end|all_day (UTC)
blk() {
	db "SELECT datetime(start_utc, 'unixepoch') || '|' || datetime(end_utc, 'unixepoch')
	    || '|' || all_day FROM appointments WHERE kind = 'ext' AND subject = '$1'
	    ORDER BY start_utc"
}
feed_json() { run feed --all --json; cp "$T/out" "$T/feed.json"; }
# Connect a fresh database (own config) and pull both user calendars.
fresh() {
	export TIMETAP_SYNC_DB="$T/$1/timetap.db" TIMETAP_SYNC_CONFIG="$T/$1.config"
	shift
	emu_config "retry_budget = 3" "$@"
	BROWSER="$TOP/test/fake-browser.sh" run login
	run calendars --pull 1,2
}

fresh main
expect_rc 0 "calendars --pull 1,2"
run sync
expect_rc 0 "first sync"
expect_silent "a successful sync is silent"
feed_json
expect_rc 0 "feed --json"

# Loaded: busy and oof.
check '[ "$(fv "Busy meeting" loaded)" = true ] && [ "$(fv "Busy meeting" reason)" = null ]' "busy: loaded, no reason"
check '[ "$(blk "Busy meeting")" = "$(d 1) 09:00:00|$(d 1) 10:00:00|0" ]' "busy: block at its time"
check '[ "$(fv "OOF timed" loaded)" = true ]' "oof: loaded"
check '[ "$(blk "OOF timed")" = "$(d 1) 11:00:00|$(d 1) 12:00:00|0" ]' "oof: block at its time"
check 'fv "Busy meeting" info | grep -q "^\"updated in Teams [0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]\"$"' "loaded: info is 'updated in Teams <local time>'"
check '[ "$(fv "Busy meeting" id)" = "$(db "SELECT id FROM appointments WHERE subject = '"'"'Busy meeting'"'"'")" ]' "loaded: the feed id is the block's id in the book"

# Not loaded, one reason each.
check '[ "$(fv "Free lunch" loaded)|$(fv "Free lunch" reason)|$(fv "Free lunch" id)" = "false|\"free\"|null" ]' "free: not loaded, reason free, id null"
check '[ -z "$(blk "Free lunch")" ]' "free: no block"
check 'fv "Free lunch" info | grep -q "Available"' "free: info says Available"
for s in "Tentative demo:tentative" "Remote day:workingElsewhere" "Unknown status:unknown"; do
	subj=${s%%:*} sa=${s#*:}
	check '[ "$(fv "$subj" loaded)|$(fv "$subj" reason)" = "false|\"showas\"" ]' "$sa: not loaded, reason showas"
	check 'fv "$subj" info | grep -q "$sa"' "$sa: info says which status"
	check '[ -z "$(blk "$subj")" ]' "$sa: no block"
done
check '[ "$(fv "Canceled: Cancelled sync" loaded)|$(fv "Canceled: Cancelled sync" reason)" = "false|\"cancelled\"" ]' "cancelled busy meeting: reason cancelled"
check '[ -z "$(blk "Canceled: Cancelled sync")" ]' "cancelled: no block"
check '[ "$(fv "Free all day" reason)" = "\"free\"" ]' "free all-day event: reason free"
# "timetap-7" is another install's (or profile's) transactionId: not ours,
# so busy time like any other (our own events: families 30 and 35).
check '[ "$(fv "Pushed by TimeTap" loaded)|$(fv "Pushed by TimeTap" reason)" = "true|null" ]' "another install's TimeTap event: loaded, a busy block"
check '[ -n "$(blk "Pushed by TimeTap")" ]' "another install's TimeTap event: a block"
# Unreadable items (the emulator cannot serve a malformed start: its times
# are always rendered well-formed; a non-string subject and a numeric showAs
# are what a scenario can carry).
check 'python3 -c "
import json, sys
rows = json.load(open(sys.argv[1]))
inv = [r for r in rows if r[\"reason\"] == \"invalid\"]
assert len(inv) == 2, inv
assert any(\"subject\" in r[\"info\"] for r in inv), inv
assert any(\"showAs\" in r[\"info\"] for r in inv), inv
assert all(r[\"loaded\"] is False and r[\"id\"] is None for r in inv), inv
" "$T/feed.json"' "unreadable items: reason invalid naming the field (subject, showAs)"
check '[ -z "$(blk "Bad showas")" ] && [ -z "$(blk 42)" ]' "unreadable items: no block"

# Time shapes.
check '[ "$(blk Holiday)" = "$(d 3) 00:00:00|$(d 4) 00:00:00|1" ]' "all-day oof: blocks the local day, midnight to midnight"
check '[ "$(blk Conference)" = "$(d 5) 00:00:00|$(d 7) 00:00:00|1" ]' "two-day all-day event: blocks both local days"
check '[ "$(blk "Night shift")" = "$(d 2) 22:00:00|$(d 3) 06:00:00|0" ]' "an event crossing midnight is one block"
check '[ "$(blk Offsite)" = "$(d 8) 09:00:00|$(d 10) 17:00:00|0" ]' "a multi-day timed event is one block"
check '[ "$(blk Standup)" = "$(d 11) 09:00:00|$(d 11) 09:15:00|0
$(d 13) 09:00:00|$(d 13) 09:15:00|0
$(d 15) 09:00:00|$(d 15) 09:15:00|0" ]' "recurring: each occurrence is its own block; no block for the deleted one"
check '[ "$(blk "Standup (moved)")" = "$(d 12) 10:00:00|$(d 12) 10:30:00|0" ]' "recurring: the exception is a block at its new time"
check '[ "$(db "SELECT count(DISTINCT source_event_id) FROM appointments WHERE subject LIKE '"'"'Standup%'"'"'")" = 4 ]' "recurring: four blocks with four event ids"
check '[ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'"'ext'"'"' AND start_utc = strftime('"'"'%s'"'"', '"'"'$(d 14) 09:00:00'"'"')")" = 0 ]' "recurring: the deleted occurrence's slot is free"
check '[ "$(fv "Clinic shift" calendar)" = "\"Other calendars/Clinic rota\"" ] && [ -n "$(blk "Clinic shift")" ]' "sub-calendar: loaded, the feed names it by path"
check '[ "$(db "SELECT c.path FROM appointments a JOIN calendars c ON c.id = a.source_calendar_id WHERE a.subject = '"'"'Clinic shift'"'"'")" = "Other calendars/Clinic rota" ]' "the block records its source calendar"
check '[ "$(fv "Clinic free slot" reason)" = "\"free\"" ]' "sub-calendar: free slot not loaded"
check '[ "$(nblk)" = 12 ]' "exactly the 12 expected blocks"
check '[ "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$T/feed.json")" = 21 ]' "one feed row per item read (21)"
check '[ "$(db "SELECT count(*) FROM appointments WHERE kind = '"'"'ext'"'"' AND (remote_modified IS NULL OR source_event_id IS NULL)")" = 0 ]' "every block keeps its event id and lastModifiedDateTime"
run appt list --from "$(d 0)" --to "$(d 20)"
expect_out "^[0-9]+ +$(d 3) 00:00 +$(d 4) 00:00 +\[ext\] Holiday" "appt list shows the all-day block, local midnights"
expect_out "^[0-9]+ +$(d 2) 22:00 +$(d 3) 06:00 +\[ext\] Night shift" "appt list shows the midnight-crossing block"
expect_no_out "Free lunch|Tentative|Cancelled" "appt list has no block for items not loaded"
run appt add --start "$(d 1)T09:30" --end "$(d 1)T09:45" --subject "Client"
expect_rc 65 "a booking over a pulled block is refused"

# block_showas: tentative, workingElsewhere and unknown may be added.
fresh showas "block_showas = busy,oof,tentative,workingElsewhere,unknown"
run sync
expect_rc 0 "sync with block_showas extended"
feed_json
for s in "Tentative demo" "Remote day" "Unknown status" "Busy meeting"; do
	check '[ "$(fv "$s" loaded)" = true ] && [ -n "$(blk "$s")" ]' "block_showas extended: '$s' loaded"
done
check '[ "$(fv "Free lunch" reason)" = "\"free\"" ]' "block_showas extended: free still never blocks"
check '[ "$(fv "Canceled: Cancelled sync" reason)" = "\"cancelled\"" ]' "block_showas extended: cancelled still never blocks"
check '[ "$(nblk)" = 15 ]' "block_showas extended: 15 blocks"

# free can never be made to block.
fresh free "block_showas = busy,free"
run sync
expect_rc 78 "block_showas with free is a configuration error"
expect_err "free" "the message names free"

# block_all_day = no: all-day events are not loaded, timed ones are.
fresh allday "block_all_day = no"
run sync
expect_rc 0 "sync with block_all_day = no"
feed_json
check '[ "$(fv Holiday loaded)" = false ] && [ -z "$(blk Holiday)" ]' "block_all_day = no: all-day oof not loaded, no block"
check '[ "$(fv Conference loaded)" = false ] && [ -z "$(blk Conference)" ]' "block_all_day = no: all-day busy not loaded"
check 'fv Holiday info | grep -q block_all_day' "block_all_day = no: the info says why"
check '[ "$(fv Holiday reason)" != null ]' "block_all_day = no: a reason code is given"
check '[ "$(blk "Night shift")" = "$(d 2) 22:00:00|$(d 3) 06:00:00|0" ]' "block_all_day = no: timed events still block"
check '[ "$(nblk)" = 10 ]' "block_all_day = no: 10 blocks"

# pull_subjects = no: blocks and feed say "Busy".
fresh subjects "pull_subjects = no"
run sync
expect_rc 0 "sync with pull_subjects = no"
check '[ "$(db "SELECT DISTINCT subject FROM appointments WHERE kind = '"'"'ext'"'"'")" = Busy ]' "pull_subjects = no: every block is named Busy"
check '[ "$(nblk)" = 12 ]' "pull_subjects = no: the same 12 blocks"
run appt list --from "$(d 0)" --to "$(d 20)"
expect_no_out "Busy meeting|Holiday|Night shift|Standup" "pull_subjects = no: no external subject in appt list"
run feed --all
expect_no_out "Busy meeting|Holiday|Night shift|Standup|Tentative" "pull_subjects = no: no external subject in the feed"

# Changing block_showas on a database that already synced: the next pass
# applies the new policy (a user edits the config, runs sync, and expects
# the tentative demo to block now).
export TIMETAP_SYNC_DB="$T/main/timetap.db" TIMETAP_SYNC_CONFIG="$T/main.config"
emu_config "retry_budget = 3" "block_showas = busy,oof,tentative"
run sync
expect_rc 0 "sync after adding tentative to block_showas"
check '[ -n "$(blk "Tentative demo")" ]' "a changed block_showas applies on the next pass (tentative now blocks)"
emu_config "retry_budget = 3"
run sync
check '[ -z "$(blk "Tentative demo")" ]' "and removing it again frees the slot on the next pass"
