# SPDX-License-Identifier: ISC
# Family 21, pull under faults: 20 consecutive passes under random injected
# faults (seeded: throttling, 5xx, cut and slow responses, truncated bodies,
# expired delta tokens, with small "times" and "skip"), with Outlook changes
# between passes.  Every pass ends with 0, 69 or 75, silent on success; no
# pass removes the block of an event that still blocks; after the faults
# stop, one clean pass converges: the book's [ext] items equal exactly what
# a fresh database gets from a clean sync, and the emulator's busy/oof
# single events.  SEED may be set in the environment to replay another run.
. "$TOP/test/lib.sh"

SEED=${SEED:-20261125}
echo "# seed $SEED"
emu_setup pull-faults "retry_budget = 2" "timeout = 2" "page_size = 6"
FROM=$(date -u -d '-8 day' +%F) TO=$(date -u -d '+200 day' +%F)

# One step: Outlook changes and faults for pass N (seeded), then print the
# emulator's still-blocking single event ids, one a line.
cat >"$T/step.py" <<'EOF'
import json, random, sys, urllib.request
base, seed, n, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")
def events():
    s = call("GET", "/_emu/state")
    return [(c["name"], e) for c in s["users"][0]["calendars"] for e in c["events"]]
if mode == "prepare":
    rnd = random.Random(seed * 1000 + n)
    call("DELETE", "/_emu/faults")
    evs = sorted(events(), key=lambda ce: (ce[1]["subject"], ce[1]["start"]))
    for _ in range(rnd.choice([0, 0, 1, 2, 3])):
        op = rnd.choice(["add", "add", "add", "add", "series", "edit", "move", "move", "delete", "showas", "cancel"])
        cal = rnd.choice(["Calendar", "Calendar", "Clinic rota"])
        day, hour = rnd.randint(1, 40), rnd.randint(7, 18)
        if op in ("add", "series"):
            ev = {"subject": "%s p%d.%d" % ("Series" if op == "series" else "Added", n, rnd.randint(0, 999)),
                  "start": "+%dd%02d:00" % (day, hour), "end": "+%dd%02d:45" % (day, hour),
                  "showAs": rnd.choice(["busy", "busy", "busy", "oof", "free", "tentative"])}
            if op == "series":
                ev["recurrence"] = {"pattern": {"type": "daily", "interval": 1},
                                    "range": {"type": "numbered", "numberOfOccurrences": rnd.randint(2, 4)}}
            call("POST", "/_emu/outlook", {"op": "add", "calendar": cal, "event": ev})
            continue
        if not evs:
            continue
        _, e = rnd.choice(evs)
        body = {"op": op, "id": e["id"]}
        if op == "edit":
            body["event"] = {"subject": e["subject"].split(" (edited")[0] + " (edited %d)" % n}
        elif op == "move":
            body["shift_minutes"] = rnd.choice([-1440, -90, 60, 180, 2880])
        elif op == "showas":
            body["showAs"] = rnd.choice(["busy", "free", "oof", "tentative"])
        call("POST", "/_emu/outlook", body)
        if op == "delete":
            evs = [ce for ce in evs if ce[1]["id"] != e["id"]]
    faults = []
    for _ in range(rnd.choice([0, 1, 1, 2, 2, 3])):
        kind = rnd.choice(["throttle", "status503", "status500", "status504", "cut", "cut",
                           "truncate", "slow", "delta_expired", "delta_expired"])
        f = {"times": rnd.randint(1, 3), "skip": rnd.choice([0, 0, 1]),
             "match": {"path": rnd.choice(["calendarView", "/me/calendarView", "/me/calendars/", "skiptoken"])}}
        if kind == "throttle":
            f.update(kind="throttle", retry_after=rnd.choice(["0.2", "0.5"]))
        elif kind.startswith("status"):
            f.update(kind="status", status=int(kind[6:]))
            if rnd.random() < 0.5:
                f["retry_after"] = "0.3"
        elif kind == "slow":
            f.update(kind="slow", delay_ms=2300, times=1)
        elif kind == "delta_expired":
            f.update(kind="delta_expired", variant=rnd.choice(["syncStateNotFound", "resyncRequired",
                                                               "InvalidDeltaToken", "gone"]))
            f["match"]["path"] = "deltatoken"
        else:
            f["kind"] = kind
        faults.append(f)
    if faults:
        call("POST", "/_emu/faults", {"faults": faults})
    print(" ".join(f["kind"] for f in faults) or "-")
