# Family 20, pull: incremental changes made "in Outlook" arrive on the next
# pass (added, changed, removed, moved out of the window, now free, now
# cancelled, occurrences deleted and edited), and a pass with no change is
# silent and cheap: one request per pull calendar, no write, no token request.
# A change of the window settings re-bases (full read and reconciliation).
. "$TOP/test/lib.sh"

emu_setup pull-incremental "retry_budget = 3"
blk() {
	db "SELECT datetime(start_utc, 'unixepoch') || '|' || datetime(end_utc, 'unixepoch')
	    FROM appointments WHERE kind = 'ext' AND subject = '$1' ORDER BY start_utc"
}
bid() { db "SELECT group_concat(id) FROM appointments WHERE kind = 'ext' AND subject = '$1'"; }

first_sync 1,2
check '[ "$(nblk)" = 17 ]' "first sync: 17 blocks"
keep=$(bid "Keep me") edit=$(bid "Edit me") move=$(bid "Move me")

# Changes "as if the user did it in Outlook".
outlook "{\"op\": \"edit\", \"id\": \"$(evid "Edit me")\", \"event\": {\"subject\": \"Edited\"}}"
outlook "{\"op\": \"move\", \"id\": \"$(evid "Move me")\", \"shift_minutes\": 120}"
outlook "{\"op\": \"delete\", \"id\": \"$(evid "Delete me")\"}"
outlook "{\"op\": \"showas\", \"id\": \"$(evid "Free me")\", \"showAs\": \"free\"}"
outlook "{\"op\": \"cancel\", \"id\": \"$(evid "Cancel me")\"}"
outlook "{\"op\": \"move\", \"id\": \"$(evid "Move out")\", \"shift_minutes\": $((400 * 1440))}"
outlook "{\"op\": \"showas\", \"id\": \"$(evid "Become busy")\", \"showAs\": \"busy\"}"
daily=$(evid Daily)
outlook "{\"op\": \"delete_occurrence\", \"id\": \"$daily\", \"index\": 1}"
outlook "{\"op\": \"edit_occurrence\", \"id\": \"$daily\", \"original_start\": \"+5d08:00\", \"event\": {\"subject\": \"Daily (late)\", \"start\": \"+5d09:00\", \"end\": \"+5d09:45\"}}"
outlook '{"op": "add", "event": {"subject": "New one", "start": "+6d09:00", "end": "+6d10:00", "showAs": "busy"}}'
outlook '{"op": "add", "calendar": "Clinic rota", "event": {"subject": "New clinic", "start": "+6d13:00", "end": "+6d14:00", "showAs": "oof"}}'
outlook '{"op": "add", "event": {"subject": "New but free", "start": "+6d15:00", "end": "+6d16:00", "showAs": "free"}}'

emu DELETE /_emu/requests >/dev/null
run -v sync
expect_rc 0 "sync after the Outlook changes"
expect_err "profile default: [0-9]+ items read, 3 blocks added, 3 changed, 5 removed" "-v summary counts exactly those changes (3 added, 3 changed, 5 removed)"
check '[ "$(nreq "\"deltatoken\" in r[\"query\"]")" = 2 ] && [ "$(nreq "\"startDateTime\" in r[\"query\"]")" = 0 ]' "the pass used the stored deltaLinks (no full read)"
check '[ "$(blk Edited)" = "$(d 1) 10:00:00|$(d 1) 11:00:00" ] && [ -z "$(blk "Edit me")" ]' "edit: the block has the new subject"
check '[ "$(bid Edited)" = "$edit" ]' "edit: the same book item was updated"
check '[ "$(blk "Move me")" = "$(d 1) 13:00:00|$(d 1) 14:00:00" ] && [ "$(bid "Move me")" = "$move" ]' "move: the block moved, same book item"
check '[ -z "$(blk "Delete me")" ]' "delete: the block is gone"
check '[ -z "$(blk "Free me")" ]' "showAs free: the block is gone"
check '[ -z "$(blk "Cancel me")" ] && [ -z "$(blk "Canceled: Cancel me")" ]' "cancel: the block is gone"
check '[ -z "$(blk "Move out")" ]' "moved out of the window: the block is gone"
check '[ "$(blk "Become busy")" = "$(d 2) 10:00:00|$(d 2) 11:00:00" ]' "tentative to busy: now a block"
check '[ "$(blk Daily)" = "$(d 3) 08:00:00|$(d 3) 08:30:00" ]' "deleted occurrence: its block is gone, the first stays"
check '[ "$(blk "Daily (late)")" = "$(d 5) 09:00:00|$(d 5) 09:45:00" ]' "edited occurrence: its block moved and renamed"
check '[ "$(blk "New one")" = "$(d 6) 09:00:00|$(d 6) 10:00:00" ]' "add: a new block"
check '[ "$(blk "New clinic")" = "$(d 6) 13:00:00|$(d 6) 14:00:00" ]' "add on the sub-calendar: a new block"
check '[ -z "$(blk "New but free")" ]' "add of a free event: no block"
check '[ "$(bid "Keep me")" = "$keep" ] && [ "$(blk "Keep me")" = "$(d 1) 09:00:00|$(d 1) 10:00:00" ]' "the unchanged block is untouched"
check '[ "$(nblk)" = 15 ]' "15 blocks in all"

