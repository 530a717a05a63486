# SPDX-License-Identifier: ISC
"""The mailbox model and recurrence (see "Mailbox model" and "Meeting mail" in the
DESIGN of graph_emulator.py): mailboxes (users and Microsoft 365 groups) and their
calendars and calendar groups; the recurrence expansion of series masters into instances
(occurrences, exceptions, deleted occurrences); the event store primitives (insert, touch,
look up, delete); the meeting-mail counters (recipients); occurrence edits; the rendering of
an instance as Graph JSON, pre-serialised per variant.
"""

import time
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote

from .consts import MAX_OCCURRENCES, NOEND_HORIZON_DAYS, ZERO_TIME
from .timeutil import fmt_dt7, fmt_stamp, fmt_z, parse_dttz, parse_scenario_time, resolve_tz, utcnow
from .ids import new_change_key, new_container_id, new_guid, new_ical_for, occurrence_id, svep_id_eq
from .wire import html_to_text, jdump, text_to_html


# ----------------------------------------------------------------------------- instances

class Inst:
    """One calendarView instance (single event, occurrence or exception)."""
    __slots__ = ("id", "key", "s", "e", "seq", "ov", "orig")

    def __init__(self, iid, key, s, e, seq, ov, orig):
        self.id, self.key, self.s, self.e, self.seq, self.ov, self.orig = iid, key, s, e, seq, ov, orig


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def recurrence_dates(rec, first):
    """Occurrence dates of a patternedRecurrence; bounded (MAX_OCCURRENCES, 2 years)."""
    pat = rec.get("pattern") or {}
    rng = rec.get("range") or {}
    ptype = pat.get("type", "daily")
    interval = max(1, int(pat.get("interval") or 1))
    start = first
    if rng.get("startDate"):
        start = parse_scenario_time(rng["startDate"])[0].date()
    rtype = rng.get("type", "noEnd")
    count = int(rng.get("numberOfOccurrences") or 0) if rtype == "numbered" else 0
    limit = min(count, MAX_OCCURRENCES) if count > 0 else MAX_OCCURRENCES
    end = start + timedelta(days=NOEND_HORIZON_DAYS)
    if rtype == "endDate" and rng.get("endDate"):
        end = parse_scenario_time(rng["endDate"])[0].date()
    out = []
    if ptype == "daily":
        d = start
        while d <= end and len(out) < limit:
            out.append(d)
            d += timedelta(days=interval)
    elif ptype == "weekly":
        days = {WEEKDAYS.index(x.lower()) for x in (pat.get("daysOfWeek") or []) if x.lower() in WEEKDAYS}
        if not days:
            days = {start.weekday()}
        fdw = WEEKDAYS.index((pat.get("firstDayOfWeek") or "sunday").lower())
        week = start - timedelta(days=(start.weekday() - fdw) % 7)
        steps = 0
        while week <= end and len(out) < limit and steps < 2000:
            steps += 1
            for i in range(7):
                d = week + timedelta(days=i)
                if d.weekday() in days and start <= d <= end and len(out) < limit:
                    out.append(d)
            week += timedelta(weeks=interval)
    elif ptype == "absoluteMonthly":
        dom = int(pat.get("dayOfMonth") or start.day)
        y, m = start.year, start.month
        steps = 0
        while len(out) < limit and steps < 400:
            steps += 1
            try:
                d = date(y, m, dom)
                if start <= d <= end:
                    out.append(d)
                elif d > end:
                    break
            except ValueError:
                pass
            m += interval
            while m > 12:
                m -= 12
                y += 1
    else:
        raise ValueError("unsupported recurrence pattern type %r" % ptype)
    return out


