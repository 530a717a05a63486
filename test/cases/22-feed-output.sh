# Family 22, feed: the six columns, newest first, -n, --all, --json with
# exactly the documented keys; Loaded as a coloured check mark only on a
# terminal, yes/no without UTF-8; local wall times; external text with
# terminal escapes and control characters never reaches the screen (feed and
# appt list, table and JSON).
. "$TOP/test/lib.sh"

emu_setup pull-feed "retry_budget = 3"
ESC=$(printf '\033') BEL=$(printf '\007')
# stdout of the last run has no terminal control bytes (ESC, BEL, C1 CSI,
# bidi override) and no escaped form of them in JSON.
clean_out() {
	! grep -q "$ESC" "$T/out" && ! grep -q "$BEL" "$T/out" &&
	    ! grep -q "$(printf '\302\233')" "$T/out" &&
	    ! grep -q "$(printf '\342\200\256')" "$T/out" &&
	    ! grep -qi '\\u001b\|\\u0007\|\\u009b\|\\u202e' "$T/out"
}

BROWSER="$TOP/test/fake-browser.sh" run login
expect_rc 0 "login"
run sync
expect_rc 0 "sync"

run feed --json
expect_rc 0 "feed --json"
check 'python3 -c "
import json, re, sys
rows = json.load(open(sys.argv[1]))
keys = [\"id\", \"starts_at\", \"ends_at\", \"subject\", \"loaded\", \"reason\", \"info\", \"calendar\", \"event_id\"]
assert all(sorted(r) == sorted(keys) for r in rows), [sorted(r) for r in rows][:1]
assert all(list(r) == keys for r in rows), list(rows[0])
" "$T/out"' "feed --json: every object has exactly id, starts_at, ends_at, subject, loaded, reason, info, calendar, event_id"
check 'python3 -c "
import json, re, sys
rows = json.load(open(sys.argv[1]))
t = re.compile(r\"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$\")
for r in rows:
    assert r[\"id\"] is None or isinstance(r[\"id\"], int), r
    assert t.match(r[\"starts_at\"]) and t.match(r[\"ends_at\"]), r
    assert isinstance(r[\"loaded\"], bool), r
    assert (r[\"reason\"] is None) == r[\"loaded\"], r
    assert r[\"loaded\"] == (r[\"id\"] is not None), r
    assert r[\"calendar\"] == \"Calendar\" and r[\"event_id\"], r
" "$T/out"' "feed --json: types (RFC 3339 UTC times, boolean loaded, reason exactly when not loaded)"
check '[ "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$T/out")" = 20 ]' "feed shows 20 rows by default"
run feed --all --json
check '[ "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$T/out")" = 25 ]' "feed --all shows all 25"
check 'python3 -c "
import json, sys
rows = json.load(open(sys.argv[1]))
c = {}
for r in rows:
    c[r[\"reason\"]] = c.get(r[\"reason\"], 0) + 1
assert c == {None: 13, \"free\": 6, \"showas\": 3, \"cancelled\": 3}, c
" "$T/out"' "feed --all: 13 loaded, 6 free, 3 showas, 3 cancelled"
run feed -n 5 --json
check '[ "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$T/out")" = 5 ]' "feed -n 5 shows 5"
run feed -n 0
expect_rc 64 "feed -n 0 is a usage error"
run feed -n abc
expect_rc 64 "feed -n abc is a usage error"
run feed --bogus
expect_rc 64 "feed --bogus is a usage error"

# Newest first: a change made now comes first.
EVIL='Evil \u001b[31mred\u001b[0m \u001b]0;pwned\u0007title \u009b31mC1 \u202eRTL\r\nnext\bline'
emu POST /_emu/outlook "{\"op\": \"add\", \"event\": {\"subject\": \"$EVIL\", \"start\": \"+8d09:00\", \"end\": \"+8d10:00\", \"showAs\": \"busy\"}}" >/dev/null
emu POST /_emu/outlook '{"op": "add", "event": {"subject": "Latest free", "start": "+8d11:00", "end": "+8d12:00", "showAs": "free"}}' >/dev/null
run sync
expect_rc 0 "sync of the new items"
run feed -n 2 --json
check 'python3 -c "
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 2 and all(r[\"subject\"].startswith((\"Evil\", \"Latest free\")) for r in rows), rows
" "$T/out"' "feed: newest first (the two items of the last pass come first)"
check 'clean_out' "feed --json: no terminal escape or control character in the external subject"
expect_out '"subject": "Evil red title' "feed --json: the readable text of the subject is kept"
expect_no_out 'pwned' "feed --json: the OSC title sequence is removed whole"

# The table.
run feed -n 3
expect_rc 0 "feed (table)"
expect_out '^ID +Starts at +Ends at +Subject +Loaded +Info$' "the six column headings"
check 'clean_out' "feed: no terminal escape or control character when stdout is not a terminal"
expect_out "^[0-9]+ +$(d 8) 09:00 +$(d 8) 10:00 +Evil red title" "feed: the loaded row with id, local start and end, sanitised subject"
expect_out "✓ +updated in Teams [0-9-]+ [0-9:]+$" "feed: loaded rows show ✓ and 'updated in Teams <time>'"
expect_out "^- +$(d 8) 11:00 +$(d 8) 12:00 +Latest free +✗ +free: " "feed: not-loaded rows show -, ✗ and the reason"
LC_ALL=C run feed -n 3
expect_out "Evil red title.* yes +updated in Teams" "LC_ALL=C: Loaded is yes"
expect_out "Latest free +no +free: " "LC_ALL=C: Loaded is no"
expect_no_out "✓|✗" "LC_ALL=C: no check marks"
check '! LC_ALL=C grep -q "$(printf "\342\234")" "$T/out"' "LC_ALL=C: no UTF-8 symbols"
run feed --all
expect_out "^[0-9]+ +$(d 7) 09:00 +$(d 7) 10:00 +A very long subject that will ?~ " "feed: a long subject is cut to its column"
check '[ "$(grep -c . "$T/out")" = 28 ]' "feed --all: a heading and 27 rows"
TZ=Asia/Tokyo run feed -n 3
expect_out "^[0-9]+ +$(d 8) 18:00 +$(d 8) 19:00 +Evil red title" "feed: times are local wall time (Tokyo, +9)"

# On a terminal: coloured marks.
if command -v script >/dev/null 2>&1; then
	script -qec "\"$BIN\" feed -n 3" /dev/null >"$T/tty" 2>&1 </dev/null
	check 'grep -q "$(printf "\033\\[32m✓\033\\[0m")" "$T/tty"' "on a terminal: ✓ is green"
	check 'grep -q "$(printf "\033\\[31m✗\033\\[0m")" "$T/tty"' "on a terminal: ✗ is red"
	check '! grep -q "$(printf "\033\\[31mred")" "$T/tty" && ! grep -q pwned "$T/tty"' "on a terminal: the subject's own escapes are still removed"
else
	echo "# script(1) not available: terminal colour not checked"
fi

# The book shows the same sanitised text.
run appt list --from "$(d 8)" --to "$(d 9)"
expect_rc 0 "appt list"
check 'clean_out' "appt list: no terminal escape or control character"
expect_out '\[ext\] Evil red title' "appt list: the sanitised subject"
run appt list --from "$(d 8)" --to "$(d 9)" --json
check 'clean_out' "appt list --json: no terminal escape or control character"
expect_out '"subject": "Evil red title' "appt list --json: the sanitised subject"
id=$(db "SELECT id FROM appointments WHERE kind = 'ext' AND subject LIKE 'Evil%'")
run appt show "$id"
check 'clean_out' "appt show: no terminal escape or control character"
