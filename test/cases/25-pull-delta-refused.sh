# Family 25, pull: a calendar whose delta the service refuses.  v1.0
# documents calendarView delta for the primary calendar only and tenants
# differ (msgraph-metadata #608): a refusal (400, not an expired state) at
# the first page or on a stored deltaLink falls back to a plain
# calendarView full read with reconciliation, is remembered, and delta is
# asked again at the daily re-base.  No block is lost on the way.
. "$TOP/test/lib.sh"

emu_setup demo
export BROWSER="$TOP/test/fake-browser.sh"
trun login
expect_rc 0 "login"
run calendars --pull 1,2
ROTA="/me/calendars/[^/]+/calendarView"
run sync
expect_rc 0 "the first sync, delta everywhere"
n0=$(nblk)
check '[ "$(db "select no_delta from calendars where path = '"'Other calendars/Clinic rota'"'")" = 0 ]' "delta works for the sub-calendar"

# The tenant stops serving delta for the sub-calendar: the stored
# deltaLink is refused.
ctl POST /_emu/config '{"delta_refused": ["Clinic rota"]}' >/dev/null
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "a refused deltaLink: the pass still succeeds"
expect_silent "silently"
check '[ "$(nblk)" = "$n0" ]' "every block kept ($(nblk) of $n0)"
check '[ "$(nlog GET 0 "$ROTA/delta")" -ge 1 ] && [ "$(nlog GET 0 "${ROTA}\?")" -ge 1 ]' "delta refused, then a plain calendarView read"
check '[ "$(db "select no_delta from calendars where path = '"'Other calendars/Clinic rota'"'")" = 1 ]' "remembered"
run calendars --cached --json
check 'python3 -c "import json,sys; a={c[\"name\"]: c for c in json.load(open(sys.argv[1]))}; sys.exit(0 if a[\"Clinic rota\"][\"delta\"] is False and a[\"Calendar\"][\"delta\"] is True else 1)" "$T/out"' \
    "calendars --json: delta false for it, true for the default calendar"

# Later passes read it plainly, without asking for delta again.
outlook '{"op":"add","calendar":"Clinic rota","event":{"subject":"Extra shift","start":"+3d13:00","end":"+3d15:00","showAs":"busy"}}'
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "a plain pass"
check '[ "$(nlog GET 0 "$ROTA/delta")" -eq 0 ]' "no delta request for it the same day"
check 'has "Extra shift"' "a new event arrives through the plain read"
outlook "{\"op\":\"delete\",\"id\":\"$(evid "Extra shift")\"}"
run sync
check '[ "$(db "select count(*) from appointments where subject = '"'Extra shift'"'")" -eq 0 ]' "and goes by reconciliation"

# The next day's re-base asks for delta again: it works again now.
ctl POST /_emu/config '{"delta_refused": []}' >/dev/null
db "update calendars set window_start = window_start - 86400"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the re-base pass"
check '[ "$(nlog GET 0 "$ROTA/delta")" -ge 1 ] && [ "$(db "select no_delta from calendars where path = '"'Other calendars/Clinic rota'"'")" = 0 ]' \
    "delta is asked again at the re-base, and works"
check '[ "$(nblk)" = "$n0" ]' "the same blocks"
