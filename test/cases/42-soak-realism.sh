# SPDX-License-Identifier: ISC
# Family 42, a soak: many passes against the emulator's hard defaults
# with the service's transactionId de-duplication OFF (txn_replay
# "duplicate": a create sent again makes a second event).  Ada's mailbox
# (realism.json, an administrator consented to Group.ReadWrite.All) gets
# recurring busy series (sparse occurrences in delta; an exception, a
# deleted occurrence, a weekly series without end), all-day out-of-office,
# tentative and free events, on her own calendar, the calendar Bob shares
# with her (writable), Carol's (read-only) and the Teams calendar of
# "Team 1".  Pulled: her own, Bob's, Carol's and Team 1's; pushed to: her
# own, Bob's, Team 1's and Team 2's (push-only: read for ours only).
# SOAK_ROUNDS (default 30) rounds, seeded by SOAK_SEED, each make a few
# random changes in the book (add, move, rename, cancel) and in Outlook
# (busy events added, moved, deleted, shown as something else, cancelled,
# renamed, categorized, answered; series added, occurrences deleted or
# edited, masters edited or moved; our own events renamed, moved, shown as
# free, deleted, reminders dismissed, categorized, answered), inject faults
# (429, 5xx, answers lost after the commit, cut and truncated answers,
# answers later than `timeout`, on $batch, its items and reads; expired
# delta tokens, CAE 401s, expired access tokens) and sometimes kill -9 a
# pass, at a random moment or while its first $batch is in flight (the
# service performs it after the kill); then one `sync` must exit 0 (2
# when it tells new conflicts, and only them; or 75 in a round with
# faults or a kill), silent when it exits 0.  At the end,
# faults cleared, clean passes until quiet (at most 3): the last exits 0
# and prints nothing; every booked appointment is exactly once on every
# push calendar; no event of ours is an [ext] block; the [ext] blocks
# (appt list --json) are exactly the busy/oof instances, not cancelled, of
# the pulled calendars inside each calendar's window, series expanded by
# the emulator's own code; no transactionId is held twice (the service's
# tx_duplicates counter may be above 0); the store maps each appointment to
# the event that exists; one more pass writes nothing.  The whole soak is
# also bounded in time (SOAK_BUDGET, default 200 s: no new round after).
. "$TOP/test/lib.sh"

seed=${SOAK_SEED:-4242}
ROUNDS=${SOAK_ROUNDS:-30}
BUDGET=${SOAK_BUDGET:-200}
echo "# seed $seed, $ROUNDS rounds"
t_start=$(date +%s)

# max_removals = 100%: a series shown as free frees dozens of blocks at
# once, which is the point here, not the removal cap (exit 3).
emu_setup realism "retry_budget = 3" "timeout = 2" "page_size = 25" "max_removals = 100%"
export BROWSER="$TOP/test/fake-browser.sh"
ctl POST /_emu/consent '{"admin_grant":["Group.ReadWrite.All"]}' >/dev/null
ctl POST /_emu/config '{"login_user": "ada@fabrikam.example", "txn_replay": "duplicate"}' >/dev/null
# The emulator's world must be the hard one, but for txn_replay: check it,
# so that this family cannot pass against a kind one.
ctl GET /_emu/config | python3 -c '
import json, sys
c = json.load(sys.stdin)
sys.exit(0 if (c["txn_replay"], c["sparse_occurrences"], c["group_meetings"], c["body_patch_regenerates_link"],
               c["delta_refused"], c["select_returns_timestamps"], c["group_delta"], c["latency_ms"]) ==
         ("duplicate", True, True, True, [], False, True, 0) else 1)'
check '[ $? -eq 0 ]' "the emulator: de-duplication off, every other realism switch at its hard default"

