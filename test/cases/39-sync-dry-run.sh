# SPDX-License-Identifier: ISC
# Family 39, sync --dry-run (-n): the reads a pass does, no write sent,
# nothing saved but a rotated refresh token, and the plan printed -- blocks
# to add, change, remove; events to create, update, set back, delete; what
# the removal cap would hold back.  Exit 1 when the plan is not empty, 0
# when it is.  Each plan is compared item by item with what the real pass
# then does: its writes in the emulator's request log, its blocks in the
# book before and after.  Realistic emulator (the demo mailbox), refresh
# tokens single-use and access tokens short-lived, so every run refreshes.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 5"
emu POST /_emu/config '{"strict_refresh": true, "token_lifetime": 60}' >/dev/null
export BROWSER="$TOP/test/fake-browser.sh"

# The real store, minus what a refresh changes (the account row's token
# columns): a dry run must leave all of it as it was.
dump() {
	db .dump | grep -v '^INSERT INTO accounts' >"$T/$1"
	db "SELECT profile_id, upn, user_id, tenant, authority_url, graph_url,
	    scopes, needs_login, connected_at, tenant_id FROM accounts" >>"$T/$1"
}

# plan NAME [ARGS]: sync -n --json ARGS into $T/NAME.json, the request log
# of the dry run into $T/NAME.dry-requests.json; checks that it sent no
# write and changed nothing of the store but the tokens.
plan() {
	p=$1
	shift
	dump "$p.before"
	ctl DELETE /_emu/requests >/dev/null
	run sync -n --json "$@"
	plan_rc=$rc
	cp "$T/out" "$T/$p.json"
	ctl GET /_emu/requests >"$T/$p.dry-requests.json"
	dump "$p.after"
	check '[ "$(writes)" = 0 ]' "$p: the dry run sent no POST, PATCH or DELETE"
	check 'cmp -s "$T/$p.before" "$T/$p.after"' "$p: the dry run left the store as it was (but its tokens)"
}

# real NAME [ARGS]: the real pass after the plan NAME; its requests and the
# store before it saved for compare.
real() {
	p=$1
	shift
	cp "$TIMETAP_SYNC_DB" "$T/$p.db"
	[ -f "$TIMETAP_SYNC_DB-wal" ] && cp "$TIMETAP_SYNC_DB-wal" "$T/$p.db-wal"
	ctl DELETE /_emu/requests >/dev/null
	run sync "$@"
	real_rc=$rc
	ctl GET /_emu/requests >"$T/$p.requests.json"
}

