# SPDX-License-Identifier: ISC
# Shared helpers for the integration cases (sourced by test/cases/*.sh).
#
# Each case runs the real binary ($BIN) in a scratch directory with its own
# HOME, database and config, and prints TAP lines.  Helpers:
#   run ARGS...            run the tool; sets $rc, files $T/out and $T/err
#   expect_rc N DESC       the last run exited with N
#   expect_out RE DESC     stdout matches the extended regex RE
#   expect_err RE DESC     stderr matches RE
#   expect_no_out RE DESC, expect_no_err RE DESC  stdout, stderr do not match RE
#   expect_silent DESC     stdout and stderr are both empty
#   no_control FILE        FILE has no terminal control byte (ESC, BEL, C1 CSI,
#                          bidi override) nor an escaped form of one in JSON
#   check COND DESC        any shell test
#   trun ARGS...           run, stopped after 60 s (a login never waits longer
#                          here); stdin from the file $TRUN_STDIN if that is set
#   emu_start [ARGS]       start the Graph emulator; sets $EMU (base URL)
#   emu METHOD PATH [JSON] call the emulator's control interface
#   ctl METHOD PATH [JSON] the same with curl (no Python start-up per call);
#                          fails on an HTTP error
# Setting up against the emulator:
#   emu_config [SETTING...]  write the config: the test app's client_id,
#                          authority_url and graph_url on the emulator, SETTINGs
#   emu_setup SCENARIO [SETTING...]  emu_start on test/scenarios/SCENARIO.json
#                          (the case ends if it does not start), then emu_config
#   first_sync [PULL]      log in through the fake browser (TAP "login"), make
#                          the calendars PULL (e.g. 1,2) the pull calendars if
#                          given, run the first sync (TAP "first sync")
# The emulator's side:
#   outlook JSON           a change "in Outlook" (POST /_emu/outlook)
#   remote_events SUBJECT  the stored events with SUBJECT, a line each:
#                          calendar (blanks as _), id, start, joinUrl or -
#   evid SUBJECT           the emulator id of the (first) event with SUBJECT
#   idof                   the "id" of the emulator's JSON answer on stdin
#   change [DAY0]          one pending Outlook change: add the busy event
#                          "Added N" on day +(N % 20 + DAY0) (DAY0 default 7),
#                          10:00-11:00, delete "Added N-1", clear the request
#                          log; N counts in $n, the new event's id is $last
#   fault SPECS            add fault specs (JSON objects, comma-separated) to the
#                          emulator's list
#   set_fault SPECS        the same after nofault: these faults only
#   nofault                clear the emulator's fault list
#   nreq [COND]            logged requests for which the Python condition COND
#                          on r (a log entry) holds; without COND all of them
#   grants GRANT_TYPE      logged requests with that grant_type
#   nlog METHOD IN_BATCH REGEX  logged Graph requests (not /oauth2/) with
#                          METHOD (a regex, e.g. 'PATCH|DELETE'; '*': any),
#                          in a $batch (1), not (0) or either ('*'), whose
#                          decoded path (and ?query, if any) matches REGEX
#   writes                 logged writes: POST, PATCH, DELETE (and $batch)
#   counter NAME           the emulator's counter NAME, summed over mailboxes
#   settle [SECONDS]       wait (at most SECONDS, default 15) until the
#                          emulator has answered every logged request
#   ours FIELD...          events of ours, the fields of GET /_emu/ours
#   remote_problems CALS [TEMPLATE [SHOWAS]]  what is wrong between the book
#                          and the emulator, a line each (none: they agree):
#                          every booked appointment exactly once on each push
#                          calendar of CALS (comma-separated, group:NAME for a
#                          group's), as the push_subject TEMPLATE (default
#                          {subject}) makes its subject, with its times and,
#                          if SHOWAS is given, that showAs; nothing of ours
#                          (marker $MARK or transactionId timetap-...) on
#                          another calendar or for an appointment not booked
# The book's side:
#   d N                    the date N days from today (UTC), YYYY-MM-DD: the
#                          day of the emulator's "+Nd"
#   nblk [PROFILE]         the number of [ext] blocks (of PROFILE)
#   has SUBJECT [PROFILE]  exactly one [ext] block (of PROFILE) has SUBJECT
#   snap NAME              the [ext] blocks (event|start|end|subject) to $T/NAME
#   kept OLD NEW           snapshot OLD is not empty and NEW has all its blocks
#   converged [CALS]       the book's [ext] blocks equal the busy/oof events,
#                          not cancelled, of the user's calendars CALS
#                          (comma-separated names; default all), subject|start|
#                          end (written to $T/book and $T/truth)
#   json_holds FILE CODE   the JSON in FILE (as j) satisfies CODE: a Python
#                          expression that must be true, or statements (assert
#                          ...) when CODE has more than one line; also at hand:
#                          env (the environment), d(N), saved(NAME) (the JSON
#                          in $T/saved.NAME.json), events(STATE) (the events
#                          of GET /_emu/state, each with its calendar),
#                          feed(SUBJECT, KEY) (KEY of the rows of a feed j), MARK;
#                          why not in $T/why
#   json_value FILE EXPR   print the value of the Python expression EXPR on the
#                          JSON in FILE (as j; a string as it is, else as JSON)
#   widest FILE            the display width of FILE's widest line (UTF-8:
#                          East Asian wide and full-width characters 2,
#                          combining marks 0, colour sequences none)
#   columns FILE TEXT      the display column where TEXT begins on each line
#                          of FILE that has it, one a line
#   blocks_problems        what is wrong between the [ext] blocks and the busy
#                          time of the pulled calendars (series expanded), a
#                          line each (none: they agree)
#   fv SUBJECT KEY         KEY of the feed rows with SUBJECT in $T/feed.json,
#                          as JSON, '|'-joined (MISSING if there is none)
# Randomness:
#   rnd N                  R = a pseudo-random number in [0, N) from $seed (a
#                          31-bit LCG; call it directly, not in $(...))
set -u
: "${BIN:?BIN must point at the binary}"
: "${TOP:?TOP must point at the source tree}"
T=$(mktemp -d)
EMU_PID=""
cleanup() {
	[ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
export HOME="$T/home"
mkdir -p "$HOME"
unset XDG_DATA_HOME XDG_CONFIG_HOME TIMETAP_SYNC_DB TIMETAP_SYNC_CONFIG
export TZ="${TZ:-UTC}" LC_ALL=C.UTF-8
export TIMETAP_SYNC_DB="$T/db/timetap.db" TIMETAP_SYNC_CONFIG="$T/config"
# An explicit database path needs its directory (only the default one is
# made), ours alone.
mkdir -m 700 "$T/db"
: >"$TIMETAP_SYNC_CONFIG"
tap_n=0
rc=0

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() {
	tap_n=$((tap_n + 1))
	echo "not ok $tap_n - $*"
	[ -n "${TAP_AT:-}" ] && echo "#   at $TAP_AT"
	echo "#   last command: $last_cmd (exit $rc)"
	sed 's/^/#   stdout: /' "$T/out" 2>/dev/null | head -10
	sed 's/^/#   stderr: /' "$T/err" 2>/dev/null | head -10
}
last_cmd=""
run() {
	last_cmd="timetap-sync $*"
	"$BIN" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
trun() {
	last_cmd="timetap-sync $*"
	if [ -n "${TRUN_STDIN:-}" ]; then
		timeout 60 "$BIN" "$@" >"$T/out" 2>"$T/err" <"$TRUN_STDIN"
	else
		timeout 60 "$BIN" "$@" >"$T/out" 2>"$T/err"
	fi
	rc=$?
}
expect_rc() {
	if [ "$rc" -eq "$1" ]; then ok "$2"; else not_ok "$2 (want exit $1)"; fi
}
expect_out() {
	if grep -Eq -- "$1" "$T/out"; then ok "$2"; else not_ok "$2 (stdout lacks /$1/)"; fi
}
expect_no_out() {
	if grep -Eq -- "$1" "$T/out"; then not_ok "$2 (stdout has /$1/)"; else ok "$2"; fi
}
expect_err() {
	if grep -Eq -- "$1" "$T/err"; then ok "$2"; else not_ok "$2 (stderr lacks /$1/)"; fi
}
expect_no_err() {
	if grep -Eq -- "$1" "$T/err"; then not_ok "$2 (stderr has /$1/)"; else ok "$2"; fi
}
expect_silent() {
	if [ ! -s "$T/out" ] && [ ! -s "$T/err" ]; then ok "$1"; else not_ok "$1 (output not empty)"; fi
}
no_control() {
	! grep -q "$(printf '\033')" "$1" && ! grep -q "$(printf '\007')" "$1" &&
	    ! grep -q "$(printf '\302\233')" "$1" &&
	    ! grep -q "$(printf '\342\200\256')" "$1" &&
	    ! grep -qi '\\u001b\|\\u0007\|\\u009b\|\\u202e' "$1"
}
check() {
	desc=$2
	if eval "$1"; then ok "$desc"; else not_ok "$desc [$1]"; fi
}
config() { printf '%s\n' "$@" >"$TIMETAP_SYNC_CONFIG"; }
db() { sqlite3 "$TIMETAP_SYNC_DB" "$@"; }

emu_start() {
	# Empty first: polled below before the emulator's shell may have
	# made it, and a restart must not read the last run's "listening".
	: >"$T/emu.out"
	python3 "$TOP/test/graph_emulator.py" --listen 127.0.0.1:0 "$@" \
	    >"$T/emu.out" 2>"$T/emu.err" &
	EMU_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		EMU=$(sed -n 's/^listening //p' "$T/emu.out")
		[ -n "$EMU" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "# emulator did not start:"; sed 's/^/#   /' "$T/emu.err"
	return 1
}
emu() { python3 "$TOP/test/emuctl.py" "$EMU" "$@"; }
# Stop the emulator (SIGTERM: it saves its --state file first).
emu_stop() {
	[ -n "$EMU_PID" ] || return 0
	kill "$EMU_PID" 2>/dev/null
	wait "$EMU_PID" 2>/dev/null
	EMU_PID=""
}
# The set of events the emulator holds for a mailbox, without ids, sorted.
emu_events() { emu events "$1" | cut -f1-5 | sort; }
# The book as comparable lines: kind, status, subject, times, online, link?
book_lines() {
	"$BIN" appt list --from 2000-01-01 --json | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    print("\t".join(str(x) for x in (a["kind"], a["status"], a["subject"],
        a["starts_at"], a["ends_at"], a["online"], a["join_url"] is not None)))
' | sort
}

# ---- against the emulator ----
# The extended property (the marker) that holds the appointment id on every
# event the tool pushes.
MARK="String {2f6b5ae5-9c1d-4a57-9f2e-5b3d7c1e8a40} Name TimeTapApptId"
ctl() {
	if [ $# -gt 2 ]; then
		curl -sf -X "$1" -H 'Content-Type: application/json' --data-binary "$3" "$EMU$2"
	else
		curl -sf -X "$1" "$EMU$2"
	fi
}
emu_config() {
	config "client_id = 11111111-2222-3333-4444-555555555555" \
	    "authority_url = $EMU" "graph_url = $EMU/v1.0" "$@"
}
emu_setup() {
	emu_start --scenario "$TOP/test/scenarios/$1.json" || exit 1
	shift
	emu_config "$@"
}
first_sync() {
	BROWSER="$TOP/test/fake-browser.sh" run login
	expect_rc 0 "login"
	[ $# -gt 0 ] && run calendars --pull "$1"
	run sync
	expect_rc 0 "first sync"
}
outlook() { emu POST /_emu/outlook "$1" >/dev/null || { echo "# outlook op failed: $1"; return 1; }; }
# The emulator's stored events with SUBJECT, in every mailbox: one line
# each, "calendar id start joinUrl" (joinUrl "-" when none; series once).
remote_events() {
	emu GET /_emu/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
for k in ("users", "groups"):
    for mb in s[k]:
        for c in mb["calendars"]:
            for e in c["events"]:
                if e.get("subject") == sys.argv[1]:
                    print(c["name"].replace(" ", "_"), e["id"], e["start"],
                          (e.get("onlineMeeting") or {}).get("joinUrl") or "-")' "$1" | sort
}
evid() {
	emu GET /_emu/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(next(e["id"] for u in s["users"] for c in u["calendars"] for e in c["events"] if e.get("subject") == sys.argv[1]))' "$1"
}
idof() { sed -n 's/^{"id":"\([^"]*\)".*/\1/p'; }
n=0 last=""
change() {
	n=$((n + 1))
	new=$(ctl POST /_emu/outlook "{\"op\": \"add\", \"event\": {\"subject\": \"Added $n\", \"start\": \"+$((n % 20 + ${1:-7}))d10:00\", \"end\": \"+$((n % 20 + ${1:-7}))d11:00\", \"showAs\": \"busy\"}}" | idof)
	[ -n "$last" ] && ctl POST /_emu/outlook "{\"op\": \"delete\", \"id\": \"$last\"}" >/dev/null
	last=$new
	ctl DELETE /_emu/requests >/dev/null
}
fault() { ctl POST /_emu/faults "{\"faults\": [$1]}" >/dev/null || { echo "# bad fault: $1"; return 1; }; }
set_fault() {
	nofault
	fault "$1"
}
nofault() { ctl DELETE /_emu/faults >/dev/null; }
nreq() {
	ctl GET /_emu/requests | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin)["requests"] if eval(sys.argv[1])))' "${1:-True}"
}
grants() {
	emu GET /_emu/requests | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin)["requests"] if r["grant_type"] == sys.argv[1]))
' "$1"
}
nlog() {
	emu GET /_emu/requests | python3 -c '
import json, re, sys
from urllib.parse import unquote
m, ib, rx = sys.argv[1:4]
print(sum(1 for r in json.load(sys.stdin)["requests"]
          if (m == "*" or re.fullmatch(m, r["method"])) and (ib == "*" or r["in_batch"] == (ib == "1"))
          and "/oauth2/" not in r["path"]
          and re.search(rx, unquote(r["path"] + ("?" + r["query"] if r["query"] else "")))))' "$@"
}
writes() { nlog 'POST|PATCH|DELETE' '*' .; }
counter() {
	emu GET /_emu/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(sum(mb["counters"][sys.argv[1]] for k in ("users", "groups") for mb in s[k]))' "$1"
}
settle() {
	settle_i=0
	while [ $settle_i -lt $((${1:-15} * 10)) ]; do
		emu GET /_emu/requests | python3 -c '
import json, sys
sys.exit(any(r["status"] is None for r in json.load(sys.stdin)["requests"]))' && return 0
		sleep 0.1
		settle_i=$((settle_i + 1))
	done
	return 1
}
# ours FIELD...: the events of ours (GET /_emu/ours: one place decides
# what is ours), one a line, the fields tab-separated (a missing value
# "-", lists joined by ";", text without tabs or newlines), sorted.
ours() {
	emu GET /_emu/ours | python3 -c '
import json, sys
def f(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, list):
        return ";".join(map(str, v))
    return str(v).replace("\t", " ").replace("\n", " ")
for e in json.load(sys.stdin)["events"]:
    print("\t".join(f(e.get(k)) for k in sys.argv[1:]))' "$@" | sort
}
remote_problems() {
	emu GET /_emu/ours >"$T/ours.json"
	python3 - "$TIMETAP_SYNC_DB" "$T/ours.json" "$1" "${2:-}" "${3:-}" <<'EOF'
import json, sqlite3, sys
from datetime import datetime, timezone
dbp, oursp, cals, tmpl, showas = sys.argv[1:6]
cals = cals.split(",")
tmpl = tmpl or "{subject}"
db = sqlite3.connect(dbp)
z = lambda t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
want = {}
for i, s, c, a, b in db.execute("SELECT id, subject, client, start_utc, end_utc FROM appointments"
                                " WHERE kind = 'booked' AND status = 'booked'"):
    want[str(i)] = (tmpl.replace("{subject}", s).replace("{client}", c or "").replace("{id}", str(i)),
                    z(a), z(b)) + ((showas,) if showas else ())
have = {}
for e in json.load(open(oursp))["events"]:
    have.setdefault(e["calendar"], []).append((e["appt"] or "?", e["subject"], e["start"], e["end"])
                                              + ((e["showAs"],) if showas else ()))
for name, evs in have.items():
    if name not in cals:
        print("%s: %d events of ours on a calendar without the push role" % (name, len(evs)))
for name in cals:
    evs = have.get(name, [])
    for a, w in sorted(want.items(), key=lambda x: int(x[0])):
        got = [x for x in evs if x[0] == a]
        if len(got) != 1:
            print("%s: appointment %s: %d events" % (name, a, len(got)))
        elif got[0][1:] != w:
            print("%s: appointment %s: %r, want %r" % (name, a, got[0][1:], w))
    for x in evs:
        if x[0] not in want:
            print("%s: event of ours for appointment %s, which is not booked" % (name, x[0]))
EOF
}

