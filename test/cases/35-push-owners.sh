# Family 35, push: whose event is it.  Two staff profiles of one install
# and a second install push to the same Teams (group) calendar; each
# adopts, sets back and purges only its own events: the marker and the
# transactionId carry the install's id and the profile.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 5"
export BROWSER="$TOP/test/fake-browser.sh"
DB2="$T/db2/other.db"
grp_events() {
	ours calendar subject | awk -F'\t' '$1 == "group:Front Desk Team" { print $2 }' | sort | paste -sd' ' -
}
setup() {	# setup PROFILE UPN SUBJECT DAY [DB]
	dbo=""
	[ $# -ge 5 ] && dbo="-f $5"
	emu POST /_emu/config "{\"login_user\": \"$2\"}" >/dev/null
	trun $dbo -s "$1" login
	expect_rc 0 "$1 ($2) logs in${dbo:+ (another install)}"
	g=$("$BIN" $dbo -s "$1" calendars --json | python3 -c 'import json,sys; print([c["number"] for c in json.load(sys.stdin) if c["kind"] == "group"][0])')
	run $dbo -s "$1" calendars --push "$g"
	run $dbo -s "$1" appt add --start "$(d "$4")T09:00Z" --end "$(d "$4")T09:30Z" --subject "$3" --force
	run $dbo -s "$1" sync
	expect_rc 0 "$1 pushes $3"
}
setup ada ada@contoso.example "Ada appt" 3
setup grace grace@contoso.example "Grace appt" 4
setup ada ada@contoso.example "Other install appt" 5 "$DB2"
check '[ "$(grp_events)" = "Ada appt Grace appt Other install appt" ]' "three events of three owners on the Teams calendar ($(grp_events))"
check '[ "$(db "select count(distinct substr(id, 1, 16)) from install")" = 1 ] && [ "$(db "select id from install")" != "$(sqlite3 "$DB2" "select id from install")" ]' \
    "each database has its own install id"

# Passes of every owner change nothing of the others'.
emu DELETE /_emu/requests >/dev/null
run -s ada sync
run -s grace sync
run -f "$DB2" -s ada sync
check '[ "$(writes)" -eq 0 ]' "no owner writes to another's events"
check '[ "$(db "select count(*) from appointments a join profiles p on p.id = a.profile_id where p.name = '"'ada'"' and a.kind = '"'ext'"' and a.subject = '"'Grace appt'"'")" = 0 ]' \
    "(ada does not pull the Teams calendar, so no block either)"

run -s grace stop -y --purge-remote
expect_rc 0 "grace stops with --purge-remote"
expect_out '^Deleted 1 pushed event from Microsoft 365\.$' "one event deleted: grace's own"
check '[ "$(grp_events)" = "Ada appt Other install appt" ]' "ada's and the other install's events stay ($(grp_events))"
run -f "$DB2" -s ada stop -y --purge-remote
expect_rc 0 "the other install stops with --purge-remote"
check '[ "$(grp_events)" = "Ada appt" ]' "it deleted only its own ($(grp_events))"
emu DELETE /_emu/requests >/dev/null
run -s ada sync
expect_rc 0 "ada's next pass"
check '[ "$(writes)" -eq 0 ] && [ "$(grp_events)" = "Ada appt" ]' "ada's event is untouched, nothing re-created"
