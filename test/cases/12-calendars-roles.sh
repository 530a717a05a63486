# SPDX-License-Identifier: ISC
# Family 12, calendars: setting pull/push roles by local number, by remote
# id and by path; a push target must be writable; unknown, ambiguous or
# vanished calendars are refused and nothing changes; roles survive a new
# listing and a new login.  Scenario: test/scenarios/calendars.json (a
# read-only "Public holidays" and a second calendar named "Calendar").
. "$TOP/test/lib.sh"

emu_setup calendars "retry_budget = 1"
export BROWSER="$TOP/test/fake-browser.sh"

# pull||push of every calendar, in number order: "11 00 00 00 00"
all() { echo $(db "select pull || push from calendars order by id"); }
num() { db "select id from calendars where path = '$1'"; }
rid() { db "select remote_id from calendars where path = '$1'"; }

trun login --groups
[ $rc -eq 0 ] || not_ok "login --groups (exit $rc)"
check '[ "$(db "select count(*) from calendars")" -eq 5 ]' "five calendars discovered"
CAL=$(num Calendar)
ROTA=$(num "Other calendars/Clinic rota")
HOL=$(num "Other calendars/Public holidays")
CAL2=$(num "Other calendars/Calendar")
FDT=$(num "Front Desk Team (group)")
check '[ "$CAL" = 1 ] && [ "$ROTA" = 2 ] && [ "$HOL" = 3 ] && [ "$CAL2" = 4 ] && [ "$FDT" = 5 ]' "numbers in discovery order"
check '[ "$(db "select can_edit from calendars where id = $HOL")" = 0 ]' "the read-only calendar is stored as not writable"
trun calendars --cached
expect_out "^$HOL +Other calendars/Public holidays +user +no +- " "the listing shows it is not writable"
check '[ "$(all)" = "11 00 00 00 00" ]' "defaults: the default calendar pulls and pushes"

# ---- by local number ----
trun calendars --pull $ROTA
expect_rc 0 "--pull by number"
expect_silent "setting roles is silent"
check '[ "$(all)" = "01 10 00 00 00" ]' "--pull replaces the pull set, push untouched"
trun calendars --pull $CAL,$ROTA --push $ROTA
expect_rc 0 "--pull and --push together, by number"
check '[ "$(all)" = "10 11 00 00 00" ]' "both sets replaced"

# ---- by remote id (ids hold + / =) ----
trun calendars --push "$(rid Calendar)"
expect_rc 0 "--push by remote id"
check '[ "$(all)" = "11 10 00 00 00" ]' "--push by id sets the default calendar only"
trun calendars --pull "$(rid "Other calendars/Calendar")"
expect_rc 0 "--pull by the remote id of the second 'Calendar'"
check '[ "$(all)" = "01 00 00 10 00" ]' "the id picks the right one of two same-named calendars"

# ---- by path ----
trun calendars --pull "Other calendars/Clinic rota,Calendar" --push "Front Desk Team (group)"
expect_rc 0 "--pull and --push by path"
check '[ "$(all)" = "10 10 00 00 01" ]' "paths: Calendar is the default one; the group calendar pushes"
trun calendars --cached
expect_out "^$FDT +Front Desk Team \(group\) +group +yes +push " "the listing shows the group calendar's role"
expect_out "^$CAL +Calendar +user +yes +pull " "the listing shows pull only"
trun calendars --json
check 'python3 -c "
import json, sys
a = {o[\"number\"]: o for o in json.load(open(sys.argv[1]))}
sys.exit(0 if a[1][\"pull\"] and not a[1][\"push\"] and a[5][\"push\"] and a[5][\"kind\"] == \"group\" else 1)" "$T/out"' \
    "--json shows the roles"

# ---- a push target must be writable; pulling from it is fine ----
before=$(all)
trun calendars --push "Other calendars/Public holidays"
expect_rc 64 "--push to a read-only calendar (by path) is refused"
expect_err "not writable" "the refusal says it is not writable"
expect_err "Public holidays" "the refusal names the calendar"
check '[ "$(all)" = "$before" ]' "nothing changed"
trun calendars --push $CAL,$HOL
expect_rc 64 "--push with a read-only calendar in the list (by number) is refused"
check '[ "$(all)" = "$before" ]' "nothing changed, not even the writable one"
trun calendars --push "$(rid "Other calendars/Public holidays")"
expect_rc 64 "--push to a read-only calendar by remote id is refused"
trun calendars --pull $HOL --push $HOL
expect_rc 64 "--pull and --push of a read-only calendar: refused as a whole"
check '[ "$(all)" = "$before" ]' "the pull part was not applied either"
trun calendars --pull $CAL,$HOL
expect_rc 0 "--pull from a read-only calendar is allowed"
check '[ "$(db "select pull from calendars where id = $HOL")" = 1 ]' "the read-only calendar pulls"

# ---- unknown, empty, bad usage ----
before=$(all)
trun calendars --pull "No such calendar"
expect_rc 64 "--pull of an unknown path exits 64"
expect_err "no such calendar 'No such calendar'" "the unknown calendar is named"
trun calendars --push 99
expect_rc 64 "--push of an unknown number exits 64"
trun calendars --push "$CAL,nosuch"
expect_rc 64 "a list with one unknown calendar exits 64"
check '[ "$(all)" = "$before" ]' "nothing changed by the refused lists"
trun calendars --pull "Clinic rota"
expect_rc 64 "a bare name that is not a path is unknown"
trun calendars --pull
expect_rc 64 "--pull without a list"
trun calendars --frobnicate
expect_rc 64 "unknown option"
trun calendars extra
expect_rc 64 "unexpected argument"
check '[ "$(all)" = "$before" ]' "usage errors change nothing"

# ---- roles survive a new listing and a new login ----
trun calendars --pull $ROTA,$FDT --push $CAL
expect_rc 0 "set roles"
before=$(all)
trun calendars
expect_rc 0 "list again"
check '[ "$(all)" = "$before" ]' "a new listing keeps the roles"
emu DELETE /_emu/requests >/dev/null
trun login
expect_rc 0 "login again (without --groups)"
check '[ "$(all)" = "$before" ]' "a new login keeps the roles"
check 'emu GET /_emu/requests | python3 -c "
import json, sys
from urllib.parse import unquote
q = [unquote(r[\"query\"]) for r in json.load(sys.stdin)[\"requests\"] if r[\"path\"].endswith(\"/authorize\")]
sys.exit(0 if q and \"Group.ReadWrite.All\" in q[0] else 1)"' \
    "a profile that syncs a group calendar keeps asking for Group.ReadWrite.All"
trun calendars --cached
expect_out "^$FDT +Front Desk Team \(group\)" "the group calendar is still listed"

# ---- a calendar that vanished cannot get a role ----
emu POST /_emu/reset "{\"scenario\": $(cat "$TOP/test/scenarios/calendars.json")}" >/dev/null
trun calendars
expect_rc 0 "calendars after the mailbox changed"
check '[ "$(db "select present from calendars where id = $ROTA")" = 0 ]' "the old calendar is marked absent"
before=$(all)
trun calendars --push $ROTA
expect_rc 64 "--push of a vanished calendar is refused"
check '[ "$(all)" = "$before" ]' "nothing changed"
trun calendars --pull "Other calendars/Clinic rota"
expect_rc 0 "the path now names the new, present calendar"
check '[ "$(db "select pull from calendars where path = '"'Other calendars/Clinic rota'"' and present = 1")" = 1 ]' \
    "the role went to the present calendar"

# ---- not connected ----
trun -s nobody calendars --pull 1
expect_rc 77 "setting roles on a profile that is not connected exits 77"