BOB="Bob's calendar" CAROL="Carol's calendar"
gid() { ctl GET /_emu/state | python3 -c '
import json, sys
print([g["id"] for g in json.load(sys.stdin)["groups"] if g["displayName"] == sys.argv[1]][0])' "$1"; }
G1=$(gid "Team 1") G2=$(gid "Team 2")

# Outlook's side before the first pass: series (daily with an exception
# and a deleted occurrence, weekly without end), all-day out-of-office,
# tentative and free events, on the own, Bob's and the Teams calendar.
for ev in \
    '"event":{"subject":"Morning huddle","start":"-2d09:00","end":"-2d09:15","showAs":"busy","recurrence":{"pattern":{"type":"daily","interval":1},"range":{"type":"numbered","numberOfOccurrences":40}},"exceptions":[{"occurrence":4,"subject":"Morning huddle (late)","start":"+2d09:30","end":"+2d09:45"}],"deletedOccurrences":[6]}' \
    '"event":{"subject":"Weekly review","start":"+1d15:00","end":"+1d16:00","showAs":"busy","recurrence":{"pattern":{"type":"weekly","interval":1},"range":{"type":"noEnd"}}}' \
    '"event":{"subject":"Training day","start":"+5d","end":"+6d","isAllDay":true,"showAs":"oof"}' \
    '"event":{"subject":"Maybe lunch","start":"+2d12:00","end":"+2d13:00","showAs":"tentative"}' \
    '"event":{"subject":"Gym","start":"+3d07:00","end":"+3d08:00","showAs":"free"}' \
    '"calendar":"'"$BOB"'","event":{"subject":"Bob: rounds","start":"+1d13:00","end":"+1d14:00","showAs":"busy","organizer":"bob@fabrikam.example","recurrence":{"pattern":{"type":"weekly","interval":1},"range":{"type":"numbered","numberOfOccurrences":8}}}' \
    '"calendar":"group:'"$G1"'","event":{"subject":"Team standup","start":"+0d10:00","end":"+0d10:15","showAs":"busy","recurrence":{"pattern":{"type":"daily","interval":1},"range":{"type":"numbered","numberOfOccurrences":15}}}' \
    '"calendar":"group:'"$G1"'","event":{"subject":"Team offsite","start":"+10d","end":"+12d","isAllDay":true,"showAs":"oof"}' \
    '"calendar":"group:'"$G1"'","event":{"subject":"Team sync","start":"+2d16:00","end":"+2d16:30","showAs":"busy"}' \
    '"calendar":"group:'"$G2"'","event":{"subject":"Team 2 party","start":"+4d16:00","end":"+4d18:00","showAs":"busy"}'; do
	ctl POST /_emu/outlook "{\"op\":\"add\",$ev}" >/dev/null || echo "# setup event refused: $ev"
done

trun login --groups
expect_rc 0 "login --groups"
cid() { db "SELECT remote_id FROM calendars WHERE name = '$(printf %s "$1" | sed "s/'/''/g")'"; }
PULL="$(cid Calendar),$(cid "$BOB"),$(cid "$CAROL"),$(cid "Team 1")"
PUSH="$(cid Calendar),$(cid "$BOB"),$(cid "Team 1"),$(cid "Team 2")"
trun calendars --cached --pull "$PULL" --push "$PUSH"
expect_rc 0 "pull the own, Bob's, Carol's and Team 1's calendars; push to the own, Bob's, Team 1's and Team 2's"
PUSHCALS="Calendar,$BOB,group:Team 1,group:Team 2"
PULLCALS="Calendar|$BOB|$CAROL|group:Team 1"

# The soak's driver: one round of random changes (book and Outlook) and
# faults, from Random(seed * 1000 + round); counts in $T/counts.json;
# prints "KILL_MS KILL_AT FAULTED WHAT" (KILL_MS 0: no kill this round;
# KILL_AT t: after KILL_MS, b: KILL_MS after the first $batch is sent).
# With "settle": only wait until the emulator answered every request.
cat >"$T/soak.py" <<'EOF'
import json, os, random, sqlite3, subprocess, sys, time, urllib.error, urllib.request
from datetime import datetime, timedelta, timezone
base, binp, seed, rno, tdir, M = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
cf = os.path.join(tdir, "counts.json")
counts = json.load(open(cf)) if os.path.exists(cf) else {}
log = []
def count(k):
    counts[k] = counts.get(k, 0) + 1
    log.append(k)
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")
def outlook(body):
    try:
        return call("POST", "/_emu/outlook", body)
    except urllib.error.HTTPError as e:
        print("# round %d: outlook op refused: %s: %s" % (rno, json.dumps(body)[:200], e.read()[:200]), file=sys.stderr)
        return None
OURS = None
def ours(e):	# the emulator says which events are ours (GET /_emu/ours)
    global OURS
    if OURS is None:
        OURS = {x["id"] for x in call("GET", "/_emu/ours")["events"]}
    return e["id"] in OURS
def tool(*args):
    p = subprocess.run([binp] + list(args), capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        print("# round %d: %s: exit %d: %s" % (rno, " ".join(args[:2]), p.returncode, p.stderr.strip()[:200]),
              file=sys.stderr)
    return p
def settle():
    # At most 15 s until every logged request is answered (a request the
    # tool gave up on, or whose pass was killed, is performed all the same).
    for _ in range(150):
        if not any(r["status"] is None for r in call("GET", "/_emu/requests")["requests"]):
            return
        time.sleep(0.1)
    print("# round %d: the emulator did not settle" % rno, file=sys.stderr)
settle()
if sys.argv[7] == "settle":
    sys.exit(0)

rnd = random.Random(seed * 1000 + rno)
# The late answers of the last round have landed: start this one clean.
call("DELETE", "/_emu/faults")
call("DELETE", "/_emu/requests")
today = datetime.now(timezone.utc).date()

# ---- the book ----
db = sqlite3.connect(os.environ["TIMETAP_SYNC_DB"], timeout=30)
booked = [r[0] for r in db.execute("SELECT id FROM appointments WHERE kind = 'booked' AND status = 'booked' ORDER BY id")]
db.close()
def slot():
    d = today + timedelta(days=rnd.randint(1, 30))
    s = datetime(d.year, d.month, d.day, rnd.randint(7, 18), rnd.choice([0, 15, 30, 45]))
    e = s + timedelta(minutes=rnd.choice([15, 30, 45, 60, 90]))
    return s.strftime("%Y-%m-%dT%H:%MZ"), e.strftime("%Y-%m-%dT%H:%MZ")
for _ in range(rnd.choice([0, 1, 1, 2, 3])):
    op = rnd.choice(["add", "add", "add", "times", "subject", "cancel"])
    if op != "add" and len(booked) < 4:
        op = "add"
    if op == "add":
        s, e = slot()
        n = counts.get("book add", 0) + 1
        args = ["appt", "add", "--start", s, "--end", e, "--subject", "Appt %d.%d" % (rno, n), "--force"]
        if rnd.random() < 0.4:
            args += ["--client", "Client %d" % n]
        if rnd.random() < 0.2:
            args.append("--online")
        p = tool(*args)
        if p.returncode == 0:
            booked.append(int(p.stdout.strip()))
    elif op == "times":
        s, e = slot()
        tool("appt", "edit", str(rnd.choice(booked)), "--start", s, "--end", e, "--force")
    elif op == "subject":
        a = rnd.choice(booked)
        tool("appt", "edit", str(a), "--subject", "Appt %d renamed in round %d" % (a, rno), "--force")
    else:
        a = rnd.choice(booked)
        tool("appt", "cancel", str(a))
        booked.remove(a)
    count("book " + op)

# ---- Outlook ----
st = call("GET", "/_emu/state")
cal_of, ext, mine, series = {}, [], [], []
for kind in ("users", "groups"):
    for mb in st[kind]:
        if kind == "users" and mb["upn"] != "ada@fabrikam.example":
            continue
        for c in mb["calendars"]:
            name = c["name"] if kind == "users" else "group:" + mb["displayName"]
            for e in c["events"]:
                cal_of[e["id"]] = name
                if ours(e):
                    mine.append(e)
                else:
                    ext.append(e)
                    if e.get("recurrence"):
                        series.append(e)
groups = {g["displayName"]: g["id"] for g in st["groups"]}
# Second copies of our events the last pass left (a lost answer the
# service performed twice, with de-duplication off): shown, for the record.
tx = {}
for e in mine:
    tx.setdefault((cal_of[e["id"]], e.get("transactionId")), []).append(e["id"])
for (c, t), ids in sorted(tx.items(), key=str):
    if len(ids) > 1:
        counts["second copies found between passes"] = counts.get("second copies found between passes", 0) + 1
        print("# round %d: before it, %d events on %s hold transactionId %s" % (rno, len(ids), c, t), file=sys.stderr)
ext_cals = ["Calendar", "Calendar", "Bob's calendar", "Carol's calendar", "group:" + groups["Team 1"],
            "group:" + groups["Team 1"], "group:" + groups["Team 2"]]
showas = ["busy", "busy", "oof", "tentative", "free", "workingElsewhere"]
for _ in range(rnd.choice([0, 1, 1, 2, 3])):
    op = rnd.choice(["add", "add", "add_series", "move", "delete", "showas", "cancel", "rename", "touch",
                     "occ_delete", "occ_edit", "occ_edit", "master_edit", "master_move",
                     "our_edit", "our_edit", "our_move", "our_free", "our_delete", "our_touch", "our_touch"])
    if op.startswith("our_") and not mine:
        op = "add"
    if op.startswith(("occ_", "master_")) and not series:
        op = "add_series"
    if op in ("move", "delete", "showas", "cancel", "rename", "touch") and not ext:
        op = "add"
    if op in ("add", "add_series"):
        d, h, m = rnd.randint(-3, 40), rnd.randint(7, 18), rnd.choice([0, 30])
        ev = {"subject": "%s r%d.%d" % ("Series" if op == "add_series" else "Busy", rno, rnd.randint(0, 999)),
              "start": "%+dd%02d:%02d" % (d, h, m), "end": "%+dd%02d:%02d" % (d, h + 1, m),
              "showAs": rnd.choice(showas)}
        if rnd.random() < 0.15:
            ev.update(start="%+dd" % d, end="%+dd" % (d + rnd.choice([1, 2])), isAllDay=True)
        if op == "add_series":
            pat = rnd.choice([{"type": "daily", "interval": 1}, {"type": "daily", "interval": 2},
                              {"type": "weekly", "interval": 1}])
            rng = rnd.choice([{"type": "numbered", "numberOfOccurrences": rnd.randint(3, 12)},
                              {"type": "endDate", "endDate": "%+dd" % (d + rnd.randint(5, 60))}])
            ev["recurrence"] = {"pattern": pat, "range": rng}
            ev["showAs"] = rnd.choice(["busy", "busy", "oof", "tentative"])
        outlook({"op": "add", "calendar": rnd.choice(ext_cals), "event": ev})
    elif op == "move":
        e = rnd.choice(ext)
        outlook({"op": "move", "id": e["id"], "shift_minutes": rnd.choice([-1440, -120, 45, 60, 180, 2880])})
    elif op == "delete":
        e = rnd.choice([x for x in ext if not x.get("recurrence")] or ext)
        outlook({"op": "delete", "id": e["id"]})
        ext.remove(e)
    elif op == "showas":
        e = rnd.choice(ext)
        outlook({"op": "showas", "id": e["id"], "showAs": rnd.choice(showas)})
    elif op == "cancel":
        e = rnd.choice(ext)
        outlook({"op": "cancel", "id": e["id"]})
    elif op == "rename":
        e = rnd.choice(ext)
        outlook({"op": "edit", "id": e["id"], "event": {"subject": "Renamed r%d" % rno}})
    elif op == "occ_delete":
        e = rnd.choice(series)
        outlook({"op": "delete_occurrence", "id": e["id"], "index": rnd.randint(0, 2)})
    elif op == "occ_edit":
        e = rnd.choice(series)
        what, dd = rnd.choice(["subject", "showAs", "time"]), rnd.randint(1, 30)
        ch = {"subject": {"subject": "Occurrence renamed r%d" % rno}, "showAs": {"showAs": rnd.choice(showas)},
              "time": {"start": "+%dd08:00" % dd, "end": "+%dd08:40" % dd}}[what]
        if what == "time" and e.get("isAllDay"):
            # an all-day event's start and end are midnights (graph-docs resources/event.md,
            # isAllDay): a timed exception of an all-day series is not something Outlook makes
            what, ch = "subject", {"subject": "Occurrence renamed r%d" % rno}
        outlook({"op": "edit_occurrence", "id": e["id"], "index": rnd.randint(0, 2), "event": ch})
        op += " " + what
    elif op == "master_edit":
        e = rnd.choice(series)
        ch = rnd.choice([{"subject": "Series renamed r%d" % rno}, {"showAs": rnd.choice(showas)}])
        outlook({"op": "edit", "id": e["id"], "event": ch})
    elif op == "master_move":
        e = rnd.choice(series)
        outlook({"op": "move", "id": e["id"], "shift_minutes": rnd.choice([-60, 30, 1440])})
    elif op == "our_edit":
        e = rnd.choice(mine)
        outlook({"op": "edit", "id": e["id"], "event": {"subject": "Changed in Outlook r%d" % rno}})
    elif op == "our_move":
        e = rnd.choice(mine)
        outlook({"op": "move", "id": e["id"], "shift_minutes": rnd.choice([-90, 30, 1440])})
    elif op == "our_free":
        e = rnd.choice(mine)
        outlook({"op": "showas", "id": e["id"], "showAs": rnd.choice(["free", "tentative", "oof"])})
    elif op == "our_delete":
        e = rnd.choice(mine)
        outlook({"op": "delete", "id": e["id"]})
        mine.remove(e)
    else:  # our_touch, touch: a new changeKey, no field anyone owns changed
        e = rnd.choice(mine if op == "our_touch" else ext)
        t = rnd.choice(["dismiss_reminder", "categorize", "respond"])
        body = {"op": t, "id": e["id"]}
        if t == "categorize":
            body["categories"] = [rnd.choice(["Red", "Blue", "Green"])]
        if t == "respond":
            body["response"] = rnd.choice(["accepted", "tentativelyAccepted", "declined"])
        outlook(body)
        op += " " + t
    count("outlook " + op)

# ---- faults ----
B = r"/\$batch$"
faults, expired = [], False
for _ in range(rnd.choice([0, 0, 1, 1, 2, 3])):
    k = rnd.choice(["429 item", "429 batch", "503 item", "500 create", "503 write", "503 batch", "5xx read",
                    "lost batch", "lost batch", "cut batch", "truncated batch", "late batch",
                    "lost read", "cut read", "truncated read", "delta expired", "429 read", "cae 401",
                    "cae 401 batch", "token expired", "late read"])
    times, skip = rnd.randint(1, 3), rnd.choice([0, 0, 1])
    f = {"times": times, "skip": skip}
    if k == "429 item":
        f.update(kind="throttle", retry_after=rnd.choice(["0.2", "0.5"]), match={"in_batch": True})
    elif k == "429 batch":
        f.update(kind="throttle", retry_after="0.5", match={"method": "POST", "path": B}, times=1)
    elif k == "503 item":
        f.update(kind="status", status=503, match={"in_batch": True})
        if rnd.random() < 0.5:
            f["retry_after"] = "0.3"
    elif k == "500 create":
        f.update(kind="status", status=500, match={"method": "POST", "in_batch": True, "path": "/events$"})
    elif k == "503 write":
        f.update(kind="status", status=503, match={"method": rnd.choice(["PATCH", "DELETE"]), "in_batch": True})
    elif k == "503 batch":
        f.update(kind="status", status=503, retry_after="0.3", match={"method": "POST", "path": B}, times=1)
    elif k == "5xx read":
        f.update(kind="status", status=rnd.choice([500, 502, 503, 504]), match={"method": "GET", "path": "calendarView|/events"})
    elif k == "lost batch":
        f.update(kind="cut_after_commit", match={"method": "POST", "path": B}, times=rnd.randint(1, 2))
    elif k == "cut batch":
        f.update(kind="cut", match={"method": "POST", "path": B}, times=1)
    elif k == "truncated batch":
        f.update(kind="truncate", match={"method": "POST", "path": B}, times=1)
    elif k == "late batch":
        f.update(kind="slow", delay_ms=2300, match={"method": "POST", "path": B}, times=1)
    elif k == "lost read":
        f.update(kind="cut_after_commit", match={"method": "GET", "path": "delta|calendarView"}, times=1)
    elif k == "cut read":
        f.update(kind="cut", match={"method": "GET", "path": "/events|calendarView"}, times=1)
    elif k == "delta expired":
        f.update(kind="delta_expired", variant=rnd.choice(["syncStateNotFound", "resyncRequired", "InvalidDeltaToken", "gone"]),
                 match={"path": "deltatoken"}, times=1)
    elif k == "429 read":
        f.update(kind="throttle", retry_after="0.3", match={"method": "GET", "path": "calendarView|/events"})
    elif k == "truncated read":
        f.update(kind="truncate", match={"method": "GET", "path": "delta|calendarView"}, times=1)
    elif k == "cae 401":
        f.update(kind="unauthorized", match={"method": "GET", "path": "calendarView"}, times=1, skip=0)
    elif k == "cae 401 batch":
        f.update(kind="unauthorized", match={"method": "POST", "path": B}, times=1, skip=0)
    elif k == "token expired":  # the service ends every access token now (401 on a token believed valid)
        call("POST", "/_emu/tokens/expire", {})
        count("fault " + k)
        expired = True
        continue
    else:
        f.update(kind="slow", delay_ms=2300, match={"method": "GET", "path": "calendarView|/events"}, times=1)
    faults.append(f)
    count("fault " + k)
if faults:
    call("POST", "/_emu/faults", {"faults": faults})
# kill -9: at a random moment of the pass (5-150 ms; a clean pass takes
# about 100 ms here), or while its first $batch is in flight (the service
# holds it 200-600 ms, then performs it: the creates land after the kill).
kill, when = 0, "-"
if rnd.random() < 0.2:
    when = rnd.choice(["t", "b"])
    if when == "t":
        kill = rnd.randint(5, 150)
        count("kill -9 at a random time")
    else:
        delay = rnd.randint(200, 600)
        kill = rnd.randint(1, delay - 50)
        call("POST", "/_emu/faults", {"faults": [{"kind": "slow", "delay_ms": delay, "times": 1,
                                                  "match": {"method": "POST", "path": B}}]})
        count("kill -9 with a $batch in flight")
json.dump(counts, open(cf, "w"))
print("%d %s %d %s" % (kill, when, 1 if faults or expired or kill else 0, ", ".join(log) or "-"))
EOF
drive() { python3 "$T/soak.py" "$EMU" "$BIN" "$seed" "$1" "$T" "$MARK" "${2:-round}"; }

# The truth: every instance of the emulator's events (series expanded by
# the emulator's own code) on the pulled calendars that blocks -- showAs
# busy or oof (block_showas default), not cancelled, not ours -- and
# overlaps that calendar's window as the tool set it; against the book's
# [ext] rows from appt list --json.  Also: our events that came back as
# blocks, transactionIds held twice, the store's map.  compare: files
# $T/cmp.*; sets ntruth nseries ninst nours.
cat >"$T/truth.py" <<'EOF'
import json, sqlite3, sys
from datetime import timezone
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1] + "/test")
import graph_emulator as ge
state, book, dbp, M, pulled, out = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].lower(), sys.argv[6].split("|"), sys.argv[7]
st = json.load(open(state))
db = sqlite3.connect(dbp)
cals = {}   # the book's calendar name or path -> (remote id, window start, end)
for rid, name, path, ws, we in db.execute("SELECT remote_id, name, path, window_start, window_end FROM calendars WHERE pull"):
    cals[name] = cals[path] = (rid, ws, we)