# compare NAME: the differences between the plan NAME and what the real
# pass did, a line each (none: they agree item by item).  Events: each
# create of the plan is a POST to that calendar's events (and a new event
# of that appointment on that calendar in the store after), each update
# or set back a PATCH of that event, each delete a DELETE of it; the
# blocks: what the book's [ext] items before and after the pass differ by
# (added, time or subject changed, removed).
compare() {
	python3 - "$T/$1.json" "$T/$1.db" "$TIMETAP_SYNC_DB" "$T/$1.requests.json" <<'EOF'
import json, re, sqlite3, sys
from collections import Counter
from datetime import datetime, timezone
from urllib.parse import unquote
planf, beforef, afterf, reqf = sys.argv[1:5]
plan = json.load(open(planf))
z = lambda t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
def blocks(path):
    db = sqlite3.connect(path)
    return {(c, e): (z(a), z(b), s, i) for c, e, a, b, s, i in db.execute(
        "SELECT c.path, a.source_event_id, a.start_utc, a.end_utc, a.subject, a.id FROM appointments a"
        " JOIN calendars c ON c.id = a.source_calendar_id WHERE a.kind = 'ext'")}
def pushed(path):
    db = sqlite3.connect(path)
    return {(a, c): e for a, c, e in db.execute("SELECT p.appt_id, c.path, p.event_id FROM pushed p"
                                                " JOIN calendars c ON c.id = p.calendar_id")}
b0, b1 = blocks(beforef), blocks(afterf)
done = Counter()
for k in b0.keys() | b1.keys():
    if k not in b1:
        done[("remove",) + k + b0[k][:3] + (b0[k][3],)] += 1
    elif k not in b0:
        done[("add",) + k + b1[k][:3] + (None,)] += 1
    elif b0[k][:3] != b1[k][:3]:
        done[("change",) + k + b1[k][:3] + (b1[k][3],)] += 1
planned, events, cals = Counter(), Counter(), {}
for p in plan["profiles"]:
    for b in p["blocks"]:
        planned[(b["op"], b["calendar"], b["event_id"], b["starts_at"], b["ends_at"], b["subject"],
                 b["appointment_id"])] += 1
    for e in p["events"]:
        cals[e["calendar_id"]] = e["calendar"]
        if e["op"] == "create":
            events[("POST", e["calendar"])] += 1
        else:
            events[({"update": "PATCH", "set_back": "PATCH", "delete": "DELETE"}[e["op"]],
                     e["event_id"])] += 1
for k in sorted(planned.keys() | done.keys(), key=str):
    if planned[k] != done[k]:
        print("block %s: planned %d, done %d" % (k, planned[k], done[k]))
db = sqlite3.connect(afterf)
default = next(db.execute("SELECT path FROM calendars WHERE is_default"))[0]
for r, g in db.execute("SELECT remote_id, path FROM calendars"):
    cals.setdefault(r, g)
sent = Counter()
for r in json.load(open(reqf))["requests"]:
    if r["method"] not in ("POST", "PATCH", "DELETE") or "/oauth2/" in r["path"] or r["path"].endswith("/$batch"):
        continue
    path = r["path"]
    if r["method"] == "POST":
        m = re.search(r"/(?:calendars|groups)/([^/]+)/", path)
        sent[("POST", default if m is None else cals.get(unquote(m.group(1)), "?"))] += 1
    else:
        sent[(r["method"], unquote(path.rsplit("/events/", 1)[1]))] += 1
for k in sorted(events.keys() | sent.keys(), key=str):
    if events[k] != sent[k]:
        print("event %s: planned %d, sent %d" % (k, events[k], sent[k]))
# Each create planned for an appointment and a calendar: that pair has a
# new event in the store after the pass.
p0, p1 = pushed(beforef), pushed(afterf)
made = Counter((a, c) for (a, c), e in p1.items() if e is not None and p0.get((a, c)) != e)
want = Counter((e["appointment_id"], e["calendar"]) for p in plan["profiles"] for e in p["events"]
               if e["op"] == "create")
for k in sorted(made.keys() | want.keys(), key=str):
    if made[k] != want[k]:
        print("create %s: planned %d, made %d" % (k, want[k], made[k]))
EOF
}

# The first differences compare NAME found, for a test's description.
diffs() { head -3 "$T/$1.diff" | cut -c1-160 | sed 's/^/; /' | tr -d '\n'; }

# holds NAME CODE DESC: the plan NAME's JSON satisfies CODE (json_holds).
holds() {
	if json_holds "$T/$1.json" "$2"; then ok "$3"; else not_ok "$3 ($(head -3 "$T/why" | tr '\n' ' '))"; fi
}

# ---- a fresh profile: blocks to add, appointments to push -------------
trun login
expect_rc 0 "login"
run calendars --pull 1,2 --push 1,2
expect_rc 0 "pull and push the own calendar and the sub-calendar"
run appt add --start "$(d 2)T15:00Z" --end "$(d 2)T15:30Z" --subject Haircut --client Bob
a1=$(db "SELECT max(id) FROM appointments WHERE kind = 'booked'")
run appt add --start "$(d 3)T16:00Z" --end "$(d 3)T16:45Z" --subject "Video consult" --online
a2=$(db "SELECT max(id) FROM appointments WHERE kind = 'booked'")
run appt add --start "$(d 4)T09:00Z" --end "$(d 4)T10:00Z" --subject Colour
a3=$(db "SELECT max(id) FROM appointments WHERE kind = 'booked'")
export a1 a2 a3