# blocks_problems: what is wrong between the book's [ext] blocks and the
# busy time the emulator holds, a line each (none: they agree).  The busy
# time: every instance (series expanded by the emulator's own code) of the
# events on each calendar the book pulls, showAs busy or oof, not
# cancelled, not ours (GET /_emu/ours), overlapping the window the tool
# stored for that calendar; as subject, start, end, all-day.  It assumes
# the default block_showas, block_all_day and pull_subjects.
blocks_problems() {
	ctl GET /_emu/state >"$T/bp.state.json" && ctl GET /_emu/ours >"$T/bp.ours.json" || {
		echo "the emulator does not answer"
		return 0
	}
	python3 - "$TOP" "$T/bp.state.json" "$T/bp.ours.json" "$TIMETAP_SYNC_DB" <<'EOF'
import json, sqlite3, sys
from datetime import datetime, timezone
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1] + "/test")
import graph_emulator as ge
st, ours = json.load(open(sys.argv[2])), {e["id"] for e in json.load(open(sys.argv[3]))["events"]}
db = sqlite3.connect(sys.argv[4])
z = lambda dt: dt.strftime("%Y-%m-%dT%H:%M:%SZ")
zt = lambda t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
remote = {}	# remote calendar id -> (calendar, its events)
for kind in ("users", "groups"):
    for mb in st[kind]:
        for c in mb["calendars"]:
            remote[c["id"] if kind == "users" else mb["id"]] = (c, c["events"])