run feed --all --json
cp "$T/out" "$T/feed.json"
check '[ "$(fv "Delete me" reason)" = "\"removed\"" ] && fv "Delete me" info | grep -q "deleted in Teams"' "feed: the deleted item shows removed, 'deleted in Teams'"
check '[ "$(fv "Delete me" loaded)" = false ]' "feed: the deleted item is not loaded"
check '[ "$(fv "Delete me" id)" = null ]' "feed: a removed block's row names no book item (ID -)"
check '[ "$(fv "Free me" reason)" = "\"free\"" ]' "feed: the freed item shows reason free"
check '[ "$(fv "Canceled: Cancel me" reason)" = "\"cancelled\"" ]' "feed: the cancelled item shows reason cancelled"
check '[ "$(fv "New but free" reason)" = "\"free\"" ]' "feed: the new free item shows reason free"
check '[ "$(fv "Become busy" loaded)" = true ]' "feed: tentative to busy shows loaded"
check 'python3 -c "
import json, sys
rows = [r[\"subject\"] for r in json.load(open(sys.argv[1]))]
changed = [\"Edited\", \"Move me\", \"Delete me\", \"New one\", \"New clinic\", \"Become busy\", \"Daily (late)\"]
assert max(rows.index(s) for s in changed) < rows.index(\"Keep me\"), rows
" "$T/feed.json"' "feed: newest first (this pass's changes above the untouched rows)"
run feed -n 1 --json
check 'python3 -c "
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 1 and rows[0][\"subject\"] != \"Keep me\", rows
" "$T/out"' "feed -n 1: only the newest row"

# A pass with no change: silent, no write, one request per calendar, no token.
db "SELECT * FROM appointments ORDER BY id" >"$T/book.before"
db "SELECT id, seq, subject, loaded, reason, info, appt_id FROM feed ORDER BY id" >"$T/feed.before"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "no-change pass: exit 0"
expect_silent "no-change pass: silent"
check '[ "$(nreq True)" = 2 ]' "no-change pass: exactly one request per pull calendar (2)"
check '[ "$(nreq "r[\"method\"] == \"GET\" and \"deltatoken\" in r[\"query\"]")" = 2 ]' "no-change pass: both are delta GETs"
check '[ "$(nreq "r[\"method\"] != \"GET\"")" = 0 ]' "no-change pass: no write request"
check '[ "$(nreq "\"/oauth2/\" in r[\"path\"]")" = 0 ]' "no-change pass: no token request while the access token is valid"
db "SELECT * FROM appointments ORDER BY id" >"$T/book.after"
db "SELECT id, seq, subject, loaded, reason, info, appt_id FROM feed ORDER BY id" >"$T/feed.after"
check 'cmp -s "$T/book.before" "$T/book.after"' "no-change pass: the book is unchanged"
check 'cmp -s "$T/feed.before" "$T/feed.after"' "no-change pass: the feed is unchanged"
run -v sync
expect_err "0 blocks added, 0 changed, 0 removed" "no-change pass: -v counts nothing"
run status
expect_out "Last pass: .*ok" "status records the last pass"

# A whole series moved, a whole series deleted.
weekly=$(blk Weekly)
outlook "{\"op\": \"move\", \"id\": \"$(evid Weekly)\", \"shift_minutes\": 30}"
outlook "{\"op\": \"delete\", \"id\": \"$(evid "Series gone")\"}"
run sync
expect_rc 0 "sync after a series was moved and another deleted"
check '[ "$(blk Weekly)" = "$(d 7) 14:30:00|$(d 7) 15:30:00
$(d 14) 14:30:00|$(d 14) 15:30:00
$(d 21) 14:30:00|$(d 21) 15:30:00" ]' "a moved series: every occurrence's block moved"
check '[ -z "$(blk "Series gone")" ]' "a deleted series: every occurrence's block is gone"
check '[ "$(nblk)" = 13 ]' "13 blocks in all"

# The event moved out of the window comes back.
outlook "{\"op\": \"move\", \"id\": \"$(evid "Move out")\", \"shift_minutes\": $((-400 * 1440))}"
run sync
expect_rc 0 "sync after the event moved back into the window"
check '[ "$(blk "Move out")" = "$(d 2) 09:00:00|$(d 2) 10:00:00" ]' "an event moved back into the window is a block again"
check '[ "$(nblk)" = 14 ]' "14 blocks in all"

# The daily re-base: the stored window is yesterday's (as after midnight).
db "UPDATE calendars SET window_start = window_start - 86400, window_end = window_end - 86400 WHERE delta_link IS NOT NULL"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "a pass on a new day"
expect_silent "a pass on a new day: silent"
check '[ "$(nreq "\"startDateTime\" in r[\"query\"] and \"deltatoken\" not in r[\"query\"]")" = 2 ]' "a new day re-bases: a full read of each calendar"
check '[ "$(nblk)" = 14 ]' "the re-base keeps the 14 blocks"
emu DELETE /_emu/requests >/dev/null
run sync
check '[ "$(nreq "\"deltatoken\" in r[\"query\"]")" = 2 ] && [ "$(nreq True)" = 2 ]' "after the re-base the next pass is incremental again"

# A window change re-bases: full read, reconciliation.
check '[ -n "$(blk "Far away")" ]' "an event 100 days ahead is blocked with the default window"
emu_config "retry_budget = 3" "window_future_days = 30"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "sync after shrinking the window"
check '[ "$(nreq "\"startDateTime\" in r[\"query\"] and \"/delta\" in r[\"path\"]")" = 2 ]' "a window change means a new initial round on each calendar"
check '[ -z "$(blk "Far away")" ]' "the block now outside the window is removed"
check '[ "$(nblk)" = 13 ] && [ "$(bid "Keep me")" = "$keep" ]' "the blocks inside the window stay, same ids"
emu_config "retry_budget = 3"
run sync
expect_rc 0 "sync after widening the window again"
check '[ "$(blk "Far away")" = "$(d 100) 09:00:00|$(d 100) 10:00:00" ]' "widening the window brings the block back"
run sync
expect_silent "and the pass after that is silent"