emu = ge.Emulator()
z = lambda dt: dt.strftime("%Y-%m-%dT%H:%M:%SZ")
ours_ids = {x["id"] for x in json.load(open(state.replace("state.json", "ours.json")))["events"]}
ours = lambda e: e["id"] in ours_ids	# the emulator's GET /_emu/ours
truth, our_ids, txids, where = [], set(), {}, {}
nseries = ninst = 0
for kind in ("users", "groups"):
    for mb in st[kind]:
        if kind == "users" and mb["upn"] != "ada@fabrikam.example":
            continue
        for c in mb["calendars"]:
            name = c["name"] if kind == "users" else "group:" + mb["displayName"]
            rid = c["id"] if kind == "users" else mb["id"]
            win = next((v for v in cals.values() if v[0] == rid), None)
            box = {"events": {}, "_index": {}, "tx": {}}
            for ev in c["events"]:
                ev = json.loads(json.dumps(ev))
                emu._insert_event(box, c, ev, stamp=False)
                if ev.get("transactionId"):
                    txids.setdefault(ev["transactionId"], []).append(name)
                if ours(ev):
                    our_ids.add(ev["id"])
                    where[ev["id"]] = rid
                    continue
                if name not in pulled or win is None:
                    continue
                nseries += bool(ev.get("recurrence"))
                for inst in emu.instances(box, ev):
                    ov = inst.ov or {}
                    get = lambda k, d=None: ov[k] if k in ov else ev.get(k, d)
                    s = inst.s.replace(tzinfo=timezone.utc).timestamp()
                    e = inst.e.replace(tzinfo=timezone.utc).timestamp()
                    if get("showAs", "busy") not in ("busy", "oof") or get("isCancelled", False):
                        continue
                    if e <= win[1] or s >= win[2]:
                        continue
                    ninst += inst.key is not None
                    truth.append("\t".join([rid, inst.id, get("subject", ""), z(inst.s), z(inst.e),
                                            str(bool(ev.get("isAllDay")))]))