emu = ge.Emulator()
for cid, rid, path, ws, we in db.execute("SELECT id, remote_id, path, window_start, window_end FROM calendars"
                                         " WHERE pull AND window_start IS NOT NULL"):
    truth = []
    if rid in remote:
        c, evs = remote[rid]
        box = {"events": {}, "_index": {}, "tx": {}}
        for ev in evs:
            ev = json.loads(json.dumps(ev))
            emu._insert_event(box, c, ev, stamp=False)
            if ev["id"] in ours:
                continue
            for inst in emu.instances(box, ev):
                ov = inst.ov or {}
                get = lambda k, d=None: ov[k] if k in ov else ev.get(k, d)
                s = inst.s.replace(tzinfo=timezone.utc).timestamp()
                e = inst.e.replace(tzinfo=timezone.utc).timestamp()
                if get("showAs", "busy") in ("busy", "oof") and not get("isCancelled", False) and e > ws and s < we:
                    truth.append((get("subject", ""), z(inst.s), z(inst.e), bool(ev.get("isAllDay"))))
    book = [(sj, zt(a), zt(b), bool(ad)) for sj, a, b, ad in db.execute(
        "SELECT subject, start_utc, end_utc, all_day FROM appointments WHERE kind = 'ext' AND source_calendar_id = ?", (cid,))]
    for x in sorted(set(truth) | set(book)):
        if truth.count(x) != book.count(x):
            print("%s: %s %s-%s%s: %d busy, %d blocks" % (path, x[0], x[1], x[2], " (all day)" if x[3] else "",
                                                        truth.count(x), book.count(x)))