elif mode == "blocking":
    # Single events that block now, well inside the window (a series is
    # checked at the end).
    import datetime
    lo = (datetime.date.today() - datetime.timedelta(days=6)).isoformat()
    hi = (datetime.date.today() + datetime.timedelta(days=179)).isoformat()
    for _, e in events():
        if not e.get("recurrence") and e["showAs"] in ("busy", "oof") and not e.get("isCancelled") \
                and e["start"][:10] > lo and e["end"][:10] < hi:
            print(e["id"])
elif mode == "truth":
    # Busy/oof single events overlapping the window: subject|start|end
    import datetime
    ws = (datetime.date.today() - datetime.timedelta(days=7)).isoformat()
    we = (datetime.date.today() + datetime.timedelta(days=181)).isoformat()
    rows = []
    for _, e in events():
        if e.get("recurrence") or e["showAs"] not in ("busy", "oof") or e.get("isCancelled"):
            continue
        if e["end"][:19] > ws and e["start"][:19] < we:
            rows.append("%s|%s|%s" % (e["subject"], e["start"], e["end"]))
    print("\n".join(sorted(rows)))
EOF
step() { python3 "$T/step.py" "$EMU" "$SEED" "$@"; }
book() {	# subject|start|end of the [ext] items, from appt list --json
	"$BIN" "$@" appt list --from "$FROM" --to "$TO" --json | python3 -c '
import json, sys
rows = sorted("%s|%s|%s" % (a["subject"], a["starts_at"], a["ends_at"]) for a in json.load(sys.stdin) if a["kind"] == "ext")
print("\n".join(rows))'
}

first_sync 1,2

bad_rc=0 noisy_ok=0 lost=0 i=1
while [ $i -le 20 ]; do
	step "$i" blocking >"$T/blocking"
	db "SELECT source_event_id FROM appointments WHERE kind = 'ext'" | sort >"$T/had"
	kinds=$(step "$i" prepare)
	run sync
	echo "# pass $i: faults [$kinds] exit $rc, $(wc -l <"$T/had") blocks before"
	case $rc in
	0) [ -s "$T/err" ] && noisy_ok=$((noisy_ok + 1)) ;;
	69|75) ;;
	*) bad_rc=$((bad_rc + 1)); sed 's/^/#   /' "$T/err" ;;
	esac
	# Blocks of events that blocked before this step and still block.
	step "$i" blocking | sort >"$T/still"
	sort "$T/blocking" | comm -12 - "$T/still" | comm -12 - "$T/had" >"$T/must"
	db "SELECT source_event_id FROM appointments WHERE kind = 'ext'" | sort >"$T/has"
	m=$(comm -23 "$T/must" "$T/has" | wc -l)
	[ "$m" -gt 0 ] && { lost=$((lost + m)); echo "#   pass $i removed $m block(s) of events that still block"; }
	i=$((i + 1))
done
check '[ $bad_rc = 0 ]' "20 passes under faults: every exit is 0, 69 or 75 ($bad_rc others)"
check '[ $noisy_ok = 0 ]' "20 passes under faults: every successful pass is silent"
check '[ $lost = 0 ]' "20 passes under faults: no pass removed a block of an event that still blocks ($lost)"

ctl DELETE /_emu/faults >/dev/null
run sync
expect_rc 0 "a clean pass after the faults"
expect_silent "the clean pass is silent"
run sync
expect_silent "and the one after it too"

book >"$T/book"
step 0 truth >"$T/truth"
if [ "${TEST_VERBOSE:-}" = 1 ]; then python3 "$TOP/test/emuctl.py" "$EMU" events | cut -f1-5 | sed 's/^/#   emulator: /'; fi
grep -v '^Series' "$T/book" >"$T/book.single"
check 'cmp -s "$T/book.single" "$T/truth"' "the book's single-event blocks equal the emulator's busy/oof events ($(wc -l <"$T/truth") of them)"
if [ "${TEST_VERBOSE:-}" = 1 ]; then diff "$T/book.single" "$T/truth" | sed 's/^/#   /'; fi

# A second database, a fresh login and one clean sync: the same blocks.
export TIMETAP_SYNC_DB="$T/fresh/timetap.db"
mkdir -m 700 "$T/fresh"
BROWSER="$TOP/test/fake-browser.sh" run login
run calendars --pull 1,2
run sync
expect_rc 0 "a fresh database syncs cleanly"
book >"$T/fresh.book"
check '[ -s "$T/book" ] && cmp -s "$T/book" "$T/fresh.book"' "the book after the faulty passes equals a fresh clean sync ($(wc -l <"$T/fresh.book") blocks, series included)"
if [ "${TEST_VERBOSE:-}" = 1 ]; then diff "$T/book" "$T/fresh.book" | sed 's/^/#   /'; fi