rows, back = [], []
for a in json.load(open(book)):
    if a["kind"] != "ext":
        continue
    if a["event_id"] in our_ids:
        back.append("%s: %s %s" % (a["calendar"], a["subject"], a["starts_at"]))
    rid = cals.get(a["calendar"], ("not pulled: " + str(a["calendar"]),))[0]
    rows.append("\t".join([rid, a["event_id"], a["subject"], a["starts_at"], a["ends_at"], str(a["all_day"])]))
truth.sort()
rows.sort()
open(out + ".truth", "w").write("".join(x + "\n" for x in truth))
open(out + ".book", "w").write("".join(x + "\n" for x in rows))
open(out + ".back", "w").write("".join(x + "\n" for x in back))
open(out + ".twice", "w").write("".join("%s: %s\n" % (t, ", ".join(c)) for t, c in sorted(txids.items()) if len(c) > 1))
# The store: each booked appointment maps, on each push calendar, to the
# event of ours that exists there.
bad = []
for appt, rid, evid in db.execute("SELECT a.id, c.remote_id, p.event_id FROM appointments a"
                                  " JOIN calendars c ON c.push AND c.profile_id = a.profile_id"
                                  " LEFT JOIN pushed p ON p.appt_id = a.id AND p.calendar_id = c.id"
                                  " WHERE a.kind = 'booked' AND a.status = 'booked'"):
    if evid is None or where.get(evid) != rid:
        bad.append("appointment %d on %s: mapped to %s" % (appt, rid[:12], (evid or "nothing")[:24]))