class MailboxMixin:
    """Mailboxes, calendars, the event store, instances, meeting mail and rendering."""

    def mailboxes(self):
        return list(self.users.values()) + list(self.groups.values())

    def bump(self):
        self.seq += 1
        return self.seq

    def _new_mailbox(self, kind, ident, display, mail, upn=None):
        return {"kind": kind, "id": ident, "displayName": display, "mail": mail, "upn": upn,
                "calendars": [], "calendarGroups": [], "events": {}, "tombstones": [], "tx": {},
                "members": [], "groupTypes": ["Unified"], "personal": False, "isAdmin": False,
                "directoryRoles": [], "mailEnabled": True, "securityEnabled": False,
                "counters": {"requests": 0, "throttled_concurrency": 0, "throttled_budget": 0,
                             "invitations_sent": 0, "updates_sent": 0, "cancellations_sent": 0,
                             "tx_dedup_hits": 0, "tx_duplicates": 0,
                             "events_created": 0, "events_updated": 0, "events_deleted": 0},
                "timeZone": "UTC", "subscribedByMail": None,
                "_index": {}, "_inflight": 0, "_budget_used": 0, "_budget_start": time.time()}

    def mb_key(self, mb):
        return mb["upn"] if mb["kind"] == "user" else mb["id"]

    def _new_calendar(self, mb, name, default=False, group_id=None, can_edit=True, owner=None):
        cal = {"id": new_container_id(), "name": name, "isDefaultCalendar": bool(default) and not owner,
               "canEdit": bool(can_edit), "calendarGroupId": group_id, "changeKey": new_change_key(),
               "hexColor": "", "color": "auto", "owner": owner, "_ver": self.seq}
        mb["calendars"].append(cal)
        return cal

    def _calendar_group(self, mb, name):
        for g in mb["calendarGroups"]:
            if g["name"] == name:
                return g
        g = {"id": new_container_id(), "name": name, "classId": new_guid(), "changeKey": new_change_key()}
        mb["calendarGroups"].append(g)
        return g

    def default_calendar(self, mb):
        for c in mb["calendars"]:
            if c["isDefaultCalendar"]:
                return c
        return mb["calendars"][0]

    def find_calendar(self, mb, cid):
        for c in mb["calendars"]:
            if c["id"] == cid:
                return c
        return None

    # ------------------------------------------------------------------ event store primitives
    def _prep(self, ev):
        ev["_s"] = parse_scenario_time(ev["start"])[0]
        ev["_e"] = parse_scenario_time(ev["end"])[0]
        ev["_r"] = {}
        ev["_inst"] = None

    def _insert_event(self, mb, cal, ev, stamp=True):
        ev["calendarId"] = cal["id"]
        if stamp:
            seq = self.bump()
            ev["seq"] = seq
            ev["seriesSeq"] = seq
            cal["_ver"] = seq
        self._prep(ev)
        mb["events"][ev["id"]] = ev
        mb["_index"][ev["id"]] = (ev["id"], None)
        if ev.get("transactionId"):
            mb["tx"][ev["transactionId"]] = ev["id"]
        self.instances(mb, ev)

    def _touch(self, mb, ev, series=True):
        """Record a change of ev (new changeKey, lastModified, seq) and invalidate caches."""
        seq = self.bump()
        ev["seq"] = seq
        if series:
            ev["seriesSeq"] = seq
            ev["changeKey"] = new_change_key()
            ev["lastModifiedDateTime"] = fmt_stamp(utcnow())
        cal = self.find_calendar(mb, ev["calendarId"])
        if cal:
            cal["_ver"] = seq
        old = ev.get("_inst") or []
        self._prep(ev)
        new = self.instances(mb, ev)
        gone = {i.id for i in old} - {i.id for i in new}
        for iid in sorted(gone):
            mb["tombstones"].append([seq, iid, ev["calendarId"]])
            mb["_index"].pop(iid, None)
        return seq

    def instances(self, mb, ev):
        if ev.get("_inst") is not None:
            return ev["_inst"]
        s, e = ev["_s"], ev["_e"]
        if not ev.get("recurrence"):
            ev["_inst"] = [Inst(ev["id"], None, s, e, ev["seq"], None, None)]
            return ev["_inst"]
        dur = e - s
        out = []
        excs, dels = ev.get("exceptions") or {}, ev.get("deletedOccurrences") or {}
        for d in recurrence_dates(ev["recurrence"], s.date()):
            orig = datetime(d.year, d.month, d.day, s.hour, s.minute, s.second)
            key = orig.strftime("%Y%m%dT%H%M%S")
            if key in dels:
                continue
            iid = occurrence_id(ev["id"], key)
            ov = excs.get(key)
            seq = ev["seriesSeq"]
            os_, oe = orig, orig + dur
            if ov:
                seq = max(seq, ov.get("seq", 0))
                if "start" in ov:
                    os_ = parse_scenario_time(ov["start"])[0]
                if "end" in ov:
                    oe = parse_scenario_time(ov["end"])[0]
            out.append(Inst(iid, key, os_, oe, seq, ov, orig))
            mb["_index"][iid] = (ev["id"], key)
        ev["_inst"] = out
        return out

    def lookup(self, mb, iid):
        """id -> (event, Inst) or (None, None).  Case-sensitive."""
        ref = mb["_index"].get(iid)
        if not ref:
            return None, None
        ev = mb["events"].get(ref[0])
        if not ev:
            return None, None
        if ref[1] is None:
            return ev, None if ev.get("recurrence") else self.instances(mb, ev)[0]
        for inst in self.instances(mb, ev):
            if inst.key == ref[1]:
                return ev, inst
        return None, None

    def lookup_any(self, iid):
        for mb in self.mailboxes():
            ev, inst = self.lookup(mb, iid)
            if ev:
                return mb, ev, inst
        return None, None, None

    def _delete_event(self, mb, ev):
        seq = self.bump()
        for inst in self.instances(mb, ev):
            if inst.id != ev["id"]:
                mb["tombstones"].append([seq, inst.id, ev["calendarId"]])
                mb["_index"].pop(inst.id, None)
        mb["tombstones"].append([seq, ev["id"], ev["calendarId"]])
        mb["_index"].pop(ev["id"], None)
        del mb["events"][ev["id"]]
        cal = self.find_calendar(mb, ev["calendarId"])
        if cal:
            cal["_ver"] = seq
        if ev.get("attendees") and ev.get("isOrganizer"):
            mb["counters"]["cancellations_sent"] += len(self.recipients(mb, ev))
        mb["counters"]["events_deleted"] += 1

    # ------------------------------------------------------------------ meeting mail (counters only)
    def _group_by_mail(self, addr):
        for g in self.groups.values():
            if g["mail"].lower() == addr:
                return g
        return None

    def recipients(self, mb, ev):
        """Addresses that get a meeting mail (invitation, update, cancellation) for ev: its attendees
        minus the organizer / mailbox itself; a Microsoft 365 group among them stands for its members
        who get the group's mail (scenario "subscribedByMail", default every member)."""
        own = {(mb.get("mail") or "").lower()}
        org = ((ev.get("organizer") or {}).get("emailAddress") or {}).get("address")
        if org:
            own.add(org.lower())
        out = set()
        for a in ev.get("attendees") or []:
            addr = (((a or {}).get("emailAddress") or {}).get("address") or "").lower()
            if not addr:
                continue
            g = self._group_by_mail(addr)
            if g is not None and "Unified" in g["groupTypes"]:
                subs = g["members"] if g.get("subscribedByMail") is None else g["subscribedByMail"]
                for m in subs:
                    u = self.users.get(m)
                    out.add((u["mail"] if u else m).lower())
            else:
                out.add(addr)
        return out - own

    def _visible_occurrence(self, ev, inst):
        d = dict(ev, start=fmt_z(inst.s), end=fmt_z(inst.e), recurrence=None)
        for k, v in (inst.ov or {}).items():
            if k == "body" and isinstance(v, dict):
                v = {"contentType": (v.get("contentType") or "text").lower(), "content": v.get("content") or ""}
            elif k == "body" and isinstance(v, str):
                v = {"contentType": "text", "content": v}
            if k in ("subject", "body", "location"):
                d[k] = v if k != "location" or isinstance(v, dict) else {"displayName": v}
        return self._visible(d)

    @staticmethod
    def _visible(ev):
        """What attendees see of a meeting: a change here sends them an update."""
        body = ev.get("body") or {}
        return jdump([ev.get("subject"), ev.get("start"), ev.get("end"), ev.get("isAllDay"),
                      (ev.get("location") or {}).get("displayName", ""), body.get("contentType"),
                      body.get("content"), bool(ev.get("isOnlineMeeting")), ev.get("recurrence")])

    def _delete_occurrence(self, mb, ev, key):
        seq = self.bump()
        ev.setdefault("deletedOccurrences", {})[key] = seq
        ev["seq"] = seq
        iid = occurrence_id(ev["id"], key)
        mb["tombstones"].append([seq, iid, ev["calendarId"]])
        mb["_index"].pop(iid, None)
        ev["_inst"] = None
        ev["_r"] = {}
        cal = self.find_calendar(mb, ev["calendarId"])
        if cal:
            cal["_ver"] = seq
        self.instances(mb, ev)

    def _apply_occurrence_edit(self, mb, ev, key, changes, today=None):
        """changes: simple-format or Graph-format fields for one occurrence."""
        seq = self.bump()
        exc = dict((ev.get("exceptions") or {}).get(key) or {})
        for k, v in changes.items():
            if k in ("start", "end"):
                exc[k] = fmt_z(parse_dttz(v) if isinstance(v, dict) else parse_scenario_time(v, today)[0])
            elif k == "body" and isinstance(v, str):
                exc[k] = {"contentType": "text", "content": v}
            elif k in ("subject", "showAs", "isCancelled", "body", "categories", "location", "importance", "sensitivity"):
                exc[k] = v
        exc.update({"seq": seq, "changeKey": new_change_key(), "lastModifiedDateTime": fmt_stamp(utcnow())})
        ev.setdefault("exceptions", {})[key] = exc
        ev["seq"] = seq
        ev["_inst"] = None
        ev["_r"] = {}
        cal = self.find_calendar(mb, ev["calendarId"])
        if cal:
            cal["_ver"] = seq
        self.instances(mb, ev)

    # ------------------------------------------------------------------ rendering
    def render(self, mb, ev, inst, tzname="UTC", btype="html", svep_ids=None):
        """JSON text of an event (inst None => the series master)."""
        ckey = None
        if svep_ids is None:
            ckey = (inst.id if inst else "master", tzname, btype)
            hit = ev["_r"].get(ckey)
            if hit is not None:
                return hit
        d = self.event_dict(mb, ev, inst, tzname, btype)
        if svep_ids is not None:
            props = [p for p in ev.get("singleValueExtendedProperties") or [] if any(svep_id_eq(p["id"], i) for i in svep_ids)]
            if props:
                d["singleValueExtendedProperties"] = props
        text = jdump(d)
        if ckey is not None:
            ev["_r"][ckey] = text
        return text

    def event_dict(self, mb, ev, inst, tzname, btype):
        ov = (inst.ov if inst else None) or {}

        def get(k, default=None):
            return ov[k] if k in ov else ev.get(k, default)

        allday = ev.get("isAllDay", False)
        if inst is None:
            s, e = ev["_s"], ev["_e"]
            typ = "seriesMaster" if ev.get("recurrence") else "singleInstance"
        else:
            s, e = inst.s, inst.e
            typ = "singleInstance" if inst.key is None else ("exception" if ov else "occurrence")
        tz = resolve_tz(tzname) or timezone.utc
        if not allday and tz is not timezone.utc:
            s = s.replace(tzinfo=timezone.utc).astimezone(tz).replace(tzinfo=None)
            e = e.replace(tzinfo=timezone.utc).astimezone(tz).replace(tzinfo=None)
        body = get("body") or {"contentType": "text", "content": ""}
        content = body.get("content", "")
        text = content if body.get("contentType") == "text" else html_to_text(content)
        if btype == "text":
            body_out = {"contentType": "text", "content": text}
        else:
            body_out = {"contentType": "html",
                        "content": content if body.get("contentType") == "html" else text_to_html(content)}
        ck = ov.get("changeKey", ev["changeKey"])
        loc = get("location") or {"displayName": ""}
        loc = dict({"displayName": "", "locationType": "default", "uniqueIdType": "unknown"}, **loc)
        d = {
            "@odata.etag": 'W/"%s"' % ck,
            "id": inst.id if inst else ev["id"],
            "createdDateTime": ev["createdDateTime"],
            "lastModifiedDateTime": ov.get("lastModifiedDateTime", ev["lastModifiedDateTime"]),
            "changeKey": ck,
            "categories": get("categories") or [],
            "transactionId": ev.get("transactionId"),
            "originalStartTimeZone": ev.get("originalStartTimeZone", "UTC"),
            "originalEndTimeZone": ev.get("originalEndTimeZone", "UTC"),
            "iCalUId": ev["iCalUId"] if not inst or inst.key is None else new_ical_for(ev["iCalUId"], inst.key),
            "reminderMinutesBeforeStart": ev.get("reminderMinutesBeforeStart", 15),
            "isReminderOn": ev.get("isReminderOn", not allday), "hasAttachments": False,
            "subject": get("subject", ""), "bodyPreview": text[:255],
            "importance": get("importance", "normal"), "sensitivity": get("sensitivity", "normal"),
            "isAllDay": allday, "isCancelled": bool(get("isCancelled", False)),
            "isOrganizer": ev.get("isOrganizer", True), "responseRequested": True,
            "seriesMasterId": ev["id"] if inst is not None and inst.key is not None else None,
            "showAs": get("showAs", "busy"), "type": typ,
            "webLink": "https://outlook.office365.com/owa/?itemid=%s&exvsurl=1&path=/calendar/item"
                       % quote(inst.id if inst else ev["id"], safe=""),
            "onlineMeetingUrl": None, "isOnlineMeeting": ev.get("isOnlineMeeting", False),
            "onlineMeetingProvider": ev.get("onlineMeetingProvider", "unknown"),
            "allowNewTimeProposals": True, "isDraft": False, "hideAttendees": False,
            "responseStatus": ev.get("responseStatus") or
                              {"response": "organizer" if ev.get("isOrganizer", True) else "accepted", "time": ZERO_TIME},
            "body": body_out,
            "start": {"dateTime": fmt_dt7(s), "timeZone": tzname},
            "end": {"dateTime": fmt_dt7(e), "timeZone": tzname},
            "location": loc,
            "locations": [loc] if loc.get("displayName") else [],
            "recurrence": ev.get("recurrence") if inst is None else None,
            "attendees": ev.get("attendees") or [],
            "organizer": ev.get("organizer"),
            "onlineMeeting": ev.get("onlineMeeting"),
        }
        if inst is not None and inst.key is not None:
            d["originalStart"] = fmt_z(inst.orig)
        return d