for (n,) in db.execute("SELECT count(*) FROM appointments a LEFT JOIN calendars c ON c.id = a.source_calendar_id"
                       " WHERE a.kind = 'ext' AND (c.id IS NULL OR NOT c.pull)"):
    if n:
        print("%d blocks from no pulled calendar" % n)
EOF
}

# ---- crash at every durable step (the isync way) ----
# crash_prepare MAILBOX...: after the case set up the work of the pass
# under test, save the emulator's state (--state "$T/emu.state") and the
# database as the initial state; the snapshots compare the book and the
# events of the MAILBOXes (an UPN, or group:ID: the list is split at
# blanks, so a group is named by its id, never its display name).
crash_prepare() {
	for m in "$@"; do
		case $m in *" "*) not_ok "crash_prepare: '$m' has a blank: name the group by its id" ;; esac
	done
	CRASH_MAILBOXES="$*"
	emu_stop
	cp "$T/emu.state" "$T/emu.initial"
	cp "$TIMETAP_SYNC_DB" "$T/db.initial"
}
# crash_restore: the initial state again -- the database copied back,
# the emulator remade from its saved state in place (POST /_emu/restart,
# as a new process would start, without a new process or giving up the
# port) or, when it is not running, started on it.
crash_restore() {
	cp "$T/db.initial" "$TIMETAP_SYNC_DB"
	rm -f "$TIMETAP_SYNC_DB-wal" "$TIMETAP_SYNC_DB-shm"
	if [ -n "$EMU_PID" ] && curl -sfk -o /dev/null -X POST \
	    --data "{\"from\": \"$T/emu.initial\"}" "$EMU/_emu/restart"; then
		return 0
	fi
	emu_stop
	cp "$T/emu.initial" "$T/emu.state"
	emu_start --state "$T/emu.state" --listen "127.0.0.1:${CRASH_PORT:?}"
}
crash_snapshot() {
	book_lines >"$1.book"
	for m in $CRASH_MAILBOXES; do emu_events "$m"; done >"$1.remote"
}
# crash_reference: the pass without a crash (its durable steps counted in
# $steps), a second pass that must be silent, the snapshot $T/ref.*.
crash_reference() {
	crash_restore
	TIMETAP_SYNC_CRASH_COUNT="$T/steps" run sync
	expect_rc 0 "the uncrashed pass"
	steps=$(cat "$T/steps")
	run sync
	expect_rc 0 "a second pass after it"
	expect_silent "and it is silent"
	crash_snapshot "$T/ref"
	check '[ "$(sort "$T/ref.remote" | uniq -d | wc -l)" -eq 0 ]' "the reference has no duplicate"
	check '[ "$steps" -gt 10 ]' "the pass has $steps durable steps"
}
# crash_every_step: for each step N (at most 400), from the initial state:
# the pass stopped at N, then two passes; the second exits 0 and the book
# and the mailboxes equal the reference.
crash_every_step() {
	bad=0
	n=1
	while [ "$n" -le "$steps" ] && [ "$n" -le 400 ]; do
		crash_restore
		TIMETAP_SYNC_CRASH_AT=$n "$BIN" sync >/dev/null 2>&1
		crc=$?
		"$BIN" sync >/dev/null 2>"$T/err1"
		r1=$?
		"$BIN" sync >/dev/null 2>"$T/err2"
		r2=$?
		crash_snapshot "$T/run"
		if [ "$crc" -ne 99 ] || [ "$r2" -ne 0 ] ||
		    ! cmp -s "$T/run.book" "$T/ref.book" ||
		    ! cmp -s "$T/run.remote" "$T/ref.remote"; then
			bad=$((bad + 1))
			echo "# crash at step $n: crash exit $crc, re-runs $r1/$r2"
			diff "$T/ref.book" "$T/run.book" | sed 's/^/#   book /' | head -5
			diff "$T/ref.remote" "$T/run.remote" | sed 's/^/#   remote /' | head -5
			sed 's/^/#   /' "$T/err1" "$T/err2" | head -4
		fi
		n=$((n + 1))
	done
	check '[ "$bad" -eq 0 ]' "a crash at each of the $steps steps converges to the uncrashed result"
}

