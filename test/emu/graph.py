# SPDX-License-Identifier: ISC
"""Microsoft Graph requests: the access-token check and continuous access evaluation,
per-mailbox concurrency and budget throttling (see "Concurrency / budget" in the DESIGN of
graph_emulator.py), the faults of a Graph request and slow pages, scope checks, the routing
of /me, /users and /groups paths, calendars and the paths below a calendar (events,
calendarView, delta, instances, DELETE, the cancel/accept/decline actions).
"""

import base64
import json
import secrets
import time
from urllib.parse import unquote

from .consts import GRAPH_APP_ID, GRAPH_PREFIX, MAILBOX_CONCURRENCY
from .ids import token_digest
from .wire import GraphError, jdump


class GraphMixin:
    """Graph authentication, throttling, routing and calendars."""

    # ------------------------------------------------------------------ Graph
    def auth(self, req):
        h = req.headers.get("authorization", "")
        www = [("WWW-Authenticate", 'Bearer realm="", authorization_uri="%s/common/oauth2/authorize", '
                                    'client_id="00000003-0000-0000-c000-000000000000"' % req.base)]
        if not h.lower().startswith("bearer ") or not h[7:].strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", www)
        tok = h[7:].strip()
        with self.lock:
            info = self.access.get(token_digest(tok))
        if not info:
            if "." not in tok:
                raise GraphError(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.).", www)
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.", www)
        if info.get("revoked"):
            raise self.cae_error(req, info["revoked"])
        if time.time() >= info["exp"]:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.", www)
        return info

    def cae_error(self, req, code, claims=None):
        """Continuous access evaluation: 401 with a claims challenge in WWW-Authenticate."""
        claims = claims or {"access_token": {"nbf": {"essential": True, "value": str(int(time.time()))}}}
        enc = base64.b64encode(jdump(claims).encode()).decode()  # standard base64, '=' padding kept
        www = [("WWW-Authenticate", 'Bearer realm="", authorization_uri="%s/common/oauth2/authorize", '
                                    'client_id="%s", error="insufficient_claims", claims="%s"'
                % (req.base, GRAPH_APP_ID, enc))]
        return GraphError(401, "InvalidAuthenticationToken", "Continuous access evaluation resulted in challenge "
                          "with result: InteractionRequired and code: %s" % code, www)

    def graph(self, req, entry, lat):
        segs = [unquote(s) for s in req.path[len(GRAPH_PREFIX):].split("/") if s != ""]
        if not segs:
            return self.graph_json(req, 200, {"@odata.context": req.base + "/v1.0/$metadata", "value": []})
        if segs[0] == "$batch":
            f = self.take_fault(req, self.GRAPH_KINDS)
            if f and f["kind"] not in ("slow", "cut_after_commit", "truncate", "nextlink_loop", "nextlink_loop_fresh",
                                       "device"):
                r = self.apply_generic_fault(req, f)
                if r:
                    return r
            if f and f["kind"] == "slow":
                time.sleep(float(f.get("delay_ms", 1000)) / 1000.0)
            h = req.headers.get("authorization", "")
            if h.lower().startswith("bearer "):  # the envelope carries the token: CAE answers here
                with self.lock:
                    info = self.access.get(token_digest(h[7:].strip()))
                if info is not None and info.get("revoked"):
                    e = self.cae_error(req, info["revoked"])
                    return self.graph_error(req, e.status, e.code, e.message, e.headers)
            try:
                resp = self.batch(req, entry)
            except GraphError as e:
                resp = self.graph_error(req, e.status, e.code, e.message, e.headers)
            return self.post_fault(resp, f) if f and f["kind"] in ("cut_after_commit", "truncate") else resp
        try:
            tok = self.auth(req)
        except GraphError as e:
            return self.graph_error(req, e.status, e.code, e.message, e.headers)
        user = self.users.get(tok["upn"].lower())
        if user is None:
            return self.graph_error(req, 404, "MailboxNotEnabledForRESTAPI",
                                    "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
        # /users/{id|upn}/... is the same as /me/... for the signed-in user
        if segs[0].lower() == "users" and len(segs) >= 2:
            if segs[1].lower() not in (user["upn"].lower(), user["id"].lower()):
                return self.graph_error(req, 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            segs = ["me"] + segs[2:]
        mb = user
        if segs[0].lower() == "groups" and len(segs) >= 2:
            mb = self.groups.get(segs[1])
        entry["mailbox"] = self.mb_key(mb) if mb else None
        # per-mailbox concurrency and budget
        if mb is not None:
            with self.lock:
                mb["counters"]["requests"] += 1
                mb["_inflight"] += 1
                inflight = mb["_inflight"]
                over_budget = None
                budgets = {str(k).lower(): v for k, v in (self.config.get("budget") or {}).items()}
                budget = budgets.get(self.mb_key(mb).lower())
                if budget is None and mb["kind"] == "group":
                    budget = budgets.get(mb["displayName"].lower())
                if budget is not None:
                    window = float(self.config.get("budget_window", 600))
                    if time.time() - mb["_budget_start"] > window:
                        mb["_budget_start"], mb["_budget_used"] = time.time(), 0
                    mb["_budget_used"] += 1
                    if mb["_budget_used"] > int(budget):
                        over_budget = max(1, int(mb["_budget_start"] + window - time.time() + 0.999))
            try:
                if inflight > MAILBOX_CONCURRENCY:
                    with self.lock:
                        mb["counters"]["throttled_concurrency"] += 1
                    r = self.graph_error(req, 429, "ApplicationThrottled",
                                         "Application is over its MailboxConcurrency limit.", [("Retry-After", "1")])
                    r.fault = "concurrency"
                    return r
                if over_budget is not None:
                    with self.lock:
                        mb["counters"]["throttled_budget"] += 1
                    r = self.graph_error(req, 429, "TooManyRequests",
                                         "Application is over its MailboxRequests limit.", [("Retry-After", str(over_budget))])
                    r.fault = "budget"
                    return r
                return self._graph_faulted(req, tok, user, mb, segs, lat)
            finally:
                with self.lock:
                    mb["_inflight"] -= 1
        return self._graph_faulted(req, tok, user, mb, segs, lat)

    def _graph_faulted(self, req, tok, user, mb, segs, lat):
        if lat:
            time.sleep(lat / 1000.0)
        f = self.take_fault(req, self.GRAPH_KINDS)
        if f:
            kind = f["kind"]
            if kind == "slow":
                time.sleep(float(f.get("delay_ms", 1000)) / 1000.0)
            elif kind == "nextlink_loop":
                with self.lock:
                    self.loop_urls.add(req.path + "?" + req.query_string)
            elif kind == "nextlink_loop_fresh":
                with self.lock:
                    req.fresh_loop = secrets.token_hex(6)
                    self.fresh_loops.add(req.fresh_loop)
            elif kind == "omit_masters":
                req.omit_masters = True
            elif kind not in ("cut_after_commit", "truncate", "device", "token_error", "broken_item",
                              "bad_utf8_item"):
                r = self.apply_generic_fault(req, f)
                if r:
                    return r
        try:
            with self.lock:
                resp = self.route(req, tok, user, segs)
        except GraphError as e:
            resp = self.graph_error(req, e.status, e.code, e.message, e.headers)
        cost = getattr(req, "service_ms", 0)
        if cost:
            # the time a page of events takes to serve, outside the lock (see "Slow pages")
            gw = float(self.config.get("gateway_timeout_s") or 0)
            if gw and cost > gw * 1000:
                time.sleep(gw)
                resp = self.graph_error(req, 504, "UnknownError", "")
                resp.fault = "gateway_timeout"
            else:
                time.sleep(cost / 1000.0)
        if f and f["kind"] in ("cut_after_commit", "truncate"):
            return self.post_fault(resp, f)
        if f and f["kind"] == "bad_utf8_item":
            # One item's subject with bytes that are not UTF-8 (0xff 0xfe): what an
            # Exchange item imported from elsewhere has been seen to carry; or the
            # escape of half a UTF-16 pair (text cut between the two halves).
            bad = b"Bad \\udc80 text" if f.get("form") == "surrogate" else b"Bad \xff\xfe text"
            try:
                doc = json.loads(resp.body)
                if doc.get("value"):
                    it = doc["value"][int(f.get("index", 0)) % len(doc["value"])]
                    it["subject"] = "BADUTF8MARK"
                    resp.body = jdump(doc).encode().replace(b"BADUTF8MARK", bad)
                    resp.headers = [(k, v) for k, v in resp.headers if k.lower() != "content-length"]
            except (ValueError, TypeError, AttributeError, KeyError):
                pass
        if f and f["kind"] == "broken_item":
            # One item of the page with an id no client can read (a number):
            # what a client must survive without freeing time.
            try:
                doc = json.loads(resp.body)
                if doc.get("value"):
                    doc["value"][int(f.get("index", 0)) % len(doc["value"])]["id"] = 12345
                    resp.body = jdump(doc).encode()
                    resp.headers = [(k, v) for k, v in resp.headers if k.lower() != "content-length"]
            except (ValueError, TypeError, AttributeError, KeyError):
                pass
        if f:
            resp.fault = f["kind"]
        return resp

    # scopes ---------------------------------------------------------------
    @staticmethod
    def _has(tok, *names):
        have = {s.lower() for s in tok["scopes"]}
        if ".default" in have:
            return True
        return any(n.lower() in have for n in names)

    def _need_cal(self, tok, write):
        ok = self._has(tok, "Calendars.ReadWrite", "Calendars.ReadWrite.Shared") if write else \
            self._has(tok, "Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared", "Calendars.ReadWrite.Shared")
        if not ok:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")

    def _need_group(self, tok, write, mb, user):
        ok = self._has(tok, "Group.ReadWrite.All") if write else self._has(tok, "Group.Read.All", "Group.ReadWrite.All")
        if not ok:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        if mb is not None and user["upn"].lower() not in mb["members"]:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")

    # routing ---------------------------------------------------------------
    def route(self, req, tok, user, segs):
        meth = req.method
        write = meth in ("POST", "PATCH", "DELETE", "PUT")
        s0 = segs[0].lower()
        ctx = req.base + "/v1.0/$metadata#"
        if s0 == "me":
            mb, rest = user, segs[1:]
            if not rest:
                self._only(meth, "GET")
                first, _, last = user["displayName"].partition(" ")
                return self.graph_json(req, 200, {
                    "@odata.context": ctx + "users/$entity", "businessPhones": [], "displayName": user["displayName"],
                    "givenName": first, "jobTitle": None, "mail": user["mail"], "mobilePhone": None,
                    "officeLocation": None, "preferredLanguage": "en-US", "surname": last or None,
                    "userPrincipalName": user["upn"], "id": user["id"]})
            k = rest[0].lower()
            if k == "memberof":
                return self.member_of(req, tok, user, rest)
            if k == "mailboxsettings":
                return self.mailbox_settings(req, tok, user, rest[1:])
            self._need_cal(tok, write)
            if k == "calendar":
                return self.container(req, tok, user, mb, self.default_calendar(mb), rest[1:], "me/calendar")
            if k == "calendars":
                if len(rest) == 1:
                    if meth == "POST":
                        raise GraphError(403, "ErrorAccessDenied", "Creating calendars is not supported by this emulator.")
                    self._only(meth, "GET")
                    return self.list_calendars(req, mb, mb["calendars"], ctx + "users('%s')/calendars" % user["id"])
                cal = self.find_calendar(mb, rest[1])
                if not cal:
                    raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
                return self.container(req, tok, user, mb, cal, rest[2:], "me/calendars")
            if k == "calendargroups":
                if len(rest) == 1:
                    self._only(meth, "GET")
                    return self.graph_json(req, 200, {"@odata.context": ctx + "users('%s')/calendarGroups" % user["id"],
                                                      "value": [dict(g) for g in mb["calendarGroups"]]})
                grp = next((g for g in mb["calendarGroups"] if g["id"] == rest[1]), None)
                if not grp:
                    raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
                if len(rest) == 2:
                    self._only(meth, "GET")
                    return self.graph_json(req, 200, dict(grp, **{"@odata.context": ctx + "users('%s')/calendarGroups/$entity" % user["id"]}))
                if rest[2].lower() != "calendars":
                    raise GraphError(400, "BadRequest", "Resource not found for the segment '%s'." % rest[2])
                cals = [c for c in mb["calendars"] if c.get("calendarGroupId") == grp["id"]]
                if len(rest) == 3:
                    self._only(meth, "GET")
                    return self.list_calendars(req, mb, cals, ctx + "users('%s')/calendarGroups('%s')/calendars" % (user["id"], grp["id"]))
                cal = next((c for c in cals if c["id"] == rest[3]), None)
                if not cal:
                    raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
                return self.container(req, tok, user, mb, cal, rest[4:], "me/calendarGroups/calendars")
            if k in ("events", "calendarview"):
                cal = None if k == "events" else self.default_calendar(mb)
                return self.container(req, tok, user, mb, cal, rest, "me")
            raise GraphError(400, "BadRequest", "Resource not found for the segment '%s'." % rest[0])
        if s0 == "groups":
            if len(segs) < 2:
                raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
            mb = self.groups.get(segs[1])
            if not mb:
                raise GraphError(404, "Request_ResourceNotFound",
                                 "Resource '%s' does not exist or one of its queried reference-property objects are not present." % segs[1])
            rest = segs[2:]
            if not rest:
                self._need_group(tok, False, None, user)
                self._only(meth, "GET")
                d = self.group_dict(mb)
                d.pop("@odata.type")
                return self.graph_json(req, 200, dict({"@odata.context": ctx + "groups/$entity"}, **d))
            self._need_group(tok, write, mb, user)
            k = rest[0].lower()
            if k == "calendar":
                return self.container(req, tok, user, mb, self.default_calendar(mb), rest[1:], "groups/calendar")
            if k in ("events", "calendarview"):
                return self.container(req, tok, user, mb, self.default_calendar(mb) if k == "calendarview" else None,
                                      rest, "groups")
            raise GraphError(400, "BadRequest", "Resource not found for the segment '%s'." % rest[0])
        raise GraphError(400, "BadRequest", "Resource not found for the segment '%s'." % segs[0])

    @staticmethod
    def _only(meth, *allowed):
        if meth not in allowed:
            raise GraphError(405, "ErrorInvalidRequest", "The OData request is not supported.")

    def cal_dict(self, mb, cal):
        shared = cal.get("owner")
        owner = dict(shared) if shared else {"name": mb["displayName"], "address": mb["mail"]}
        # personal accounts: no Teams; at most Skype for consumers (UNCONFIRMED exact values)
        prov = "skypeForConsumer" if mb.get("personal") else "teamsForBusiness"
        return {"id": cal["id"], "name": cal["name"], "color": cal.get("color", "auto"),
                "hexColor": cal.get("hexColor", ""), "isDefaultCalendar": cal["isDefaultCalendar"] and not shared,
                "changeKey": cal["changeKey"],
                "canShare": mb["kind"] == "user" and cal["isDefaultCalendar"] and not shared,
                "canViewPrivateItems": not shared, "canEdit": cal["canEdit"],
                "allowedOnlineMeetingProviders": [prov],
                "defaultOnlineMeetingProvider": prov, "isTallyingResponses": not shared,
                "isRemovable": bool(shared) or not cal["isDefaultCalendar"], "owner": owner}

    def list_calendars(self, req, mb, cals, context):
        return self.graph_json(req, 200, {"@odata.context": context, "value": [self.cal_dict(mb, c) for c in cals]})

    def container(self, req, tok, user, mb, cal, rest, label):
        """Paths below a calendar (cal) or a mailbox-wide events collection (cal None)."""
        meth = req.method
        ctxbase = req.base + "/v1.0/$metadata#"
        owner = ("users('%s')" % user["id"]) if mb["kind"] == "user" else ("groups('%s')" % mb["id"])
        if not rest:
            if cal is None:
                raise GraphError(400, "BadRequest", "Resource not found for the segment.")
            self._only(meth, "GET")
            d = dict(self.cal_dict(mb, cal))
            d["@odata.context"] = ctxbase + owner + "/calendars/$entity"
            return self.graph_json(req, 200, d)
        k = rest[0].lower()
        if k == "calendarview":
            if cal is None:
                cal = self.default_calendar(mb)
            if len(rest) == 1:
                self._only(meth, "GET")
                return self.calendar_view(req, mb, cal, owner)
            if len(rest) == 2 and rest[1].lower() == "delta":
                self._only(meth, "GET")
                if mb["kind"] == "group" and not self.config.get("group_delta", True):
                    raise GraphError(400, "BadRequest", "Resource not found for the segment 'delta'.")
                return self.delta(req, mb, cal)
            raise GraphError(400, "BadRequest", "Resource not found for the segment '%s'." % rest[-1])
        if k == "events":
            if len(rest) == 1:
                if meth == "POST":
                    target = cal or self.default_calendar(mb)
                    return self.create_event(req, mb, target, user, ctxbase + owner + "/events/$entity")
                self._only(meth, "GET")
                return self.list_events(req, mb, cal, ctxbase + owner + "/events")
            iid = rest[1]
            ev, inst = self.lookup(mb, iid)
            if ev is not None:
                evcal = self.find_calendar(mb, ev["calendarId"])
                # an event of a calendar shared by someone else is reachable only through that calendar
                # (microsoft-graph-docs #6765: /users/{B}/events/{id} -> 404 ErrorItemNotFound)
                if evcal is not None and evcal.get("owner") and (cal is None or cal["id"] != evcal["id"]):
                    ev = None
            if ev is None:
                raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            if len(rest) > 2:
                action = rest[2].lower()
                if action == "instances":
                    self._only(meth, "GET")
                    return self.instances_view(req, mb, ev, owner)
                if action in ("cancel", "decline", "accept", "tentativelyaccept") and meth == "POST":
                    if action == "cancel":
                        if not ev.get("isOrganizer", True):
                            raise GraphError(400, "ErrorAccessDenied", "Your request can't be completed. You need to be an organizer to cancel a meeting.")
                        self._delete_event(mb, ev)
                    self.save_state()
                    return self.graph_json(req, 202, None)
                raise GraphError(400, "BadRequest", "Resource not found for the segment '%s'." % rest[2])
            if meth == "GET":
                return self.get_event(req, mb, ev, inst, ctxbase + owner + "/events/$entity")
            if meth == "PATCH":
                return self.patch_event(req, mb, ev, inst, ctxbase + owner + "/events/$entity")
            if meth == "DELETE":
                if evcal is not None and not evcal["canEdit"]:
                    raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
                if inst is not None and inst.key is not None:
                    self._delete_occurrence(mb, ev, inst.key)
                else:
                    self._delete_event(mb, ev)
                self.save_state()
                return self.graph_json(req, 204, None)
            raise GraphError(405, "ErrorInvalidRequest", "The OData request is not supported.")
        raise GraphError(400, "BadRequest", "Resource not found for the segment '%s'." % rest[0])