plan first
check '[ $plan_rc = 1 ]' "first: a plan that is not empty exits 1 (got $plan_rc)"
check '[ "$(grants refresh_token)" = 1 ]' "first: the dry run refreshed the token (strict rotation)"
holds first 'j["exit_code"] == 1 and j["result"] == "changes"' "first: the document says exit_code 1, result changes"
holds first '
p = j["profiles"][0]
assert p["profile"] == "default" and p["exit_code"] == 1 and p["capped"] is None, p
assert len(p["blocks"]) > 10 and all(b["op"] == "add" for b in p["blocks"]), p["blocks"]
keys = ["appointment_id", "calendar", "calendar_id", "ends_at", "event_id", "op", "starts_at", "subject"]
assert all(sorted(x) == keys for x in p["blocks"] + p["events"]), p
ev = sorted((e["appointment_id"], e["calendar"], e["op"], e["event_id"]) for e in p["events"])
want = sorted((a, c, "create", None) for a in (int(env["a1"]), int(env["a2"]), int(env["a3"]))
              for c in ("Calendar", "Other calendars/Clinic rota"))
assert ev == want, ev
assert all(b["appointment_id"] is None and b["starts_at"].endswith("Z") for b in p["blocks"]), p' "first: JSON: blocks to add, three appointments to create on both calendars, every key"
holds first '
p = j["profiles"][0]
assert [(c["appointment_id"], c["calendar"]) for c in p["conflicts"]] == [(int(env["a1"]), "Calendar")], p["conflicts"]
assert "Haircut" in p["conflicts"][0]["message"] and "(all day)" in p["conflicts"][0]["message"], p' "first: JSON: the one new conflict the pass would tell (Haircut under the all-day training)"
check '! grep -q conflict "$T/err"' "first: the dry run tells the conflict in its plan, not on stderr"
real first
check '[ $real_rc = 2 ]' "first: the real pass after the dry run exits 2, the conflict told (the rotated refresh token was kept; got $real_rc)"
check '[ "$(grep -c "conflict: appointment $a1 \"Haircut\"" "$T/err")" = 1 ]' "first: the real pass tells the conflict the plan said, once"
compare first >"$T/first.diff"
check '[ ! -s "$T/first.diff" ]' "first: the real pass did what the plan said, item by item$(diffs first)"

plan again
check '[ $plan_rc = 0 ]' "again: after the real pass the plan is empty: exit 0 (got $plan_rc)"
holds again 'j["exit_code"] == 0 and j["result"] == "ok" and j["profiles"][0]["blocks"] == [] and j["profiles"][0]["events"] == [] and j["profiles"][0]["capped"] is None' "again: JSON: no block, no event, capped null"
run sync -n
expect_rc 0 "again: sync -n with nothing to do exits 0"
expect_silent "again: and prints nothing"