# ---- the book ----
d() { date -u -d "+$1 day" +%F; }
nblk() { db "SELECT count(*) FROM appointments WHERE kind = 'ext'${1:+ AND profile_id = (SELECT id FROM profiles WHERE name = '$1')}"; }
has() { [ "$(db "SELECT count(*) FROM appointments WHERE kind = 'ext' AND subject = '$1'${2:+ AND profile_id = (SELECT id FROM profiles WHERE name = '$2')}")" = 1 ]; }
snap() {
	db "SELECT source_event_id || '|' || start_utc || '|' || end_utc || '|' || subject
	    FROM appointments WHERE kind = 'ext' ORDER BY 1" >"$T/$1"
}
kept() { [ -s "$T/$1" ] && [ -z "$(comm -23 "$T/$1" "$T/$2")" ]; }
converged() {
	db "SELECT subject || '|' || strftime('%Y-%m-%dT%H:%M:%SZ', start_utc, 'unixepoch') || '|'
	    || strftime('%Y-%m-%dT%H:%M:%SZ', end_utc, 'unixepoch') FROM appointments
	    WHERE kind = 'ext' ORDER BY 1" >"$T/book"
	ctl GET /_emu/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
pulled = sys.argv[1].split(",") if sys.argv[1] else None
rows = sorted("%s|%s|%s" % (e["subject"], e["start"], e["end"]) for c in s["users"][0]["calendars"]
              if pulled is None or c["name"] in pulled
              for e in c["events"] if e["showAs"] in ("busy", "oof") and not e.get("isCancelled"))
print("\n".join(rows))' "${1:-}" >"$T/truth"
	cmp -s "$T/book" "$T/truth"
}
widest() { display_py widest "$1" ""; }
columns() { display_py columns "$1" "$2"; }
display_py() {
	python3 - "$@" <<'EOF'
import re, sys, unicodedata
mode, path, text = sys.argv[1:4]
def width(s):
    s = re.sub("\033\\[[0-9;]*m", "", s)
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
if mode == "widest":
    print(max([width(l) for l in lines] or [0]))
else:
    for l in lines:
        if text in l:
            print(width(l[:l.index(text)]))
EOF
}
json_holds() { json_py holds "$1" "$2" >"$T/why" 2>&1; }
json_value() { json_py value "$1" "$2"; }
json_py() {
	python3 - "$1" "$2" "$3" "$T" "$MARK" <<'EOF'
import datetime, json, os, re, sys, traceback
mode, path, code, tmp, MARK = sys.argv[1:6]
env = os.environ
def d(n):
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=n)).strftime("%Y-%m-%d")
def saved(name):
    return json.load(open(os.path.join(tmp, "saved.%s.json" % name)))
