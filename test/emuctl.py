#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Tiny CLI for the Graph emulator's control interface (for shell tests).

  emuctl.py BASE METHOD PATH [JSON]     print the response body; exit 0 on 2xx, 1 otherwise
  emuctl.py BASE events [WHO]           one line per stored event, sorted:
                                        calendarName<TAB>subject<TAB>start<TAB>end<TAB>showAs<TAB>id
                                        WHO = a UPN (that user's calendars only) or group:<id|displayName>
                                        (that group's calendar, named "group:<displayName>"); default all.
                                        Series are listed once (the master); start/end are stored values:
                                        "2026-11-26T09:00:00Z" or, for all-day events, "2026-11-26".
  emuctl.py BASE count METHOD REGEX     number of logged requests with that method (or '*')
                                        whose path?query matches REGEX
Examples:
  emuctl.py http://127.0.0.1:4000 POST /_emu/faults '{"faults":[{"kind":"throttle","match":{"path":"/me/events"}}]}'
  emuctl.py http://127.0.0.1:4000 events ada@contoso.example
  emuctl.py http://127.0.0.1:4000 count POST '/v1.0/me/calendars/.*/events$'
Set EMUCTL_CA to a CA file for https bases.  Python 3 standard library only.
"""
import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.request
from urllib.parse import unquote


def call(base, method, path, data=None):
    ctx = None
    if base.startswith("https"):
        ca = os.environ.get("EMUCTL_CA")
        ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
    body = data.encode() if isinstance(data, str) else data
    req = urllib.request.Request(base.rstrip("/") + path, data=body, method=method.upper())
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    base, cmd = argv[1], argv[2]
    if cmd == "events":
        st, raw = call(base, "GET", "/_emu/state")
        if st != 200:
            sys.stderr.write(raw.decode(errors="replace"))
            return 1
        state = json.loads(raw)
        want = argv[3].lower() if len(argv) > 3 else None
        lines = []
        for kind in ("users", "groups"):
            for mb in state[kind]:
                if want:
                    if want.startswith("group:"):
                        if kind != "groups" or want[6:] not in (mb["id"].lower(), mb["displayName"].lower()):
                            continue
                    elif kind != "users" or mb["upn"].lower() != want:
                        continue
                for cal in mb["calendars"]:
                    cname = cal["name"] if kind == "users" else "group:" + mb["displayName"]
                    for ev in cal["events"]:
                        lines.append("\t".join([cname, ev.get("subject", ""), ev["start"], ev["end"],
                                                ev.get("showAs", ""), ev["id"]]))
        for line in sorted(lines):
            print(line)
        return 0
    if cmd == "count":
        if len(argv) < 5:
            sys.stderr.write(__doc__)
            return 2
        method, rx = argv[3].upper(), re.compile(argv[4])
        st, raw = call(base, "GET", "/_emu/requests")
        if st != 200:
            return 1
        n = 0
        for r in json.loads(raw)["requests"]:
            text = r["path"] + ("?" + r["query"] if r["query"] else "")
            if (method in ("*", r["method"])) and (rx.search(text) or rx.search(unquote(text))):
                n += 1
        print(n)
        return 0
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    method, path = cmd, argv[3]
    data = argv[4] if len(argv) > 4 else None
    st, raw = call(base, method, path, data)
    sys.stdout.write(raw.decode("utf-8", "replace"))
    if raw and not raw.endswith(b"\n"):
        sys.stdout.write("\n")
    return 0 if 200 <= st < 300 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
