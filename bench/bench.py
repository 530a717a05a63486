#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""make bench: timetap-sync against the bundled Graph emulator, on loopback.

The emulator runs as hard as it does in every test: JWT access tokens of
1.2-12 KB, bare recurring occurrences in delta with their series masters,
a service time per page item and per expanded occurrence, $batch items four
at a time, at most four requests in flight per mailbox (429 beyond), and,
where a row says so, a latency on every response and on every batch item.

One table: per scenario the HTTP requests next to their floor, the wall
time next to its floor, CPU (user+sys of timetap-sync alone), CPU per
event served, and peak RSS; each the median of BENCH_RUNS runs (default
3).  BENCH_BEFORE=/path/to/an/older/timetap-sync measures that binary too,
row by row, for a before/after table.  BENCH_ONLY=regex picks scenarios.
Python 3 standard library only.  bench/README explains each floor and gap.
"""
import json
import math
import os
import re
import shutil
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("BENCH_BIN") or os.path.join(TOP, "timetap-sync")
RUSAGE = os.path.join(TOP, "bench", "rusage")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
ONLY = re.compile(os.environ.get("BENCH_ONLY", ""))
PAGE = 500		# page_size in the configuration
BATCH = 20		# items per $batch (Graph's limit)
MAILBOX_CONC = 4	# requests in flight per mailbox (Outlook's limit)

# The figures issue 16 measured for the Node.js tool on Microsoft's Graph
# SDK, MSAL and better-sqlite3 against the same kind of simulator (this
# tool's figure divided by the ratio the issue gives), and the ratios it
# asks for.
SDK = {"nochange_cpu": 0.032 / 0.14, "nochange_rss": 18.6 / 0.19, "latency_wall": 2.6 / 1.00}


class Emulator:
    def __init__(self, tmp, args, listen="127.0.0.1:0"):
        ca = args[args.index("--ca-out") + 1] if "--ca-out" in args else None
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(TOP, "test", "graph_emulator.py"),
             "--listen", listen] + args,
            stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "emu.err"), "a"),
            text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            raise SystemExit("bench: the emulator did not start")
        self.base = line.split()[1]
        self.ctx = ssl.create_default_context(cafile=ca) if ca else None

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600, context=self.ctx) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def requests(self):
        return self.call("GET", "/_emu/requests")["requests"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def run_tool(binary, env, *args):
    """Run timetap-sync; returns (exit, wall s, cpu s, peak RSS KiB).

    bench/rusage (built by make bench) starts the tool and reports its
    figures, CPU to the microsecond.  Exit 2 (the pass told new conflicts:
    the bench books over busy times on purpose) is a success."""
    out = os.path.join(env["HOME"], "rusage.out")
    t0 = time.monotonic()
    p = subprocess.run([RUSAGE, out, binary] + list(args),
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    with open(out) as f:
        code, user, sys_, rss = (int(x) for x in f.read().split())
    user, sys_ = user / 1e6, sys_ / 1e6
    if code not in (0, 2):
        print("bench: timetap-sync %s exited %d: %s" % (
            " ".join(args), code, p.stderr.decode(errors="replace").strip()[:2000]),
            file=sys.stderr)
    return code, wall, float(user) + float(sys_), int(rss)


def floors(reqs, latency_ms):
    """What the service asked of any client, from its own request log.

    requests: per calendar round ceil(items/page) pages (at least one),
    plus ceil(writes/20) batches per mailbox, plus the mailbox's zone when
    the pass read it.  wall: the longest chain of round trips the service
    took (one calendar's pages, one after another, as the service timed
    them, latency included) followed by that mailbox's writes, four at a
    time at the measured time of a batch item; plus the zone's request
    when it came first."""
    items, chain, writes, item_s = {}, {}, {}, {}
    zone = [r for r in reqs if not r.get("in_batch") and r["path"].endswith("/mailboxSettings/timeZone")]
    for r in reqs:
        if r.get("in_batch"):
            if r["method"] in ("POST", "PATCH", "DELETE"):
                mb = r.get("mailbox") or "?"
                writes[mb] = writes.get(mb, 0) + 1
                item_s.setdefault(mb, []).append(r["t_end"] - r["t_start"])
            continue
        if "/calendarView" in r["path"] and r.get("items") is not None:
            # One round per calendar path (nextLinks keep the path).
            key = (r.get("mailbox"), r["path"])
            items[key] = items.get(key, 0) + r["items"]
            chain[key] = chain.get(key, 0.0) + (r["t_end"] - r["t_start"])
    http = sum(max(1, math.ceil(n / PAGE)) for n in items.values())
    http += sum(math.ceil(n / BATCH) for n in writes.values()) + len(zone)
    wall = 0.0
    for mb in set(k[0] for k in items) | set(writes):
        longest = max([c for k, c in chain.items() if k[0] == mb] or [0.0])
        w = writes.get(mb, 0)
        per = statistics.median(item_s[mb]) if w else 0.0
        wall = max(wall, longest + math.ceil(w / MAILBOX_CONC) * max(per, latency_ms / 1000.0))
    if zone:
        wall += min(r["t_end"] - r["t_start"] for r in zone)
    served = sum(items.values())
    return {"http_floor": http, "wall_floor": wall, "served": served}


def count(reqs):
    """HTTP requests the tool sent, and writes (batch items that write)."""
    http = sum(1 for r in reqs if not r.get("in_batch"))
    writes = sum(1 for r in reqs if r.get("in_batch") and r["method"] in ("POST", "PATCH", "DELETE"))
    token = sum(1 for r in reqs if r.get("grant_type"))
    return http, writes, token


class Setup:
    """One emulator, one logged-in database template with roles and appointments."""

    def __init__(self, tmp, binary, events, appts, single=False, tls=None):
        os.makedirs(tmp, exist_ok=True)
        self.tmp, self.bin = tmp, binary
        self.state = os.path.join(tmp, "emu.state")
        ca = os.path.join(tmp, "ca.pem")
        self.tls = ["--tls", "--ca-out", ca, "--tls-keep", os.path.join(tmp, "tls")] if tls else []
        self.emu = Emulator(tmp, ["--generate", "10", "--state", self.state,
                                  "--lazy-state"] + self.tls)
        self.emu.call("POST", "/_emu/reset", {"generate": events, "single": single})
        self.port = self.emu.base.rsplit(":", 1)[1]
        self.config = {"latency_ms": 0}
        self.round = 0	# changes() takes fresh events and appointments each time
        self.events = events
        self.db = os.path.join(tmp, "timetap.db")
        self.tmpl = os.path.join(tmp, "template.db")
        cfg = os.path.join(tmp, "config")
        browser = os.path.join(TOP, "test", "fake-browser.sh")
        trust = ""
        if tls:
            browser = os.path.join(tmp, "browser.sh")
            with open(browser, "w") as f:
                f.write('#!/bin/sh\nexec curl -s -L --cacert %s --max-time 20 -o /dev/null "$1"\n' % ca)
            os.chmod(browser, 0o755)
            trust = trust_store(tmp, ca, tls)
        with open(cfg, "w") as f:
            f.write("client_id = 11111111-2222-3333-4444-555555555555\n"
                    "authority_url = %s\ngraph_url = %s/v1.0\npage_size = %d\n"
                    "max_removals = 100%%\n%s" % (self.emu.base, self.emu.base, PAGE, trust))
        self.env = dict(os.environ, TIMETAP_SYNC_DB=self.db, TIMETAP_SYNC_CONFIG=cfg,
                        BROWSER=browser, TZ="UTC", HOME=tmp)
        if run_tool(binary, self.env, "login", "--groups")[0] != 0:
            raise SystemExit("bench: login failed")
        con = sqlite3.connect(self.db)
        cals = dict(con.execute("SELECT path, id FROM calendars").fetchall())
        grp = [i for p, i in cals.items() if p.endswith("(group)")][0]
        if single:
            pull, push = [cals["Calendar"]], []
        else:
            pull, push = [cals["Calendar"], cals["Other calendars/Clinic rota"], grp], [cals["Calendar"], grp]
        con.execute("UPDATE calendars SET pull = id IN (%s), push = id IN (%s)" % (
            ",".join(map(str, pull)), ",".join(map(str, push)) or "0"))
        now = int(time.time()) // 1800 * 1800
        con.executemany(
            "INSERT INTO appointments (profile_id, start_utc, end_utc, subject, client)"
            " VALUES (1, ?, ?, ?, ?)",
            [(now + 86400 + i * 1800, now + 86400 + i * 1800 + 1500, "Client visit %d" % i,
              "Client %d" % i) for i in range(appts)])
        con.commit()
        con.close()
        self.npull = len(pull)
        shutil.copy(self.db, self.tmpl)
        # The mailbox as it was, with the same ids and tokens, for every
        # first sync: the emulator's state file, restored on each restart.
        self.emu.stop()
        shutil.copy(self.state, self.state + ".initial")
        self.restart()

    def restart(self):
        shutil.copy(self.state + ".initial", self.state)
        self.emu = Emulator(self.tmp, ["--state", self.state, "--lazy-state"] + self.tls,
                            "127.0.0.1:" + self.port)
        self.emu.call("POST", "/_emu/config", self.config)

    def set(self, **config):
        self.config.update(config)
        self.emu.call("POST", "/_emu/config", config)

    def fresh(self):
        """The state before a first sync: the initial mailbox and book."""
        self.emu.stop()
        self.restart()
        shutil.copy(self.tmpl, self.db)
        for ext in ("-wal", "-shm"):
            if os.path.exists(self.db + ext):
                os.remove(self.db + ext)
        self.emu.call("DELETE", "/_emu/requests")

    def measure(self, *args):
        self.emu.call("DELETE", "/_emu/requests")
        code, wall, cpu, rss = run_tool(self.bin, self.env, *(args or ("sync",)))
        reqs = self.emu.requests()
        http, writes, token = count(reqs)
        m = {"exit": code, "wall": wall, "cpu": cpu, "rss": rss, "http": http,
             "writes": writes, "token": token}
        m.update(floors(reqs, self.config.get("latency_ms") or 0))
        return m

    def changes(self, remote, local, round_no):
        """remote edits "as if in Outlook" and local edits in the book."""
        state = self.emu.call("GET", "/_emu/state")
        ada = [u for u in state["users"] if u["upn"] == "ada@contoso.example"][0]
        evs = [e for c in ada["calendars"] for e in c["events"]
               if not e.get("recurrence") and not (e.get("transactionId") or "").startswith("timetap-")]
        for e in evs[round_no * remote:(round_no + 1) * remote]:
            self.emu.call("POST", "/_emu/outlook", {"op": "edit", "id": e["id"],
                                                   "event": {"subject": e["subject"] + " (moved)"}})
        con = sqlite3.connect(self.db)
        con.execute("UPDATE appointments SET subject = subject || ' *' WHERE id IN"
                    " (SELECT id FROM appointments WHERE kind = 'booked' ORDER BY id"
                    " LIMIT ? OFFSET ?)", (local, round_no * local))
        con.commit()
        con.close()

    def stop(self):
        self.emu.stop()


def trust_of(tag):
    """Every pass goes over HTTPS, as to Graph, with the system's CA store
    the way each binary uses it by default: the bundle before, the
    directory now (BENCH_CA=bundle|dir overrides)."""
    return os.environ.get("BENCH_CA") or ("bundle" if tag == "before" else "dir")


def trust_store(tmp, ca, kind):
    """The system's CA certificates and the emulator's, as a bundle
    (ca_file: OpenSSL parses it whole) or as a hashed directory (ca_path:
    OpenSSL looks the issuer up); the configuration line naming it."""
    system = "/etc/ssl/certs"
    if kind == "bundle":
        path = os.path.join(tmp, "bundle.pem")
        with open(path, "w") as out:
            with open(os.path.join(system, "ca-certificates.crt")) as f:
                out.write(f.read())
            with open(ca) as f:
                out.write(f.read())
        return "ca_file = %s\n" % path
    path = os.path.join(tmp, "cadir")
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(system):
        if name.endswith(".pem"):
            shutil.copy(os.path.join(system, name), os.path.join(path, name))
    shutil.copy(ca, os.path.join(path, "emulator.pem"))
    subprocess.run(["openssl", "rehash", path], check=True, stderr=subprocess.DEVNULL)
    return "ca_path = %s\n" % path


class Staff:
    """N staff members, each a user of the emulator with a default calendar
    and a few busy events, each a logged-in profile of one database (logins
    8 at a time, each signing in as its own user: the bench's browser adds a
    login_hint), then a first pass: the book a no-change pass starts from."""

    def __init__(self, tmp, binary, n):
        os.makedirs(tmp, exist_ok=True)
        self.n, self.bin = n, binary
        users = [{"upn": "staff%d@contoso.example" % i, "displayName": "Staff %d" % i,
                  "calendars": [{"name": "Calendar", "default": True}],
                  "events": [{"subject": "Busy %d.%d" % (i, k), "start": "+%dd%02d:00" % (k + 1, 9 + k),
                              "end": "+%dd%02d:45" % (k + 1, 9 + k), "showAs": "busy"} for k in range(3)]}
                 for i in range(n)]
        scn = os.path.join(tmp, "staff.json")
        with open(scn, "w") as f:
            json.dump({"tenant": "contoso.example", "users": users}, f)
        self.emu = Emulator(tmp, ["--scenario", scn, "--lazy-state"])
        browser = os.path.join(tmp, "browser.sh")
        with open(browser, "w") as f:
            f.write('#!/bin/sh\nexec curl -s -L --max-time 20 -o /dev/null "$1&login_hint=$LOGIN_HINT"\n')
        os.chmod(browser, 0o755)
        cfg = os.path.join(tmp, "config")
        with open(cfg, "w") as f:
            f.write("client_id = 11111111-2222-3333-4444-555555555555\n"
                    "authority_url = %s\ngraph_url = %s/v1.0\n" % (self.emu.base, self.emu.base))
        self.env = dict(os.environ, TIMETAP_SYNC_DB=os.path.join(tmp, "timetap.db"),
                        TIMETAP_SYNC_CONFIG=cfg, BROWSER=browser, TZ="UTC", HOME=tmp)
        # The database exists before the logins run side by side.
        subprocess.run([binary, "profiles"], env=self.env, stdout=subprocess.DEVNULL, check=True)
        t0 = time.monotonic()
        procs, bad = [], 0
        for i in range(n):
            env = dict(self.env, LOGIN_HINT="staff%d@contoso.example" % i)
            procs.append(subprocess.Popen([binary, "-s", "staff%d" % i, "login"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            if len(procs) >= 8:
                bad += procs.pop(0).wait() != 0
        bad += sum(p.wait() != 0 for p in procs)
        if bad:
            raise SystemExit("bench: %d of %d logins failed" % (bad, n))
        self.setup_s = time.monotonic() - t0
        if run_tool(binary, self.env, "sync", "--jobs", "16")[0] not in (0, 2):
            raise SystemExit("bench: the first pass of the staff failed")

    def measure(self, jobs, latency):
        self.emu.call("POST", "/_emu/config", {"latency_ms": latency})
        self.emu.call("DELETE", "/_emu/requests")
        code, wall, cpu, rss = run_tool(self.bin, self.env, "sync", "--jobs", str(jobs))
        http, writes, token = count(self.emu.requests())
        return {"exit": code, "wall": wall, "cpu": cpu, "rss": rss, "http": http,
                "writes": writes, "token": token}


# The first pass again with pages that take 100 ms to arrive after their
# first 16 KB (a page of 500 events is about 1 MB: 80-160 ms on a 50-100
# Mbit/s link), with the nextLink where Microsoft puts it and after "value".
TRANSFER = {"100 ms/page transfer": {"page_transfer_ms": 100, "link_last": False},
            "same, link last": {"page_transfer_ms": 100, "link_last": True}}

KEYS = ("wall", "cpu", "rss", "http", "writes", "token", "http_floor", "wall_floor", "served")


def median(rows, key):
    return statistics.median(r[key] for r in rows)


def check(ok, text):
    return ("ok   " if ok else "MISS ") + text


HEAD = "%-36s %-6s %7s %6s %11s %13s %8s %7s %7s  %s" % (
    "scenario", "binary", "events", "writes", "http/floor", "wall/floor s", "cpu s", "us/ev",
    "rss MB", "target")


def row(name, tag, events, rows, want):
    bad = [r for r in rows if r["exit"] not in (0, 2)]
    m = {k: median(rows, k) for k in KEYS if all(k in r for r in rows)}
    per = "%7.1f" % (1e6 * m["cpu"] / m["served"]) if m.get("served") else "      -"
    wall = "%5.2f/%-5.2f" % (m["wall"], m["wall_floor"]) if "wall_floor" in m else "%5.2f/  -  " % m["wall"]
    http = "%d/%d" % (m["http"], m["http_floor"]) if "http_floor" in m else "%d/-" % m["http"]
    print("%-36s %-6s %7d %6d %11s %13s %8.3f %s %7.1f  %s%s" % (
        name, tag, events, m["writes"], http, wall, m["cpu"], per, m["rss"] / 1024.0,
        want(m), "  FAILED RUNS: %d" % len(bad) if bad else ""))
    sys.stdout.flush()
    return m


def wanted(name):
    return ONLY.search(name) is not None


def pass_rows(tmp, binaries, events, appts, latencies, label, link_last=(False,)):
    """A first pass, a no-change pass and a pass with changes, per latency."""
    names = []
    for lat in latencies:
        t = " +%dms" % lat if lat else ""
        names += ["first pass %s%s" % (label, t), "no-change pass %s%s" % (label, t),
                  "50 remote + 20 local changes %s%s" % (label, t)]
        if lat and True in link_last:
            names += ["first pass %s%s, %s" % (label, t, v) for v in TRANSFER]
    if not any(wanted(n) for n in names):
        return
    for tag, binary in binaries:
        s = Setup(os.path.join(tmp, "%s-%d-%d" % (tag, events, appts)), binary, events, appts,
                  tls=trust_of(tag))
        for lat in latencies:
            s.set(latency_ms=lat, link_last=False, page_transfer_ms=0)
            t = " +%dms" % lat if lat else ""
            name = "first pass %s%s" % (label, t)
            first = []
            for _ in range(RUNS):
                s.fresh()
                first.append(s.measure())
            if wanted(name):
                row(name, tag, events, first, lambda m: "; ".join(
                    [check(m["rss"] < 30 * 1024, "rss < 30 MB")] +
                    ([check(m["wall"] <= 0.5 * SDK["latency_wall"],
                            "wall <= 0.5 x SDK's %.1f s" % SDK["latency_wall"])]
                     if lat == 50 and appts == 200 else [])))
            s.measure()	# settle: the first pass's own events come back once
            nochange = [s.measure() for _ in range(RUNS)]
            name = "no-change pass %s%s" % (label, t)
            if wanted(name):
                row(name, tag, events, nochange, lambda m: "; ".join([
                    check(m["http"] == s.npull and m["token"] == 0 and m["writes"] == 0,
                          "%d delta rounds only" % s.npull),
                    check(m["cpu"] <= 0.1 * SDK["nochange_cpu"],
                          "cpu <= %.0f ms" % (100 * SDK["nochange_cpu"])),
                    check(m["rss"] / 1024.0 <= 0.15 * SDK["nochange_rss"],
                          "rss <= %.1f MB" % (0.15 * SDK["nochange_rss"]))]))
            changed = []
            for i in range(RUNS):
                s.changes(50, 20, s.round)
                s.round += 1
                changed.append(s.measure())
                s.measure()
            name = "50 remote + 20 local changes %s%s" % (label, t)
            if wanted(name):
                row(name, tag, events, changed,
                    lambda m: check(m["writes"] == 40, "40 writes (20 x 2 calendars)"))
            for v, cfg in TRANSFER.items():
                name = "first pass %s%s, %s" % (label, t, v)
                if not (lat and True in link_last and wanted(name)):
                    continue
                s.set(**cfg)
                rows = []
                for _ in range(RUNS):
                    s.fresh()
                    rows.append(s.measure())
                row(name, tag, events, rows, lambda m: "page_transfer_ms %d" % cfg["page_transfer_ms"])
            s.set(link_last=False, page_transfer_ms=0)
        s.stop()


def tls_rows(tmp, binaries):
    """A no-change pass over HTTPS, the system's CA store as a bundle and as
    a directory (an older binary knows only the bundle)."""
    for tag, binary in binaries:
        for kind in ("bundle", "dir"):
            name = "no-change pass over TLS, CA %s" % kind
            if not wanted(name) or (tag == "before" and kind == "dir"):
                continue
            s = Setup(os.path.join(tmp, "%s-tls-%s" % (tag, kind)), binary, 10000, 200, tls=kind)
            s.fresh()
            s.measure()
            s.measure()	# settle
            rows = [s.measure() for _ in range(RUNS)]
            s.stop()
            row(name, tag, 10000, rows, lambda m: "; ".join([
                check(m["cpu"] <= 0.1 * SDK["nochange_cpu"],
                      "cpu <= %.0f ms" % (100 * SDK["nochange_cpu"])),
                check(m["rss"] / 1024.0 <= 0.15 * SDK["nochange_rss"],
                      "rss <= %.1f MB" % (0.15 * SDK["nochange_rss"]))]))


def single_rows(tmp, binaries):
    """One calendar of 10,000 and of 100,000 events: CPU per event."""
    names = ["10k events in one calendar", "100k events in one calendar"]
    if not any(wanted(n) for n in names):
        return
    for tag, binary in binaries:
        per10k = None
        for events, name in ((10000, names[0]), (100000, names[1])):
            if not wanted(name) and not (events == 10000 and wanted(names[1])):
                continue
            s = Setup(os.path.join(tmp, "%s-single-%d" % (tag, events)), binary, events, 0,
                      single=True, tls=trust_of(tag))
            rows = []
            for _ in range(max(1, RUNS - 1) if events > 10000 else RUNS):
                s.fresh()
                rows.append(s.measure())
            s.stop()
            if events == 10000:
                m = row(name, tag, events, rows, lambda m: "the reference for 100k")
                per10k = m["cpu"] / m["served"]
            else:
                row(name, tag, events, rows, lambda m: "; ".join([
                    check(m["rss"] < 30 * 1024, "rss < 30 MB"),
                    check(per10k is not None and m["cpu"] / m["served"] <= 1.2 * per10k,
                          "cpu/event <= 1.2 x 10k's")]))


def startup_rows(tmp, binaries):
    """The floor under any pass: loading the libraries and opening the book."""
    if not wanted("start-up"):
        return
    for tag, binary in binaries:
        conf = os.path.join(tmp, "startup.conf")
        with open(conf, "w") as f:
            f.write("client_id = 11111111-2222-3333-4444-555555555555\n")
        env = dict(os.environ, HOME=tmp, TIMETAP_SYNC_DB=os.path.join(tmp, "startup.db"),
                   TIMETAP_SYNC_CONFIG=conf)
        for args in (("--version",), ("status",)):
            rows = []
            for _ in range(max(RUNS, 5)):
                code, wall, cpu, rss = run_tool(binary, env, *args)
                rows.append({"exit": code, "wall": wall, "cpu": cpu, "rss": rss, "http": 0,
                             "writes": 0, "token": 0})
            row("start-up: timetap-sync %s" % args[0], tag, 0, rows,
                lambda m: "the floor of every pass")


def staff_rows(tmp, binaries):
    if not wanted("staff"):
        return
    n = int(os.environ.get("BENCH_STAFF", "1000"))
    for tag, binary in binaries:
        staff = Staff(os.path.join(tmp, "staff-" + tag), binary, n)
        print()
        print("%d staff profiles (one user and calendar each, 3 busy events), logged in "
              "8 at a time in %.0f s; a no-change pass of all, 100 ms emulator latency "
              "(floor: %d requests, %d x 0.1 s / jobs):" % (n, staff.setup_s, n, n))
        print("%-36s %-6s %7s %6s %11s %13s %8s %7s %7s  %s" % (
            "scenario", "binary", "jobs", "writes", "http/floor", "wall/floor s", "cpu s",
            "ms/prof", "rss MB", "target"))
        for jobs in (8, 16, 32):
            rows = [staff.measure(jobs, 100) for _ in range(max(1, RUNS - 2))]
            m = {k: median(rows, k) for k in ("wall", "cpu", "rss", "http", "writes")}
            per5000 = m["wall"] * 5000.0 / n
            print("%-36s %-6s %7d %6d %11s %13s %8.2f %7.1f %7.1f  %s; 5,000 staff: %.0f s%s" % (
                "no-change pass, %d staff" % n, tag, jobs, m["writes"], "%d/%d" % (m["http"], n),
                "%5.1f/%-5.1f" % (m["wall"], n * 0.1 / jobs), m["cpu"], 1000.0 * m["cpu"] / n,
                m["rss"] / 1024.0,
                check(m["wall"] < 60 * n / 1000.0, "wall < %.0f s" % (60 * n / 1000.0)), per5000,
                "  FAILED RUNS: %d" % sum(r["exit"] not in (0, 2) for r in rows)
                if any(r["exit"] not in (0, 2) for r in rows) else ""))
            sys.stdout.flush()
        staff.emu.stop()


def main():
    binaries = []
    if os.environ.get("BENCH_BEFORE"):
        binaries.append(("before", os.path.abspath(os.environ["BENCH_BEFORE"])))
    binaries.append(("now", os.path.abspath(BIN)))
    for _, b in binaries:
        if not os.access(b, os.X_OK):
            raise SystemExit("bench: %s: build first (make)" % b)
    tmp = tempfile.mkdtemp(prefix="tt-bench-")
    try:
        print("timetap-sync bench: %d run(s) per figure, median; emulator on loopback over "
              "HTTPS (realistic: 1.2-12 KB tokens, bare occurrences, %.1f ms per page item, "
              "4 requests per mailbox); page_size %d" % (RUNS, 0.2, PAGE))
        print("machine: %s, %d CPUs; %s" % (os.uname().machine, os.cpu_count(),
              ", ".join("%s = %s" % b for b in binaries)))
        print()
        print(HEAD)
        startup_rows(tmp, binaries)
        pass_rows(tmp, binaries, 10000, 200, (0, 50), "10k ev, 200 appts", link_last=(True,))
        tls_rows(tmp, binaries)
        pass_rows(tmp, binaries, 10000, 2000, (0, 50), "10k ev, 2k appts")
        single_rows(tmp, binaries)
        staff_rows(tmp, binaries)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