open(out + ".map", "w").write("".join(x + "\n" for x in bad))
print(len(truth), nseries, ninst, len(our_ids))
EOF
compare() {
	rm -f "$T"/cmp.*
	"$BIN" appt list --from 2000-01-01 --json >"$T/book.json"
	ctl GET /_emu/state >"$T/state.json"
	ctl GET /_emu/ours >"$T/ours.json"
	set -- $(python3 "$T/truth.py" "$TOP" "$T/state.json" "$T/book.json" "$TIMETAP_SYNC_DB" "$MARK" "$PULLCALS" "$T/cmp")
	ntruth=${1:-0} nseries=${2:-0} ninst=${3:-0} nours=${4:-0}
}
# What differs (< the emulator's busy time, > the book), ids shortened.
differs() {
	diff "$T/cmp.truth" "$T/cmp.book" | grep '^[<>]' | head -10 | awk -F '\t' '{
		printf "#   %s cal ..%s event ..%s %s %s..%s all-day %s\n", substr($1, 1, 1), substr($1, length($1) - 9),
		    substr($2, length($2) - 15), $3, $4, $5, $6 }'
}

# A first booking, then the first pass.
i=0
while [ $i -lt 8 ]; do
	run appt add --start "$(d $((i * 3 + 1)))T1$((i % 8)):00Z" --end "$(d $((i * 3 + 1)))T1$((i % 8)):45Z" \
	    --subject "Appt 0.$i" --force
	i=$((i + 1))
