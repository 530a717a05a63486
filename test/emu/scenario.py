# SPDX-License-Identifier: ISC
"""Building and keeping the world: loading a scenario (see SCENARIO FORMAT in
graph_emulator.py), generating a random mailbox (--generate N), the events the tool under
test pushed (GET /_emu/ours) and persistence (--state: dump, save, load).
"""

import hashlib
import json
import os
import random
import re
import secrets
from datetime import datetime, timedelta

from .consts import SHOWAS_VALUES, ZERO_TIME
from .timeutil import fmt_stamp, parse_scenario_time, store_time, utcnow
from .ids import _b64, b64u, new_change_key, new_event_id, new_guid, new_ical, svep_id_eq
from .wire import jdump
from .mailbox import WEEKDAYS, recurrence_dates


class ScenarioMixin:
    """Scenario loading, generation and persistence."""

    # ------------------------------------------------------------------ scenario loading
    def load_scenario(self, scn, keep_tokens=False):
        with self.lock:
            self._reset_world(keep_tokens)
            self.tenant = scn.get("tenant", self.tenant)
            self.scn_admin = [str(x) for x in scn.get("admin_consent", [])]
            today = utcnow().date()
            for u in scn.get("users", []):
                upn = u["upn"]
                personal = bool(u.get("personal"))
                # personal accounts: a 16-hex CID as the Graph id (UNCONFIRMED format)
                mb = self._new_mailbox("user", u.get("id") or (os.urandom(8).hex() if personal else new_guid()),
                                       u.get("displayName", upn), u.get("mail", upn), upn=upn)
                mb["personal"], mb["isAdmin"] = personal, bool(u.get("admin"))
                mb["timeZone"] = str(u.get("timeZone") or "UTC")
                for r in u.get("directoryRoles", []):
                    r = {"displayName": r} if isinstance(r, str) else dict(r)
                    mb["directoryRoles"].append({"id": r.get("id") or new_guid(), "displayName": r["displayName"],
                                                 "description": r.get("description", ""),
                                                 "roleTemplateId": r.get("roleTemplateId") or new_guid()})
                self.users[upn.lower()] = mb
                cals = u.get("calendars") or [{"name": "Calendar", "default": True}]
                if not any(c.get("default") for c in cals):
                    cals = [{"name": "Calendar", "default": True}] + list(cals)
                mycals = self._calendar_group(mb, "My Calendars")
                for c in cals:
                    gname = c.get("calendarGroup")
                    g = self._calendar_group(mb, gname) if gname else mycals
                    owner = None
                    if c.get("owner"):
                        addr = c["owner"]
                        owner = {"name": c.get("ownerName") or addr.split("@")[0].title(), "address": addr}
                    self._new_calendar(mb, c["name"], c.get("default", False), g["id"],
                                       c.get("canEdit", not owner), owner)
            for g in scn.get("groups", []):
                gid = g.get("id") or new_guid()
                mail = g.get("mail") or re.sub(r"[^a-z0-9]", "", g["displayName"].lower()) + "@" + self.tenant
                mb = self._new_mailbox("group", gid, g["displayName"], mail)
                mb["members"] = [m.lower() for m in g.get("members", [])]
                if g.get("subscribedByMail") is not None:  # members who get the group's event mail
                    mb["subscribedByMail"] = [m.lower() for m in g["subscribedByMail"]]
                mb["groupTypes"] = g.get("groupTypes", ["Unified"])
                mb["description"] = g.get("description", "")
                unified = "Unified" in mb["groupTypes"]
                mb["mailEnabled"] = bool(g.get("mailEnabled", unified or bool(g.get("mail"))))
                mb["securityEnabled"] = bool(g.get("securityEnabled", not unified))
                self.groups[gid] = mb
                self._new_calendar(mb, "Calendar", True, None, True)
            for u in scn.get("users", []):
                mb = self.users[u["upn"].lower()]
                for ev in u.get("events", []):
                    self._scenario_event(mb, ev, today)
            for g in scn.get("groups", []):
                mb = next(m for m in self.groups.values() if m["displayName"] == g["displayName"])
                for ev in g.get("events", []):
                    self._scenario_event(mb, ev, today)

    def _scenario_event(self, mb, spec, today):
        cal = self.default_calendar(mb)
        if spec.get("calendar"):
            cal = next((c for c in mb["calendars"] if c["name"] == spec["calendar"] or c["id"] == spec["calendar"]), None)
            if cal is None:
                raise ValueError("unknown calendar %r" % spec["calendar"])
        ev = self._event_from_simple(mb, cal, spec, today)
        self._insert_event(mb, cal, ev)
        # exceptions / deleted occurrences by index or original start
        if ev.get("recurrence") and (spec.get("exceptions") or spec.get("deletedOccurrences")):
            insts = self.instances(mb, ev)
            for exc in spec.get("exceptions", []):
                inst = self._pick_instance(insts, exc.get("occurrence"), exc.get("originalStart"), today)
                ov = {k: v for k, v in exc.items() if k not in ("occurrence", "originalStart")}
                self._apply_occurrence_edit(mb, ev, inst.key, ov, today)
            for d in spec.get("deletedOccurrences", []):
                inst = self._pick_instance(insts, d if isinstance(d, int) else None,
                                           None if isinstance(d, int) else d, today)
                self._delete_occurrence(mb, ev, inst.key)

    def _pick_instance(self, insts, index, orig, today):
        if index is not None:
            return insts[int(index)]
        dt = parse_scenario_time(orig, today)[0]
        for i in insts:
            if i.orig == dt:
                return i
        raise ValueError("no occurrence starts at %r" % orig)

    def _event_from_simple(self, mb, cal, spec, today=None):
        """Build a stored event from the scenario / outlook-control simple format."""
        s, s_is_date = parse_scenario_time(spec["start"], today)
        e, _ = parse_scenario_time(spec.get("end") or spec["start"], today)
        allday = bool(spec.get("isAllDay", s_is_date))
        if allday:
            s = datetime(s.year, s.month, s.day)
            e = datetime(e.year, e.month, e.day)
            if e <= s:
                e = s + timedelta(days=1)
        elif e <= s:
            e = s + timedelta(minutes=30)
        now = utcnow()
        org = spec.get("organizer")
        owner_addr = mb["mail"]
        body = spec.get("body", "")
        if isinstance(body, str):
            body = {"contentType": "text", "content": body}
        loc = spec.get("location", "")
        ev = {
            "id": new_event_id(), "calendarId": cal["id"], "subject": spec.get("subject", ""),
            "body": body, "start": store_time(s, allday), "end": store_time(e, allday),
            "isAllDay": allday, "showAs": spec.get("showAs", "busy"),
            "isCancelled": bool(spec.get("isCancelled", False)),
            "importance": spec.get("importance", "normal"), "sensitivity": spec.get("sensitivity", "normal"),
            "categories": list(spec.get("categories", [])), "transactionId": spec.get("transactionId"),
            "location": loc if isinstance(loc, dict) else {"displayName": loc},
            "attendees": [self._attendee(a) for a in spec.get("attendees", [])],
            "organizer": {"emailAddress": {"name": org.split("@")[0].title(), "address": org}} if org else
                         {"emailAddress": {"name": mb["displayName"], "address": owner_addr}},
            "isOrganizer": not org or org.lower() == owner_addr.lower(),
            "isOnlineMeeting": bool(spec.get("isOnlineMeeting", False)),
            "singleValueExtendedProperties": list(spec.get("singleValueExtendedProperties", [])),
            "recurrence": self._norm_recurrence(spec.get("recurrence"), s, today),
            "exceptions": {}, "deletedOccurrences": {},
            "createdDateTime": fmt_stamp(now), "lastModifiedDateTime": fmt_stamp(now),
            "changeKey": new_change_key(), "iCalUId": new_ical(),
            "originalStartTimeZone": "UTC", "originalEndTimeZone": "UTC",
        }
        if ev["isCancelled"] and not ev["subject"].startswith("Canceled:"):
            ev["subject"] = "Canceled: " + ev["subject"]
        self._online_meeting(ev, mb.get("personal", False))
        return ev

    def _norm_recurrence(self, rec, start, today=None):
        if not rec:
            return None
        rec = json.loads(json.dumps(rec))
        pat = rec.setdefault("pattern", {})
        pat.setdefault("type", "daily")
        pat.setdefault("interval", 1)
        if pat["type"] == "weekly":
            pat.setdefault("daysOfWeek", [WEEKDAYS[start.weekday()]])
            pat.setdefault("firstDayOfWeek", "sunday")
        rng = rec.setdefault("range", {"type": "noEnd"})
        rng.setdefault("type", "noEnd")
        sd = rng.get("startDate")
        rng["startDate"] = (parse_scenario_time(sd, today)[0].date() if sd else start.date()).isoformat()
        if rng.get("endDate"):
            rng["endDate"] = parse_scenario_time(rng["endDate"], today)[0].date().isoformat()
        rng.setdefault("recurrenceTimeZone", "UTC")
        recurrence_dates(rec, start.date())  # validates
        return rec

    @staticmethod
    def _attendee(a):
        if isinstance(a, str):
            return {"type": "required", "status": {"response": "none", "time": ZERO_TIME},
                    "emailAddress": {"name": a.split("@")[0], "address": a}}
        a = json.loads(json.dumps(a))
        a.setdefault("type", "required")
        a.setdefault("status", {"response": "none", "time": ZERO_TIME})
        return a

    @staticmethod
    def _online_meeting(ev, personal=False):
        if personal and ev.get("isOnlineMeeting"):
            # personal accounts: the request is ignored, no join link (elie222/inbox-zero #3442)
            ev["isOnlineMeeting"] = False
        if ev.get("isOnlineMeeting"):
            if not ev.get("onlineMeeting"):
                tid = secrets.token_hex(16)
                ev["onlineMeeting"] = {"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_"
                                       + _b64(os.urandom(36)).replace("/", "_").replace("+", "-").rstrip("=")
                                       + "%40thread.v2/0?context=%7b%22Tid%22%3a%22" + tid + "%22%7d"}
            ev["onlineMeetingProvider"] = "teamsForBusiness"
        else:
            ev["onlineMeeting"] = None
            ev["onlineMeetingProvider"] = "unknown"

    # ------------------------------------------------------------------ generation
    def generate(self, n, seed=None, keep_tokens=False, single=False):
        """A mailbox with n calendarView instances within -7..+180 days of now
        (spread over three calendars, or all in the default one when single)."""
        rnd = random.Random(seed if seed is not None else n)
        scn = {"tenant": "contoso.example", "admin_consent": ["Group.ReadWrite.All"],
               "users": [{"upn": "ada@contoso.example", "displayName": "Ada Lovelace",
                          "calendars": [{"name": "Calendar", "default": True},
                                        {"name": "Clinic rota", "calendarGroup": "Other calendars"}]},
                         {"upn": "grace@contoso.example", "displayName": "Grace Hopper"}],
               "groups": [{"displayName": "Front Desk Team", "mail": "frontdesk@contoso.example",
                           "members": ["ada@contoso.example", "grace@contoso.example"]}]}
        self.load_scenario(scn, keep_tokens)
        with self.lock:
            ada = self.users["ada@contoso.example"]
            grp = next(iter(self.groups.values()))
            targets = [(ada, self.default_calendar(ada), n - 2 * (n // 5)),
                       (ada, ada["calendars"][1], n // 5), (grp, self.default_calendar(grp), n // 5)]
            if single:
                targets = [(ada, self.default_calendar(ada), n)]
            subjects = ["Patient intake", "Team sync", "Dentist", "1:1", "Budget review", "Clinic",
                        "Supplier call", "Training", "Lunch", "Planning"]
            today = utcnow().date()
            for mb, cal, count in targets:
                left = count
                nseries = min(count // 40, 60)
                for i in range(nseries):
                    if left < 5:
                        break
                    day = rnd.randint(-6, 150)
                    hour = rnd.randint(7, 17)
                    if i % 2 == 0:
                        occ, rec = 5, {"pattern": {"type": "daily", "interval": 1},
                                       "range": {"type": "numbered", "numberOfOccurrences": 5}}
                    else:
                        occ, rec = 4, {"pattern": {"type": "weekly", "interval": 1},
                                       "range": {"type": "numbered", "numberOfOccurrences": 4}}
                    spec = {"subject": "Recurring " + rnd.choice(subjects), "showAs": "busy",
                            "start": "%+dd%02d:00" % (day, hour), "end": "%+dd%02d:30" % (day, hour),
                            "recurrence": rec}
                    self._insert_event(mb, cal, self._event_from_simple(mb, cal, spec, today))
                    left -= occ
                for i in range(left):
                    day = rnd.randint(-6, 179)
                    if rnd.random() < 0.05:
                        spec = {"subject": "All-day " + rnd.choice(subjects), "start": "%+dd" % day,
                                "end": "%+dd" % (day + 1), "isAllDay": True, "showAs": rnd.choice(["oof", "free", "busy"])}
                    else:
                        hour, minute = rnd.randint(6, 19), rnd.choice([0, 15, 30, 45])
                        spec = {"subject": rnd.choice(subjects) + " #%d" % i, "start": "%+dd%02d:%02d" % (day, hour, minute),
                                "end": "%+dd%02d:%02d" % (day, hour + 1, minute), "showAs": rnd.choice(SHOWAS_VALUES)}
                    self._insert_event(mb, cal, self._event_from_simple(mb, cal, spec, today))

    # ------------------------------------------------------------------ persistence
    def ours(self, marker):
        """GET /_emu/ours: the events the tool under test pushed (the marker property, or a
        transactionId "timetap-..."), one place for every test; with each calendar's total."""
        st = self.dump_state(full=False)
        evs, totals = [], []
        for kind in ("users", "groups"):
            for mb in st[kind]:
                for c in mb["calendars"]:
                    name = c["name"] if kind == "users" else "group:" + mb["displayName"]
                    totals.append({"calendar": name, "mailbox": mb.get("upn") or mb["id"],
                                   "events": len(c["events"])})
                    for e in c["events"]:
                        props = e.get("singleValueExtendedProperties") or []
                        mk = [p.get("value") or "" for p in props if svep_id_eq(p["id"], marker)]
                        tx = e.get("transactionId") or ""
                        if not mk and not tx.startswith("timetap-"):
                            continue
                        evs.append({"calendar": name, "mailbox": mb.get("upn") or mb["id"], "id": e["id"],
                                    "appt": mk[0].rsplit(":", 1)[-1] if mk else None,
                                    "owner": mk[0].rsplit(":", 1)[0] if mk and ":" in mk[0] else None,
                                    "markers": len(mk), "props": [p["id"] for p in props],
                                    "subject": e.get("subject", ""), "start": e["start"], "end": e["end"],
                                    "showAs": e.get("showAs", ""), "sensitivity": e.get("sensitivity", ""),
                                    "isOnlineMeeting": bool(e.get("isOnlineMeeting")),
                                    "joinUrl": (e.get("onlineMeeting") or {}).get("joinUrl"),
                                    "body": (e.get("body") or {}).get("content", ""),
                                    "transactionId": tx or None, "attendees": len(e.get("attendees") or [])})
        return {"events": evs, "calendars": totals}

    def dump_state(self, full=True):
        with self.lock:
            def clean(ev):
                return {k: v for k, v in ev.items() if not k.startswith("_")}

            def cals(mb):
                out = []
                for c in mb["calendars"]:
                    cc = {k: v for k, v in c.items() if not k.startswith("_")}
                    gname = next((g["name"] for g in mb["calendarGroups"] if g["id"] == c.get("calendarGroupId")), None)
                    cc["group"] = gname
                    cc["events"] = [clean(ev) for ev in mb["events"].values() if ev["calendarId"] == c["id"]]
                    out.append(cc)
                return out

            users = [{"upn": mb["upn"], "id": mb["id"], "displayName": mb["displayName"], "mail": mb["mail"],
                      "personal": mb["personal"], "admin": mb["isAdmin"], "directoryRoles": mb["directoryRoles"],
                      "timeZone": mb["timeZone"],
                      "calendarGroups": mb["calendarGroups"], "calendars": cals(mb),
                      "tombstones": mb["tombstones"], "counters": dict(mb["counters"], in_flight=mb["_inflight"])}
                     for mb in self.users.values()]
            groups = [{"id": mb["id"], "displayName": mb["displayName"], "mail": mb["mail"],
                       "members": mb["members"], "groupTypes": mb["groupTypes"], "mailEnabled": mb["mailEnabled"],
                       "securityEnabled": mb["securityEnabled"], "subscribedByMail": mb["subscribedByMail"],
                       "calendars": cals(mb),
                       "tombstones": mb["tombstones"], "counters": dict(mb["counters"], in_flight=mb["_inflight"])}
                      for mb in self.groups.values()]
            out = {"users": users, "groups": groups,
                   "tokens": {"refresh_issued": self.token_counters["refresh_issued"],
                              "refresh_used": self.token_counters["refresh_used"],
                              **self.token_counters}, "seq": self.seq,
                   "consent": {"admin": sorted(self._admin_consent(None), key=str.lower),
                               "users": {k: list(v) for k, v in self.consent.items()}}}
            if full:
                out.update({"tenant": self.tenant, "tenant_id": self.tenant_id, "secret": self.secret,
                            "config": self.config, "access": self.access, "refresh": self.refresh,
                            "scn_admin": self.scn_admin, "user_consent": self.consent})
            return out

    def save_state(self, force=False):
        if not self.state_path or (self.lazy_state and not force):
            return
        with self.lock:
            data = jdump(self.dump_state(full=True))
            tmp = self.state_path + ".tmp.%d" % os.getpid()
            with open(tmp, "w") as f:
                f.write(data)
            os.replace(tmp, self.state_path)

    def load_state(self, path):
        with open(path) as f:
            st = json.load(f)
        with self.lock:
            self._reset_world()
            self.seq = st["seq"]
            self.secret = st["secret"]
            self.tenant, self.tenant_id = st["tenant"], st["tenant_id"]
            self.config.update(st.get("config", {}))
            self.access, self.refresh = st.get("access", {}), st.get("refresh", {})
            self.consent = st.get("user_consent", {})
            self.scn_admin = st.get("scn_admin", [])
            self.x5t = b64u(hashlib.sha256(self.secret.encode()).digest()[:20])
            self.token_counters.update({k: v for k, v in st.get("tokens", {}).items() if k in self.token_counters})
            for kind, lst in (("user", st["users"]), ("group", st["groups"])):
                for u in lst:
                    mb = self._new_mailbox(kind, u["id"], u["displayName"], u["mail"], upn=u.get("upn"))
                    mb["counters"].update({k: v for k, v in u.get("counters", {}).items() if k != "in_flight"})
                    mb["tombstones"] = u.get("tombstones", [])
                    mb["calendarGroups"] = u.get("calendarGroups", [])
                    if kind == "group":
                        mb["members"], mb["groupTypes"] = u["members"], u.get("groupTypes", ["Unified"])
                        mb["mailEnabled"] = u.get("mailEnabled", True)
                        mb["securityEnabled"] = u.get("securityEnabled", False)
                        mb["subscribedByMail"] = u.get("subscribedByMail")
                        self.groups[u["id"]] = mb
                    else:
                        mb["personal"], mb["isAdmin"] = u.get("personal", False), u.get("admin", False)
                        mb["directoryRoles"] = u.get("directoryRoles", [])
                        mb["timeZone"] = u.get("timeZone", "UTC")
                        self.users[u["upn"].lower()] = mb
                    for c in u["calendars"]:
                        evs = c.pop("events")
                        c.pop("group", None)
                        c["_ver"] = self.seq
                        mb["calendars"].append(c)
                        for ev in evs:
                            self._insert_event(mb, c, ev, stamp=False)
                    for ev in mb["events"].values():
                        if ev.get("transactionId"):
                            mb["tx"][ev["transactionId"]] = ev["id"]