# ---- changes on both sides --------------------------------------------
added=$(ctl POST /_emu/outlook "{\"op\": \"add\", \"event\": {\"subject\": \"Added busy\", \"start\": \"+5d10:00\", \"end\": \"+5d11:00\", \"showAs\": \"busy\"}}" | idof)
outlook "{\"op\": \"move\", \"id\": \"$(evid Dentist)\", \"shift_minutes\": 30}"
outlook "{\"op\": \"delete\", \"id\": \"$(evid "1:1 with Grace")\"}"
outlook "{\"op\": \"showas\", \"id\": \"$(evid "Patient records audit")\", \"showAs\": \"free\"}"
run appt edit "$a1" --subject "Haircut and wash"
expect_rc 0 "an appointment edited in the book"
run appt cancel "$a3"
expect_rc 0 "an appointment cancelled"
ours_colour=$(ours id calendar subject | awk -F'\t' '$3 == "Video consult" && $2 == "Calendar" {print $1}')
outlook "{\"op\": \"edit\", \"id\": \"$ours_colour\", \"event\": {\"subject\": \"Changed in Outlook\"}}"
run sync -n
expect_rc 1 "changes: the text plan exits 1"
expect_out '^profile default, calendar "Calendar"$' "changes: a line names the profile and each calendar"
expect_out '^  add block +- +[0-9-]+ 10:00 +[0-9-]+ 11:00 +Added busy$' "changes: the new Outlook event is a block to add"
expect_out '^  change block +[0-9]+ .*Dentist$' "changes: the moved one a block to change"
expect_out '^  remove block +[0-9]+ .*1:1 with Grace$' "changes: the deleted one a block to remove"
expect_out '^  remove block +[0-9]+ .*Patient records audit$' "changes: the one now free a block to remove"
expect_out "^  update event +$a1 .*Haircut and wash\$" "changes: the edited appointment an event to update"
expect_out "^  delete event +$a3 .*Colour\$" "changes: the cancelled one an event to delete"
expect_out "^  set back event +$a2 .*Video consult\$" "changes: our event edited in Outlook one to set back"
check '[ "$(grep -Ec "event +$a3 " "$T/out")" = 2 ]' "changes: the cancelled appointment is deleted on both calendars"
expect_no_out 'capped' "changes: nothing capped"
check '[ "$(writes)" = 0 ]' "changes: the text dry run sent no write either"
plan changes
check '[ $plan_rc = 1 ]' "changes: exit 1 (got $plan_rc)"
holds changes '
p = j["profiles"][0]
ops = sorted((e["op"], e["appointment_id"], e["calendar"]) for e in p["events"])
a1, a2, a3 = int(env["a1"]), int(env["a2"]), int(env["a3"])
want = sorted([("update", a1, "Calendar"), ("update", a1, "Other calendars/Clinic rota"),
               ("delete", a3, "Calendar"), ("delete", a3, "Other calendars/Clinic rota"),
               ("set_back", a2, "Calendar")])
assert ops == want, ops
assert all(e["event_id"] for e in p["events"]), p["events"]
assert sorted((b["op"], b["subject"]) for b in p["blocks"]) == [("add", "Added busy"), ("change", "Dentist"),
    ("remove", "1:1 with Grace"), ("remove", "Patient records audit")], p["blocks"]' "changes: JSON: update, set_back and delete events; add, change, remove blocks"
real changes
check '[ $real_rc = 0 ]' "changes: the real pass exits 0 (got $real_rc)"
compare changes >"$T/changes.diff"
check '[ ! -s "$T/changes.diff" ]' "changes: the real pass did what the plan said, item by item$(diffs changes)"
plan changes-again
check '[ $plan_rc = 0 ]' "changes: the next plan is empty (got $plan_rc)"

# ---- the removal cap -----------------------------------------------------
i=1
while [ $i -le 24 ]; do
	ctl POST /_emu/outlook "{\"op\": \"add\", \"event\": {\"subject\": \"Capped $i\", \"start\": \"+$((i % 12 + 6))d1$((i % 2 + 3)):00\", \"end\": \"+$((i % 12 + 6))d1$((i % 2 + 3)):30\", \"showAs\": \"busy\"}}" >/dev/null
	i=$((i + 1))