done
# The fixed bookings may fall under blocks the pull brings: such a pass
# tells those conflicts (exit 2) and nothing else.
CONFLICT_LINE='^timetap-sync: profile default: conflict: appointment '
told_only() { [ ! -s "$T/out" ] && ! grep -qv "$CONFLICT_LINE" "$T/err"; }
trun sync
check '{ [ $rc -eq 0 ] || [ $rc -eq 2 ]; } && told_only' "the first pass: exit 0, or 2 telling only conflicts (exit $rc)"
check '[ $rc -ne 0 ] || [ ! -s "$T/err" ]' "silently when it exits 0"
remote_problems "$PUSHCALS" "" busy >"$T/problems"
rp=$?
check '[ $rp -eq 0 ] && [ ! -s "$T/problems" ]' "the first pass pushed every appointment once to every push calendar$(head -3 "$T/problems" | sed 's/^/; /' | tr -d '\n')"
compare
check '[ "$nseries" -eq 4 ] && [ "$ninst" -ge 80 ] && [ -f "$T/cmp.back" ] && [ ! -s "$T/cmp.back" ] && cmp -s "$T/cmp.truth" "$T/cmp.book"' \
    "and its blocks are the busy time: $ntruth, $ninst of them occurrences of $nseries series (own, Bob's, Team 1's)"