def feed(subject, key):
    """the KEY of the feed rows (j, from feed --json) with SUBJECT"""
    return [r[key] for r in j if r["subject"] == subject]
def events(state):
    """every stored event of GET /_emu/state, with its "calendar" ("group:NAME" for a group's)"""
    return [dict(e, calendar=c["name"] if k == "users" else "group:" + mb["displayName"])
            for k in ("users", "groups") for mb in state[k] for c in mb["calendars"] for e in c["events"]]
try:
    j = json.load(open(path))
    if mode == "value":
        v = eval(code)
        print(v if isinstance(v, str) else json.dumps(v))
    elif "\n" in code.strip():
        exec(code.strip())
    elif not eval(code):
        print("false: %s" % code)
        sys.exit(1)
except SystemExit:
    raise
except BaseException as e:
    at = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == "<string>"]
    if at and "\n" in code.strip():
        print("line %d: %s" % (at[-1], code.strip().split("\n")[at[-1] - 1].strip()))
    print(("%s: %s" % (type(e).__name__, e))[:600], file=sys.stderr if mode == "value" else sys.stdout)
    sys.exit(1)
EOF
}
fv() {
	python3 - "$T/feed.json" "$1" "$2" <<'EOF'
import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r["subject"] == sys.argv[2]]
print("|".join(json.dumps(r[sys.argv[3]]) for r in rows) if rows else "MISSING")
EOF
}

# ---- randomness ----
rnd() {
	seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
	R=$(( (seed / 65536) % $1 ))
}

# ---- crash at every durable step, over scenarios (44-crash-every-*) ----
# crash_scenarios <TABLE: the table on stdin holds one scenario an entry
# (an entry starts at a line's first column; indented lines continue it;
# blank lines and "#" lines are skipped), fields separated by "|":
#   NAME | SCENARIO (test/scenarios/SCENARIO.json) | LOGIN_USER | PULL | PUSH
#        | FIRST WORK | INCREMENTAL WORK ("-": the scenario has no second pass)
# PULL and PUSH are calendar paths as `calendars` takes them (e.g. "Other
# calendars/Clinic rota", "Front Desk Team (group)"), comma-separated.
# For each line two passes are crashed at every step (lib.sh crash_*), each
# from a fresh mailbox and database, after a login (fake browser; --groups
# if a group calendar is in the roles) and the roles:
#   first: the FIRST WORK is done, nothing synced yet; the pass under test is
#          the first sync (the initial pull and push);
#   incr:  the FIRST WORK, a first sync, then the INCREMENTAL WORK; the pass
#          under test is the delta after changes on both sides.
# After the reference: remote_problems on the push calendars is empty, and
# the book's blocks equal those a fresh profile pulls from the reference's
# mailboxes (crash_blocks_problems).
# WORK is ";"-separated operations, each a shell word list (eval'd):
#   book SUBJECT DAY HH:MM MIN [ARGS]  appt add on day +DAY (UTC), MIN long,
#                                      ARGS passed on (--online, --client C)
#   edit SUBJECT ARGS...               appt edit (the booked SUBJECT)
#   cancel SUBJECT                     appt cancel
#   o JSON                             an Outlook change (POST /_emu/outlook)
#   o@ SUBJECT JSON [CALENDAR]         the same with "id" the event's with
#                                      SUBJECT (on CALENDAR, an emulator
#                                      calendar name or group:NAME)
#   emu JSON                           POST /_emu/config JSON
#   sql SQL                            a statement on the database
# In JSON, "@group:NAME@" stands for that group's id.
# For work on a table: CRASH_ONLY=NAME,... runs only those entries,
# CRASH_DRY=1 makes the references and checks without crashing.
crash_eid() {
	ctl GET /_emu/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
subj, cal = sys.argv[1], sys.argv[2]
for u in s["users"] + s["groups"]:
    for c in u["calendars"]:
        name = ("group:" + u["displayName"]) if u in s["groups"] else c["name"]
        for e in c["events"]:
            if e.get("subject") == subj and cal in ("", name):
                print(e["id"])
                sys.exit(0)
sys.exit(1)' "$1" "${2:-}"
}
crash_json() {
	case $1 in
	*@group:*@*) ctl GET /_emu/state | python3 -c '