done
run sync
expect_rc 0 "cap: 24 more busy events loaded"
for id in $(emu GET /_emu/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(" ".join(e["id"] for c in s["users"][0]["calendars"] for e in c["events"] if e.get("subject", "").startswith("Capped")))'); do
	outlook "{\"op\": \"delete\", \"id\": \"$id\"}"
done
run sync -n
expect_rc 1 "cap: the plan of a pass the cap would stop exits 1, not 3"
expect_out '^  capped: max_removals holds back removing 24 of [0-9]+ blocks; --force lets them through$' "cap: the plan says what the cap holds back and that --force lets it through"
expect_no_out 'remove block' "cap: and removes no block"
check '[ ! -s "$T/err" ]' "cap: the cap is in the plan, not an error line"
plan capped
holds capped 'j["profiles"][0]["capped"]["held"] == 24 and j["profiles"][0]["capped"]["total"] > 24 and j["profiles"][0]["blocks"] == [] and j["exit_code"] == 1' "cap: JSON: capped {held 24, total}, no block"
real capped
check '[ $real_rc = 3 ]' "cap: the real pass stops at the cap: exit 3 (got $real_rc)"
compare capped >"$T/capped.diff"
check '[ ! -s "$T/capped.diff" ]' "cap: and did what the plan said: nothing$(diffs capped)"
run sync -n --force
expect_rc 1 "cap: sync -n --force exits 1"
check '[ "$(grep -c "^  remove block .*Capped" "$T/out")" = 24 ]' "cap: sync -n --force shows the 24 removals"
expect_no_out 'capped' "cap: and nothing capped"
plan forced --force
holds forced 'j["profiles"][0]["capped"] is None and len([b for b in j["profiles"][0]["blocks"] if b["op"] == "remove"]) == 24' "cap: JSON with --force: 24 removes, capped null"
real forced --force
check '[ $real_rc = 0 ]' "cap: sync --force exits 0 (got $real_rc)"
compare forced >"$T/forced.diff"
check '[ ! -s "$T/forced.diff" ]' "cap: sync --force did what sync -n --force said$(diffs forced)"
plan forced-again
check '[ $plan_rc = 0 ]' "cap: the next plan is empty (got $plan_rc)"

# ---- the removal cap on our events ---------------------------------------
i=1
while [ $i -le 12 ]; do
	run appt add --start "$(d $i)T05:00Z" --end "$(d $i)T05:30Z" --subject "Early $i" --force
	i=$((i + 1))
done
run sync
expect_rc 0 "event cap: 12 more appointments pushed to both calendars"
for id in $(db "SELECT id FROM appointments WHERE subject LIKE 'Early %'"); do
	run appt cancel "$id"
done
run sync -n
expect_rc 1 "event cap: the plan exits 1"
expect_out '^profile default, pushed events$' "event cap: a line for the pushed events"
expect_out '^  capped: max_removals holds back deleting 24 of [0-9]+ pushed events; --force lets them through$' "event cap: what the cap holds back"
expect_no_out 'delete event' "event cap: no event to delete"
plan evcapped
holds evcapped 'j["profiles"][0]["capped"]["held"] == 24 and j["profiles"][0]["events"] == []' "event cap: JSON: capped {held 24}, no event"
real evcapped
check '[ $real_rc = 3 ]' "event cap: the real pass stops at the cap: exit 3 (got $real_rc)"
compare evcapped >"$T/evcapped.diff"
check '[ ! -s "$T/evcapped.diff" ]' "event cap: and deleted nothing, as planned$(diffs evcapped)"
plan evforced --force
holds evforced 'j["profiles"][0]["capped"] is None and sorted(e["op"] for e in j["profiles"][0]["events"]) == ["delete"] * 24' "event cap: with --force the 24 deletes"
real evforced --force
check '[ $real_rc = 0 ]' "event cap: sync --force exits 0 (got $real_rc)"
compare evforced >"$T/evforced.diff"
check '[ ! -s "$T/evforced.diff" ]' "event cap: sync --force deleted what sync -n --force said$(diffs evforced)"

# ---- every profile, errors ---------------------------------------------
run -s default sync -n
expect_rc 0 "-s: sync -n for one profile"
emu POST /_emu/config '{"strict_refresh": false}' >/dev/null
set_fault '{"match": {"path": "calendarView|/delta"}, "kind": "status", "status": 503, "times": 100}'
run sync -n
check '[ $rc = 75 ] || [ $rc = 69 ]' "an error beats the plan: the service failing gives its code (75 or 69, got $rc)"
nofault

# ---- usage ----------------------------------------------------------------
run sync --dry-run extra
expect_rc 64 "sync --dry-run extra: exit 64"
expect_err "^timetap-sync: sync: unexpected 'extra'$" "says what is unexpected"
expect_err '^usage: timetap-sync \[options\] sync ' "then the usage line"
run sync -n --jobs 2
expect_rc 64 "sync -n --jobs 2: exit 64"
expect_err 'not with --jobs' "says --dry-run and --jobs do not go together"
run sync --dry-run=yes
expect_rc 64 "sync --dry-run=yes: exit 64"
run help sync
expect_out '^  -n, --dry-run  ' "help sync names -n, --dry-run"