differs

# ---- the soak ----
bad="" n75=0 nkill=0 noisy="" killed137=0
r=1
while [ $r -le "$ROUNDS" ]; do
	if [ $(( $(date +%s) - t_start )) -gt "$BUDGET" ]; then
		echo "# the time budget ($BUDGET s) is spent: no round after round $((r - 1))"
		break
	fi
	set -f
	set -- $(drive "$r" 2>"$T/drive.err" | tail -1)
	set +f
	kill_ms=${1:-0} kill_at=${2:--} faulted=${3:-0}
	sed 's/^/#   /' "$T/drive.err"
	if [ "$kill_ms" -gt 0 ]; then
		"$BIN" sync >/dev/null 2>&1 &
		pid=$!
		w=0
		while [ "$kill_at" = b ] && [ $w -lt 150 ] && kill -0 "$pid" 2>/dev/null &&
		    ! ctl GET /_emu/requests | grep -q '"path": *"/v1.0/\$batch"'; do
			sleep 0.01
			w=$((w + 1))
		done
		sleep "$(printf '%d.%03d' $((kill_ms / 1000)) $((kill_ms % 1000)))"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		kc=$?
		nkill=$((nkill + 1))
		[ "$kc" -eq 137 ] && killed137=$((killed137 + 1))
	fi
	t0=$(date +%s%N)
	trun sync
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	what=$(shift 3; echo "$*")
	[ "$kill_ms" -gt 0 ] && what="$what (killed $kill_ms ms after the $([ "$kill_at" = b ] && echo "first \$batch was sent" || echo start), exit $kc)"
	echo "# round $r: exit $rc in $ms ms: $what"
	case $rc in
	0) if [ -s "$T/err" ] || [ -s "$T/out" ]; then
		noisy="$noisy $r"; sed 's/^/#   output: /' "$T/out" "$T/err" | head -5
	   fi ;;
	2) told_only || { noisy="$noisy $r"; sed 's/^/#   output: /' "$T/out" "$T/err" | head -5; } ;;
	75) n75=$((n75 + 1))
	    sed 's/^/#   stderr: /' "$T/err" | head -3
	    [ "$faulted" -eq 0 ] && bad="$bad round $r: exit 75 without a fault;" ;;
	*) bad="$bad round $r: exit $rc;"; sed 's/^/#   stderr: /' "$T/err" | head -10 ;;
	esac
	r=$((r + 1))