import json, re, sys
s = json.load(sys.stdin)
ids = {g["displayName"]: g["id"] for g in s["groups"]}
print(re.sub(r"@group:([^@]*)@", lambda m: ids[m.group(1)], sys.argv[1]))' "$1" ;;
	*) printf '%s\n' "$1" ;;
	esac
}
crash_appt() { db "SELECT id FROM appointments WHERE kind = 'booked' AND subject = '$(printf %s "$1" | sed "s/'/''/g")' ORDER BY id DESC LIMIT 1"; }
crash_work() {
	printf '%s\n' "$1" | tr ';' '\n' | while read -r op; do
		[ -z "$op" ] || [ "$op" = - ] && continue
		eval "set -- $op"
		w=$1
		shift
		case $w in
		book)
			s=$(date -u -d "$(d "$2") $3 UTC" +%FT%H:%MZ)
			e=$(date -u -d "$(d "$2") $3 UTC + $4 min" +%FT%H:%MZ)
			subj=$1
			shift 4
			run appt add --start "$s" --end "$e" --subject "$subj" "$@" ;;
		edit) a=$(crash_appt "$1"); shift; run appt edit "$a" "$@" ;;
		cancel) run appt cancel "$(crash_appt "$1")" ;;
		o) emu POST /_emu/outlook "$(crash_json "$1")" >"$T/out" 2>"$T/err"; rc=$? ;;
		o@)
			id=$(crash_eid "$1" "${3:-}")
			j=$(crash_json "$2")
			emu POST /_emu/outlook "{\"id\": \"$id\", ${j#\{}" >"$T/out" 2>"$T/err"
			rc=$? ;;
		emu) ctl POST /_emu/config "$1" >/dev/null; rc=$? ;;
		sql) db "$1"; rc=$? ;;
		*) echo "# unknown work: $w"; rc=1 ;;
		esac
		if [ "$rc" -ne 0 ]; then
			echo "# work failed (exit $rc): $op"
			sed 's/^/#   /' "$T/out" "$T/err" | head -4
			echo x >>"$T/work.bad"
		fi
	done
}
# The calendars with a role, from `calendars --cached --json`: ROLE pull or
# push (or any), FORM cal (as the emulator names it: name, group:NAME) or
# mailbox (the login UPN, group:NAME).
crash_cals() {
	"$BIN" calendars --cached --json | python3 -c '
import json, sys
role, form, upn = sys.argv[1:4]
out = []
for c in json.load(sys.stdin):
    if role != "any" and not c[role]:
        continue
    if role == "any" and not (c["pull"] or c["push"]):
        continue
    if c["kind"] == "group":
        x = "group:" + c["name"]
    elif form == "cal":
        x = c["name"]
    else:
        x = upn  # the emulator keeps a calendar shared with the user in her mailbox
    if x not in out:
        out.append(x)
print(",".join(out))' "$1" "$2" "$3"
}
# crash_mailboxes LIST: the comma-separated mailboxes of LIST (crash_cals
# mailbox) as crash_prepare takes them: a group by its id (group:ID), for
# crash_snapshot splits $CRASH_MAILBOXES at blanks.
crash_mailboxes() {
	ctl GET /_emu/state | python3 -c '
import json, sys
ids = {g["displayName"]: g["id"] for g in json.load(sys.stdin)["groups"]}
print(" ".join("group:" + ids[m[6:]] if m.startswith("group:") else m for m in sys.argv[1].split(",")))' "$1"
}
# The book's blocks, without ids: calendar, subject, times, all-day.
crash_blocks() {
	"$BIN" appt list --from 2000-01-01 --json | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["kind"] == "ext":
        print("\t".join(str(x) for x in (a["calendar"], a["subject"], a["starts_at"], a["ends_at"], a["all_day"])))
' | sort
}
# crash_blocks_problems PULL: the differences between the book's blocks
# and those of a fresh profile (its own database) that logs in (as the
# emulator's login_user), pulls PULL (no push) and syncs against the emulator as it is; the
# fresh profile does not know our events (with the marker), which are no
# blocks for the book.
crash_blocks_problems() {
	crash_blocks >"$T/blocks.have"
	ctl GET /_emu/ours >"$T/blocks.ours"
	(
		export TIMETAP_SYNC_DB="$T/fresh/timetap.db"
		rm -rf "$T/fresh" && mkdir -m 700 "$T/fresh"
		g=
		case $1 in *"(group)"*) g=--groups ;; esac
		BROWSER="$TOP/test/fake-browser.sh" "$BIN" login $g >/dev/null 2>&1 &&
		    "$BIN" calendars --cached --pull "$1" --push "" >/dev/null 2>&1 &&
		    "$BIN" sync >/dev/null 2>&1 || echo "# the fresh profile failed"
		crash_blocks
	) | python3 -c '
