# SPDX-License-Identifier: ISC
"""The control interface under <base>/_emu/ (see CONTROL API in graph_emulator.py):
config, faults, the request log, state, device codes, tokens, consent, reset, save, and
acting as the user in Outlook (POST /_emu/outlook).
"""

import json
import os
import time
from datetime import date, timedelta

from .consts import CANON_SCOPES, DEFAULT_CONFIG, SHOWAS_VALUES, TOOL_MARKER
from .timeutil import fmt_z, parse_scenario_time, store_time, utcnow
from .wire import GraphError, Resp, jdump


class ControlMixin:
    """The /_emu/ control API and the Outlook user's own changes."""

    # ------------------------------------------------------------------ control interface
    def control(self, req):
        p = req.path.rstrip("/")
        m = req.method
        body = {}
        if req.body:
            body = json.loads(req.body.decode("utf-8"))

        def ok(obj, status=200):
            return Resp(status, jdump(obj).encode(), [("Content-Type", "application/json")])

        with self.lock:
            if p == "/_emu/config":
                if m == "POST":
                    for k, v in body.items():
                        if k == "reset_requests":
                            for mb in self.mailboxes():
                                mb["_budget_used"], mb["_budget_start"] = 0, time.time()
                                mb["counters"]["requests"] = 0
                            continue
                        if k not in DEFAULT_CONFIG:
                            raise ValueError("unknown config key %r" % k)
                        if k in ("token_size", "personal_token_size"):
                            if (not isinstance(v, list) or len(v) != 2 or not all(isinstance(x, int) for x in v)
                                    or not 16 <= v[0] <= v[1] <= 1 << 20):
                                raise ValueError("%s must be [min, max] with 16 <= min <= max" % k)
                        if k == "admin_consent" and not isinstance(v, list):
                            raise ValueError("admin_consent must be a list of scopes")
                        if k == "token_scope_format" and v not in ("short", "uri"):
                            raise ValueError("token_scope_format must be short or uri")
                        if k == "personal_token_format" and v not in ("opaque", "jwt"):
                            raise ValueError("personal_token_format must be opaque or jwt")
                        if k == "txn_replay" and v not in ("error", "return_existing", "duplicate"):
                            raise ValueError("txn_replay must be error, return_existing or duplicate")
                        if k == "body_patch_regenerates_link" and v not in (True, False, "drop"):
                            raise ValueError("body_patch_regenerates_link must be true, false or \"drop\"")
                        if k in ("sparse_occurrences", "group_meetings", "select_returns_timestamps") and \
                                not isinstance(v, bool):
                            raise ValueError("%s must be true or false" % k)
                        if k == "clock_skew_s" and (isinstance(v, bool) or not isinstance(v, (int, float))):
                            raise ValueError("clock_skew_s must be a number of seconds")
                        if k == "delta_refused" and not (v == "non_default" or (
                                isinstance(v, list) and all(isinstance(x, str) for x in v))):
                            raise ValueError("delta_refused must be a list of calendar names or \"non_default\"")
                        self.config[k] = v
                    self.save_state()
                return ok(self.config)
            if p == "/_emu/faults":
                if m == "POST":
                    fl = body.get("faults", [body] if "kind" in body else [])
                    for f in fl:
                        if f.get("kind") not in ("status", "throttle", "delta_expired", "token_error", "slow",
                                                 "cut_after_commit", "cut", "truncate", "malformed", "oversized",
                                                 "nextlink_loop", "nextlink_loop_fresh", "device",
                                                 "unauthorized", "broken_item", "bad_utf8_item",
                                                 "omit_masters"):
                            raise ValueError("unknown fault kind %r" % f.get("kind"))
                        f.setdefault("times", 1)
                        f.setdefault("skip", 0)
                        f.setdefault("match", {})
                        self.faults.append(f)
                elif m == "DELETE":
                    self.faults = []
                    self.loop_urls = set()
                    self.fresh_loops = set()
                return ok({"faults": self.faults})
            if p == "/_emu/requests":
                if m == "DELETE":
                    self.requests = []
                return ok({"requests": self.requests})
            if p == "/_emu/state":
                return ok(self.dump_state(full=False))
            if p == "/_emu/ours":
                return ok(self.ours(req.qlower.get("marker") or TOOL_MARKER))
            if p == "/_emu/cpu":
                return ok({"process_time": time.process_time(), "pid": os.getpid()})
            if p == "/_emu/save":
                self.save_state(force=True)
                return ok({"saved": bool(self.state_path)})
            if p == "/_emu/restart" and m == "POST":
                # As a new process would start on --state FROM (a test's
                # saved initial state), without giving up the port: the
                # crash families restore the world hundreds of times.
                # This object stops saving at once, so a handler of the
                # killed run still in flight cannot write over it.
                src = body.get("from")
                if not src or not os.path.exists(src):
                    raise ValueError("restart needs 'from': a saved --state file")
                self.state_path = None
                self.restart_hook(src)
                return ok({"restarted": True})
            if p.startswith("/_emu/device/"):
                action = p.rsplit("/", 1)[1]
                n = 0
                if action not in ("approve", "decline", "expire"):
                    raise ValueError("unknown device action %r" % action)
                for d in self.device.values():
                    if d["status"] == "pending":
                        if body.get("user"):
                            d["upn"] = self._login_user(body["user"])
                        if action == "approve":
                            self._device_approve(d)
                        else:
                            d["status"] = {"decline": "declined", "expire": "expired"}[action]
                        n += 1
                return ok({"changed": n})
            if p == "/_emu/tokens/expire":
                for a in self.access.values():
                    a["exp"] = 0
                self.save_state()
                return ok({"expired": len(self.access)})
            if p == "/_emu/tokens/cae":
                code = body.get("cae_code", "TokenIssuedBeforeRevocationTimestamp")
                now = time.time()
                n = 0
                for a in self.access.values():
                    if a["exp"] > now and not a.get("revoked"):
                        a["revoked"] = code
                        n += 1
                self.save_state()
                return ok({"revoked": n})
            if p == "/_emu/consent":
                return ok(self.consent_control(body) if m == "POST" else self.dump_state(False)["consent"])
            if p == "/_emu/tokens/revoke":
                for r in self.refresh.values():
                    r["revoked"] = True
                self.save_state()
                return ok({"revoked": len(self.refresh)})
            if p == "/_emu/reset":
                if body.get("scenario"):
                    self.load_scenario(body["scenario"], keep_tokens=True)
                elif body.get("generate"):
                    self.generate(int(body["generate"]), keep_tokens=True,
                                  single=bool(body.get("single")))
                self.warm()
                self.requests, self.faults, self.loop_urls, self.fresh_loops = [], [], set(), set()
                self.save_state()
                return ok({"ok": True})
            if p == "/_emu/outlook" and m == "POST":
                res = self.outlook(body)
                self.save_state()
                return ok(res)
        raise GraphError(404, "UnknownError", "No such control endpoint %s %s" % (m, p))

    def consent_control(self, body):
        """POST /_emu/consent: grant or withdraw consent "as the user (or an admin) in the portal"."""
        def norm(lst):
            if not isinstance(lst, list):
                raise ValueError("scope lists must be lists")
            return [CANON_SCOPES.get(str(x).lower(), str(x)) for x in lst]
        if body.get("user"):
            upn = body["user"].lower()
            if upn not in self.users:
                raise ValueError("unknown user %r" % body["user"])
            # without client_id: every client of that user, and "upn|*" (any client)
            keys = [upn + "|" + body["client_id"]] if body.get("client_id") else \
                sorted({k for k in self.consent if k.startswith(upn + "|")} | {upn + "|*"})
            for k in keys:
                cur = list(self.consent.get(k, []))
                for x in norm(body.get("grant", [])):
                    if x.lower() not in [c.lower() for c in cur]:
                        cur.append(x)
                rv = norm(body.get("revoke", []))
                if "*" in rv:
                    cur = []
                cur = [c for c in cur if c.lower() not in [x.lower() for x in rv]]
                if cur:
                    self.consent[k] = cur
                else:
                    self.consent.pop(k, None)
        for x in norm(body.get("admin_grant", [])):
            if x.lower() not in [c.lower() for c in self.scn_admin]:
                self.scn_admin.append(x)
        rv = [x.lower() for x in norm(body.get("admin_revoke", []))]
        if rv:
            self.scn_admin = [c for c in self.scn_admin if "*" not in rv and c.lower() not in rv]
            self.config["admin_consent"] = [c for c in self.config.get("admin_consent") or []
                                            if "*" not in rv and str(c).lower() not in rv]
        self.save_state()
        return self.dump_state(False)["consent"]

    def outlook(self, body):
        """Changes "as if the user did it in Outlook"."""
        op = body.get("op", "add")
        upn = body.get("user")
        user = self.users.get(upn.lower()) if upn else next(iter(self.users.values()))
        if user is None:
            raise ValueError("unknown user %r" % upn)
        if op == "time_zone":
            # the user picks another zone in Outlook's settings (mailboxSettings.timeZone)
            user["timeZone"] = str(body.get("timeZone") or "UTC")
            return {"id": user["id"]}
        if op == "add":
            calspec = body.get("calendar")
            mb, cal = user, self.default_calendar(user)
            if calspec:
                if calspec.startswith("group:"):
                    mb = self.groups[calspec[6:]]
                    cal = self.default_calendar(mb)
                else:
                    cal = next((c for c in user["calendars"] if c["id"] == calspec or c["name"] == calspec), None)
                    if cal is None:
                        raise ValueError("unknown calendar %r" % calspec)
            spec = dict(body.get("event") or {})
            if mb["kind"] == "group" and "organizer" not in spec:
                spec["organizer"] = user["mail"]
            ev = self._event_from_simple(mb, cal, spec)
            self._insert_event(mb, cal, ev)
            if spec.get("exceptions") or spec.get("deletedOccurrences"):
                insts = self.instances(mb, ev)
                for exc in spec.get("exceptions", []):
                    inst = self._pick_instance(insts, exc.get("occurrence"), exc.get("originalStart"), None)
                    self._apply_occurrence_edit(mb, ev, inst.key, {k: v for k, v in exc.items()
                                                                   if k not in ("occurrence", "originalStart")})
                for d in spec.get("deletedOccurrences", []):
                    inst = self._pick_instance(insts, d if isinstance(d, int) else None,
                                               None if isinstance(d, int) else d, None)
                    self._delete_occurrence(mb, ev, inst.key)
            return {"id": ev["id"], "occurrences": [i.id for i in self.instances(mb, ev)] if ev.get("recurrence") else []}
        iid = body.get("id")
        mb, ev, inst = self.lookup_any(iid) if iid else (None, None, None)
        if ev is None:
            raise ValueError("unknown event id")
        occ_key = inst.key if inst is not None and inst.key is not None else None
        if occ_key is None and ev.get("recurrence") and ("index" in body or "original_start" in body):
            occ_key = self._pick_instance(self.instances(mb, ev), body.get("index"), body.get("original_start"), None).key
        spec = dict(body.get("event") or {})
        if op == "move":
            spec_shift = timedelta(minutes=int(body.get("shift_minutes", 60)))
            if occ_key:
                cur = next(i for i in self.instances(mb, ev) if i.key == occ_key)
                self._apply_occurrence_edit(mb, ev, occ_key, {"start": fmt_z(cur.s + spec_shift), "end": fmt_z(cur.e + spec_shift)})
            else:
                allday = ev.get("isAllDay")
                ev["start"] = store_time(ev["_s"] + spec_shift, allday)
                ev["end"] = store_time(ev["_e"] + spec_shift, allday)
                rng = (ev.get("recurrence") or {}).get("range") or {}
                days = (ev["_s"] + spec_shift).date() - ev["_s"].date()
                for k in ("startDate", "endDate"):  # a moved series moves its range too
                    if days and rng.get(k):
                        rng[k] = (date.fromisoformat(rng[k]) + days).isoformat()
                self._touch(mb, ev)
        elif op in ("edit", "edit_occurrence", "showas", "cancel"):
            if op == "showas":
                spec = {"showAs": body.get("showAs") or spec.get("showAs", "busy")}
            if op == "cancel":
                cur_subj = ev.get("subject", "")
                spec = {"isCancelled": True,
                        "subject": cur_subj if cur_subj.startswith("Canceled:") else "Canceled: " + cur_subj}
            if spec.get("showAs") and spec["showAs"] not in SHOWAS_VALUES:
                raise ValueError("bad showAs")
            if occ_key or op == "edit_occurrence":
                if not occ_key:
                    raise ValueError("edit_occurrence needs an occurrence id (or index/original_start)")
                self._apply_occurrence_edit(mb, ev, occ_key, spec)
            else:
                for k, v in spec.items():
                    if k in ("start", "end"):
                        dt, is_date = parse_scenario_time(v)
                        allday = bool(spec.get("isAllDay", ev.get("isAllDay")))
                        ev[k] = store_time(dt, allday)
                    elif k == "body" and isinstance(v, str):
                        ev["body"] = {"contentType": "text", "content": v}
                    elif k == "recurrence":
                        ev["recurrence"] = self._norm_recurrence(v, parse_scenario_time(ev["start"])[0])
                    elif k in ("subject", "showAs", "isAllDay", "isCancelled", "categories", "importance",
                               "sensitivity", "location", "isOnlineMeeting"):
                        ev[k] = v if k != "location" or isinstance(v, dict) else {"displayName": v}
                self._online_meeting(ev, mb.get("personal", False))
                self._touch(mb, ev)
        elif op in ("dismiss_reminder", "categorize", "respond"):
            # changes no field we own, yet a new changeKey / lastModifiedDateTime and a delta entry
            # (event.md: "Every time the event is changed, ChangeKey changes as well").  They act on the
            # event, or on the whole series when an occurrence id is given.
            if op == "dismiss_reminder":
                ev["isReminderOn"] = False  # reminderMinutesBeforeStart unchanged
            elif op == "categorize":
                cats = body.get("categories")
                if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
                    raise ValueError("categorize needs \"categories\": [strings]")
                ev["categories"] = list(cats)
            else:
                resp = body.get("response", "accepted")
                if resp not in ("none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded"):
                    raise ValueError("bad response %r" % resp)
                st = {"response": resp, "time": fmt_z(utcnow())}
                who = (body.get("attendee") or "").lower()
                if who or ev.get("isOrganizer", True):
                    # an attendee's answer reaches the organizer's copy (the named one, else all of them)
                    for a in ev.get("attendees") or []:
                        if not who or ((a.get("emailAddress") or {}).get("address") or "").lower() == who:
                            a["status"] = dict(st)
                else:  # the mailbox owner answers someone else's meeting
                    ev["responseStatus"] = st
            self._touch(mb, ev)
        elif op in ("delete", "delete_occurrence"):
            if occ_key:
                self._delete_occurrence(mb, ev, occ_key)
            elif op == "delete_occurrence":
                raise ValueError("delete_occurrence needs an occurrence id (or index/original_start)")
            else:
                self._delete_event(mb, ev)
        else:
            raise ValueError("unknown op %r" % op)
        return {"id": iid}