done
check '[ -z "$bad" ]' "$((r - 1)) rounds: every pass exits 0, 2 (new conflicts told), or 75 in a round with faults or a kill$bad"
check '[ -z "$noisy" ]' "every pass that exits 0 is silent, one that exits 2 says only its conflicts${noisy:+ (not in rounds$noisy)}"
echo "# $n75 passes ended 75, $nkill kills ($killed137 took effect)"

# ---- the end: no faults, clean passes until quiet ----
nofault
drive 0 settle
q=0
while [ $q -lt 3 ]; do
	q=$((q + 1))
	trun sync
	[ $rc -eq 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ] && break
	echo "# clean pass $q: exit $rc"; sed 's/^/#   stderr: /' "$T/err" | head -5
done
expect_rc 0 "a clean pass after the soak exits 0 ($q clean passes)"
expect_silent "and prints nothing"
settle 10 || echo "# the emulator did not settle"
remote_problems "$PUSHCALS" "" busy >"$T/problems"
rp=$?
check '[ $rp -eq 0 ] && [ ! -s "$T/problems" ]' "every booked appointment exactly once on every push calendar, as booked, nothing else of ours$(head -6 "$T/problems" | sed 's/^/; /' | tr -d '\n')"
echo "# $(grep -c . "$T/problems") problems"; head -20 "$T/problems" | sed 's/^/#   /'

compare
check '[ -f "$T/cmp.back" ] && [ ! -s "$T/cmp.back" ]' "no event of ours came back as an [ext] block ($nours events of ours)$(head -3 "$T/cmp.back" | sed 's/^/; /' | tr -d '\n')"
check '[ "$ntruth" -gt 0 ] && cmp -s "$T/cmp.truth" "$T/cmp.book"' \
    "the [ext] blocks equal the busy time: $(grep -c . "$T/cmp.book") blocks, $ntruth busy/oof instances in the windows ($ninst occurrences of $nseries series)"
differs
check '[ -f "$T/cmp.twice" ] && [ ! -s "$T/cmp.twice" ]' "no transactionId is held by two events$(head -3 "$T/cmp.twice" | sed 's/^/; /' | tr -d '\n')"
check '[ -f "$T/cmp.map" ] && [ ! -s "$T/cmp.map" ]' "the store maps each booked appointment to its event on each push calendar$(head -3 "$T/cmp.map" | sed 's/^/; /' | tr -d '\n')"

nbooked=$(db "SELECT count(*) FROM appointments WHERE kind = 'booked' AND status = 'booked'")
ncanc=$(db "SELECT count(*) FROM appointments WHERE kind = 'booked' AND status = 'cancelled'")
echo "# final: $nbooked booked, $ncanc cancelled, $(grep -c . "$T/cmp.book") blocks; service counters:" \
    "tx_duplicates $(counter tx_duplicates), tx_dedup_hits $(counter tx_dedup_hits)," \
    "events created $(counter events_created), updated $(counter events_updated), deleted $(counter events_deleted)"
python3 -c '
import json, sys
for k, v in sorted(json.load(open(sys.argv[1])).items()):
    print("#   %4d %s" % (v, k))' "$T/counts.json"

# Quiet means quiet: one more pass writes nothing.
ctl DELETE /_emu/requests >/dev/null
trun sync
expect_rc 0 "one more pass"
check '[ ! -s "$T/out" ] && [ ! -s "$T/err" ] && [ "$(writes)" -eq 0 ]' "is silent and writes nothing ($(writes) writes)"
echo "# $(( $(date +%s) - t_start )) s"