import json, sys
ours = {(e["subject"], e["start"], e["end"]) for e in json.load(open(sys.argv[1]))["events"] if e["appt"]}
for l in sys.stdin:
    f = l.rstrip("\n").split("\t")
    if len(f) < 4 or (f[1], f[2], f[3]) not in ours:
        sys.stdout.write(l)' "$T/blocks.ours" >"$T/blocks.want"
	diff "$T/blocks.want" "$T/blocks.have" | grep '^[<>]'
}
# crash_snapshot1 NAME: what crash_snapshot writes (NAME.book as
# book_lines, NAME.remote as emu_events of each of $CRASH_MAILBOXES, through
# emuctl.py's own code) in one Python process instead of one for the book
# and one a mailbox: the step loop starts fewer processes.
# crash_scenario_pass compares the two after the family's first reference,
# then puts crash_snapshot1 in crash_snapshot's place.
crash_snapshot1() {
	"$BIN" appt list --from 2000-01-01 --json | python3 -c '
import contextlib, io, json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1] + "/test")
import emuctl
name, base = sys.argv[2:4]
with open(name + ".book", "w") as f:
    for l in sorted("\t".join(str(x) for x in (a["kind"], a["status"], a["subject"], a["starts_at"],
                                              a["ends_at"], a["online"], a["join_url"] is not None))
                    for a in json.load(sys.stdin)):
        f.write(l + "\n")
with open(name + ".remote", "w") as f:
    for m in sys.argv[4:]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            if emuctl.main(["emuctl", base, "events", m]) != 0:
                sys.exit(1)
        for l in sorted("\t".join(l.split("\t")[:5]) for l in out.getvalue().splitlines()):
            f.write(l + "\n")' "$TOP" "$1" "$EMU" $CRASH_MAILBOXES
}
crash_scenario_pass() {
	name=$1 scn=$2 user=$3 pull=$4 push=$5 work1=$6 work2=$7 pass=$8
	echo "# ---- $name, $pass pass ($scn.json, $user) ----"
	emu_stop
	rm -rf "$T/db" "$T/fresh" "$T/emu.out" "$T/emu.state" "$T/work.bad"
	mkdir -m 700 "$T/db"
	emu_start --scenario "$TOP/test/scenarios/$scn.json" --state "$T/emu.state" || exit 1
	CRASH_PORT=${EMU##*:}
	emu_config "retry_budget = 5"
	ctl POST /_emu/consent '{"admin_grant":["Group.ReadWrite.All"]}' >/dev/null
	ctl POST /_emu/config "{\"login_user\": \"$user\"}" >/dev/null
	g=
	case "$pull,$push" in *"(group)"*) g=--groups ;; esac
	BROWSER="$TOP/test/fake-browser.sh" run login $g
	expect_rc 0 "$name/$pass: login $g as $user"
	run calendars --cached --pull "$pull" --push "$push"
	expect_rc 0 "$name/$pass: roles: pull $pull; push $push"
	# What the scenario itself holds that remote_problems names (another
	# install's event, say) is not counted against the pass.
	remote_problems "$(crash_cals push cal "$user")" >"$T/problems.base"
	crash_work "$work1"
	if [ "$pass" = incr ]; then
		run sync
		expect_rc 0 "$name/$pass: the first sync"
		crash_work "$work2"
	fi
	check '[ ! -e "$T/work.bad" ]' "$name/$pass: the work was done"
	crash_prepare $(crash_mailboxes "$(crash_cals any mailbox "$user")")
	crash_reference
	remote_problems "$(crash_cals push cal "$user")" | grep -vxF -f "$T/problems.base" >"$T/problems"
	check '[ ! -s "$T/problems" ]' "$name/$pass: every appointment once on each push calendar$(sed 's/^/; /' "$T/problems" | head -3 | tr -d '\n')"
	crash_blocks_problems "$pull" >"$T/problems"
	check '[ ! -s "$T/problems" ]' "$name/$pass: the blocks are those a fresh pull finds ($(wc -l <"$T/blocks.have") blocks)$(sed 's/^/; /' "$T/problems" | head -3 | tr -d '\n')"
	if [ -z "${crash_fast:-}" ]; then
		# The first reference was lib.sh's crash_snapshot; from here on
		# (the steps, the later passes) crash_snapshot1 takes its place.
		crash_snapshot1 "$T/ref1"
		check 'cmp -s "$T/ref.book" "$T/ref1.book" && cmp -s "$T/ref.remote" "$T/ref1.remote"' \
		    "$name/$pass: crash_snapshot1 writes what crash_snapshot does"
		crash_snapshot() { crash_snapshot1 "$@"; }
		crash_fast=1
	fi
	[ -n "${CRASH_DRY:-}" ] || crash_every_step
	echo "# $name/$pass: $steps steps"
}
crash_scenarios() {
	awk '/^[[:space:]]*(#|$)/ { next }
	     /^[^[:space:]]/ { if (e != "") print e; e = $0; next }
	     { sub(/^[[:space:]]+/, " "); e = e $0 }
	     END { if (e != "") print e }' |
	    sed 's/[[:space:]]*|[[:space:]]*/|/g; s/[[:space:]]*$//' >"$T/scenarios"
	while IFS='|' read -r name scn user pull push work1 work2; do
		case ",${CRASH_ONLY:-$name}," in *",$name,"*) ;; *) continue ;; esac
		for pass in first incr; do
			[ "$pass" = incr ] && [ "$work2" = - ] && continue
			crash_scenario_pass "$name" "$scn" "$user" "$pull" "$push" "$work1" "$work2" "$pass" </dev/null
		done
	done <"$T/scenarios"
}
# ---- end of: crash at every durable step, over scenarios ----
