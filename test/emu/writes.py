# SPDX-License-Identifier: ISC
"""Event writes: the writable and read-only event properties, the JSON body check,
times from a body, the common properties (subject length, online meetings, extended
properties), create (transactionId de-duplication, group meetings, meeting mail) and
PATCH (of a single event, series or occurrence).
"""

import json
from datetime import datetime

from .consts import SHOWAS_VALUES, SUBJECT_MAX
from .timeutil import fmt_stamp, fmt_z, parse_dttz, parse_dttz_wall, store_time, utcnow
from .ids import new_change_key, new_event_id, new_ical, svep_id_eq
from .wire import GraphError


class WritesMixin:
    """Create and PATCH of events."""

    EVENT_WRITABLE = {
        "subject", "body", "start", "end", "showAs", "isAllDay", "categories", "importance",
        "sensitivity", "location", "locations", "attendees", "isOnlineMeeting",
        "onlineMeetingProvider", "recurrence", "singleValueExtendedProperties", "transactionId",
        "isReminderOn", "reminderMinutesBeforeStart", "responseRequested", "allowNewTimeProposals",
        "hideAttendees", "isDraft", "multiValueExtendedProperties", "extensions",
    }
    EVENT_READONLY = {
        "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "iCalUId", "type",
        "seriesMasterId", "webLink", "organizer", "isOrganizer", "isCancelled", "responseStatus",
        "bodyPreview", "originalStart", "originalStartTimeZone", "originalEndTimeZone",
        "onlineMeeting", "onlineMeetingUrl", "hasAttachments", "uid", "calendar",
    }

    # writes -----------------------------------------------------------------
    def _json_body(self, req):
        ct = req.headers.get("content-type", "")
        if "json" not in ct.lower():
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type "
                             "header is set and payload is of valid JSON format.")
        try:
            body = json.loads(req.body.decode("utf-8"))
        except Exception:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type "
                             "header is set and payload is of valid JSON format.")
        if not isinstance(body, dict):
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.")
        for k in body:
            if k.startswith("@odata."):
                continue
            if k not in self.EVENT_WRITABLE and k not in self.EVENT_READONLY:
                raise GraphError(400, "RequestBodyRead", "The property '%s' does not exist on type "
                                 "'microsoft.graph.event'. Make sure to only use property names that are defined by "
                                 "the type or mark the type as open type." % k)
        return body

    def _times_from_body(self, body, cur_allday, cur_s, cur_e):
        allday = bool(body.get("isAllDay", cur_allday))
        try:
            s = parse_dttz(body["start"]) if "start" in body else cur_s
            e = parse_dttz(body["end"]) if "end" in body else cur_e
            if allday:
                ws = parse_dttz_wall(body["start"]) if "start" in body else cur_s
                we = parse_dttz_wall(body["end"]) if "end" in body else cur_e
                if ws.time() != datetime.min.time() or we.time() != datetime.min.time() or we <= ws:
                    raise GraphError(400, "ErrorPropertyValidationFailure",
                                     "Your request can't be completed. If an event is marked as all-day, the start "
                                     "and end time must be at midnight, and the end must be after the start.")
                s, e = ws, we
        except (ValueError, TypeError, KeyError) as ex:
            raise GraphError(400, "ErrorInvalidRequest", "Invalid start or end: %s" % ex)
        if e < s:
            raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. The end time must be "
                             "after the start time.")
        return allday, s, e

    def _apply_common(self, ev, body, personal=False):
        for k in ("subject", "showAs", "importance", "sensitivity", "categories", "isReminderOn",
                  "reminderMinutesBeforeStart"):
            if k in body:
                if k == "showAs" and body[k] not in SHOWAS_VALUES:
                    raise GraphError(400, "RequestBodyRead", "Cannot convert the literal '%s' to the expected type "
                                     "'microsoft.graph.freeBusyStatus'." % body[k])
                ev[k] = body[k]
        if isinstance(ev.get("subject"), str) and len(ev["subject"].encode("utf-16-le")) > 2 * SUBJECT_MAX:
            # Outlook keeps at most 255 characters of a subject and cuts the rest silently (PidTagSubject:
            # phw198/OutlookGoogleCalendarSync #2202; EWS "will truncate the subject at 255 chars",
            # nylas/exchangelib #68); counted here in UTF-16 units, the cut never halving a pair (UNCONFIRMED)
            u = ev["subject"].encode("utf-16-le")[:2 * SUBJECT_MAX]
            ev["subject"] = u.decode("utf-16-le", errors="ignore")
        if "body" in body and body["body"] is not None:
            b = body["body"]
            ev["body"] = {"contentType": (b.get("contentType") or "text").lower(), "content": b.get("content") or ""}
        if "location" in body:
            ev["location"] = body["location"] or {"displayName": ""}
        if "attendees" in body:
            ev["attendees"] = [self._attendee(a) for a in body["attendees"] or []]
        if "isOnlineMeeting" in body:
            ev["isOnlineMeeting"] = bool(body["isOnlineMeeting"])
        if "singleValueExtendedProperties" in body:
            props = ev.setdefault("singleValueExtendedProperties", [])
            for p in body["singleValueExtendedProperties"] or []:
                if not isinstance(p, dict) or "id" not in p:
                    raise GraphError(400, "ErrorInvalidProperty", "Extended property id is required.")
                for q in props:
                    if svep_id_eq(q["id"], p["id"]):
                        q["value"] = p.get("value")
                        break
                else:
                    props.append({"id": p["id"], "value": p.get("value")})
        self._online_meeting(ev, personal)

    def create_event(self, req, mb, cal, user, context):
        body = self._json_body(req)
        if not cal["canEdit"]:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        txid = body.get("transactionId")
        replay = self.config.get("txn_replay", "error")
        holder = self._tx_holder(mb, txid) if txid else None
        if holder is not None:
            # a transactionId already held by an event of this mailbox (any calendar)
            if replay == "return_existing":
                mb["counters"]["tx_dedup_hits"] += 1
                return self.get_event_201(req, mb, holder, context)
            if replay != "duplicate":  # alcionai/corso #2490 (message), graph-api.md s.11.4
                mb["counters"]["tx_dedup_hits"] += 1
                raise GraphError(400, "ErrorDuplicateTransactionId", "Your request can't be completed. The "
                                 "TransactionId specified in the request has already been used to create a "
                                 "different event.")
            mb["counters"]["tx_duplicates"] += 1  # no de-duplication: a second event, same transactionId
        if "start" not in body or "end" not in body:
            raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. The start and end of the "
                             "event are required.")
        allday, s, e = self._times_from_body(body, False, None, None)
        now = utcnow()
        tzs = body["start"].get("timeZone") or "UTC"
        ev = {"id": new_event_id(), "calendarId": cal["id"], "subject": "", "body": {"contentType": "text", "content": ""},
              "start": store_time(s, allday), "end": store_time(e, allday), "isAllDay": allday, "showAs": "busy",
              "isCancelled": False, "importance": "normal", "sensitivity": "normal", "categories": [],
              "transactionId": txid, "location": {"displayName": ""}, "attendees": [],
              "organizer": {"emailAddress": {"name": user["displayName"] if mb["kind"] == "user" else mb["displayName"],
                                             "address": user["mail"] if mb["kind"] == "user" else mb["mail"]}},
              "isOrganizer": True, "isOnlineMeeting": False, "singleValueExtendedProperties": [],
              "recurrence": None, "exceptions": {}, "deletedOccurrences": {},
              "createdDateTime": fmt_stamp(now), "lastModifiedDateTime": fmt_stamp(now),
              "changeKey": new_change_key(), "iCalUId": new_ical(),
              "originalStartTimeZone": tzs, "originalEndTimeZone": body["end"].get("timeZone") or "UTC"}
        self._apply_common(ev, body, mb.get("personal", False))
        if mb["kind"] == "group" and self.config.get("group_meetings") and "Unified" in mb["groupTypes"]:
            # a group-calendar event is a meeting of the group, with the creator as attendee too
            # (microsoft-graph-docs #315; group-list-calendarview.md example), whatever was asked
            mine = [self._attendee({"emailAddress": {"name": mb["displayName"], "address": mb["mail"]}}),
                    self._attendee({"emailAddress": {"name": user["displayName"], "address": user["mail"]}})]
            seen = {mb["mail"].lower(), user["mail"].lower()}
            ev["attendees"] = mine + [a for a in ev["attendees"] if
                                      ((a.get("emailAddress") or {}).get("address") or "").lower() not in seen]
        if body.get("recurrence"):
            try:
                ev["recurrence"] = self._norm_recurrence(body["recurrence"], s)
            except (ValueError, KeyError, TypeError) as ex:
                raise GraphError(400, "ErrorInvalidRecurrence", str(ex))
        self._insert_event(mb, cal, ev)
        mb["counters"]["events_created"] += 1
        mb["counters"]["invitations_sent"] += len(self.recipients(mb, ev))
        self.save_state()
        return self.get_event_201(req, mb, ev, context)

    @staticmethod
    def _tx_holder(mb, txid):
        """The event of mb holding transactionId txid, if any (kept while that event exists)."""
        ev = mb["events"].get(mb["tx"].get(txid))
        if ev is None and txid in mb["tx"]:  # that one is gone; another copy ("duplicate" mode)?
            ev = next((e for e in mb["events"].values() if e.get("transactionId") == txid), None)
            if ev is not None:
                mb["tx"][txid] = ev["id"]
        return ev

    def get_event_201(self, req, mb, ev, context):
        r = self.get_event(req, mb, ev, None if ev.get("recurrence") else self.instances(mb, ev)[0], context)
        r.status = 201
        return r

    def patch_event(self, req, mb, ev, inst, context):
        body = self._json_body(req)
        cal = self.find_calendar(mb, ev["calendarId"])
        if cal and not cal["canEdit"]:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        if "transactionId" in body and body["transactionId"] != ev.get("transactionId"):
            raise GraphError(400, "ErrorInvalidPropertyUpdate", "The property 'transactionId' can't be changed once set.")
        if inst is not None and inst.key is not None:  # an occurrence -> exception
            changes = {}
            if "start" in body or "end" in body:
                _, s, e = self._times_from_body(body, ev.get("isAllDay"), inst.s, inst.e)
                changes["start"], changes["end"] = fmt_z(s), fmt_z(e)
            for k in ("subject", "showAs", "body", "categories", "location", "importance", "sensitivity"):
                if k in body:
                    changes[k] = body[k]
            seen0 = self._visible_occurrence(ev, inst)
            self._apply_occurrence_edit(mb, ev, inst.key, changes)
            ev2, inst2 = self.lookup(mb, inst.id)
            if ev.get("isOrganizer", True) and seen0 != self._visible_occurrence(ev2, inst2):
                mb["counters"]["updates_sent"] += len(self.recipients(mb, ev))
            mb["counters"]["events_updated"] += 1
            self.save_state()
            return self.get_event(req, mb, ev2, inst2, context)
        if "start" in body or "end" in body or "isAllDay" in body:
            allday, s, e = self._times_from_body(body, ev.get("isAllDay", False), ev["_s"], ev["_e"])
        else:
            allday, s, e = None, None, None
        if "recurrence" in body and body["recurrence"]:
            try:
                rec = self._norm_recurrence(body["recurrence"], s or ev["_s"])
            except (ValueError, KeyError, TypeError) as ex:
                raise GraphError(400, "ErrorInvalidRecurrence", str(ex))
        was_seen, was_to = self._visible(ev), self.recipients(mb, ev)
        if allday is not None:
            ev["isAllDay"], ev["start"], ev["end"] = allday, store_time(s, allday), store_time(e, allday)
        link = self.config.get("body_patch_regenerates_link", True)
        online = bool(ev.get("isOnlineMeeting") and ev.get("onlineMeeting"))
        if "body" in body and online and link is True:
            # a PATCH carrying body gets the meeting a new join URL (microsoft-graph-docs #18896, -contrib #311)
            ev["onlineMeeting"] = None
        self._apply_common(ev, body, mb.get("personal", False))
        if "body" in body and online and link == "drop":
            # ... or loses it (microsoft-graph-docs #16336, msgraph-sdk-dotnet #2895)
            ev["isOnlineMeeting"] = False
            self._online_meeting(ev, mb.get("personal", False))
        if "recurrence" in body:
            ev["recurrence"] = rec if body["recurrence"] else None
        if ev.get("isOrganizer", True):
            now_to = self.recipients(mb, ev)
            mb["counters"]["invitations_sent"] += len(now_to - was_to)
            mb["counters"]["cancellations_sent"] += len(was_to - now_to)
            if self._visible(ev) != was_seen:
                mb["counters"]["updates_sent"] += len(now_to & was_to)
        mb["counters"]["events_updated"] += 1
        self._touch(mb, ev)
        self.save_state()
        return self.get_event(req, mb, ev, None if ev.get("recurrence") else self.instances(mb, ev)[0], context)
