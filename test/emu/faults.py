# SPDX-License-Identifier: ISC
"""The fault engine (see "Fault engine" in the DESIGN of graph_emulator.py and FAULT
under CONTROL API): which fault kinds apply where, taking the first matching fault, faults
answered without performing the request, and faults applied after it (cut_after_commit,
truncate).
"""

import json
import re
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from .consts import JSON_CT
from .timeutil import fmt_z, http_date
from .ids import new_guid, token_digest
from .wire import OAuthError, Resp, jdump


class FaultMixin:
    """Fault matching and the faults applied before and after a request."""

    # ------------------------------------------------------------------ fault engine
    SOCKET_KINDS = {"cut", "cut_after_commit", "truncate", "malformed", "oversized"}
    ENVELOPE_KINDS = SOCKET_KINDS | {"unauthorized"}  # never applied to a $batch item
    IDENTITY_KINDS = {"status", "throttle", "token_error", "slow", "cut_after_commit", "cut", "truncate",
                      "malformed", "oversized", "device"}
    GRAPH_KINDS = {"status", "throttle", "delta_expired", "slow", "cut_after_commit", "cut", "truncate",
                   "malformed", "oversized", "nextlink_loop", "nextlink_loop_fresh", "unauthorized",
                   "broken_item", "bad_utf8_item", "omit_masters"}

    def take_fault(self, req, kinds=None):
        raw, dec = req.match_text()
        with self.lock:
            for f in list(self.faults):
                m = f.get("match") or {}
                if m.get("method") and m["method"].upper() != req.method:
                    continue
                if "in_batch" in m and m["in_batch"] is not None and bool(m["in_batch"]) != req.in_batch:
                    continue
                if req.in_batch and f.get("kind") in self.ENVELOPE_KINDS:
                    continue
                if kinds and f.get("kind") not in kinds:
                    continue
                pat = m.get("path")
                if pat and not (re.search(pat, raw) or re.search(pat, dec)):
                    continue
                if f.get("skip", 0) > 0:
                    f["skip"] -= 1
                    continue
                f["times"] = f.get("times", 1) - 1
                if f["times"] <= 0:
                    self.faults.remove(f)
                return dict(f)
        return None

    def apply_generic_fault(self, req, f, identity=False):
        """Faults answered without performing the request; returns Resp or None."""
        kind = f.get("kind")
        r = None
        if kind == "status":
            st = int(f.get("status", 503))
            hdrs = []
            if f.get("retry_after") is not None:
                hdrs.append(("Retry-After", str(f["retry_after"])))
            if f.get("retry_after_date") is not None:
                hdrs.append(("Retry-After", http_date(float(f["retry_after_date"]))))
            if f.get("location"):
                hdrs.append(("Location", f["location"]))
            hdrs += [(k, str(v)) for k, v in (f.get("headers") or {}).items()]
            if identity:
                err = OAuthError(f.get("code") or ("temporarily_unavailable" if st >= 500 else "invalid_request"),
                                 int(f.get("aadsts", 90006 if st >= 500 else 9002313)), status=st)
                r = self.oauth_error(err)
                r.headers += hdrs
            else:
                code = f.get("code") or {400: "BadRequest", 401: "InvalidAuthenticationToken", 403: "ErrorAccessDenied",
                                         404: "ErrorItemNotFound", 409: "ErrorIrresolvableConflict",
                                         412: "PreconditionFailed", 429: "TooManyRequests",
                                         500: "generalException", 502: "BadGateway", 503: "serviceNotAvailable",
                                         504: "UnknownError"}.get(st, "generalException")
                msg = f.get("message") or {429: "Too many requests", 503: "Service Unavailable",
                                           504: "Gateway Timeout", 500: "Internal Server Error"}.get(st, "Injected error")
                r = self.graph_error(req, st, code, msg, hdrs)
        elif kind == "throttle":
            ra = [("Retry-After", str(f.get("retry_after", "1")))]
            if f.get("retry_after_date") is not None:
                ra = [("Retry-After", http_date(float(f["retry_after_date"])))]
            r = self.graph_error(req, 429, f.get("code", "TooManyRequests"),
                                 f.get("message", "Too many requests"), ra)
        elif kind == "delta_expired":
            variant = f.get("variant", "syncStateNotFound")
            if variant == "gone":
                r = self.graph_error(req, 410, "resyncRequired",
                                     "The delta token is no longer valid; restart with a full synchronization.",
                                     [("Location", self.reset_location(req))])
            elif variant == "resyncRequired":
                r = self.graph_error(req, 400, "resyncRequired",
                                     "The delta token is no longer valid, and the app must reset the sync state.")
            elif variant == "InvalidDeltaToken":
                tok = req.qlower.get("$deltatoken") or req.qlower.get("$skiptoken") or ""
                r = self.graph_error(req, 400, "InvalidDeltaToken",
                                     "The value '%s' of parameter '$deltaToken' is invalid." % tok[:40])
            else:
                r = self.graph_error(req, 400, "syncStateNotFound",
                                     "The sync state generation is not found. The delta token is expired and "
                                     "data must be synchronized again.")
        elif kind == "token_error":
            codes = f.get("error_codes") or [70008]
            form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True)) if req.body else {}
            err = OAuthError(f.get("error", "invalid_grant"), int(codes[0]),
                             (form.get("client_id", ""), self.config.get("app_name", "")),
                             status=int(f.get("status", 400)))
            if int(codes[0]) == 65001 and "suberror" not in f:
                f["suberror"] = "consent_required"  # as the live service sends it
            if f.get("description"):
                err.description = f["description"]
            r = self.oauth_error(err)
            body = json.loads(r.body)
            body["error_codes"] = [int(c) for c in codes]
            if f.get("suberror"):
                body["suberror"] = f["suberror"]
            r.body = jdump(body).encode()
        elif kind == "unauthorized":
            code = f.get("cae_code", "TokenCreatedWithOutdatedPolicies")
            h = req.headers.get("authorization", "")
            if f.get("revoke", True) and h.lower().startswith("bearer "):
                with self.lock:
                    info = self.access.get(token_digest(h[7:].strip()))
                    if info is not None:
                        info["revoked"] = code
            e = self.cae_error(req, code, f.get("claims"))
            r = self.graph_error(req, e.status, e.code, e.message, e.headers)
        elif kind == "cut":
            r = Resp(0, b"", action="cut")
        elif kind == "malformed":
            r = Resp(200, b'{"@odata.context":"' + req.base.encode() + b'/v1.0/$metadata#Collection(event)",'
                     b'"value":[{"id":"AAMkAG\x00\xff<html><body>Bad gateway</body></html>',
                     [("Content-Type", JSON_CT), ("request-id", new_guid())])
        elif kind == "oversized":
            r = Resp(200, b"", [("Content-Type", JSON_CT), ("request-id", new_guid())], action="oversized",
                     extra=int(f.get("bytes", 64 * 1024 * 1024)))
        if r is not None:
            r.fault = kind
        return r

    def reset_location(self, req):
        """URL for a 410 Gone: the request URL with an empty $deltatoken (window kept in clear)."""
        tok = req.qlower.get("$deltatoken") or req.qlower.get("$skiptoken")
        st = self.unsign(tok) if tok else None
        if st:
            q = "startDateTime=%s&endDateTime=%s&$deltatoken=" % (fmt_z(datetime.fromisoformat(st["s"])),
                                                                 fmt_z(datetime.fromisoformat(st["e"])))
        else:
            kept = [(k, v) for k, v in parse_qsl(req.query_string, keep_blank_values=True)
                    if k.lower() not in ("$deltatoken", "$skiptoken")]
            q = urlencode(kept, safe="$:") + ("&" if kept else "") + "$deltatoken="
        return req.base + req.path + "?" + q

    def post_fault(self, resp, f):
        """Faults applied after performing the request."""
        kind = f.get("kind")
        if kind == "cut_after_commit":
            resp.action = "cut"
        elif kind == "truncate":
            resp.action = "truncate"
        resp.fault = kind
        return resp
