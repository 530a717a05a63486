# SPDX-License-Identifier: ISC
"""Reads of events (see "Change log for delta" and "Tokens" in the DESIGN of
graph_emulator.py): the cached sorted item lists of a delta round and of a calendarView
window, the signed $skiptoken/$deltatoken state, the view helpers (Prefer time zone and
body type, windows, $expand/$filter of extended properties, $top/$skip paging, nextLink
loops, the cost of a page), calendarView, instances, /events lists and single GETs with
$select, and calendarView delta (rounds, sparse occurrences, series masters, refused delta).
"""

import base64
import bisect
import hashlib
import hmac
import json
import re
import secrets
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode

from .timeutil import fmt_dt7, parse_iso, resolve_tz
from .ids import svep_id_eq
from .wire import GraphError, jdump


class _KeyView:
    """Sequence view of item ids for bisect (no copy)."""
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i][0]


class DeltaMixin:
    """List caches, page tokens, calendarView and /events reads, delta rounds."""

    # ------------------------------------------------------------------ views
    def view_items(self, mb, cal, ws, we, since, masters=False):
        """Sorted (by id) list of (id, inst|None, ev|None) for a delta round (since None=full):
        (id, inst, ev) an instance, (id, None, ev) a series master (masters=True), (id, None, None)
        @removed."""
        ck = (cal["id"], ws, we, since, cal["_ver"], masters)
        hit = self.cache.get(ck)
        if hit is not None:
            return hit
        items = {}
        cid = cal["id"]
        for ev in mb["events"].values():
            if ev["calendarId"] != cid:
                continue
            if since is not None and ev["seq"] <= since:
                continue
            any_inside = False
            for inst in self.instances(mb, ev):
                inside = inst.s < we and inst.e > ws
                any_inside = any_inside or inside
                if since is None:
                    if inside:
                        items[inst.id] = (inst.id, inst, ev)
                elif inst.seq > since:
                    items[inst.id] = (inst.id, inst, ev) if inside else (inst.id, None, None)
            if masters and ev.get("recurrence"):
                # the series master itself: in a full round when any instance is inside; in an
                # incremental round when it changed (ev seq > since), @removed once none is inside
                if any_inside:
                    items[ev["id"]] = (ev["id"], None, ev)
                elif since is not None:
                    items[ev["id"]] = (ev["id"], None, None)
        if since is not None:
            for seq, iid, tcid in mb["tombstones"]:
                if seq > since and tcid == cid and iid not in items:
                    items[iid] = (iid, None, None)
        out = [items[k] for k in sorted(items)]
        if len(self.cache) > 64:
            self.cache.clear()
        self.cache[ck] = out
        return out

    def window_items(self, mb, cal, ws, we):
        """calendarView (non-delta): instances overlapping the window sorted by start, id."""
        ck = ("cv", cal["id"], ws, we, cal["_ver"])
        hit = self.cache.get(ck)
        if hit is not None:
            return hit
        out = []
        for ev in mb["events"].values():
            if ev["calendarId"] != cal["id"]:
                continue
            for inst in self.instances(mb, ev):
                if inst.s < we and inst.e > ws:
                    out.append((inst.s, inst.id, inst, ev))
        out.sort(key=lambda t: (t[0], t[1]))
        if len(self.cache) > 64:
            self.cache.clear()
        self.cache[ck] = out
        return out

    def warm(self):
        """Pre-serialise every instance in the default representation."""
        with self.lock:
            for mb in self.mailboxes():
                for ev in list(mb["events"].values()):
                    for inst in self.instances(mb, ev):
                        self.render(mb, ev, inst)

    # ------------------------------------------------------------------ tokens (state)
    def sign(self, payload):
        raw = jdump(payload).encode()
        mac = hmac.new(self.secret.encode(), raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(raw + mac).decode().rstrip("=")

    def unsign(self, tok):
        try:
            raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
            body, mac = raw[:-12], raw[-12:]
            if not hmac.compare_digest(mac, hmac.new(self.secret.encode(), body, hashlib.sha256).digest()[:12]):
                return None
            return json.loads(body)
        except Exception:
            return None

    # view helpers ----------------------------------------------------------
    def _tz_prefs(self, req):
        applied = []
        tzname = "UTC"
        want = req.prefs.get("outlook.timezone")
        if want is not None:
            if resolve_tz(want) is not None:
                tzname = want
                applied.append('outlook.timezone="%s"' % want)
        btype = "html"
        if req.prefs.get("outlook.body-content-type", "").lower() == "text":
            btype = "text"
            applied.append('outlook.body-content-type="text"')
        if "idtype" in req.prefs and req.prefs["idtype"].lower() in ("immutableid", "restid"):
            applied.append('IdType="%s"' % req.prefs["idtype"])
        return tzname, btype, applied

    def _window(self, req):
        s, e = req.qlower.get("startdatetime"), req.qlower.get("enddatetime")
        if not s or not e:
            raise GraphError(400, "ErrorInvalidParameter", "This request requires a time window specified by the "
                             "query string parameters StartDateTime and EndDateTime.")
        try:
            ws, we = parse_iso(s)[0], parse_iso(e)[0]
        except ValueError:
            raise GraphError(400, "ErrorInvalidParameter", "The parameter 'StartDateTime' or 'EndDateTime' is invalid.")
        return ws, we

    def _svep_expand(self, req):
        exp = req.qlower.get("$expand")
        if not exp:
            return None
        m = re.match(r"^\s*singleValueExtendedProperties\s*\(\s*\$filter\s*=\s*(.*)\)\s*$", exp, re.I | re.S)
        if not m:
            raise GraphError(400, "BadRequest", "Parsing OData Select and Expand failed: Could not find a property "
                             "named '%s' on type 'microsoft.graph.event'." % exp.split("(")[0])
        ids = re.findall(r"\bid\s+eq\s+'((?:[^']|'')*)'", m.group(1), re.I)
        if not ids:
            raise GraphError(400, "BadRequest", "Invalid filter clause")
        return [i.replace("''", "'") for i in ids]

    def _svep_filter(self, req):
        flt = req.qlower.get("$filter")
        if not flt:
            return None
        m = re.match(r"^\s*singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*(.*)\)\s*$", flt, re.I | re.S)
        if not m:
            raise GraphError(400, "BadRequest", "Invalid filter clause: only singleValueExtendedProperties/Any(...) "
                             "is supported by this emulator.")
        v, cond = m.group(1), m.group(2)
        mid = re.search(r"\b%s/id\s+eq\s+'((?:[^']|'')*)'" % v, cond, re.I)
        if not mid:
            raise GraphError(400, "ErrorInvalidProperty", "The filter must specify the extended property id.")
        pid = mid.group(1).replace("''", "'")
        mv = re.search(r"\b%s/value\s+(eq|ne)\s+'((?:[^']|'')*)'" % v, cond, re.I)
        fn = re.search(r"\b(contains|startswith)\(\s*%s/value\s*,\s*'((?:[^']|'')*)'\s*\)" % v, cond, re.I)

        def pred(ev):
            for p in ev.get("singleValueExtendedProperties") or []:
                if not svep_id_eq(p["id"], pid):
                    continue
                val = str(p.get("value", "")).lower()
                if mv:
                    want = mv.group(2).replace("''", "'").lower()
                    return (val == want) if mv.group(1).lower() == "eq" else (val != want)
                if fn:
                    want = fn.group(2).replace("''", "'").lower()
                    return (want in val) if fn.group(1).lower() == "contains" else val.startswith(want)
                return True
            return False
        return pred

    def _top_skip(self, req):
        try:
            top = int(req.qlower.get("$top", "10"))
            skip = int(req.qlower.get("$skip", "0"))
        except ValueError:
            raise GraphError(400, "BadRequest", "Invalid value for $top or $skip.")
        if top < 1 or top > 1000 or skip < 0:
            raise GraphError(400, "ErrorInvalidParameter", "The value of $top must be between 1 and 1000.")
        mp = self.config.get("max_page")
        if mp:
            top = min(top, int(mp))
        return top, skip

    def _next_skip(self, req, top, skip):
        q = [(k, v) for k, v in parse_qsl(req.query_string, keep_blank_values=True) if k.lower() not in ("$top", "$skip")]
        q += [("$top", str(top)), ("$skip", str(skip + top))]
        return req.base + req.path + "?" + urlencode(q, safe="$:',()/")

    def _collection(self, req, context, texts, next_link, extra_headers):
        req.items = len(texts)
        parts = ['{"@odata.context":', jdump(context)]
        if next_link:
            parts += [',"@odata.nextLink":', jdump(next_link)]
        parts += [',"value":[', ",".join(texts), "]}"]
        return self.graph_json(req, 200, None, extra_headers, text="".join(parts))

    def _loop_link(self, req):
        key = req.path + "?" + req.query_string
        return req.url() if key in self.loop_urls else None

    def _page_cost(self, req, insts):
        """How long a page of events takes to serve: per item, more per expanded occurrence."""
        occ = sum(1 for i in insts if i is not None and getattr(i, "key", None) is not None)
        req.service_ms = (len(insts) * float(self.config.get("page_item_ms") or 0)
                          + occ * float(self.config.get("page_occurrence_ms") or 0))

    def calendar_view(self, req, mb, cal, owner):
        ws, we = self._window(req)
        tzname, btype, applied = self._tz_prefs(req)
        svep_ids = self._svep_expand(req)
        pred = self._svep_filter(req)
        top, skip = self._top_skip(req)
        items = self.window_items(mb, cal, ws, we)
        if pred:
            items = [t for t in items if pred(t[3])]
        page = items[skip:skip + top]
        self._page_cost(req, [inst for _, _, inst, _ in page])
        texts = [self.render(mb, ev, inst, tzname, btype, svep_ids) for _, _, inst, ev in page]
        nl = self._loop_link(req) or (self._next_skip(req, top, skip) if skip + top < len(items) else None)
        hdr = [("Preference-Applied", ", ".join(applied))] if applied else []
        return self._collection(req, req.base + "/v1.0/$metadata#" + owner + "/calendarView", texts, nl, hdr)

    def instances_view(self, req, mb, ev, owner):
        ws, we = self._window(req)
        tzname, btype, applied = self._tz_prefs(req)
        top, skip = self._top_skip(req)
        items = [i for i in self.instances(mb, ev) if i.s < we and i.e > ws]
        if not ev.get("recurrence"):
            items = []
        page = items[skip:skip + top]
        texts = [self.render(mb, ev, i, tzname, btype) for i in page]
        nl = self._next_skip(req, top, skip) if skip + top < len(items) else None
        hdr = [("Preference-Applied", ", ".join(applied))] if applied else []
        return self._collection(req, req.base + "/v1.0/$metadata#" + owner + "/events('%s')/instances" % ev["id"],
                                texts, nl, hdr)

    def list_events(self, req, mb, cal, context):
        tzname, btype, applied = self._tz_prefs(req)
        svep_ids = self._svep_expand(req)
        pred = self._svep_filter(req)
        top, skip = self._top_skip(req)
        shared = {c["id"] for c in mb["calendars"] if c.get("owner")}
        evs = [ev for ev in mb["events"].values()
               if (ev["calendarId"] == cal["id"] if cal is not None else ev["calendarId"] not in shared)]
        if pred:
            evs = [ev for ev in evs if pred(ev)]
        evs.sort(key=lambda ev: (ev["createdDateTime"], ev["id"]))
        page = evs[skip:skip + top]
        texts = [self.render(mb, ev, None if ev.get("recurrence") else self.instances(mb, ev)[0], tzname, btype, svep_ids)
                 for ev in page]
        nl = self._next_skip(req, top, skip) if skip + top < len(evs) else None
        hdr = [("Preference-Applied", ", ".join(applied))] if applied else []
        return self._collection(req, context, texts, nl, hdr)

    def _select(self, req, d):
        """$select on a single event: @odata.etag and id always; unknown names -> 400.  createdDateTime
        and lastModifiedDateTime "do not support $select" (group-list-calendarview.md note;
        msgraph-sdk-dotnet #1655): left out unless config select_returns_timestamps."""
        raw = req.qlower.get("$select")
        if raw is None or req.method != "GET":
            return None
        names = {k.lower(): k for k in d}
        names.update({"singlevalueextendedproperties": "singleValueExtendedProperties"})
        out = []
        for x in [x.strip() for x in raw.split(",") if x.strip()]:
            k = names.get(x.lower().replace("microsoft.graph.event/", ""))
            if k is None:
                raise GraphError(400, "BadRequest", "Parsing OData Select and Expand failed: Could not find a "
                                 "property named '%s' on type 'microsoft.graph.event'." % x)
            out.append(k)
        return out

    def get_event(self, req, mb, ev, inst, context):
        tzname, btype, applied = self._tz_prefs(req)
        svep_ids = self._svep_expand(req)
        text = self.render(mb, ev, inst, tzname, btype, svep_ids)
        d = json.loads(text) if req.qlower.get("$select") is not None and req.method == "GET" else None
        sel = self._select(req, d) if d is not None else None
        if sel is not None:
            keep = {"@odata.etag", "id"} | set(sel)
            if not self.config.get("select_returns_timestamps"):
                keep -= {"createdDateTime", "lastModifiedDateTime"}
            text = jdump({k: v for k, v in d.items() if k in keep})
            m = re.match(r"^(.*)/events/\$entity$", context)
            if m:
                context = "%s/events(%s)/$entity" % (m.group(1), ",".join(sel))
        text = '{"@odata.context":%s,%s' % (jdump(context), text[1:])
        hdr = [("Preference-Applied", ", ".join(applied))] if applied else []
        ck = inst.ov["changeKey"] if inst is not None and inst.ov else ev["changeKey"]
        hdr.append(("ETag", 'W/"%s"' % ck))
        return self.graph_json(req, 200, None, hdr, text=text)

    # delta ------------------------------------------------------------------
    def _delta_refused(self, mb, cal):
        spec = self.config.get("delta_refused") or []
        if isinstance(spec, str):
            spec = [spec]
        for x in spec:
            if mb["kind"] == "user":
                if x == cal["name"] or (x == "non_default" and not cal["isDefaultCalendar"]):
                    return True
            elif x in ("group:" + mb["displayName"], "group:" + mb["id"]):
                return True
        return False

    def render_sparse(self, ev, inst, tzname):
        """A plain occurrence as calendarView delta returns it (graph-api.md s.11.2)."""
        ck = (inst.id, "sparse", tzname)
        hit = ev["_r"].get(ck)
        if hit is not None:
            return hit
        tz = resolve_tz(tzname) or timezone.utc
        s, e = inst.s, inst.e
        if not ev.get("isAllDay") and tz is not timezone.utc:
            s = s.replace(tzinfo=timezone.utc).astimezone(tz).replace(tzinfo=None)
            e = e.replace(tzinfo=timezone.utc).astimezone(tz).replace(tzinfo=None)
        text = jdump({"@odata.type": "#microsoft.graph.event", "@odata.etag": 'W/"%s"' % ev["changeKey"],
                      "id": inst.id, "type": "occurrence", "seriesMasterId": ev["id"],
                      "start": {"dateTime": fmt_dt7(s), "timeZone": tzname},
                      "end": {"dateTime": fmt_dt7(e), "timeZone": tzname}})
        ev["_r"][ck] = text
        return text

    def delta(self, req, mb, cal):
        if self._delta_refused(mb, cal):
            # msgraph-metadata #608 (live answer for events); exact text for calendarView UNCONFIRMED
            raise GraphError(400, "BadRequest", "Unsupported request: Change tracking is not supported against "
                             "'microsoft.graph.event'.")
        bad = [k for k in req.query if k.lower() in ("$select", "$expand", "$filter", "$orderby", "$search")]
        if bad:
            raise GraphError(400, "ErrorInvalidUrlQuery", "The following parameters are not supported with change "
                             "tracking over the 'CalendarView' resource: '%s'." % ", ".join(bad))
        tok = req.qlower.get("$skiptoken") or req.qlower.get("$deltatoken")
        mbk = mb["kind"] + ":" + self.mb_key(mb)
        if tok:
            st = self.unsign(tok)
            if not st or st.get("m") != mbk or st.get("c") != cal["id"]:
                raise GraphError(400, "InvalidDeltaToken", "The value '%s' of parameter '$deltaToken' is invalid." % tok[:40])
            if "$deltatoken" in req.qlower and "$skiptoken" not in req.qlower:
                if st.get("k") != "d":
                    raise GraphError(400, "InvalidDeltaToken", "The value '%s' of parameter '$deltaToken' is invalid." % tok[:40])
                st = {"m": mbk, "c": cal["id"], "s": st["s"], "e": st["e"], "since": st["since"], "upto": self.seq, "a": ""}
        else:
            ws, we = self._window(req)
            st = {"m": mbk, "c": cal["id"], "s": ws.isoformat(), "e": we.isoformat(), "since": None,
                  "upto": self.seq, "a": ""}
        ws, we = datetime.fromisoformat(st["s"]), datetime.fromisoformat(st["e"])
        tzname, btype, applied = self._tz_prefs(req)
        size = 10
        if "odata.maxpagesize" in req.prefs:
            try:
                size = max(1, int(req.prefs["odata.maxpagesize"]))
            except ValueError:
                pass
        if self.config.get("max_page"):
            size = min(size, int(self.config["max_page"]))
        if "odata.maxpagesize" in req.prefs:
            applied.insert(0, "odata.maxpagesize=%d" % size)
        sparse = bool(self.config.get("sparse_occurrences"))
        items = self.view_items(mb, cal, ws, we, st["since"], masters=sparse)
        start = bisect.bisect_right(_KeyView(items), st["a"]) if st["a"] else 0
        page = items[start:start + size]
        if getattr(req, "omit_masters", False):
            page = [t for t in page if not (t[1] is None and t[2] is not None)]
        self._page_cost(req, [inst for _, inst, _ in page])
        texts = []
        for iid, inst, ev in page:
            if ev is None:
                texts.append('{"@odata.type":"#microsoft.graph.event","id":%s,"@removed":{"reason":"deleted"}}' % jdump(iid))
            elif sparse and inst is not None and inst.key is not None and not inst.ov:
                texts.append(self.render_sparse(ev, inst, tzname))
            else:  # inst None: the series master
                texts.append(self.render(mb, ev, inst, tzname, btype))
        base = req.base + req.path
        loop = self._loop_link(req)
        # nextlink_loop_fresh: this page again under a new $skiptoken, until DELETE /_emu/faults
        fresh = getattr(req, "fresh_loop", None) or (st.get("L") if st.get("L") in self.fresh_loops else None)
        st = {k: v for k, v in st.items() if k not in ("L", "n")}
        req.items = len(page)
        parts = ['{"@odata.context":', jdump(req.base + "/v1.0/$metadata#Collection(event)")]
        if loop:
            parts += [',"@odata.nextLink":', jdump(loop)]
        elif fresh:
            nt = dict(st, k="s", L=fresh, n=secrets.token_hex(8))
            parts += [',"@odata.nextLink":', jdump(base + "?$skiptoken=" + self.sign(nt))]
        elif start + size < len(items):
            nt = dict(st, a=page[-1][0], k="s")
            parts += [',"@odata.nextLink":', jdump(base + "?$skiptoken=" + self.sign(nt))]
        else:
            dt = {"m": mbk, "c": cal["id"], "s": st["s"], "e": st["e"], "since": st["upto"], "k": "d"}
            parts += [',"@odata.deltaLink":', jdump(base + "?$deltatoken=" + self.sign(dt))]
        value = [',"value":[', ",".join(texts), "]"]
        if self.config.get("link_last"):
            parts = parts[:2] + value + parts[2:]
        else:
            parts += value
        parts += ["}"]
        hdr = [("Preference-Applied", ", ".join(applied))] if applied else []
        return self.graph_json(req, 200, None, hdr, text="".join(parts))
